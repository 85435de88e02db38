"""The legal documents of an invoice: the PDF/A-3b with its embedded Factur-X XML (EN 16931 profile), and
the UBL 2.1 XML for Peppol (BIS Billing 3.0). Both are built only from the data frozen at issue — the
seller and buyer snapshots, the lines and the stored totals — so they carry the same numbers, today and
in ten years.

Per-rate VAT in the XML is the rate's summed base × rate, rounded once (BR-CO-17): the same figures
crm.money computed for the document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from lxml import etree

from crm import money
from invoices.models import Invoice, InvoiceKind

# UN/ECE Recommendation 20 unit codes for the units sellers type.
UNIT_CODES = {
    "pc": "C62", "pcs": "C62", "piece": "C62", "unit": "C62", "": "C62", "h": "HUR", "hour": "HUR",
    "hours": "HUR", "day": "DAY", "days": "DAY", "month": "MON", "months": "MON", "year": "ANN",
    "years": "ANN", "kg": "KGM", "m": "MTR", "licence": "C62", "license": "C62", "seat": "C62", "user": "C62",
}
# Our tax categories → UNCL 5305 codes EN 16931 accepts (a reduced rate is category S at another rate).
VAT_CATEGORIES = {"S": "S", "AA": "S", "Z": "Z", "E": "E", "AE": "AE"}
PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
TYPE_INVOICE, TYPE_CREDIT_NOTE, TYPE_PREPAYMENT = "380", "381", "386"
# Passed to WeasyPrint as a parsed stylesheet (cached per process), not inlined into every document's HTML.
PDF_STYLESHEET = "invoices/pdf/invoice.css"
# The Factur-X attachment and its XMP properties, as the factur-x library writes them for the EN 16931 profile.
FACTURX_FILENAME = "factur-x.xml"
FACTURX_XMP_URN = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
FACTURX_XMP_LEVEL = "EN 16931"


def _amount(value: Any, currency: str) -> str:
    return str(money.quantize(Decimal(getattr(value, "amount", value)), currency))


def _party(snapshot: dict[str, str], *, name_key: str) -> dict[str, Any]:
    party: dict[str, Any] = {
        "name": snapshot.get(name_key) or "—",
        "country_code": (snapshot.get("country") or "DE").upper(),
        "city": snapshot.get("city", ""),
        "postcode": snapshot.get("postal_code", ""),
        "addr_l1": snapshot.get("street", ""),
    }
    if snapshot.get("vat_id"):
        party["vat_identifier"] = snapshot["vat_id"]
    if snapshot.get("email"):
        # Peppol needs an electronic address (BT-34/BT-49); an e-mail address (scheme EM) is the one we know.
        party["einvoicing_addr"] = snapshot["email"]
        party["einvoicing_addr_schemeid"] = "EM"
    return {key: value for key, value in party.items() if value}


def _type_code(invoice: Invoice) -> str:
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        return TYPE_CREDIT_NOTE
    if invoice.kind == InvoiceKind.DOWN_PAYMENT:
        return TYPE_PREPAYMENT
    return TYPE_INVOICE


def _exemption(line_category: str) -> str:
    if line_category == "AE":
        return "Reverse charge"
    if line_category == "E":
        return "Exempt from VAT"
    return ""


def payment_terms_text(invoice: Invoice) -> str:
    """BT-20, in the document language: "14 days net; 2 % discount if paid by 2026-01-10"."""
    with translation.override(invoice.language or settings.LANGUAGE_CODE):
        from django.utils.translation import gettext as _  # noqa: PLC0415

        text = _("%(days)s days net") % {"days": invoice.payment_terms_days}
        if invoice.discount_percent and invoice.discount_due_date:
            text += "; " + _("%(percent)s %% discount (%(amount)s) if paid by %(date)s") % {
                "percent": Decimal(invoice.discount_percent).normalize(), "date": invoice.discount_due_date.isoformat(),
                "amount": f"{_amount(invoice.discounted_total, invoice.currency)} {invoice.currency}",
            }
        return text


def einvoice_data(invoice: Invoice) -> dict[str, Any]:
    """The EN 16931 content of an issued invoice as the factur-x library's data dictionary (BT/BG keys)."""
    currency = invoice.currency
    lines = list(invoice.lines.all())
    seller, buyer = invoice.seller, invoice.buyer
    by_rate: dict[tuple[str, Decimal], Decimal] = {}
    line_dicts = []
    for number, line in enumerate(sorted(lines, key=lambda line: (line.position, line.pk)), start=1):
        category = VAT_CATEGORIES.get(line.tax_category, "S")
        percent = Decimal(line.tax_percent)
        by_rate[(category, percent)] = by_rate.get((category, percent), Decimal(0)) + Decimal(line.net.amount)
        # The net price after the line discount (BT-146), so that quantity × price = line net (BR-CO-…).
        line_dicts.append({
            "BT-126": str(number),
            "BT-129": str(Decimal(line.quantity).normalize()),
            "BT-130": UNIT_CODES.get(line.unit.strip().lower(), "C62"),
            "BT-131": _amount(line.net, currency),
            "BT-146": str(Decimal(line.unit_price.amount) * (100 - Decimal(line.discount_percent)) / 100),
            "BT-151": category,
            "BT-152": str(percent),
            "BT-153": line.description[:200],
        })
    breakdown = []
    for (category, percent), base in sorted(by_rate.items()):
        entry = {
            "BT-116": _amount(base, currency),
            "BT-117": _amount(money.quantize(base * percent / 100, currency), currency),
            "BT-118": category,
            "BT-119": str(percent),
        }
        if _exemption(category):
            entry["BT-120"] = _exemption(category)
        breakdown.append(entry)
    data: dict[str, Any] = {
        "BT-1": invoice.number,
        "BT-2": invoice.issue_date,
        "BT-3": _type_code(invoice),
        "BT-5": currency,
        "BT-10": invoice.customer_reference or invoice.order.number,
        "BT-14": invoice.order.number,
        "BT-72": invoice.delivery_date or invoice.issue_date,
        "BT-106": _amount(invoice.net_total, currency),
        "BT-109": _amount(invoice.net_total, currency),
        "BT-110": _amount(invoice.tax_total, currency),
        "BT-112": _amount(invoice.gross_total, currency),
        "BT-115": _amount(invoice.gross_total, currency),
        "BG-4": _party(seller, name_key="legal_name"),
        "BG-7": _party(buyer, name_key="name"),
        "BG-23": breakdown,
        "BG-25": line_dicts,
    }
    if invoice.customer_reference:
        data["BT-13"] = invoice.customer_reference
    if invoice.kind != InvoiceKind.CREDIT_NOTE:
        data["BT-9"] = invoice.due_date
        data["BT-20"] = payment_terms_text(invoice)
        if seller.get("iban"):
            data.update({"BT-81": "58", "BT-83": invoice.number, "BT-84": seller["iban"].replace(" ", "")})
            if seller.get("bic"):
                data["BT-86"] = seller["bic"]
        else:
            data.update({"BT-81": "1", "BT-83": invoice.number})
    if invoice.credit_of_id:
        data["BG-3"] = [{"BT-25": invoice.credit_of.number, "BT-26": invoice.credit_of.issue_date}]
        data["BG-1"] = [{"BT-22": invoice.credit_reason[:500]}]
    return data


def facturx_xml(invoice: Invoice, *, data: dict[str, Any] | None = None) -> bytes:
    """CII XML, Factur-X EN 16931 profile (`data`: the invoice's `einvoice_data`, if the caller has it)."""
    from facturx import generate_xml  # noqa: PLC0415

    return generate_xml(data or einvoice_data(invoice), flavor="factur-x", level="en16931", check_xsd=False,
                        check_schematron=False)


def ubl_xml(invoice: Invoice) -> bytes:
    """UBL 2.1 (Invoice or CreditNote) with the Peppol BIS Billing 3.0 customization and profile ids."""
    from facturx import generate_xml  # noqa: PLC0415

    xml = generate_xml(einvoice_data(invoice), flavor="ubl-2.1", level="en16931", check_xsd=False,
                       check_schematron=False)
    root = etree.fromstring(xml)
    cbc = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
    customization = root.find(f"{{{cbc}}}CustomizationID")
    if customization is not None:
        customization.text = PEPPOL_CUSTOMIZATION
        if root.find(f"{{{cbc}}}ProfileID") is None:
            profile = etree.Element(f"{{{cbc}}}ProfileID")
            profile.text = PEPPOL_PROFILE
            customization.addnext(profile)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def pdf_context(invoice: Invoice) -> dict[str, Any]:
    lines = list(invoice.lines.all())
    return {
        "invoice": invoice,
        "lines": lines,
        "totals": money.compute_totals([line.as_input() for line in lines], invoice.currency),
        # The seller as it was at issue, not today's company profile.
        "company": invoice.seller,
        "buyer": invoice.buyer,
        "payment_terms": payment_terms_text(invoice),
    }


def render_invoice_pdf_bytes(invoice: Invoice) -> bytes:
    """PDF/A-3b with the Factur-X XML attached as the alternative representation of the invoice.

    WeasyPrint writes the PDF once with the Factur-X parts in it (`facturx_finisher`); handing its PDF to
    `facturx.generate_from_binary` meant parsing and rewriting the whole file with pypdf.
    """
    import weasyprint  # noqa: PLC0415  (heavy import, only in the worker)

    from crm.documents import paused_gc, pdf_font_config, pdf_stylesheet  # noqa: PLC0415

    language = invoice.language or settings.LANGUAGE_CODE
    with translation.override(language):
        html = render_to_string(Invoice.PDF_TEMPLATE, pdf_context(invoice))
    data = einvoice_data(invoice)
    finisher = facturx_finisher(facturx_xml(invoice, data=data), data, lang=invoice.language or "en")
    with paused_gc():
        return weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR / "static")).write_pdf(
            stylesheets=[pdf_stylesheet(PDF_STYLESHEET, language)], font_config=pdf_font_config(),
            pdf_variant="pdf/a-3b", finisher=finisher,
        )


def facturx_finisher(xml: bytes, data: dict[str, Any], *, lang: str) -> Callable[[Any, Any], None]:
    """A WeasyPrint `finisher` making the PDF/A-3b being written a Factur-X PDF (EN 16931 profile).

    It adds to WeasyPrint's PDF objects, before they are written, what `facturx.generate_from_binary(pdf, xml,
    flavor="factur-x", level="en16931", afrelationship="alternative", lang=lang)` added to the finished file:
    - the XML as the embedded file factur-x.xml (text/xml, MD5 checksum, size, date), its file specification
      with /AFRelationship /Alternative, listed in the catalog's /AF and /Names /EmbeddedFiles, and
      /PageMode /UseAttachments;
    - the XMP metadata of factur-x's `generate_xmp_object`: pdfaid part 3 / conformance B, title, author,
      subject, the Factur-X PDF/A extension schema and fx:DocumentType INVOICE, fx:DocumentFileName,
      fx:Version 1.0, fx:ConformanceLevel EN 16931 — in place of WeasyPrint's PDF/A XMP;
    - the same title, author, subject, keywords, creator and dates in the document information dictionary.
    The title and subject are factur-x's, built from the XML's seller, type, number and date (`data`); the XMP
    names WeasyPrint as the producer, as the info dictionary does (factur-x wrote "pypdf" there).
    WeasyPrint's own `attachments=` option is not used: it lists the file twice in /AF.
    tests/invoices/test_facturx_pdf.py holds the result to what generate_from_binary makes of the same PDF.
    """
    import pydyf  # noqa: PLC0415  (WeasyPrint's PDF writer)
    from facturx import generate_xmp_object  # noqa: PLC0415
    from facturx.facturx import CREATOR  # noqa: PLC0415

    seller, number = data["BG-4"]["name"], data["BT-1"]
    kind = "Refund" if data["BT-3"] == TYPE_CREDIT_NOTE else "Invoice"  # factur-x's names for 381 and 380/386
    title = f"{seller}: {kind} {number}"
    subject = f"{kind} {number} dated {data['BT-2'].isoformat()} issued by {seller}"

    def finish(document: Any, pdf: Any) -> None:
        now = datetime.now(UTC)
        pdf_date = pydyf.String(now.strftime("D:%Y%m%d%H%M%S+00'00'"))
        xmp_root = generate_xmp_object({
            "pdfa3_flavor": "B", "title": title, "author": seller, "subject": subject,
            # The producer WeasyPrint wrote in the info dictionary (PDF/A wants both to agree).
            "producer": pdf.info["Producer"].string, "creator_tool": CREATOR,
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "version": "1.0", "documenttype": "INVOICE",
            "xml_filename": FACTURX_FILENAME, "xmp_level": FACTURX_XMP_LEVEL, "urn": FACTURX_XMP_URN,
        })
        xmp = "\n".join((
            '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>',
            etree.tostring(xmp_root, pretty_print=True).decode().strip(),
            '<?xpacket end="w"?>',
        )).encode()
        # WeasyPrint's PDF/A XMP stream gets the Factur-X XMP (same object, same compression).
        metadata = pdf.objects[int(pdf.catalog["Metadata"].split()[0])]
        metadata.stream = [xmp]

        embedded = pydyf.Stream([xml], pydyf.Dictionary({
            "Type": "/EmbeddedFile", "Subtype": "/text#2Fxml",
            "Params": pydyf.Dictionary({
                "CheckSum": f"<{hashlib.md5(xml, usedforsecurity=False).hexdigest()}>", "ModDate": pdf_date,
                "Size": len(xml),
            }),
        }), compress=metadata.compress)
        pdf.add_object(embedded)
        filespec = pydyf.Dictionary({
            "Type": "/Filespec", "F": pydyf.String(FACTURX_FILENAME), "UF": pydyf.String(FACTURX_FILENAME),
            "EF": pydyf.Dictionary({"F": embedded.reference, "UF": embedded.reference}),
            "Desc": pydyf.String("Factur-X XML file"), "AFRelationship": "/Alternative",
        })
        pdf.add_object(filespec)
        associated_files = pydyf.Array([filespec.reference])
        pdf.add_object(associated_files)
        pdf.catalog["AF"] = associated_files.reference
        names = pdf.catalog.setdefault("Names", pydyf.Dictionary())
        names["EmbeddedFiles"] = pydyf.Dictionary({"Names": pydyf.Array([pydyf.String(FACTURX_FILENAME),
                                                                           filespec.reference])})
        pdf.catalog["PageMode"] = "/UseAttachments"
        pdf.catalog["Lang"] = pydyf.String(lang.replace("_", "-"))
        pdf.info.update({
            "Title": pydyf.String(title), "Author": pydyf.String(seller), "Subject": pydyf.String(subject),
            "Keywords": pydyf.String(f"{kind}, Factur-X"), "Creator": pydyf.String(CREATOR),
            "CreationDate": pdf_date, "ModDate": pdf_date,
        })

    return finish
