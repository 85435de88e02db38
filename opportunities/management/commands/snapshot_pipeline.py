"""Ops: write this week's pipeline snapshot (the same work as the weekly beat task)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from opportunities.services import pipeline_snapshot_take, week_of


class Command(BaseCommand):
    help = (
        "Record amount, stage, close date, probability and status of every open deal (and of deals closed this "
        "week) for the week of --date. Runs in-process; running it again in the same week replaces that week's rows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", dest="day", metavar="YYYY-MM-DD",
            help="A day of the week to record (default: today in the configured time zone).",
        )

    def handle(self, *args: Any, day: str | None = None, **options: Any) -> None:
        try:
            when = date.fromisoformat(day) if day else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--date must look like 2026-01-31, not {day!r}") from exc
        count = pipeline_snapshot_take(day=when)
        self.stdout.write(self.style.SUCCESS(
            f"Pipeline snapshot for the week of {week_of(when).isoformat()}: {count} deal(s) recorded."
        ))
