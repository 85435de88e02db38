"""Admin for leads. The status is read-only: it changes through the same services the seller pages call."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm.admin import FieldHistoryAdmin, ScopedAdminMixin
from crm.workflow import DomainError
from leads import services, webforms
from leads.models import AssignmentRule, DisqualificationReason, ImportJob, Lead, ProcessedEmail, ScoringRule, WebForm

READONLY = ("number", "state", "score", "qualified_at", "disqualify_reason", "created_at", "updated_at")


def run_for_each(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, service: Callable[..., object],
    argument: str, **kwargs: object,
) -> None:
    """Call `service` per record, so every record gets the same checks and log as in the seller UI; a refusal
    is reported for that record and the others still go through."""
    done = 0
    for record in queryset:
        try:
            service(**{argument: record}, actor=request.user, **kwargs)
        except DomainError as exc:
            modeladmin.message_user(request, f"{record}: {exc}", messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(
            request, ngettext("%(count)d record changed.", "%(count)d records changed.", done) % {"count": done},
            messages.SUCCESS,
        )


@admin.register(Lead)
class LeadAdmin(ScopedAdminMixin, FieldHistoryAdmin):
    list_display = ("number", "full_name", "company", "state", "source", "score", "owner", "team", "created_at")
    list_filter = ("state", "source", "team", "disqualify_reason")
    search_fields = ("search_text",)  # number, name, e-mail, company: one trigram index (Lead.search_text)
    list_select_related = ("owner", "team")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = READONLY
    fieldsets = (
        (None, {"fields": ("number", "state", "first_name", "last_name", "email", "phone", "company", "title")}),
        (_("Qualification"), {"fields": ("source", "country", "vat_id", "registration_number", "score", "notes",
                                         "qualified_at", "disqualify_reason")}),
        (_("Campaign"), {"fields": ("utm_source", "utm_medium", "utm_campaign"), "classes": ("collapse",)}),
        (_("Ownership"), {"fields": ("owner", "team", "created_at", "updated_at")}),
    )
    actions = ("start_work", "recycle", "disqualify_duplicate")

    def get_readonly_fields(self, request: HttpRequest, obj: Lead | None = None) -> tuple[str, ...]:
        if obj is not None and obj.state == "qualified":
            # A qualified lead is closed (lead_update refuses it): show it, do not offer a form.
            return tuple(f.name for f in Lead._meta.concrete_fields if f.name != "id" and not f.generated)
        return READONLY

    def save_model(self, request: HttpRequest, obj: Lead, form, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name not in READONLY}
        if change:
            services.lead_update(lead=obj, actor=request.user, **fields)
            return
        created = services.lead_create(
            actor=request.user, **{name: form.cleaned_data[name] for name in form.cleaned_data}
        )
        # The admin logs the addition and redirects with obj: give it the saved row's identity.
        obj.pk, obj.number, obj.team = created.pk, created.number, created.team

    @admin.action(description=_("Start working"))
    def start_work(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        run_for_each(self, request, queryset, services.lead_start_work, "lead")

    @admin.action(description=_("Recycle (back to working)"))
    def recycle(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        run_for_each(self, request, queryset, services.lead_recycle, "lead")

    @admin.action(description=_("Disqualify as duplicate"))
    def disqualify_duplicate(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        run_for_each(self, request, queryset, services.lead_disqualify, "lead", reason="duplicate")


class WebFormAdminForm(forms.ModelForm):
    allowed_fields = forms.MultipleChoiceField(
        label=_("Fields"), choices=WebForm.FIELD_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: all fields. The last name is always part of the form."),
    )
    required_fields = forms.MultipleChoiceField(
        label=_("Required fields"), choices=WebForm.FIELD_CHOICES, required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    thank_you_url = forms.URLField(
        label=_("thank-you page"), required=False, assume_scheme="https",
        help_text=_("Browsers posting the HTML form are sent here afterwards."),
    )

    class Meta:
        model = WebForm
        fields = (
            "name", "active", "default_source", "default_owner", "team", "allowed_fields", "required_fields",
            "thank_you_url",
        )


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    form = WebFormAdminForm
    list_display = ("name", "default_source", "default_owner", "team", "active", "created_at")
    list_filter = ("active", "team")
    list_select_related = ("default_owner", "team")
    search_fields = ("name",)
    readonly_fields = ("endpoint", "snippet")
    fields = (
        "name", "active", "default_source", "default_owner", "team", "allowed_fields", "required_fields",
        "thank_you_url", "endpoint", "snippet",
    )

    @admin.display(description=_("Endpoint"))
    def endpoint(self, obj: WebForm) -> str:
        return webforms.endpoint_url(obj) if obj.pk else "—"

    @admin.display(description=_("HTML for the website"))
    def snippet(self, obj: WebForm) -> str:
        if not obj.pk:
            return _("Save the form first; its HTML appears here.")
        return format_html(
            # No onclick select-all: the CSP forbids inline handlers (the admin allows inline styles only).
            '<p>{}</p><textarea readonly rows="16" cols="100" style="font-family: monospace">{}</textarea>',
            _("Copy this into the website's contact page. JSON posts to the endpoint work too."),
            webforms.html_snippet(obj),
        )


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "field", "condition", "value", "points", "active", "position")
    list_editable = ("points", "active", "position")
    list_filter = ("active", "field")


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "method", "source", "countries", "active", "position", "last_assigned")
    list_editable = ("active", "position")
    list_filter = ("active", "method", "team")
    list_select_related = ("team", "last_assigned")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("file_name", "created_by", "state", "total", "created", "skipped", "created_at")
    list_filter = ("state",)
    list_select_related = ("created_by",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # imports start from the upload page, which checks the file

    def get_readonly_fields(self, request: HttpRequest, obj: ImportJob | None = None) -> list[str]:
        return [f.name for f in ImportJob._meta.fields]


@admin.register(ProcessedEmail)
class ProcessedEmailAdmin(admin.ModelAdmin):
    list_display = ("message_id", "lead", "processed_at")
    search_fields = ("message_id",)
    list_select_related = ("lead",)

    def get_readonly_fields(self, request: HttpRequest, obj: ProcessedEmail | None = None) -> list[str]:
        return [f.name for f in ProcessedEmail._meta.fields]


@admin.register(DisqualificationReason)
class DisqualificationReasonAdmin(admin.ModelAdmin):
    list_display = ("label", "code", "active", "position")
    list_editable = ("active", "position")

    def has_delete_permission(self, request: HttpRequest, obj: DisqualificationReason | None = None) -> bool:
        return False  # leads keep the code: retire a reason by unticking "active"
