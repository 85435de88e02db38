"""A record's timeline: its transitions, field changes (crm.tracking), activities and whatever events its
app adds (stage changes, payments), newest first. A fixed number of queries, however long the history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from crm.models import Activity, FieldChange
from crm.workflow import SalesRecord, transition_label


@dataclass(frozen=True)
class Event:
    at: datetime
    by: Any
    icon: str
    title: str
    detail: str = ""


def timeline(record: SalesRecord, extra: Iterable[Event] = ()) -> list[Event]:
    labels = dict(record._meta.get_field("state").choices)
    events = [
        Event(
            at=log.timestamp,
            by=log.by,
            icon="arrow-right-circle",
            title=_("%(action)s: %(source)s → %(target)s")
            % {
                "action": transition_label(record, log.transition),
                "source": labels.get(log.source_state, log.source_state),
                "target": labels.get(log.state, log.state),
            },
            detail=log.description or "",
        )
        for log in record.state_log()
    ]
    events.append(Event(at=record.created_at, by=record.owner, icon="plus-circle", title=_("Created")))
    content_type = ContentType.objects.get_for_model(record)
    events += [
        Event(at=a.created_at, by=a.owner, icon="chat-left-text", title=f"{a.get_kind_display()}: {a.subject}",
              detail=a.body)
        for a in Activity.objects.filter(content_type=content_type, object_id=record.pk).select_related("owner")
    ]
    events += field_change_events(record, content_type)
    events += list(extra)
    return sorted(events, key=lambda e: e.at, reverse=True)


def _label(record: models.Model, field: str) -> str:
    try:
        return str(record._meta.get_field(field).verbose_name).capitalize()
    except FieldDoesNotExist:  # a field removed since: its history stays readable
        return field


def _short(value: str) -> str:
    return Truncator(value).chars(80) if value else "—"


def field_change_events(record: models.Model, content_type: ContentType | None = None) -> list[Event]:
    """One event per changed field ("Amount: 10,000.00 EUR → 12,000.00 EUR"); archiving reads as such."""
    content_type = content_type or ContentType.objects.get_for_model(record)
    events = []
    for change in FieldChange.objects.filter(content_type=content_type, object_id=record.pk).select_related(
        "changed_by"
    ):
        if change.field == "archived_at":
            archived = bool(change.new_value)
            events.append(Event(at=change.changed_at, by=change.changed_by,
                                icon="archive" if archived else "arrow-counterclockwise",
                                title=_("Archived") if archived else _("Restored")))
            continue
        events.append(Event(
            at=change.changed_at, by=change.changed_by, icon="pencil",
            title=_("%(field)s: %(old)s → %(new)s")
            % {"field": _label(record, change.field), "old": _short(change.old_value), "new": _short(change.new_value)},
        ))
    return events
