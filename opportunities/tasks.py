from __future__ import annotations

from datetime import date

from celery import shared_task

from opportunities.services import pipeline_snapshot_take


@shared_task(acks_late=True, time_limit=30 * 60)
def snapshot_pipeline(day: str | None = None) -> int:
    """Weekly beat task (migration 0006); safe to run twice in a week."""
    return pipeline_snapshot_take(day=date.fromisoformat(day) if day else None)
