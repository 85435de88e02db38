"""leads.services: create, edit and every lead transition, allowed and forbidden."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_fsm_log.models import StateLog

from crm.models import Account, Contact, Sequence
from crm.workflow import DomainError, TransitionError
from leads.models import Lead, LeadState
from leads.services import lead_create, lead_disqualify, lead_recycle, lead_start_work, lead_update
from opportunities.models import Opportunity
from opportunities.services import opportunity_create_from_lead
from tests import factories

pytestmark = pytest.mark.django_db


def logs(lead: Lead) -> list[tuple[str, str, str]]:
    return list(
        StateLog.objects.for_(lead).order_by("pk").values_list("transition", "source_state", "state")
    )


def working(owner) -> Lead:
    return lead_start_work(lead=factories.lead(owner=owner), actor=owner)


def disqualified(owner) -> Lead:
    return lead_disqualify(lead=factories.lead(owner=owner), actor=owner, reason="no_budget")


def qualified(owner) -> Lead:
    return opportunity_create_from_lead(lead=factories.lead(owner=owner), actor=owner).lead


# --- create -------------------------------------------------------------------------------------

def test_create_assigns_a_number_and_the_owners_team(seller, team):
    lead = lead_create(actor=seller, first_name="Ada", last_name="Lovelace", company="Engines Ltd")

    year = timezone.localdate().year
    assert lead.number == f"L-{year}-00001"
    assert lead.state == LeadState.NEW
    assert lead.owner == seller
    assert lead.team == team
    assert str(lead) == f"L-{year}-00001 · Ada Lovelace"
    assert factories.lead(owner=seller).number == f"L-{year}-00002"


def test_create_for_another_owner_takes_that_owners_team(seller, other_team_seller):
    lead = lead_create(actor=seller, owner=other_team_seller, last_name="Doe")
    assert lead.owner == other_team_seller
    assert lead.team.name == "Other team"


def test_create_with_an_explicit_team(seller):
    other = factories.TeamFactory(name="Inside sales")
    assert lead_create(actor=seller, last_name="Doe", team=other).team == other


def test_create_without_a_team_membership_leaves_team_empty():
    loner = factories.UserFactory(role="seller")
    assert lead_create(actor=loner, last_name="Doe").team is None


@pytest.mark.parametrize("fields", [{"last_name": ""}, {"last_name": "Doe", "email": "not-an-address"}])
def test_create_with_invalid_data_writes_nothing_and_takes_no_number(seller, fields):
    with pytest.raises(ValidationError):
        lead_create(actor=seller, **fields)

    assert not Lead.objects.exists()
    assert not Sequence.objects.filter(series="L").exists()


# --- update -------------------------------------------------------------------------------------

def test_update_changes_editable_fields(seller, teammate):
    lead = factories.lead(owner=seller)

    lead = lead_update(lead=lead, actor=seller, phone="+49 30 123", owner=teammate)

    lead.refresh_from_db()
    assert (lead.phone, lead.owner) == ("+49 30 123", teammate)


def test_update_of_a_working_or_disqualified_lead_is_allowed(seller):
    for lead in (working(seller), disqualified(seller)):
        assert lead_update(lead=lead, actor=seller, notes="still interesting").notes == "still interesting"


def test_update_of_a_qualified_lead_is_refused(seller):
    lead = qualified(seller)

    with pytest.raises(DomainError, match="qualified lead is closed"):
        lead_update(lead=lead, actor=seller, company="Renamed")

    lead.refresh_from_db()
    assert lead.company == "ACME GmbH"


def test_update_of_a_non_editable_field_is_refused(seller):
    lead = factories.lead(owner=seller)
    with pytest.raises(ValueError, match="number"):
        lead_update(lead=lead, actor=seller, number="L-1999-00001")
    lead.refresh_from_db()
    assert lead.number != "L-1999-00001"


def test_update_with_invalid_data_is_refused(seller):
    lead = factories.lead(owner=seller)
    with pytest.raises(ValidationError):
        lead_update(lead=lead, actor=seller, last_name="")
    lead.refresh_from_db()
    assert lead.last_name == "Doe"


# --- start work ---------------------------------------------------------------------------------

def test_start_work_moves_a_new_lead_to_working(seller):
    lead = lead_start_work(lead=factories.lead(owner=seller), actor=seller)

    assert lead.state == LeadState.WORKING
    assert logs(lead) == [("start_work", "new", "working")]


@pytest.mark.parametrize("make", [working, disqualified, qualified])
def test_start_work_is_refused_unless_new(seller, make):
    lead = make(seller)
    state, log_count = lead.state, len(logs(lead))

    with pytest.raises(TransitionError, match="Start working"):
        lead_start_work(lead=lead, actor=seller)

    lead.refresh_from_db()
    assert lead.state == state
    assert len(logs(lead)) == log_count


# --- disqualify ---------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda owner: factories.lead(owner=owner), working])
def test_disqualify_a_new_or_working_lead_with_a_reason(seller, make):
    lead = make(seller)
    source = lead.state

    lead = lead_disqualify(lead=lead, actor=seller, reason="competitor")

    assert lead.state == LeadState.DISQUALIFIED
    assert lead.disqualify_reason == "competitor"
    log = StateLog.objects.for_(lead).latest("pk")
    assert (log.source_state, log.state, log.by, log.description) == (
        source, "disqualified", seller, "Went with a competitor"
    )


@pytest.mark.parametrize("reason", ["", "because", "qualified"])
def test_disqualify_needs_a_valid_reason_and_writes_nothing_without(seller, reason):
    lead = factories.lead(owner=seller)

    with pytest.raises(DomainError, match="Choose why"):
        lead_disqualify(lead=lead, actor=seller, reason=reason)

    lead.refresh_from_db()
    assert (lead.state, lead.disqualify_reason) == (LeadState.NEW, "")
    assert logs(lead) == []


@pytest.mark.parametrize("make", [disqualified, qualified])
def test_disqualify_is_refused_for_a_closed_lead(seller, make):
    lead = make(seller)
    state = lead.state

    with pytest.raises(TransitionError, match="Disqualify"):
        lead_disqualify(lead=lead, actor=seller, reason="duplicate")

    lead.refresh_from_db()
    assert lead.state == state
    assert lead.disqualify_reason != "duplicate"


# --- recycle ------------------------------------------------------------------------------------

def test_recycle_brings_a_disqualified_lead_back_to_working(seller):
    lead = lead_recycle(lead=disqualified(seller), actor=seller)

    assert lead.state == LeadState.WORKING
    assert lead.disqualify_reason == ""
    assert logs(lead)[-1] == ("recycle", "disqualified", "working")


@pytest.mark.parametrize("make", [lambda owner: factories.lead(owner=owner), working, qualified])
def test_recycle_is_refused_unless_disqualified(seller, make):
    lead = make(seller)
    state, log_count = lead.state, len(logs(lead))

    with pytest.raises(TransitionError, match="Recycle"):
        lead_recycle(lead=lead, actor=seller)

    lead.refresh_from_db()
    assert lead.state == state
    assert len(logs(lead)) == log_count


def test_a_recycled_lead_can_be_qualified(seller):
    lead = lead_recycle(lead=disqualified(seller), actor=seller)
    opportunity = opportunity_create_from_lead(lead=lead, actor=seller)
    lead.refresh_from_db()
    assert lead.state == LeadState.QUALIFIED
    assert opportunity.lead == lead


# --- qualify (the conversion itself is tested in tests/opportunities) ---------------------------

def test_a_disqualified_lead_cannot_be_qualified(seller):
    lead = disqualified(seller)

    with pytest.raises(DomainError, match="cannot be qualified"):
        opportunity_create_from_lead(lead=lead, actor=seller)

    lead.refresh_from_db()
    assert lead.state == LeadState.DISQUALIFIED
    assert not Opportunity.objects.exists()
    assert not Account.objects.exists()
    assert not Contact.objects.exists()


def test_qualify_from_new_and_from_working(seller):
    for lead in (factories.lead(owner=seller), working(seller)):
        source = lead.state
        opportunity_create_from_lead(lead=lead, actor=seller)
        lead.refresh_from_db()
        assert lead.state == LeadState.QUALIFIED
        assert lead.qualified_at is not None
        assert logs(lead)[-1] == ("qualify", source, "qualified")
