"""Who sees which record. Every page, list, kanban, export and download scopes through `scope()`;
a record outside the user's scope is a 404, never a 403 that confirms it exists."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.conf import settings
from django.db.models import Model, Q, QuerySet

from crm.models import Role

if TYPE_CHECKING:
    from crm.models import User

M = TypeVar("M", bound=Model)


def has_role(user: User, *roles: str) -> bool:
    if not user.is_authenticated:
        return False
    cache = getattr(user, "_salesflow_roles", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._salesflow_roles = cache
    return bool(cache.intersection(roles))


def sees_everything(user: User) -> bool:
    return user.is_superuser or user.is_staff or has_role(user, Role.ADMIN)


def scope(queryset: QuerySet[M], user: User, *, financial: bool = False) -> QuerySet[M]:
    """Restrict `queryset` (of a model with `owner` and `team`) to what `user` may see.

    - staff and admins: everything;
    - accountants: every financial record (quotes, orders, invoices) of every team;
    - managers: everything of the teams they manage, plus their own;
    - sellers: their own records, and their teams' when SALESFLOW_SELLERS_SEE_TEAM is on.
    """
    if not user.is_authenticated:
        return queryset.none()
    if sees_everything(user) or (financial and has_role(user, Role.ACCOUNTANT)):
        return queryset
    visible = Q(owner=user) | Q(team__manager=user)
    if settings.SALESFLOW_SELLERS_SEE_TEAM:
        visible |= Q(team__members=user)
    # team__members is a many-to-many join: distinct() would be needed, a subquery keeps rows unique
    # and the query plan simple.
    ids = queryset.model._default_manager.filter(visible).values("pk")
    return queryset.filter(pk__in=ids)
