"""Queueing background work from services: only after the transaction commits, and never failing the
user's request because the broker is unreachable.

When Redis is down, publishing gives up after a bounded wait (CELERY_TASK_PUBLISH_RETRY_POLICY and the
connect timeouts in settings), the task is kept as a `PendingTask` row, the user is told the work is
queued (PendingWorkMiddleware turns it into a flash message), and `requeue_pending_tasks` — every minute
from beat once the worker is back, or `manage.py requeue_tasks` by hand — hands it to the broker again.
Tasks are idempotent, so a task queued twice does no harm.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from celery import current_app
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)

DEFAULT_PENDING_MESSAGE = _(
    "The background worker cannot be reached right now: this work is queued and will be done as soon as it is back."
)

# The notices of the request being served in this thread/context; None outside a request (commands, tasks).
_notices: ContextVar[list[str] | None] = ContextVar("salesflow_pending_notices", default=None)


def enqueue_on_commit(task: Any, *args: Any) -> None:
    """Queue `task(*args)` once the current transaction commits (right away outside one)."""
    transaction.on_commit(lambda: enqueue(task, *args))


def enqueue(task: Any, *args: Any) -> bool:
    """Hand the task to the broker now. Returns False when the broker was unreachable and the task was
    kept as pending instead; never raises, because the user's work is already committed."""
    try:
        task.apply_async(args=args)
    except (BrokerError, OSError) as exc:
        logger.warning("broker unreachable, keeping %s%r as pending: %s", task.name, args, exc)
        _keep_pending(task.name, args, exc)
        notices = _notices.get()
        if notices is not None:
            notices.append(str(getattr(task, "pending_message", DEFAULT_PENDING_MESSAGE)))
        return False
    except Exception:  # an eager task that failed, or a bug: log it, the request must still succeed
        logger.exception("could not run %s%r", task.name, args)
        return False
    return True


def _keep_pending(task_name: str, args: tuple[Any, ...], exc: BaseException) -> None:
    from crm.models import PendingTask  # noqa: PLC0415  (jobs is imported by models' users at start-up)

    try:
        PendingTask.objects.create(task_name=task_name, args=list(args), last_error=str(exc)[:1000])
    except Exception:  # the database is gone too: nothing more we can keep; ops see the log
        logger.exception("could not keep %s%r as pending", task_name, args)


def requeue_pending_tasks(*, limit: int = 500, in_process: bool = False) -> tuple[int, int]:
    """Hand pending tasks to the broker again (or run them here with `in_process`), oldest first.

    Returns (done, still pending). Stops at the first broker failure: it is down again. Each row is
    deleted before it is sent, so two runs at once cannot both send it; a failed send puts it back.
    """
    from crm.models import PendingTask  # noqa: PLC0415

    done = 0
    for pending in PendingTask.objects.order_by("created_at", "pk")[:limit]:
        if not PendingTask.objects.filter(pk=pending.pk).delete()[0]:
            continue  # another run took it
        task = current_app.tasks.get(pending.task_name)
        try:
            if task is None:
                raise LookupError(f"unknown task {pending.task_name}")
            if in_process:
                task.apply(args=pending.args, throw=True)
            else:
                task.apply_async(args=pending.args)
        except Exception as exc:
            PendingTask.objects.create(
                task_name=pending.task_name, args=pending.args, created_at=pending.created_at,
                attempts=pending.attempts + 1, last_error=str(exc)[:1000],
            )
            if isinstance(exc, BrokerError | OSError):
                break
            logger.exception("pending task %s failed", pending)
        else:
            done += 1
    return done, PendingTask.objects.count()


class PendingWorkMiddleware:
    """Tells the user, with a flash message, when work their request queued is waiting for the worker.

    Sits after MessageMiddleware, so messages added here are stored with the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _notices.set([])
        try:
            response = self.get_response(request)
            notices = _notices.get() or []
        finally:
            _notices.reset(token)
        for text in dict.fromkeys(notices):
            messages.warning(request, text, fail_silently=True)
        return response
