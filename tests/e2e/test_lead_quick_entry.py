"""On a phone-sized screen (375 px): the quick lead entry fits without sideways scrolling and saves a lead."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from leads.models import Lead
from tests import factories

PASSWORD = "pw-for-tests-123"

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_quick_entry_on_a_375px_phone(browser, live_server) -> None:
    team = factories.TeamFactory(name="Field sales")
    user = factories.UserFactory(role="seller", first_name="Fiona", last_name="Field")
    team.members.add(user)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 375, "height": 740},
                                  locale="en-US", is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))

        page.goto("/leads/quick/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        expect(page.get_by_label("Name")).to_be_focused()
        page.get_by_label("Name").fill("Ada Lovelace")
        page.get_by_label("Company").fill("Analytical Engines")
        page.get_by_label("E-mail").fill("ada@analytical.example")
        page.get_by_role("button", name="Save lead").click()

        expect(page.get_by_text(re.compile(r"Lead L-\d{4}-\d{5} · Ada Lovelace saved\."))).to_be_visible()
        expect(page.get_by_label("Name")).to_have_value("")
        assert Lead.objects.get().owner == user
    finally:
        context.close()
