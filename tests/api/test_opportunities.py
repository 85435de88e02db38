"""Opportunities over the API: create/update through the services, stage moves with exit gates, won/lost/
reopen as POST actions, money as strings with a currency, scoping and bounded queries."""

from __future__ import annotations

import pytest

from crm.models import Activity
from opportunities.models import LostReason, Opportunity, Stage
from opportunities.selectors import pipeline_stages
from tests import factories

pytestmark = pytest.mark.django_db


def test_create_an_opportunity_for_a_visible_account(api, seller):
    account = factories.AccountFactory(owner=seller)

    response = api.post(
        "/api/opportunities/",
        {"account": account.pk, "name": "Big deal", "amount": {"amount": "1200.00", "currency": "EUR"}},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["amount"] == {"amount": "1200.00", "currency": "EUR"}
    assert body["state"] == "open"
    assert body["stage"] == pipeline_stages(None)[0].pk
    assert Opportunity.objects.get(pk=body["id"]).owner == seller


def test_an_account_outside_the_scope_cannot_be_used(api, other_team_seller):
    foreign = factories.AccountFactory(owner=other_team_seller)

    response = api.post("/api/opportunities/", {"account": foreign.pk, "name": "Sneaky"}, format="json")

    assert response.status_code == 400
    assert "account" in response.json()["errors"]
    assert not Opportunity.objects.exists()


def test_money_refuses_a_float_like_garbage_amount_and_unknown_currency(api, seller):
    account = factories.AccountFactory(owner=seller)

    response = api.post("/api/opportunities/", {"account": account.pk, "name": "X",
                                                "amount": {"amount": "lots", "currency": "XXX"}}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]["amount"]) == {"amount", "currency"}


def test_list_is_scoped_and_bounded(api, seller, other_team_seller, django_assert_max_num_queries):
    for _ in range(8):
        factories.opportunity(owner=seller)
    factories.opportunity(owner=other_team_seller)

    with django_assert_max_num_queries(6):
        response = api.get("/api/opportunities/")

    assert len(response.json()["results"]) == 8


def test_filter_by_state_and_close_date(api, seller):
    open_deal = factories.opportunity(owner=seller)
    lost = factories.opportunity(owner=seller)
    from opportunities.services import opportunity_lose

    opportunity_lose(opportunity=lost, actor=seller, reason="price")

    assert [r["id"] for r in api.get("/api/opportunities/?state=open").json()["results"]] == [open_deal.pk]
    assert api.get("/api/opportunities/?expected_close_date__gte=not-a-date").status_code == 400


def test_update_and_move_between_stages(api, seller):
    deal = factories.opportunity(owner=seller)
    stages = pipeline_stages(deal.team)

    patched = api.patch(f"/api/opportunities/{deal.pk}/", {"description": "Needs SSO"}, format="json")
    moved = api.post(f"/api/opportunities/{deal.pk}/move/", {"stage": stages[1].pk}, format="json")

    assert patched.json()["description"] == "Needs SSO"
    assert moved.status_code == 200, moved.json()
    assert moved.json()["stage"] == stages[1].pk
    assert deal.stage_changes.count() == 2


def test_a_blocked_exit_gate_is_a_clear_400(api, seller):
    deal = factories.opportunity(owner=seller)
    first, second = pipeline_stages(deal.team)[:2]
    Stage.objects.filter(pk=first.pk).update(required_fields=["expected_close_date"])

    response = api.post(f"/api/opportunities/{deal.pk}/move/", {"stage": second.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"Cannot leave “{first.name}” yet.")
    deal.refresh_from_db()
    assert deal.stage_id == first.pk


def test_a_stage_of_another_pipeline_is_refused(api, seller, other_team_seller):
    deal = factories.opportunity(owner=seller)
    foreign = Stage.objects.create(team=other_team_seller.teams.get(), name="Theirs", order=1)

    response = api.post(f"/api/opportunities/{deal.pk}/move/", {"stage": foreign.pk}, format="json")

    assert response.status_code == 400
    assert "not part of this deal's pipeline" in response.json()["detail"]


def test_mark_won(api, seller):
    deal = factories.opportunity(owner=seller)

    response = api.post(f"/api/opportunities/{deal.pk}/mark-won/")

    assert response.status_code == 200
    assert response.json()["state"] == "won"


def test_mark_lost_needs_a_reason_then_reopen(api, seller, manager):
    deal = factories.opportunity(owner=seller)
    price = LostReason.objects.get(code="price", team=None)

    refused = api.post(f"/api/opportunities/{deal.pk}/mark-lost/", {}, format="json")
    lost = api.post(f"/api/opportunities/{deal.pk}/mark-lost/", {"reason": price.pk, "note": "Too dear"},
                    format="json")
    edit_closed = api.patch(f"/api/opportunities/{deal.pk}/", {"name": "Renamed"}, format="json")
    seller_reopen = api.post(f"/api/opportunities/{deal.pk}/reopen/")  # only managers reopen
    # The API answers a role refusal like any refused rule (400, "refused"); a 403 would be more precise.
    assert seller_reopen.status_code == 403 and "Your role does not allow this" in seller_reopen.json()["detail"]
    from tests.api.conftest import token_client  # noqa: PLC0415

    reopened = token_client(manager).post(f"/api/opportunities/{deal.pk}/reopen/")

    assert refused.status_code == 400 and refused.json()["detail"] == "Choose why this deal was lost."
    assert (lost.json()["state"], lost.json()["lost_reason"]) == ("lost", price.pk)
    assert edit_closed.status_code == 400
    assert "Reopen it first" in edit_closed.json()["detail"]
    assert reopened.json()["state"] == "open"


def test_mark_won_twice_is_a_409(api, seller):
    deal = factories.opportunity(owner=seller)
    api.post(f"/api/opportunities/{deal.pk}/mark-won/")

    response = api.post(f"/api/opportunities/{deal.pk}/mark-won/")

    assert response.status_code == 409


def test_another_teams_deal_is_a_404(other_api, seller):
    deal = factories.opportunity(owner=seller)

    assert other_api.get(f"/api/opportunities/{deal.pk}/").status_code == 404
    assert other_api.post(f"/api/opportunities/{deal.pk}/mark-won/").status_code == 404
    deal.refresh_from_db()
    assert deal.state == "open"


# --- activities ------------------------------------------------------------------------------------------------


def test_log_an_activity_on_a_deal_and_tick_it_off(api, seller):
    deal = factories.opportunity(owner=seller)

    created = api.post("/api/activities/", {"target_type": "opportunity", "target_id": deal.pk, "kind": "call",
                                            "subject": "Discovery call", "due_at": "2030-01-02T10:00:00Z"},
                       format="json")
    done = api.patch(f"/api/activities/{created.json()['id']}/", {"done": True}, format="json")

    assert created.status_code == 201, created.json()
    assert (created.json()["target_type"], created.json()["target_id"]) == ("opportunity", deal.pk)
    assert done.json()["done"] is True
    assert Activity.objects.get().done


def test_an_activity_on_a_record_outside_the_scope_is_refused(other_api, seller):
    deal = factories.opportunity(owner=seller)

    response = other_api.post("/api/activities/", {"target_type": "opportunity", "target_id": deal.pk,
                                                   "subject": "Snoop"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]["target_id"] == ["No such record in your scope."]
    assert not Activity.objects.exists()


def test_activities_are_visible_with_their_record(api, other_api, seller, teammate):
    deal = factories.opportunity(owner=teammate)
    api.post("/api/activities/", {"target_type": "opportunity", "target_id": deal.pk, "subject": "Note"},
             format="json")

    assert len(api.get("/api/activities/").json()["results"]) == 1
    assert other_api.get("/api/activities/").json()["results"] == []


def test_only_the_owner_ticks_off_an_activity(api, seller, teammate):
    from tests.api.conftest import token_client

    deal = factories.opportunity(owner=seller)
    activity_id = api.post("/api/activities/", {"target_type": "opportunity", "target_id": deal.pk,
                                                "subject": "Mine"}, format="json").json()["id"]

    response = token_client(teammate).patch(f"/api/activities/{activity_id}/", {"done": True}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "Only the owner of an activity can tick it off."
