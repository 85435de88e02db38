"""E-mail ingest from a generated mbox and maildir (and IMAP at unit level)."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from crm.models import Activity, ActivityKind
from leads import ingest
from leads.models import AssignmentRule, Lead, LeadSource, ProcessedEmail
from tests import factories

pytestmark = pytest.mark.django_db


def message(sender: str, subject: str = "Inquiry", body: str = "Please send an offer.", msg_id: str | None = None,
            charset: str = "utf-8") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "sales@salesflow.example"
    msg["Subject"] = subject
    if msg_id:
        msg["Message-ID"] = msg_id
    msg.set_content(body, charset=charset)
    return msg


@pytest.fixture
def assigned(team, seller):
    AssignmentRule.objects.create(name="Inbox", team=team)
    return seller


def write_mbox(path, messages) -> str:
    box = mailbox.mbox(str(path))
    for msg in messages:
        box.add(msg)
    box.flush()
    box.close()
    return str(path)


def test_mbox_creates_leads_and_activities_and_is_idempotent(tmp_path, assigned, seller, capsys):
    known_lead = factories.lead(owner=seller, last_name="Known", email="known@customer.example")
    contact = factories.ContactFactory(email="buyer@account.example")
    path = write_mbox(tmp_path / "inbox.mbox", [
        message('"Jörg Müller" <Joerg.Mueller@mueller-bau.example>', "Angebot für 20 Lizenzen", "Hallo …",
                "<1@x>"),
        message("known@customer.example", "Re: our call", "Thanks!", "<2@x>"),
        message("Buyer <BUYER@account.example>", "Invoice question", "Where is it?", "<3@x>"),
        message("no-sender", "junk", "x", "<4@x>"),
    ])

    call_command("ingest_email", path)
    call_command("ingest_email", path)

    out = capsys.readouterr().out
    assert "created 1 leads, 2 activities; 0 already ingested, 1 without sender" in out
    assert "created 0 leads, 0 activities; 4 already ingested" in out
    new = Lead.objects.get(email="joerg.mueller@mueller-bau.example")
    assert (new.first_name, new.last_name, new.company, new.source, new.owner) == (
        "Jörg", "Müller", "Mueller Bau", LeadSource.EMAIL, seller)
    assert "Angebot für 20 Lizenzen" in new.notes
    on_lead = Activity.objects.get(object_id=known_lead.pk, subject="Re: our call")
    assert on_lead.kind == ActivityKind.EMAIL and on_lead.body.strip() == "Thanks!"
    assert Activity.objects.filter(object_id=contact.pk, subject="Invoice question").exists()
    assert ProcessedEmail.objects.count() == 4
    known_lead.refresh_from_db()
    assert known_lead.score >= 10  # an activity counts towards the score


def test_maildir_and_message_without_id_are_idempotent(tmp_path, assigned):
    box = mailbox.Maildir(str(tmp_path / "Maildir"))
    box.add(message("Ada Lovelace <ada@analytical.example>"))
    box.add(message('"Lovelace, Ada" <ada2@gmail.com>', body="Preis?", charset="iso-8859-1"))

    call_command("ingest_email", str(tmp_path / "Maildir"))
    call_command("ingest_email", str(tmp_path / "Maildir"))

    assert Lead.objects.count() == 2
    assert Lead.objects.get(email="ada2@gmail.com").company == ""  # free mail is not a company
    assert Lead.objects.get(email="ada2@gmail.com").first_name == "Ada"


def test_dry_run_writes_nothing(tmp_path, assigned, capsys):
    path = write_mbox(tmp_path / "inbox.mbox", [message("x@y.example", msg_id="<a@b>")])

    call_command("ingest_email", path, "--dry-run")

    assert "would create 1 leads" in capsys.readouterr().out
    assert not Lead.objects.exists() and not ProcessedEmail.objects.exists()


def test_nobody_to_assign_fails_non_zero_and_leaves_message_unprocessed(tmp_path):
    path = write_mbox(tmp_path / "inbox.mbox", [message("x@y.example", msg_id="<a@b>")])

    with pytest.raises(CommandError, match="1 failed"):
        call_command("ingest_email", path)

    assert not ProcessedEmail.objects.exists()  # retried on the next run


def test_without_path_or_imap_settings_the_command_explains(db):
    with pytest.raises(CommandError, match="IMAP_HOST"):
        call_command("ingest_email")


def test_imap_reads_unseen_messages(monkeypatch, settings, assigned):
    settings.IMAP_HOST, settings.IMAP_USER, settings.IMAP_PASSWORD = "imap.example", "sales", "secret"
    raw = message("Imap Person <imap@person.example>", msg_id="<imap@1>").as_bytes()
    calls = []

    class FakeImap:
        def __init__(self, host, port):
            calls.append(("connect", host, port))

        def login(self, user, password):
            calls.append(("login", user))

        def select(self, folder):
            calls.append(("select", folder))

        def search(self, charset, criterion):
            return "OK", [b"1"]

        def fetch(self, number, what):
            return "OK", [(b"1 (RFC822 {n}", raw), b")"]

        def logout(self):
            calls.append(("logout",))

    monkeypatch.setattr(ingest.imaplib, "IMAP4_SSL", FakeImap)

    call_command("ingest_email")

    assert Lead.objects.get().email == "imap@person.example"
    assert calls == [("connect", "imap.example", 993), ("login", "sales"), ("select", "INBOX"), ("logout",)]
