"""In a real browser: a kanban drop across a stage gate is refused on the card, then goes through once met."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from opportunities.models import Opportunity, StageChange
from opportunities.selectors import pipeline_stages
from opportunities.services import opportunity_update
from tests import factories
from tests.e2e.test_full_flow import drag_card

PASSWORD = "pw-for-tests-123"

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
expect.set_options(timeout=15_000)


@pytest.fixture
def seller(db):
    team = factories.TeamFactory(name="Gatekeepers")
    user = factories.UserFactory(role="seller", first_name="Gina", last_name="Gate")
    team.members.add(user)
    return user


def log_in(page: Page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def drag(page: Page, opp: Opportunity, to_column: int):
    card = page.get_by_test_id("column").nth(0).locator(f'.kanban-card[data-id="{opp.pk}"]')
    target = page.get_by_test_id("column").nth(to_column).locator(".kanban-cards")
    with page.expect_response(lambda r: r.url.endswith(f"/opportunities/{opp.pk}/move/")) as move:
        drag_card(card, target)
    expect(page.get_by_test_id("board")).not_to_have_attribute("aria-busy", "true")
    return move.value


def test_a_drop_across_an_unmet_gate_is_refused_on_the_card(page: Page, shot, seller) -> None:
    first = pipeline_stages(None)[0]
    first.required_fields = ["budget_confirmed"]
    first.save()
    opp = factories.opportunity(owner=seller, company="Gate Co")
    log_in(page, seller)

    page.goto("/opportunities/board/")
    columns = page.get_by_test_id("column")
    expect(columns.nth(0).get_by_test_id("count")).to_have_text("1")  # the totals request has answered
    refused = drag(page, opp, 1)

    assert refused.status == 409
    card = columns.nth(0).locator(f'.kanban-card[data-id="{opp.pk}"]')
    expect(card).to_be_visible()  # rolled back to where it came from
    expect(card.get_by_role("alert")).to_contain_text("Budget confirmed")
    assert StageChange.objects.filter(opportunity=opp).count() == 1
    shot("refused-on-the-card")

    page.get_by_role("link", name=opp.name).click()  # the record page names the unmet criterion too
    expect(page.get_by_test_id("criteria").locator('[data-met="false"]')).to_contain_text("Budget confirmed")
    shot("record-page-criteria")
    page.go_back()

    opportunity_update(opportunity=opp, actor=seller, budget_confirmed=True)
    page.reload()
    # As before the first drag: once the totals request has answered, the board's scripts are ready.
    expect(page.get_by_test_id("column").nth(0).get_by_test_id("count")).to_have_text("1")
    assert drag(page, opp, 1).status == 200
    expect(page.get_by_test_id("column").nth(1).locator(f'.kanban-card[data-id="{opp.pk}"]')).to_be_visible()
    expect(page.get_by_test_id("column").nth(1).get_by_test_id("count")).to_have_text("1")
    opp.refresh_from_db()
    assert opp.stage == pipeline_stages(None)[1]
    shot("moved-once-met")


def test_the_board_does_not_shift_under_the_pointer_when_its_sums_arrive(page: Page, seller) -> None:
    opp = factories.opportunity(owner=seller, company="Steady Co")
    log_in(page, seller)
    held = []  # the column sums' request, answered only once the card has been measured
    page.route(re.compile(r"/opportunities/board/totals/"), lambda route: held.append(route))

    page.goto("/opportunities/board/")
    card = page.get_by_test_id("column").nth(0).locator(f'.kanban-card[data-id="{opp.pk}"]')
    expect(card).to_be_visible()
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    before = card.bounding_box()
    held[0].continue_()
    expect(page.get_by_test_id("column").nth(0).get_by_test_id("count")).to_have_text("1")

    assert card.bounding_box() == before
