"""Ops: queue again (or run here) the background tasks kept while the broker was unreachable."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.jobs import requeue_pending_tasks
from crm.models import PendingTask


class Command(BaseCommand):
    help = (
        "Hand the background tasks that could not be queued (broker down) to the broker again, oldest first, "
        "or run them in this process with --in-process (no worker needed). Exits with an error if some remain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--in-process", action="store_true", help="Run the tasks here instead of queueing them.")
        parser.add_argument("--dry-run", action="store_true", help="List the pending tasks; change nothing.")

    def handle(self, *args: Any, in_process: bool = False, dry_run: bool = False, **options: Any) -> None:
        if dry_run:
            pending = list(PendingTask.objects.order_by("created_at", "pk")[:1000])
            for task in pending:
                self.stdout.write(f"would queue {task} (kept since {task.created_at:%Y-%m-%d %H:%M})")
            self.stdout.write(f"{len(pending)} pending task(s).")
            return
        done, remaining = requeue_pending_tasks(limit=10_000, in_process=in_process)
        verb = "ran" if in_process else "queued"
        self.stdout.write(f"{done} task(s) {verb}, {remaining} still pending.")
        if remaining:
            raise CommandError(f"{remaining} task(s) are still pending; is the broker reachable?")
