"""Serializer pieces shared by every app's API: money as {"amount": "1200.00", "currency": "EUR"}, ids."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from djmoney.money import Money
from rest_framework import serializers

from crm import money

# The largest value of a 64-bit primary key: bigger ids in a filter are refused as input instead of
# reaching the database (where they would overflow the column type).
MAX_ID = 2**63 - 1


class MoneySerializer(serializers.Serializer):
    """Money in JSON: the amount as a decimal string (never a float) and its currency.

    Amounts are shown rounded to the currency's minor unit; `exact=True` keeps the stored precision
    (unit prices may have four decimals).
    """

    amount = serializers.DecimalField(max_digits=16, decimal_places=4, coerce_to_string=True)
    currency = serializers.ChoiceField(choices=settings.CURRENCY_CHOICES)

    def __init__(self, *args: Any, exact: bool = False, **kwargs: Any) -> None:
        self.exact = exact
        super().__init__(*args, **kwargs)

    def to_representation(self, value: Money) -> dict[str, str]:
        currency = str(value.currency)
        amount = Decimal(value.amount)
        if not self.exact:
            amount = money.quantize(amount, currency)
        return {"amount": str(amount), "currency": currency}

    def to_internal_value(self, data: Any) -> Money:
        validated = super().to_internal_value(data)
        return Money(validated["amount"], validated["currency"])


class IdFilter(filters.Filter):
    """Filter on a foreign key by id, as a bounded integer (an out-of-range id is a 400, not a crash)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, turned into UTC before it reaches the database: Python accepts offsets up to
    ±24 h, PostgreSQL only up to ±15:59, and a date at the edge of the calendar may not convert at all."""

    def to_python(self, value: Any) -> datetime | None:
        result = super().to_python(value)
        if result is None:
            return None
        try:
            return result.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise ValidationError(_("Enter a date and time between the years 1 and 9999."), code="invalid") from exc


class DateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class RecordFilter(filters.FilterSet):
    """Filters every sales record has: owner, team and a creation date range."""

    owner = IdFilter(field_name="owner_id")
    team = IdFilter(field_name="team_id")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer (documented in the schema)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(required=False, help_text="Per field messages, for invalid input.")


class DoneSerializer(serializers.Serializer):
    done = serializers.BooleanField()


def request_user(serializer: serializers.Serializer) -> Any:
    """The signed-in user a serializer validates for, or None (e.g. while the schema is generated)."""
    request = serializer.context.get("request")
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None
