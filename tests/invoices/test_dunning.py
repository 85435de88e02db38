"""The overdue sweep sends reminders once per dunning level, set-based, e-mailed after commit."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from invoices.models import DunningLevel, DunningNotice, Invoice, InvoiceState
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


def test_a_reminder_is_shown_as_waiting_until_it_is_e_mailed(seller, seller_client):
    invoice = issued_days_ago(seller, 14 + 8)
    invoices_sweep_overdue()  # created, not e-mailed yet (that runs after commit)

    page = seller_client.get(invoice.get_absolute_url()).content.decode()

    assert "waiting to be e-mailed" in page
    assert "Payment reminder (level 1) due, waiting to be e-mailed" in page
    assert "sent to" not in page


def test_a_reminder_for_a_customer_without_e_mail_says_it_was_not_sent(seller, seller_client):
    invoice = issued_days_ago(seller, 14 + 8)
    invoice.account.email = ""
    invoice.account.save()
    invoice.buyer = {**invoice.buyer, "email": ""}
    Invoice.objects.filter(pk=invoice.pk).update(buyer=invoice.buyer)
    call_command("sweep_overdue", stdout=StringIO())

    page = seller_client.get(invoice.get_absolute_url()).content.decode()

    assert len(mail.outbox) == 0
    assert "Payment reminder (level 1) not e-mailed: the customer has no e-mail address" in page
    assert ": the customer has no e-mail address" in page[page.index('data-testid="dunning"'):]
    assert "sent to" not in page


def test_one_sweep_gives_each_invoice_its_highest_level_in_one_statement(seller, django_assert_max_num_queries):
    invoices = {days: issued_days_ago(seller, 14 + days) for days in (3, 8, 25, 40)}
    with django_assert_max_num_queries(20):
        invoices_sweep_overdue()
    levels = dict(DunningNotice.objects.values_list("invoice_id", "level__level"))
    assert levels == {invoices[8].pk: 1, invoices[25].pk: 2, invoices[40].pk: 3}
    assert DunningNotice.objects.count() == 3


def test_an_invoice_never_gets_a_lower_level_than_it_already_has(seller):
    invoice = issued_days_ago(seller, 14 + 25)  # 25 days past due: level 2 reached
    invoices_sweep_overdue()
    # Someone sent the final reminder early, by hand: the sweep must not add the level 2 it skipped.
    DunningNotice.objects.filter(invoice=invoice).delete()
    DunningNotice.objects.create(invoice=invoice, level=DunningLevel.objects.get(level=3))
    invoices_sweep_overdue()
    assert list(DunningNotice.objects.values_list("level__level", flat=True)) == [3]


def test_a_later_level_is_added_beside_the_earlier_ones_and_a_rerun_adds_nothing(seller):
    invoice = issued_days_ago(seller, 14 + 8)
    today = timezone.localdate()
    invoices_sweep_overdue(today=today)
    invoices_sweep_overdue(today=today + timedelta(days=30))  # 38 days past due: level 3, level 2 skipped
    invoices_sweep_overdue(today=today + timedelta(days=30))
    assert list(DunningNotice.objects.filter(invoice=invoice).values_list("level__level", flat=True)) == [1, 3]


def test_the_highest_level_reached_wins_even_when_levels_are_not_in_day_order(seller):
    # A misconfiguration (level 2 before level 1): the invoice gets the highest level whose day has come.
    DunningLevel.objects.filter(level=2).update(days_after_due=5)
    issued_days_ago(seller, 14 + 6)  # 6 days past due: level 2's day, not yet level 1's
    invoices_sweep_overdue()
    assert list(DunningNotice.objects.values_list("level__level", flat=True)) == [2]


def test_invoices_not_yet_due_get_no_reminder(seller):
    issued_days_ago(seller, 14 + 40)
    fresh = issued_days_ago(seller, 5)  # not due yet
    invoices_sweep_overdue()
    assert DunningNotice.objects.count() == 1
    assert not DunningNotice.objects.filter(invoice=fresh).exists()


def test_without_levels_the_sweep_only_marks_overdue(seller):
    invoice = issued_days_ago(seller, 14 + 40)
    DunningLevel.objects.all().delete()
    assert invoices_sweep_overdue() == 1
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.OVERDUE and not DunningNotice.objects.exists()
