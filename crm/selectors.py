"""Read queries for the home dashboard and a user's activities. crm imports no record app, so the dashboard
asks each app's models through the app registry by label."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, QuerySet, prefetch_related_objects
from django.utils import timezone

from crm.models import Activity

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
