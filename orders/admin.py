"""Admin for orders: lines and money read-only, edits and transitions through orders.services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.admin import FieldHistoryAdmin, ScopedAdminMixin
from crm.workflow import DomainError
from leads.admin import run_for_each
from orders import services
from orders.models import Order, OrderLine, OrderState
from quotes.admin import MONEY_READONLY, ReadOnlyLineInline

EDITABLE = ("billing_address", "customer_reference", "delivery_terms", "internal_notes")


class OrderLineInline(ReadOnlyLineInline):
    model = OrderLine


@admin.register(Order)
class OrderAdmin(ScopedAdminMixin, FieldHistoryAdmin):
    list_display = ("number", "account", "state", "order_date", "customer_reference", "gross_total", "owner", "team")
    list_filter = ("state", "team", "currency")
    search_fields = ("number", "account__name", "customer_reference", "quote__number")
    list_select_related = ("account", "owner", "team")
    date_hierarchy = "order_date"
    ordering = ("-created_at",)
    inlines = (OrderLineInline,)
    actions = ("start_fulfilment", "mark_fulfilled")
    fieldsets = (
        (None, {"fields": ("number", "state", "quote", "opportunity", "account", "contact", "owner", "team",
                           "order_date")}),
        (_("Billing and delivery"), {"fields": EDITABLE}),
        (_("Totals"), {"fields": MONEY_READONLY}),
        (_("Progress"), {"fields": ("fulfilled_at", "cancelled_at", "cancel_reason", "created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None) -> tuple[str, ...]:
        every = tuple(f for fieldset in self.fieldsets for f in fieldset[1]["fields"])
        return tuple(f for f in every if f not in EDITABLE)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from accepted quotes only

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        if obj is not None and obj.state in (OrderState.FULFILLED, OrderState.CANCELLED):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False  # cancel instead: the order is part of the quote → invoice trail

    def save_model(self, request: HttpRequest, obj: Order, form: Any, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE}
        if not fields:
            return
        try:
            services.order_update(order=obj, actor=request.user, **fields)
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description=_("Start fulfilment of selected orders"), permissions=["change"])
    def start_fulfilment(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        run_for_each(self, request, queryset, services.order_start_fulfilment, "order")

    @admin.action(description=_("Mark selected orders fulfilled"), permissions=["change"])
    def mark_fulfilled(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        run_for_each(self, request, queryset, services.order_fulfil, "order")
