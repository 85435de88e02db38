"""Writes on orders, including the conversion quote → order (accepting a quote)."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.jobs import enqueue_on_commit
from crm.models import CompanyProfile, User
from crm.permissions import require
from crm.tracking import acting_as
from crm.workflow import DomainError, lock, run_transition
from opportunities.models import OpportunityState
from orders.models import Order, OrderLine, OrderState
from quotes.models import Quote, QuoteState


def _billing_address(quote: Quote) -> str:
    account = quote.account
    return "\n".join([account.name, *account.address_lines])


@transaction.atomic
def order_create_from_quote(*, quote: Quote, actor: User | None) -> Order:
    """Accept `quote`: create exactly one order with copies of its lines, and mark the deal won.

    Idempotent and race-safe: the quote row is locked, a second accept finds the order the first one
    made, and the one-to-one constraint on Order.quote is the last line of defence.
    """
    require(actor, "quotes.accept_quote")
    quote = lock(quote)
    existing = Order.objects.filter(quote=quote).first()
    if existing is not None:
        return existing
    if quote.state == QuoteState.SENT and quote.valid_until < timezone.localdate():
        raise DomainError(_("Quote %(quote)s expired on %(date)s and can no longer be accepted.")
                          % {"quote": quote, "date": quote.valid_until})
    now = timezone.now()
    quote = run_transition(quote, "accept", actor=actor, at=now)
    order = Order(
        quote=quote,
        opportunity=quote.opportunity,
        account=quote.account,
        contact=quote.contact,
        owner=quote.owner,
        team=quote.team,
        currency=quote.currency,
        net_total=quote.net_total,
        tax_total=quote.tax_total,
        gross_total=quote.gross_total,
        order_date=timezone.localdate(),
        billing_address=_billing_address(quote),
    )
    order.assign_number()
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError as exc:  # a concurrent accept won between our lock and insert
        raise DomainError(_("This quote has already been accepted.")) from exc
    # Section headings and notes of the quote carry no amounts: the order keeps what is sold.
    OrderLine.objects.bulk_create([
        OrderLine(order=order, **line.copy_values()) for line in quote.lines.all()
        if getattr(line, "kind", "item") == "item"
    ])
    opportunity = quote.opportunity
    if opportunity.state == OpportunityState.OPEN:
        run_transition(opportunity, "win", actor=actor, at=now, description=_("Quote %(q)s accepted") % {"q": quote})
    from orders.tasks import render_order_pdf  # noqa: PLC0415  (tasks import services)

    enqueue_on_commit(render_order_pdf, order.pk)
    return order


@transaction.atomic
def order_update(*, order: Order, actor: User, **fields) -> Order:
    require(actor, "orders.change_order")
    order = lock(order)
    if order.state in ("fulfilled", "cancelled"):
        raise DomainError(_("A %(state)s order cannot be edited.") % {"state": order.get_state_display()})
    for name, value in fields.items():
        if name not in {"billing_address", "customer_reference", "delivery_terms", "internal_notes"}:
            raise ValueError(f"{name} is not editable")
        setattr(order, name, value)
    with acting_as(actor):
        order.save()
    return order


@transaction.atomic
def order_start_fulfilment(*, order: Order, actor: User) -> Order:
    require(actor, "orders.start_fulfilment_order")
    return run_transition(order, "start_fulfilment", actor=actor)


@transaction.atomic
def order_fulfil(*, order: Order, actor: User) -> Order:
    """Mark the order fulfilled: what was not recorded as delivered yet counts as delivered now, so that the lines
    say what the order's state says (and invoicing the delivered part bills all of it)."""
    require(actor, "orders.fulfil_order")
    order = lock(order)
    short = [line for line in order.lines.all() if line.delivered_quantity < line.quantity]
    for line in short:
        line.delivered_quantity = line.quantity
    OrderLine.objects.bulk_update(short, ["delivered_quantity"])
    summary = ", ".join(f"{line.description}: {line.quantity.normalize()}" for line in short)
    return run_transition(order, "fulfil", actor=actor, at=timezone.now(), description=summary)


@transaction.atomic
def order_cancel(*, order: Order, actor: User, reason: str) -> Order:
    require(actor, "orders.cancel_order")
    if not reason.strip():
        raise DomainError(_("Say why the order is cancelled."))
    if order.invoices.exclude(state="cancelled").exists():
        raise DomainError(_("This order has been invoiced; cancel the invoice with a credit note first."))
    return run_transition(order, "cancel", actor=actor, at=timezone.now(), reason=reason, description=reason)


@transaction.atomic
def order_record_delivery(*, order: Order, actor: User, delivered: dict[int, Decimal]) -> Order:
    """Set the delivered quantity of order lines (line id → total delivered so far).

    The first delivery starts fulfilment; delivering every line in full marks the order fulfilled.
    Never more than ordered, never less than already invoiced by delivery.
    """
    require(actor, "orders.deliver_order")
    order = lock(order)
    if order.state in (OrderState.FULFILLED, OrderState.CANCELLED):
        raise DomainError(_("Order %(order)s is %(state)s; deliveries can no longer be recorded.")
                          % {"order": order, "state": order.get_state_display()})
    lines = {line.pk: line for line in order.lines.all()}
    if set(delivered) - set(lines):
        raise DomainError(_("Some lines do not belong to order %(order)s.") % {"order": order})
    changed = []
    for pk, quantity in delivered.items():
        line, quantity = lines[pk], Decimal(quantity)
        if quantity < 0 or quantity > line.quantity:
            raise DomainError(
                _("“%(line)s”: the delivered quantity must be between 0 and the %(ordered)s ordered.")
                % {"line": line.description, "ordered": line.quantity.normalize()}
            )
        if quantity != line.delivered_quantity:
            line.delivered_quantity = quantity
            changed.append(line)
    if not changed:
        return order
    OrderLine.objects.bulk_update(changed, ["delivered_quantity"])
    summary = ", ".join(f"{line.description}: {line.delivered_quantity.normalize()}" for line in changed)
    if all(line.delivered_quantity >= line.quantity for line in lines.values()):
        return run_transition(order, "fulfil", actor=actor, at=timezone.now(), description=summary)
    if order.state == OrderState.CONFIRMED:
        return run_transition(order, "start_fulfilment", actor=actor, description=summary)
    return order


def order_render_pdf(*, order_id: int, force: bool = False) -> bool:
    """Render and store the order confirmation once (idempotent; `force` re-renders)."""
    from crm.documents import render_pdf, store_pdf  # noqa: PLC0415

    order = Order.objects.select_related("account", "quote", "owner").prefetch_related("lines").get(pk=order_id)
    if order.pdf and not force:
        return False
    content = render_pdf(
        Order.PDF_TEMPLATE,
        {"order": order, "lines": order.lines.all(), "totals": order.totals(), "company": CompanyProfile.current()},
        language=order.quote.language,
    )
    store_pdf(order, content, f"{order.number}.pdf")
    return True
