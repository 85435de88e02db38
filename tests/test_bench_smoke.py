"""Smoke run of the benchmark suite at a tiny scale: the generator fills a consistent dataset and the page
measurements produce figures. No timing is asserted (the full run is `make bench`, see bench/README.md)."""

from __future__ import annotations

import pytest
from django.db.models import Count, F
from django.utils import timezone

from bench.generate import BENCH_SELLER, counts_for, generate, generate_invoices_only
from bench.run import PAGES, measure_pages
from crm.models import Sequence, User
from invoices.models import Invoice, InvoiceState
from invoices.services import invoices_sweep_overdue
from leads.models import Lead
from leads.services import lead_create
from opportunities.models import Opportunity, StageChange
from orders.models import Order, OrderLine
from quotes.models import Quote

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(settings):
    settings.SECURE_SSL_REDIRECT = False
    return generate(scale=0.0005, seed=1)


def test_generator_builds_a_consistent_dataset(dataset):
    counts = counts_for(0.0005)
    assert dataset["counts"] == counts
    assert Lead.objects.count() == counts["leads"]
    assert set(Lead.objects.values_list("state", flat=True)) >= {"new", "qualified"}
    assert Opportunity.objects.count() >= counts["opportunities"]
    assert StageChange.objects.count() > Opportunity.objects.count()
    assert Order.objects.count() >= counts["orders"]
    # Every order comes from an accepted quote; document totals add up.
    assert not Order.objects.exclude(quote__state="accepted").exists()
    # A fulfilled order has delivered every line, as order_fulfil leaves it.
    fulfilled = OrderLine.objects.filter(order__state="fulfilled")
    assert fulfilled.exists() and not fulfilled.filter(delivered_quantity__lt=F("quantity")).exists()
    for quote in Quote.objects.all()[:10]:
        assert quote.totals().gross == quote.gross_total.amount
    # Numbers are unique and the sequences continue after them: the next lead gets a fresh number.
    duplicates = Invoice.objects.exclude(number=None).values("number").annotate(n=Count("pk")).filter(n__gt=1)
    assert not duplicates.exists()
    assert Sequence.objects.filter(series="L").exists()
    seller = User.objects.get(username=BENCH_SELLER)
    lead = lead_create(actor=seller, last_name="After the benchmark")
    assert Lead.objects.filter(number=lead.number).count() == 1


def test_page_measurements_produce_numbers(dataset):
    pages = [p for p in PAGES if p[0] in ("lead list", "kanban", "dashboard")]
    results = measure_pages(repeats=2, pages=pages, roles={"seller": BENCH_SELLER})
    assert len(results) == len(pages)
    for key, figures in results.items():
        assert figures["status"] == 200, key
        assert figures["queries"] > 0, key
        assert figures["p50_ms"] > 0 and figures["p95_ms"] >= figures["p50_ms"], key


def test_sweep_table_mode_and_sweep(dataset):
    before = Invoice.objects.count()
    generate_invoices_only(40, overdue_share=0.5)
    assert Invoice.objects.count() == before + 40
    swept = invoices_sweep_overdue()
    assert swept > 0
    assert Invoice.objects.filter(state=InvoiceState.OVERDUE).count() >= swept
    assert not Invoice.objects.overdue_candidates(timezone.localdate()).exists()
