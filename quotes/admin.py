"""Admin for quotes. State and money are read-only: totals follow the lines, the state follows the
transitions, which run as admin actions through the same services as the seller pages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.admin import FieldHistoryAdmin, ScopedAdminMixin
from crm.workflow import DomainError
from leads.admin import run_for_each
from quotes import services
from quotes.models import Quote, QuoteAcceptance, QuoteLine, QuoteState

EDITABLE = ("title", "valid_until", "contact", "language", "terms", "notes")
MONEY_READONLY = ("currency", "net_total", "tax_total", "gross_total")


class ReadOnlyLineInline(admin.TabularInline):
    """Document lines as they are: adding or changing them goes through the services (totals, rules)."""

    fields = ("position", "product", "description", "quantity", "unit", "unit_price", "discount_percent",
              "tax_percent", "net")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("product")


class QuoteLineInline(ReadOnlyLineInline):
    model = QuoteLine
    fields = ("position", "kind", "product", "description", "quantity", "unit", "unit_price", "discount_percent",
              "discount_amount", "recurring", "tax_percent", "net")
    readonly_fields = fields


@admin.register(QuoteAcceptance)
class QuoteAcceptanceAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "quote__"
    scope_financial = True

    """Evidence, never edited: it is what the customer did."""

    list_display = ("quote", "name", "email", "accepted_at", "ip_address", "version")
    search_fields = ("quote__number", "name", "email")
    list_select_related = ("quote",)
    date_hierarchy = "accepted_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Quote)
class QuoteAdmin(ScopedAdminMixin, FieldHistoryAdmin):
    list_display = ("number", "title", "account", "state", "valid_until", "gross_total", "owner", "team", "created_at")
    list_filter = ("state", "team", "currency", "language")
    search_fields = ("number", "title", "account__name", "opportunity__name")
    list_select_related = ("account", "owner", "team")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    raw_id_fields = ("contact",)
    inlines = (QuoteLineInline,)
    actions = ("send_quotes", "cancel_quotes", "render_pdfs")
    fieldsets = (
        (None, {"fields": ("number", "version", "root", "state", "title", "opportunity", "account", "contact", "owner",
                           "team")}),
        (_("Validity and terms"), {"fields": ("valid_until", "language", "terms", "notes")}),
        (_("Totals"), {"fields": (*MONEY_READONLY, "discount_percent", "discount_amount")}),
        (_("Progress"), {"fields": ("sent_at", "emailed_to", "emailed_at", "decided_at", "rejection_reason", "pdf",
                                    "pdf_sha256", "pdf_rendered_at",
                                    "created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Quote | None = None) -> tuple[str, ...]:
        every = tuple(f for fieldset in self.fieldsets for f in fieldset[1]["fields"])
        return tuple(f for f in every if f not in EDITABLE)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a quote is written from an opportunity (seller UI), never from scratch

    def has_change_permission(self, request: HttpRequest, obj: Quote | None = None) -> bool:
        if obj is not None and obj.state != QuoteState.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Quote | None = None) -> bool:
        if obj is not None and obj.state != QuoteState.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Quote, form: Any, change: bool) -> None:
        # Through the service, so the draft-only rule and validation apply here too.
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE}
        if not fields:
            return
        try:
            services.quote_update(quote=obj, actor=request.user, **fields)
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description=_("Send selected quotes"), permissions=["change"])
    def send_quotes(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        run_for_each(self, request, queryset, services.quote_send, "quote")

    @admin.action(description=_("Cancel selected draft quotes"), permissions=["change"])
    def cancel_quotes(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        run_for_each(self, request, queryset, services.quote_cancel, "quote")

    @admin.action(description=_("Render missing PDFs now"), permissions=["view"])
    def render_pdfs(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        rendered = sum(services.quote_render_pdf(quote_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, _("%(count)d PDF(s) rendered.") % {"count": rendered}, messages.SUCCESS)
