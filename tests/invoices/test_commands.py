from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from invoices.models import Invoice
from quotes.models import Quote
from tests import factories

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_sweep_marks_invoices_past_due_as_overdue(seller):
    late = factories.invoice(owner=seller, issued=True)
    draft = factories.invoice(owner=seller)
    day_after_due = (late.due_date + timedelta(days=1)).isoformat()

    output = run("sweep_overdue", "--date", day_after_due)

    late.refresh_from_db()
    draft.refresh_from_db()
    assert late.state == "overdue"
    assert draft.state == "draft"
    assert "1 invoice(s) marked overdue" in output
    assert "0 invoice(s)" in run("sweep_overdue", "--date", day_after_due)  # idempotent


def test_sweep_leaves_invoices_not_yet_due(seller):
    invoice = factories.invoice(owner=seller, issued=True)

    run("sweep_overdue", "--date", invoice.due_date.isoformat())

    invoice.refresh_from_db()
    assert invoice.state == "issued"


def test_sweep_dry_run_writes_nothing(seller):
    invoice = factories.invoice(owner=seller, issued=True)

    output = run("sweep_overdue", "--dry-run", "--date", (invoice.due_date + timedelta(days=5)).isoformat())

    invoice.refresh_from_db()
    assert invoice.state == "issued"
    assert "1 invoice(s)" in output and "would be marked" in output


def test_sweep_rejects_a_bad_date():
    with pytest.raises(CommandError):
        run("sweep_overdue", "--date", "31.01.2026")


def test_render_documents_creates_missing_pdfs(seller):
    # In a test transaction the on-commit render task never runs: exactly the "worker was down" situation.
    quote = factories.quote(owner=seller, sent=True)
    invoice = factories.invoice(owner=seller, issued=True)
    draft_quote = factories.quote(owner=seller)
    assert not quote.pdf and not invoice.pdf

    output = run("render_documents")

    quote.refresh_from_db()
    invoice.refresh_from_db()
    draft_quote.refresh_from_db()
    assert quote.pdf and invoice.pdf and quote.pdf_sha256 and invoice.pdf_sha256
    assert not draft_quote.pdf
    # The invoice factory accepted one quote too (order → invoice): that quote and the order confirmation
    # also get their PDFs.
    assert "4 PDF(s) rendered, 0 failed." in output
    assert "0 PDF(s) rendered" in run("render_documents")  # nothing left to do


def test_render_documents_replaces_a_lost_file(seller):
    invoice = factories.invoice(owner=seller, issued=True)
    run("render_documents")
    invoice.refresh_from_db()
    invoice.pdf.storage.delete(invoice.pdf.name)

    run("render_documents")

    invoice.refresh_from_db()
    assert invoice.pdf.storage.exists(invoice.pdf.name)


def test_render_documents_dry_run_writes_nothing(seller):
    factories.quote(owner=seller, sent=True)

    output = run("render_documents", "--dry-run")

    assert "would render quote" in output
    assert not Quote.objects.exclude(pdf="").exists()


def test_render_documents_fails_loudly(seller):
    factories.invoice(owner=seller, issued=True)

    broken = mock.patch("invoices.management.commands.render_documents.invoice_render_pdf", side_effect=OSError("disk"))
    with broken, pytest.raises(CommandError, match="1 document"):
        run("render_documents")

    assert Invoice.objects.filter(pdf="").exists()
    assert not Quote.objects.filter(pdf="").exists()  # the other documents were still rendered
