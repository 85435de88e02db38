"""The invoice PDF is written in one pass, the Factur-X parts added by a WeasyPrint finisher
(`invoices.documents.facturx_finisher`) instead of `facturx.generate_from_binary` rewriting WeasyPrint's PDF with
pypdf. These tests hold the one-pass file to what generate_from_binary made of the same PDF: the XML embedded as
factur-x.xml with /AFRelationship /Alternative (once in /AF), readable by the factur-x library, the same XMP
(PDF/A-3b identification, Factur-X extension schema and fx: properties) and the same document information."""

import hashlib
import io
import re
from decimal import Decimal

import facturx
import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from lxml import etree
from pypdf import PdfReader

from crm.documents import pdf_font_config, pdf_stylesheet
from invoices import documents
from invoices.models import Invoice, PaymentTerm
from invoices.services import credit_note_create, invoice_issue
from tests import factories

pytestmark = pytest.mark.django_db

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
}


@pytest.fixture(autouse=True)
def company(billing_company):
    return billing_company


@pytest.fixture
def invoice(seller):
    PaymentTerm.objects.create(name="Skonto", net_days=30, discount_percent=Decimal(2), discount_days=10,
                               is_default=True)
    issued = invoice_issue(invoice=factories.invoice(owner=seller, company="Kunde & Partner AG"),
                           actor=factories.accountant())
    return Invoice.objects.get(pk=issued.pk)


def old_way(invoice: Invoice) -> bytes:
    """How the PDF was made before: WeasyPrint's PDF/A-3b, then generate_from_binary (pypdf) on top."""
    import weasyprint

    with translation.override(invoice.language or settings.LANGUAGE_CODE):
        html = render_to_string(Invoice.PDF_TEMPLATE, documents.pdf_context(invoice))
    pdf = weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR / "static")).write_pdf(
        stylesheets=[pdf_stylesheet(documents.PDF_STYLESHEET, invoice.language or settings.LANGUAGE_CODE)],
        font_config=pdf_font_config(), pdf_variant="pdf/a-3b",
    )
    return facturx.generate_from_binary(
        pdf, documents.facturx_xml(invoice), flavor="factur-x", level="en16931", afrelationship="alternative",
        check_xsd=False, lang=invoice.language or "en",
    )


def xmp_root(reader: PdfReader) -> etree._Element:
    return etree.fromstring(reader.trailer["/Root"]["/Metadata"].get_object().get_data())


def comparable_xmp(reader: PdfReader) -> str:
    """The XMP packet without what legitimately differs: the timestamps and the producer."""
    text = etree.tostring(xmp_root(reader)).decode()
    text = re.sub(r"<xmp:(CreateDate|ModifyDate)>[^<]*<", r"<xmp:\1>T<", text)
    return re.sub(r"<pdf:Producer>[^<]*<", "<pdf:Producer>P<", text)


def attachment_parts(reader: PdfReader) -> dict:
    catalog = reader.trailer["/Root"]
    af = catalog["/AF"].get_object()
    filespec = af[0].get_object()
    stream = filespec["/EF"]["/F"].get_object()
    names = catalog["/Names"]["/EmbeddedFiles"]["/Names"]
    return {
        "af_count": len(af),
        "names": [names[0], names[1].idnum == af[0].idnum],
        "filespec": {key: filespec[key] for key in ("/Type", "/F", "/UF", "/Desc", "/AFRelationship")},
        "ef_uf_is_f": filespec["/EF"].raw_get("/UF").idnum == filespec["/EF"].raw_get("/F").idnum,
        "stream": {key: stream[key] for key in ("/Type", "/Subtype")},
        "params": {key: stream["/Params"][key] for key in ("/CheckSum", "/Size")},
        "has_mod_date": "/ModDate" in stream["/Params"],
        "data": stream.get_data(),
        "page_mode": catalog["/PageMode"],
        "lang": catalog["/Lang"],
        "output_intent": {key: catalog["/OutputIntents"][0].get_object()[key]
                          for key in ("/S", "/OutputConditionIdentifier")},
    }


@pytest.mark.parametrize("kind", ["invoice", "credit note"])
def test_one_pass_pdf_carries_what_generate_from_binary_added(invoice, kind):
    if kind == "credit note":
        invoice = Invoice.objects.get(
            pk=credit_note_create(invoice=invoice, actor=factories.accountant(), reason="Returned goods").pk)
        assert invoice.number and invoice.issue_date
    xml = documents.facturx_xml(invoice)

    new, old = documents.render_invoice_pdf_bytes(invoice), old_way(invoice)

    # The factur-x library finds the XML (and it is schema-valid) in the one-pass PDF.
    filename, embedded = facturx.get_xml_from_pdf(new, check_xsd=True)
    assert (filename, embedded) == ("factur-x.xml", xml)
    new_reader, old_reader = PdfReader(io.BytesIO(new)), PdfReader(io.BytesIO(old))
    new_parts, old_parts = attachment_parts(new_reader), attachment_parts(old_reader)
    assert new_parts == old_parts
    assert new_parts["af_count"] == 1 and new_parts["filespec"]["/AFRelationship"] == "/Alternative"
    checksum = new_parts["params"]["/CheckSum"]  # pypdf reads the 16 bytes as text when they happen to decode
    assert getattr(checksum, "original_bytes", checksum) == hashlib.md5(xml).digest()
    assert new_parts["stream"]["/Subtype"] == "/text/xml" and new_parts["data"] == xml

    # The same XMP, element for element; PDF/A-3b and the Factur-X properties in it.
    assert comparable_xmp(new_reader) == comparable_xmp(old_reader)
    root = xmp_root(new_reader)
    assert root.findtext(".//pdfaid:part", namespaces=NS) == "3"
    assert root.findtext(".//pdfaid:conformance", namespaces=NS) == "B"
    assert root.findtext(".//pdfaSchema:namespaceURI", namespaces=NS) == NS["fx"]
    assert [root.findtext(f".//fx:{name}", namespaces=NS)
            for name in ("DocumentType", "DocumentFileName", "Version", "ConformanceLevel")] == [
        "INVOICE", "factur-x.xml", "1.0", "EN 16931"]

    # The same document information; what the XMP repeats agrees with it (PDF/A).
    info, old_info = new_reader.metadata, old_reader.metadata
    for key in ("/Title", "/Author", "/Subject", "/Keywords", "/Creator", "/Producer"):
        assert info[key] == old_info[key], key
    assert info["/Title"] == f"Salesflow Test GmbH: {'Refund' if kind == 'credit note' else 'Invoice'} {invoice.number}"
    assert root.findtext(".//pdf:Producer", namespaces=NS) == info["/Producer"]
    created = root.findtext(".//xmp:CreateDate", namespaces=NS)
    assert info["/CreationDate"] == info["/ModDate"] == "D:" + re.sub(r"\D", "", created[:19]) + "+00'00'"
    assert len(new_reader.pages) == len(old_reader.pages) == 1
    assert new_reader.pages[0].extract_text() == old_reader.pages[0].extract_text()


def test_the_collector_is_paused_for_the_render_only():
    import gc

    from crm.documents import paused_gc

    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        with paused_gc():  # nested: the outer one switches it back on
            pass
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()
