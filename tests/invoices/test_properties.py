"""Property-based: a down payment and the final invoice that deducts it add up to the order exactly, per tax
rate — base and tax — for random orders (crm.money.advance_parts; Odoo's known down-payment rounding pain)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from crm import money

RATES = [Decimal("19"), Decimal("7"), Decimal("0"), Decimal("20"), Decimal("5.5"), Decimal("10")]

line = st.tuples(
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("500"), places=3),  # quantity
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2),  # unit price
    st.sampled_from(RATES),
    st.sampled_from([Decimal(0), Decimal(0), Decimal("5"), Decimal("12.5")]),  # discount %
)


def order_totals(lines) -> money.Totals:
    return money.compute_totals(
        [money.LineInput(quantity=q, unit_price=p, tax_percent=r, discount_percent=d) for q, p, r, d in lines], "EUR")


def bases(totals: money.Totals) -> dict[Decimal, Decimal]:
    return {s.percent: s.base for s in totals.tax_subtotals if s.base > 0}


def final_totals(lines, parts) -> money.Totals:
    """The final invoice: every order line, minus each down-payment part as a −1 × base line at its rate."""
    inputs = [money.LineInput(quantity=q, unit_price=p, tax_percent=r, discount_percent=d) for q, p, r, d in lines]
    inputs += [money.LineInput(quantity=Decimal(-1), unit_price=part.base, tax_percent=part.percent)
               for part in parts]
    return money.compute_totals(inputs, "EUR")


def check(lines, parts) -> None:
    order = order_totals(lines)
    final = final_totals(lines, parts)
    advance = {p.percent: p for p in parts}
    for subtotal in order.tax_subtotals:
        part = advance.get(subtotal.percent)
        rest = next(s for s in final.tax_subtotals if s.percent == subtotal.percent)
        base = (part.base if part else 0) + rest.base
        tax = (part.tax if part else 0) + rest.tax
        assert (base, tax) == (subtotal.base, subtotal.tax), subtotal.percent
        if part:
            assert Decimal(0) <= part.base <= subtotal.base
    advance_gross = sum((p.base + p.tax for p in parts), Decimal(0))
    assert advance_gross + final.gross == order.gross
    assert sum((p.base for p in parts), Decimal(0)) + final.net == order.net


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(line, min_size=1, max_size=8),
       percent=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2))
def test_percentage_down_payment_plus_final_is_the_order_exactly_per_rate(lines, percent):
    order = order_totals(lines)
    net = money.percent_of(order.net, percent, "EUR")
    if net <= 0:
        return
    parts = money.advance_parts(bases=bases(order), currency="EUR", net=net)
    check(lines, parts)
    # The parts are the requested share up to the few cents that keep every rate's tax exact.
    assert abs(sum((p.base for p in parts), Decimal(0)) - net) <= Decimal("0.01") * 100


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(line, min_size=1, max_size=8), share=st.floats(min_value=0.001, max_value=1.0))
def test_amount_down_payment_plus_final_is_the_order_exactly_per_rate(lines, share):
    order = order_totals(lines)
    gross = money.quantize(order.gross * Decimal(str(share)), "EUR")
    if gross <= 0:
        return
    parts = money.advance_parts(bases=bases(order), currency="EUR", gross=gross)
    check(lines, parts)
    paid = sum((p.base + p.tax for p in parts), Decimal(0))
    # Exact whenever the rates allow; otherwise the nearest clean split (tiny orders at low rates).
    assert abs(paid - gross) <= Decimal("0.10")


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(line, min_size=1, max_size=6),
       steps=st.lists(st.decimals(min_value=Decimal("1"), max_value=Decimal("60"), places=0), min_size=1, max_size=4))
def test_milestones_add_up_to_the_order_exactly_per_rate(lines, steps):
    order = order_totals(lines)
    left = bases(order)
    billed_base: dict[Decimal, Decimal] = {}
    billed_tax: dict[Decimal, Decimal] = {}
    done = Decimal(0)
    for step in [*steps, Decimal(100)]:
        if not left:
            break
        last = done + step >= 100
        net = sum(left.values()) if last else min(money.percent_of(order.net, step, "EUR"), sum(left.values()))
        done += step
        if net <= 0:
            continue
        for part in money.advance_parts(bases=left, currency="EUR", net=net):
            billed_base[part.percent] = billed_base.get(part.percent, 0) + part.base
            billed_tax[part.percent] = billed_tax.get(part.percent, 0) + part.tax
            left[part.percent] -= part.base
        left = {r: b for r, b in left.items() if b > 0}
        if last:
            break
    for subtotal in order.tax_subtotals:
        if subtotal.base > 0:
            assert billed_base[subtotal.percent] == subtotal.base
            assert billed_tax[subtotal.percent] == subtotal.tax
