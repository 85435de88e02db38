"""The qualify page on a 375 px phone, by keyboard: pick the matching account, merge one field, convert."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crm.models import Account
from opportunities.models import Opportunity
from tests import factories

PASSWORD = "pw-for-tests-123"

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_link_and_merge_on_a_phone_by_keyboard(browser, live_server) -> None:
    team = factories.TeamFactory(name="Field sales")
    user = factories.UserFactory(role="seller", first_name="Fiona", last_name="Field")
    team.members.add(user)
    account = factories.AccountFactory(
        name="Analytical Engines Ltd", vat_id="GB 123 4567 89", phone="+44 20 1111 1111", domain="", owner=user,
        team=team,
    )
    lead = factories.lead(
        owner=user, first_name="Ada", last_name="Lovelace", company="Analytical Engines",
        email="ada@gmail.com", vat_id="gb123456789", phone="+44 20 2222 2222",
    )
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

        page.goto(f"/leads/{lead.pk}/qualify/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        link = page.get_by_label("Link to Analytical Engines Ltd")
        expect(link).to_be_checked()  # the VAT match is the default
        accounts = page.get_by_test_id("account-choices")
        expect(accounts).to_contain_text("same VAT number GB123456789")
        merge = accounts.locator(".merge-table")
        expect(merge).to_be_visible()

        # By keyboard: to "create new" and back; the merge table follows the choice.
        link.focus()
        page.keyboard.press("ArrowUp")
        expect(page.get_by_label("Create new account “Analytical Engines”")).to_be_checked()
        expect(merge).to_be_hidden()
        page.keyboard.press("ArrowDown")
        expect(link).to_be_checked()
        expect(merge).to_be_visible()

        merge.get_by_label("+44 20 2222 2222").check()
        page.screenshot(path="artifacts/e2e/qualify-merge-375.png", full_page=True)
        page.get_by_role("button", name="Qualify and create opportunity").click()
        expect(page.get_by_role("alert").filter(has_text="Lead qualified.")).to_be_visible()

        opportunity = Opportunity.objects.get()
        assert opportunity.account == account
        assert Account.objects.count() == 1
        account.refresh_from_db()
        assert (account.name, account.phone) == ("Analytical Engines Ltd", "+44 20 2222 2222")
    finally:
        context.close()
