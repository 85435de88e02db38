"""Read queries for the invoice pages."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from djmoney.money import Money

from crm.history import TIMELINE_LIMIT, Event, History, timeline
from crm.models import User
from crm.search import Hit
from invoices.models import (
    OPEN_STATES,
    CustomerCredit,
    DunningNotice,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceState,
    Payment,
)
from quotes.selectors import search_filter

# A pseudo-state of the list filter: everything still waiting for money.
OPEN_FILTER = "open"

INVOICE_SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-pk"),
    "number": ("number", "pk"),
    "-number": ("-number", "-pk"),
    "customer": ("account__name", "pk"),
    "due_date": ("due_date", "pk"),
    "-due_date": ("-due_date", "-pk"),
    "-total": ("-gross_total", "pk"),
    "total": ("gross_total", "pk"),
}


def invoice_list(
    *, user: User, query: str = "", state: str = "", sort: str = "", archived: bool = False
) -> QuerySet[Invoice]:
    qs = Invoice.objects.visible_to(user, archived=archived).select_related("account", "owner", "order")
    if query:
        qs = qs.filter(search_filter(query) | Q(customer_reference__icontains=query))
    if state == OPEN_FILTER:
        qs = qs.filter(state__in=OPEN_STATES)
    elif state:
        qs = qs.filter(state=state)
    return qs.order_by(*INVOICE_SORTS.get(sort, INVOICE_SORTS["-created"]))


def invoice_detail_queryset() -> QuerySet[Invoice]:
    return Invoice.objects.select_related(
        "account", "owner", "team", "order__quote", "order__opportunity", "credit_of", "payment_term"
    ).prefetch_related("lines__product")


def credited_quantities(invoice: Invoice) -> dict[int, Decimal]:
    result: dict[int, Decimal] = {}
    for source_id, quantity in InvoiceLine.objects.filter(
        source_line__invoice=invoice, invoice__kind=InvoiceKind.CREDIT_NOTE
    ).values_list("source_line_id", "quantity"):
        result[source_id] = result.get(source_id, Decimal(0)) + quantity
    return result


def invoice_can_be_credited(invoice: Invoice) -> bool:
    """Whether to offer "Credit note": invoices.services.credit_note_create has the final word."""
    return not invoice.is_credit_note and invoice.state not in (InvoiceState.DRAFT, InvoiceState.CANCELLED)


def invoice_credit_notes(invoice: Invoice) -> list[Invoice]:
    return list(invoice.credit_notes.order_by("issue_date", "pk"))


def customer_credit(invoice: Invoice) -> Money:
    """The customer's credit balance in the invoice's currency (over-payments and refunds not used yet)."""
    total = CustomerCredit.objects.filter(account_id=invoice.account_id, amount_currency=invoice.currency).aggregate(
        total=Sum("amount"))["total"]
    return Money(total or 0, invoice.currency)


def invoice_dunning_notices(invoice: Invoice) -> list[DunningNotice]:
    return list(invoice.dunning_notices.select_related("level").order_by("level__level"))


def invoice_payments(invoice: Invoice) -> list[Payment]:
    return list(invoice.payments.select_related("recorded_by").order_by("received_on", "pk"))


def invoice_history(invoice: Invoice, payments: list[Payment], *, limit: int | None = TIMELINE_LIMIT) -> History:
    extra = [
        Event(
            at=payment.recorded_at, by=payment.recorded_by, icon="cash-coin",
            title=_("Payment of %(amount)s received on %(date)s")
            % {"amount": payment.amount, "date": date_format(payment.received_on, "SHORT_DATE_FORMAT")},
            detail=" · ".join(p for p in [payment.get_method_display(), payment.reference] if p),
        )
        for payment in payments
    ]
    extra += [
        Event(at=notice.sent_at or notice.created_at, by=None, icon="envelope-exclamation",
              title=_reminder_title(notice))
        for notice in invoice.dunning_notices.select_related("level")
    ]
    return timeline(invoice, extra=extra, limit=limit)


def _reminder_title(notice: DunningNotice) -> str:
    level = {"level": notice.level.level}
    if notice.sent_at is None:
        return _("Payment reminder (level %(level)s) due, waiting to be e-mailed") % level
    if not notice.sent_to:  # the sender found no address: nothing went out, and the reader must know
        return _("Payment reminder (level %(level)s) not e-mailed: the customer has no e-mail address") % level
    return _("Payment reminder (level %(level)s) sent to %(to)s") % {**level, "to": notice.sent_to}


def search_hits(user: User, text: str, limit: int) -> list[Hit]:
    """Invoices for the menu's search box (crm.search), as the list finds them."""
    return [Hit(invoice.number or str(invoice), f"{invoice.account} · {invoice.get_state_display()}",
                invoice.get_absolute_url())
            for invoice in invoice_list(user=user, query=text)[:limit]]
