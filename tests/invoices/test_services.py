"""invoices.services: draft from a fulfilled order, issue (legal number), payments, the overdue sweep."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_fsm_log.models import StateLog
from djmoney.money import Money

from crm.models import Sequence
from crm.workflow import DomainError, TransitionError
from invoices.models import CustomerCredit, Invoice, InvoiceLine, InvoiceState, Payment
from invoices.services import invoice_create_from_order, invoice_issue, invoices_sweep_overdue, payment_record
from orders.services import order_cancel, order_start_fulfilment
from tests import factories

pytestmark = pytest.mark.django_db

EUR = "EUR"
GROSS = Money("238.00", EUR)  # two lines of 100.00 at 19 %


def eur(amount: str) -> Money:
    return Money(amount, EUR)


def today():
    return timezone.localdate()


def draft(owner) -> Invoice:
    return factories.invoice(owner=owner)


def issued(owner, **kwargs) -> Invoice:
    return invoice_issue(invoice=factories.invoice(owner=owner), actor=factories.accountant(), **kwargs)


def partially_paid(owner, **kwargs) -> Invoice:
    invoice = issued(owner, **kwargs)
    payment_record(invoice=invoice, actor=factories.accountant(), amount=eur("38.00"))
    invoice.refresh_from_db()
    return invoice


def paid(owner) -> Invoice:
    invoice = issued(owner)
    payment_record(invoice=invoice, actor=factories.accountant(), amount=GROSS)
    invoice.refresh_from_db()
    return invoice


def overdue(owner) -> Invoice:
    invoice = issued(owner, issue_date=today() - timedelta(days=30))
    invoices_sweep_overdue()
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.OVERDUE
    return invoice


def snapshot(invoice: Invoice) -> tuple:
    invoice.refresh_from_db()
    return (invoice.state, invoice.number, invoice.issue_date, invoice.amount_paid, invoice.paid_at,
            invoice.payments.count(), StateLog.objects.for_(invoice).count())


# --- create from an order -----------------------------------------------------------------------

def test_create_drafts_an_invoice_from_a_fulfilled_order(seller, team, settings):
    settings.SALESFLOW_PAYMENT_TERMS_DAYS = 30
    order = factories.order(owner=seller, fulfilled=True)

    invoice = invoice_create_from_order(order=order, actor=seller)

    assert invoice.state == InvoiceState.DRAFT
    assert invoice.number is None  # drafts have no legal number
    assert not Sequence.objects.filter(series="INV").exists()
    assert (invoice.order, invoice.account, invoice.owner, invoice.team) == (order, order.account, seller, team)
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (eur("200.00"), eur("38.00"), GROSS)
    assert invoice.amount_paid == eur("0")
    assert invoice.payment_terms_days == 30
    assert invoice.billing_address == order.billing_address
    assert [(line.description, line.net) for line in invoice.lines.all()] == [
        (line.description, line.net) for line in order.lines.all()
    ]
    assert not invoice.is_open


def test_create_twice_returns_the_same_invoice(seller):
    order = factories.order(owner=seller, fulfilled=True)

    first = invoice_create_from_order(order=order, actor=seller)
    second = invoice_create_from_order(order=order, actor=seller)

    assert first == second
    assert Invoice.objects.count() == 1
    assert InvoiceLine.objects.count() == 2


@pytest.mark.parametrize(
    "make",
    [
        lambda owner: factories.order(owner=owner),
        lambda owner: order_start_fulfilment(order=factories.order(owner=owner), actor=owner),
        lambda owner: order_cancel(order=factories.order(owner=owner), actor=owner, reason="withdrawn"),
    ],
    ids=["confirmed", "in_fulfilment", "cancelled"],
)
def test_create_is_refused_unless_the_order_is_fulfilled(seller, make):
    order = make(seller)

    with pytest.raises(DomainError, match="invoice it once it is fulfilled|is cancelled and cannot be invoiced"):
        invoice_create_from_order(order=order, actor=seller)

    assert not Invoice.objects.exists()


# --- issue --------------------------------------------------------------------------------------

def test_issue_assigns_number_dates_and_due_date(seller, django_capture_on_commit_callbacks):
    invoice = draft(seller)

    with django_capture_on_commit_callbacks() as callbacks:
        invoice = invoice_issue(invoice=invoice, actor=factories.accountant())

    assert invoice.state == InvoiceState.ISSUED
    assert invoice.number == f"INV-{today().year}-00001"
    assert invoice.issue_date == today()
    assert invoice.due_date == today() + timedelta(days=14)
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total, invoice.amount_paid) == (
        eur("200.00"), eur("38.00"), GROSS, eur("0")
    )
    assert invoice.is_open and not invoice.is_overdue
    assert invoice.balance_due == GROSS
    log = StateLog.objects.for_(invoice).get()
    assert (log.source_state, log.state, log.by) == ("draft", "issued", factories.accountant())
    assert len(callbacks) == 1  # the PDF is rendered after commit
    assert str(invoice) == invoice.number


def test_issue_dates_follow_the_given_issue_date_and_terms(seller):
    invoice = draft(seller)
    Invoice.objects.filter(pk=invoice.pk).update(payment_terms_days=30)
    issue_date = today().replace(month=1, day=10)

    invoice = invoice_issue(invoice=invoice, actor=factories.accountant(), issue_date=issue_date)

    assert invoice.issue_date == issue_date
    assert invoice.due_date == issue_date + timedelta(days=30)
    assert invoice.number == f"INV-{issue_date.year}-00001"


def test_issued_numbers_are_sequential(seller):
    numbers = [issued(seller).number for _ in range(3)]
    year = today().year
    assert numbers == [f"INV-{year}-00001", f"INV-{year}-00002", f"INV-{year}-00003"]


def test_issue_freezes_totals_recomputed_from_the_lines(seller):
    invoice = draft(seller)
    Invoice.objects.filter(pk=invoice.pk).update(gross_total=eur("1.00"))  # a stale total must not be issued
    invoice = invoice_issue(invoice=invoice, actor=factories.accountant())
    invoice.refresh_from_db()
    assert invoice.gross_total == GROSS


@pytest.mark.parametrize("make", [issued, partially_paid, paid, overdue])
def test_issue_is_refused_unless_draft_and_takes_no_number(seller, make, django_capture_on_commit_callbacks):
    invoice = make(seller)
    before = snapshot(invoice)
    last = Sequence.objects.get(series="INV").last_value

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(TransitionError, match="Issue"):
        invoice_issue(invoice=invoice, actor=factories.accountant())

    assert snapshot(invoice) == before
    assert Sequence.objects.get(series="INV").last_value == last
    assert callbacks == []


def test_issue_without_lines_is_refused_and_takes_no_number(seller):
    invoice = draft(seller)
    invoice.lines.all().delete()

    with pytest.raises(DomainError, match="at least one line"):
        invoice_issue(invoice=invoice, actor=factories.accountant())

    invoice.refresh_from_db()
    assert (invoice.state, invoice.number) == (InvoiceState.DRAFT, None)
    assert not Sequence.objects.filter(series="INV", last_value__gt=0).exists()


def test_an_issued_invoice_cannot_be_changed(seller):
    invoice = issued(seller)
    invoice.full_clean()  # unchanged: fine

    invoice.gross_total = eur("1.00")
    with pytest.raises(ValidationError, match="credit note"):
        invoice.full_clean()

    invoice = Invoice.objects.get(pk=invoice.pk)
    invoice.billing_address = "Somewhere else"
    with pytest.raises(ValidationError):
        invoice.full_clean()


def test_a_draft_can_still_be_changed(seller):
    invoice = draft(seller)
    invoice.billing_address = "Somewhere else"
    invoice.full_clean()


# --- payments -----------------------------------------------------------------------------------

def test_a_part_payment_makes_the_invoice_partially_paid(seller):
    invoice = issued(seller)

    payment = payment_record(invoice=invoice, actor=factories.accountant(), amount=eur("100.005"), reference="bank 1")

    assert payment.amount == eur("100.01")  # quantized half-up
    assert (payment.recorded_by, payment.received_on, payment.reference) == (factories.accountant(), today(), "bank 1")
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PARTIALLY_PAID
    assert invoice.amount_paid == eur("100.01")
    assert invoice.balance_due == eur("137.99")
    assert invoice.is_open
    assert invoice.paid_at is None
    assert StateLog.objects.for_(invoice).latest("pk").description == str(payment.amount)


def test_paying_the_balance_makes_the_invoice_paid(seller):
    invoice = partially_paid(seller)

    payment_record(invoice=invoice, actor=factories.accountant(), amount=eur("200.00"))

    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID
    assert invoice.amount_paid == GROSS
    assert invoice.balance_due == eur("0")
    assert invoice.paid_at is not None
    assert not invoice.is_open
    assert invoice.payments.count() == 2


def test_a_full_payment_at_once(seller):
    invoice = issued(seller)
    payment_record(invoice=invoice, actor=factories.accountant(), amount=GROSS)
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID
    assert [log.transition for log in StateLog.objects.for_(invoice).order_by("pk")] == ["issue", "settle"]


@pytest.mark.parametrize(("amount", "state"), [("38.00", "partially_paid"), ("238.00", "paid")])
def test_an_overdue_invoice_can_still_be_paid(seller, amount, state):
    invoice = overdue(seller)
    payment_record(invoice=invoice, actor=factories.accountant(), amount=eur(amount))
    invoice.refresh_from_db()
    assert invoice.state == state


@pytest.mark.parametrize("make", [issued, partially_paid])
def test_over_payment_settles_and_holds_the_rest_as_customer_credit(seller, make):
    invoice = make(seller)
    too_much = invoice.balance_due + eur("12.34")

    payment_record(invoice=invoice, actor=factories.accountant(), amount=too_much)

    invoice.refresh_from_db()
    assert invoice.state == "paid"
    assert invoice.balance_due == eur("0.00")
    assert invoice.amount_paid == invoice.gross_total
    credit = CustomerCredit.objects.get()
    assert credit.amount == eur("12.34") and credit.account == invoice.account


def test_a_payment_in_another_currency_is_refused(seller):
    invoice = issued(seller)
    before = snapshot(invoice)

    with pytest.raises(DomainError, match="a payment in USD cannot be booked"):
        payment_record(invoice=invoice, actor=factories.accountant(), amount=Money("238.00", "USD"))

    assert snapshot(invoice) == before


@pytest.mark.parametrize("amount", ["0", "0.004", "-10"])
def test_a_payment_must_be_greater_than_zero(seller, amount):
    invoice = issued(seller)
    before = snapshot(invoice)

    with pytest.raises(DomainError, match="greater than zero"):
        payment_record(invoice=invoice, actor=factories.accountant(), amount=eur(amount))

    assert snapshot(invoice) == before


@pytest.mark.parametrize("make", [draft, paid])
def test_payments_are_refused_unless_the_invoice_is_open(seller, make):
    invoice = make(seller)
    before = snapshot(invoice)

    with pytest.raises(DomainError, match="payments can only be recorded on issued invoices"):
        payment_record(invoice=invoice, actor=factories.accountant(), amount=eur("10.00"))

    assert snapshot(invoice) == before
    assert not Payment.objects.filter(invoice=invoice).exists() or invoice.state == InvoiceState.PAID


# --- overdue sweep ------------------------------------------------------------------------------

def test_sweep_marks_only_open_invoices_past_their_due_date(seller):
    long_ago = today() - timedelta(days=30)
    past_issued = issued(seller, issue_date=long_ago)
    past_part_paid = partially_paid(seller, issue_date=long_ago)
    due_today = issued(seller, issue_date=today() - timedelta(days=14))
    current = issued(seller)
    past_paid = issued(seller, issue_date=long_ago)
    payment_record(invoice=past_paid, actor=factories.accountant(), amount=GROSS)
    a_draft = draft(seller)

    assert invoices_sweep_overdue() == 2

    states = dict(Invoice.objects.values_list("pk", "state"))
    assert states[past_issued.pk] == states[past_part_paid.pk] == InvoiceState.OVERDUE
    assert states[due_today.pk] == states[current.pk] == InvoiceState.ISSUED
    assert states[past_paid.pk] == InvoiceState.PAID
    assert states[a_draft.pk] == InvoiceState.DRAFT
    log = StateLog.objects.for_(past_part_paid).latest("pk")
    assert (log.transition, log.source_state, log.state, log.by) == ("mark_overdue", "partially_paid", "overdue", None)
    past_issued.refresh_from_db()
    assert past_issued.is_overdue and past_issued.is_open


def test_sweep_is_idempotent(seller):
    invoice = issued(seller, issue_date=today() - timedelta(days=30))

    assert invoices_sweep_overdue() == 1
    logs = StateLog.objects.count()
    assert invoices_sweep_overdue() == 0

    assert StateLog.objects.count() == logs
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.OVERDUE


def test_sweep_on_a_given_day(seller):
    invoice = issued(seller)  # due in 14 days
    assert invoices_sweep_overdue(today=invoice.due_date) == 0
    assert invoices_sweep_overdue(today=invoice.due_date + timedelta(days=1)) == 1


def test_amounts_stay_decimal(seller):
    invoice = issued(seller)
    assert isinstance(invoice.gross_total.amount, Decimal)
    assert isinstance(invoice.balance_due.amount, Decimal)
