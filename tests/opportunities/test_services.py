"""opportunities.services: qualifying a lead (matching account and contact), the pipeline, win/lose/reopen."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_fsm_log.models import StateLog
from djmoney.money import Money

from crm.models import Account, Contact
from crm.workflow import DomainError, TransitionError
from leads.models import LeadState
from opportunities.models import Opportunity, OpportunityState, Stage, StageChange
from opportunities.selectors import pipeline_stages
from opportunities.services import (
    opportunity_create,
    opportunity_create_from_lead,
    opportunity_lose,
    opportunity_move_stage,
    opportunity_reopen,
    opportunity_update,
    opportunity_win,
)
from tests import factories

pytestmark = pytest.mark.django_db


def default_stages() -> list[Stage]:
    return pipeline_stages(None)


def won(owner) -> Opportunity:
    return opportunity_win(opportunity=factories.opportunity(owner=owner), actor=owner)


def lost(owner) -> Opportunity:
    return opportunity_lose(opportunity=factories.opportunity(owner=owner), actor=owner, reason="price")


def open_(owner) -> Opportunity:
    return factories.opportunity(owner=owner)


def log_count(record) -> int:
    return StateLog.objects.for_(record).count()


# --- qualify: lead → account + contact + opportunity ----------------------------------------------

def test_qualify_creates_account_contact_and_an_opportunity_in_the_first_stage(seller, team):
    lead = factories.lead(
        owner=seller, first_name="Ada", last_name="Lovelace", email="ada@engines.example",
        company="Engines Ltd", phone="+44 20 1234", title="CTO",
    )

    opportunity = opportunity_create_from_lead(lead=lead, actor=seller, amount=Decimal("1234.565"))

    account = Account.objects.get()
    assert (account.name, account.domain, account.owner, account.team) == (
        "Engines Ltd", "engines.example", seller, team
    )
    contact = Contact.objects.get()
    assert (contact.account, contact.first_name, contact.last_name, contact.email, contact.title) == (
        account, "Ada", "Lovelace", "ada@engines.example", "CTO"
    )
    first = default_stages()[0]
    assert opportunity.account == account
    assert opportunity.contact == contact
    assert opportunity.lead == lead
    assert opportunity.stage == first
    assert opportunity.probability == first.probability
    assert opportunity.state == OpportunityState.OPEN
    assert opportunity.owner == seller and opportunity.team == team
    assert opportunity.name == "Engines Ltd deal"
    assert opportunity.amount == Money("1234.57", "EUR")  # quantized half-up
    assert opportunity.number.startswith("O-")
    [change] = StageChange.objects.filter(opportunity=opportunity)
    assert (change.from_stage, change.to_stage, change.by) == (None, first, seller)
    lead.refresh_from_db()
    assert lead.state == LeadState.QUALIFIED
    assert opportunity.lead.state == LeadState.QUALIFIED


def test_qualify_with_a_name_currency_and_close_date(seller):
    close = timezone.localdate() + timedelta(days=30)
    opportunity = opportunity_create_from_lead(
        lead=factories.lead(owner=seller), actor=seller, name="Big one", amount=Decimal("500"), currency="USD",
        expected_close_date=close,
    )
    opportunity.refresh_from_db()
    assert (opportunity.name, opportunity.amount, opportunity.expected_close_date) == (
        "Big one", Money("500.00", "USD"), close
    )


def test_qualify_reuses_the_contact_with_the_same_email(seller):
    contact = factories.ContactFactory(email="jane@customer.example")
    accounts, contacts = Account.objects.count(), Contact.objects.count()
    lead = factories.lead(owner=seller, email="JANE@customer.example", company="Something else")

    opportunity = opportunity_create_from_lead(lead=lead, actor=seller)

    assert opportunity.contact == contact
    assert opportunity.account == contact.account
    assert (Account.objects.count(), Contact.objects.count()) == (accounts, contacts)


def test_qualify_reuses_the_account_with_the_same_company_domain(seller):
    account = factories.AccountFactory(domain="acme.example")
    lead = factories.lead(owner=seller, email="new.person@ACME.example", company="ACME Europe")

    opportunity = opportunity_create_from_lead(lead=lead, actor=seller)

    assert opportunity.account == account
    assert Account.objects.count() == 1
    assert opportunity.contact.account == account
    assert opportunity.contact.email == "new.person@ACME.example"


def test_qualify_matches_the_account_by_company_name_when_there_is_no_domain(seller):
    account = factories.AccountFactory(name="ACME GmbH", domain="")
    opportunity = opportunity_create_from_lead(lead=factories.lead(owner=seller, company=" acme gmbh "), actor=seller)
    assert opportunity.account == account


@pytest.mark.parametrize("address", ["jane@gmail.com", "jane@GMX.de", "jane@web.de"])
def test_qualify_does_not_match_accounts_by_free_mail_domains(seller, address):
    freemail_account = factories.AccountFactory(domain=address.rpartition("@")[2].lower())
    lead = factories.lead(owner=seller, email=address, company="Jane's Bakery")

    opportunity = opportunity_create_from_lead(lead=lead, actor=seller)

    assert opportunity.account != freemail_account
    assert opportunity.account.name == "Jane's Bakery"
    assert opportunity.account.domain == ""


def test_qualify_without_company_names_the_account_after_the_person(seller):
    lead = factories.lead(owner=seller, first_name="Jane", last_name="Doe", company="", email="jane@gmail.com")
    opportunity = opportunity_create_from_lead(lead=lead, actor=seller)
    assert opportunity.account.name == "Jane Doe"
    assert opportunity.account.email == "jane@gmail.com"


def test_qualify_twice_gives_one_opportunity(seller):
    lead = factories.lead(owner=seller)

    first = opportunity_create_from_lead(lead=lead, actor=seller)
    second = opportunity_create_from_lead(lead=lead, actor=seller)

    assert first == second
    assert Opportunity.objects.count() == 1
    assert Account.objects.count() == 1
    assert StageChange.objects.count() == 1
    assert StateLog.objects.for_(lead).count() == 1


def test_qualify_without_any_pipeline_stage_is_refused_and_writes_nothing(seller):
    Stage.objects.all().delete()
    lead = factories.lead(owner=seller)

    with pytest.raises(DomainError, match="no stages"):
        opportunity_create_from_lead(lead=lead, actor=seller)

    lead.refresh_from_db()
    assert lead.state == LeadState.NEW
    assert not Account.objects.exists()
    assert not Contact.objects.exists()
    assert StateLog.objects.for_(lead).count() == 0


def test_qualify_uses_the_teams_own_pipeline(seller, team):
    own = [Stage.objects.create(team=team, name=f"T{i}", order=i, probability=5 * i + 5) for i in range(2)]
    opportunity = factories.opportunity(owner=seller)
    assert opportunity.stage == own[0]
    assert opportunity.probability == 5


def test_create_directly_for_an_account(seller, team):
    account = factories.AccountFactory()
    opportunity = opportunity_create(actor=seller, account=account, name="Upsell", amount=Money("10.005", "EUR"))
    assert opportunity.lead is None
    assert opportunity.team == team
    assert opportunity.amount == Money("10.01", "EUR")
    assert StageChange.objects.filter(opportunity=opportunity, from_stage=None).count() == 1


# --- stages -------------------------------------------------------------------------------------

def test_move_stage_records_the_change_and_updates_the_probability(seller, teammate):
    opportunity = factories.opportunity(owner=seller)
    first, second, third = default_stages()[:3]

    opportunity = opportunity_move_stage(opportunity=opportunity, stage=third, actor=teammate)

    assert opportunity.stage == third
    assert opportunity.probability == third.probability
    change = StageChange.objects.filter(opportunity=opportunity).latest("pk")
    assert (change.from_stage, change.to_stage, change.by) == (first, third, teammate)

    opportunity = opportunity_move_stage(opportunity=opportunity, stage=second, actor=seller)  # back is allowed
    assert opportunity.stage == second
    assert StageChange.objects.filter(opportunity=opportunity).count() == 3


def test_moving_to_the_current_stage_records_nothing(seller):
    opportunity = factories.opportunity(owner=seller)
    opportunity_move_stage(opportunity=opportunity, stage=opportunity.stage, actor=seller)
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1


@pytest.mark.parametrize("make", [won, lost])
def test_moving_a_closed_deal_is_refused(seller, make):
    opportunity = make(seller)
    stage = opportunity.stage

    with pytest.raises(DomainError, match="only open deals move"):
        opportunity_move_stage(opportunity=opportunity, stage=default_stages()[2], actor=seller)

    opportunity.refresh_from_db()
    assert opportunity.stage == stage
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1


def test_moving_to_a_stage_of_another_teams_pipeline_is_refused(seller):
    foreign = Stage.objects.create(team=factories.TeamFactory(name="Other"), name="Their stage", order=1)
    opportunity = factories.opportunity(owner=seller)
    stage = opportunity.stage

    with pytest.raises(DomainError, match="not part of this deal's pipeline"):
        opportunity_move_stage(opportunity=opportunity, stage=foreign, actor=seller)

    opportunity.refresh_from_db()
    assert opportunity.stage == stage
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1


def test_update_with_a_new_stage_moves_it(seller):
    opportunity = factories.opportunity(owner=seller)
    target = default_stages()[1]
    opportunity = opportunity_update(opportunity=opportunity, actor=seller, name="Renamed", stage=target)
    assert (opportunity.name, opportunity.stage) == ("Renamed", target)
    assert StageChange.objects.filter(opportunity=opportunity).count() == 2


@pytest.mark.parametrize("make", [won, lost])
def test_update_of_a_closed_deal_is_refused(seller, make):
    opportunity = make(seller)
    with pytest.raises(DomainError, match="closed opportunity"):
        opportunity_update(opportunity=opportunity, actor=seller, name="Renamed")
    opportunity.refresh_from_db()
    assert opportunity.name != "Renamed"


# --- win / lose / reopen ------------------------------------------------------------------------

def test_win_closes_the_deal_at_full_probability(seller):
    opportunity = opportunity_win(opportunity=factories.opportunity(owner=seller), actor=seller)

    assert opportunity.state == OpportunityState.WON
    assert opportunity.probability == 100
    assert opportunity.closed_at is not None
    log = StateLog.objects.for_(opportunity).get()
    assert (log.source_state, log.state, log.by) == ("open", "won", seller)


@pytest.mark.parametrize("make", [won, lost])
def test_win_is_refused_unless_open(seller, make):
    opportunity = make(seller)
    state, logs = opportunity.state, log_count(opportunity)

    with pytest.raises(TransitionError, match="Mark won"):
        opportunity_win(opportunity=opportunity, actor=seller)

    opportunity.refresh_from_db()
    assert opportunity.state == state
    assert log_count(opportunity) == logs


def test_lose_needs_a_reason_and_records_it(seller):
    opportunity = opportunity_lose(
        opportunity=factories.opportunity(owner=seller), actor=seller, reason="competitor", note="went with X"
    )

    assert opportunity.state == OpportunityState.LOST
    assert (opportunity.lost_reason.code, opportunity.lost_note) == ("competitor", "went with X")
    assert opportunity.probability == 0
    assert opportunity.closed_at is not None
    assert StateLog.objects.for_(opportunity).get().description == "Lost to a competitor"


@pytest.mark.parametrize("reason", ["", "bad luck"])
def test_lose_without_a_valid_reason_is_refused_and_writes_nothing(seller, reason):
    opportunity = factories.opportunity(owner=seller)

    with pytest.raises(DomainError, match="Choose why"):
        opportunity_lose(opportunity=opportunity, actor=seller, reason=reason)

    opportunity.refresh_from_db()
    assert opportunity.state == OpportunityState.OPEN
    assert log_count(opportunity) == 0


@pytest.mark.parametrize("make", [won, lost])
def test_lose_is_refused_unless_open(seller, make):
    opportunity = make(seller)
    state = opportunity.state
    with pytest.raises(TransitionError, match="Mark lost"):
        opportunity_lose(opportunity=opportunity, actor=seller, reason="other")
    opportunity.refresh_from_db()
    assert opportunity.state == state


def test_reopen_brings_a_lost_deal_back_at_its_stage_probability(seller, manager):
    opportunity = lost(seller)

    opportunity = opportunity_reopen(opportunity=opportunity, actor=manager)

    assert opportunity.state == OpportunityState.OPEN
    assert opportunity.probability == opportunity.stage.probability
    assert (opportunity.closed_at, opportunity.lost_reason) == (None, None)
    assert StateLog.objects.for_(opportunity).latest("pk").transition == "reopen"


@pytest.mark.parametrize("make", [open_, won])
def test_reopen_is_refused_unless_lost(seller, manager, make):
    opportunity = make(seller)
    state, logs = opportunity.state, log_count(opportunity)

    with pytest.raises(TransitionError, match="Reopen"):
        opportunity_reopen(opportunity=opportunity, actor=manager)

    opportunity.refresh_from_db()
    assert opportunity.state == state
    assert log_count(opportunity) == logs


def test_each_stage_change_records_when_the_deal_left_the_stage(seller):
    """Time in stage reads `ended_at`: a stay ends exactly when the next one begins; the current one is open."""
    opp = factories.opportunity(owner=seller)
    stages = pipeline_stages(opp.team)
    opp = opportunity_move_stage(opportunity=opp, stage=stages[1], actor=seller)
    opp = opportunity_move_stage(opportunity=opp, stage=stages[2], actor=seller)

    changes = list(StageChange.objects.filter(opportunity=opp).order_by("at", "pk"))
    assert [c.to_stage for c in changes] == stages[:3]
    assert [c.ended_at for c in changes] == [changes[1].at, changes[2].at, None]
