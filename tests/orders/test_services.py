"""orders.services: accepting a quote (exactly one order), fulfilment and cancellation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_fsm_log.models import StateLog
from djmoney.money import Money

from crm.workflow import DomainError, TransitionError
from invoices.services import invoice_create_from_order
from opportunities.models import OpportunityState
from opportunities.services import opportunity_win
from orders.models import Order, OrderLine, OrderState
from orders.services import (
    order_cancel,
    order_create_from_quote,
    order_fulfil,
    order_start_fulfilment,
    order_update,
)
from quotes.models import Quote, QuoteState
from quotes.services import quote_cancel, quote_line_add, quote_reject, quote_send
from tests import factories

pytestmark = pytest.mark.django_db


def confirmed(owner) -> Order:
    return factories.order(owner=owner)


def in_fulfilment(owner) -> Order:
    return order_start_fulfilment(order=factories.order(owner=owner), actor=owner)


def fulfilled(owner) -> Order:
    return factories.order(owner=owner, fulfilled=True)


def cancelled(owner) -> Order:
    return order_cancel(order=factories.order(owner=owner), actor=owner, reason="customer withdrew")


def snapshot(order: Order) -> tuple:
    order.refresh_from_db()
    return (order.state, order.fulfilled_at, order.cancelled_at, order.cancel_reason,
            StateLog.objects.for_(order).count())


# --- accept: quote → order ----------------------------------------------------------------------

def test_accept_creates_one_order_with_copied_lines_and_totals_and_wins_the_deal(seller, team):
    quote = factories.quote(owner=seller, lines=1)
    quote_line_add(
        quote=quote, actor=seller, description="Setup", unit_price=Decimal("49.995"), quantity=Decimal("2"),
        discount_percent=Decimal("5"), tax_rate=factories.TaxRateFactory(percent=Decimal("7")),
    )
    quote = quote_send(quote=quote, actor=seller)

    order = order_create_from_quote(quote=quote, actor=seller)

    assert Order.objects.count() == 1
    assert order.state == OrderState.CONFIRMED
    assert order.number.startswith("SO-")
    assert (order.quote, order.opportunity, order.account, order.contact) == (
        quote, quote.opportunity, quote.account, quote.contact
    )
    assert (order.owner, order.team, order.currency, order.order_date) == (seller, team, "EUR", timezone.localdate())
    assert (order.net_total, order.tax_total, order.gross_total) == (
        quote.net_total, quote.tax_total, quote.gross_total
    )
    assert order.billing_address.startswith(quote.account.name)
    copied = ["position", "product_id", "description", "quantity", "unit", "unit_price", "discount_percent",
              "tax_rate_id", "tax_percent", "tax_category", "net"]
    assert [[getattr(line, f) for f in copied] for line in order.lines.all()] == [
        [getattr(line, f) for f in copied] for line in quote.lines.all()
    ]
    quote.refresh_from_db()
    assert quote.state == QuoteState.ACCEPTED
    assert quote.decided_at is not None
    opportunity = quote.opportunity
    opportunity.refresh_from_db()
    assert opportunity.state == OpportunityState.WON
    log = StateLog.objects.for_(opportunity).get()
    assert (log.transition, log.by, log.description) == ("win", seller, f"Quote {quote.number} accepted")


def test_the_order_keeps_its_copy_when_the_catalog_changes(seller):
    order = confirmed(seller)
    line = order.lines.first()
    product = line.product
    product.price = Money("999.00", "EUR")
    product.save()
    line.refresh_from_db()
    assert line.unit_price == Money("100.00", "EUR")


def test_accept_twice_returns_the_same_order(seller):
    quote = factories.quote(owner=seller, sent=True)

    first = order_create_from_quote(quote=quote, actor=seller)
    second = order_create_from_quote(quote=quote, actor=seller)

    assert first == second
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 2
    assert StateLog.objects.for_(quote).filter(transition="accept").count() == 1


def test_accepting_a_quote_whose_deal_was_already_won_by_hand(seller):
    quote = factories.quote(owner=seller, sent=True)
    opportunity_win(opportunity=quote.opportunity, actor=seller)

    order = order_create_from_quote(quote=quote, actor=seller)

    assert order.opportunity.state == OpportunityState.WON
    assert StateLog.objects.for_(quote.opportunity).count() == 1


def test_accepting_a_quote_past_its_validity_date_is_refused(seller):
    quote = factories.quote(owner=seller, sent=True)
    yesterday = timezone.localdate() - timedelta(days=1)
    Quote.objects.filter(pk=quote.pk).update(valid_until=yesterday)

    with pytest.raises(DomainError, match="expired on"):
        order_create_from_quote(quote=quote, actor=seller)

    assert not Order.objects.exists()
    quote.refresh_from_db()
    assert quote.state == QuoteState.SENT
    assert quote.opportunity.state == OpportunityState.OPEN


def test_accepting_on_the_last_valid_day_is_allowed(seller):
    quote = factories.quote(owner=seller, sent=True)
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate())
    assert order_create_from_quote(quote=quote, actor=seller).state == OrderState.CONFIRMED


@pytest.mark.parametrize(
    "make",
    [
        lambda owner: factories.quote(owner=owner),  # draft
        lambda owner: quote_reject(quote=factories.quote(owner=owner, sent=True), actor=owner),
        lambda owner: quote_cancel(quote=factories.quote(owner=owner), actor=owner),
    ],
    ids=["draft", "rejected", "cancelled"],
)
def test_accepting_a_quote_that_is_not_sent_is_refused(seller, make):
    quote = make(seller)
    state = quote.state

    with pytest.raises(TransitionError, match="Accept"):
        order_create_from_quote(quote=quote, actor=seller)

    assert not Order.objects.exists()
    quote.refresh_from_db()
    assert quote.state == state
    assert quote.opportunity.state == OpportunityState.OPEN


# --- fulfilment ---------------------------------------------------------------------------------

def test_start_fulfilment_of_a_confirmed_order(seller):
    order = order_start_fulfilment(order=confirmed(seller), actor=seller)
    assert order.state == OrderState.IN_FULFILMENT
    log = StateLog.objects.for_(order).get()
    assert (log.source_state, log.state, log.by) == ("confirmed", "in_fulfilment", seller)


@pytest.mark.parametrize("make", [in_fulfilment, fulfilled, cancelled])
def test_start_fulfilment_is_refused_unless_confirmed(seller, make):
    order = make(seller)
    before = snapshot(order)
    with pytest.raises(TransitionError, match="Start fulfilment"):
        order_start_fulfilment(order=order, actor=seller)
    assert snapshot(order) == before


@pytest.mark.parametrize("make", [confirmed, in_fulfilment])
def test_fulfil_a_confirmed_or_running_order(seller, make):
    order = make(seller)
    source = order.state

    order = order_fulfil(order=order, actor=seller)

    assert order.state == OrderState.FULFILLED
    assert order.fulfilled_at is not None
    assert StateLog.objects.for_(order).latest("pk").source_state == source


@pytest.mark.parametrize("make", [fulfilled, cancelled])
def test_fulfil_is_refused_for_a_closed_order(seller, make):
    order = make(seller)
    before = snapshot(order)
    with pytest.raises(TransitionError, match="Mark fulfilled"):
        order_fulfil(order=order, actor=seller)
    assert snapshot(order) == before


# --- cancel -------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [confirmed, in_fulfilment])
def test_cancel_an_open_order_with_a_reason(seller, make):
    order = order_cancel(order=make(seller), actor=seller, reason="Customer withdrew")

    assert order.state == OrderState.CANCELLED
    assert order.cancel_reason == "Customer withdrew"
    assert order.cancelled_at is not None
    assert StateLog.objects.for_(order).latest("pk").description == "Customer withdrew"


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancel_needs_a_reason_and_writes_nothing_without(seller, reason):
    order = confirmed(seller)
    before = snapshot(order)

    with pytest.raises(DomainError, match="Say why"):
        order_cancel(order=order, actor=seller, reason=reason)

    assert snapshot(order) == before


@pytest.mark.parametrize("make", [fulfilled, cancelled])
def test_cancel_is_refused_for_a_closed_order(seller, make):
    order = make(seller)
    before = snapshot(order)
    with pytest.raises(TransitionError, match="Cancel order"):
        order_cancel(order=order, actor=seller, reason="too late")
    assert snapshot(order) == before


def test_cancelling_an_invoiced_order_is_refused(seller):
    order = fulfilled(seller)
    invoice_create_from_order(order=order, actor=seller)
    before = snapshot(order)

    with pytest.raises(DomainError, match="has been invoiced"):
        order_cancel(order=order, actor=seller, reason="customer withdrew")

    assert snapshot(order) == before


# --- edit ---------------------------------------------------------------------------------------

def test_update_an_open_order(seller):
    order = order_update(order=confirmed(seller), actor=seller, customer_reference="PO-4711")
    order.refresh_from_db()
    assert order.customer_reference == "PO-4711"


@pytest.mark.parametrize("make", [fulfilled, cancelled])
def test_update_of_a_closed_order_is_refused(seller, make):
    order = make(seller)
    with pytest.raises(DomainError, match="cannot be edited"):
        order_update(order=order, actor=seller, customer_reference="PO-4711")
    order.refresh_from_db()
    assert order.customer_reference == ""


def test_update_of_a_non_editable_field_is_refused(seller):
    order = confirmed(seller)
    with pytest.raises(ValueError, match="currency"):
        order_update(order=order, actor=seller, currency="USD")
