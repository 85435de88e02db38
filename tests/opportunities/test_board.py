"""The kanban board: first page per column, keyset "load more", header totals in a second request, filters."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.services import activity_log
from opportunities.models import Opportunity
from opportunities.selectors import BOARD_PAGE_SIZE, pipeline_stages
from opportunities.services import opportunity_update
from tests import factories

pytestmark = pytest.mark.django_db


def make_deals(owner, n: int) -> list[Opportunity]:
    """`n` open deals in the first stage, with distinct creation times (newest last), created in bulk for speed."""
    template = factories.opportunity(owner=owner, company="Template Co")
    now = timezone.now()
    rows = [
        Opportunity(
            number=f"BULK-{i:05d}", name=f"Bulk deal {i:05d}", account=template.account, owner=owner,
            team=template.team, stage=template.stage, amount=template.amount, probability=10,
            created_at=now - timedelta(minutes=n - i),
        )
        for i in range(n)
    ]
    Opportunity.objects.bulk_create(rows)
    return rows


def card_names(html: str) -> list[str]:
    return re.findall(r"Bulk deal \d{5}", html)


def load_more_url(html: str) -> str:
    match = re.search(r'hx-get="([^"]*/board/stages/[^"]*)"', html)
    return match.group(1).replace("&amp;", "&") if match else ""


def test_a_column_shows_a_first_page_then_loads_more_by_keyset(seller_client, seller):
    make_deals(seller, BOARD_PAGE_SIZE + 5)

    first = seller_client.get(reverse("opportunities:board")).content.decode()
    shown = card_names(first)
    assert len(shown) == BOARD_PAGE_SIZE - 1  # the newest page also holds the template deal
    assert shown[0] == f"Bulk deal {BOARD_PAGE_SIZE + 4:05d}"  # newest first
    url = load_more_url(first)
    assert "after=" in url

    second = seller_client.get(url).content.decode()
    more = card_names(second)
    assert len(more) == 6 and not set(more) & set(shown)
    assert load_more_url(second) == ""  # the end of the column


def test_a_malformed_cursor_starts_from_the_top(seller_client, seller):
    make_deals(seller, 3)
    stage = pipeline_stages(seller.teams.get())[0]

    response = seller_client.get(reverse("opportunities:board_column", args=[stage.pk]), {"after": "garbage"})

    assert response.status_code == 200 and len(card_names(response.content.decode())) == 3


def test_board_and_its_requests_cost_a_bounded_number_of_queries(
    seller_client, seller, django_assert_max_num_queries
):
    make_deals(seller, 120)
    stage = pipeline_stages(seller.teams.get())[0]

    with django_assert_max_num_queries(14):
        board = seller_client.get(reverse("opportunities:board"))
    with django_assert_max_num_queries(10):
        totals = seller_client.get(reverse("opportunities:board_totals"))
    with django_assert_max_num_queries(10):
        page = seller_client.get(load_more_url(board.content.decode()))

    assert board.content.decode().count("kanban-card ") == BOARD_PAGE_SIZE
    assert f'id="stage-count-{stage.pk}" hx-swap-oob="true">121<' in totals.content.decode()
    assert page.content.decode().count("kanban-card ") == BOARD_PAGE_SIZE


def test_cards_show_days_in_stage_and_the_next_open_activity(seller_client, seller):
    opp = factories.opportunity(owner=seller, company="Activity Co")
    later = timezone.now() + timedelta(days=3)
    activity_log(target=opp, actor=seller, kind="call", subject="Later call", due_at=later + timedelta(days=1))
    activity_log(target=opp, actor=seller, kind="meeting", subject="Workshop", due_at=later)
    done = activity_log(target=opp, actor=seller, kind="call", subject="Old call",
                             due_at=timezone.now() - timedelta(days=1))
    done.done = True
    done.save()

    content = seller_client.get(reverse("opportunities:board")).content.decode()

    assert "Workshop" in content and "Later call" not in content and "Old call" not in content
    assert "0 days in stage" in content


def test_filters_by_owner_and_close_date_persist_in_the_urls(seller_client, seller, teammate):
    mine = factories.opportunity(owner=seller, company="Mine Co")
    opportunity_update(opportunity=mine, actor=seller, expected_close_date=date(2030, 3, 1))
    factories.opportunity(owner=teammate, company="Theirs Co")
    factories.opportunity(owner=seller, company="Late Co")

    content = seller_client.get(
        reverse("opportunities:board"), {"owner": seller.pk, "close_from": "2030-01-01", "close_to": "2030-12-31"}
    ).content.decode()

    assert "Mine Co" in content and "Theirs Co" not in content and "Late Co" not in content
    assert f"owner={seller.pk}" in content and "close_from=2030-01-01" in content  # totals and move carry them
    totals = seller_client.get(reverse("opportunities:board_totals"), {"owner": seller.pk}).content.decode()
    assert f'id="stage-count-{mine.stage_id}" hx-swap-oob="true">2<' in totals


def test_a_move_rerenders_the_columns_with_the_filters(seller_client, seller, teammate):
    opp = factories.opportunity(owner=seller, company="Mover Co")
    factories.opportunity(owner=teammate, company="Other Co")
    second = pipeline_stages(opp.team)[1]

    response = seller_client.post(
        reverse("opportunities:move", args=[opp.pk]), {"stage": second.pk, "owner": seller.pk},
        HTTP_HX_REQUEST="true",
    )

    content = response.content.decode()
    assert "Mover Co" in content and "Other Co" not in content


def test_column_of_another_teams_stage_is_404(seller_client, other_team_seller):
    from opportunities.models import Stage

    foreign = Stage.objects.create(team=other_team_seller.teams.get(), name="Theirs", order=1)

    assert seller_client.get(reverse("opportunities:board_column", args=[foreign.pk])).status_code == 404
