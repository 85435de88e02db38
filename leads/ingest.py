"""E-mail ingest: each inbound inquiry becomes a lead, or an activity on the lead/contact who wrote.

Idempotent by Message-ID (stored in ProcessedEmail in the same transaction as what the message created),
so reading the same mailbox again, or two readers at once, create nothing twice.
"""

from __future__ import annotations

import contextlib
import email
import hashlib
import imaplib
import logging
import mailbox
import os
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parseaddr
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from crm import normalize
from crm.models import ActivityKind, Contact
from leads.models import Lead, LeadSource, ProcessedEmail

logger = logging.getLogger(__name__)
BODY_MAX = 10_000


def _header(message: Message, name: str) -> str:
    raw = message.get(name, "")
    try:
        return str(make_header(decode_header(str(raw)))).strip()
    except (UnicodeDecodeError, LookupError, ValueError):
        return str(raw).strip()


def message_key(message: Message) -> str:
    """The Message-ID, or (for the rare message without one) a digest of sender, date and subject."""
    message_id = str(message.get("Message-ID", "")).strip()
    if message_id:
        return message_id[:255]
    digest = hashlib.sha256("|".join(_header(message, h) for h in ("From", "Date", "Subject")).encode()).hexdigest()
    return f"<sha256-{digest}>"


def text_body(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    for part in parts:
        if part.get_content_type() == "text/plain" and part.get_content_disposition() != "attachment":
            payload = part.get_payload(decode=True) or b""
            charset = part.get_content_charset() or "utf-8"
            try:
                return payload.decode(charset, errors="replace")[:BODY_MAX]
            except LookupError:
                return payload.decode("latin-1")[:BODY_MAX]
    return ""


def _name_parts(display_name: str, address: str) -> tuple[str, str]:
    name = " ".join(display_name.replace('"', "").split())
    if "," in name:  # "Lovelace, Ada"
        last, _sep, first = name.partition(",")
        return first.strip(), last.strip()
    if not name:
        name = address.partition("@")[0].replace(".", " ").replace("_", " ").title()
    first, _sep, last = name.rpartition(" ")
    return first, last or first


def ingest_message(message: Message, *, dry_run: bool = False) -> str:
    """Handle one message; returns what happened: 'lead', 'activity', 'seen' (already ingested) or 'skipped'."""
    from leads.services import activity_log, lead_capture

    key = message_key(message)
    if ProcessedEmail.objects.filter(message_id=key).exists():
        return "seen"
    display_name, address = parseaddr(_header(message, "From"))
    address = address.strip().lower()
    lead = contact = None
    if "@" not in address:
        outcome = "skipped"
    else:
        lead = Lead.objects.filter(email__iexact=address).select_related("owner").order_by("-created_at").first()
        contact = None if lead else (
            Contact.objects.filter(email__iexact=address).select_related("account__owner").first()
        )
        outcome = "activity" if lead or contact else "lead"
    if dry_run:
        return outcome
    subject = _header(message, "Subject")[:200] or "(no subject)"
    body = text_body(message)
    try:
        with transaction.atomic():
            created_lead = None
            if outcome == "activity":
                target, owner = (lead, lead.owner) if lead else (contact, contact.account.owner)
                activity_log(target=target, actor=owner, kind=ActivityKind.EMAIL, subject=subject, body=body)
            elif outcome == "lead":
                first, last = _name_parts(display_name, address)
                domain = normalize.company_domain(address)
                created_lead = lead_capture(fields={
                    "first_name": first[:100], "last_name": last[:100], "email": address,
                    "company": domain.rsplit(".", 1)[0].replace("-", " ").title()[:200] if domain else "",
                    "notes": f"{subject}\n\n{body}".strip()[:BODY_MAX], "source": LeadSource.EMAIL,
                })
            ProcessedEmail.objects.create(message_id=key, lead=created_lead or lead)
    except IntegrityError:
        # Another reader stored this Message-ID first: its transaction did the work.
        return "seen"
    return outcome


def read_mailbox(path: str | Path) -> Iterator[Message]:
    """Messages of a maildir (a directory with cur/new/tmp) or an mbox file."""
    path = Path(path)
    box: mailbox.Mailbox = mailbox.Maildir(str(path), create=False) if path.is_dir() else mailbox.mbox(
        str(path), create=False
    )
    try:
        for key in box.iterkeys():
            try:
                yield box[key]
            except (UnicodeDecodeError, ValueError):
                logger.warning("unreadable message %s in %s", key, path)
    finally:
        box.close()


def imap_configured() -> bool:
    return all(_imap_setting(name) for name in ("IMAP_HOST", "IMAP_USER", "IMAP_PASSWORD"))


def _imap_setting(name: str, default: str = "") -> str:
    return str(getattr(settings, name, "") or os.environ.get(name, default))


def read_imap(*, folder: str | None = None) -> Iterator[Message]:
    """Unseen messages of the configured IMAP folder (IMAP_HOST, IMAP_USER, IMAP_PASSWORD, IMAP_FOLDER)."""
    client = imaplib.IMAP4_SSL(_imap_setting("IMAP_HOST"), int(_imap_setting("IMAP_PORT", "993")))
    try:
        client.login(_imap_setting("IMAP_USER"), _imap_setting("IMAP_PASSWORD"))
        client.select(folder or _imap_setting("IMAP_FOLDER", "INBOX"))
        _status, data = client.search(None, "UNSEEN")
        for number in (data[0] or b"").split():
            _status, parts = client.fetch(number, "(RFC822)")
            for part in parts:
                if isinstance(part, tuple):
                    yield email.message_from_bytes(part[1])
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
