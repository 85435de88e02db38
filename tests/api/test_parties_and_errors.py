"""Accounts and contacts over the API, the shape of every error, and the schema and docs pages."""

from __future__ import annotations

import re

import pytest

from crm.models import Account, Contact, FieldChange
from tests import factories

pytestmark = pytest.mark.django_db


def test_create_and_update_an_account(api, seller, team):
    created = api.post("/api/accounts/", {"name": "Globex", "city": "Berlin", "country": "DE"}, format="json")
    updated = api.patch(f"/api/accounts/{created.json()['id']}/", {"vat_id": "DE123456789"}, format="json")

    assert created.status_code == 201, created.json()
    account = Account.objects.get(pk=created.json()["id"])
    assert (account.owner, account.team, account.vat_id) == (seller, team, "DE123456789")
    assert updated.json()["vat_id"] == "DE123456789"


def test_a_change_made_with_a_token_is_in_the_history_under_its_user(api, seller):
    account = factories.AccountFactory(name="Initech", owner=seller, team=seller.teams.first())

    api.patch(f"/api/accounts/{account.pk}/", {"city": "Austin"}, format="json")

    change = FieldChange.objects.get(object_id=account.pk, field="city")
    assert (change.new_value, change.changed_by) == ("Austin", seller)


def test_accounts_and_contacts_are_scoped(api, other_api, seller):
    account = factories.AccountFactory(owner=seller)
    contact = factories.ContactFactory(account=account)

    assert [a["id"] for a in api.get("/api/accounts/").json()["results"]] == [account.pk]
    assert [c["id"] for c in api.get(f"/api/contacts/?account={account.pk}").json()["results"]] == [contact.pk]
    assert other_api.get(f"/api/accounts/{account.pk}/").status_code == 404
    assert other_api.get(f"/api/contacts/{contact.pk}/").status_code == 404
    assert other_api.get("/api/contacts/").json()["results"] == []


def test_a_contact_cannot_be_added_to_an_account_outside_the_scope(other_api, seller):
    account = factories.AccountFactory(owner=seller)

    response = other_api.post("/api/contacts/", {"account": account.pk, "last_name": "Spy"}, format="json")

    assert response.status_code == 400
    assert "account" in response.json()["errors"]
    assert not Contact.objects.exists()


def test_create_and_rename_a_contact(api, seller):
    account = factories.AccountFactory(owner=seller)

    created = api.post("/api/contacts/", {"account": account.pk, "first_name": "Hank", "last_name": "Scorpio",
                                          "email": "hank@globex.example"}, format="json")
    renamed = api.patch(f"/api/contacts/{created.json()['id']}/", {"title": "CEO"}, format="json")

    assert created.status_code == 201, created.json()
    assert renamed.json()["title"] == "CEO"


# --- errors ----------------------------------------------------------------------------------------------------


def test_malformed_json_is_a_400_with_a_message(api):
    response = api.generic("POST", "/api/leads/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert "JSON parse error" in response.json()["detail"]


def test_an_unsupported_media_type_is_a_415_with_a_message(api):
    response = api.generic("POST", "/api/leads/", "last_name=X", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json()["detail"]


def test_an_out_of_range_id_is_a_clear_400_or_404(api):
    huge = 10**30

    assert api.get(f"/api/leads/?owner={huge}").status_code == 400
    assert api.get(f"/api/leads/{huge}/").status_code == 404
    assert api.get("/api/leads/not-a-number/").status_code == 404
    assert api.post("/api/activities/", {"target_type": "lead", "target_id": huge, "subject": "x"},
                    format="json").status_code == 400


def test_an_invalid_cursor_is_a_404_with_a_message(api):
    response = api.get("/api/leads/?cursor=garbage")

    assert response.status_code == 404
    assert response.json()["detail"] == "Invalid cursor"


def test_an_unknown_ordering_field_is_ignored_not_an_error(api, seller):
    factories.lead(owner=seller)

    assert len(api.get("/api/leads/?ordering=password").json()["results"]) == 1


# --- schema and docs -------------------------------------------------------------------------------------------


def test_the_openapi_schema_is_served(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ("/api/leads/{id}/qualify/", "/api/opportunities/{id}/move/", "/api/opportunities/{id}/mark-won/",
                 "/api/opportunities/{id}/mark-lost/", "/api/quotes/{id}/send/", "/api/quotes/{id}/accept/",
                 "/api/quotes/{id}/lines/{line_pk}/", "/api/orders/{id}/fulfil/", "/api/orders/{id}/invoice/",
                 "/api/invoices/{id}/issue/", "/api/payments/", "/api/activities/", "/api/contacts/"):
        assert path in schema["paths"], path
    assert schema["components"]["securitySchemes"]["tokenAuth"]["type"] == "apiKey"


def test_the_docs_page_loads_swagger_from_our_own_static_files_without_inline_script(seller_client):
    response = seller_client.get("/api/docs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "swagger-ui" in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts, "the page loads its scripts"
    assert all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html


def test_date_filters_take_any_iso_offset_and_refuse_dates_off_the_calendar(api, seller):
    # Found by the fuzz test: PostgreSQL refuses offsets beyond ±15:59, Python allows ±23:59.
    lead = factories.lead(owner=seller)

    odd_offset = api.get("/api/leads/", {"created_after": "2000-05-20T22:12:02-18:21"})
    off_calendar = api.get("/api/leads/", {"created_before": "9999-12-31T23:00:00-18:00"})

    assert [row["id"] for row in odd_offset.json()["results"]] == [lead.pk]
    assert off_calendar.status_code == 400
    assert off_calendar.json()["errors"]["created_before"] == ["Enter a date and time between the years 1 and 9999."]
