from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from quotes.services import quote_expire_due


class Command(BaseCommand):
    help = "Expire every sent quote whose validity date has passed (the nightly beat task does the same)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only count the quotes that would expire.")

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        today = timezone.localdate()
        count = quote_expire_due(today=today, dry_run=dry_run)
        if dry_run:
            self.stdout.write(f"{count} quote(s) valid until before {today} would expire (dry run, nothing changed).")
        else:
            self.stdout.write(self.style.SUCCESS(f"{count} quote(s) expired."))
