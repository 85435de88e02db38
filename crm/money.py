"""The one place where amounts are rounded and taxes computed.

Rules (EN 16931, BR-CO-10…BR-CO-17): a line net is quantity × unit price − discount, rounded to the
currency's minor unit; tax is computed per tax rate on the *sum* of the line nets of that rate and rounded
once; the document totals are sums of those rounded figures, so they always add up exactly.
Rounding is half-up (commercial rounding), the same on SQLite and PostgreSQL because we quantize before
anything reaches the database.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from djmoney.money import Money
from moneyed import get_currency

HUNDRED = Decimal(100)
ZERO = Decimal(0)


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were about to be combined."""


def minor_unit_exponent(currency: str) -> Decimal:
    """Decimal('0.01') for EUR, Decimal('1') for JPY, Decimal('0.001') for KWD."""
    sub_unit = get_currency(currency).sub_unit or 1
    digits = len(str(sub_unit)) - 1
    return Decimal(1).scaleb(-digits)


def quantize(amount: Decimal | int | str, currency: str) -> Decimal:
    return Decimal(amount).quantize(minor_unit_exponent(currency), rounding=ROUND_HALF_UP)


def money(amount: Decimal | int | str, currency: str) -> Money:
    return Money(quantize(amount, currency), currency)


def line_net(
    *, quantity: Decimal, unit_price: Decimal, discount_percent: Decimal = ZERO, currency: str,
    discount_amount: Decimal = ZERO,
) -> Decimal:
    """qty × price minus a percentage or an absolute discount (BT-136), rounded once to the minor unit."""
    gross = Decimal(quantity) * Decimal(unit_price)
    discount = gross * Decimal(discount_percent) / HUNDRED + Decimal(discount_amount)
    return quantize(gross - discount, currency)


def percent_of(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    return quantize(Decimal(amount) * Decimal(percent) / HUNDRED, currency)


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    tax_percent: Decimal
    discount_percent: Decimal = ZERO
    discount_amount: Decimal = ZERO


@dataclass(frozen=True)
class TaxSubtotal:
    percent: Decimal
    base: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Totals:
    currency: str
    line_nets: list[Decimal]
    net: Decimal
    tax: Decimal
    gross: Decimal
    tax_subtotals: list[TaxSubtotal] = field(default_factory=list)
    # Sum of the line nets before the document discount (BT-106), and that discount (BT-107).
    lines_net: Decimal = ZERO
    discount: Decimal = ZERO

    def as_money(self) -> dict[str, Money]:
        return {
            "net_total": Money(self.net, self.currency),
            "tax_total": Money(self.tax, self.currency),
            "gross_total": Money(self.gross, self.currency),
        }


def allocate(amount: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    """Split `amount` over `weights` in proportion, in minor units, so the parts sum to `amount` exactly.

    Largest remainder: every part is rounded down, then the cents left over go to the largest
    remainders (ties to the first weight). Weights of zero get nothing unless all are zero.
    """
    amount = quantize(amount, currency)
    if not weights:
        return []
    unit = minor_unit_exponent(currency)
    total_weight = sum(weights, ZERO)
    if total_weight == 0:
        weights, total_weight = [Decimal(1)] * len(weights), Decimal(len(weights))
    sign = -1 if amount < 0 else 1
    units = int(abs(amount) / unit)
    exact = [Decimal(units) * w / total_weight for w in weights]
    floors = [int(e) for e in exact]
    leftover = units - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += 1
    return [Decimal(sign * f) * unit for f in floors]


def compute_totals(lines: Iterable[LineInput], currency: str, *, document_discount: Decimal = ZERO) -> Totals:
    """Document totals. A document-level discount (BT-107) is allocated to the tax rates in proportion to
    their bases, so every rate's tax is still computed once on what is really charged at that rate."""
    nets: list[Decimal] = []
    base_by_rate: dict[Decimal, Decimal] = {}
    for line in lines:
        net = line_net(
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            discount_amount=line.discount_amount,
            currency=currency,
        )
        nets.append(net)
        rate = Decimal(line.tax_percent).normalize()
        base_by_rate[rate] = base_by_rate.get(rate, ZERO) + net
    rates = sorted(base_by_rate)
    lines_net = quantize(sum(nets, ZERO), currency)
    discount = quantize(document_discount, currency)
    shares = allocate(discount, [base_by_rate[r] for r in rates], currency) if discount else [ZERO] * len(rates)
    subtotals = []
    for rate, share in zip(rates, shares, strict=True):
        base = base_by_rate[rate] - share
        subtotals.append(TaxSubtotal(percent=rate, base=base, tax=quantize(base * rate / HUNDRED, currency)))
    net_total = lines_net - discount
    tax_total = sum((s.tax for s in subtotals), ZERO)
    return Totals(
        currency=currency,
        line_nets=nets,
        net=quantize(net_total, currency),
        tax=quantize(tax_total, currency),
        gross=quantize(net_total + tax_total, currency),
        tax_subtotals=subtotals,
        lines_net=lines_net,
        discount=discount,
    )


def convert(amount: Decimal, *, rate: Decimal, to_currency: str) -> Decimal:
    """`amount` × `rate` rounded to the target currency (rate = value of one source unit in the target)."""
    return quantize(Decimal(amount) * Decimal(rate), to_currency)


def convert_on(amount: Money, on, to_currency: str | None = None) -> Money:
    """Convert `amount` at the stored exchange rates of date `on` (the latest rate on or before it).

    Rates are quoted against the company currency; two foreign currencies convert through it.
    Raises crm.models.ExchangeRate.DoesNotExist when no rate is known yet.
    """
    from django.conf import settings  # noqa: PLC0415  (money stays importable without Django set up)

    from crm.models import ExchangeRate  # noqa: PLC0415  (models import money indirectly)

    company = settings.DEFAULT_CURRENCY
    to_currency = to_currency or company
    source = str(amount.currency)
    if source == to_currency:
        return Money(quantize(amount.amount, to_currency), to_currency)
    value = amount.amount
    if source != company:
        value = value * ExchangeRate.rate_on(source, on)
    if to_currency != company:
        value = value / ExchangeRate.rate_on(to_currency, on)
    return Money(quantize(value, to_currency), to_currency)


def add(a: Money, b: Money) -> Money:
    if a.currency != b.currency:
        raise CurrencyMismatch(f"cannot add {a.currency} and {b.currency}")
    return a + b


# --- Invoicing an order in several steps (invoices app) ---------------------------------------------------


def early_payment_amount(gross: Decimal, percent: Decimal, currency: str) -> Decimal:
    """What is due when paying within the early-payment discount period ("2 % within 10 days")."""
    gross = Decimal(gross)
    return quantize(gross - gross * Decimal(percent) / HUNDRED, currency)


def _rate_tax(base: Decimal, percent: Decimal, currency: str) -> Decimal:
    return quantize(Decimal(base) * Decimal(percent) / HUNDRED, currency)


def splits_cleanly(part: Decimal, whole: Decimal, percent: Decimal, currency: str) -> bool:
    """Whether tax(part) + tax(whole − part) == tax(whole), each rounded once: the condition for an
    advance and the invoice that later deducts it to add up to the whole document's tax exactly."""
    return _rate_tax(part, percent, currency) + _rate_tax(whole - part, percent, currency) == _rate_tax(
        whole, percent, currency
    )


def _largest_remainder(amount: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    unit = minor_unit_exponent(currency)
    units = int(quantize(amount, currency) / unit)
    total = sum(weights, ZERO)
    if not weights:
        return []
    if total == 0:
        weights, total = [Decimal(1)] * len(weights), Decimal(len(weights))
    exact = [Decimal(units) * w / total for w in weights]
    floors = [int(e) for e in exact]
    for i in sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))[: units - sum(floors)]:
        floors[i] += 1
    return [Decimal(f) * unit for f in floors]


def _nearest_clean(start: Decimal, whole: Decimal, percent: Decimal, currency: str, *, want_gross=None):
    """The base closest to `start` (within [0, whole]) that splits `whole` cleanly at `percent`; with
    `want_gross`, also one whose base + tax equals it. None when there is none within 2 × 100 minor units."""
    unit = minor_unit_exponent(currency)
    for step in range(0, 101):
        for candidate in (start + step * unit, start - step * unit):
            if not ZERO <= candidate <= whole or not splits_cleanly(candidate, whole, percent, currency):
                continue
            if want_gross is None or candidate + _rate_tax(candidate, percent, currency) == want_gross:
                return candidate
    return None


def advance_parts(
    *, bases: dict[Decimal, Decimal], currency: str, net: Decimal | None = None, gross: Decimal | None = None
) -> list[TaxSubtotal]:
    """Split a down payment (or a milestone) over the tax rates of a document, in proportion to the
    document's net base per rate (`bases`: percent → base still to be billed).

    Give either the advance's `net` total (e.g. 30 % of the document's net) or the `gross` amount the
    customer is asked to transfer. Guarantees, for every rate, part ≤ base and
    tax(part) + tax(base − part) == tax(base): an invoice that later deducts the part at that rate and
    computes its own tax once on what is left (EN 16931) adds up with the advance to the document's
    base and tax per rate exactly. To keep that true, a part may move a few minor units away from its
    exact proportional share; with `gross` the largest rate absorbs the rest so the advance's gross
    equals the amount asked for whenever that is possible (otherwise it is the nearest possible).
    """
    rates = sorted(bases)
    whole_net = sum(bases.values(), ZERO)
    whole_gross = sum((b + _rate_tax(b, r, currency) for r, b in bases.items()), ZERO)
    if (net is None) == (gross is None):
        raise ValueError("give exactly one of net or gross")
    if gross is not None:
        gross = quantize(gross, currency)
        if not ZERO < gross <= whole_gross:
            raise ValueError("the advance must be more than zero and at most the amount left to bill")
        net = quantize(whole_net * gross / whole_gross, currency)
    net = quantize(net, currency)
    if not ZERO < net <= whole_net:
        raise ValueError("the advance must be more than zero and at most the amount left to bill")
    shares = _largest_remainder(net, [bases[r] for r in rates], currency)
    parts = []
    for rate, share in zip(rates, shares, strict=True):
        clean = _nearest_clean(share, bases[rate], rate, currency)
        parts.append(share if clean is None else clean)
    if gross is not None and rates:
        biggest = max(range(len(rates)), key=lambda i: (bases[rates[i]], -i))
        others = sum(
            (p + _rate_tax(p, rates[i], currency) for i, p in enumerate(parts) if i != biggest), ZERO
        )
        exact = _nearest_clean(parts[biggest], bases[rates[biggest]], rates[biggest], currency,
                               want_gross=gross - others)
        if exact is not None:
            parts[biggest] = exact
    return [
        TaxSubtotal(percent=rate, base=part, tax=_rate_tax(part, rate, currency))
        for rate, part in zip(rates, parts, strict=True)
        if part
    ]


def memoize_money_formatting() -> None:
    """Remember how each amount reads in each locale (djmoney's str(Money) asks Babel every time).

    Formatting is a pure function of amount, currency, locale and options, so a remembered answer can never go
    stale. Babel's pattern engine cost about 0.5 ms per amount, and a 100-line quote shows 300 amounts. The
    amount is keyed by its text, so 1 and 1.00 stay apart; bounded, so a long-running worker does not grow."""
    import moneyed
    import moneyed.l10n

    original = getattr(moneyed.l10n.format_money, "__wrapped__", moneyed.l10n.format_money)

    @functools.lru_cache(maxsize=8192)
    def formatted(amount: str, currency: str, options: tuple[tuple[str, Any], ...]) -> str:
        return original(moneyed.Money(Decimal(amount), currency), **dict(options))

    @functools.wraps(original)
    def format_money(money: Any, **options: Any) -> str:
        return formatted(str(money.amount), money.currency.code, tuple(sorted(options.items())))

    moneyed.l10n.format_money = format_money
