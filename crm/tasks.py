from celery import shared_task

from crm.idempotency import forget_old_tokens
from crm.jobs import requeue_pending_tasks


@shared_task(acks_late=True)
def requeue_pending() -> int:
    """Beat runs this every minute: work kept while the broker was down is queued again once it is back."""
    done, _still_pending = requeue_pending_tasks()
    return done


@shared_task(acks_late=True)
def forget_form_tokens() -> int:
    """Nightly: one-time form tokens only matter for minutes; keep a week of them, drop the rest."""
    return forget_old_tokens()
