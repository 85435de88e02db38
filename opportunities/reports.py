"""Read queries of the pipeline report: the open pipeline per stage, time in stage and conversion from the stage
history, win rates by owner and lead source, and why deals were lost. Each part is one grouped query that returns a
row per stage, owner, source or reason, so the page costs about the same for ten deals as for a hundred thousand."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from crm.models import Team, User
from crm.permissions import scope
from leads.models import LeadSource
from opportunities.models import Opportunity, OpportunityState, Stage, StageChange
from opportunities.selectors import pipeline_stages

SECONDS_PER_DAY = Decimal(86400)


@dataclass
class StageRow:
    stage: Stage
    count: int = 0
    totals: list[Money] = field(default_factory=list)
    weighted: list[Money] = field(default_factory=list)
    avg_days: Decimal | None = None
    median_days: Decimal | None = None
    reached: int = 0
    conversion: Decimal | None = None  # share of the deals that reached this stage and went on to the next
    bar: Decimal = Decimal(0)  # width of the chart bar, % of the largest stage amount
    weighted_bar: Decimal = Decimal(0)


@dataclass
class WinRow:
    label: str
    won: int
    lost: int

    @property
    def rate(self) -> Decimal | None:
        closed = self.won + self.lost
        return (Decimal(100) * self.won / closed).quantize(Decimal("0.1")) if closed else None


@dataclass
class LossRow:
    label: str
    count: int
    amounts: list[Money]
    share: Decimal | None  # of all the deals lost in the period, %


@dataclass
class Report:
    team: Team | None
    date_from: date
    date_to: date
    currency: str
    stages: list[StageRow]
    won_after_last: int
    by_owner: list[WinRow]
    by_source: list[WinRow]
    lost_reasons: list[LossRow]


def _bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(date_from, time.min))
    return start, timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min))


def _days(seconds: float) -> Decimal:
    return (Decimal(str(seconds)) / SECONDS_PER_DAY).quantize(Decimal("0.1"))


def pipeline_report(
    *, user: User, team: Team | None, date_from: date | None = None, date_to: date | None = None,
    now: datetime | None = None,
) -> Report:
    """The report for `team`'s pipeline. The open pipeline is as of now; time in stage counts stays that began in
    the period; conversion follows the deals created in the period; win rates count deals closed in the period."""
    now = now or timezone.now()
    date_to = date_to or timezone.localdate(now)
    date_from = date_from or date_to - timedelta(days=89)
    start, end = _bounds(date_from, date_to)
    stages = pipeline_stages(team)
    deals = Opportunity.objects.visible_to(user)
    if team is not None:
        deals = deals.filter(team=team)
    rows = {s.pk: StageRow(stage=s) for s in stages}

    # 1. The open pipeline per stage and currency.
    weighted = ExpressionWrapper(F("amount") * F("probability") / 100, output_field=DecimalField())
    open_deals = (
        deals.filter(state=OpportunityState.OPEN, stage__in=stages).order_by().values("stage_id", "amount_currency")
        .annotate(n=Count("pk"), total=Sum("amount"), weighted=Sum(weighted))
    )
    for entry in open_deals:
        row = rows[entry["stage_id"]]
        row.count += entry["n"]
        row.totals.append(Money(entry["total"] or 0, entry["amount_currency"]))
        row.weighted.append(Money(entry["weighted"] or 0, entry["amount_currency"]))
    currency = settings.DEFAULT_CURRENCY
    largest = max((m.amount for r in rows.values() for m in r.totals if str(m.currency) == currency), default=0)
    for row in rows.values():
        if largest:
            row.bar = _share(row.totals, currency, largest)
            row.weighted_bar = _share(row.weighted, currency, largest)

    # 2. Days in stage: a stay ends at the deal's next stage change (stored on the change as `ended_at`), else
    # when it closed, else now.
    # Scoped through the deal it belongs to: one join, where "deal IN (visible deals)" joined the deals twice.
    changes = scope(StageChange.objects.filter(opportunity__archived_at__isnull=True), user, prefix="opportunity__")
    if team is not None:
        changes = changes.filter(opportunity__team=team)
    stays = (
        changes.filter(to_stage__in=stages, at__gte=start, at__lt=end)
        .order_by()
        .values(stay_stage=F("to_stage_id"), entered=F("at"),
                ended=Coalesce("ended_at", "opportunity__closed_at", Value(now), output_field=DateTimeField()))
    )
    for stage_id, avg_seconds, median_seconds in _stay_seconds(stays):
        rows[stage_id].avg_days = _days(avg_seconds)
        rows[stage_id].median_days = _days(median_seconds)

    # 3. Conversion: of the deals created in the period, how far each got (furthest stage reached), counted per
    # furthest stage in SQL so that a handful of rows come back whatever the number of deals.
    cohort = deals.filter(created_at__gte=start, created_at__lt=end)
    # Per deal of the cohort, a lookup of its own stage changes (the (opportunity, at) index): reading every
    # stage change of the pipeline's stages and joining them to the cohort cost ten times as much.
    # The stages' order is known here: a CASE instead of a join to the stage table per change.
    stage_order = Case(*(When(to_stage_id=s.pk, then=Value(s.order)) for s in stages), output_field=IntegerField())
    reached_order = (
        StageChange.objects.filter(opportunity_id=OuterRef("pk"), to_stage__in=stages)
        .order_by().values("opportunity_id").annotate(top=Max(stage_order)).values("top")
    )
    # Grouped by furthest stage and by won or not: the deals won come out of the same pass.
    per_top = _count_by(
        cohort.order_by().annotate(top=Subquery(reached_order),
                                 won=ExpressionWrapper(Q(state=OpportunityState.WON), output_field=BooleanField()))
        .values("top", "won"),
        "top", "won",
    )
    won_after_last = sum(n for (_top, won), n in per_top.items() if won)
    tops: dict[int, int] = {}
    for (top, _won), n in per_top.items():
        if top is not None:  # None: deals of the cohort without a change into these stages
            tops[top] = tops.get(top, 0) + n
    for row in rows.values():
        row.reached = sum(n for top, n in tops.items() if top >= row.stage.order)
    ordered = [rows[s.pk] for s in stages]
    for current, following in zip(ordered, ordered[1:], strict=False):
        current.conversion = _percent(following.reached, current.reached)
    if ordered:
        ordered[-1].conversion = _percent(won_after_last, ordered[-1].reached)

    # 4. Win rates of the deals closed in the period.
    closed = deals.filter(
        state__in=[OpportunityState.WON, OpportunityState.LOST], closed_at__gte=start, closed_at__lt=end
    ).order_by()
    # One pass over the closed deals grouped by owner and source (a few dozen rows); both tables are summed from it.
    # The owners' names come after, for the few owners found: joined in, they widened every row to be sorted.
    grouped = list(
        closed.values("owner_id", "source")
        .annotate(won=Count("pk", filter=Q(state=OpportunityState.WON)),
                  lost=Count("pk", filter=Q(state=OpportunityState.LOST)))
    )
    names = {pk: User.name_of(first, last, username) for pk, first, last, username in User.objects.filter(
        pk__in={r["owner_id"] for r in grouped}).values_list("pk", "first_name", "last_name", "username")}
    owners: dict[int, WinRow] = {}
    by_source_code: dict[str, WinRow] = {}
    sources = dict(LeadSource.choices)
    for r in grouped:
        owner = owners.setdefault(r["owner_id"], WinRow(names[r["owner_id"]], 0, 0))
        source = by_source_code.setdefault(r["source"] or "", WinRow(
            str(sources.get(r["source"], r["source"])) if r["source"] else _("No lead (direct)"), 0, 0))
        for row in (owner, source):
            row.won += r["won"]
            row.lost += r["lost"]
    by_owner = sorted(owners.values(), key=lambda row: row.label.casefold())
    by_source = [by_source_code[code] for code in sorted(by_source_code, key=lambda code: (not code, code))]
    return Report(team=team, date_from=date_from, date_to=date_to, currency=currency, stages=ordered,
                  won_after_last=won_after_last, by_owner=by_owner, by_source=by_source,
                  lost_reasons=_lost_reasons(closed))


def _lost_reasons(closed: QuerySet) -> list[LossRow]:
    """5. Why the deals closed in the period were lost: per reason, how many and the amount that went with them,
    most frequent first. One grouped query; a row per reason and currency comes back."""
    grouped = (
        closed.filter(state=OpportunityState.LOST).values("lost_reason_id", "lost_reason__name", "amount_currency")
        .annotate(n=Count("pk"), total=Sum("amount"))
    )
    rows: dict[int | None, LossRow] = {}
    for entry in grouped:
        row = rows.setdefault(entry["lost_reason_id"], LossRow(
            # Named as the deal page names it: the seeded reasons are translated.
            _(entry["lost_reason__name"]) if entry["lost_reason__name"] else _("No reason given"), 0, [], None))
        row.count += entry["n"]
        row.amounts.append(Money(entry["total"] or 0, entry["amount_currency"]))
    lost = sum(row.count for row in rows.values())
    for row in rows.values():
        row.share = _percent(row.count, lost)
    return sorted(rows.values(), key=lambda row: (-row.count, row.label.casefold()))


def _stay_seconds(stays: QuerySet) -> list[tuple[int, float, float]]:
    """(stage id, mean, median) of the stays' durations in seconds, a negative duration counting as 0.

    PostgreSQL aggregates in SQL (one row per stage comes back); SQLite, the small embedded database, has no
    percentile function, so there the rows are read and aggregated here."""
    connection = connections[stays.db]
    if connection.vendor == "postgresql":
        sql, params = stays.query.sql_with_params()
        # date_part() is double precision; EXTRACT() is numeric, whose arithmetic was half of this query's time.
        seconds = "GREATEST(date_part('epoch', s.ended - s.entered), 0)"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT s.stay_stage, AVG({seconds}), PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY {seconds}) "
                f"FROM ({sql}) AS s GROUP BY s.stay_stage",
                params,
            )
            return [(stage, float(avg), float(median)) for stage, avg, median in cursor.fetchall()]
    durations: dict[int, list[float]] = {}
    for row in stays.iterator():
        durations.setdefault(row["stay_stage"], []).append(max((row["ended"] - row["entered"]).total_seconds(), 0))
    return [(stage, statistics.fmean(values), statistics.median(values)) for stage, values in durations.items()]


def _count_by(rows: QuerySet, *columns: str) -> dict[tuple, int]:
    """COUNT(*) per combination of `columns` of a grouped query (an aggregate over an aggregate needs the
    subquery)."""
    connection = connections[rows.db]
    sql, params = rows.query.sql_with_params()
    keys = ", ".join(f"g.{column}" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {keys}, COUNT(*) FROM ({sql}) AS g GROUP BY {keys}", params)
        return {tuple(row[:-1]): row[-1] for row in cursor.fetchall()}


def _share(amounts: list[Money], currency: str, largest: Decimal) -> Decimal:
    value = sum((m.amount for m in amounts if str(m.currency) == currency), Decimal(0))
    return (Decimal(100) * value / Decimal(largest)).quantize(Decimal("0.1"))


def _percent(part: int, whole: int) -> Decimal | None:
    return (Decimal(100) * part / whole).quantize(Decimal("0.1")) if whole else None


def report_csv_rows(report: Report) -> list[list[str]]:
    """The report as spreadsheet rows: one block per table, separated by an empty row."""
    rows: list[list[str]] = [
        [_("Stage"), _("Open deals"), _("Amount"), _("Weighted amount"), _("Average days in stage"),
         _("Median days in stage"), _("Deals that reached the stage"), _("Conversion to next (%)")],
    ]
    for row in report.stages:
        rows.append([
            str(row.stage), str(row.count), _money_cell(row.totals), _money_cell(row.weighted),
            _num(row.avg_days), _num(row.median_days), str(row.reached), _num(row.conversion),
        ])
    rows.append([])
    rows.append([_("Owner"), _("Won"), _("Lost"), _("Win rate (%)")])
    rows += [[r.label, str(r.won), str(r.lost), _num(r.rate)] for r in report.by_owner]
    rows.append([])
    rows.append([_("Lead source"), _("Won"), _("Lost"), _("Win rate (%)")])
    rows += [[r.label, str(r.won), str(r.lost), _num(r.rate)] for r in report.by_source]
    rows.append([])
    rows.append([_("Lost reason"), _("Deals lost"), _("Amount lost"), _("Share of losses (%)")])
    rows += [[r.label, str(r.count), _money_cell(r.amounts), _num(r.share)] for r in report.lost_reasons]
    return rows


def _money_cell(amounts: list[Money]) -> str:
    return " + ".join(f"{m.amount:.2f} {m.currency}" for m in amounts) or "0.00"


def _num(value: Decimal | None) -> str:
    return "" if value is None else str(value)

