"""JSON API for opportunities, and the lead → opportunity conversion (`POST /api/leads/{id}/qualify/`), which
lives here like its service: the target app of a conversion owns it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.activities import (
    ActivityCreateSerializer,
    ActivityFilter,
    ActivitySerializer,
    ActivityUpdateSerializer,
    register_target,
    visible_activities,
)
from crm.api.fields import MoneySerializer, RecordFilter, request_user
from crm.api.viewsets import ScopedViewSet, crud_schema, transition
from crm.models import Account, Activity, User
from leads import api as leads_api
from leads.models import Lead
from leads.selectors import assignable_owners
from leads.services import activity_log
from opportunities import services
from opportunities.models import Competitor, LostReason, Opportunity, Stage
from opportunities.selectors import lost_reasons_for, visible_accounts
from opportunities.services import opportunity_create_from_lead


class OpportunitySerializer(serializers.ModelSerializer):
    amount = MoneySerializer(read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)

    class Meta:
        model = Opportunity
        fields = [
            "id", "number", "state", "name", "account", "contact", "lead", "amount", "expected_close_date",
            "probability", "stage", "stage_name", "stage_entered_at", "description", "lost_reason", "lost_to",
            "lost_note", "closed_at", "owner", "team", "created_at", "updated_at",
        ]
        read_only_fields = fields


class OpportunityWriteSerializer(serializers.Serializer):
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.none())
    name = serializers.CharField(max_length=200)
    amount = MoneySerializer(required=False)
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(), required=False,
        help_text="A stage of the deal's pipeline; empty starts in the first stage.",
    )
    description = serializers.CharField(required=False, allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.none(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = request_user(self)
        if user is not None:
            self.fields["account"].queryset = visible_accounts(user)
            self.fields["owner"].queryset = assignable_owners(user)


class MoveSerializer(serializers.Serializer):
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())


class LoseSerializer(serializers.Serializer):
    reason = serializers.PrimaryKeyRelatedField(
        queryset=LostReason.objects.none(), required=False, allow_null=True,
        help_text="A lost reason offered in the deal's pipeline; mandatory unless the team says otherwise.",
    )
    lost_to = serializers.PrimaryKeyRelatedField(queryset=Competitor.objects.all(), required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        record = self.context.get("record")
        self.fields["reason"].queryset = lost_reasons_for(record.team if record else None)


class QualifySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True)
    currency = serializers.ChoiceField(choices=settings.CURRENCY_CHOICES, default=settings.DEFAULT_CURRENCY)
    expected_close_date = serializers.DateField(required=False, allow_null=True)


class OpportunityFilter(RecordFilter):
    class Meta:
        model = Opportunity
        fields = {"state": ["exact"], "stage": ["exact"], "account": ["exact"],
                  "expected_close_date": ["gte", "lte"]}


@crud_schema("opportunities", OpportunitySerializer)
class OpportunityViewSet(ScopedViewSet):
    queryset = Opportunity.objects.select_related("stage")
    serializer_class = OpportunitySerializer
    create_serializer_class = OpportunityWriteSerializer
    update_serializer_class = OpportunityWriteSerializer
    filterset_class = OpportunityFilter
    search_fields = ["number", "name", "account__name"]
    ordering_fields = ["created_at", "updated_at", "expected_close_date", "amount", "name", "number"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def perform_create(self, data: dict[str, Any]) -> Opportunity:
        return services.opportunity_create(actor=self.request.user, **data)

    def perform_update(self, record: Opportunity, data: dict[str, Any]) -> Opportunity:
        return services.opportunity_update(opportunity=record, actor=self.request.user, **data)

    @transition("move", summary="Move an open deal to another stage (exit criteria apply)",
                request=MoveSerializer, response=OpportunitySerializer)
    def move(self, request: Request, pk: str) -> Response:
        return self.run(services.opportunity_move_stage, record_arg="opportunity", input_class=MoveSerializer)

    @transition("mark-won", summary="Mark a deal won", response=OpportunitySerializer)
    def mark_won(self, request: Request, pk: str) -> Response:
        return self.run(services.opportunity_win, record_arg="opportunity")

    @transition("mark-lost", summary="Mark a deal lost (with a reason)", request=LoseSerializer,
                response=OpportunitySerializer)
    def mark_lost(self, request: Request, pk: str) -> Response:
        return self.run(services.opportunity_lose, record_arg="opportunity", input_class=LoseSerializer)

    @transition("reopen", summary="Reopen a lost deal", response=OpportunitySerializer)
    def reopen(self, request: Request, pk: str) -> Response:
        return self.run(services.opportunity_reopen, record_arg="opportunity")


class LeadViewSet(leads_api.LeadViewSet):
    """The lead endpoints plus the conversion into an opportunity."""

    @transition("qualify", summary="Qualify a lead: account, contact and opportunity (idempotent)",
                request=QualifySerializer, response=OpportunitySerializer)
    def qualify(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        opportunity = opportunity_create_from_lead(lead=lead, actor=request.user, **self.validated(QualifySerializer))
        return self.respond(opportunity, serializer_class=OpportunitySerializer)


@crud_schema("activities", ActivitySerializer)
class ActivityViewSet(ScopedViewSet):
    queryset = Activity.objects.all()
    serializer_class = ActivitySerializer
    create_serializer_class = ActivityCreateSerializer
    update_serializer_class = ActivityUpdateSerializer
    filterset_class = ActivityFilter
    search_fields = ["subject", "body"]
    ordering_fields = ["created_at", "due_at"]
    # Ticking off is the only change: what happened stays as it was logged.
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Activity]:
        return visible_activities(self.request.user)

    def perform_create(self, data: dict[str, Any]) -> Activity:
        return activity_log(actor=self.request.user, **data)

    def perform_update(self, record: Activity, data: dict[str, Any]) -> Activity:
        return services.activity_set_done(activity=record, actor=self.request.user, **data)


register_target("lead", Lead)
register_target("opportunity", Opportunity)
