"""Writes on the shared parties (accounts, their contacts) and on users' API tokens."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework.authtoken.models import Token

from crm.models import Account, Contact, Team, User
from crm.tracking import acting_as

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


def _save(record: Account | Contact, actor: User) -> None:
    record.full_clean()
    with acting_as(actor):  # token-authenticated API calls have no request user for ActorMiddleware
        record.save()


def _update(model: type[Account] | type[Contact], pk: int, actor: User, fields: dict[str, Any]) -> Account | Contact:
    record = model.objects.select_for_update().get(pk=pk)
    for name, value in fields.items():
        setattr(record, name, value)
    _save(record, actor)
    return record


@transaction.atomic
def account_create(*, actor: User, **fields: Any) -> Account:
    _check_fields(fields, ACCOUNT_FIELDS)
    owner = fields.pop("owner", None) or actor
    team = fields.pop("team", None) or _default_team(owner)
    account = Account(owner=owner, team=team, **fields)
    _save(account, actor)
    return account


@transaction.atomic
def account_update(*, account: Account, actor: User, **fields: Any) -> Account:
    _check_fields(fields, ACCOUNT_FIELDS)
    return _update(Account, account.pk, actor, fields)


@transaction.atomic
def contact_create(*, actor: User, account: Account, **fields: Any) -> Contact:
    _check_fields(fields, CONTACT_FIELDS)
    contact = Contact(account=account, **fields)
    _save(contact, actor)
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor: User, **fields: Any) -> Contact:
    _check_fields(fields, CONTACT_FIELDS)
    return _update(Contact, contact.pk, actor, fields)


@transaction.atomic
def api_token_regenerate(*, user: User) -> Token:
    """Give `user` a new API token; the old one stops working at once."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


@transaction.atomic
def api_token_revoke(*, user: User) -> None:
    Token.objects.filter(user=user).delete()
