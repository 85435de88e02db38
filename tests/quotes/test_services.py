"""quotes.services: creation, line editing and totals while draft, send, reject, cancel."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_fsm_log.models import StateLog
from djmoney.money import Money

from crm.workflow import DomainError, TransitionError
from opportunities.services import opportunity_lose, opportunity_win
from orders.services import order_create_from_quote
from quotes.models import Quote, QuoteLine, QuoteState
from quotes.services import (
    quote_cancel,
    quote_create_from_opportunity,
    quote_line_add,
    quote_line_remove,
    quote_reject,
    quote_send,
    quote_update,
)
from tests import factories

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def draft(seller) -> Quote:
    return factories.quote(owner=seller, lines=0)


@pytest.fixture
def vat19(db):
    return factories.TaxRateFactory(name="VAT 19", percent=D("19"))


@pytest.fixture
def vat7(db):
    return factories.TaxRateFactory(name="VAT 7", percent=D("7"))


def sent(owner) -> Quote:
    return factories.quote(owner=owner, sent=True)


def rejected(owner) -> Quote:
    return quote_reject(quote=sent(owner), actor=owner, reason="too expensive")


def cancelled(owner) -> Quote:
    return quote_cancel(quote=factories.quote(owner=owner, lines=0), actor=owner)


def accepted(owner) -> Quote:
    return order_create_from_quote(quote=sent(owner), actor=owner).quote


def snapshot(quote: Quote) -> tuple:
    quote.refresh_from_db()
    return (quote.state, quote.net_total, quote.gross_total, quote.lines.count(), StateLog.objects.for_(quote).count())


# --- create -------------------------------------------------------------------------------------

def test_create_from_an_open_opportunity(seller, team, settings):
    settings.SALESFLOW_QUOTE_VALIDITY_DAYS = 21
    opportunity = factories.opportunity(owner=seller, amount="10", email="jane@customer.example")

    quote = quote_create_from_opportunity(opportunity=opportunity, actor=seller)

    assert quote.state == QuoteState.DRAFT
    assert quote.number.startswith("Q-")
    assert (quote.opportunity, quote.account, quote.contact) == (opportunity, opportunity.account, opportunity.contact)
    assert (quote.owner, quote.team, quote.currency) == (seller, team, "EUR")
    assert quote.valid_until == timezone.localdate() + timedelta(days=21)
    assert quote.title == opportunity.name
    assert quote.gross_total == Money(0, "EUR")


def test_a_quote_written_by_a_colleague_stays_owned_by_the_deal_owner(seller, teammate):
    quote = quote_create_from_opportunity(opportunity=factories.opportunity(owner=seller), actor=teammate)
    assert quote.owner == seller


@pytest.mark.parametrize("close", ["win", "lose"])
def test_create_from_a_closed_opportunity_is_refused(seller, close):
    # `opportunity` stays the instance loaded while it was open, like a page opened before the deal closed
    opportunity = factories.opportunity(owner=seller)
    if close == "win":
        opportunity_win(opportunity=opportunity, actor=seller)
    else:
        opportunity_lose(opportunity=opportunity, actor=seller, reason="price")

    with pytest.raises(DomainError, match="open opportunities"):
        quote_create_from_opportunity(opportunity=opportunity, actor=seller)

    assert not Quote.objects.exists()


# --- lines and totals ---------------------------------------------------------------------------

def test_adding_a_line_computes_its_net_and_the_quote_totals(seller, draft, vat19):
    product = factories.ProductFactory(price=Money("100.00", "EUR"), tax_rate=vat19, unit="h")

    line = quote_line_add(quote=draft, actor=seller, product=product, quantity=D("2"), discount_percent=D("10"))

    assert line.net == Money("180.00", "EUR")
    assert (line.description, line.unit, line.unit_price, line.position) == (product.name, "h", product.price, 1)
    assert (line.tax_rate, line.tax_percent, line.tax_category) == (vat19, D("19.00"), "S")
    draft.refresh_from_db()
    assert (draft.net_total, draft.tax_total, draft.gross_total) == (
        Money("180.00", "EUR"), Money("34.20", "EUR"), Money("214.20", "EUR")
    )


def test_totals_round_tax_once_per_rate_over_several_lines(seller, draft, vat19, vat7):
    for _ in range(3):  # per-line rounding would give 3 × 0.02 = 0.06
        quote_line_add(quote=draft, actor=seller, description="Sticker", unit_price=D("0.13"), tax_rate=vat19)
    quote_line_add(quote=draft, actor=seller, description="Book", unit_price=D("9.99"), tax_rate=vat7)

    draft.refresh_from_db()
    assert draft.net_total == Money("10.38", "EUR")
    assert draft.tax_total == Money("0.77", "EUR")  # 0.07 (19 % of 0.39) + 0.70 (7 % of 9.99)
    assert draft.gross_total == Money("11.15", "EUR")
    assert [line.position for line in draft.lines.all()] == [1, 2, 3, 4]


def test_a_line_with_its_own_price_and_description(seller, draft, vat19):
    line = quote_line_add(
        quote=draft, actor=seller, description="Consulting", quantity=D("1.5"), unit_price=D("80.005"), tax_rate=vat19
    )
    assert line.product is None
    assert line.net == Money("120.01", "EUR")  # 120.0075 half-up


def test_an_explicit_price_overrides_the_catalog_price(seller, draft):
    product = factories.ProductFactory(price=Money("100.00", "EUR"))
    line = quote_line_add(quote=draft, actor=seller, product=product, unit_price=D("90"))
    assert line.net == Money("90.00", "EUR")


def test_a_product_priced_in_another_currency_is_refused(seller, draft):
    product = factories.ProductFactory(price=Money("50.00", "USD"))

    with pytest.raises(DomainError, match="priced in USD"):
        quote_line_add(quote=draft, actor=seller, product=product)

    assert not QuoteLine.objects.exists()


@pytest.mark.parametrize("quantity", [D("0"), D("-1"), D("-0.001")])
def test_quantity_must_be_positive(seller, draft, quantity):
    with pytest.raises(DomainError, match="Quantity must be greater than zero"):
        quote_line_add(quote=draft, actor=seller, product=factories.ProductFactory(), quantity=quantity)
    assert not QuoteLine.objects.exists()


@pytest.mark.parametrize("discount", [D("100.01"), D("150"), D("-5")])
def test_discount_must_be_between_0_and_100(seller, draft, discount):
    with pytest.raises(DomainError, match="Discount must be between 0 and 100"):
        quote_line_add(quote=draft, actor=seller, product=factories.ProductFactory(), discount_percent=discount)
    assert not QuoteLine.objects.exists()


def test_a_line_needs_a_product_or_description_and_a_tax_rate(seller, draft, vat19):
    with pytest.raises(DomainError, match="product or a description"):
        quote_line_add(quote=draft, actor=seller, unit_price=D("1"), tax_rate=vat19)
    with pytest.raises(DomainError, match="tax rate"):
        quote_line_add(quote=draft, actor=seller, description="Free text", unit_price=D("1"))
    assert not QuoteLine.objects.exists()


def test_removing_a_line_recomputes_the_totals(seller):
    quote = factories.quote(owner=seller, lines=2)
    assert quote.gross_total == Money("238.00", "EUR")

    quote = quote_line_remove(line=quote.lines.first(), actor=seller)

    quote.refresh_from_db()
    assert (quote.net_total, quote.tax_total, quote.gross_total) == (
        Money("100.00", "EUR"), Money("19.00", "EUR"), Money("119.00", "EUR")
    )


def test_update_edits_a_draft(seller, draft):
    later = timezone.localdate() + timedelta(days=60)
    quote = quote_update(quote=draft, actor=seller, title="Offer", valid_until=later, notes="Thanks!")
    quote.refresh_from_db()
    assert (quote.title, quote.valid_until, quote.notes) == ("Offer", later, "Thanks!")


def test_update_of_a_non_editable_field_is_refused(seller, draft):
    with pytest.raises(ValueError, match="currency"):
        quote_update(quote=draft, actor=seller, currency="USD")
    draft.refresh_from_db()
    assert draft.currency == "EUR"


@pytest.mark.parametrize("make", [sent, rejected, accepted])
def test_nothing_can_be_edited_once_sent(seller, make):
    quote = make(seller)
    before = snapshot(quote)

    with pytest.raises(DomainError, match="only drafts can be edited"):
        quote_line_add(quote=quote, actor=seller, product=factories.ProductFactory())
    with pytest.raises(DomainError, match="only drafts can be edited"):
        quote_line_remove(line=quote.lines.first(), actor=seller)
    with pytest.raises(DomainError, match="only drafts can be edited"):
        quote_update(quote=quote, actor=seller, title="Changed")

    assert snapshot(quote) == before
    assert quote.title != "Changed"


# --- send ---------------------------------------------------------------------------------------

def test_send_marks_the_quote_sent_and_queues_the_pdf_after_commit(seller, django_capture_on_commit_callbacks):
    quote = factories.quote(owner=seller, lines=1)

    with django_capture_on_commit_callbacks() as callbacks:
        quote = quote_send(quote=quote, actor=seller)

    assert quote.state == QuoteState.SENT
    assert quote.sent_at is not None
    log = StateLog.objects.for_(quote).get()
    assert (log.source_state, log.state, log.by) == ("draft", "sent", seller)
    assert len(callbacks) == 1  # render_quote_pdf, only once the send is committed


def test_send_without_lines_is_refused_and_sends_nothing(seller, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(DomainError, match="at least one line"):
        quote_send(quote=draft, actor=seller)

    assert snapshot(draft)[0] == QuoteState.DRAFT
    assert StateLog.objects.for_(draft).count() == 0
    assert callbacks == []


def test_send_past_the_validity_date_is_refused(seller, django_capture_on_commit_callbacks):
    quote = factories.quote(owner=seller, lines=1)
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - timedelta(days=1))

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(DomainError, match="validity date"):
        quote_send(quote=quote, actor=seller)

    quote.refresh_from_db()
    assert quote.state == QuoteState.DRAFT
    assert quote.sent_at is None
    assert callbacks == []


def test_send_valid_until_today_is_allowed(seller):
    quote = factories.quote(owner=seller, lines=1)
    quote_update(quote=quote, actor=seller, valid_until=timezone.localdate())
    assert quote_send(quote=quote, actor=seller).state == QuoteState.SENT


@pytest.mark.parametrize("make", [sent, rejected, cancelled, accepted])
def test_send_is_refused_unless_draft(seller, make, django_capture_on_commit_callbacks):
    quote = make(seller)
    before = snapshot(quote)

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(TransitionError, match="Send"):
        quote_send(quote=quote, actor=seller)

    assert snapshot(quote) == before
    assert callbacks == []


# --- reject -------------------------------------------------------------------------------------

def test_reject_a_sent_quote_with_a_reason(seller):
    quote = quote_reject(quote=sent(seller), actor=seller, reason="Too expensive")

    assert quote.state == QuoteState.REJECTED
    assert quote.rejection_reason == "Too expensive"
    assert quote.decided_at is not None
    log = StateLog.objects.for_(quote).latest("pk")
    assert (log.source_state, log.state, log.description) == ("sent", "rejected", "Too expensive")


def test_a_customer_rejection_has_no_actor(seller):
    quote = quote_reject(quote=sent(seller), actor=None)
    assert StateLog.objects.for_(quote).latest("pk").by is None


@pytest.mark.parametrize("make", [lambda owner: factories.quote(owner=owner), rejected, cancelled, accepted])
def test_reject_is_refused_unless_sent(seller, make):
    quote = make(seller)
    before = snapshot(quote)

    with pytest.raises(TransitionError, match="Reject"):
        quote_reject(quote=quote, actor=seller, reason="no")

    assert snapshot(quote) == before


# --- cancel -------------------------------------------------------------------------------------

def test_cancel_a_draft(seller, draft):
    quote = quote_cancel(quote=draft, actor=seller)
    assert quote.state == QuoteState.CANCELLED
    assert StateLog.objects.for_(quote).get().transition == "cancel"


@pytest.mark.parametrize("make", [sent, rejected, cancelled, accepted])
def test_cancel_is_refused_unless_draft(seller, make):
    quote = make(seller)
    before = snapshot(quote)

    with pytest.raises(TransitionError, match="Cancel"):
        quote_cancel(quote=quote, actor=seller)

    assert snapshot(quote) == before
