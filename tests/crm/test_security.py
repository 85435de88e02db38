"""Hardening: production settings, Content-Security-Policy, login throttling, uploads, error pages, logs."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from crm.security import (
    JsonLogFormatter,
    RequestContextFilter,
    request_context,
    throttle_wait_seconds,
    validate_upload,
)
from leads.models import ImportJob

BASE_DIR = Path(settings.BASE_DIR)
PASSWORD = "pw-for-tests-123"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


# --- production settings -------------------------------------------------------------------------


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_", "SESSION_", "CSRF_"))}
    env.update(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="crm.example.com",
               SALESFLOW_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="crm.settings")
    env.pop("DATABASE_URL", None)
    env.update(extra)
    return env


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=production_env(tmp_path), capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_values(tmp_path):
    code = (
        "import json; from django.conf import settings as s; import django; django.setup(); print(json.dumps(["
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        "s.SECURE_SSL_REDIRECT, s.SECURE_REFERRER_POLICY, s.X_FRAME_OPTIONS, s.SALESFLOW_REQUIRE_2FA,"
        "s.LOG_FORMAT, s.CACHES['default']['BACKEND']]))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=production_env(tmp_path),
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == [31536000, True, True, True, True, "strict-origin-when-cross-origin", "DENY", True, "json",
                      "django.core.cache.backends.db.DatabaseCache"]


def test_hsts_can_be_turned_down_by_environment(tmp_path):
    code = "import django; django.setup(); from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS)"
    result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR,
                            env=production_env(tmp_path, SECURE_HSTS_SECONDS="3600"),
                            capture_output=True, text=True, timeout=120)

    assert result.stdout.strip().splitlines()[-1] == "3600"


def test_passwords_need_twelve_characters_and_must_not_be_common():
    from django.contrib.auth.password_validation import validate_password

    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Xk9#mQ2$vL")
    with pytest.raises(ValidationError, match="too common"):
        validate_password("password1234")
    validate_password("correct horse battery staple")  # long and not on the list


@pytest.mark.django_db
def test_session_cookie_is_httponly_lax_and_lasts_one_idle_working_day(client, seller):
    response = sign_in(client, seller.username, PASSWORD)

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


@pytest.mark.django_db
def test_an_active_session_is_renewed_every_few_minutes_not_on_every_request(client, seller):
    from django.contrib.sessions.models import Session

    sign_in(client, seller.username, PASSWORD)
    key = client.session.session_key

    quiet = client.get(reverse("crm:home"))  # just signed in: nothing to renew
    assert settings.SESSION_COOKIE_NAME not in quiet.cookies

    session = client.session
    session["salesflow_renewed_at"] -= settings.SALESFLOW_SESSION_RENEW_SECONDS + 1
    session.save()
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + dt.timedelta(hours=1))

    renewed = client.get(reverse("crm:home"))

    assert renewed.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE
    expires = Session.objects.get(session_key=key).expire_date
    assert expires > timezone.now() + dt.timedelta(hours=7, minutes=59)


@pytest.mark.django_db
def test_an_idle_session_has_expired(client, seller):
    from django.contrib.sessions.models import Session

    sign_in(client, seller.username, PASSWORD)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )

    response = client.get(reverse("crm:home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Content-Security-Policy ---------------------------------------------------------------------


def csp_directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.django_db
def test_every_page_carries_a_strict_content_security_policy(seller_client):
    response = seller_client.get(reverse("crm:home"))

    directives = csp_directives(response)
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.django_db
def test_admin_may_use_inline_styles_but_never_inline_scripts(admin_client):
    response = admin_client.get("/admin/")

    directives = csp_directives(response)
    assert "'unsafe-inline'" in directives["style-src"]
    assert directives["script-src"] == "'self'"


BROWSER_TEMPLATES = [p for p in (BASE_DIR / "templates").rglob("*.html") if "pdf" not in p.relative_to(BASE_DIR).parts]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)


@pytest.mark.parametrize("template", BROWSER_TEMPLATES, ids=lambda p: str(p.relative_to(BASE_DIR / "templates")))
def test_templates_have_no_inline_script_handlers_or_styles(template):
    source = template.read_text()

    # A JSON data block (type="application/json") is not executed and would be allowed.
    scripts = [m.group(0) for m in INLINE_SCRIPT.finditer(source) if "application/json" not in m.group(0)]
    assert scripts == []
    assert EVENT_HANDLER.findall(source) == []
    assert STYLE_ATTRIBUTE.findall(source) == []


@pytest.mark.django_db
def test_htmx_is_told_not_to_inject_its_indicator_styles(seller_client):
    body = seller_client.get(reverse("crm:home")).content.decode()

    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', body)
    assert config is not None
    assert json.loads(config.group(1))["includeIndicatorStyles"] is False


# --- login throttling ----------------------------------------------------------------------------


def sign_in(client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def throttle_key(username: str) -> str:
    return f"sf-throttle:login:user:{username}"


@pytest.mark.django_db
def test_five_failures_throttle_even_the_right_password_with_a_clear_message(client, seller):
    for _ in range(settings.SALESFLOW_LOGIN_FAILURES_PER_USER):
        assert sign_in(client, seller.username, "wrong-password").status_code == 200

    response = sign_in(client, seller.username, PASSWORD)

    assert response.status_code == 429
    assert "Too many failed sign-in attempts. Try again in 1 minute." in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_after_the_cool_off_the_user_can_sign_in_and_the_counter_resets(client, seller):
    for _ in range(settings.SALESFLOW_LOGIN_FAILURES_PER_USER):
        sign_in(client, seller.username, "wrong-password")
    state = cache.get(throttle_key(seller.username))
    # Time passes: the cool-off ended a second ago.
    import time

    cache.set(throttle_key(seller.username), {**state, "locked_until": time.time() - 1})

    response = sign_in(client, seller.username, PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(seller.pk)
    assert cache.get(throttle_key(seller.username)) is None


@pytest.mark.django_db
def test_cool_off_doubles_per_further_failure_and_is_capped(client, seller):
    import time

    limit = settings.SALESFLOW_LOGIN_FAILURES_PER_USER
    waits = []
    for _ in range(limit + 6):
        sign_in(client, seller.username, "wrong-password")
        state = cache.get(throttle_key(seller.username))
        waits.append(round(state["locked_until"] - time.time()))
        # End the cool-off so the next attempt is checked (and counted) again.
        cache.set(throttle_key(seller.username), {**state, "locked_until": time.time() - 1})

    assert waits[: limit - 1] == [0] * (limit - 1)
    assert waits[limit - 1 :] == [60, 120, 240, 480, 900, 900, 900]  # 15 minutes at most, never forever


@pytest.mark.django_db
def test_attempts_during_the_cool_off_do_not_extend_it(client, seller):
    for _ in range(settings.SALESFLOW_LOGIN_FAILURES_PER_USER):
        sign_in(client, seller.username, "wrong-password")
    before = cache.get(throttle_key(seller.username))

    for _ in range(10):
        sign_in(client, seller.username, "wrong-password")

    assert cache.get(throttle_key(seller.username)) == before


@pytest.mark.django_db
def test_many_failures_from_one_address_throttle_other_usernames_too(client, seller):
    for n in range(settings.SALESFLOW_LOGIN_FAILURES_PER_IP):
        sign_in(client, f"guess{n}", "wrong-password")

    response = sign_in(client, seller.username, PASSWORD)

    assert response.status_code == 429
    assert throttle_wait_seconds(scope="login", username="someone-else", ip="127.0.0.1") > 0


@pytest.mark.django_db
def test_a_throttled_username_does_not_affect_another_user(client, seller, teammate):
    for _ in range(settings.SALESFLOW_LOGIN_FAILURES_PER_USER):
        sign_in(client, seller.username, "wrong-password")

    response = sign_in(client, teammate.username, PASSWORD)

    assert response.status_code == 302


# --- uploads -------------------------------------------------------------------------------------


def test_upload_with_wrong_extension_is_refused():
    with pytest.raises(ValidationError, match="not an accepted file type"):
        validate_upload(SimpleUploadedFile("leads.exe", b"MZ\x90\x00"), extensions=["csv", "xlsx"])


def test_binary_renamed_to_csv_is_refused_by_content():
    with pytest.raises(ValidationError, match="does not look like a .csv file"):
        validate_upload(SimpleUploadedFile("leads.csv", b"MZ\x90\x00\x03\x00\x00\x00"), extensions=["csv"])


def test_text_renamed_to_xlsx_is_refused_by_content():
    with pytest.raises(ValidationError, match="does not look like a .xlsx file"):
        validate_upload(SimpleUploadedFile("leads.xlsx", b"Name;Email\nAda;ada@example.com\n"), extensions=["xlsx"])


def test_upload_over_the_limit_is_refused():
    with pytest.raises(ValidationError, match="files up to 1 MB"):
        validate_upload(SimpleUploadedFile("a.csv", b"x" * (1024 * 1024 + 1)), extensions=["csv"],
                        max_bytes=1024 * 1024)


@pytest.mark.django_db
def test_lead_import_form_shows_an_error_for_a_disguised_file_and_stores_nothing(seller_client):
    upload = SimpleUploadedFile("leads.csv", b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00", content_type="text/csv")

    response = seller_client.post(reverse("leads:import"), {"file": upload})

    assert response.status_code == 200
    assert "does not look like a .csv file" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_lead_import_form_refuses_a_pdf(seller_client):
    upload = SimpleUploadedFile("leads.pdf", b"%PDF-1.7\n", content_type="application/pdf")

    response = seller_client.post(reverse("leads:import"), {"file": upload})

    assert "not an accepted file type" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_request_body_over_the_limit_is_refused_before_the_view(seller_client):
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = seller_client.post(reverse("leads:quick"), {"notes": big})

    assert response.status_code == 400


# --- error pages and logs ------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(DEBUG=False, ROOT_URLCONF="tests.crm.error_urls")
@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/boom/", 500, "Something went wrong on our side."),
        ("/boom-sql/", 500, "Something went wrong on our side."),
        ("/bad-request/", 400, None),
        ("/forbidden/", 403, None),
        ("/no-such-page/", 404, "Page not found"),
    ],
)
def test_error_pages_are_friendly_and_leak_nothing(client, seller, path, status, text):
    client.force_login(seller)
    client.raise_request_exception = False

    response = client.get(path)

    assert response.status_code == status
    body = response.content.decode()
    assert "<html" in body.lower()
    if text:
        assert text in body
    for leak in ("Traceback", "secret-detail", "no_such_table", "SELECT", "File \"", "settings.py"):
        assert leak not in body


def test_json_log_lines_carry_time_level_logger_message_and_request_context():
    record = logging.LogRecord("salesflow.test", logging.WARNING, __file__, 1, "invoice %s failed", ("R-1",), None)
    record.invoice_id = 7
    request = RequestFactory().post("/invoices/7/")
    request._cached_user = SimpleNamespace(pk=42, is_authenticated=True)
    token = request_context.set({"request": request})
    try:
        RequestContextFilter().filter(record)
    finally:
        request_context.reset(token)

    line = JsonLogFormatter().format(record)

    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "salesflow.test"
    assert entry["message"] == "invoice R-1 failed"
    assert entry["path"] == "/invoices/7/"
    assert entry["user_id"] == 42
    assert entry["invoice_id"] == 7
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])


def test_json_log_keeps_the_traceback_in_one_line():
    try:
        raise RuntimeError("disk full")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "render failed", None, sys.exc_info())

    entry = json.loads(JsonLogFormatter().format(record))

    assert "RuntimeError: disk full" in entry["exception"]


def test_production_logs_are_json_lines(tmp_path):
    code = "import django, logging; django.setup(); logging.getLogger('salesflow.x').warning('hello %s', 'ops')"
    result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=production_env(tmp_path),
                            capture_output=True, text=True, timeout=120)

    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["message"] == "hello ops"
    assert entry["level"] == "WARNING"


@pytest.mark.django_db
@override_settings(DEBUG=False, ROOT_URLCONF="tests.crm.error_urls")
def test_a_server_error_is_logged_with_its_path_and_user(client, seller, caplog):
    client.force_login(seller)
    client.raise_request_exception = False
    caplog.handler.addFilter(RequestContextFilter())  # as the console handler has it

    with caplog.at_level(logging.ERROR, logger="django.request"):
        client.get("/boom/")

    record = next(r for r in caplog.records if r.name == "django.request")
    entry = json.loads(JsonLogFormatter().format(record))
    assert entry["path"] == "/boom/"
    assert entry["user_id"] == seller.pk
    assert "secret-detail" in entry["exception"]  # the detail goes to the log, not to the browser


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.2"),  # no proxy configured: the header is the client's word, ignored
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # the entry our proxy added, not the spoofed one
        (2, "198.51.100.7, 203.0.113.9", "198.51.100.7"),
        (1, "", "10.0.0.2"),
    ],
)
def test_client_address_believes_only_our_own_proxies(settings, proxies, forwarded, expected):
    from crm.security import client_ip

    settings.SALESFLOW_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected
