"""Leads over the API: list (filter, search, ordering, cursor pages), CRUD through the services, the
transitions as POST actions, scoping (another team's lead is a 404) and bounded queries."""

from __future__ import annotations

import pytest

from leads.models import DisqualificationReason, Lead
from opportunities.models import Opportunity
from tests import factories

pytestmark = pytest.mark.django_db


def test_list_shows_only_leads_in_scope(api, seller, teammate, other_team_seller):
    mine = factories.lead(owner=seller)
    teams = factories.lead(owner=teammate)
    factories.lead(owner=other_team_seller)

    rows = api.get("/api/leads/").json()["results"]

    assert {row["id"] for row in rows} == {mine.pk, teams.pk}


def test_another_teams_lead_is_a_404_for_read_update_and_transitions(other_api, seller):
    lead = factories.lead(owner=seller)

    assert other_api.get(f"/api/leads/{lead.pk}/").status_code == 404
    assert other_api.patch(f"/api/leads/{lead.pk}/", {"notes": "x"}, format="json").status_code == 404
    response = other_api.post(f"/api/leads/{lead.pk}/start-work/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    lead.refresh_from_db()
    assert lead.state == "new"


def test_filter_by_state_search_and_ordering(api, seller):
    a = factories.lead(owner=seller, last_name="Alpha", company="Zeta AG")
    b = factories.lead(owner=seller, last_name="Beta", company="Acme")
    from leads.services import lead_start_work

    lead_start_work(lead=b, actor=seller)

    assert [r["id"] for r in api.get("/api/leads/?state=working").json()["results"]] == [b.pk]
    assert [r["id"] for r in api.get("/api/leads/?search=zeta").json()["results"]] == [a.pk]
    ordered = api.get("/api/leads/?ordering=company").json()["results"]
    assert [r["id"] for r in ordered] == [b.pk, a.pk]


def test_cursor_pagination_walks_every_lead_once(api, seller):
    created = {factories.lead(owner=seller, last_name=f"L{i}").pk for i in range(5)}

    seen, url = [], "/api/leads/?page_size=2"
    while url:
        page = api.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]

    assert len(seen) == 5
    assert set(seen) == created
    assert "cursor=" in api.get("/api/leads/?page_size=2").json()["next"]


def test_list_query_count_does_not_grow_with_rows(api, seller, django_assert_max_num_queries):
    for i in range(30):
        factories.lead(owner=seller, last_name=f"L{i}")

    with django_assert_max_num_queries(6):
        response = api.get("/api/leads/?page_size=30")

    assert len(response.json()["results"]) == 30


def test_create_a_lead(api, seller, team):
    response = api.post(
        "/api/leads/", {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@engines.example",
                        "company": "Engines Ltd", "source": "referral"}, format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    lead = Lead.objects.get(pk=body["id"])
    assert (lead.full_name, lead.owner, lead.team, lead.state) == ("Ada Lovelace", seller, team, "new")
    assert body["number"] == lead.number and lead.number


def test_create_refuses_bad_input_with_field_errors_and_writes_nothing(api):
    response = api.post("/api/leads/", {"email": "not-an-email", "source": "carrier-pigeon"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"last_name", "email", "source"}
    assert body["detail"]
    assert not Lead.objects.exists()


def test_create_refuses_an_owner_outside_the_users_teams(api, other_team_seller):
    response = api.post("/api/leads/", {"last_name": "X", "owner": other_team_seller.pk}, format="json")

    assert response.status_code == 400
    assert "owner" in response.json()["errors"]
    assert not Lead.objects.exists()


def test_a_duplicate_email_needs_save_anyway(api, seller):
    factories.lead(owner=seller, email="dup@example.com")

    refused = api.post("/api/leads/", {"last_name": "Again", "email": "dup@example.com"}, format="json")
    saved = api.post("/api/leads/", {"last_name": "Again", "email": "dup@example.com", "save_anyway": True},
                     format="json")

    assert refused.status_code == 400
    assert "already exist" in refused.json()["detail"]
    assert saved.status_code == 201
    assert Lead.objects.filter(email="dup@example.com").count() == 2


def test_patch_and_put_update_through_the_service(api, seller):
    lead = factories.lead(owner=seller)

    patched = api.patch(f"/api/leads/{lead.pk}/", {"phone": "+49 30 1234"}, format="json")
    put = api.put(f"/api/leads/{lead.pk}/", {"last_name": "Renamed"}, format="json")

    assert patched.status_code == 200 and patched.json()["phone"] == "+49 30 1234"
    assert put.status_code == 200 and put.json()["last_name"] == "Renamed"
    lead.refresh_from_db()
    assert (lead.phone, lead.last_name) == ("+49 30 1234", "Renamed")


def test_state_cannot_be_written_through_an_update(api, seller):
    lead = factories.lead(owner=seller)

    response = api.patch(f"/api/leads/{lead.pk}/", {"state": "qualified"}, format="json")

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.state == "new"


def test_a_qualified_lead_refuses_edits_with_a_clear_message(api, seller):
    lead = factories.lead(owner=seller)
    api.post(f"/api/leads/{lead.pk}/qualify/", {}, format="json")

    response = api.patch(f"/api/leads/{lead.pk}/", {"notes": "late"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("A qualified lead is closed")
    assert response.json()["code"] == "refused"


def test_start_work_then_disqualify_then_recycle(api, seller):
    lead = factories.lead(owner=seller)
    reason = DisqualificationReason.objects.filter(active=True).first()

    assert api.post(f"/api/leads/{lead.pk}/start-work/").json()["state"] == "working"
    body = api.post(f"/api/leads/{lead.pk}/disqualify/", {"reason": reason.code}, format="json").json()
    assert (body["state"], body["disqualify_reason"]) == ("disqualified", reason.code)
    assert api.post(f"/api/leads/{lead.pk}/recycle/").json()["state"] == "working"


def test_disqualify_without_a_known_reason_is_refused(api, seller):
    lead = factories.lead(owner=seller)

    response = api.post(f"/api/leads/{lead.pk}/disqualify/", {"reason": "because"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]["reason"] == ["Choose why this lead is disqualified."]
    lead.refresh_from_db()
    assert lead.state == "new"


def test_a_transition_not_allowed_from_the_current_state_is_a_409(api, seller):
    lead = factories.lead(owner=seller)

    response = api.post(f"/api/leads/{lead.pk}/recycle/")

    assert response.status_code == 409
    assert response.json()["code"] == "transition_not_allowed"
    assert "not possible now" in response.json()["detail"]


def test_qualify_creates_the_opportunity_once(api, seller):
    lead = factories.lead(owner=seller, company="Initech")

    first = api.post(f"/api/leads/{lead.pk}/qualify/", {"amount": "5000.00", "currency": "EUR"}, format="json")
    second = api.post(f"/api/leads/{lead.pk}/qualify/", {}, format="json")

    assert first.status_code == 200, first.json()
    assert first.json()["amount"] == {"amount": "5000.00", "currency": "EUR"}
    assert second.json()["id"] == first.json()["id"]
    assert Opportunity.objects.filter(lead=lead).count() == 1
    lead.refresh_from_db()
    assert lead.state == "qualified"


def test_reassign_to_a_teammate(api, seller, teammate):
    lead = factories.lead(owner=seller)

    response = api.post(f"/api/leads/{lead.pk}/reassign/", {"owner": teammate.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["owner"] == teammate.pk


def test_error_messages_follow_the_users_language(api, seller):
    seller.language = "de"
    seller.save(update_fields=["language"])
    lead = factories.lead(owner=seller)

    response = api.post(f"/api/leads/{lead.pk}/disqualify/", {"reason": "because"}, format="json")

    assert response.json()["detail"] == "reason: Wählen Sie aus, warum dieser Lead disqualifiziert wird."
