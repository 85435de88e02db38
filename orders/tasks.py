from celery import shared_task
from django.utils.translation import gettext_lazy as _

from orders.services import order_render_pdf


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=10, retry_backoff=True,
             pending_message=_("PDF rendering is queued; it will appear when the background worker is back."))
def render_order_pdf(self, order_id: int) -> bool:
    try:
        return order_render_pdf(order_id=order_id)
    except OSError as exc:  # storage hiccup: try again later
        raise self.retry(exc=exc) from exc
