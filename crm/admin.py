"""Admin for the shared core: users and teams, customers, the catalog, the company profile.

Sales records (leads … invoices) register their own admins in their apps; their state changes go
through services there. Here, sequences are read-only (numbers are only taken by crm.numbering) and
the company profile is a single row."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.api.activities import visible_activities
from crm.models import (
    Account,
    Activity,
    CompanyProfile,
    Contact,
    ExchangeRate,
    FieldChange,
    FormSubmission,
    PendingTask,
    PriceList,
    PriceListItem,
    Product,
    Sequence,
    TaxRate,
    Team,
    TwoFactorDevice,
    User,
)
from crm.permissions import scope


class ScopedAdminMixin:
    """Restrict a ModelAdmin's lists, change pages and actions to the records the user may see.

    The same `crm.permissions.scope()` as the seller pages, so a record outside scope is "not found" in
    admin too. `scope_path` reaches the scoped record from a child model ("invoice__" for payments);
    `scope_financial` says whether accountants see all of them (default: the model's FINANCIAL flag).
    Today every admin user is staff and staff see everything, so this changes nothing for them; it is here
    so that admin is never the one path that forgets scope if that rule or a user's flags change.
    """

    scope_path: str = ""
    scope_financial: bool | None = None

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        financial = self.scope_financial
        if financial is None:
            financial = getattr(queryset.model, "FINANCIAL", False)
        return scope(queryset, request.user, financial=financial, prefix=self.scope_path)


admin.site.site_header = _("Salesflow administration")
admin.site.site_title = _("Salesflow admin")
admin.site.index_title = _("Configuration and data")


class FieldHistoryAdmin(admin.ModelAdmin):
    """Adds the record's field changes (old → new, who, when) to the admin "History" page."""

    object_history_template = "admin/field_history.html"

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None):
        content_type = ContentType.objects.get_for_model(self.model)
        changes = FieldChange.objects.none()
        if object_id.isdigit():
            changes = (FieldChange.objects.filter(content_type=content_type, object_id=int(object_id))
                       .select_related("changed_by", "content_type").order_by("-changed_at", "-pk")[:500])
        return super().history_view(request, object_id, {**(extra_context or {}), "field_changes": changes})


@admin.register(FieldChange)
class FieldChangeAdmin(admin.ModelAdmin):
    """Read-only: history is written by crm.tracking, never by hand."""

    list_display = ("changed_at", "content_type", "object_id", "field", "old_value", "new_value", "changed_by")
    list_filter = ("content_type",)
    search_fields = ("field", "old_value", "new_value", "changed_by__username")
    list_select_related = ("content_type", "changed_by")
    date_hierarchy = "changed_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: FieldChange | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: FieldChange | None = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Preferences"), {"fields": ("language",)}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email", "language")}),
        (_("Roles"), {"fields": ("groups",)}),
    )
    list_display = ("username", "first_name", "last_name", "email", "roles", "team_names", "is_staff", "is_active")
    list_filter = ("groups", "teams", "is_staff", "is_superuser", "is_active", "language")
    filter_horizontal = ("groups", "user_permissions")

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups", "teams")

    @admin.display(description=_("roles"))
    def roles(self, obj: User) -> str:
        return ", ".join(group.name for group in obj.groups.all())

    @admin.display(description=_("teams"))
    def team_names(self, obj: User) -> str:
        return ", ".join(team.name for team in obj.teams.all())


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "manager", "member_count")
    search_fields = ("name",)
    list_select_related = ("manager",)
    autocomplete_fields = ("manager",)
    filter_horizontal = ("members",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(member_count=Count("members", distinct=True))

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, obj: Team) -> int:
        return obj.member_count


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ("first_name", "last_name", "title", "email", "phone")


@admin.register(Account)
class AccountAdmin(ScopedAdminMixin, FieldHistoryAdmin):
    list_display = ("name", "domain", "city", "country", "vat_id", "owner", "team", "created_at")
    list_filter = ("team", "country")
    search_fields = ("name", "domain", "vat_id", "registration_number", "email", "city")
    list_select_related = ("owner", "team")
    autocomplete_fields = ("owner",)
    date_hierarchy = "created_at"
    inlines = (ContactInline,)
    fieldsets = (
        (None, {"fields": ("name", "domain", "vat_id", "registration_number", "email", "phone", "segment")}),
        (_("Address"), {"fields": ("street", "postal_code", "city", "country")}),
        (_("Ownership"), {"fields": ("owner", "team", "created_at")}),
    )


@admin.register(Contact)
class ContactAdmin(ScopedAdminMixin, FieldHistoryAdmin):
    scope_path = "account__"

    list_display = ("__str__", "account", "title", "email", "phone")
    search_fields = ("first_name", "last_name", "email", "account__name")
    list_select_related = ("account",)
    autocomplete_fields = ("account",)


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ("name", "percent", "category", "exemption_reason", "active")
    list_filter = ("category", "active")
    search_fields = ("name",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "price", "unit", "recurring", "tax_rate", "active")
    list_filter = ("active", "recurring", "tax_rate")
    search_fields = ("sku", "name", "description")
    list_select_related = ("tax_rate",)


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 1
    autocomplete_fields = ("product",)


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = ("name", "currency", "segment", "active")
    list_filter = ("currency", "segment", "active")
    search_fields = ("name", "segment")
    inlines = (PriceListItemInline,)


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Rates are entered here or imported with `manage.py import_rates FILE`."""

    list_display = ("date", "currency", "rate")
    list_filter = ("currency",)
    date_hierarchy = "date"
    ordering = ("-date", "currency")


@admin.register(CompanyProfile)
class CompanyProfileAdmin(admin.ModelAdmin):
    """The one row printed on every quote and invoice."""

    list_display = ("legal_name", "city", "vat_id", "iban")
    fieldsets = (
        (None, {"fields": ("legal_name", "vat_id")}),
        (_("Address"), {"fields": ("street", "postal_code", "city", "country")}),
        (_("Contact"), {"fields": ("email", "phone")}),
        (_("Bank account"), {"fields": ("iban", "bic", "bank_name")}),
        (_("Quote defaults"), {"fields": ("default_quote_terms", "default_validity_days", "default_payment_terms")}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not CompanyProfile.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: CompanyProfile | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CompanyProfile, form, change: bool) -> None:
        obj.pk = 1  # CompanyProfile.current() reads this row
        super().save_model(request, obj, form, change)


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    """Shown for ops; never edited: a changed counter would break gapless invoice numbers."""

    list_display = ("series", "year", "last_value")
    list_filter = ("series", "year")
    ordering = ("series", "-year")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Sequence | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Sequence | None = None) -> bool:
        return False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    """Scoped like the API's activity list: an activity has no team of its own, so ScopedAdminMixin's
    owner/team filter does not apply; it follows the record it is logged on (or its owner)."""

    list_display = ("subject", "kind", "content_type", "object_id", "owner", "due_at", "done", "created_at")
    list_filter = ("kind", "done", "content_type")
    search_fields = ("subject", "body")
    list_select_related = ("owner", "content_type")
    autocomplete_fields = ("owner",)
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Activity]:
        return visible_activities(request.user, super().get_queryset(request))


@admin.register(TwoFactorDevice)
class TwoFactorDeviceAdmin(admin.ModelAdmin):
    """Read-only, except that staff can delete a device when its owner lost phone and recovery codes; the
    owner then sets up a new one. The secret is never shown."""

    list_display = ["user", "confirmed_at"]
    search_fields = ["user__username", "user__email"]
    fields = ["user", "confirmed_at"]
    readonly_fields = ["user", "confirmed_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: TwoFactorDevice | None = None) -> bool:
        return False


@admin.register(PendingTask)
class PendingTaskAdmin(admin.ModelAdmin):
    """Work kept while the broker was down; `requeue_tasks` (or beat, every minute) sends it again."""

    list_display = ("task_name", "args", "created_at", "attempts", "last_error")
    list_filter = ("task_name",)
    readonly_fields = ("task_name", "args", "created_at", "attempts", "last_error")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(FormSubmission)
class FormSubmissionAdmin(admin.ModelAdmin):
    list_display = ("token", "user", "result_url", "created_at")
    list_select_related = ("user",)
    readonly_fields = ("token", "user", "result_url", "created_at")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
