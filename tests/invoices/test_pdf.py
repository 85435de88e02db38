"""The PDFs go through the real path: the service schedules the Celery task after commit, the task renders
with WeasyPrint and stores the file; we read the text back as a customer's PDF viewer would."""

import io
import os

import pdfplumber
import pytest

from crm.models import CompanyProfile
from invoices.services import invoice_issue
from quotes.services import quote_send
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(db):
    return CompanyProfile.objects.create(
        pk=1, legal_name="Salesflow Test GmbH", street="Hauptstraße 1", postal_code="10115", city="Berlin",
        vat_id="DE123456789", iban="DE89 3704 0044 0532 0130 00", bic="COBADEFFXXX", bank_name="Testbank",
    )


def pdf_text(document) -> str:
    document.refresh_from_db()
    assert document.pdf, "the task did not store a PDF"
    with document.pdf.open("rb") as handle:
        content = handle.read()
    if os.environ.get("SALESFLOW_KEEP_PDF"):  # for a human look at the layout
        with open(f"/tmp/{document.number}.pdf", "wb") as out:
            out.write(content)
    with pdfplumber.open(io.BytesIO(content)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def test_issued_invoice_pdf_shows_number_customer_and_total(seller, company, django_capture_on_commit_callbacks):
    draft = factories.invoice(owner=seller, company="Kunde & Partner AG")

    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_issue(invoice=draft, actor=factories.accountant())

    text = pdf_text(invoice)
    assert invoice.number in text
    assert "Kunde & Partner AG" in text
    assert "€238.00" in text
    assert "DE89 3704 0044 0532 0130 00" in text
    assert "Salesflow Test GmbH" in text
    assert invoice.pdf_sha256


def test_sent_quote_pdf_shows_number_customer_and_total(seller, company, django_capture_on_commit_callbacks):
    draft = factories.quote(owner=seller, lines=3, company="Quoted Customer GmbH")

    with django_capture_on_commit_callbacks(execute=True):
        quote = quote_send(quote=draft, actor=seller)

    text = pdf_text(quote)
    assert quote.number in text
    assert "Quoted Customer GmbH" in text
    assert "€357.00" in text


def test_pdf_is_written_in_the_document_language(seller, company, django_capture_on_commit_callbacks):
    from quotes.services import quote_update

    draft = factories.quote(owner=seller, lines=1)
    quote_update(quote=draft, actor=seller, language="de")

    with django_capture_on_commit_callbacks(execute=True):
        quote = quote_send(quote=draft, actor=seller)

    text = pdf_text(quote)
    assert "119,00" in text  # German number format
    assert quote.number in text


def _page_count(document) -> int:
    document.refresh_from_db()
    with document.pdf.open("rb") as handle, pdfplumber.open(io.BytesIO(handle.read())) as pdf:
        return len(pdf.pages)


def test_a_twenty_line_invoice_fits_on_one_page_with_every_line(
    seller, accountant, company, django_capture_on_commit_callbacks
):
    from invoices.models import InvoiceLine

    draft = factories.invoice(owner=seller, lines=20)
    # One-line descriptions, as on the benchmark's invoice (the factory's product names wrap to two lines).
    for line in InvoiceLine.objects.filter(invoice=draft):
        InvoiceLine.objects.filter(pk=line.pk).update(description=f"Service package {line.pk}")

    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_issue(invoice=draft, actor=accountant)

    text = pdf_text(invoice)
    assert _page_count(invoice) == 1
    assert "Page 1 / 1" in text
    assert f"€{invoice.gross_total.amount:,.2f}" in text
    assert "DE89 3704 0044 0532 0130 00" in text  # the payment block made it onto the page too
    lines = list(invoice.lines.select_related("product"))
    assert len(lines) == 20 and all(line.product.sku in text for line in lines)


def test_rendering_an_invoice_reads_its_lines_and_products_in_a_fixed_number_of_queries(
    seller, accountant, company, django_assert_max_num_queries, settings, tmp_path
):
    from invoices.services import invoice_render_pdf

    settings.MEDIA_ROOT = tmp_path
    small = invoice_issue(invoice=factories.invoice(owner=seller, lines=1), actor=accountant)
    large = invoice_issue(invoice=factories.invoice(owner=seller, lines=12), actor=accountant)
    invoice_render_pdf(invoice_id=small.pk, force=True)  # warm: content types, company profile

    with django_assert_max_num_queries(6) as small_queries:
        invoice_render_pdf(invoice_id=small.pk, force=True)
    with django_assert_max_num_queries(6) as large_queries:
        invoice_render_pdf(invoice_id=large.pk, force=True)
    assert len(large_queries.captured_queries) == len(small_queries.captured_queries)


def test_the_cached_stylesheet_follows_the_document_language(
    seller, accountant, company, django_capture_on_commit_callbacks
):
    from invoices.services import invoice_update_draft

    english = factories.invoice(owner=seller)
    german = factories.invoice(owner=seller)
    invoice_update_draft(invoice=german, actor=accountant, language="de")

    with django_capture_on_commit_callbacks(execute=True):
        english = invoice_issue(invoice=english, actor=accountant)
        german = invoice_issue(invoice=german, actor=accountant)

    assert "Page 1 / 1" in pdf_text(english)
    assert "Seite 1 / 1" in pdf_text(german)
