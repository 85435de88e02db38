"""Seller pages for opportunities and the kanban pipeline."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from crm.models import Activity
from opportunities.models import LostReason, Opportunity, Stage, StageChange
from opportunities.selectors import pipeline_stages
from opportunities.services import opportunity_lose, opportunity_win
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def stages(opp: Opportunity) -> list[Stage]:
    return pipeline_stages(opp.team)


# --- list -------------------------------------------------------------------------------------------------------

def test_list_shows_visible_deals_only(seller_client, seller, other_team_seller):
    factories.opportunity(owner=seller, company="Visible GmbH")
    factories.opportunity(owner=other_team_seller, company="Hidden AG")

    content = seller_client.get(reverse("opportunities:list")).content.decode()

    assert "Visible GmbH" in content
    assert "Hidden AG" not in content


def test_list_query_count_does_not_grow_with_rows(seller_client, seller, django_assert_max_num_queries):
    for i in range(30):
        factories.opportunity(owner=seller, company=f"Company {i:02d}")

    with django_assert_max_num_queries(10):
        response = seller_client.get(reverse("opportunities:list"))

    assert response.status_code == 200
    assert response.content.decode().count("Company ") >= 25


def test_list_search_and_filters(seller_client, seller, teammate):
    alpha = factories.opportunity(owner=seller, company="Alpha Mining")
    beta = factories.opportunity(owner=teammate, company="Beta Foods")
    opportunity_win(opportunity=beta, actor=teammate)
    second_stage = stages(alpha)[1]
    seller_client.post(reverse("opportunities:move", args=[alpha.pk]), {"stage": second_stage.pk})

    def listed(**params):
        return seller_client.get(reverse("opportunities:list"), params).content.decode()

    assert "Alpha Mining" in listed(q="alpha") and "Beta Foods" not in listed(q="alpha")
    assert "Beta Foods" in listed(q=beta.number)
    assert "Beta Foods" in listed(state="won") and "Alpha Mining" not in listed(state="won")
    assert "Alpha Mining" in listed(stage=second_stage.pk) and "Beta Foods" not in listed(stage=second_stage.pk)
    assert "Alpha Mining" in listed(mine="on") and "Beta Foods" not in listed(mine="on")


def test_list_empty_state(seller_client):
    assert 'data-testid="empty-state"' in seller_client.get(reverse("opportunities:list")).content.decode()


# --- create / edit / detail -------------------------------------------------------------------------------------

def test_create_opportunity(seller_client, seller, team):
    account = factories.AccountFactory(owner=seller, team=team, name="Direct Deal AG")
    first = pipeline_stages(team)[0]

    response = seller_client.post(
        reverse("opportunities:create"),
        {"account": account.pk, "name": "Fleet renewal", "amount_0": "5000.00", "amount_1": "EUR",
         "expected_close_date": "2030-06-30", "stage": first.pk, "description": ""},
    )

    opp = Opportunity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("opportunities:detail", args=[opp.pk])
    assert opp.number.startswith("O-")
    assert opp.amount.amount == Decimal("5000.00")
    assert opp.owner == seller
    assert StageChange.objects.filter(opportunity=opp, to_stage=first).exists()


def test_create_offers_only_visible_accounts(seller_client, seller, other_team_seller):
    mine = factories.AccountFactory(owner=seller, name="My Account")
    foreign = factories.AccountFactory(owner=other_team_seller, name="Foreign Account")

    content = seller_client.get(reverse("opportunities:create")).content.decode()
    assert "My Account" in content and "Foreign Account" not in content

    response = seller_client.post(
        reverse("opportunities:create"),
        {"account": foreign.pk, "name": "Sneaky", "amount_0": "1", "amount_1": "EUR",
         "stage": pipeline_stages(None)[0].pk},
    )
    assert response.status_code == 200
    assert not Opportunity.objects.exists()
    assert mine.pk  # the seller's own account stays selectable


def test_invalid_create_shows_errors(seller_client, seller):
    response = seller_client.post(reverse("opportunities:create"), {"name": ""})

    assert response.status_code == 200
    assert 'data-testid="field-error"' in response.content.decode()
    assert not Opportunity.objects.exists()


def test_edit_opportunity(seller_client, seller):
    opp = factories.opportunity(owner=seller)

    response = seller_client.post(
        reverse("opportunities:edit", args=[opp.pk]),
        {"account": opp.account_id, "name": "Renamed", "amount_0": "2500.00", "amount_1": "EUR",
         "expected_close_date": "", "stage": opp.stage_id, "description": "x"},
    )

    assert response.status_code == 302
    opp.refresh_from_db()
    assert opp.name == "Renamed"
    assert opp.amount.amount == Decimal("2500.00")


def test_detail_shows_amounts_links_and_history(seller_client, seller):
    opp = factories.opportunity(owner=seller, amount="1000.00")

    content = seller_client.get(reverse("opportunities:detail", args=[opp.pk])).content.decode()

    assert opp.number in content
    assert 'data-state="open"' in content
    assert reverse("leads:detail", args=[opp.lead_id]) in content
    assert reverse("quotes:create", args=[opp.pk]) in content
    assert 'data-testid="stage-form"' in content
    assert "Stage: " in content  # the first stage entry in the timeline
    assert "100.00" in content  # weighted: 1000 × 10 %


def test_detail_lists_its_quotes(seller_client, seller):
    quote = factories.quote(owner=seller, lines=1)

    content = seller_client.get(reverse("opportunities:detail", args=[quote.opportunity_id])).content.decode()

    assert quote.number in content
    assert reverse("quotes:detail", args=[quote.pk]) in content


# --- win / lose / reopen ----------------------------------------------------------------------------------------

def test_mark_won(seller_client, seller):
    opp = factories.opportunity(owner=seller)

    seller_client.post(reverse("opportunities:win", args=[opp.pk]))

    opp.refresh_from_db()
    assert opp.state == "won"
    assert opp.probability == 100


def test_mark_lost_needs_a_reason(seller_client, seller):
    opp = factories.opportunity(owner=seller)

    response = seller_client.post(reverse("opportunities:lose", args=[opp.pk]), {"reason": ""}, follow=True)

    assert "Choose why this deal was lost." in response.content.decode()
    opp.refresh_from_db()
    assert opp.state == "open"


def test_mark_lost_then_reopen(seller_client, seller, manager):
    opp = factories.opportunity(owner=seller)

    price = LostReason.objects.get(code="price", team=None)
    seller_client.post(reverse("opportunities:lose", args=[opp.pk]), {"reason": price.pk, "note": "Too pricey"})
    opp.refresh_from_db()
    assert opp.state == "lost"
    assert opp.lost_reason == price

    refused = seller_client.post(reverse("opportunities:reopen", args=[opp.pk]))
    assert refused.status_code == 403  # only managers reopen
    seller_client.force_login(manager)
    seller_client.post(reverse("opportunities:reopen", args=[opp.pk]))
    opp.refresh_from_db()
    assert opp.state == "open"


def test_reopen_a_won_deal_is_refused(seller_client, seller, manager):
    opp = factories.opportunity(owner=seller)
    opportunity_win(opportunity=opp, actor=seller)
    seller_client.force_login(manager)

    response = seller_client.post(reverse("opportunities:reopen", args=[opp.pk]), follow=True)

    assert "is not possible now" in response.content.decode()
    opp.refresh_from_db()
    assert opp.state == "won"


def test_log_activity_on_opportunity(seller_client, seller):
    opp = factories.opportunity(owner=seller)

    seller_client.post(reverse("opportunities:log_activity", args=[opp.pk]), {"kind": "meeting", "subject": "Demo"})

    assert Activity.objects.get().target == opp
    assert "Demo" in seller_client.get(reverse("opportunities:detail", args=[opp.pk])).content.decode()


@pytest.mark.parametrize(
    ("name", "method", "data"),
    [
        ("opportunities:detail", "get", {}),
        ("opportunities:edit", "get", {}),
        ("opportunities:edit", "post", {"name": "Hacked"}),
        ("opportunities:move", "post", {"stage": "__second__"}),
        ("opportunities:win", "post", {}),
        ("opportunities:lose", "post", {"reason": "price"}),
        ("opportunities:reopen", "post", {}),
        ("opportunities:log_activity", "post", {"kind": "note", "subject": "x"}),
    ],
)
def test_another_teams_seller_gets_404(client, seller, other_team_seller, name, method, data):
    opp = factories.opportunity(owner=seller)
    if data.get("stage") == "__second__":
        data = {"stage": stages(opp)[1].pk}
    client.force_login(other_team_seller)

    response = getattr(client, method)(reverse(name, args=[opp.pk]), data)

    assert response.status_code == 404
    fresh = Opportunity.objects.get(pk=opp.pk)
    assert (fresh.state, fresh.stage_id, fresh.name) == ("open", opp.stage_id, opp.name)
    assert not Activity.objects.exists()


# --- kanban board -----------------------------------------------------------------------------------------------

def test_board_shows_columns_with_counts_sums_and_cards(seller_client, seller):
    opp = factories.opportunity(owner=seller, company="Card Co", amount="1500.00")
    factories.opportunity(owner=seller, company="Second Co", amount="500.00")

    response = seller_client.get(reverse("opportunities:board"))

    content = response.content.decode()
    assert response.status_code == 200
    for stage in stages(opp):
        assert stage.name in content
    assert "Card Co" in content and opp.number in content and seller.initials in content
    assert "js/kanban.js" in content
    assert reverse("opportunities:board_totals") in content  # the headers load in a second request

    totals = seller_client.get(reverse("opportunities:board_totals")).content.decode()
    assert f'id="stage-count-{opp.stage_id}" hx-swap-oob="true">2</span>' in totals
    assert "2,000.00" in totals or "2.000,00" in totals
    assert "200.00" in totals or "200,00" in totals  # weighted at the first stage's 10 %


def test_board_of_a_team_i_do_not_belong_to_is_404(seller_client, other_team_seller):
    other_team = other_team_seller.teams.get()
    assert seller_client.get(reverse("opportunities:board"), {"team": other_team.pk}).status_code == 404


def test_board_query_count_is_bounded(seller_client, seller, django_assert_max_num_queries):
    for i in range(30):
        factories.opportunity(owner=seller, company=f"Board {i:02d}")

    with django_assert_max_num_queries(14):
        response = seller_client.get(reverse("opportunities:board"))

    assert response.content.decode().count("kanban-card ") == 30


def test_kanban_move_changes_stage_and_records_a_stage_change(seller_client, seller):
    opp = factories.opportunity(owner=seller)
    first, second = stages(opp)[:2]

    response = seller_client.post(reverse("opportunities:move", args=[opp.pk]), {"stage": second.pk}, **HTMX)

    assert response.status_code == 200
    assert 'data-testid="column"' in response.content.decode()  # the re-rendered columns
    opp.refresh_from_db()
    assert opp.stage == second
    assert opp.probability == second.probability
    change = StageChange.objects.filter(opportunity=opp).first()
    assert (change.from_stage, change.to_stage, change.by) == (first, second, seller)


def test_kanban_move_of_a_won_deal_is_refused_and_changes_nothing(seller_client, seller):
    opp = factories.opportunity(owner=seller)
    opportunity_win(opportunity=opp, actor=seller)
    changes_before = StageChange.objects.count()

    response = seller_client.post(
        reverse("opportunities:move", args=[opp.pk]), {"stage": stages(opp)[2].pk}, **HTMX
    )

    assert response.status_code == 409
    assert "only open deals move through the pipeline" in response.content.decode()
    opp.refresh_from_db()
    assert opp.stage == stages(opp)[0]
    assert opp.state == "won"
    assert StageChange.objects.count() == changes_before


def test_kanban_move_to_a_stage_of_another_pipeline_is_refused(seller_client, seller, other_team_seller):
    opp = factories.opportunity(owner=seller)
    foreign = Stage.objects.create(team=other_team_seller.teams.get(), name="Foreign", order=1)

    response = seller_client.post(reverse("opportunities:move", args=[opp.pk]), {"stage": foreign.pk}, **HTMX)

    assert response.status_code == 409
    opp.refresh_from_db()
    assert opp.stage_id != foreign.pk


def test_kanban_move_without_a_stage_is_a_bad_request(seller_client, seller):
    opp = factories.opportunity(owner=seller)

    response = seller_client.post(reverse("opportunities:move", args=[opp.pk]), {"stage": "999999"}, **HTMX)

    assert response.status_code == 400


def test_stage_form_without_javascript_moves_and_redirects(seller_client, seller):
    opp = factories.opportunity(owner=seller)
    second = stages(opp)[1]

    response = seller_client.post(reverse("opportunities:move", args=[opp.pk]), {"stage": second.pk}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("opportunities:detail", args=[opp.pk])
    assert "Stage changed." in response.content.decode()
    opp.refresh_from_db()
    assert opp.stage == second


def test_stage_form_on_a_lost_deal_shows_the_refusal(seller_client, seller):
    opp = factories.opportunity(owner=seller)
    opportunity_lose(opportunity=opp, actor=seller, reason="price")

    response = seller_client.post(
        reverse("opportunities:move", args=[opp.pk]), {"stage": stages(opp)[1].pk}, follow=True
    )

    assert "only open deals move through the pipeline" in response.content.decode()
    opp.refresh_from_db()
    assert opp.stage == stages(opp)[0]


# --- admin ------------------------------------------------------------------------------------------------------

def test_admin_pages_render(admin_client, seller):
    opp = factories.opportunity(owner=seller, company="Admin Co")

    assert "Admin Co" in admin_client.get(reverse("admin:opportunities_opportunity_changelist")).content.decode()
    change = admin_client.get(reverse("admin:opportunities_opportunity_change", args=[opp.pk])).content.decode()
    assert 'name="name"' in change
    assert 'name="state"' not in change
    assert 'name="stage"' in change  # moves go through opportunity_update, gates included
    assert admin_client.get(reverse("admin:opportunities_stage_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:opportunities_stagechange_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:opportunities_stagechange_add")).status_code == 403


def test_admin_reopen_action(admin_client, seller):
    opp = factories.opportunity(owner=seller)
    opportunity_lose(opportunity=opp, actor=seller, reason="price")

    admin_client.post(
        reverse("admin:opportunities_opportunity_changelist"), {"action": "reopen", "_selected_action": [opp.pk]}
    )

    opp.refresh_from_db()
    assert opp.state == "open"
