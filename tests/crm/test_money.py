"""crm.money: the one place where amounts are rounded and taxes computed (EN 16931 BR-CO-10…17)."""

from decimal import Decimal

import pytest
from djmoney.money import Money
from hypothesis import given, settings
from hypothesis import strategies as st

from crm import money
from crm.money import CurrencyMismatch, LineInput, compute_totals, line_net, quantize

D = Decimal


# --- minor units and rounding -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("currency", "exponent"), [("EUR", D("0.01")), ("USD", D("0.01")), ("JPY", D("1")), ("KWD", D("0.001"))]
)
def test_minor_unit_follows_the_currency(currency, exponent):
    assert money.minor_unit_exponent(currency) == exponent


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("10.005", "EUR", "10.01"),  # half-up: SQLite would store 10.00, banker's rounding gives 10.00
        ("10.025", "EUR", "10.03"),  # half-even would give 10.02
        ("0.125", "EUR", "0.13"),
        ("-10.005", "EUR", "-10.01"),  # half away from zero, also for credits
        ("10.004", "EUR", "10.00"),
        ("100.5", "JPY", "101"),  # no decimals
        ("99.4", "JPY", "99"),
        ("1.0005", "KWD", "1.001"),  # three decimals
        ("1.0004", "KWD", "1.000"),
    ],
)
def test_quantize_rounds_half_up_to_the_minor_unit(amount, currency, expected):
    result = quantize(amount, currency)
    assert result == D(expected)
    assert result.as_tuple().exponent == D(expected).as_tuple().exponent


def test_money_returns_a_quantized_money():
    assert money.money("10.005", "EUR") == Money(D("10.01"), "EUR")
    assert str(money.money("3", "EUR").amount) == "3.00"


# --- line net -----------------------------------------------------------------------------------

def test_line_net_is_quantity_times_price_rounded_half_up():
    assert line_net(quantity=D("1"), unit_price=D("10.005"), currency="EUR") == D("10.01")
    assert line_net(quantity=D("3"), unit_price=D("0.3335"), currency="EUR") == D("1.00")  # 1.0005
    assert line_net(quantity=D("2.5"), unit_price=D("19.99"), currency="EUR") == D("49.98")  # 49.975


def test_line_net_in_currencies_with_other_minor_units():
    assert line_net(quantity=D("1"), unit_price=D("100.5"), currency="JPY") == D("101")
    assert line_net(quantity=D("3"), unit_price=D("0.3335"), currency="KWD") == D("1.001")  # 1.0005


def test_line_net_applies_the_discount_before_rounding():
    # 3 × 19.99 = 59.97, minus 10 % = 53.973
    assert line_net(quantity=D("3"), unit_price=D("19.99"), discount_percent=D("10"), currency="EUR") == D("53.97")
    # 1 × 10.01 minus 50 % = 5.005 → 5.01 (rounded once, after the discount)
    assert line_net(quantity=D("1"), unit_price=D("10.01"), discount_percent=D("50"), currency="EUR") == D("5.01")


def test_full_discount_makes_a_zero_line():
    assert line_net(quantity=D("4"), unit_price=D("25"), discount_percent=D("100"), currency="EUR") == D("0.00")


# --- document totals ----------------------------------------------------------------------------

def test_tax_is_rounded_once_on_the_sum_per_rate_not_per_line():
    # Per line: 0.13 × 19 % = 0.0247 → 0.02, three times 0.06. On the sum: 0.39 × 19 % = 0.0741 → 0.07.
    lines = [LineInput(quantity=D(1), unit_price=D("0.13"), tax_percent=D("19"))] * 3
    per_line = sum(quantize(D("0.13") * D("0.19"), "EUR") for _ in lines)
    assert per_line == D("0.06")

    totals = compute_totals(lines, "EUR")

    assert totals.net == D("0.39")
    assert totals.tax == D("0.07")
    assert totals.gross == D("0.46")
    assert totals.line_nets == [D("0.13")] * 3
    assert [(s.percent, s.base, s.tax) for s in totals.tax_subtotals] == [(D("19"), D("0.39"), D("0.07"))]


def test_mixed_rates_give_one_subtotal_per_rate_and_add_up():
    lines = [
        LineInput(quantity=D(2), unit_price=D("100.00"), tax_percent=D("19.00"), discount_percent=D("10")),  # 180.00
        LineInput(quantity=D(1), unit_price=D("9.99"), tax_percent=D("7.00")),  # 9.99
        LineInput(quantity=D(3), unit_price=D("0.35"), tax_percent=D("7")),  # 1.05, same rate written differently
        LineInput(quantity=D(1), unit_price=D("50"), tax_percent=D("0")),  # exempt
    ]

    totals = compute_totals(lines, "EUR")

    assert totals.line_nets == [D("180.00"), D("9.99"), D("1.05"), D("50.00")]
    subtotals = {s.percent: (s.base, s.tax) for s in totals.tax_subtotals}
    assert subtotals == {
        D("0"): (D("50.00"), D("0.00")),
        D("7"): (D("11.04"), D("0.77")),  # 0.7728
        D("19"): (D("180.00"), D("34.20")),
    }
    assert [s.percent for s in totals.tax_subtotals] == sorted(subtotals)
    assert totals.net == D("241.04")
    assert totals.tax == D("34.97")
    assert totals.gross == D("276.01")
    assert totals.net + totals.tax == totals.gross


def test_totals_of_no_lines_are_zero():
    totals = compute_totals([], "EUR")
    assert (totals.net, totals.tax, totals.gross, totals.tax_subtotals) == (D(0), D(0), D(0), [])


def test_totals_in_yen_have_no_decimals():
    lines = [LineInput(quantity=D(3), unit_price=D("333"), tax_percent=D("10"))]  # 999, tax 99.9
    totals = compute_totals(lines, "JPY")
    assert (totals.net, totals.tax, totals.gross) == (D("999"), D("100"), D("1099"))


def test_as_money_carries_the_currency():
    totals = compute_totals([LineInput(quantity=D(1), unit_price=D("10"), tax_percent=D("19"))], "USD")
    assert totals.as_money() == {
        "net_total": Money("10.00", "USD"),
        "tax_total": Money("1.90", "USD"),
        "gross_total": Money("11.90", "USD"),
    }


# --- properties ---------------------------------------------------------------------------------

quantities = st.decimals(min_value=D("0.001"), max_value=D("10000"), places=3, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=D("0"), max_value=D("100000"), places=4, allow_nan=False, allow_infinity=False)
discounts = st.decimals(min_value=D("0"), max_value=D("100"), places=2, allow_nan=False, allow_infinity=False)
rates = st.sampled_from([D("0"), D("5"), D("7"), D("7.7"), D("10"), D("19"), D("19.00"), D("20"), D("21")])
line_inputs = st.builds(
    LineInput, quantity=quantities, unit_price=prices, tax_percent=rates, discount_percent=discounts
)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(line_inputs, max_size=12), currency=st.sampled_from(["EUR", "JPY", "KWD"]))
def test_totals_always_add_up_exactly(lines, currency):
    totals = compute_totals(lines, currency)

    assert totals.net + totals.tax == totals.gross  # BR-CO-15
    assert totals.net == sum(totals.line_nets, D(0))  # BR-CO-10
    assert totals.tax == sum((s.tax for s in totals.tax_subtotals), D(0))  # BR-CO-14
    assert sum((s.base for s in totals.tax_subtotals), D(0)) == totals.net
    exponent = money.minor_unit_exponent(currency).as_tuple().exponent
    for amount in [*totals.line_nets, totals.net, totals.tax, totals.gross]:
        assert amount.as_tuple().exponent == exponent


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(line_inputs, min_size=1, max_size=12))
def test_tax_per_rate_is_the_rounded_tax_of_the_summed_base(lines):
    totals = compute_totals(lines, "EUR")

    expected_bases: dict[Decimal, Decimal] = {}
    for line, net in zip(lines, totals.line_nets, strict=True):
        rate = line.tax_percent.normalize()
        expected_bases[rate] = expected_bases.get(rate, D(0)) + net
    assert {s.percent: s.base for s in totals.tax_subtotals} == expected_bases
    for subtotal in totals.tax_subtotals:
        assert subtotal.tax == quantize(subtotal.base * subtotal.percent / 100, "EUR")


# --- currencies never mix -----------------------------------------------------------------------

def test_add_sums_amounts_of_one_currency():
    assert money.add(Money("1.10", "EUR"), Money("2.20", "EUR")) == Money("3.30", "EUR")


def test_add_refuses_to_mix_currencies():
    with pytest.raises(CurrencyMismatch, match="EUR and USD"):
        money.add(Money("1.00", "EUR"), Money("1.00", "USD"))


@settings(max_examples=200, deadline=None)
@given(
    amount=st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=3, allow_nan=False),
    currency=st.sampled_from(["EUR", "USD", "GBP", "CHF", "JPY"]),
    language=st.sampled_from(["en", "de"]),
)
def test_amounts_read_exactly_as_babel_formats_them(amount, currency, language):
    """str(Money) is remembered per amount, currency and locale: it must read as Babel's own answer, in the
    active language, for every amount (remembered or not)."""
    from babel.numbers import format_currency
    from django.utils import translation

    with translation.override(language):
        first, again = str(Money(amount, currency)), str(Money(amount, currency))
    expected = format_currency(amount, currency, locale=translation.to_locale(language))
    assert first == again == expected


def test_the_same_amount_reads_in_each_language_and_keeps_its_digits():
    from django.utils import translation

    with translation.override("en"):
        english = str(Money("1234.5", "EUR"))
    with translation.override("de"):
        german = str(Money("1234.5", "EUR"))
    assert (english, german) == ("€1,234.50", "1.234,50\xa0€")
