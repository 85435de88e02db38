"""The public web-to-lead endpoint: form and JSON posts, honeypot, rate limit, strict validation, admin snippet."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from leads.models import AssignmentRule, Lead, LeadSource, WebForm
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def web_form(seller, team):
    return WebForm.objects.create(name="Contact us", default_owner=seller, team=team,
                                  thank_you_url="https://example.com/thanks")


def url(form) -> str:
    return reverse("leads:web_to_lead", args=[form.token])


def test_form_post_creates_lead_with_utm_and_redirects_to_thank_you(client, web_form, seller):
    response = client.post(url(web_form), {
        "first_name": "Ada", "last_name": "Lovelace", "email": "ADA@Example.com", "company": "Analytical",
        "notes": "Please call", "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring",
        "website_url": "",
    })

    assert response.status_code == 303 and response["Location"] == "https://example.com/thanks"
    lead = Lead.objects.get()
    assert (lead.email, lead.source, lead.owner, lead.utm_source, lead.utm_medium, lead.utm_campaign) == (
        "ada@example.com", LeadSource.WEBSITE, seller, "newsletter", "email", "spring")
    assert lead.number and lead.score > 0


def test_json_post_returns_201(client, web_form):
    response = client.post(url(web_form), json.dumps({"last_name": "Hopper", "email": "grace@example.com"}),
                           content_type="application/json")

    assert response.status_code == 201 and response.json() == {"status": "ok"}
    assert response["Access-Control-Allow-Origin"] == "*"
    assert Lead.objects.get().last_name == "Hopper"


def test_form_post_without_thank_you_url_shows_a_page(client, web_form):
    web_form.thank_you_url = ""
    web_form.save()

    response = client.post(url(web_form), {"last_name": "Hopper"})

    assert response.status_code == 201 and "Thank you" in response.content.decode()


def test_validation_errors_are_400_json_and_nothing_is_created(client, web_form):
    response = client.post(url(web_form), json.dumps({"email": "not-an-email", "favourite_colour": "blue"}),
                           content_type="application/json")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"last_name", "email", "favourite_colour"}
    assert "Unknown field" in errors["favourite_colour"][0]
    assert not Lead.objects.exists()


def test_malformed_json_and_non_object_are_400(client, web_form):
    assert client.post(url(web_form), "{nope", content_type="application/json").status_code == 400
    assert client.post(url(web_form), "[1, 2]", content_type="application/json").status_code == 400
    nested = client.post(url(web_form), json.dumps({"last_name": {"x": 1}}), content_type="application/json")
    assert nested.status_code == 400
    assert not Lead.objects.exists()


def test_huge_field_is_refused(client, web_form):
    response = client.post(url(web_form), {"last_name": "x" * 500})

    assert response.status_code == 400 and "last_name" in response.json()["errors"]


def test_honeypot_looks_like_success_but_creates_nothing(client, web_form):
    response = client.post(url(web_form), {"last_name": "Bot", "website_url": "http://spam.example"})

    assert response.status_code == 303
    assert not Lead.objects.exists()


def test_wrong_or_inactive_token_is_404(client, web_form):
    assert client.post(reverse("leads:web_to_lead", args=["nope"]), {"last_name": "X"}).status_code == 404
    web_form.active = False
    web_form.save()
    assert client.post(url(web_form), {"last_name": "X"}).status_code == 404
    assert not Lead.objects.exists()


def test_too_many_requests_from_one_ip_are_429(client, web_form, settings):
    for i in range(10):
        assert client.post(url(web_form), {"last_name": f"L{i}"}, REMOTE_ADDR="10.0.0.1").status_code == 303

    response = client.post(url(web_form), {"last_name": "Eleventh"}, REMOTE_ADDR="10.0.0.1")

    assert response.status_code == 429 and "Too many requests" in response.json()["error"]
    assert response["Retry-After"] == "60"
    assert Lead.objects.count() == 10
    assert client.post(url(web_form), {"last_name": "Other IP"}, REMOTE_ADDR="10.0.0.2").status_code == 303


def test_get_is_not_allowed_and_csrf_is_not_required(client, web_form):
    from django.test import Client

    assert client.get(url(web_form)).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url(web_form), {"last_name": "NoCsrf"}).status_code == 303


def test_required_and_allowed_fields_of_the_form(client, web_form):
    web_form.allowed_fields = ["email"]
    web_form.required_fields = ["email"]
    web_form.save()

    response = client.post(url(web_form), {"last_name": "X", "company": "ACME"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email", "company"}


def test_without_default_owner_the_assignment_rule_round_robins_and_notifies(
    client, team, seller, teammate, django_capture_on_commit_callbacks
):
    form = WebForm.objects.create(name="Site", team=team)
    AssignmentRule.objects.create(name="Website leads", team=team)

    with django_capture_on_commit_callbacks(execute=True):
        for name in ("First", "Second", "Third"):
            client.post(url(form), {"last_name": name})

    owners = [Lead.objects.get(last_name=n).owner for n in ("First", "Second", "Third")]
    members = sorted([seller, teammate], key=lambda u: u.pk)
    assert owners == [members[0], members[1], members[0]]
    assert len(mail.outbox) == 3 and "New lead for you" in mail.outbox[0].subject


def test_admin_change_page_shows_the_html_snippet(admin_client, web_form):
    page = admin_client.get(reverse("admin:leads_webform_change", args=[web_form.pk])).content.decode()

    assert f"/leads/web-to-lead/{web_form.token}/" in page
    assert "website_url" in page and "&lt;form method=&quot;post&quot;" in page


def test_admin_can_create_a_web_form(admin_client, seller):
    response = admin_client.post(reverse("admin:leads_webform_add"), {
        "name": "Landing page", "active": "on", "default_source": "website", "default_owner": seller.pk,
        "allowed_fields": ["email", "company"], "required_fields": [], "thank_you_url": "",
    })

    assert response.status_code == 302
    assert WebForm.objects.get().fields == ["last_name", "email", "company"]


def test_score_breakdown_and_factories_unaffected(seller):
    lead = factories.lead(owner=seller, email="a@b.example", company="X", title="Head of IT", source="referral")
    assert lead.score == 20 + 10 + 10 + 15
