"""The common state-machine base of every sales record, and the one way to run a transition.

A transition method on a model only changes fields of its own row. Services call `run_transition()`
inside `transaction.atomic()`: it locks the row, re-checks the state (a second click or a second browser
sees the fresh state, not the stale one it loaded), runs the transition, saves and logs who did it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import ConcurrentTransition, ConcurrentTransitionMixin, can_proceed
from django_fsm_log.helpers import FSMLogDescriptor
from django_fsm_log.models import StateLog

from crm import numbering
from crm.models import Archivable
from crm.tracking import TrackChanges, untracked

if TYPE_CHECKING:
    from crm.models import User

R = TypeVar("R", bound="SalesRecord")


class DomainError(Exception):
    """A business rule refused the request; the message is shown to the user as is."""


class TransitionError(DomainError):
    """A state change the user asked for is not possible from the record's current state."""


class SalesRecordQuerySet(models.QuerySet):
    def visible_to(self, user: User, *, archived: bool | None = False) -> SalesRecordQuerySet:
        """What `user` may see. Archived records drop out of every list, board, search and report by
        default; `archived=True` lists only them (the "Archived" filter), None both (a record's own page)."""
        from crm.permissions import scope  # noqa: PLC0415  (permissions builds on this module's DomainError)

        return scope(self, user, financial=self.model.FINANCIAL).archived(archived)

    def archived(self, archived: bool | None = True) -> SalesRecordQuerySet:
        if archived is None:
            return self
        return self.filter(archived_at__isnull=not archived)


class SalesRecord(ConcurrentTransitionMixin, TrackChanges, Archivable, models.Model):
    """Abstract base: number, protected FSM `state` (declared by each subclass), owner, team, timestamps,
    field history (TrackChanges) and soft archive (Archivable).

    ConcurrentTransitionMixin makes `save()` refuse to write when the state in the database is no longer
    the one this instance was loaded with: optimistic concurrency without a version column.
    """

    NUMBER_SERIES: ClassVar[str] = ""
    # Accountants see financial records (quotes, orders, invoices) of every team.
    FINANCIAL: ClassVar[bool] = False

    number = models.CharField(gettext_lazy("number"), max_length=40, unique=True, null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("owner"), on_delete=models.PROTECT,
        related_name="%(app_label)s_%(class)s_owned",
    )
    team = models.ForeignKey(
        "crm.Team", verbose_name=gettext_lazy("team"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="%(app_label)s_%(class)s_set",
    )
    created_at = models.DateTimeField(gettext_lazy("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(gettext_lazy("updated"), auto_now=True)

    objects = SalesRecordQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number or gettext_lazy("Draft")

    def full_clean(self, exclude=None, validate_unique=True, validate_constraints=True) -> None:
        # Cleaning assigns every field back, which a protected FSM field refuses; the state is only
        # ever set by transitions, so there is nothing to clean there.
        exclude = {*(exclude or ()), "state"}
        super().full_clean(exclude=exclude, validate_unique=validate_unique, validate_constraints=validate_constraints)

    def assign_number(self) -> None:
        """Give a new record the next number of its series (inside the creating transaction)."""
        if not self.number:
            self.number = numbering.next_number(self.NUMBER_SERIES)

    def can(self, transition_name: str) -> bool:
        return can_proceed(getattr(self, transition_name))

    def state_log(self) -> models.QuerySet[StateLog]:
        return StateLog.objects.for_(self).select_related("by").order_by("-timestamp", "-pk")


def lock(record: R) -> R:
    """Re-read `record` under a row lock; the caller must be inside transaction.atomic()."""
    return type(record)._default_manager.select_for_update().get(pk=record.pk)


def run_transition(
    record: R, name: str, *, actor: User | None, description: str = "", **kwargs: Any
) -> R:
    """Lock, re-check, transition, save and log. Returns the fresh, saved record.

    Raises TransitionError with a message a seller understands when the transition is not allowed
    from the record's current state (which may have changed since the page was loaded).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("run_transition() must run inside transaction.atomic()")
    fresh = lock(record)
    method = getattr(fresh, name)
    if not can_proceed(method):
        raise TransitionError(
            _("%(record)s is %(state)s: “%(action)s” is not possible now.")
            % {
                "record": f"{fresh._meta.verbose_name} {fresh}".strip(),
                "state": fresh.get_state_display(),
                "action": transition_label(fresh, name),
            }
        )
    with FSMLogDescriptor(fresh, "by", actor), FSMLogDescriptor(fresh, "description", description or None):
        method(**kwargs)
    try:
        # The transition log row is the record of this step; the fields the transition set are its
        # consequences, not edits, so they get no field-history rows of their own.
        with untracked():
            fresh.save()
    except ConcurrentTransition as exc:
        raise TransitionError(_("Someone else changed this record at the same time. Reload and try again.")) from exc
    return fresh


def transition_label(record: SalesRecord, name: str) -> str:
    for t in record.get_all_state_transitions():
        if t.name == name:
            return str(t.custom.get("label", name.replace("_", " ")))
    return name.replace("_", " ")


def bulk_transition(queryset: models.QuerySet, name: str, *, actor: User | None, description: str = "",
                    batch_size: int = 250_000) -> int:
    """Run transition `name` on every row of `queryset` that is in one of its source states, set-based.

    The rows never travel through Python: per id-range batch, one statement (PostgreSQL: a CTE that
    locks, updates and INSERTs the log rows from the UPDATE's RETURNING; elsewhere INSERT … SELECT then
    UPDATE, which SQLite's single writer makes atomic). A sweep of a million invoices must not load them.
    Only transitions without side effects may be run this way.
    """
    model = queryset.model
    specs = [t for t in model._meta.get_field("state").get_all_transitions(model) if t.name == name]
    sources = [t.source for t in specs]
    target = specs[0].target
    eligible = queryset.filter(state__in=sources).order_by()
    # Named columns: SQLite does not name a subquery's columns after the table's.
    rows = {"row_id": models.F("pk"), "row_state": models.F("state")}
    connection = connections[eligible.db]
    log_table = connection.ops.quote_name(StateLog._meta.db_table)
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    # The constant part of every log row; the row's own id and source state come from the database.
    now = timezone.now()
    log_values = [
        connection.ops.adapt_datetimefield_value(now), actor.pk if actor else None, target, name,
        ContentType.objects.get_for_model(model).pk, description or None,
    ]
    insert = (f"INSERT INTO {log_table} (timestamp, by_id, state, transition, content_type_id, description, "
              "source_state, object_id) ")
    moved = 0
    with transaction.atomic(using=eligible.db):
        bounds = eligible.aggregate(low=models.Min("pk"), high=models.Max("pk"))
        if bounds["low"] is None:
            return 0
        with connection.cursor() as cursor:
            for start in range(bounds["low"], bounds["high"] + 1, batch_size):
                batch = eligible.filter(pk__gte=start, pk__lt=start + batch_size)
                if connection.vendor == "postgresql":
                    # SKIP LOCKED: a row a user is paying right now is left for the next sweep, not waited on.
                    locked = batch.select_for_update(skip_locked=True, of=("self",)).values(**rows)
                    select_sql, select_params = locked.query.get_compiler(using=eligible.db).as_sql()
                    # The id range again on the updated side: the join then reads this batch's rows, not the
                    # whole table once per batch.
                    cursor.execute(
                        f"WITH src AS ({select_sql}), moved AS ("
                        f"UPDATE {table} AS t SET state = %s, updated_at = %s FROM src WHERE t.{pk} = src.row_id "
                        f"AND t.{pk} >= %s AND t.{pk} < %s "
                        f"RETURNING t.{pk} AS id, src.row_state AS source_state) "
                        f"{insert}SELECT %s, %s, %s, %s, %s, %s, moved.source_state, moved.id FROM moved",
                        [*select_params, target, log_values[0], start, start + batch_size, *log_values],
                    )
                    moved += cursor.rowcount
                else:
                    select_sql, select_params = batch.values(**rows).query.sql_with_params()
                    cursor.execute(
                        f"{insert}SELECT %s, %s, %s, %s, %s, %s, src.row_state, src.row_id FROM ({select_sql}) AS src",
                        [*log_values, *select_params],
                    )
                    moved += model._default_manager.using(eligible.db).filter(pk__in=batch.values("pk")).update(
                        state=target, updated_at=now)
    return moved

