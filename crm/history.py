"""A record's timeline: its transitions, plus whatever events its app adds (stage changes, payments,
activities), newest first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _

from crm.models import Activity
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
    events += list(extra)
    return sorted(events, key=lambda e: e.at, reverse=True)
