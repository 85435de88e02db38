"""The invoicing schedule of an order: in full, the delivered part, chosen quantities, down payments deducted
on the final invoice, milestones; several invoices per order and never more than was ordered."""

from decimal import Decimal

import pytest
from django.urls import reverse
from djmoney.money import Money

from crm.workflow import DomainError
from invoices.models import Invoice, InvoiceKind, InvoiceLine, LineRole
from invoices.services import credit_note_create, invoice_create_from_order, invoice_issue
from orders.models import OrderLine
from orders.services import order_record_delivery
from tests import factories

pytestmark = pytest.mark.django_db


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


@pytest.fixture
def order(seller):
    """Two lines of 1 × 100.00 at 19 %: 200.00 net, 238.00 gross."""
    return factories.order(owner=seller)


def lines_of(order):
    return list(order.lines.order_by("position", "pk"))


def issue(invoice, _requested_by=None):
    """Sellers ask for the invoice (create the draft); only an accountant issues it."""
    return invoice_issue(invoice=invoice, actor=factories.accountant())


def test_full_invoice_of_a_fulfilled_order(seller):
    order = factories.order(owner=seller, fulfilled=True)
    invoice = issue(invoice_create_from_order(order=order, actor=seller), seller)
    assert invoice.gross_total == eur("238.00")
    assert all(line.order_line_id and line.role == LineRole.ITEM for line in invoice.lines.all())

    with pytest.raises(DomainError, match="has been invoiced already"):
        invoice_create_from_order(order=order, actor=seller)
    assert Invoice.objects.count() == 1


def test_partial_delivery_is_invoiced_by_delivered_quantity(order, seller):
    first, second = lines_of(order)
    order = order_record_delivery(order=order, actor=seller, delivered={first.pk: Decimal(1)})
    assert order.state == "in_fulfilment"

    part = issue(invoice_create_from_order(order=order, actor=seller, mode="delivered"), seller)
    assert [(line.order_line_id, line.quantity) for line in part.lines.all()] == [(first.pk, Decimal(1))]
    assert part.gross_total == eur("119.00")

    with pytest.raises(DomainError, match="Nothing delivered"):
        invoice_create_from_order(order=order, actor=seller, mode="delivered")

    order = order_record_delivery(order=order, actor=seller, delivered={second.pk: Decimal(1)})
    assert order.state == "fulfilled"
    rest = issue(invoice_create_from_order(order=order, actor=seller, mode="delivered"), seller)
    assert [line.order_line_id for line in rest.lines.all()] == [second.pk]
    assert part.gross_total + rest.gross_total == order.gross_total


def test_invoicing_more_than_ordered_is_refused_with_a_clear_message_and_nothing_written(order, seller):
    first, _second = lines_of(order)
    issue(invoice_create_from_order(order=order, actor=seller, mode="quantities",
                                    quantities={first.pk: Decimal("0.6")}), seller)

    with pytest.raises(DomainError, match=r"0.5 cannot be invoiced, only 0.4 of 1 ordered are left"):
        invoice_create_from_order(order=order, actor=seller, mode="quantities", quantities={first.pk: Decimal("0.5")})

    assert Invoice.objects.count() == 1 and InvoiceLine.objects.count() == 1


def test_a_credit_note_gives_the_quantity_back_to_invoice_again(order, seller):
    first, _second = lines_of(order)
    invoice = issue(invoice_create_from_order(order=order, actor=seller, mode="quantities",
                                              quantities={first.pk: Decimal(1)}), seller)
    credit_note_create(invoice=invoice, actor=factories.accountant(), reason="wrong quantity")
    again = invoice_create_from_order(order=order, actor=seller, mode="quantities", quantities={first.pk: Decimal(1)})
    assert again.gross_total == eur("119.00")


def test_a_waiting_draft_is_returned_instead_of_a_second_one(order, seller):
    first, _ = lines_of(order)
    draft = invoice_create_from_order(order=order, actor=seller, mode="quantities", quantities={first.pk: Decimal(1)})
    assert invoice_create_from_order(order=order, actor=seller, mode="down_payment", percent=Decimal(30)) == draft
    assert Invoice.objects.count() == 1


def test_down_payment_is_deducted_on_the_final_invoice_with_its_tax(seller):
    order = factories.order(owner=seller)
    down = issue(invoice_create_from_order(order=order, actor=seller, mode="down_payment", percent=Decimal(30)), seller)
    assert down.kind == InvoiceKind.DOWN_PAYMENT
    assert (down.net_total, down.tax_total, down.gross_total) == (eur("60.00"), eur("11.40"), eur("71.40"))

    order = order_record_delivery(order=order, actor=seller, delivered={line.pk: line.quantity
                                                                       for line in order.lines.all()})
    final = issue(invoice_create_from_order(order=order, actor=seller), seller)

    deduction = final.lines.get(role=LineRole.DEDUCTION)
    assert deduction.deducts == down and deduction.net == eur("-60.00") and down.number in deduction.description
    assert (final.net_total, final.tax_total, final.gross_total) == (eur("140.00"), eur("26.60"), eur("166.60"))
    assert down.gross_total + final.gross_total == order.gross_total


def test_down_payment_on_a_mixed_rate_order_splits_per_rate_and_adds_up(seller):
    order = factories.order(owner=seller)
    standard, reduced = lines_of(order)
    # Awkward cents at two rates.
    OrderLine.objects.filter(pk=standard.pk).update(quantity=Decimal(3), unit_price=Decimal("33.33"),
                                                    net=Decimal("99.99"))
    OrderLine.objects.filter(pk=reduced.pk).update(unit_price=Decimal("10.01"), net=Decimal("10.01"),
                                                   tax_percent=Decimal(7))
    totals = order.totals()
    type(order).objects.filter(pk=order.pk).update(**totals.as_money())
    order.refresh_from_db()

    down = issue(invoice_create_from_order(order=order, actor=seller, mode="down_payment", amount=Decimal("50.00")),
                 seller)
    assert down.lines.count() == 2
    order = order_record_delivery(order=order, actor=seller,
                                  delivered={line.pk: line.quantity for line in order.lines.all()})
    final = issue(invoice_create_from_order(order=order, actor=seller), seller)

    assert down.gross_total + final.gross_total == order.gross_total
    assert down.tax_total + final.tax_total == order.tax_total
    by_rate = {}
    for inv in (down, final):
        for sub in inv.totals().tax_subtotals:
            by_rate.setdefault(sub.percent, [0, 0])
            by_rate[sub.percent][0] += sub.base
            by_rate[sub.percent][1] += sub.tax
    assert {rate: tuple(v) for rate, v in by_rate.items()} == {
        s.percent: (s.base, s.tax) for s in totals.tax_subtotals}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"percent": Decimal(0)}, "more than 0 and at most 100"),
    ({"percent": Decimal(101)}, "more than 0 and at most 100"),
    ({"amount": Decimal("238.01")}, "at most the"),
    ({}, "either as a percentage or as an amount"),
])
def test_down_payment_refusals(order, seller, kwargs, message):
    with pytest.raises(DomainError, match=message):
        invoice_create_from_order(order=order, actor=seller, mode="down_payment", **kwargs)
    assert not Invoice.objects.exists()


def test_two_down_payments_cannot_exceed_the_order(order, seller):
    issue(invoice_create_from_order(order=order, actor=seller, mode="down_payment", percent=Decimal(80)), seller)
    with pytest.raises(DomainError, match="at most the"):
        invoice_create_from_order(order=order, actor=seller, mode="down_payment", amount=Decimal("100.00"))
    assert Invoice.objects.count() == 1


def test_milestones_bill_percentages_and_the_last_one_the_exact_rest(order, seller):
    a = issue(invoice_create_from_order(order=order, actor=seller, mode="milestone", percent=Decimal("33.33"),
                                        label="Design"), seller)
    b = issue(invoice_create_from_order(order=order, actor=seller, mode="milestone", percent=Decimal("33.33")), seller)
    with pytest.raises(DomainError, match=r"Only 33.34 % of order .* is left"):
        invoice_create_from_order(order=order, actor=seller, mode="milestone", percent=Decimal(40))
    c = issue(invoice_create_from_order(order=order, actor=seller, mode="milestone", percent=Decimal("33.34")), seller)

    assert a.schedule_label == "Design"
    assert a.net_total + b.net_total + c.net_total == order.net_total
    assert a.gross_total + b.gross_total + c.gross_total == order.gross_total
    with pytest.raises(DomainError, match="left to invoice"):
        invoice_create_from_order(order=order, actor=seller, mode="milestone", percent=Decimal(1))
    with pytest.raises(DomainError, match="invoiced by milestones"):
        invoice_create_from_order(order=order, actor=seller, mode="delivered")


def test_a_cancelled_order_cannot_be_invoiced(order, seller):
    from orders.services import order_cancel
    order_cancel(order=order, actor=seller, reason="x")
    with pytest.raises(DomainError, match="cancelled"):
        invoice_create_from_order(order=order, actor=seller, mode="down_payment", percent=Decimal(10))


# --- pages -----------------------------------------------------------------------------------------------------

def test_order_page_offers_the_schedule_and_drafts_a_down_payment(order, seller_client):
    page = seller_client.get(order.get_absolute_url()).content.decode()
    assert "Down payment: percentage of the total" in page and "Save deliveries" in page

    response = seller_client.post(reverse("orders:invoice", args=[order.pk]),
                                  {"mode": "down_payment_percent", "percent": "25"})

    invoice = Invoice.objects.get()
    assert response.status_code == 302 and response.url == invoice.get_absolute_url()
    assert invoice.kind == InvoiceKind.DOWN_PAYMENT and invoice.gross_total == eur("59.50")


def test_order_page_refusal_is_shown_and_nothing_written(order, seller_client):
    response = seller_client.post(reverse("orders:invoice", args=[order.pk]), {"mode": "full"}, follow=True)
    assert "invoice it once it is fulfilled" in response.content.decode()
    assert not Invoice.objects.exists()

    response = seller_client.post(reverse("orders:invoice", args=[order.pk]), {"mode": "down_payment_percent"})
    assert response.status_code == 400 and "Enter the percentage" in response.content.decode()
    assert not Invoice.objects.exists()


def test_the_quotes_document_discount_is_granted_on_the_completing_invoice(seller):
    from orders.services import order_create_from_quote, order_fulfil
    from quotes.models import Quote
    from quotes.services import quote_send, quote_update

    quote = quote_update(quote=factories.quote(owner=seller), actor=seller, discount_percent=Decimal("10"))
    quote = quote_send(quote=Quote.objects.get(pk=quote.pk), actor=seller)
    order = order_fulfil(order=order_create_from_quote(quote=quote, actor=seller), actor=seller)
    assert order.net_total == eur("180.00")

    down = issue(invoice_create_from_order(order=order, actor=seller, mode="down_payment", percent=Decimal(50)),
                 seller)
    final = issue(invoice_create_from_order(order=order, actor=seller), seller)

    assert final.lines.filter(role=LineRole.DISCOUNT).get().net == eur("-20.00")
    assert down.gross_total == eur("107.10")
    assert down.gross_total + final.gross_total == order.gross_total == eur("214.20")
