"""Pipeline report: numbers on a known dataset, bounded queries, CSV export, scoping."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from djmoney.money import Money

from opportunities.models import Opportunity, PipelineSettings, Stage, StageChange
from opportunities.reports import pipeline_report
from opportunities.services import opportunity_create, opportunity_lose, opportunity_move_stage, opportunity_win
from tests import factories

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
NOW = BASE + timedelta(days=20)


@pytest.fixture
def dataset(team, seller, teammate):
    """Four deals in a three-stage pipeline, with their history pinned to known times."""
    a, b, c = (Stage.objects.create(team=team, name=n, order=i, probability=p)
               for i, (n, p) in enumerate([("Discover", 20), ("Propose", 50), ("Close", 80)], start=1))

    def pin(opp: Opportunity, stays: dict[Stage, int], closed: int | None = None) -> None:
        for stage, day in stays.items():
            StageChange.objects.filter(opportunity=opp, to_stage=stage).update(at=BASE + timedelta(days=day))
        # Rewriting history by hand: each stay ends where the next begins, as the services record it.
        changes = list(StageChange.objects.filter(opportunity=opp).order_by("at", "pk"))
        for change, following in zip(changes, changes[1:] + [None], strict=True):
            StageChange.objects.filter(pk=change.pk).update(ended_at=following.at if following else None)
        Opportunity.objects.filter(pk=opp.pk).update(
            created_at=BASE, closed_at=BASE + timedelta(days=closed) if closed is not None else None
        )

    won = factories.opportunity(owner=seller, source="website", company="Won Co")
    opportunity_move_stage(opportunity=won, stage=b, actor=seller)
    opportunity_move_stage(opportunity=won, stage=c, actor=seller)
    opportunity_win(opportunity=won, actor=seller)
    pin(won, {a: 0, b: 2, c: 6}, closed=10)

    lost = factories.opportunity(owner=seller, source="website", company="Lost Co")
    opportunity_move_stage(opportunity=lost, stage=b, actor=seller)
    opportunity_lose(opportunity=lost, actor=seller, reason="price")
    pin(lost, {a: 0, b: 4}, closed=5)

    waiting = factories.opportunity(owner=teammate, amount="2000.00", company="Waiting Co")
    pin(waiting, {a: 0})

    direct = opportunity_create(actor=teammate, account=factories.AccountFactory(), name="Direct deal",
                                amount=Money("1000.00", "EUR"))
    opportunity_move_stage(opportunity=direct, stage=b, actor=teammate)
    pin(direct, {a: 0, b: 1})
    return a, b, c


def test_report_numbers_on_a_known_dataset(seller, team, dataset):
    a, b, c = dataset

    report = pipeline_report(user=seller, team=team, date_from=date(2026, 1, 15), date_to=date(2026, 3, 31), now=NOW)

    rows = {row.stage.name: row for row in report.stages}
    assert [r.stage for r in report.stages] == [a, b, c]
    assert (rows["Discover"].count, rows["Discover"].totals, rows["Discover"].weighted) == (
        1, [Money("2000.00", "EUR")], [Money("400.00", "EUR")])
    assert (rows["Propose"].count, rows["Propose"].weighted) == (1, [Money("500.00", "EUR")])
    assert rows["Close"].count == 0
    # Days in stage: Discover 2, 4, 20, 1; Propose 4, 1, 19; Close 4.
    assert (rows["Discover"].avg_days, rows["Discover"].median_days) == (Decimal("6.8"), Decimal("3.0"))
    assert (rows["Propose"].avg_days, rows["Propose"].median_days) == (Decimal("8.0"), Decimal("4.0"))
    assert (rows["Close"].avg_days, rows["Close"].median_days) == (Decimal("4.0"), Decimal("4.0"))
    # Reached 4 → 3 → 1 → won 1.
    assert [r.reached for r in report.stages] == [4, 3, 1]
    assert [r.conversion for r in report.stages] == [Decimal("75.0"), Decimal("33.3"), Decimal("100.0")]
    assert [(r.label, r.won, r.lost, r.rate) for r in report.by_owner] == [
        (seller.get_full_name() or seller.username, 1, 1, Decimal("50.0"))]
    assert [(r.label, r.won, r.lost) for r in report.by_source] == [("Website", 1, 1)]


def test_win_rates_by_owner_and_by_source_count_each_closed_deal_once(seller, teammate, team):
    closed = [(seller, "website", True), (seller, "referral", False), (seller, "referral", True),
              (teammate, "website", False), (teammate, None, True)]
    for owner, source, won in closed:
        deal = (factories.opportunity(owner=owner, source=source, company=f"{source} Co") if source else
                opportunity_create(actor=owner, account=factories.AccountFactory(), name="Direct",
                                   amount=Money("10.00", "EUR")))
        if won:
            opportunity_win(opportunity=deal, actor=owner)
        else:
            opportunity_lose(opportunity=deal, actor=owner, reason="price")
    factories.opportunity(owner=teammate, source="website", company="Still open")

    report = pipeline_report(user=seller, team=team)

    owners = {r.label: (r.won, r.lost) for r in report.by_owner}
    assert owners == {str(seller): (2, 1), str(teammate): (1, 1)}
    assert [(r.label, r.won, r.lost) for r in report.by_source] == [
        ("Referral", 1, 1), ("Website", 1, 1), ("No lead (direct)", 1, 0)]


def test_lost_reasons_say_why_deals_were_lost_most_frequent_first(seller, teammate, team, other_team_seller):
    outcomes = [(seller, "price", "1000.00"), (teammate, "price", "2500.00"), (seller, "competitor", "4000.00"),
                (teammate, "price", "500.00"), (seller, None, "300.00")]
    PipelineSettings.objects.create(team=team, lost_reason_required=False)
    for owner, reason, amount in outcomes:
        deal = factories.opportunity(owner=owner, amount=amount, company=f"{reason} {amount}")
        opportunity_lose(opportunity=deal, actor=owner, reason=reason)
    opportunity_win(opportunity=factories.opportunity(owner=seller, company="Won"), actor=seller)
    elsewhere = factories.opportunity(owner=other_team_seller, company="Other team")
    opportunity_lose(opportunity=elsewhere, actor=other_team_seller, reason="competitor")

    report = pipeline_report(user=seller, team=team)

    assert [(r.label, r.count, r.amounts, r.share) for r in report.lost_reasons] == [
        ("Price too high", 3, [Money("4000.00", "EUR")], Decimal("60.0")),
        ("Lost to a competitor", 1, [Money("4000.00", "EUR")], Decimal("20.0")),
        ("No reason given", 1, [Money("300.00", "EUR")], Decimal("20.0")),
    ]


def test_the_report_page_and_csv_show_the_lost_reasons(seller_client, seller, team, dataset):
    params = {"team": team.pk, "date_from": "2026-01-15", "date_to": "2026-03-31"}

    page = seller_client.get(reverse("opportunities:report"), params).content.decode()
    export = seller_client.get(reverse("opportunities:report"), {**params, "format": "csv"})
    empty = seller_client.get(reverse("opportunities:report"), {**params, "date_from": "2025-01-01",
                                                                 "date_to": "2025-12-31"}).content.decode()

    table = page[page.index('data-testid="lost-reasons"'):]
    assert re.search(r"Price too high</td><td[^>]*>1</td><td[^>]*>€1,000.00</td>", table)
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert ["Price too high", "1", "1000.00 EUR", "100.0"] in rows
    assert "No deal was lost in this period." in empty


def test_a_period_without_closed_deals_has_no_win_rates(seller, team, dataset):
    report = pipeline_report(user=seller, team=team, date_from=date(2025, 1, 1), date_to=date(2025, 12, 31), now=NOW)

    assert report.by_owner == [] and [r.reached for r in report.stages] == [0, 0, 0]


def test_report_page_and_csv(seller_client, seller, team, dataset, django_assert_max_num_queries):
    params = {"team": team.pk, "date_from": "2026-01-15", "date_to": "2026-03-31"}

    with django_assert_max_num_queries(16):
        response = seller_client.get(reverse("opportunities:report"), params)

    content = response.content.decode()
    assert response.status_code == 200
    assert "Discover" in content and 'data-testid="stage-chart"' in content and "75.0 %" in content
    export = seller_client.get(reverse("opportunities:report"), {**params, "format": "csv"})
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Stage" and rows[1][:2] == ["Discover", "1"] and rows[1][7] == "75.0"
    assert ["Website", "1", "1", "50.0"] in rows


def test_the_chart_names_each_stage_beside_its_bars(seller_client, team, dataset):
    content = seller_client.get(reverse("opportunities:report"), {"team": team.pk}).content.decode()

    bar = r'width="([\d.]+)" height="0.95"'  # the amount's and the weighted amount's bar, after the grey track
    bars = re.findall(rf'data-testid="stage-bar">\s*<div[^>]*>([^<]+)</div>.*?{bar}.*?{bar}', content, re.S)
    # Open amounts: Discover 2,000 (20 %: 400 weighted), Propose 1,000 (50 %: 500), Close none; the largest is 100.
    assert bars == [("Discover", "100.0", "20.0"), ("Propose", "50.0", "25.0"), ("Close", "0.0", "0.0")]


def test_report_query_count_does_not_grow_with_deals(seller_client, seller, django_assert_max_num_queries):
    for i in range(30):
        factories.opportunity(owner=seller, company=f"Report {i}")

    with django_assert_max_num_queries(16):
        assert seller_client.get(reverse("opportunities:report")).status_code == 200


def test_report_of_another_team_is_404_and_their_deals_do_not_count(seller_client, seller, other_team_seller):
    factories.opportunity(owner=other_team_seller, amount="9999.00")

    assert seller_client.get(reverse("opportunities:report"),
                             {"team": other_team_seller.teams.get().pk}).status_code == 404
    assert "9,999.00" not in seller_client.get(reverse("opportunities:report")).content.decode()
