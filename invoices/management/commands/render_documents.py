"""Ops: render the PDFs the worker did not (broker down, lost file, template fixed), in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from crm.documents import PricedDocument
from invoices.models import Invoice, InvoiceState
from invoices.services import invoice_render_pdf
from orders.models import Order
from orders.services import order_render_pdf
from quotes.models import Quote, QuoteState
from quotes.services import quote_render_pdf

QUOTE_STATES = [QuoteState.SENT, QuoteState.ACCEPTED]
INVOICE_STATES = [InvoiceState.ISSUED, InvoiceState.PARTIALLY_PAID, InvoiceState.OVERDUE, InvoiceState.PAID,
                  InvoiceState.CANCELLED]


def pdf_missing(document: PricedDocument) -> bool:
    """No PDF recorded, or recorded but the file is gone from storage."""
    return not document.pdf or not document.pdf.storage.exists(document.pdf.name)


class Command(BaseCommand):
    help = (
        "Render, in this process (no Celery worker needed), the PDF of every sent or accepted quote, every order "
        "confirmation and every issued invoice or credit note that has none, or whose file is missing from "
        "storage. Prints a summary and exits with an error if any document failed to render."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true",
            help="Re-render every such document, even those that already have a PDF (e.g. after a template fix).",
        )
        parser.add_argument("--dry-run", action="store_true", help="List what would be rendered; write nothing.")

    def handle(self, *args: Any, force: bool = False, dry_run: bool = False, **options: Any) -> None:
        jobs: list[tuple[str, QuerySet, Callable[..., bool], str]] = [
            ("quote", Quote.objects.filter(state__in=QUOTE_STATES), quote_render_pdf, "quote_id"),
            ("order", Order.objects.all(), order_render_pdf, "order_id"),
            ("invoice", Invoice.objects.filter(state__in=INVOICE_STATES), invoice_render_pdf, "invoice_id"),
        ]
        rendered = failed = 0
        for label, queryset, render, id_argument in jobs:
            for document in self._todo(queryset, force):
                if dry_run:
                    self.stdout.write(f"would render {label} {document}")
                    rendered += 1
                    continue
                try:
                    # force=True also when the file is merely missing: the service skips records with a pdf name.
                    render(**{id_argument: document.pk, "force": True})
                except Exception as exc:  # one broken document must not stop the others; reported below
                    failed += 1
                    self.stderr.write(self.style.ERROR(f"{label} {document}: {type(exc).__name__}: {exc}"))
                else:
                    rendered += 1
                    if options.get("verbosity", 1) > 1:
                        self.stdout.write(f"rendered {label} {document}")
        verb = "would be rendered" if dry_run else "rendered"
        self.stdout.write(f"{rendered} PDF(s) {verb}, {failed} failed.")
        if failed:
            raise CommandError(f"{failed} document(s) could not be rendered; see the errors above.")

    def _todo(self, queryset: QuerySet, force: bool) -> Iterable[PricedDocument]:
        for document in queryset.order_by("pk").only("pk", "number", "state", "pdf").iterator(chunk_size=500):
            if force or pdf_missing(document):
                yield document
