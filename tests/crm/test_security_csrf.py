"""CSRF on every state-changing request: walk the whole URL conf, so a new URL cannot be forgotten.

Every URL is posted to without a token by a signed-in superuser (so no login redirect hides the answer):
the answer must be 403. Exceptions are listed here by name, each with its reason; a view that accepts no
state change at all (405 even with a valid token, e.g. a read-only API endpoint) passes too.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from tests import factories

# Deliberately CSRF-exempt: public endpoints that authorise by their own token, not by a session cookie.
CSRF_EXEMPT = {
    "leads:web_to_lead": "a website's contact form posts cross-site; the per-form token authorises it",
}

SAMPLES = {"int": "1", "str": "sample", "slug": "sample", "uuid": str(uuid.uuid4()), "path": "sample/x"}
ADMIN_REGEX_SAMPLES = {"app_label": "crm", "object_id": "1", "content_type_id": "1", "url": "sample/"}


def _route_to_url(route: str) -> str:
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES[m.group(1) or "str"], route)


def _regex_to_url(regex: str) -> str:
    """Fill a regex route (the admin's) with sample values: named groups, then drop anchors/escapes."""
    def group(match: re.Match) -> str:
        return ADMIN_REGEX_SAMPLES.get(match.group(1), "1")

    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", group, regex)
    text = re.sub(r"\(\?:[^)]*\)\??", "", text)
    return text.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for entry in patterns:
        pattern = entry.pattern
        raw = pattern.regex.pattern if not hasattr(pattern, "_route") else None
        piece = _route_to_url(pattern._route) if hasattr(pattern, "_route") else _regex_to_url(raw)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + piece, ns)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}" if entry.name else None, "/" + prefix + piece


ALL_URLS = sorted({url: name for name, url in _walk(get_resolver().url_patterns)}.items(), key=lambda i: i[0])


def test_the_walk_finds_the_whole_url_conf():
    urls = dict(ALL_URLS)
    assert len(urls) > 50
    assert "/accounts/login/" in urls
    assert any(url.startswith("/admin/") for url in urls)
    for name in CSRF_EXEMPT:
        assert name in urls.values(), f"{name} is listed as exempt but no longer exists"


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "name"), ALL_URLS, ids=[url for url, _name in ALL_URLS])
def test_post_without_csrf_token_is_refused(url, name):
    resolve(url)  # the sample URL really reaches a view
    client = Client(enforce_csrf_checks=True)
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))

    response = client.post(url, {"anything": "1"})

    if name in CSRF_EXEMPT:
        assert response.status_code != 403 or b"CSRF" not in response.content
        return
    if response.status_code == 403:
        return
    # Not refused for CSRF: only acceptable for an endpoint that takes no POST at all.
    with_token = Client()
    with_token.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    assert with_token.post(url, {"anything": "1"}).status_code == 405, (
        f"{url} ({name}) accepted a POST without a CSRF token: {response.status_code}"
    )


@pytest.mark.django_db
def test_a_form_post_with_the_token_passes(client):
    user = factories.UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value

    response = client.post("/i18n/setlang/", {"language": "de", "csrfmiddlewaretoken": token})

    assert response.status_code == 302


@pytest.mark.django_db
def test_a_refused_form_gets_a_friendly_page():
    client = Client(enforce_csrf_checks=True)
    client.force_login(factories.UserFactory())

    response = client.post("/i18n/setlang/", {"language": "de"})

    assert response.status_code == 403
    assert "This form has expired." in response.content.decode()
