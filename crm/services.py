"""Writes on the shared parties (accounts, their contacts) and on users' API tokens."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework.authtoken.models import Token

from crm.models import Account, Contact, Team, User

ACCOUNT_FIELDS = frozenset(
    {"name", "domain", "vat_id", "email", "phone", "street", "postal_code", "city", "country", "segment", "owner",
     "team"}
)
CONTACT_FIELDS = frozenset({"account", "first_name", "last_name", "email", "phone", "title"})


def _default_team(user: User) -> Team | None:
    return user.teams.order_by("pk").first()


def _check_fields(fields: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")


@transaction.atomic
def account_create(*, actor: User, **fields: Any) -> Account:
    _check_fields(fields, ACCOUNT_FIELDS)
    owner = fields.pop("owner", None) or actor
    team = fields.pop("team", None) or _default_team(owner)
    account = Account(owner=owner, team=team, **fields)
    account.full_clean()
    account.save()
    return account


@transaction.atomic
def account_update(*, account: Account, actor: User, **fields: Any) -> Account:
    _check_fields(fields, ACCOUNT_FIELDS)
    account = Account.objects.select_for_update().get(pk=account.pk)
    for name, value in fields.items():
        setattr(account, name, value)
    account.full_clean()
    account.save()
    return account


@transaction.atomic
def contact_create(*, actor: User, account: Account, **fields: Any) -> Contact:
    _check_fields(fields, CONTACT_FIELDS)
    contact = Contact(account=account, **fields)
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor: User, **fields: Any) -> Contact:
    _check_fields(fields, CONTACT_FIELDS)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def api_token_regenerate(*, user: User) -> Token:
    """Give `user` a new API token; the old one stops working at once."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


@transaction.atomic
def api_token_revoke(*, user: User) -> None:
    Token.objects.filter(user=user).delete()
