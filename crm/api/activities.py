"""Activities (calls, meetings, notes, tasks) on any record: who sees which, and their JSON shapes.

An activity is visible when its record is (or it is one's own): each app's api module registers its record
type here (`register_target`), so crm, the first app of the flow, imports none of the record apps. The
viewset lives in opportunities/api.py next to the activity services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from rest_framework import serializers

from crm.api.fields import MAX_ID, DateTimeFilter, IdFilter, request_user
from crm.api.parties import visible_accounts
from crm.models import Account, Activity, ActivityKind, User
from crm.permissions import sees_everything

# target type name → (model, the queryset of those the user may see)
TARGETS: dict[str, tuple[type[Model], Callable[[User], QuerySet]]] = {"account": (Account, visible_accounts)}


def register_target(name: str, model: type[Model], visible: Callable[[User], QuerySet] | None = None) -> None:
    TARGETS[name] = (model, visible or (lambda user: model.objects.visible_to(user)))


def visible_activities(user: User, activities: QuerySet[Activity] | None = None) -> QuerySet[Activity]:
    """Of `activities` (default: all), the user's own and those on records the user may see: one query (a
    subquery per record type), however many activities there are."""
    activities = Activity.objects.all() if activities is None else activities
    if sees_everything(user):
        return activities
    visible = Q(owner=user)
    for model, scoped in TARGETS.values():
        content_type = ContentType.objects.get_for_model(model)
        visible |= Q(content_type=content_type, object_id__in=scoped(user).values("pk"))
    return activities.filter(visible)


def _target_name(activity: Activity) -> str:
    for name, (model, _scoped) in TARGETS.items():
        if ContentType.objects.get_for_model(model).pk == activity.content_type_id:
            return name
    return ""


class ActivitySerializer(serializers.ModelSerializer):
    target_type = serializers.SerializerMethodField()
    target_id = serializers.IntegerField(source="object_id", read_only=True)

    class Meta:
        model = Activity
        fields = ["id", "kind", "subject", "body", "due_at", "done", "owner", "target_type", "target_id", "created_at"]
        read_only_fields = fields

    def get_target_type(self, activity: Activity) -> str:
        return _target_name(activity)


class ActivityCreateSerializer(serializers.Serializer):
    target_type = serializers.ChoiceField(choices=[], help_text="lead, opportunity, quote, order, invoice or account")
    target_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    kind = serializers.ChoiceField(choices=ActivityKind.choices, default=ActivityKind.NOTE)
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(required=False, allow_blank=True, default="")
    due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_type"].choices = sorted(TARGETS)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        _model, scoped = TARGETS[data.pop("target_type")]
        target = scoped(request_user(self)).filter(pk=data.pop("target_id")).first()
        if target is None:
            raise serializers.ValidationError({"target_id": _("No such record in your scope.")})
        data["target"] = target
        return data


class ActivityUpdateSerializer(serializers.Serializer):
    done = serializers.BooleanField()


class ActivityFilter(filters.FilterSet):
    owner = IdFilter(field_name="owner_id")
    target_id = IdFilter(field_name="object_id")
    due_after = DateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = DateTimeFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = Activity
        fields = ["kind", "done"]
