"""Admin for opportunities and pipeline configuration. Status and stage of a deal change through the same services
as the seller pages (transitions as actions, stage moves through opportunity_update), so every exit gate holds and
every move is logged."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.admin import FieldHistoryAdmin, ScopedAdminMixin
from crm.workflow import DomainError
from leads.admin import run_for_each
from opportunities import services
from opportunities.models import (
    Competitor,
    LostReason,
    Opportunity,
    OpportunityCompetitor,
    OpportunityContact,
    PipelineSettings,
    PipelineSnapshot,
    RequiredField,
    SalesTarget,
    Stage,
    StageChange,
    StageChecklistItem,
    StageDocument,
)

READONLY = (
    "number", "state", "probability", "stage_entered_at", "lead", "lost_reason", "lost_to", "lost_note", "closed_at",
    "created_at", "updated_at",
)
EDITABLE = (
    "name", "account", "contact", "amount", "expected_close_date", "description", "owner", "team",
    "requirements", "budget_confirmed", "budget", "swot_strengths", "swot_weaknesses", "swot_opportunities",
    "swot_threats",
)


class StageAdminForm(forms.ModelForm):
    required_fields = forms.MultipleChoiceField(
        label=_("Required before leaving"), choices=RequiredField.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A deal moves forward past this stage only when all of these are true."),
    )

    class Meta:
        model = Stage
        fields = ("team", "name", "order", "probability", "required_fields", "requires_quote_sent", "guidance")


class StageChecklistInline(admin.TabularInline):
    model = StageChecklistItem
    fields = ("order", "label")
    extra = 1


class StageDocumentInline(admin.TabularInline):
    model = StageDocument
    fields = ("title", "file")
    extra = 1


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    """Pipelines are edited per team from the list: filter by team, change name, order and probability inline;
    a stage's page holds its exit criteria (required facts, checklist, quote sent), guidance and documents."""

    form = StageAdminForm
    list_display = ("name", "team", "order", "probability", "requires_quote_sent")
    list_display_links = ("name",)
    list_editable = ("order", "probability")
    list_filter = ("team",)
    list_select_related = ("team",)
    search_fields = ("name", "team__name")
    ordering = ("team__name", "order", "pk")
    fieldsets = (
        (None, {"fields": ("team", "name", "order", "probability")}),
        (_("Exit criteria"), {"fields": ("required_fields", "requires_quote_sent")}),
        (_("Guidance for the seller"), {"fields": ("guidance",)}),
    )
    inlines = (StageChecklistInline, StageDocumentInline)


class StageChangeInline(admin.TabularInline):
    model = StageChange
    fields = ("at", "from_stage", "to_stage", "by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-at", "-pk")

    def has_add_permission(self, request: HttpRequest, obj: Opportunity | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[StageChange]:
        return super().get_queryset(request).select_related("from_stage", "to_stage", "by")


class OpportunityAdminForm(forms.ModelForm):
    class Meta:
        model = Opportunity
        fields = (*EDITABLE, "stage")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "stage" in self.fields and self.instance.pk:
            stage_ids = [s.pk for s in services.pipeline_stages(self.instance.team)]
            self.fields["stage"].queryset = Stage.objects.filter(pk__in=stage_ids).order_by("order", "pk")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        stage = cleaned.get("stage")
        if self.instance.pk and stage is not None and stage.pk != self.instance.stage_id:
            # Judge the deal as it will be after this save: opportunity_update applies the edits, then moves.
            candidate = copy.copy(self.instance)
            for name in EDITABLE:
                if name in cleaned:
                    setattr(candidate, name, cleaned[name])
            try:
                services.stage_move_check(opportunity=candidate, stage=stage)
            except DomainError as exc:
                self.add_error("stage", str(exc))
        return cleaned


@admin.register(Opportunity)
class OpportunityAdmin(ScopedAdminMixin, FieldHistoryAdmin):
    form = OpportunityAdminForm
    list_display = (
        "number", "name", "account", "stage", "state", "amount", "probability", "expected_close_date", "owner", "team",
    )
    list_filter = ("state", "stage", "team", "lost_reason")
    search_fields = ("number", "name", "account__name")
    list_select_related = ("account", "stage", "owner", "team")
    raw_id_fields = ("account", "contact")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = (StageChangeInline,)
    actions = ("reopen", "mark_won")

    def get_readonly_fields(self, request: HttpRequest, obj: Opportunity | None = None) -> tuple[str, ...]:
        if obj is not None and obj.state != "open":
            return (*READONLY, "stage", *EDITABLE)  # opportunity_update refuses closed deals: reopen first
        return READONLY

    def save_model(self, request: HttpRequest, obj: Opportunity, form, change: bool) -> None:
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data if name in (*EDITABLE, "stage")}
            try:
                services.opportunity_update(opportunity=obj, actor=request.user, **fields)
            except DomainError as exc:  # the deal changed since the form was validated
                self.message_user(request, str(exc), messages.ERROR)
            return
        data = {name: value for name, value in form.cleaned_data.items() if name in (*EDITABLE, "stage")}
        created = services.opportunity_create(actor=request.user, **data)
        # The admin logs the addition and redirects with obj: give it the saved row's identity.
        obj.pk, obj.number = created.pk, created.number

    @admin.action(description=_("Reopen lost deals"))
    def reopen(self, request: HttpRequest, queryset: QuerySet[Opportunity]) -> None:
        run_for_each(self, request, queryset, services.opportunity_reopen, "opportunity")

    @admin.action(description=_("Mark won"))
    def mark_won(self, request: HttpRequest, queryset: QuerySet[Opportunity]) -> None:
        run_for_each(self, request, queryset, services.opportunity_win, "opportunity")


@admin.register(StageChange)
class StageChangeAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "opportunity__"

    """Read-only: the stage history is the basis of pipeline reports and must not be rewritten."""

    list_display = ("opportunity", "from_stage", "to_stage", "at", "by")
    list_filter = ("to_stage", "at")
    search_fields = ("opportunity__number", "opportunity__name")
    list_select_related = ("opportunity", "from_stage", "to_stage", "by")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StageChange | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StageChange | None = None) -> bool:
        return False


@admin.register(LostReason)
class LostReasonAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "code", "order", "active")
    list_editable = ("order", "active")
    list_filter = ("team", "active")
    list_select_related = ("team",)
    search_fields = ("name", "code")


@admin.register(SalesTarget)
class SalesTargetAdmin(admin.ModelAdmin):
    """Monthly targets per team, and per seller of it; the forecast page sums them over the chosen period."""

    list_display = ("month", "team", "seller", "amount")
    list_filter = ("team", "month")
    list_select_related = ("team", "seller")
    date_hierarchy = "month"
    ordering = ("-month", "team__name", "seller__last_name")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("month", timezone.localdate().replace(day=1))
        return initial


@admin.register(PipelineSettings)
class PipelineSettingsAdmin(admin.ModelAdmin):
    list_display = ("team", "lost_reason_required")
    list_editable = ("lost_reason_required",)
    list_select_related = ("team",)


@admin.register(Competitor)
class CompetitorAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("name", "website")
    search_fields = ("name",)


@admin.register(OpportunityContact)
class OpportunityContactAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "opportunity__"

    list_display = ("opportunity", "contact", "role")
    list_filter = ("role",)
    list_select_related = ("opportunity", "contact")
    raw_id_fields = ("opportunity", "contact")


@admin.register(OpportunityCompetitor)
class OpportunityCompetitorAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "opportunity__"

    list_display = ("opportunity", "competitor")
    list_select_related = ("opportunity", "competitor")
    raw_id_fields = ("opportunity",)


@admin.register(PipelineSnapshot)
class PipelineSnapshotAdmin(admin.ModelAdmin):
    """Read-only: snapshots are history, written by the weekly task."""

    list_display = ("week", "opportunity", "stage", "amount", "probability", "expected_close_date", "state")
    list_filter = ("week", "state")
    list_select_related = ("opportunity", "stage")
    search_fields = ("opportunity__number", "opportunity__name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PipelineSnapshot | None = None) -> bool:
        return False
