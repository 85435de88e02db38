"""Stage exit criteria: the same gate on every path (service, kanban drop, record form, admin, create)."""

from datetime import date

import pytest
from django.urls import reverse

from crm.workflow import DomainError
from opportunities.models import ChecklistTick, Opportunity, Stage, StageChange, StageChecklistItem
from opportunities.selectors import pipeline_stages
from opportunities.services import (
    opportunity_checklist_tick,
    opportunity_committee_add,
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
)
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def gated(db) -> list[Stage]:
    """The default pipeline, with a gate on its first stage: close date, budget confirmed, a decision maker."""
    stages = pipeline_stages(None)
    first = stages[0]
    first.required_fields = ["expected_close_date", "budget_confirmed", "decision_maker"]
    first.save()
    return stages


def changes(opp: Opportunity) -> int:
    return StageChange.objects.filter(opportunity=opp).count()


def meet_first_gate(opp: Opportunity, seller) -> Opportunity:
    opp = opportunity_update(opportunity=opp, actor=seller, expected_close_date=date(2030, 1, 31),
                             budget_confirmed=True)
    opportunity_committee_add(opportunity=opp, contact=opp.contact, role="decision_maker", actor=seller)
    return opp


# --- service -----------------------------------------------------------------------------------------------

def test_moving_forward_past_an_unmet_gate_lists_what_is_missing_and_writes_nothing(seller, gated):
    opp = factories.opportunity(owner=seller)

    with pytest.raises(DomainError) as refused:
        opportunity_move_stage(opportunity=opp, stage=gated[1], actor=seller)

    message = str(refused.value)
    assert "New" in message
    assert "An expected close date" in message and "Budget confirmed" in message
    assert "A decision maker identified" in message
    opp.refresh_from_db()
    assert opp.stage == gated[0] and changes(opp) == 1


def test_the_gate_opens_once_every_criterion_is_met(seller, gated):
    opp = meet_first_gate(factories.opportunity(owner=seller), seller)

    opp = opportunity_move_stage(opportunity=opp, stage=gated[1], actor=seller)

    assert opp.stage == gated[1]


def test_skipping_stages_passes_every_gate_on_the_way(seller, gated):
    second = gated[1]
    second.requires_quote_sent = True
    second.save()
    opp = meet_first_gate(factories.opportunity(owner=seller), seller)

    with pytest.raises(DomainError, match="Qualification.*A quote sent to the customer"):
        opportunity_move_stage(opportunity=opp, stage=gated[3], actor=seller)


def test_moving_backward_is_always_allowed(seller, gated):
    opp = meet_first_gate(factories.opportunity(owner=seller), seller)
    opp = opportunity_move_stage(opportunity=opp, stage=gated[2], actor=seller)
    opp = opportunity_update(opportunity=opp, actor=seller, budget_confirmed=False)  # the gate would now say no

    opp = opportunity_move_stage(opportunity=opp, stage=gated[0], actor=seller)

    assert opp.stage == gated[0]


def test_checklist_items_must_be_ticked(seller):
    first, second = pipeline_stages(None)[:2]
    item = StageChecklistItem.objects.create(stage=first, label="NDA signed")
    opp = factories.opportunity(owner=seller)

    with pytest.raises(DomainError, match="NDA signed"):
        opportunity_move_stage(opportunity=opp, stage=second, actor=seller)

    opportunity_checklist_tick(opportunity=opp, item=item, actor=seller, done=True)
    opportunity_checklist_tick(opportunity=opp, item=item, actor=seller, done=True)  # idempotent
    assert ChecklistTick.objects.filter(opportunity=opp).count() == 1
    assert opportunity_move_stage(opportunity=opp, stage=second, actor=seller).stage == second


def test_a_quote_must_have_been_sent_draft_is_not_enough(seller):
    first, second = pipeline_stages(None)[:2]
    first.requires_quote_sent = True
    first.save()
    draft = factories.quote(owner=seller)

    with pytest.raises(DomainError, match="A quote sent to the customer"):
        opportunity_move_stage(opportunity=draft.opportunity, stage=second, actor=seller)

    sent = factories.quote(owner=seller, sent=True)
    assert opportunity_move_stage(opportunity=sent.opportunity, stage=second, actor=seller).stage == second


def test_creating_a_deal_directly_in_a_later_stage_passes_the_gates(seller, gated):
    account = factories.AccountFactory()

    with pytest.raises(DomainError, match="An expected close date"):
        opportunity_create(actor=seller, account=account, name="Jump", stage=gated[2])

    assert not Opportunity.objects.filter(name="Jump").exists()


# --- seller UI ---------------------------------------------------------------------------------------------

def test_kanban_drop_across_a_gate_is_refused_with_the_message_for_the_card(seller_client, seller, gated):
    opp = factories.opportunity(owner=seller)

    response = seller_client.post(reverse("opportunities:move", args=[opp.pk]), {"stage": gated[1].pk}, **HTMX)

    assert response.status_code == 409
    assert "Budget confirmed" in response.content.decode()
    opp.refresh_from_db()
    assert opp.stage == gated[0] and changes(opp) == 1


def test_stage_select_of_the_record_page_is_refused_with_a_flash(seller_client, seller, gated):
    opp = factories.opportunity(owner=seller)

    response = seller_client.post(reverse("opportunities:move", args=[opp.pk]), {"stage": gated[1].pk}, follow=True)

    assert "Budget confirmed" in response.content.decode()
    opp.refresh_from_db()
    assert opp.stage == gated[0]


def test_edit_form_with_a_later_stage_is_refused_and_saves_nothing(seller_client, seller, gated):
    opp = factories.opportunity(owner=seller)

    response = seller_client.post(
        reverse("opportunities:edit", args=[opp.pk]),
        {"account": opp.account_id, "name": "Renamed", "amount_0": "1000.00", "amount_1": "EUR",
         "stage": gated[1].pk},
        follow=True,
    )

    assert "An expected close date" in response.content.decode()
    opp.refresh_from_db()
    assert (opp.stage, opp.name) == (gated[0], "Acme GmbH deal".replace("Acme", "ACME"))


def test_record_page_shows_the_checklist_and_unmet_criteria(seller_client, seller, gated):
    StageChecklistItem.objects.create(stage=gated[0], label="Discovery call held")
    gated[0].guidance = "Ask about the budget owner."
    gated[0].save()
    opp = factories.opportunity(owner=seller)

    content = seller_client.get(reverse("opportunities:detail", args=[opp.pk])).content.decode()

    assert "Discovery call held" in content and "Ask about the budget owner." in content
    assert content.count('data-met="false"') == 4  # three facts and the unticked item


def test_ticking_a_checklist_item_from_the_record_page(seller_client, seller):
    item = StageChecklistItem.objects.create(stage=pipeline_stages(None)[0], label="NDA signed")
    opp = factories.opportunity(owner=seller)

    response = seller_client.post(reverse("opportunities:checklist_tick", args=[opp.pk, item.pk]), {"done": "on"},
                                  **HTMX)

    assert response.status_code == 200 and 'data-met="true"' in response.content.decode()
    assert ChecklistTick.objects.filter(opportunity=opp, item=item).exists()
    seller_client.post(reverse("opportunities:checklist_tick", args=[opp.pk, item.pk]), {"done": ""})
    assert not ChecklistTick.objects.exists()


# --- admin -------------------------------------------------------------------------------------------------

def admin_data(opp: Opportunity, **changes) -> dict:
    data = {
        "name": opp.name, "account": opp.account_id, "contact": opp.contact_id or "", "amount_0": "1000.00",
        "amount_1": "EUR", "expected_close_date": "", "description": "", "owner": opp.owner_id,
        "team": opp.team_id or "", "stage": opp.stage_id, "requirements": "", "budget_0": "", "budget_1": "EUR",
        "swot_strengths": "", "swot_weaknesses": "", "swot_opportunities": "", "swot_threats": "",
        "stage_changes-TOTAL_FORMS": "0", "stage_changes-INITIAL_FORMS": "0",
    }
    return {**data, **changes}


def test_admin_stage_change_is_refused_next_to_the_field(admin_client, seller, gated):
    opp = factories.opportunity(owner=seller)
    url = reverse("admin:opportunities_opportunity_change", args=[opp.pk])

    response = admin_client.post(url, admin_data(opp, stage=gated[1].pk))

    assert response.status_code == 200  # the form again, with the error
    assert "Budget confirmed" in response.content.decode()
    opp.refresh_from_db()
    assert opp.stage == gated[0] and changes(opp) == 1


def test_admin_stage_change_goes_through_when_the_gate_is_open(admin_client, seller):
    opp = factories.opportunity(owner=seller)
    second = pipeline_stages(None)[1]
    url = reverse("admin:opportunities_opportunity_change", args=[opp.pk])

    response = admin_client.post(url, admin_data(opp, stage=second.pk))

    assert response.status_code == 302, response.content.decode()[:3000]
    opp.refresh_from_db()
    assert opp.stage == second and changes(opp) == 2


def test_admin_stage_page_configures_criteria(admin_client):
    stage = pipeline_stages(None)[0]

    content = admin_client.get(reverse("admin:opportunities_stage_change", args=[stage.pk])).content.decode()

    assert 'value="budget_confirmed"' in content and "requires_quote_sent" in content and "checklist" in content


def test_stage_documents_are_listed_on_the_deal_and_served_to_signed_in_users(seller_client, seller):
    from django.core.files.base import ContentFile
    from django.test import Client

    from opportunities.models import StageDocument

    document = StageDocument(stage=pipeline_stages(None)[0], title="Discovery questionnaire")
    document.file.save("questions.txt", ContentFile(b"1. Who decides?"))
    opp = factories.opportunity(owner=seller)

    page = seller_client.get(reverse("opportunities:detail", args=[opp.pk])).content.decode()
    download = seller_client.get(document.get_absolute_url())

    assert "Discovery questionnaire" in page
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"1. Who decides?"
    assert Client().get(document.get_absolute_url()).status_code == 302  # anonymous: to the login page
