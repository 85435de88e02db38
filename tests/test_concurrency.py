"""Race conditions the design promises to survive: double accept, concurrent invoice numbering, double
qualify, double payment. Real threads, real transactions, real row locks — so PostgreSQL only (SQLite
serialises writers on the whole file and `select_for_update()` is a no-op there)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from djmoney.money import Money

from crm.models import Account, Sequence
from crm.workflow import DomainError
from invoices.models import Invoice, InvoiceState, Payment
from invoices.services import invoice_issue, payment_record
from leads.models import Lead
from opportunities.models import Opportunity
from opportunities.services import opportunity_create_from_lead
from orders.models import Order
from orders.services import order_create_from_quote
from quotes.models import Quote
from tests import factories

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs row locks and concurrent writers: runs in .ci/run on PostgreSQL",
    ),
    # serialized_rollback: the roles and default stages created by migrations survive the table flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def run_concurrently(count: int, work: Callable[[int], Any]) -> list[tuple[str, Any]]:
    """Run work(0) … work(count-1) in `count` threads released at the same instant by a barrier.
    Returns ("ok", result) or ("error", exception) per thread."""
    barrier = threading.Barrier(count)
    results: list[tuple[str, Any]] = [("missing", None)] * count

    def target(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = ("ok", work(index))
        except Exception as exc:  # collected and asserted on by the test
            results[index] = ("error", exc)
        finally:
            connection.close()  # each thread has its own connection; do not leak it

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results


@pytest.fixture(autouse=True)
def _no_pdf_rendering(monkeypatch):
    """Committed sends and issues queue PDF renders; count them instead of rendering 20 PDFs."""
    from invoices.tasks import render_invoice_pdf
    from quotes.tasks import render_quote_pdf

    queued: list[tuple[str, int]] = []
    # crm.jobs.enqueue hands work to the broker with apply_async (it keeps it as pending when that fails).
    monkeypatch.setattr(render_quote_pdf, "apply_async", lambda args=(), **kw: queued.append(("quote", args[0])))
    monkeypatch.setattr(render_invoice_pdf, "apply_async", lambda args=(), **kw: queued.append(("invoice", args[0])))
    return queued


def test_two_simultaneous_accepts_of_one_quote_make_exactly_one_order(seller):
    quote = factories.quote(owner=seller, sent=True)

    results = run_concurrently(
        2, lambda _i: order_create_from_quote(quote=Quote.objects.get(pk=quote.pk), actor=seller)
    )

    assert Order.objects.count() == 1
    order = Order.objects.get()
    for outcome, value in results:
        if outcome == "ok":
            assert value.pk == order.pk
        else:
            assert isinstance(value, DomainError), value
    assert any(outcome == "ok" for outcome, _ in results)
    assert order.lines.count() == 2
    quote.refresh_from_db()
    assert quote.state == "accepted"
    opportunity = quote.opportunity
    opportunity.refresh_from_db()
    assert opportunity.state == "won"
    assert opportunity.state_log().filter(transition="win").count() == 1


def test_concurrent_issues_get_gapless_unique_numbers(accountant, seller, _no_pdf_rendering):
    count = 20
    drafts = [factories.invoice(owner=seller) for _ in range(count)]
    assert not Sequence.objects.filter(series="INV").exists()  # the first number of the year is raced for too

    results = run_concurrently(
        count, lambda i: invoice_issue(invoice=Invoice.objects.get(pk=drafts[i].pk),
                                       actor=accountant).number
    )

    assert [outcome for outcome, _ in results] == ["ok"] * count, results
    year = timezone.localdate().year
    expected = [f"INV-{year}-{n:05d}" for n in range(1, count + 1)]
    assert sorted(number for _, number in results) == expected
    assert sorted(Invoice.objects.values_list("number", flat=True)) == expected
    assert set(Invoice.objects.values_list("state", flat=True)) == {InvoiceState.ISSUED}
    assert Sequence.objects.get(series="INV", year=year).last_value == count
    assert sorted(pk for kind, pk in _no_pdf_rendering if kind == "invoice") == sorted(d.pk for d in drafts)


def test_issuing_one_draft_twice_at_once_takes_one_number(accountant, seller):
    draft = factories.invoice(owner=seller)

    results = run_concurrently(2, lambda _i: invoice_issue(invoice=Invoice.objects.get(pk=draft.pk),
                               actor=accountant))

    outcomes = sorted(outcome for outcome, _ in results)
    assert outcomes == ["error", "ok"], results
    assert all(isinstance(value, DomainError) for outcome, value in results if outcome == "error")
    draft.refresh_from_db()
    assert draft.number == f"INV-{timezone.localdate().year}-00001"
    assert Sequence.objects.get(series="INV").last_value == 1


def test_two_simultaneous_qualifications_of_one_lead_make_one_opportunity(seller):
    lead = factories.lead(owner=seller, email="jane@acme.example")

    results = run_concurrently(
        2, lambda _i: opportunity_create_from_lead(lead=Lead.objects.get(pk=lead.pk), actor=seller)
    )

    assert Opportunity.objects.count() == 1
    opportunity = Opportunity.objects.get()
    assert [outcome for outcome, _ in results] == ["ok", "ok"], results
    assert {value.pk for _, value in results} == {opportunity.pk}
    assert Account.objects.count() == 1
    lead.refresh_from_db()
    assert lead.state == "qualified"
    assert lead.state_log().count() == 1


def test_two_simultaneous_full_payments_book_only_one(accountant, seller):
    invoice = factories.invoice(owner=seller, issued=True)

    results = run_concurrently(
        2,
        lambda _i: payment_record(
            invoice=Invoice.objects.get(pk=invoice.pk), actor=accountant, amount=Money("238.00", "EUR")
        ),
    )

    assert sorted(outcome for outcome, _ in results) == ["error", "ok"], results
    assert all(isinstance(value, DomainError) for outcome, value in results if outcome == "error")
    assert Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID
    assert invoice.amount_paid == Money("238.00", "EUR")
