"""The sales forecast of a team for a month, quarter or year: per seller and for the team, the target, what was
won, the open pipeline expected to close in the period (as is and weighted by probability) and the forecast
(won + weighted). Three grouped queries whatever the number of deals; amounts stay per currency, and only the
target's currency is compared with the target."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from djmoney.money import Money

from crm.models import Team, User
from crm.money import quantize
from opportunities.models import Opportunity, OpportunityState, SalesTarget


@dataclass(frozen=True)
class Period:
    key: str  # "2026-Q4", "2026-12" or "2026": what the page's select and URL carry
    label: str
    start: date
    end: date  # the last day, included


def _quarter(year: int, quarter: int) -> Period:
    start = date(year, 3 * quarter - 2, 1)
    return Period(f"{year}-Q{quarter}", _("Q%(quarter)s %(year)s") % {"quarter": quarter, "year": year}, start,
                  _month_after(date(year, 3 * quarter, 1)) - timedelta(days=1))


def _month(year: int, month: int) -> Period:
    start = date(year, month, 1)
    return Period(f"{year}-{month:02d}", date_format(start, "YEAR_MONTH_FORMAT"), start,
                  _month_after(start) - timedelta(days=1))


def _year(year: int) -> Period:
    return Period(str(year), str(year), date(year, 1, 1), date(year, 12, 31))


def _month_after(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def parse_period(key: str | None, today: date) -> Period:
    """The period a key names; anything else (or nothing) is the current quarter."""
    key = key or ""
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", key):
        return _quarter(int(m[1]), int(m[2]))
    if (m := re.fullmatch(r"(\d{4})-(\d{2})", key)) and 1 <= int(m[2]) <= 12:
        return _month(int(m[1]), int(m[2]))
    if re.fullmatch(r"\d{4}", key) and 2000 <= int(key) <= 2100:
        return _year(int(key))
    return _quarter(today.year, (today.month - 1) // 3 + 1)


def period_choices(today: date) -> list[Period]:
    """What the page offers: last, this and next quarter and month, this and next year."""
    quarter = (today.month - 1) // 3 + 1
    quarters = [(today.year, quarter - 1) if quarter > 1 else (today.year - 1, 4), (today.year, quarter),
                (today.year, quarter + 1) if quarter < 4 else (today.year + 1, 1)]
    this_month = today.replace(day=1)
    months = [(this_month - timedelta(days=1)).replace(day=1), this_month, _month_after(this_month)]
    return ([_quarter(y, q) for y, q in quarters] + [_month(m.year, m.month) for m in months]
            + [_year(today.year), _year(today.year + 1)])


@dataclass
class ForecastRow:
    label: str
    target: Money | None = None
    won: list[Money] = field(default_factory=list)
    won_count: int = 0
    pipeline: list[Money] = field(default_factory=list)
    weighted: list[Money] = field(default_factory=list)
    open_count: int = 0
    slipped: int = 0  # open deals of the period whose expected close date has passed

    def _in(self, amounts: list[Money], currency: str) -> Decimal:
        return sum((m.amount for m in amounts if str(m.currency) == currency), Decimal(0))

    @property
    def forecast(self) -> list[Money]:
        currencies = sorted({str(m.currency) for m in self.won + self.weighted})
        return [Money(quantize(self._in(self.won, c) + self._in(self.weighted, c), c), c) for c in currencies]

    def _share(self, amount: Decimal) -> Decimal | None:
        if self.target is None or not self.target.amount:
            return None
        return (Decimal(100) * amount / self.target.amount).quantize(Decimal("0.1"))

    @property
    def attainment(self) -> Decimal | None:
        """Won, % of the target."""
        return self._share(self._in(self.won, str(self.target.currency))) if self.target else None

    @property
    def projected(self) -> Decimal | None:
        """Won + weighted pipeline, % of the target."""
        if self.target is None:
            return None
        currency = str(self.target.currency)
        return self._share(self._in(self.won, currency) + self._in(self.weighted, currency))

    @property
    def gap(self) -> Money | None:
        """What is still missing to the target after the forecast (never negative)."""
        if self.target is None:
            return None
        currency = str(self.target.currency)
        missing = self.target.amount - self._in(self.won, currency) - self._in(self.weighted, currency)
        return Money(quantize(max(missing, Decimal(0)), currency), currency)

    # Bar widths for the page (% of the target, capped at the bar's end).
    @property
    def won_bar(self) -> Decimal:
        return min(self.attainment or Decimal(0), Decimal(100))

    @property
    def weighted_bar(self) -> Decimal:
        return min(self.projected or Decimal(0), Decimal(100)) - self.won_bar


@dataclass
class Forecast:
    team: Team | None
    period: Period
    today: date
    sellers: list[ForecastRow]
    total: ForecastRow


def _bounds(period: Period) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(period.start, time.min))
    return start, timezone.make_aware(datetime.combine(period.end + timedelta(days=1), time.min))


def sales_forecast(*, user: User, team: Team | None, period: Period, today: date | None = None,
                   owner: User | None = None) -> Forecast:
    """The team's forecast as `user` may see it; `owner`: only that seller's deals."""
    today = today or timezone.localdate()
    deals = Opportunity.objects.visible_to(user)
    if team is not None:
        deals = deals.filter(team=team)
    if owner is not None:
        deals = deals.filter(owner=owner)
    start, end = _bounds(period)
    rows: dict[int, ForecastRow] = {}
    total = ForecastRow(_("Team total"))

    def row(owner_id: int) -> ForecastRow:
        return rows.setdefault(owner_id, ForecastRow(""))

    won = (deals.filter(state=OpportunityState.WON, closed_at__gte=start, closed_at__lt=end).order_by()
           .values("owner_id", "amount_currency").annotate(n=Count("pk"), total=Sum("amount")))
    for entry in won:
        for target in (row(entry["owner_id"]), total):
            target.won.append(Money(entry["total"] or 0, entry["amount_currency"]))
            target.won_count += entry["n"]
    weighted = ExpressionWrapper(F("amount") * F("probability") / 100, output_field=DecimalField())
    pipeline = (
        deals.filter(state=OpportunityState.OPEN, expected_close_date__gte=period.start,
                     expected_close_date__lte=period.end)
        .order_by().values("owner_id", "amount_currency")
        .annotate(n=Count("pk"), total=Sum("amount"), weighted=Sum(weighted),
                  slipped=Count("pk", filter=Q(expected_close_date__lt=today)))
    )
    for entry in pipeline:
        currency = entry["amount_currency"]
        for target in (row(entry["owner_id"]), total):
            target.pipeline.append(Money(entry["total"] or 0, currency))
            target.weighted.append(Money(quantize(entry["weighted"] or Decimal(0), currency), currency))
            target.open_count += entry["n"]
            target.slipped += entry["slipped"]
    for target in [*rows.values(), total]:
        target.won, target.pipeline, target.weighted = (
            _merged(target.won), _merged(target.pipeline), _merged(target.weighted))

    if team is not None:
        _apply_targets(team, period, rows, total)
    names = {pk: User.name_of(first, last, username) for pk, first, last, username in User.objects.filter(
        pk__in=rows).values_list("pk", "first_name", "last_name", "username")}
    for owner_id, entry in rows.items():
        entry.label = names.get(owner_id, str(owner_id))
    sellers = sorted(rows.values(), key=lambda r: r.label.casefold())
    return Forecast(team=team, period=period, today=today, sellers=sellers, total=total)


def personal_forecast(*, user: User, period: Period, today: date | None = None) -> ForecastRow:
    """`user`'s own figures for the period, in all their teams, against the sum of their own targets: the home
    page's "My quarter"."""
    row = sales_forecast(user=user, team=None, period=period, today=today, owner=user).total
    row.label = str(user)
    currency = settings.DEFAULT_CURRENCY
    target = SalesTarget.objects.filter(
        seller=user, month__gte=period.start.replace(day=1), month__lte=period.end, amount_currency=currency,
    ).aggregate(total=Sum("amount"))["total"]
    row.target = Money(quantize(target, currency), currency) if target is not None else None
    return row


def _apply_targets(team: Team, period: Period, rows: dict[int, ForecastRow], total: ForecastRow) -> None:
    """The months' targets summed per seller; the team's own target, or else the sum of its sellers'. A seller
    with a target and no deal yet still gets a row: a target nobody works on is the first thing to see."""
    currency = settings.DEFAULT_CURRENCY
    targets = (SalesTarget.objects.filter(team=team, month__gte=period.start.replace(day=1), month__lte=period.end)
               .order_by().values("seller_id", "amount_currency").annotate(total=Sum("amount")))
    team_target: Decimal | None = None
    sellers_target = Decimal(0)
    for entry in targets:
        if entry["amount_currency"] != currency:
            continue  # targets are kept in the company's currency; another one cannot be compared
        amount = entry["total"] or Decimal(0)
        if entry["seller_id"] is None:
            team_target = amount
        else:
            rows.setdefault(entry["seller_id"], ForecastRow("")).target = Money(quantize(amount, currency), currency)
            sellers_target += amount
    if team_target is not None or sellers_target:
        chosen = team_target if team_target is not None else sellers_target
        total.target = Money(quantize(chosen, currency), currency)


def _merged(amounts: list[Money]) -> list[Money]:
    by_currency: dict[str, Decimal] = {}
    for m in amounts:
        by_currency[str(m.currency)] = by_currency.get(str(m.currency), Decimal(0)) + m.amount
    return [Money(quantize(value, c), c) for c, value in sorted(by_currency.items())]
