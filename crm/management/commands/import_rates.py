from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from crm.models import ExchangeRate


class Command(BaseCommand):
    help = (
        "Import exchange rates from a CSV file with the columns date,currency,rate (rate = value of one unit "
        "of the currency in the company currency). A header row is optional; existing (date, currency) "
        "rows are updated. Nothing is written if any row is invalid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check the file without writing.")

    def handle(self, *args: Any, file: Path, dry_run: bool = False, **options: Any) -> None:
        try:
            with file.open(newline="", encoding="utf-8-sig") as handle:
                rows = list(csv.reader(handle))
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        parsed: dict[tuple[date, str], Decimal] = {}
        for number, row in enumerate(rows, start=1):
            if not row or not "".join(row).strip():
                continue
            if number == 1 and row[0].strip().lower() == "date":
                continue
            day, currency, rate = self._parse(number, row)
            parsed[(day, currency)] = rate
        if dry_run:
            self.stdout.write(f"{len(parsed)} rate(s) read, nothing written (dry run).")
            return
        with transaction.atomic():
            for (day, currency), rate in parsed.items():
                ExchangeRate.objects.update_or_create(date=day, currency=currency, defaults={"rate": rate})
        self.stdout.write(self.style.SUCCESS(f"{len(parsed)} rate(s) imported."))

    def _parse(self, number: int, row: list[str]) -> tuple[date, str, Decimal]:
        if len(row) != 3:
            raise CommandError(f"line {number}: expected date,currency,rate, got {row!r}")
        raw_date, currency, raw_rate = (cell.strip() for cell in row)
        try:
            day = date.fromisoformat(raw_date)
        except ValueError as exc:
            raise CommandError(f"line {number}: {raw_date!r} is not a date (YYYY-MM-DD)") from exc
        currency = currency.upper()
        if len(currency) != 3 or not currency.isalpha():
            raise CommandError(f"line {number}: {currency!r} is not a currency code")
        if currency == settings.DEFAULT_CURRENCY:
            raise CommandError(f"line {number}: {currency} is the company currency; its rate is always 1")
        try:
            rate = Decimal(raw_rate)
        except InvalidOperation as exc:
            raise CommandError(f"line {number}: {raw_rate!r} is not a number") from exc
        if rate <= 0:
            raise CommandError(f"line {number}: the rate must be positive")
        return day, currency, rate
