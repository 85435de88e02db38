"""JSON API for leads: the same services and rules as the lead pages (see crm/api/ for the plumbing).

Qualifying (lead → opportunity) is added by opportunities/api.py, the target app, like its service.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.fields import RecordFilter, request_user
from crm.api.viewsets import ScopedViewSet, crud_schema, transition
from crm.models import User
from leads import services
from leads.models import DisqualificationReason, Lead, LeadSource
from leads.selectors import assignable_owners, lead_duplicates


class LeadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = [
            "id", "number", "state", "first_name", "last_name", "email", "phone", "company", "title", "source",
            "country", "notes", "score", "disqualify_reason", "qualified_at", "owner", "team",
            "utm_source", "utm_medium", "utm_campaign", "created_at", "updated_at",
        ]
        read_only_fields = fields


class OwnerScopedSerializer(serializers.Serializer):
    """Input serializers with an `owner`: only the user and the people of their teams (as in the form)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = request_user(self)
        if "owner" in self.fields and user is not None:
            self.fields["owner"].queryset = assignable_owners(user)


class LeadWriteSerializer(OwnerScopedSerializer):
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=LeadSource.choices, required=False)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.none(), required=False)
    save_anyway = serializers.BooleanField(
        required=False, default=False, write_only=True,
        help_text="Save even though a lead or contact with this e-mail exists (the form's “Save anyway”).",
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        # The lead form's duplicate check: a new e-mail that matches a lead or contact is refused unless the
        # client says it is not a duplicate.
        email = data.get("email") or ""
        instance = self.instance
        changed = email and (instance is None or email != instance.email)
        if changed and not data.get("save_anyway"):
            user = self.context["request"].user
            if lead_duplicates(user=user, email=email, exclude_pk=instance.pk if instance else None):
                raise serializers.ValidationError(
                    {"email": _("This lead may already exist. Check the matches, or send save_anyway=true.")}
                )
        data.pop("save_anyway", None)
        return data


class DisqualifySerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=20, help_text="Code of an active disqualification reason.")

    def validate_reason(self, value: str) -> str:
        if not DisqualificationReason.objects.filter(code=value, active=True).exists():
            raise serializers.ValidationError(_("Choose why this lead is disqualified."))
        return value


class ReassignSerializer(OwnerScopedSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.none())


class LeadFilter(RecordFilter):
    class Meta:
        model = Lead
        fields = ["state", "source"]


@crud_schema("leads", LeadSerializer)
class LeadViewSet(ScopedViewSet):
    queryset = Lead.objects.select_related("owner", "team")
    serializer_class = LeadSerializer
    create_serializer_class = LeadWriteSerializer
    update_serializer_class = LeadWriteSerializer
    filterset_class = LeadFilter
    search_fields = ["number", "first_name", "last_name", "email", "company"]
    ordering_fields = ["created_at", "updated_at", "score", "last_name", "company", "number"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def perform_create(self, data: dict[str, Any]) -> Lead:
        return services.lead_create(actor=self.request.user, **data)

    def perform_update(self, record: Lead, data: dict[str, Any]) -> Lead:
        return services.lead_update(lead=record, actor=self.request.user, **data)

    @transition("start-work", summary="Start working on a lead", response=LeadSerializer)
    def start_work(self, request: Request, pk: str) -> Response:
        return self.run(services.lead_start_work, record_arg="lead")

    @transition("disqualify", summary="Disqualify a lead (with a reason)", request=DisqualifySerializer,
                response=LeadSerializer)
    def disqualify(self, request: Request, pk: str) -> Response:
        return self.run(services.lead_disqualify, record_arg="lead", input_class=DisqualifySerializer)

    @transition("recycle", summary="Put a disqualified lead back in work", response=LeadSerializer)
    def recycle(self, request: Request, pk: str) -> Response:
        return self.run(services.lead_recycle, record_arg="lead")

    @transition("reassign", summary="Hand a lead to someone of your teams", request=ReassignSerializer,
                response=LeadSerializer)
    def reassign(self, request: Request, pk: str) -> Response:
        return self.run(services.lead_assign, record_arg="lead", input_class=ReassignSerializer)
