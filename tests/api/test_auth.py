"""Token authentication per user, the token page under the user menu, and the errors of a bad token."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories

pytestmark = pytest.mark.django_db


def test_without_credentials_the_api_answers_401_with_a_json_message():
    response = APIClient().get("/api/leads/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.json()["detail"]


def test_a_wrong_token_is_refused_with_a_json_message():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/leads/")

    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_a_token_authenticates_as_its_user(api, seller):
    mine = factories.lead(owner=seller, last_name="Mine")

    response = api.get("/api/leads/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_the_signed_in_session_works_too_for_the_browsable_docs(seller_client, seller):
    factories.lead(owner=seller)

    response = seller_client.get("/api/leads/")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def test_session_writes_need_the_csrf_token(seller):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(seller)

    response = client.post("/api/leads/", {"last_name": "Nope"}, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_token_page_creates_a_token_shows_it_once_and_it_works(seller_client, seller):
    page = seller_client.get("/api/token/")
    assert page.status_code == 200
    assert "You have no API token yet." in page.content.decode()

    created = seller_client.post("/api/token/", {"action": "regenerate"})

    key = Token.objects.get(user=seller).key
    assert key in created.content.decode()
    assert created["Cache-Control"] == "no-store"
    assert key not in seller_client.get("/api/token/").content.decode()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/leads/").status_code == 200


def test_regenerating_the_token_retires_the_old_one(seller_client, seller):
    seller_client.post("/api/token/", {"action": "regenerate"})
    old = Token.objects.get(user=seller).key

    seller_client.post("/api/token/", {"action": "regenerate"})

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert client.get("/api/leads/").status_code == 401
    assert Token.objects.get(user=seller).key != old


def test_revoking_the_token(seller_client, seller):
    seller_client.post("/api/token/", {"action": "regenerate"})

    seller_client.post("/api/token/", {"action": "revoke"})

    assert not Token.objects.filter(user=seller).exists()


def test_the_token_page_is_in_the_user_menu(seller_client):
    assert 'href="/api/token/"' in seller_client.get("/").content.decode()


def test_the_token_page_needs_a_signed_in_user(client):
    response = client.get("/api/token/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_ops_create_a_token_with_the_management_command(seller):
    from django.core.management import call_command

    call_command("drf_create_token", seller.username)

    assert Token.objects.filter(user=seller).exists()


@pytest.fixture
def enforce_2fa(settings):
    settings.SALESFLOW_REQUIRE_2FA = True


def turn_on_2fa(user) -> None:
    import pyotp  # noqa: PLC0415

    from crm import twofactor  # noqa: PLC0415

    secret = twofactor.new_secret()
    twofactor.twofactor_enable(user=user, secret=secret, code=pyotp.TOTP(secret).now())


@pytest.mark.parametrize("kind", ["accountant", "staff", "superuser"])
def test_a_token_of_a_user_who_must_use_2fa_but_has_not_is_refused_with_a_json_403(
    enforce_2fa, accountant, kind
):
    from leads.models import Lead  # noqa: PLC0415
    from tests.api.conftest import token_client  # noqa: PLC0415

    user = {"accountant": accountant, "staff": factories.UserFactory(is_staff=True),
            "superuser": factories.UserFactory(is_superuser=True)}[kind]
    client = token_client(user)

    for response in (client.get("/api/invoices/"),
                     client.post("/api/leads/", {"last_name": "Sneaky"}, format="json")):
        assert response.status_code == 403
        assert response.json() == {"detail": "Turn on two-factor authentication before using the API.",
                                   "code": "two_factor_required"}
    assert not Lead.objects.filter(last_name="Sneaky").exists()


def test_a_session_of_a_user_who_must_use_2fa_but_has_not_gets_the_same_json_403_from_the_api(
    client, enforce_2fa, accountant
):
    client.force_login(accountant)

    response = client.get("/api/invoices/")

    assert response.status_code == 403
    assert response.json() == {"detail": "Turn on two-factor authentication before using the API.",
                               "code": "two_factor_required"}
    assert client.get("/")["Location"] == reverse("security")  # pages still lead to the set-up page


def test_the_same_token_works_once_2fa_is_on(enforce_2fa, accountant):
    from tests.api.conftest import token_client  # noqa: PLC0415

    client = token_client(accountant)
    assert client.get("/api/invoices/").status_code == 403

    turn_on_2fa(accountant)

    assert client.get("/api/invoices/").status_code == 200


def test_sellers_need_no_second_factor_for_the_api(enforce_2fa, api):
    assert api.get("/api/leads/").status_code == 200


def test_no_second_factor_is_asked_when_the_deployment_does_not_enforce_it(settings, accountant):
    from tests.api.conftest import token_client  # noqa: PLC0415

    settings.SALESFLOW_REQUIRE_2FA = False
    assert token_client(accountant).get("/api/invoices/").status_code == 200


def test_the_2fa_refusal_speaks_the_users_language(enforce_2fa, accountant):
    from tests.api.conftest import token_client  # noqa: PLC0415

    accountant.language = "de"
    accountant.save(update_fields=["language"])

    response = token_client(accountant).get("/api/invoices/")

    assert response.status_code == 403
    assert response.json()["detail"] == "Schalten Sie die Zwei-Faktor-Authentifizierung ein, bevor Sie die API nutzen."
