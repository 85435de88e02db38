"""The asynchronous path for real: a Celery worker (in a thread of this process) consuming from the configured
broker — Redis in .ci/run, the embedded sqla+sqlite broker by default — runs the tasks the services queue
after commit, against the test database."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.storage import default_storage
from django.db import OperationalError, connection
from django.utils import timezone

from crm.celery import app as celery_app
from crm.documents import FAULT_DELAY_ENV
from crm.models import PendingTask
from crm.tasks import requeue_pending
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
    with running_worker():
        yield


@contextlib.contextmanager
def running_worker() -> Iterator[None]:
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


def result_of(async_result, *, timeout: float = TIMEOUT):
    """The task's return value. On SQLite the result table is in the shared-cache in-memory test database, whose
    table locks fail at once instead of waiting: a read that meets the worker's write is tried again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return async_result.get(timeout=max(deadline - time.monotonic(), 0.1))
        except OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


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

    marked = result_of(sweep_overdue.delay())

    assert marked == 1
    # Read through wait_for: the invoice's PDF may be rendering in the worker right now (SQLite: a locked table).
    wait_for(lambda: Invoice.objects.get(pk=invoice.pk).state == InvoiceState.OVERDUE, what="the overdue state")
    wait_for(lambda: bool(Invoice.objects.get(pk=invoice.pk).pdf_sha256), what="the invoice PDF")
    invoice.refresh_from_db()
    assert_stored_pdf(invoice)
    assert result_of(sweep_overdue.delay()) == 0  # idempotent


# --- Faults: the broker down, then back; a worker killed in the middle of a render -------------------------


def test_work_kept_while_the_broker_was_down_is_done_by_the_worker_once_it_is_back(seller, monkeypatch):
    from tests.test_faults import break_broker

    quote = factories.quote(owner=seller, lines=1)
    with break_broker(monkeypatch):
        quote_send(quote=quote, actor=seller)  # committed; the render task is kept as pending
    assert PendingTask.objects.filter(task_name="quotes.tasks.render_quote_pdf").count() == 1
    quote.refresh_from_db()
    assert not quote.pdf

    with running_worker():
        # What beat sends every minute once the worker is back (run here at once instead of waiting).
        assert result_of(requeue_pending.delay()) == 1
        wait_for(lambda: bool(Quote.objects.get(pk=quote.pk).pdf_sha256), what="the quote PDF")
    quote.refresh_from_db()
    assert_stored_pdf(quote)
    assert not PendingTask.objects.exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the worker runs in another process, which cannot see SQLite's in-memory test database: "
    "runs on PostgreSQL in .ci/run",
)
def test_a_worker_killed_in_the_middle_of_a_render_loses_nothing(seller, settings, tmp_path):
    """A real prefork worker process; its pool child is SIGKILLed while it renders (paused by the fault
    injection hook). acks_late + reject_on_worker_lost put the task back, a new child renders it, and the
    invoice ends with exactly one stored PDF whose SHA-256 matches the one recorded."""
    queue = f"salesflow-test-{uuid.uuid4().hex[:12]}"
    log = tmp_path / "worker.log"
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    # The quote and order before the invoice render their PDFs here, so that only the invoice goes to the worker.
    celery_app.conf.task_always_eager = True
    try:
        invoice = factories.invoice(owner=seller)
    finally:
        celery_app.conf.task_always_eager = False
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": celery_app.conf.broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        FAULT_DELAY_ENV: "6",  # long enough to catch on a busy CI machine
    }
    # Celery's log file and the process output (Django's LOGGING sends our loggers to the console).
    output = (tmp_path / "worker.out").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", "worker", "--pool", "prefork", "--concurrency", "1",
         "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
         "--logfile", str(log)],
        cwd=settings.BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT,
    )
    previous_routes = celery_app.conf.task_routes
    celery_app.conf.update(task_routes={"*": {"queue": queue}})
    try:
        wait_for(lambda: "ready." in read(log), what="the worker to start")
        invoice_issue(invoice=invoice, actor=factories.accountant())  # queues render_invoice_pdf after commit

        wait_for(lambda: len(pauses(log)) == 1, what="the render to start")
        victim = pauses(log)[0]
        os.kill(victim, signal.SIGKILL)

        wait_for(lambda: bool(Invoice.objects.get(pk=invoice.pk).pdf_sha256), what="the re-delivered render")
        assert len(pauses(log)) == 2 and pauses(log)[1] != victim, read(log)[-3000:]
        assert "WorkerLostError" in read(log) or "SIGKILL" in read(log)
    finally:
        print(read(log)[-4000:])  # shown by pytest when the test fails
        celery_app.conf.update(task_routes=previous_routes)
        worker.terminate()
        try:
            worker.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        output.close()

    invoice.refresh_from_db()
    assert_stored_pdf(invoice)
    stored = [p.name for p in Path(settings.MEDIA_ROOT).rglob("*.pdf") if p.name.startswith(invoice.number)]
    assert stored == [f"{invoice.number}.pdf"]  # one PDF, no leftover of the killed render


def read(log: Path) -> str:
    """The worker's log file and its console output, together."""
    paths = (log, log.with_suffix(".out"))
    return "".join(path.read_text(errors="replace") for path in paths if path.exists())


def pauses(log: Path) -> list[int]:
    """The pool processes that started a render, from the fault injection hook's log lines."""
    return [int(pid) for pid in re.findall(r"fault injection: pausing [\d.]+ s before storing a PDF in process (\d+)",
                                            read(log))]
