"""Sales forecast: targets per team and seller, won deals and the weighted pipeline of a period, the page."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from opportunities.forecast import parse_period, period_choices, sales_forecast
from opportunities.models import Opportunity, SalesTarget
from opportunities.services import opportunity_lose, opportunity_win
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
Q4 = parse_period("2026-Q4", TODAY)


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def deal(owner, amount: str, *, close: date | None = None, probability: int | None = None, won_on: date | None = None,
         lost: bool = False):
    opp = factories.opportunity(owner=owner, amount=amount, company=f"{owner.username} {amount}")
    if won_on is not None:
        opportunity_win(opportunity=opp, actor=owner)
        Opportunity.objects.filter(pk=opp.pk).update(closed_at=datetime.combine(won_on, datetime.min.time(), UTC))
    elif lost:
        opportunity_lose(opportunity=opp, actor=owner, reason="price")
    else:
        Opportunity.objects.filter(pk=opp.pk).update(expected_close_date=close, probability=probability)
    return opp


@pytest.fixture
def q4(seller, teammate, team, other_team_seller):
    """Targets and deals of team's Q4 2026, with others that must not count."""
    for month in (10, 11, 12):
        SalesTarget.objects.create(team=team, month=date(2026, month, 15), amount=eur("20000"))
        SalesTarget.objects.create(team=team, seller=seller, month=date(2026, month, 1), amount=eur("12000"))
    SalesTarget.objects.create(team=team, month=date(2027, 1, 1), amount=eur("99999"))  # next quarter
    deal(seller, "10000.00", won_on=date(2026, 10, 5))
    deal(seller, "8000.00", won_on=date(2026, 9, 30))  # the quarter before
    deal(seller, "20000.00", close=date(2026, 12, 10), probability=50)
    deal(seller, "4000.00", close=date(2026, 11, 2), probability=25)  # its close date has passed
    deal(seller, "5000.00", close=date(2027, 2, 1), probability=90)  # closes after the quarter
    deal(seller, "7000.00", lost=True)
    deal(teammate, "6000.00", won_on=date(2026, 11, 11))
    deal(teammate, "3000.00", close=date(2026, 10, 30), probability=10)
    deal(other_team_seller, "50000.00", won_on=date(2026, 10, 6))  # another team


def test_the_forecast_adds_won_and_weighted_pipeline_and_compares_with_the_target(seller, teammate, team, q4):
    result = sales_forecast(user=seller, team=team, period=Q4, today=TODAY)

    total = result.total
    assert total.target == eur("60000.00")
    assert (total.won, total.won_count) == ([eur("16000.00")], 2)
    assert (total.pipeline, total.weighted, total.open_count) == ([eur("27000.00")], [eur("11300.00")], 3)
    assert total.forecast == [eur("27300.00")]
    assert (total.attainment, total.projected, total.gap) == (Decimal("26.7"), Decimal("45.5"), eur("32700.00"))
    assert total.slipped == 2  # 4,000 due 11/02 and 3,000 due 10/30, both still open on 11/20
    rows = {row.label: row for row in result.sellers}
    mine, theirs = rows[str(seller)], rows[str(teammate)]
    assert (mine.label, mine.target, mine.won, mine.weighted) == (
        str(seller), eur("36000.00"), [eur("10000.00")], [eur("11000.00")])
    assert (mine.attainment, mine.projected) == (Decimal("27.8"), Decimal("58.3"))
    assert (theirs.label, theirs.target, theirs.won, theirs.projected) == (
        str(teammate), None, [eur("6000.00")], None)


def test_without_a_team_target_the_sellers_targets_add_up(seller, teammate, team):
    SalesTarget.objects.create(team=team, seller=seller, month=date(2026, 10, 1), amount=eur("5000"))
    SalesTarget.objects.create(team=team, seller=teammate, month=date(2026, 12, 1), amount=eur("7000"))

    result = sales_forecast(user=seller, team=team, period=Q4, today=TODAY)

    assert result.total.target == eur("12000.00")
    # A seller with a target and nothing won or planned yet still has a row.
    assert {row.label: (row.target, row.forecast) for row in result.sellers} == {
        str(seller): (eur("5000.00"), []), str(teammate): (eur("7000.00"), [])}


def test_a_target_is_one_per_team_or_seller_and_month_and_must_belong_to_the_team(seller, team, other_team_seller):
    SalesTarget.objects.create(team=team, month=date(2026, 10, 9), amount=eur("1000"))
    assert SalesTarget.objects.get().month == date(2026, 10, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        SalesTarget.objects.create(team=team, month=date(2026, 10, 20), amount=eur("2000"))
    outsider = SalesTarget(team=team, seller=other_team_seller, month=date(2026, 10, 1), amount=eur("1000"))
    with pytest.raises(ValidationError, match="is not in"):
        outsider.full_clean()


def test_periods_parse_and_fall_back_to_the_current_quarter():
    assert (Q4.start, Q4.end, Q4.label) == (date(2026, 10, 1), date(2026, 12, 31), "Q4 2026")
    february = parse_period("2028-02", TODAY)
    assert (february.start, february.end) == (date(2028, 2, 1), date(2028, 2, 29))
    assert parse_period("2026", TODAY).end == date(2026, 12, 31)
    assert [parse_period(key, TODAY) for key in ("2026-13", "junk", None)] == [Q4, Q4, Q4]
    assert [p.key for p in period_choices(TODAY)] == [
        "2026-Q3", "2026-Q4", "2027-Q1", "2026-10", "2026-11", "2026-12", "2026", "2027"]


def test_the_page_shows_the_team_and_each_seller(seller_client, seller, team, q4, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = seller_client.get(reverse("opportunities:forecast"), {"team": team.pk, "period": "2026-Q4"})

    page = response.content.decode()
    assert response.status_code == 200
    total = page[page.index('data-testid="forecast-total"'):page.index('data-testid="forecast-sellers"')]
    assert "€60,000.00" in total and "€16,000.00" in total and "Gap to target" in total
    rows = page[page.index('data-testid="forecast-sellers"'):]
    assert rows.count('data-testid="forecast-row"') == 2 and "€36,000.00" in rows


def test_the_page_query_count_does_not_grow_with_deals(seller_client, seller, team, django_assert_max_num_queries):
    for i in range(20):
        deal(seller, f"{1000 + i}.00", close=date(2030, 1, 1), probability=50)

    with django_assert_max_num_queries(12):
        assert seller_client.get(reverse("opportunities:forecast"), {"period": "2030-Q1"}).status_code == 200


def test_a_period_without_a_target_says_so_and_offers_to_set_one(seller, manager, team):
    managers, sellers = Client(), Client()
    managers.force_login(manager)
    sellers.force_login(seller)
    query = {"team": team.pk, "period": "2031-Q2"}

    sellers_page = sellers.get(reverse("opportunities:forecast"), query).content.decode()
    without_admin = managers.get(reverse("opportunities:forecast"), query).content.decode()
    manager.is_staff = True  # managers set targets in the admin
    manager.save(update_fields=["is_staff"])
    page = managers.get(reverse("opportunities:forecast"), query).content.decode()

    assert "No target is set for Q2 2031." in page and "No target is set for Q2 2031." in sellers_page
    assert reverse("admin:opportunities_salestarget_add") in page
    # No link to a page they cannot use: a seller may not set targets, a manager without admin access cannot.
    assert "salestarget" not in sellers_page and "salestarget" not in without_admin
    assert "No deal was won in this period and none is expected to close in it." in page


def test_a_forecast_above_the_target_shows_the_target_covered(seller_client, seller, team):
    SalesTarget.objects.create(team=team, month=date(2030, 1, 1), amount=eur("1000"))
    deal(seller, "4000.00", close=date(2030, 1, 20), probability=50)

    page = seller_client.get(reverse("opportunities:forecast"), {"period": "2030-01"}).content.decode()

    total = page[page.index('data-testid="forecast-total"'):page.index('data-testid="forecast-sellers"')]
    assert "Covered" in total and "200.0 % of target" in total


def test_another_teams_forecast_is_404(seller_client, other_team_seller):
    other = other_team_seller.teams.get()

    assert seller_client.get(reverse("opportunities:forecast"), {"team": other.pk}).status_code == 404


def test_the_home_page_loads_my_quarter_against_my_target(seller_client, seller, team, teammate,
                                                          django_assert_max_num_queries):
    today = timezone.localdate()
    quarter = parse_period(None, today)
    SalesTarget.objects.create(team=team, seller=seller, month=quarter.start, amount=eur("30000"))
    deal(seller, "10000.00", won_on=today)
    deal(seller, "20000.00", close=quarter.end, probability=50)
    deal(teammate, "90000.00", won_on=today)  # a teammate's win is not mine

    home = seller_client.get(reverse("crm:home")).content.decode()
    with django_assert_max_num_queries(8):
        card = seller_client.get(reverse("opportunities:my_quarter"), HTTP_HX_REQUEST="true").content.decode()

    assert f'hx-get="{reverse("opportunities:my_quarter")}"' in home  # after the first paint
    assert f"My quarter · {quarter.label}" in card
    assert "€30,000.00" in card and "€10,000.00" in card and "€20,000.00" in card  # target, won, forecast
    assert "Won 33.3 %, forecast 66.7 % of target" in card


def test_my_quarter_is_not_offered_to_an_accountant(accountant_client):
    home = accountant_client.get(reverse("crm:home")).content.decode()

    assert "my-quarter" not in home
    assert accountant_client.get(reverse("opportunities:my_quarter")).status_code == 204
