"""Admin for invoices and payments. An issued invoice is a legal document: entirely read-only here
(corrections are credit notes). Issuing and PDF rendering run through invoices.services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.admin import FieldHistoryAdmin, ScopedAdminMixin
from crm.workflow import DomainError
from invoices import services
from invoices.models import (
    CustomerCredit,
    DunningLevel,
    DunningNotice,
    Invoice,
    InvoiceLine,
    InvoiceState,
    Payment,
    PaymentTerm,
)
from leads.admin import run_for_each
from quotes.admin import MONEY_READONLY, ReadOnlyLineInline

DRAFT_EDITABLE = ("billing_address", "customer_reference", "payment_term", "language")


class InvoiceLineInline(ReadOnlyLineInline):
    model = InvoiceLine
    fk_name = "invoice"


class PaymentInline(admin.TabularInline):
    model = Payment
    fields = ("received_on", "amount", "method", "reference", "recorded_by", "recorded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # payments are booked with payment_record (seller page), which moves the state

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        return super().get_queryset(request).select_related("recorded_by")


@admin.register(Invoice)
class InvoiceAdmin(ScopedAdminMixin, FieldHistoryAdmin):
    list_display = ("__str__", "kind", "account", "state", "issue_date", "due_date", "gross_total", "amount_paid",
                    "owner", "team")
    list_filter = ("state", "kind", "team", "currency", "issue_date")
    search_fields = ("number", "account__name", "customer_reference", "order__number")
    list_select_related = ("account", "owner", "team")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = (InvoiceLineInline, PaymentInline)
    actions = ("issue_invoices", "render_pdfs")
    fieldsets = (
        (None, {"fields": ("number", "kind", "state", "order", "account", "owner", "team", "schedule_label",
                           "credit_of", "credit_reason")}),
        (_("Billing"), {"fields": ("billing_address", "customer_reference", "payment_term", "payment_terms_days",
                                   "discount_percent", "discount_days", "language")}),
        (_("Dates"), {"fields": ("issue_date", "delivery_date", "due_date", "discount_due_date", "paid_at")}),
        (_("Totals"), {"fields": (*MONEY_READONLY, "amount_paid", "amount_credited")}),
        (_("Parties at issue"), {"fields": ("seller", "buyer")}),
        (_("Document"), {"fields": ("pdf", "pdf_sha256", "pdf_rendered_at", "previous_hash", "chain_hash",
                                    "created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Invoice | None = None) -> tuple[str, ...]:
        every = tuple(f for fieldset in self.fieldsets for f in fieldset[1]["fields"])
        return tuple(f for f in every if f not in DRAFT_EDITABLE)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # invoices are created from fulfilled orders

    def save_model(self, request: HttpRequest, obj: Invoice, form: Any, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in DRAFT_EDITABLE}
        if not fields:
            return
        try:
            services.invoice_update_draft(invoice=obj, actor=request.user, **fields)
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    def has_change_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        if obj is not None and obj.state != InvoiceState.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        if obj is not None and obj.state != InvoiceState.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # The bulk "delete selected" action has no per-object check: refuse when any is issued.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if any(obj.state != InvoiceState.DRAFT for obj in objs):
            perms_needed = {*perms_needed, str(_("issued invoices"))}
        return deleted, counts, perms_needed, protected

    @admin.action(description=_("Issue selected draft invoices"), permissions=["change"])
    def issue_invoices(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        # Oldest first, so numbers follow the order in which the drafts were made.
        run_for_each(self, request, queryset.order_by("created_at", "pk"), services.invoice_issue, "invoice")

    @admin.action(description=_("Render missing PDFs now"), permissions=["view"])
    def render_pdfs(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        rendered = sum(services.invoice_render_pdf(invoice_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, _("%(count)d PDF(s) rendered.") % {"count": rendered}, messages.SUCCESS)


@admin.register(Payment)
class PaymentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "invoice__"
    scope_financial = True

    list_display = ("invoice", "amount", "received_on", "method", "reference", "recorded_by", "recorded_at")
    list_filter = ("method", "received_on")
    search_fields = ("invoice__number", "reference", "invoice__account__name")
    list_select_related = ("invoice", "recorded_by")
    date_hierarchy = "received_on"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Payment | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Payment | None = None) -> bool:
        return False


@admin.register(PaymentTerm)
class PaymentTermAdmin(admin.ModelAdmin):
    list_display = ("name", "net_days", "discount_percent", "discount_days", "is_default")
    list_editable = ("is_default",)


@admin.register(DunningLevel)
class DunningLevelAdmin(admin.ModelAdmin):
    list_display = ("level", "days_after_due", "subject")
    ordering = ("level",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledger-like rows written by services only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DunningNotice)
class DunningNoticeAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    scope_path = "invoice__"
    scope_financial = True

    list_display = ("invoice", "level", "created_at", "sent_at", "sent_to")
    list_filter = ("level", "sent_at")
    list_select_related = ("invoice", "level")
    search_fields = ("invoice__number", "sent_to")


@admin.register(CustomerCredit)
class CustomerCreditAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    scope_path = "invoice__"
    scope_financial = True

    list_display = ("account", "amount", "invoice", "note", "created_at")
    list_select_related = ("account", "invoice")
    search_fields = ("account__name", "invoice__number")
