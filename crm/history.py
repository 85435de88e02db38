"""A record's timeline: its transitions, field changes (crm.tracking), activities and whatever events its
app adds (stage changes, payments), newest first.

One query, however long the history: every stored source is shaped into the same columns and the database
merges them (UNION ALL … ORDER BY at DESC LIMIT n). The record page shows the newest TIMELINE_LIMIT events
and offers the whole history on request (`?history=all`): a deal worked for years has hundreds of events,
and a page that renders them all is slow to build and to read."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Case, CharField, F, TextField, Value, When
from django.http import HttpRequest
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext as _
from django_fsm_log.models import StateLog

from crm.models import Activity, FieldChange, User
from crm.tracking import field_label, localized
from crm.workflow import SalesRecord, transition_label

TIMELINE_LIMIT = 50
PLANNED = "planned"  # an activity row's marker: it was written down with a due date


@dataclass(frozen=True)
class Event:
    at: datetime
    by: Any
    icon: str
    title: str
    detail: str = ""


class History(list):
    """Events, newest first. `truncated`: older events were left out (the page links to the whole history)."""

    truncated = False


@dataclass(frozen=True)
class Row:
    """One stored event in the common shape: what happened is in a…d, read per kind."""

    at: datetime
    by: str
    a: Any
    b: Any
    c: Any
    d: Any


@dataclass(frozen=True)
class Source:
    """A stored kind of event an app adds to its records' timeline (e.g. stage changes): `rows` from
    `event_rows()` with a kind of its own, and how one row reads."""

    kind: str
    rows: models.QuerySet
    event: Callable[[Row], Event]


def event_rows(queryset: models.QuerySet, *, kind: str, at: str, by: str | None,
               a: str | None = None, b: str | None = None, c: str | None = None,
               d: str | models.Expression | None = None) -> models.QuerySet:
    """`queryset` as timeline rows: the same columns for every source, so that they UNION. A column is a field
    name or a text expression."""

    def text(field: str | models.Expression | None) -> Any:
        if isinstance(field, models.Expression):
            return field
        return F(field) if field else Value(None, output_field=TextField())

    def user(part: str) -> Any:
        return F(f"{by}__{part}") if by else Value(None, output_field=CharField())

    return queryset.order_by().values(
        ev_at=F(at), ev_kind=Value(kind, output_field=CharField()),
        ev_first=user("first_name"), ev_last=user("last_name"), ev_user=user("username"),
        ev_a=text(a), ev_b=text(b), ev_c=text(c), ev_d=text(d),
    )


def history_limit(request: HttpRequest) -> int | None:
    """The record pages show the newest events unless the reader asked for the whole history."""
    return None if request.GET.get("history") == "all" else TIMELINE_LIMIT


def timeline(record: SalesRecord, extra: Iterable[Event] = (), *, sources: Iterable[Source] = (),
             limit: int | None = TIMELINE_LIMIT) -> History:
    content_type = ContentType.objects.get_for_model(record)
    own = {"content_type": content_type, "object_id": record.pk}
    parts = [
        event_rows(StateLog.objects.filter(**own), kind="transition", at="timestamp", by="by",
                   a="transition", b="source_state", c="state", d="description"),
        event_rows(Activity.objects.filter(**own), kind="activity", at="created_at", by="owner",
                   a="kind", b="subject", c="body",
                   d=Case(When(due_at__isnull=False, then=Value(PLANNED)), default=Value(None),
                          output_field=TextField())),
        event_rows(FieldChange.objects.filter(**own), kind="field", at="changed_at", by="changed_by",
                   a="field", b="old_value", c="new_value"),
    ]
    readers = {"transition": _transition_reader(record), "activity": _activity_event,
               "field": lambda row: _field_event(record, row)}
    for source in sources:
        parts.append(source.rows)
        readers[source.kind] = source.event
    rows = parts[0].union(*parts[1:], all=True).order_by("-ev_at")
    if limit is not None:
        rows = rows[: limit + 1]
    events = [readers[r["ev_kind"]](_row(r)) for r in rows]
    events.append(Event(at=record.created_at, by=record.owner, icon="plus-circle", title=_("Created")))
    events += list(extra)
    events.sort(key=lambda e: e.at, reverse=True)
    history = History(events if limit is None else events[:limit])
    history.truncated = limit is not None and len(events) > limit
    return history


def _row(values: dict[str, Any]) -> Row:
    return Row(at=values["ev_at"], by=User.name_of(values["ev_first"], values["ev_last"], values["ev_user"]),
               a=values["ev_a"], b=values["ev_b"], c=values["ev_c"], d=values["ev_d"])


def _transition_reader(record: SalesRecord) -> Callable[[Row], Event]:
    labels = dict(record._meta.get_field("state").choices)

    def read(row: Row) -> Event:
        return Event(
            at=row.at, by=row.by, icon="arrow-right-circle",
            title=_("%(action)s: %(source)s → %(target)s") % {
                "action": transition_label(record, row.a),
                "source": labels.get(row.b, row.b), "target": labels.get(row.c, row.c),
            },
            detail=row.d or "",
        )

    return read


_ACTIVITY_KINDS = dict(Activity._meta.get_field("kind").choices)


def _activity_event(row: Row) -> Event:
    kind = _ACTIVITY_KINDS.get(row.a, row.a)
    if row.d == PLANNED:  # written down as a to-do, not as something that happened then
        return Event(at=row.at, by=row.by, icon="alarm", title=_("%(kind)s planned: %(subject)s")
                     % {"kind": kind, "subject": row.b}, detail=row.c or "")
    return Event(at=row.at, by=row.by, icon="chat-left-text", title=f"{kind}: {row.b}", detail=row.c or "")


def _field_event(record: models.Model, row: Row) -> Event:
    if row.a == "archived_at":
        archived = bool(row.c)
        return Event(at=row.at, by=row.by, icon="archive" if archived else "arrow-counterclockwise",
                     title=_("Archived") if archived else _("Restored"))
    part = _part_name(record, row.a)
    if part is not None:  # a row of a one-to-many part (a quote's lines): added, removed or changed
        old, new = _shown(record, row.a, row.b), _shown(record, row.a, row.c)
        if not row.b:
            title = _("%(part)s added: %(new)s") % {"part": part, "new": new}
        elif not row.c:
            title = _("%(part)s removed: %(old)s") % {"part": part, "old": old}
        else:
            title = _("%(part)s changed: %(old)s → %(new)s") % {"part": part, "old": old, "new": new}
        return Event(at=row.at, by=row.by, icon="list-ul", title=title)
    return Event(
        at=row.at, by=row.by, icon="pencil",
        title=_("%(field)s: %(old)s → %(new)s")
        % {"field": _label(record, row.a), "old": _shown(record, row.a, row.b), "new": _shown(record, row.a, row.c)},
    )


def _part_name(record: models.Model, field: str) -> str | None:
    """'Quote line' when `field` names the record's lines (a reverse one-to-many relation), else None."""
    try:
        is_part = record._meta.get_field(field).one_to_many
    except FieldDoesNotExist:
        return None
    return capfirst(field_label(type(record), field)) if is_part else None


def _label(record: models.Model, field: str) -> str:
    return capfirst(field_label(type(record), field))


def _shown(record: models.Model, field: str, text: str) -> str:
    try:
        kind = record._meta.get_field(field)
    except FieldDoesNotExist:
        kind = None
    return _short(localized(kind, text))


def _short(value: str) -> str:
    return Truncator(value).chars(80) if value else "—"
