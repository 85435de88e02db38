"""Read queries for the order pages."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from crm.history import TIMELINE_LIMIT, Event, History, timeline
from crm.models import User
from crm.search import Hit
from orders.models import Order, OrderState
from quotes.selectors import search_filter

ORDER_SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-pk"),
    "number": ("number",),
    "-number": ("-number",),
    "customer": ("account__name", "pk"),
    "order_date": ("order_date", "pk"),
    "-order_date": ("-order_date", "-pk"),
    "-total": ("-gross_total", "pk"),
    "total": ("gross_total", "pk"),
}


def order_list(
    *, user: User, query: str = "", state: str = "", sort: str = "", archived: bool = False
) -> QuerySet[Order]:
    qs = Order.objects.visible_to(user, archived=archived).select_related("account", "owner", "quote")
    if query:
        qs = qs.filter(search_filter(query) | Q(customer_reference__icontains=query))
    if state:
        qs = qs.filter(state=state)
    return qs.order_by(*ORDER_SORTS.get(sort, ORDER_SORTS["-created"]))


def order_detail_queryset() -> QuerySet[Order]:
    return Order.objects.select_related("account", "contact", "owner", "team", "quote", "opportunity").prefetch_related(
        "lines__product"
    )


def order_invoices(order: Order) -> list:
    return list(order.invoices.order_by("created_at", "pk"))


def order_history(order: Order, invoices: list, *, limit: int | None = TIMELINE_LIMIT) -> History:
    extra = [
        Event(at=invoice.created_at, by=invoice.owner, icon="receipt",
              title=_("Invoice %(invoice)s drafted") % {"invoice": invoice})
        for invoice in invoices
    ]
    return timeline(order, extra=extra, limit=limit)


def order_is_editable(order: Order) -> bool:
    """Mirrors orders.services.order_update's guard, to decide whether to show the edit form."""
    return order.state not in (OrderState.FULFILLED, OrderState.CANCELLED)


def order_open_invoice(invoices: list):
    """The order's draft invoice waiting to be issued, if any (invoice_create_from_order returns it instead of
    drafting a second one)."""
    return next((invoice for invoice in invoices if invoice.state == "draft" and invoice.kind != "credit_note"), None)


def order_can_be_invoiced(order: Order, invoices: list) -> bool:
    """Whether to offer "Create invoice": invoices.services.invoice_create_from_order has the final word
    (it refuses, with a message, to bill more than was ordered)."""
    return order.state != OrderState.CANCELLED and order_open_invoice(invoices) is None


def search_hits(user: User, text: str, limit: int) -> list[Hit]:
    """Orders for the menu's search box (crm.search), as the list finds them."""
    return [Hit(str(order.number), f"{order.account} · {order.get_state_display()}", order.get_absolute_url())
            for order in order_list(user=user, query=text)[:limit]]
