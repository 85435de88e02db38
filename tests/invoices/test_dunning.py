"""The overdue sweep sends reminders once per dunning level, set-based, e-mailed after commit."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from invoices.models import DunningLevel, DunningNotice, InvoiceState
from invoices.services import invoice_issue, invoices_sweep_overdue
from tests import factories

pytestmark = pytest.mark.django_db


def issued_days_ago(owner, days: int):
    invoice = factories.invoice(owner=owner)
    invoice.account.email = "ap@customer.example"
    invoice.account.save()
    # 14 days of payment terms: due `days - 14` days ago.
    return invoice_issue(invoice=invoice, actor=factories.accountant(),
                         issue_date=timezone.localdate() - timedelta(days=days))


def test_default_levels_exist():
    assert list(DunningLevel.objects.values_list("level", "days_after_due")) == [(1, 7), (2, 21), (3, 35)]


def test_reminders_are_sent_once_per_level(seller, django_capture_on_commit_callbacks):
    invoice = issued_days_ago(seller, 14 + 8)  # 8 days past due: level 1
    today = timezone.localdate()

    with django_capture_on_commit_callbacks(execute=True):
        invoices_sweep_overdue(today=today)
    with django_capture_on_commit_callbacks(execute=True):
        invoices_sweep_overdue(today=today)  # twice: nothing new

    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.OVERDUE
    notice = DunningNotice.objects.get()
    assert notice.level.level == 1 and notice.sent_at and notice.sent_to == "ap@customer.example"
    assert len(mail.outbox) == 1
    assert invoice.number in mail.outbox[0].subject and "238.00" in mail.outbox[0].body

    with django_capture_on_commit_callbacks(execute=True):
        invoices_sweep_overdue(today=today + timedelta(days=14))  # 22 days past due: level 2
    assert sorted(DunningNotice.objects.values_list("level__level", flat=True)) == [1, 2]
    assert len(mail.outbox) == 2


def test_an_invoice_found_late_gets_only_the_level_it_reached(seller, django_capture_on_commit_callbacks):
    issued_days_ago(seller, 14 + 40)
    with django_capture_on_commit_callbacks(execute=True):
        invoices_sweep_overdue()
    assert list(DunningNotice.objects.values_list("level__level", flat=True)) == [3]


def test_paid_and_not_yet_due_invoices_get_no_reminder(seller):
    issued_days_ago(seller, 14 + 3)  # overdue but before level 1
    invoices_sweep_overdue()
    assert not DunningNotice.objects.exists()


def test_the_database_refuses_a_second_notice_of_a_level(seller):
    invoice = issued_days_ago(seller, 30)
    level = DunningLevel.objects.get(level=1)
    DunningNotice.objects.create(invoice=invoice, level=level)
    with pytest.raises(IntegrityError), transaction.atomic():
        DunningNotice.objects.create(invoice=invoice, level=level)


def test_reminders_are_created_set_based(seller, django_assert_max_num_queries):
    for _ in range(5):
        issued_days_ago(seller, 14 + 8)
    with django_assert_max_num_queries(20):
        invoices_sweep_overdue()
    assert DunningNotice.objects.count() == 5


def test_sweep_command_reports_reminders_and_sends_them(seller):
    issued_days_ago(seller, 14 + 8)
    out = StringIO()
    call_command("sweep_overdue", stdout=out)
    assert "1 invoice(s) marked overdue" in out.getvalue() and "1 reminder(s) created, 1 e-mailed" in out.getvalue()
    assert len(mail.outbox) == 1


def test_reminders_are_shown_on_the_invoice(seller, seller_client):
    invoice = issued_days_ago(seller, 14 + 8)
    call_command("sweep_overdue", stdout=StringIO())
    page = seller_client.get(invoice.get_absolute_url()).content.decode()
    assert "Payment reminders" in page and "ap@customer.example" in page
