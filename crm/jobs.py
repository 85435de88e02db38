"""Queueing background work from services: only after the transaction commits, and never failing the
user's request because the broker is unreachable (the work is then picked up by `render_documents`)."""

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Any, *args: Any) -> None:
    def send() -> None:
        try:
            task.delay(*args)
        except Exception:  # the broker is down or misconfigured: keep serving, log for ops
            logger.exception("could not queue %s%r; it will be retried by render_documents", task.name, args)

    transaction.on_commit(send)
