"""The asynchronous path for real: a Celery worker (in a thread of this process) consuming from the configured
broker — Redis in .ci/run, the embedded sqla+sqlite broker by default — runs the tasks the services queue
after commit, against the test database."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.storage import default_storage
from django.db import OperationalError
from django.utils import timezone

from crm.celery import app as celery_app
from invoices.models import Invoice, InvoiceState
from invoices.services import invoice_issue
from invoices.tasks import sweep_overdue
from quotes.models import Quote
from quotes.services import quote_send
from tests import factories

pytestmark = [
    pytest.mark.worker,
    # The worker thread has its own database connection: it only sees committed data. serialized_rollback
    # brings back the roles and stages created by migrations after the flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TIMEOUT = 30.0


@pytest.fixture
def celery_worker() -> Iterator[None]:
    """A real worker on a queue of its own, so that a development worker on the same broker cannot take
    (and run against the wrong database) the tasks of this test."""
    assert not celery_app.conf.task_always_eager, "worker tests must go through the broker"
    queue = f"salesflow-test-{uuid.uuid4().hex[:12]}"
    previous_routes = celery_app.conf.task_routes
    celery_app.conf.update(task_routes={"*": {"queue": queue}})
    try:
        with start_worker(
            celery_app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=TIMEOUT
        ):
            yield
    finally:
        celery_app.conf.update(task_routes=previous_routes)


def wait_for(condition: Callable[[], bool], *, timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OperationalError:  # SQLite: the worker holds the write lock right now
            pass
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def assert_stored_pdf(document) -> None:
    assert document.pdf.name
    assert default_storage.exists(document.pdf.name)
    with default_storage.open(document.pdf.name, "rb") as handle:
        content = handle.read()
    assert content.startswith(b"%PDF")
    assert hashlib.sha256(content).hexdigest() == document.pdf_sha256
    assert document.pdf_rendered_at is not None


def test_sending_a_quote_renders_its_pdf_in_the_worker(celery_worker, seller):
    quote = factories.quote(owner=seller, lines=2)
    assert not quote.pdf

    quote_send(quote=quote, actor=seller)  # queues render_quote_pdf once the send is committed

    wait_for(lambda: bool(Quote.objects.get(pk=quote.pk).pdf_sha256), what="the quote PDF")
    quote.refresh_from_db()
    assert quote.pdf.name.endswith(".pdf")
    assert quote.number in quote.pdf.name
    assert_stored_pdf(quote)


def test_issuing_renders_the_invoice_pdf_and_the_sweep_runs_in_the_worker(celery_worker, seller):
    invoice = factories.invoice(owner=seller)
    issued = invoice_issue(invoice=invoice, actor=factories.accountant(),
                           issue_date=timezone.localdate() - timedelta(days=30))
    assert issued.due_date < timezone.localdate()

    marked = sweep_overdue.delay().get(timeout=TIMEOUT)

    assert marked == 1
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.OVERDUE
    wait_for(lambda: bool(Invoice.objects.get(pk=invoice.pk).pdf_sha256), what="the invoice PDF")
    invoice.refresh_from_db()
    assert_stored_pdf(invoice)
    assert sweep_overdue.delay().get(timeout=TIMEOUT) == 0  # idempotent
