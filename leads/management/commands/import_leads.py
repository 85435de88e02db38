"""manage.py import_leads FILE: import leads from a CSV or XLSX file, print the row report and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.models import User
from crm.workflow import DomainError
from leads.imports import TARGET_FIELDS, detect_mapping, import_leads, parse_mapping_option, read_table


class Command(BaseCommand):
    help = (
        "Import leads from a CSV (UTF-8 or Windows-1252, ; or , separated) or XLSX file. The first row names "
        "the columns; they are mapped to lead fields automatically (English and German headers). By default "
        "nothing is imported when a row has an error (all-or-nothing); --skip-bad-rows imports the good rows. "
        "Exits with status 1 when rows failed in all-or-nothing mode."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path of the .csv or .xlsx file")
        parser.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")
        parser.add_argument("--skip-bad-rows", action="store_true", help="import the good rows, report the bad")
        parser.add_argument("--owner", help="username owning the new leads (default: the assignment rules)")
        parser.add_argument(
            "--mapping", default="",
            help=f"override columns: 'Column=field,...' with a field among {', '.join(TARGET_FIELDS)} "
                 "(empty field ignores the column)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        owner = None
        if options["owner"]:
            owner = User.objects.filter(username=options["owner"], is_active=True).first()
            if owner is None:
                raise CommandError(f"no active user {options['owner']!r}")
        actor = owner or User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if actor is None:
            raise CommandError("no active superuser to run the import as; pass --owner USERNAME")
        try:
            # A local file from an operator: no upload size limit here.
            table = read_table(path.read_bytes(), path.name, max_bytes=None)
            mapping = {**detect_mapping(table.headers), **parse_mapping_option(options["mapping"], table.headers)}
            self.stdout.write("Columns: " + ", ".join(
                f"{header} → {mapping.get(header) or '(ignored)'}" for header in table.headers
            ))
            result = import_leads(
                table=table, mapping=mapping, actor=actor, owner=owner,
                skip_bad_rows=options["skip_bad_rows"], dry_run=options["dry_run"],
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        for notice in result.notices:
            self.stdout.write(self.style.WARNING(notice))
        for p in result.problems:
            self.stdout.write(f"row {p['row']}, {p['column']}: {p['message']} [{p['kind']}]")
        verb = "would be created" if result.dry_run else "created"
        summary = (
            f"{result.total} rows read, {result.created} leads {verb}, {result.skipped} skipped, "
            f"{result.error_count} errors ({result.seconds:.2f} s, {result.rows_per_second:,.0f} rows/s)"
        )
        if result.failed:
            self.stdout.write(self.style.ERROR(summary))
            raise CommandError("import refused: rows have errors (use --skip-bad-rows to import the others)")
        self.stdout.write(self.style.SUCCESS(summary))
