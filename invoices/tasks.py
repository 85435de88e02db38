from celery import shared_task
from django.utils.translation import gettext_lazy as _

from invoices.services import dunning_send_pending, invoice_render_pdf, invoices_sweep_overdue


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=10, retry_backoff=True,
             pending_message=_("PDF rendering is queued; it will appear when the background worker is back."))
def render_invoice_pdf(self, invoice_id: int) -> bool:
    try:
        return invoice_render_pdf(invoice_id=invoice_id)
    except OSError as exc:  # storage hiccup: try again later
        raise self.retry(exc=exc) from exc


@shared_task(acks_late=True)
def sweep_overdue() -> int:
    return invoices_sweep_overdue()


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=30, retry_backoff=True)
def send_dunning_notices(self) -> int:
    """E-mail every reminder not sent yet, in batches; safe to run twice (each notice is marked sent)."""
    try:
        total = 0
        while sent := dunning_send_pending():
            total += sent
        return total
    except OSError as exc:  # SMTP down: the notices stay unsent and are picked up on retry
        raise self.retry(exc=exc) from exc
