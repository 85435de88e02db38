"""JSON API for accounts (customer companies) and their contacts.

An account is visible like a sales record (owner, team); a contact is visible with its account.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from rest_framework import serializers

from crm import services
from crm.api.fields import DateTimeFilter, IdFilter, request_user
from crm.api.viewsets import ScopedViewSet, crud_schema
from crm.models import Account, Contact, User
from crm.permissions import scope


def visible_accounts(user: User) -> QuerySet[Account]:
    return scope(Account.objects.all(), user)


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = [
            "id", "name", "domain", "vat_id", "email", "phone", "street", "postal_code", "city", "country",
            "segment", "owner", "team", "created_at",
        ]
        read_only_fields = fields


class AccountWriteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["name", "domain", "vat_id", "email", "phone", "street", "postal_code", "city", "country", "segment"]


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "account", "first_name", "last_name", "email", "phone", "title", "created_at"]
        read_only_fields = fields


class ContactWriteSerializer(serializers.ModelSerializer):
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.none())

    class Meta:
        model = Contact
        fields = ["account", "first_name", "last_name", "email", "phone", "title"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = request_user(self)
        if user is not None:
            self.fields["account"].queryset = visible_accounts(user)


class AccountFilter(filters.FilterSet):
    owner = IdFilter(field_name="owner_id")
    team = IdFilter(field_name="team_id")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Account
        fields = ["country", "segment"]


class ContactFilter(filters.FilterSet):
    account = IdFilter(field_name="account_id")

    class Meta:
        model = Contact
        fields: list[str] = []


@crud_schema("accounts", AccountSerializer)
class AccountViewSet(ScopedViewSet):
    queryset = Account.objects.all()
    serializer_class = AccountSerializer
    create_serializer_class = AccountWriteSerializer
    update_serializer_class = AccountWriteSerializer
    filterset_class = AccountFilter
    search_fields = ["name", "domain", "email", "city"]
    ordering_fields = ["created_at", "name", "city"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Account]:
        return visible_accounts(self.request.user)

    def perform_create(self, data: dict[str, Any]) -> Account:
        return services.account_create(actor=self.request.user, **data)

    def perform_update(self, record: Account, data: dict[str, Any]) -> Account:
        return services.account_update(account=record, actor=self.request.user, **data)


@crud_schema("contacts", ContactSerializer)
class ContactViewSet(ScopedViewSet):
    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    create_serializer_class = ContactWriteSerializer
    update_serializer_class = ContactWriteSerializer
    filterset_class = ContactFilter
    search_fields = ["first_name", "last_name", "email", "account__name"]
    ordering_fields = ["created_at", "last_name"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Contact]:
        return Contact.objects.filter(account__in=visible_accounts(self.request.user).values("pk"))

    def perform_create(self, data: dict[str, Any]) -> Contact:
        return services.contact_create(actor=self.request.user, **data)

    def perform_update(self, record: Contact, data: dict[str, Any]) -> Contact:
        return services.contact_update(contact=record, actor=self.request.user, **data)
