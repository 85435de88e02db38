"""manage.py ingest_email [PATH]: turn inbound e-mails into leads or activities (mbox, maildir or IMAP)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.workflow import DomainError
from leads.ingest import imap_configured, ingest_message, read_imap, read_mailbox


class Command(BaseCommand):
    help = (
        "Read RFC 822 messages from an mbox file or a maildir directory (or, without PATH, from IMAP when "
        "IMAP_HOST/IMAP_USER/IMAP_PASSWORD are set). A message from a known lead or contact becomes an e-mail "
        "activity on it; any other becomes a new lead (source e-mail). Messages already ingested (same "
        "Message-ID) are skipped, so running it again is safe."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="mbox file or maildir directory")
        parser.add_argument("--dry-run", action="store_true", help="report what would happen, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["path"]:
            path = Path(options["path"])
            if not path.exists():
                raise CommandError(f"{path} does not exist")
            messages = read_mailbox(path)
        elif imap_configured():
            messages = read_imap()
        else:
            raise CommandError("give an mbox/maildir PATH, or set IMAP_HOST, IMAP_USER and IMAP_PASSWORD")
        counts: Counter[str] = Counter()
        failed = 0
        for message in messages:
            try:
                counts[ingest_message(message, dry_run=options["dry_run"])] += 1
            except DomainError as exc:
                failed += 1
                self.stderr.write(f"{message.get('Message-ID', '?')}: {exc}")
        prefix = "would create" if options["dry_run"] else "created"
        summary = (
            f"{prefix} {counts['lead']} leads, {counts['activity']} activities; "
            f"{counts['seen']} already ingested, {counts['skipped']} without sender, {failed} failed"
        )
        if failed:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
