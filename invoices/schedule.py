"""What of an order has been billed so far, and what is left: the reads behind the invoicing schedule.

An order is billed by quantity (in full, or the delivered part, or chosen quantities), optionally after
down payments that the invoice completing the order deducts; or by milestones (percentages of the order
total). Every figure here counts drafts too, so two drafts cannot together bill more than was ordered,
and subtracts what credit notes gave back.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum
from djmoney.money import Money

from crm import money
from invoices.models import Invoice, InvoiceKind, InvoiceLine, InvoiceState, LineRole
from orders.models import Order

ZERO = Decimal(0)


def invoiced_quantities(order: Order) -> dict[int, Decimal]:
    """Order line id → quantity billed so far (invoice lines minus credit-note lines)."""
    billed = dict(
        InvoiceLine.objects.filter(order_line__order=order, source_line__isnull=True)
        .exclude(invoice__kind=InvoiceKind.CREDIT_NOTE)
        .values_list("order_line_id")
        .annotate(q=Sum("quantity"))
        .values_list("order_line_id", "q")
    )
    credited = (
        InvoiceLine.objects.filter(source_line__order_line__order=order, invoice__kind=InvoiceKind.CREDIT_NOTE)
        .values_list("source_line__order_line_id")
        .annotate(q=Sum("quantity"))
        .values_list("source_line__order_line_id", "q")
    )
    for line_id, quantity in credited:
        billed[line_id] = billed.get(line_id, ZERO) - quantity
    return {line_id: Decimal(q or 0) for line_id, q in billed.items()}


def _net_by_rate(lines) -> dict[Decimal, Decimal]:
    result: dict[Decimal, Decimal] = {}
    for percent, net in lines:
        rate = Decimal(percent).normalize()
        result[rate] = result.get(rate, ZERO) + Decimal(net)
    return result


def order_discount(order: Order) -> Decimal:
    """The quote's document-level discount carried by the order: its lines' nets minus its net total."""
    lines_net = sum((line.net.amount for line in order.lines.all()), ZERO)
    return max(money.quantize(lines_net - order.net_total.amount, order.currency), ZERO)


def order_discount_shares(order: Order) -> dict[Decimal, Decimal]:
    """The document discount per tax rate, split in proportion to the rates' bases (as crm.money does)."""
    discount = order_discount(order)
    by_rate = _net_by_rate((line.tax_percent, line.net.amount) for line in order.lines.all())
    if not discount:
        return {}
    rates = sorted(by_rate)
    shares = money.allocate(discount, [by_rate[r] for r in rates], order.currency)
    return {rate: share for rate, share in zip(rates, shares, strict=True) if share}


def order_bases(order: Order) -> dict[Decimal, Decimal]:
    """Net base per tax rate of the whole order (line nets summed per rate, less the document discount)."""
    bases = _net_by_rate((line.tax_percent, line.net.amount) for line in order.lines.all())
    for rate, share in order_discount_shares(order).items():
        bases[rate] -= share
    return bases


def billed_bases(order: Order, role: str) -> dict[Decimal, Decimal]:
    """Net per rate billed on lines of `role` (milestones, advances), credit notes subtracted."""
    billed = _net_by_rate(
        InvoiceLine.objects.filter(invoice__order=order, role=role)
        .exclude(invoice__kind=InvoiceKind.CREDIT_NOTE)
        .values_list("tax_percent", "net")
    )
    credited = _net_by_rate(
        InvoiceLine.objects.filter(invoice__order=order, invoice__kind=InvoiceKind.CREDIT_NOTE, source_line__role=role)
        .values_list("tax_percent", "net")
    )
    return {rate: billed.get(rate, ZERO) - credited.get(rate, ZERO) for rate in {*billed, *credited}}


def outstanding_down_payments(order: Order) -> list[Invoice]:
    """Issued down payment invoices of the order that no invoice has deducted yet (cancelled ones — fully
    credited — are not deducted: the customer got that money back as credit)."""
    return list(
        Invoice.objects.filter(order=order, kind=InvoiceKind.DOWN_PAYMENT)
        .exclude(state__in=[InvoiceState.DRAFT, InvoiceState.CANCELLED])
        .exclude(deducted_by__isnull=False)
        .prefetch_related("lines")
        .order_by("issue_date", "pk")
    )


def uses_milestones(order: Order) -> bool:
    return InvoiceLine.objects.filter(invoice__order=order, role=LineRole.MILESTONE).exists()


def bills_by_quantity(order: Order) -> bool:
    return InvoiceLine.objects.filter(invoice__order=order).filter(
        Q(role=LineRole.ITEM) | Q(role=LineRole.ADVANCE)
    ).exists()


@dataclass(frozen=True)
class OrderBilling:
    """A summary for the order page, in the order's currency."""

    ordered_net: Money
    billed_net: Money
    remaining_net: Money
    percent_billed: Decimal


def order_billing(order: Order) -> OrderBilling:
    ordered = order.net_total.amount
    billed = ZERO
    regular = Invoice.objects.filter(order=order).exclude(kind=InvoiceKind.DOWN_PAYMENT).exclude(
        kind=InvoiceKind.CREDIT_NOTE, credit_of__kind=InvoiceKind.DOWN_PAYMENT, credit_of__state=InvoiceState.CANCELLED
    )
    for invoice in regular.only("kind", "net_total", "net_total_currency"):
        sign = -1 if invoice.kind == InvoiceKind.CREDIT_NOTE else 1
        billed += sign * invoice.net_total.amount
    # Down payments are billed too, until the final invoice deducts them (its net is net of the deduction).
    for invoice in Invoice.objects.filter(order=order, kind=InvoiceKind.DOWN_PAYMENT).exclude(
        state=InvoiceState.CANCELLED
    ):
        billed += invoice.net_total.amount
    ordered, billed = money.quantize(ordered, order.currency), money.quantize(billed, order.currency)
    percent = (billed * 100 / ordered).quantize(Decimal("0.1")) if ordered else ZERO
    return OrderBilling(ordered_net=Money(ordered, order.currency), billed_net=Money(billed, order.currency),
                        remaining_net=Money(ordered - billed, order.currency), percent_billed=percent)
