"""Ops: mark issued or part-paid invoices past their due date as overdue (the same work as the beat task)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from invoices.models import DunningNotice, Invoice
from invoices.services import dunning_send_pending, invoices_sweep_overdue


class Command(BaseCommand):
    help = (
        "Mark every issued or partially paid invoice whose due date has passed as overdue, create the payment "
        "reminders of the dunning levels reached (once per level and invoice) and e-mail them. Runs in-process "
        "(no worker needed) and is safe to run repeatedly: an invoice already overdue or reminded is left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", dest="today", metavar="YYYY-MM-DD",
            help="Treat this day as today (default: today in the configured time zone).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only count the invoices that would be marked.")

    def handle(self, *args: Any, today: str | None = None, dry_run: bool = False, **options: Any) -> None:
        try:
            day = date.fromisoformat(today) if today else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--date must look like 2026-01-31, not {today!r}") from exc
        if dry_run:
            count = Invoice.objects.overdue_candidates(day).count()
            self.stdout.write(f"Dry run: {count} invoice(s) due before {day.isoformat()} would be marked overdue.")
            return
        before = DunningNotice.objects.count()
        count = invoices_sweep_overdue(today=day)
        reminders = DunningNotice.objects.count() - before
        # The sweep queues the e-mails after commit; send what is still pending here so ops need no worker.
        sent = 0
        while batch := dunning_send_pending():
            sent += batch
        self.stdout.write(self.style.SUCCESS(
            f"{count} invoice(s) marked overdue (due before {day.isoformat()}), {reminders} reminder(s) created, "
            f"{sent} e-mailed."
        ))
