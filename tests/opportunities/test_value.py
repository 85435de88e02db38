"""Demonstrate value (committee, competitors, SWOT, budget) and won/lost with configurable reasons."""

import pytest
from django.urls import reverse

from crm.workflow import DomainError
from opportunities.models import (
    Competitor,
    LostReason,
    OpportunityCompetitor,
    OpportunityContact,
    PipelineSettings,
)
from opportunities.services import opportunity_committee_add, opportunity_competitor_add, opportunity_lose
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_value_facts_are_edited_inline(seller_client, seller):
    opp = factories.opportunity(owner=seller)
    url = reverse("opportunities:value_edit", args=[opp.pk])

    form = seller_client.get(url, **HTMX)
    response = seller_client.post(url, {
        "requirements": "Replace spreadsheets", "budget_confirmed": "on", "budget_0": "25000", "budget_1": "EUR",
        "swot_strengths": "Local support", "swot_weaknesses": "", "swot_opportunities": "", "swot_threats": "Inertia",
    }, **HTMX)

    assert 'name="requirements"' in form.content.decode()
    content = response.content.decode()
    assert response.status_code == 200 and "Replace spreadsheets" in content and "Inertia" in content
    opp.refresh_from_db()
    assert opp.budget_confirmed and opp.budget.amount == 25000


def test_buying_committee_only_takes_contacts_of_the_account(seller_client, seller):
    opp = factories.opportunity(owner=seller)
    stranger = factories.ContactFactory()

    seller_client.post(reverse("opportunities:committee_add", args=[opp.pk]),
                       {"contact": opp.contact_id, "role": "decision_maker"})
    with pytest.raises(DomainError, match="Only contacts of"):
        opportunity_committee_add(opportunity=opp, contact=stranger, role="user", actor=seller)

    member = OpportunityContact.objects.get()
    assert (member.contact_id, member.role) == (opp.contact_id, "decision_maker")
    page = seller_client.get(reverse("opportunities:detail", args=[opp.pk])).content.decode()
    assert "Decision maker" in page
    seller_client.post(reverse("opportunities:committee_remove", args=[opp.pk, member.pk]), **HTMX)
    assert not OpportunityContact.objects.exists()


def test_competitors_are_matched_by_name_and_noted_once(seller_client, seller):
    opp = factories.opportunity(owner=seller)

    seller_client.post(reverse("opportunities:competitor_add", args=[opp.pk]),
                       {"name": "Rival AG", "strengths": "Cheap", "weaknesses": "Slow"}, **HTMX)
    opportunity_competitor_add(opportunity=opp, actor=seller, name="rival ag", weaknesses="Very slow")

    assert Competitor.objects.count() == 1
    entry = OpportunityCompetitor.objects.get()
    assert entry.weaknesses == "Very slow"


def test_another_teams_seller_cannot_touch_the_value_section(client, seller, other_team_seller):
    opp = factories.opportunity(owner=seller)
    client.force_login(other_team_seller)

    assert client.get(reverse("opportunities:value_edit", args=[opp.pk])).status_code == 404
    assert client.post(reverse("opportunities:competitor_add", args=[opp.pk]), {"name": "X"}).status_code == 404
    assert client.post(reverse("opportunities:committee_add", args=[opp.pk]),
                       {"contact": opp.contact_id, "role": "user"}).status_code == 404
    assert not Competitor.objects.exists() and not OpportunityContact.objects.exists()


# --- won / lost --------------------------------------------------------------------------------------------

def test_the_former_lost_reasons_are_seeded_as_global_rows():
    assert set(LostReason.objects.filter(team=None).values_list("code", flat=True)) == {
        "price", "competitor", "no_decision", "no_budget", "requirements", "other"}


def test_lost_with_a_team_reason_and_the_competitor(seller_client, seller, team):
    reason = LostReason.objects.create(team=team, name="Went in-house")
    rival = Competitor.objects.create(name="Rival AG")
    opp = factories.opportunity(owner=seller)

    seller_client.post(reverse("opportunities:lose", args=[opp.pk]), {"reason": reason.pk, "lost_to": rival.pk})

    opp.refresh_from_db()
    assert (opp.state, opp.lost_reason, opp.lost_to) == ("lost", reason, rival)
    page = seller_client.get(reverse("opportunities:detail", args=[opp.pk])).content.decode()
    assert "Went in-house" in page and "Rival AG" in page


def test_another_teams_reason_is_refused(seller, other_team_seller):
    theirs = LostReason.objects.create(team=other_team_seller.teams.get(), name="Theirs")
    opp = factories.opportunity(owner=seller)

    with pytest.raises(DomainError, match="Choose why"):
        opportunity_lose(opportunity=opp, actor=seller, reason=theirs)


def test_a_reason_is_mandatory_unless_the_team_says_otherwise(seller, team):
    opp = factories.opportunity(owner=seller)
    with pytest.raises(DomainError, match="Choose why"):
        opportunity_lose(opportunity=opp, actor=seller, reason=None)

    PipelineSettings.objects.create(team=team, lost_reason_required=False)
    opp = opportunity_lose(opportunity=opp, actor=seller, reason=None, note="Went quiet")
    assert opp.state == "lost" and opp.lost_reason is None


def test_reopen_clears_reason_and_competitor(seller, manager):
    rival = Competitor.objects.create(name="Rival AG")
    opp = opportunity_lose(opportunity=factories.opportunity(owner=seller), actor=seller, reason="competitor",
                           lost_to=rival)

    from opportunities.services import opportunity_reopen

    opp = opportunity_reopen(opportunity=opp, actor=manager)
    assert (opp.state, opp.lost_reason, opp.lost_to) == ("open", None, None)
