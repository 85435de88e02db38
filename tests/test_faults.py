"""Faults a user must not notice: the broker (Redis) down while they work, and the same form sent twice.

Broker down is real: the Celery app is pointed at a TCP port on 127.0.0.1 that nobody listens on, so
publishing fails the way it does when Redis is stopped (connection refused), not through a mock.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from crm.celery import app as celery_app
from crm.models import Activity, FormSubmission, PendingTask
from invoices.models import Invoice, Payment
from invoices.services import invoice_issue
from leads.imports import import_job_create, import_job_start
from leads.models import ImportState, Lead
from orders.models import Order
from quotes.models import Quote, QuoteState
from tests import factories

PDF_QUEUED = "PDF rendering is queued; it will appear when the background worker is back."
ALREADY_SENT = "This form had already been sent: here is what it did."


def closed_port() -> int:
    """A local port nobody listens on (bound by us for a moment, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def break_broker(monkeypatch) -> Iterator[str]:
    """The Celery app publishes to a Redis URL on a closed port until the block ends."""
    url = f"redis://127.0.0.1:{closed_port()}/0"
    conf = celery_app.conf
    saved = {key: conf.get(key) for key in ("broker_url", "broker_transport_options", "task_always_eager")}
    with monkeypatch.context() as patch:
        # Celery reads CELERY_BROKER_URL from the environment before its own setting (.ci/run sets it).
        patch.setenv("CELERY_BROKER_URL", url)
        conf.update(broker_url=url, broker_transport_options={"socket_connect_timeout": 2}, task_always_eager=False)
        _drop_connection_pools()
        try:
            yield url
        finally:
            conf.update(**saved)
            _drop_connection_pools()


@pytest.fixture
def broker_down(monkeypatch) -> Iterator[str]:
    with break_broker(monkeypatch) as url:
        yield url


def _drop_connection_pools() -> None:
    # The app caches its broker connection and producer pools: new ones pick up the changed URL.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def follow(client: Client, response) -> str:
    assert response.status_code == 302, response.status_code
    return client.get(response["Location"]).content.decode()


# --- Broker down ----------------------------------------------------------------------------------------
# transaction=True: the request's commit must really happen, since the task is queued in on_commit and the
# user's notice is added during that request.
broker_tests = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@broker_tests
def test_sending_a_quote_with_the_broker_down_keeps_the_pdf_pending_and_says_so(seller_client, seller, broker_down):
    quote = factories.quote(owner=seller)

    started = time.monotonic()
    response = seller_client.post(reverse("quotes:send", args=[quote.pk]))
    elapsed = time.monotonic() - started

    assert elapsed < 5, f"the request hung {elapsed:.1f} s on the unreachable broker"
    page = follow(seller_client, response)
    assert PDF_QUEUED in page
    # The page says the render waits for the worker (no spinner that turns until it is back), and so does the
    # status the page polls.
    assert "PDF queued: the background worker cannot be reached" in page
    # Neither the spinner nor the flash of the send claims a render that waits for the worker.
    assert "Quote sent." in page and "being rendered" not in page
    status = seller_client.get(reverse("quotes:pdf_status", args=[quote.pk])).content.decode()
    assert 'data-testid="pdf-queued"' in status and 'hx-trigger="every 15s"' in status
    quote.refresh_from_db()
    assert quote.state == QuoteState.SENT and not quote.pdf
    assert list(PendingTask.objects.values_list("task_name", "args")) == [
        ("quotes.tasks.render_quote_pdf", [quote.pk])
    ]
    # The rest of the app keeps serving pages.
    for name in ("crm:home", "leads:list", "quotes:list", "opportunities:board"):
        assert seller_client.get(reverse(name)).status_code == 200, name

    # Ops (or beat, once the worker is back) runs what was kept: the PDF appears, nothing stays pending.
    call_command("requeue_tasks", in_process=True)
    quote.refresh_from_db()
    assert quote.pdf and quote.pdf_sha256
    assert not PendingTask.objects.exists()
    assert 'data-testid="pdf-link"' in seller_client.get(reverse("quotes:pdf_status", args=[quote.pk])).content.decode()
    assert seller_client.get(reverse("quotes:pdf", args=[quote.pk])).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["order", "invoice"])
def test_a_confirmation_or_invoice_whose_render_waits_for_the_worker_says_so(seller_client, seller, kind):
    record = factories.order(owner=seller) if kind == "order" else factories.invoice(owner=seller, issued=True)
    type(record).objects.filter(pk=record.pk).update(pdf="")
    status_url = reverse(f"{kind}s:pdf_status", args=[record.pk])

    assert "is being rendered" in seller_client.get(status_url).content.decode()  # handed to the worker
    PendingTask.objects.create(task_name=type(record).PDF_TASK, args=[record.pk])
    waiting = seller_client.get(status_url).content.decode()
    assert 'data-testid="pdf-queued"' in waiting and "the background worker cannot be reached" in waiting
    assert 'data-testid="pdf-queued"' in seller_client.get(record.get_absolute_url()).content.decode()


@broker_tests
def test_requeue_with_the_broker_still_down_keeps_the_work_and_fails_loudly(seller, accountant, monkeypatch):
    invoice = factories.invoice(owner=seller)  # broker fine so far (eager): the quote and order PDFs exist
    with break_broker(monkeypatch):
        invoice_issue(invoice=invoice, actor=accountant)  # commits; the render task cannot be queued
        assert list(PendingTask.objects.values_list("task_name", "args")) == [
            ("invoices.tasks.render_invoice_pdf", [invoice.pk])
        ]

        with pytest.raises(CommandError, match="1 task"):
            call_command("requeue_tasks")

        kept = PendingTask.objects.get()
        assert kept.attempts == 2
        assert "refused" in kept.last_error.lower()
        # The document itself is found by the ops backfill too, without any worker or broker.
        call_command("render_documents")
    invoice.refresh_from_db()
    first_hash = invoice.pdf_sha256
    assert first_hash
    call_command("requeue_tasks", in_process=True)  # running the kept task as well changes nothing
    invoice.refresh_from_db()
    assert invoice.pdf_sha256 == first_hash
    assert not PendingTask.objects.exists()


@broker_tests
def test_an_import_started_with_the_broker_down_stays_queued_and_runs_later(seller, broker_down):
    upload = SimpleUploadedFile("leads.csv", b"First name,Last name,E-mail,Company\nAda,Lovelace,ada@ae.example,AE\n")
    job = import_job_create(actor=seller, upload=upload)

    job = import_job_start(job=job, actor=seller, mapping=job.mapping, skip_bad_rows=False)

    job.refresh_from_db()
    assert job.state == ImportState.QUEUED
    assert not Lead.objects.filter(email="ada@ae.example").exists()
    assert PendingTask.objects.filter(task_name="leads.tasks.run_import_job", args=[job.pk]).exists()

    call_command("requeue_tasks", in_process=True)
    job.refresh_from_db()
    assert job.state == ImportState.DONE
    assert Lead.objects.filter(email="ada@ae.example").count() == 1


# --- Double submit --------------------------------------------------------------------------------------


def form_token(html: str, action: str | None = None) -> str:
    """The one-time token of the form posting to `action`, or of the first form when none names it (a form
    without an action attribute posts to its own page)."""
    start = max(html.find(f'action="{action}"'), 0) if action else 0
    match = re.compile(r'name="form_token" value="([0-9a-f]{32})"').search(html, start)
    assert match, f"no form token in the form for {action}"
    return match.group(1)


class Case:
    """A create form: where it is shown, where it posts, what it sends, and how to count what it created."""

    def __init__(self, page: str, action: str, data: dict, count: Callable[[], int]) -> None:
        self.page, self.action, self.data, self.count = page, action, data, count


def case_for(kind: str, seller) -> Case:
    if kind == "lead":
        url = reverse("leads:create")
        data = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@ae.example", "company": "AE",
                "source": "other", "owner": seller.pk}
        return Case(url, url, data, lambda: Lead.objects.filter(email="ada@ae.example").count())
    if kind == "quick lead":
        url = reverse("leads:quick")
        return Case(url, url, {"name": "Ada Lovelace", "email": "ada@ae.example"},
                    lambda: Lead.objects.filter(email="ada@ae.example").count())
    if kind == "lead activity":
        lead = factories.lead(owner=seller)
        return Case(reverse("leads:detail", args=[lead.pk]), reverse("leads:log_activity", args=[lead.pk]),
                    {"kind": "call", "subject": "Called back"},
                    lambda: Activity.objects.filter(subject="Called back").count())
    if kind == "opportunity activity":
        opp = factories.opportunity(owner=seller)
        return Case(reverse("opportunities:detail", args=[opp.pk]),
                    reverse("opportunities:log_activity", args=[opp.pk]), {"kind": "call", "subject": "Demo call"},
                    lambda: Activity.objects.filter(subject="Demo call").count())
    if kind == "quote":
        opp = factories.opportunity(owner=seller)
        return Case(reverse("opportunities:detail", args=[opp.pk]), reverse("quotes:create", args=[opp.pk]), {},
                    lambda: Quote.objects.filter(opportunity=opp).count())
    if kind == "order":
        quote = factories.quote(owner=seller, sent=True)
        return Case(reverse("quotes:detail", args=[quote.pk]), reverse("quotes:accept", args=[quote.pk]), {},
                    lambda: Order.objects.filter(quote=quote).count())
    if kind == "invoice":
        order = factories.order(owner=seller)
        return Case(reverse("orders:detail", args=[order.pk]), reverse("orders:invoice", args=[order.pk]),
                    {"mode": "down_payment_percent", "percent": "10"},
                    lambda: Invoice.objects.filter(order=order).count())
    if kind == "payment":
        invoice = factories.invoice(owner=seller, issued=True)
        return Case(reverse("invoices:detail", args=[invoice.pk]), reverse("invoices:payment", args=[invoice.pk]),
                    {"amount": "50.00", "currency": "EUR", "received_on": date.today().isoformat(),
                     "method": "bank_transfer", "reference": "Statement 7"},
                    lambda: Payment.objects.filter(invoice=invoice).count())
    raise AssertionError(kind)


def actor_for(kind: str, seller, accountant):
    """Who fills in the form: payments are booked by accountants only (role permission), the rest by the seller."""
    return accountant if kind == "payment" else seller


def signed_in(client: Client, user) -> Client:
    client.force_login(user)
    return client


KINDS = ["lead", "quick lead", "lead activity", "opportunity activity", "quote", "order", "invoice", "payment"]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_the_same_form_sent_twice_creates_one_record(client, seller, accountant, kind):
    seller_client = signed_in(client, actor_for(kind, seller, accountant))
    case = case_for(kind, seller)
    token = form_token(seller_client.get(case.page).content.decode(), case.action)
    data = {**case.data, "form_token": token}

    first = seller_client.post(case.action, data)
    second = seller_client.post(case.action, data)  # a double click, or a resubmit after a slow answer

    assert first.status_code == 302, first.content.decode()[:2000]
    assert case.count() == 1
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert ALREADY_SENT in follow(seller_client, second)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["payment", "lead activity", "quote"])
def test_without_the_token_the_same_post_twice_does_create_two(client, seller, accountant, kind):
    """The control: these forms are not naturally idempotent, so the token is what prevents the duplicate."""
    seller_client = signed_in(client, actor_for(kind, seller, accountant))
    case = case_for(kind, seller)
    seller_client.post(case.action, case.data)
    seller_client.post(case.action, case.data)
    assert case.count() == 2


@pytest.mark.django_db
def test_a_form_sent_back_with_errors_can_be_sent_again(client, seller, accountant):
    seller_client = signed_in(client, accountant)
    case = case_for("payment", seller)
    token = form_token(seller_client.get(case.page).content.decode(), case.action)

    refused = seller_client.post(case.action, {**case.data, "amount": "", "form_token": token})
    assert refused.status_code == 200 and case.count() == 0
    # The user fixes the amount and sends the same (re-rendered) form again: it goes through once.
    token_again = form_token(refused.content.decode(), case.action)
    accepted = seller_client.post(case.action, {**case.data, "form_token": token_again})
    assert accepted.status_code == 302 and case.count() == 1
    assert not FormSubmission.objects.filter(token=token).exists()  # the refused attempt kept no token


@pytest.mark.django_db
def test_a_damaged_token_is_refused_and_writes_nothing(client, seller, accountant):
    seller_client = signed_in(client, accountant)
    case = case_for("payment", seller)
    response = seller_client.post(case.action, {**case.data, "form_token": "not-a-token"})
    assert response.status_code == 400
    assert "reload the page" in response.content.decode()
    assert case.count() == 0


@pytest.mark.django_db
def test_another_users_token_does_not_reveal_their_result(client, seller, teammate):
    case = case_for("lead activity", seller)
    client.force_login(seller)
    token = form_token(client.get(case.page).content.decode(), case.action)
    client.post(case.action, {**case.data, "form_token": token})
    client.force_login(teammate)
    response = client.post(case.action, {**case.data, "form_token": token})
    assert response.status_code == 400
    assert case.count() == 1


def test_submit_buttons_are_disabled_by_a_static_script(client):
    """No inline JS (strict CSP): base.html loads static/js/submit-once.js, deferred."""
    page = client.get(reverse("login")).content.decode()
    assert re.search(r'<script src="[^"]*js/submit-once\.js" defer></script>', page)


# --- Concurrent double submit, PostgreSQL only (SQLite serialises writers) --------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: runs on PostgreSQL in .ci/run")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("kind", ["payment", "invoice"])
def test_the_same_form_sent_twice_at_once_creates_one_record(seller, accountant, kind):
    case = case_for(kind, seller)
    actor = actor_for(kind, seller, accountant)
    reader = Client()
    reader.force_login(actor)
    token = form_token(reader.get(case.page).content.decode(), case.action)
    data = {**case.data, "form_token": token}
    barrier = threading.Barrier(2)
    responses: list = [None, None]

    def submit(index: int) -> None:
        client = Client()
        client.force_login(actor)
        try:
            barrier.wait(timeout=30)
            responses[index] = client.post(case.action, data)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert case.count() == 1
    assert [r.status_code for r in responses] == [302, 302]
    assert responses[0]["Location"] == responses[1]["Location"]


@pytest.mark.django_db
def test_tokens_are_forgotten_after_a_week_by_the_nightly_task(seller):
    from datetime import timedelta

    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    from crm.tasks import forget_form_tokens

    old = FormSubmission.objects.create(token=uuid.uuid4(), user=seller, created_at=timezone.now() - timedelta(days=8))
    recent = FormSubmission.objects.create(token=uuid.uuid4(), user=seller)

    assert forget_form_tokens() == 1
    assert list(FormSubmission.objects.all()) == [recent]
    assert not FormSubmission.objects.filter(pk=old.pk).exists()
    scheduled = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"crm.tasks.forget_form_tokens", "crm.tasks.requeue_pending"} <= scheduled
