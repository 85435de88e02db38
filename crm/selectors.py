"""Read queries for the home dashboard. crm imports no record app, so the dashboard asks each app's
models through the app registry by label."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.apps import apps


def dashboard(*, user, today: date) -> dict[str, Any]:
    Lead = apps.get_model("leads", "Lead")
    Opportunity = apps.get_model("opportunities", "Opportunity")
    Quote = apps.get_model("quotes", "Quote")
    Invoice = apps.get_model("invoices", "Invoice")
    return {
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
