"""Who sees which record, and who may do what to it.

Seeing: every page, list, kanban, search, report, export, download, admin changelist and API endpoint
scopes through `scope()`; a record outside the user's scope is a 404, never a 403 that confirms it exists.

- staff, superusers and the admin role see everything;
- accountants see every financial record (quotes, orders, invoices) of every team. Of the pipeline
  (leads, opportunities) they see what any other user would: what they own or what their teams hold —
  normally nothing, as accountants belong to no sales team. The quote, order and invoice carry the
  customer and the amounts they work with; and since the accountant role holds no pipeline permission,
  they could not change a lead or opportunity anywhere even if one were in their scope;
- managers see everything of the teams they manage, plus their own records;
- sellers see their own records, and their teams' when SALESFLOW_SELLERS_SEE_TEAM is on.

Doing: every state change and edit runs through a service, and each service starts with
`require(actor, "app.codename")`. Checking there, not in views, is what makes pages, kanban drops, admin
actions, the API and management commands obey the same rules. The grants per role are in crm/roles.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import Role, Team
from crm.workflow import DomainError

if TYPE_CHECKING:
    from crm.models import User

M = TypeVar("M", bound=Model)


class Access(NamedTuple):
    roles: frozenset[str]
    managed: frozenset[int]
    member: frozenset[int]


def _access(user: User) -> Access:
    """The user's roles, teams and permissions, read in one query and cached on the user object.

    The user object lives for one request (or one task), so a page that scopes several querysets and
    checks several permissions asks the database once, not once per kind of fact (that was four queries
    on every page). Django's permission cache (`_perm_cache`) is filled from the same rows, so
    `user.has_perm()` reads no more. Call `forget(user)` after changing roles or teams in-process.
    """
    cached = getattr(user, "_salesflow_access", None)
    if cached is not None:
        return cached
    from django.contrib.auth.models import Group, Permission  # noqa: PLC0415
    from django.contrib.contenttypes.models import ContentType  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415

    from crm.models import User  # noqa: PLC0415  (request.user is a lazy proxy: its type is not the model)

    q = connection.ops.quote_name
    groups = q(User.groups.through._meta.db_table)
    user_perms = q(User.user_permissions.through._meta.db_table)
    group_perms = q(Group.permissions.through._meta.db_table)
    perm, ctype, group = (q(m._meta.db_table) for m in (Permission, ContentType, Group))
    team, members = q(Team._meta.db_table), q(Team.members.through._meta.db_table)
    # Raw SQL: five differently shaped facts as (kind, value) text rows of one UNION ALL, which the ORM
    # cannot express without a query per part.
    sql = (
        f"SELECT 'role', g.name FROM {group} g JOIN {groups} ug ON ug.group_id = g.id WHERE ug.user_id = %s "
        f"UNION ALL SELECT 'manages', CAST(t.id AS TEXT) FROM {team} t WHERE t.manager_id = %s "
        f"UNION ALL SELECT 'member', CAST(m.team_id AS TEXT) FROM {members} m WHERE m.user_id = %s "
        f"UNION ALL SELECT 'perm', ct.app_label || '.' || p.codename FROM {perm} p "
        f"JOIN {ctype} ct ON ct.id = p.content_type_id JOIN {user_perms} up ON up.permission_id = p.id "
        f"WHERE up.user_id = %s "
        f"UNION ALL SELECT 'perm', ct.app_label || '.' || p.codename FROM {perm} p "
        f"JOIN {ctype} ct ON ct.id = p.content_type_id JOIN {group_perms} gp ON gp.permission_id = p.id "
        f"JOIN {groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk] * 5)
        rows = cursor.fetchall()
    facts: dict[str, set[str]] = {"role": set(), "manages": set(), "member": set(), "perm": set()}
    for kind, value in rows:
        facts[kind].add(value)
    access = Access(
        roles=frozenset(facts["role"]),
        managed=frozenset(int(pk) for pk in facts["manages"]),
        member=frozenset(int(pk) for pk in facts["member"]),
    )
    user._salesflow_access = access
    # ModelBackend reads this cache first. Like Django's, it holds the grants of active users only; a
    # superuser's "all permissions" stay Django's own business (has_perm answers True without a query).
    if user.is_active and not user.is_superuser and not hasattr(user, "_perm_cache"):
        user._perm_cache = facts["perm"]
    return access


class AccessBackend(ModelBackend):
    """Django's model backend, reading the permissions with the roles and teams (one query, see _access)."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if obj is None and user_obj.is_active and not user_obj.is_anonymous and not user_obj.is_superuser:
            _access(user_obj)
        return super().get_all_permissions(user_obj, obj)


def has_role(user: User, *roles: str) -> bool:
    if not user.is_authenticated:
        return False
    return bool(_access(user).roles.intersection(roles))


def sees_everything(user: User) -> bool:
    return user.is_superuser or user.is_staff or has_role(user, Role.ADMIN)


def team_ids(user: User) -> tuple[frozenset[int], frozenset[int]]:
    """(ids of the teams `user` manages, ids of the teams `user` is a member of)."""
    access = _access(user)
    return access.managed, access.member


def forget(user: User) -> None:
    """Drop what this module cached on `user` (roles, teams, Django's permission cache)."""
    for attr in ("_salesflow_access", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(attr, None)


def scope(queryset: QuerySet[M], user: User, *, financial: bool = False, prefix: str = "") -> QuerySet[M]:
    """Restrict `queryset` (of a model with `owner` and `team`) to what `user` may see.

    `financial` marks quotes, orders and invoices (accountants see them all). `prefix` scopes a model
    through the record it belongs to (e.g. "account__" for contacts).

    A plain filter on the record's own columns — no join to team members, no self-subquery — so the
    database uses the owner and team indexes however many rows there are.
    """
    if not user.is_authenticated:
        return queryset.none()
    if sees_everything(user) or (financial and has_role(user, Role.ACCOUNTANT)):
        return queryset
    managed, member = team_ids(user)
    teams = set(managed)
    if settings.SALESFLOW_SELLERS_SEE_TEAM:
        teams |= member
    visible = Q(**{f"{prefix}owner_id": user.pk})
    if teams:
        visible |= Q(**{f"{prefix}team_id__in": sorted(teams)})
    return queryset.filter(visible)


def allowed(user: User | None, permission: str) -> bool:
    """May `user` do `permission` ("app_label.codename")? `None` is the system (beat tasks, commands)."""
    if user is None:
        return True
    return user.is_active and user.has_perm(permission)


def require(user: User | None, permission: str) -> None:
    """Refuse (with NotAllowed) unless `user` holds `permission`; `None` is the system and always may.

    Services call this first, before they lock or write anything, so a refusal writes nothing.
    """
    if not allowed(user, permission):
        raise NotAllowed(permission)


class NotAllowed(DomainError):
    """The user's role does not allow this action. The message names the action, never the record."""

    def __init__(self, permission: str) -> None:
        self.permission = permission
        super().__init__(
            _("Your role does not allow this: %(action)s. Ask a colleague who may, or your administrator.")
            % {"action": permission_label(permission)}
        )


def permission_label(permission: str) -> str:
    """The translated name of a permission ("Issue invoices"), as declared in the model's Meta."""
    from django.apps import apps  # noqa: PLC0415

    app_label, codename = permission.split(".", 1)
    for model in apps.get_app_config(app_label).get_models():
        for code, label in model._meta.permissions:
            if code == codename:
                return str(label)
        for action in model._meta.default_permissions:
            if codename == f"{action}_{model._meta.model_name}" and action in DEFAULT_ACTIONS:
                return DEFAULT_ACTIONS[action] % {"model": model._meta.verbose_name}
    return codename.replace("_", " ")


DEFAULT_ACTIONS = {
    "add": gettext_lazy("Add %(model)s"),
    "change": gettext_lazy("Change %(model)s"),
    "delete": gettext_lazy("Delete %(model)s"),
    "view": gettext_lazy("View %(model)s"),
}
