"""Ops: prove that no issued invoice or credit note was altered, removed or inserted after issue."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from invoices.integrity import verify_chain
from invoices.models import Invoice, InvoiceState


class Command(BaseCommand):
    help = (
        "Recompute the SHA-256 hash chain of every issued invoice and credit note, per number series and year. "
        "Exits with an error naming the first broken document when a document was altered, a number is "
        "missing, or a document does not point at its predecessor. Read-only."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        documents = (
            Invoice.objects.exclude(state=InvoiceState.DRAFT)
            .select_related("credit_of")
            .prefetch_related("lines")
            .order_by("pk")
        )
        report = verify_chain(documents.iterator(chunk_size=2000))
        if report.ok:
            self.stdout.write(self.style.SUCCESS(
                f"OK: {report.documents} document(s) in {report.chains} chain(s), every hash verified."
            ))
            return
        for problem in report.problems:
            self.stderr.write(self.style.ERROR(str(problem)))
        first = report.problems[0]
        raise CommandError(
            f"Hash chain broken at {first.number}: {first.message} ({len(report.problems)} problem(s) in total)."
        )
