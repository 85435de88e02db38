from celery import shared_task
from django.utils.translation import gettext_lazy as _

from quotes.services import quote_email, quote_expire_due, quote_render_pdf


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=10, retry_backoff=True,
             pending_message=_("PDF rendering is queued; it will appear when the background worker is back."))
def render_quote_pdf(self, quote_id: int) -> bool:
    """Render the sent quote's PDF, then e-mail it to the customer with the signed link (each step once:
    running the task again neither re-renders nor re-sends)."""
    try:
        rendered = quote_render_pdf(quote_id=quote_id)
        quote_email(quote_id=quote_id)
    except OSError as exc:  # storage or SMTP hiccup: try again later
        raise self.retry(exc=exc) from exc
    return rendered


@shared_task(acks_late=True)
def expire_quotes() -> int:
    return quote_expire_due()
