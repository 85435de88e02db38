"""Second factor: set-up, sign-in with TOTP or a recovery code, turning it off, enforcement by role."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.core.cache import cache
from django.urls import reverse

from crm import twofactor
from crm.auth_views import SETUP_SECRET_KEY
from crm.models import RecoveryCode, TwoFactorDevice
from tests import factories

PASSWORD = "pw-for-tests-123"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def enforce_2fa(settings):
    settings.SALESFLOW_REQUIRE_2FA = True


def code_for(secret: str, offset_steps: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.at(time.time() + offset_steps * totp.interval)


def enable_for(user) -> tuple[str, list[str]]:
    secret = twofactor.new_secret()
    codes = twofactor.twofactor_enable(user=user, secret=secret, code=code_for(secret, -1))
    return secret, codes


def sign_in(client, user, password: str = PASSWORD, next_url: str = ""):
    data = {"username": user.username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- set-up --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_any_user_can_turn_on_2fa_with_qr_and_gets_ten_recovery_codes_once(seller_client, seller):
    page = seller_client.get(reverse("security"))
    body = page.content.decode()
    secret = seller_client.session[SETUP_SECRET_KEY]
    assert 'src="data:image/svg+xml' in body  # the QR code
    assert secret in body  # the key to type in by hand

    response = seller_client.post(reverse("security"), {"action": "enable", "code": code_for(secret)})

    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        assert code in response.content.decode()
    device = TwoFactorDevice.objects.get(user=seller)
    stored = list(RecoveryCode.objects.filter(device=device).values_list("code_hash", flat=True))
    assert len(stored) == 10
    assert not set(codes) & set(stored)  # hashed, not stored as shown
    # Shown once: the Security page afterwards only counts them.
    again = seller_client.get(reverse("security")).content.decode()
    assert codes[0] not in again
    assert "10 recovery codes left" in again


@pytest.mark.django_db
def test_a_wrong_confirmation_code_turns_nothing_on(seller_client, seller):
    seller_client.get(reverse("security"))

    response = seller_client.post(reverse("security"), {"action": "enable", "code": "000000"})

    assert response.status_code == 400
    assert "That code did not match" in response.content.decode()
    assert not TwoFactorDevice.objects.exists()


# --- sign-in -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_with_2fa_on_the_password_alone_does_not_sign_in(client, seller):
    enable_for(seller)

    response = sign_in(client, seller)

    assert response.status_code == 302
    assert response["Location"] == reverse("login_verify")
    assert not signed_in(client)
    assert client.get(reverse("crm:home")).status_code == 302  # still the login page


@pytest.mark.django_db
def test_a_current_code_completes_sign_in_and_goes_to_next(client, seller):
    secret, _codes = enable_for(seller)
    sign_in(client, seller, next_url="/leads/")

    response = client.post(reverse("login_verify"), {"code": code_for(secret, 1)})

    assert response.status_code == 302
    assert response["Location"] == "/leads/"
    assert signed_in(client)


@pytest.mark.django_db
def test_a_wrong_code_is_refused(client, seller):
    enable_for(seller)
    sign_in(client, seller)

    response = client.post(reverse("login_verify"), {"code": "123456"})

    assert response.status_code == 400
    assert "That code did not match" in response.content.decode()
    assert not signed_in(client)


@pytest.mark.django_db
def test_a_code_cannot_be_used_twice(client, seller):
    secret, _codes = enable_for(seller)
    code = code_for(secret, 1)
    sign_in(client, seller)
    client.post(reverse("login_verify"), {"code": code})
    client.post(reverse("logout"))

    sign_in(client, seller)
    response = client.post(reverse("login_verify"), {"code": code})

    assert response.status_code == 400
    assert not signed_in(client)


@pytest.mark.django_db
def test_a_recovery_code_signs_in_once(client, seller):
    _secret, codes = enable_for(seller)
    sign_in(client, seller)

    response = client.post(reverse("login_verify"), {"code": codes[3].upper().replace("-", " ")})

    assert response.status_code == 302
    assert signed_in(client)
    client.post(reverse("logout"))
    sign_in(client, seller)
    assert client.post(reverse("login_verify"), {"code": codes[3]}).status_code == 400
    assert twofactor.recovery_codes_left(seller) == 9


@pytest.mark.django_db
def test_the_second_step_is_throttled_too(client, seller):
    secret, _codes = enable_for(seller)
    sign_in(client, seller)
    for _ in range(5):
        client.post(reverse("login_verify"), {"code": "000000"})

    response = client.post(reverse("login_verify"), {"code": code_for(secret)})

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert not signed_in(client)


@pytest.mark.django_db
def test_the_second_step_expires(client, seller):
    secret, _codes = enable_for(seller)
    sign_in(client, seller)
    session = client.session
    session["salesflow_2fa_pending"]["at"] -= 10 * 60
    session.save()

    response = client.post(reverse("login_verify"), {"code": code_for(secret)})

    assert response["Location"] == reverse("login")
    assert not signed_in(client)


@pytest.mark.django_db
def test_the_second_step_without_a_password_step_goes_back_to_login(client):
    response = client.get(reverse("login_verify"))

    assert response["Location"] == reverse("login")


# --- turning off, new codes ----------------------------------------------------------------------


@pytest.mark.django_db
def test_turning_off_needs_a_valid_code(seller_client, seller):
    secret, _codes = enable_for(seller)

    refused = seller_client.post(reverse("security"), {"action": "disable", "code": "999999"})
    assert refused.status_code == 400
    assert TwoFactorDevice.objects.filter(user=seller).exists()

    seller_client.post(reverse("security"), {"action": "disable", "code": code_for(secret, 1)})
    assert not TwoFactorDevice.objects.filter(user=seller).exists()
    assert not RecoveryCode.objects.exists()


@pytest.mark.django_db
def test_new_recovery_codes_replace_the_old_ones(seller_client, seller):
    secret, old_codes = enable_for(seller)

    response = seller_client.post(reverse("security"), {"action": "regenerate", "code": code_for(secret, 1)})

    new_codes = response.context["codes"]
    assert len(new_codes) == 10
    assert not twofactor.twofactor_check(user=seller, code=old_codes[0])
    assert twofactor.twofactor_check(user=seller, code=new_codes[0])


# --- enforcement ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["staff", "superuser", "accountant"])
def test_privileged_users_without_2fa_are_sent_to_set_up(client, enforce_2fa, kind):
    if kind == "accountant":
        user = factories.UserFactory(role="accountant")
    else:
        user = factories.UserFactory(is_staff=True, is_superuser=kind == "superuser")
    client.force_login(user)

    response = client.get(reverse("crm:home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("security")
    page = client.get(reverse("security"))
    assert page.status_code == 200
    assert "Your role requires two-factor authentication" in page.content.decode()
    # They can still sign out.
    assert client.post(reverse("logout")).status_code == 302
    assert not signed_in(client)


@pytest.mark.django_db
def test_htmx_requests_of_a_user_without_required_2fa_redirect_the_whole_page(client, enforce_2fa, accountant):
    client.force_login(accountant)

    response = client.get(reverse("crm:home"), headers={"HX-Request": "true"})

    assert response["HX-Redirect"] == reverse("security")


@pytest.mark.django_db
def test_the_admin_is_behind_the_same_enforcement(client, enforce_2fa):
    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)

    assert client.get("/admin/")["Location"] == reverse("security")


@pytest.mark.django_db
def test_privileged_user_with_2fa_works_normally_and_cannot_turn_it_off(client, enforce_2fa, accountant):
    secret, _codes = enable_for(accountant)
    client.force_login(accountant)

    assert client.get(reverse("crm:home")).status_code == 200
    response = client.post(reverse("security"), {"action": "disable", "code": code_for(secret, 1)})
    assert "cannot be turned off" in response.content.decode()
    assert TwoFactorDevice.objects.filter(user=accountant).exists()


@pytest.mark.django_db
def test_sellers_are_not_forced(client, enforce_2fa, seller):
    client.force_login(seller)

    assert client.get(reverse("crm:home")).status_code == 200


@pytest.mark.django_db
def test_enforcement_is_off_when_the_deployment_says_so(client, settings, accountant):
    settings.SALESFLOW_REQUIRE_2FA = False
    client.force_login(accountant)

    assert client.get(reverse("crm:home")).status_code == 200


@pytest.mark.django_db
def test_admin_login_goes_through_our_login_and_its_second_step(client):
    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    secret, _codes = enable_for(staff)

    redirect = client.get("/admin/login/?next=/admin/")
    assert redirect.status_code == 302
    assert redirect["Location"] == reverse("login") + "?next=/admin/"

    # Django's admin login form posted directly does not sign in either: the URL is ours.
    response = client.post("/admin/login/?next=/admin/", {"username": staff.username, "password": PASSWORD})
    assert not signed_in(client)

    sign_in(client, staff, next_url="/admin/")
    assert not signed_in(client)
    response = client.post(reverse("login_verify"), {"code": code_for(secret, 1)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_admin_shows_devices_without_their_secret_and_can_delete_one(admin_client, seller):
    secret, _codes = enable_for(seller)
    device = TwoFactorDevice.objects.get(user=seller)

    page = admin_client.get(reverse("admin:crm_twofactordevice_change", args=[device.pk]))
    assert page.status_code == 200
    assert secret not in page.content.decode()

    admin_client.post(reverse("admin:crm_twofactordevice_delete", args=[device.pk]), {"post": "yes"})
    assert not TwoFactorDevice.objects.filter(user=seller).exists()
