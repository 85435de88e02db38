"""Read queries for the home dashboard, a user's activities and the customer pages. crm imports no record app, so
these ask each app's models through the app registry by label."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, QuerySet, Sum, prefetch_related_objects
from django.utils import timezone
from djmoney.money import Money

from crm.models import Account, Activity
from crm.permissions import scope
from crm.search import Hit

HOME_ACTIVITIES = 6


def my_activities(*, user, done: bool = False) -> QuerySet[Activity]:
    """The user's planned activities, soonest due first, or the ones ticked off. An activity without a due date
    is a log of something that happened (the activity form says so): it stays on its record's history and is
    nobody's to-do."""
    activities = Activity.objects.filter(owner=user, done=done).select_related("content_type")
    if done:
        return activities.order_by("-due_at", "-created_at", "-pk")
    return activities.filter(due_at__isnull=False).order_by("due_at", "created_at", "pk")


def open_activities_of(record: Model) -> QuerySet[Activity]:
    """The record's planned activities not done yet, soonest first (an undated one is a log entry, shown in its
    history)."""
    return (
        Activity.objects.filter(content_type=ContentType.objects.get_for_model(record), object_id=record.pk,
                                done=False, due_at__isnull=False)
        .select_related("owner").order_by("due_at", "created_at", "pk")
    )


def dashboard(*, user, today: date) -> dict[str, Any]:
    Lead = apps.get_model("leads", "Lead")
    Opportunity = apps.get_model("opportunities", "Opportunity")
    Quote = apps.get_model("quotes", "Quote")
    Invoice = apps.get_model("invoices", "Invoice")
    next_activities = list(my_activities(user=user)[:HOME_ACTIVITIES])
    # One query per kind of record they belong to (deals, leads), not one per activity.
    prefetch_related_objects(next_activities, "target")
    return {
        "next_activities": next_activities,
        "now": timezone.now(),
        "new_leads": Lead.objects.visible_to(user).filter(state__in=["new", "working"])
        .select_related("owner").order_by("-created_at")[:8],
        "closing_soon": Opportunity.objects.visible_to(user).filter(state="open")
        .select_related("account", "stage", "owner").order_by("expected_close_date", "pk")[:8],
        "open_quotes": Quote.objects.visible_to(user).filter(state="sent")
        .select_related("account").order_by("valid_until", "pk")[:8],
        "overdue_invoices": Invoice.objects.visible_to(user).filter(state="overdue")
        .select_related("account").order_by("due_date")[:8],
        "today": today,
    }


ACCOUNT_PANEL = 10  # rows per kind of record on a customer's page; each panel says how many there are in all


def customer_list(*, user, query: str = "") -> QuerySet:
    """The customers `user` may see, by name; `query` matches name, web domain, e-mail, VAT ID or city."""
    accounts = scope(Account.objects.filter(archived_at__isnull=True), user).select_related("owner")
    if query := query.strip():
        accounts = accounts.filter(
            Q(name__icontains=query) | Q(domain__icontains=query) | Q(email__icontains=query)
            | Q(vat_id__icontains=query) | Q(city__icontains=query)
        )
    return accounts.order_by("name", "pk")


def customer_search_hits(user, text: str, limit: int) -> list[Hit]:
    """Customers for the menu's search box (crm.search)."""
    return [Hit(account.name, " · ".join(p for p in [account.city, account.domain] if p), account.get_absolute_url())
            for account in customer_list(user=user, query=text)[:limit]]


def customer_overview(*, account, user) -> dict[str, Any]:
    """Everything about one customer on one page: its contacts, deals, quotes, orders and invoices as `user` may
    see them, newest first, each panel bounded, with the open invoices' balance. crm imports no record app: the
    models come from the app registry."""
    Opportunity = apps.get_model("opportunities", "Opportunity")
    Quote = apps.get_model("quotes", "Quote")
    Order = apps.get_model("orders", "Order")
    Invoice = apps.get_model("invoices", "Invoice")

    def panel(queryset: QuerySet) -> tuple[list, int]:
        rows = list(queryset[: ACCOUNT_PANEL + 1])
        # The count only when the panel is full: a customer with a handful of deals costs no COUNT(*).
        total = len(rows) if len(rows) <= ACCOUNT_PANEL else queryset.count()
        return rows[:ACCOUNT_PANEL], total

    deals, deal_count = panel(Opportunity.objects.visible_to(user).filter(account=account)
                              .select_related("stage", "owner").order_by("-created_at", "-pk"))
    quotes, quote_count = panel(Quote.objects.visible_to(user).current().filter(account=account)
                                .order_by("-created_at", "-pk"))
    orders, order_count = panel(Order.objects.visible_to(user).filter(account=account).order_by("-created_at", "-pk"))
    invoices, invoice_count = panel(Invoice.objects.visible_to(user).filter(account=account)
                                    .order_by("-created_at", "-pk"))
    open_balances: dict[str, Decimal] = {}
    for row in (Invoice.objects.visible_to(user).filter(account=account).owed().order_by()
                .values("currency").annotate(gross=Sum("gross_total"), paid=Sum("amount_paid"),
                                             credited=Sum("amount_credited"))):
        open_balances[row["currency"]] = row["gross"] - row["paid"] - row["credited"]
    return {
        "account": account,
        "contacts": list(account.contacts.filter(archived_at__isnull=True).order_by("last_name", "first_name")),
        "deals": deals, "deal_count": deal_count,
        "quotes": quotes, "quote_count": quote_count,
        "orders": orders, "order_count": order_count,
        "invoices": invoices, "invoice_count": invoice_count,
        "open_balance": [Money(amount, currency) for currency, amount in sorted(open_balances.items()) if amount],
    }
