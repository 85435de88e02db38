"""crm.money: amount discounts, document discounts allocated per tax rate, currency conversion.

The property tests state the invariants an accountant relies on (EN 16931 BR-CO-10…17)."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from djmoney.money import Money
from hypothesis import given, settings
from hypothesis import strategies as st

from crm import money
from crm.models import ExchangeRate
from crm.money import LineInput, allocate, compute_totals, quantize

D = Decimal

amounts = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)
rates = st.sampled_from([D(0), D(7), D(19), D("5.5"), D(20), D("8.1")])
line_inputs = st.builds(
    LineInput,
    quantity=st.decimals(min_value=D("0.001"), max_value=D(1000), places=3),
    unit_price=st.decimals(min_value=D(0), max_value=D(9999), places=4),
    tax_percent=rates,
    discount_percent=st.sampled_from([D(0), D(5), D("12.5"), D(100)]),
)


@given(st.lists(line_inputs, min_size=1, max_size=12), st.decimals(min_value=0, max_value=1, places=4))
@settings(max_examples=300, deadline=None)
def test_totals_invariants_with_a_document_discount(lines, share):
    lines_net = sum(money.line_net(quantity=li.quantity, unit_price=li.unit_price,
                                   discount_percent=li.discount_percent, currency="EUR") for li in lines)
    discount = quantize(lines_net * share, "EUR")

    totals = compute_totals(lines, "EUR", document_discount=discount)

    assert totals.net + totals.tax == totals.gross
    assert totals.lines_net - totals.discount == totals.net
    assert sum(s.base for s in totals.tax_subtotals) == totals.net
    assert sum(s.tax for s in totals.tax_subtotals) == totals.tax
    for subtotal in totals.tax_subtotals:  # tax per rate: base × rate, rounded once
        assert subtotal.tax == quantize(subtotal.base * subtotal.percent / 100, "EUR")
        assert subtotal.base >= 0


@given(amounts, st.lists(st.decimals(min_value=0, max_value=D(10_000), places=2), min_size=1, max_size=8),
       st.sampled_from(["EUR", "JPY", "KWD"]))
@settings(max_examples=300, deadline=None)
def test_allocations_sum_exactly_to_the_discount(amount, weights, currency):
    amount = quantize(amount, currency)

    parts = allocate(amount, weights, currency)

    assert sum(parts) == amount
    assert all(part == quantize(part, currency) for part in parts)
    total = sum(weights)
    unit = money.minor_unit_exponent(currency)
    for part, weight in zip(parts, weights, strict=True):
        exact = amount * weight / total if total else amount / len(weights)
        assert abs(part - exact) < unit  # never more than one minor unit off its fair share


def test_allocation_gives_the_leftover_cent_to_the_largest_remainder():
    assert allocate(D("0.10"), [D(1), D(1), D(1)], "EUR") == [D("0.04"), D("0.03"), D("0.03")]
    assert allocate(D("10.00"), [D(300), D(100)], "EUR") == [D("7.50"), D("2.50")]
    assert allocate(D("-1.00"), [D(1), D(2)], "EUR") == [D("-0.33"), D("-0.67")]


def test_a_line_discount_amount_is_subtracted_before_rounding():
    assert money.line_net(quantity=D(3), unit_price=D("33.335"), discount_amount=D("0.005"), currency="EUR") == D(
        "100.00"
    )


def test_document_discount_keeps_each_rate_right():
    lines = [LineInput(quantity=D(1), unit_price=D(300), tax_percent=D(19)),
             LineInput(quantity=D(1), unit_price=D(100), tax_percent=D(7))]

    totals = compute_totals(lines, "EUR", document_discount=D(40))

    assert [(s.percent, s.base, s.tax) for s in totals.tax_subtotals] == [
        (D(7), D("90.00"), D("6.30")), (D(19), D("270.00"), D("51.30"))
    ]
    assert (totals.net, totals.tax, totals.gross, totals.discount) == (D(360), D("57.60"), D("417.60"), D(40))


# --- exchange rates ---------------------------------------------------------------------------------

def test_convert_rounds_to_the_target_currency():
    assert money.convert(D("100.00"), rate=D("0.9234"), to_currency="EUR") == D("92.34")
    assert money.convert(D("10.00"), rate=D("161.5"), to_currency="JPY") == D(1615)


@pytest.mark.django_db
def test_convert_on_uses_the_latest_rate_of_that_date():
    ExchangeRate.objects.create(date=date(2026, 3, 1), currency="USD", rate=D("0.90"))
    ExchangeRate.objects.create(date=date(2026, 3, 5), currency="USD", rate=D("0.95"))
    ExchangeRate.objects.create(date=date(2026, 3, 5), currency="GBP", rate=D("1.20"))

    assert money.convert_on(Money(100, "USD"), date(2026, 3, 4)) == Money("90.00", "EUR")
    assert money.convert_on(Money(100, "USD"), date(2026, 3, 5)) == Money("95.00", "EUR")
    assert money.convert_on(Money(100, "EUR"), date(2020, 1, 1)) == Money("100.00", "EUR")
    # Between two foreign currencies through the company currency: 120 EUR / 0.95.
    assert money.convert_on(Money(100, "GBP"), date(2026, 3, 5), "USD") == Money("126.32", "USD")
    with pytest.raises(ExchangeRate.DoesNotExist):
        money.convert_on(Money(100, "USD"), date(2026, 2, 1))


@pytest.mark.django_db
def test_import_rates_reads_a_csv(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("date,currency,rate\n2026-03-01,USD,0.92\n2026-03-01,gbp,1.17\n")
    ExchangeRate.objects.create(date=date(2026, 3, 1), currency="USD", rate=D("0.5"))
    out = StringIO()

    call_command("import_rates", str(path), stdout=out)

    assert "2 rate(s) imported" in out.getvalue()
    assert ExchangeRate.rate_on("USD", date(2026, 3, 1)) == D("0.92")
    assert ExchangeRate.rate_on("GBP", date(2026, 3, 2)) == D("1.17")


@pytest.mark.django_db
@pytest.mark.parametrize(("content", "message"), [
    ("2026-03-01,USD,abc\n", "not a number"),
    ("01.03.2026,USD,0.9\n", "not a date"),
    ("2026-03-01,USD,-1\n", "positive"),
    ("2026-03-01,EUR,1\n", "company currency"),
    ("2026-03-01,USD\n", "expected date,currency,rate"),
])
def test_import_rates_refuses_a_bad_file_and_writes_nothing(tmp_path, content, message):
    path = tmp_path / "rates.csv"
    path.write_text("2026-02-01,USD,0.9\n" + content)

    with pytest.raises(CommandError, match=message):
        call_command("import_rates", str(path))

    assert not ExchangeRate.objects.exists()
