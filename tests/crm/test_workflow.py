"""crm.workflow: the one way a state changes — locked, re-checked, logged; never assigned directly."""

import pytest
from django.db import transaction
from django_fsm_log.models import StateLog

from crm.workflow import DomainError, TransitionError, bulk_transition, run_transition, transition_label
from leads.models import Lead, LeadState
from leads.services import lead_disqualify, lead_start_work
from tests import factories


def logs_for(record) -> list[StateLog]:
    return list(StateLog.objects.for_(record).order_by("pk"))


@pytest.mark.django_db
def test_run_transition_changes_state_and_writes_a_log_row(seller):
    lead = factories.lead(owner=seller)

    with transaction.atomic():
        result = run_transition(lead, "start_work", actor=seller, description="called back")

    assert result.state == LeadState.WORKING
    lead.refresh_from_db()
    assert lead.state == LeadState.WORKING
    [log] = logs_for(lead)
    assert (log.by, log.source_state, log.state, log.transition, log.description) == (
        seller, "new", "working", "start_work", "called back"
    )
    assert list(lead.state_log()) == [log]


@pytest.mark.django_db
def test_transition_arguments_reach_the_model_and_the_description_the_log(seller):
    lead = lead_disqualify(lead=factories.lead(owner=seller), actor=seller, reason="no_budget")

    assert lead.disqualify_reason == "no_budget"
    [log] = logs_for(lead)
    assert log.description == "No budget"
    assert log.by == seller


@pytest.mark.django_db
def test_a_forbidden_transition_raises_a_readable_error_and_writes_nothing(seller):
    lead = factories.lead(owner=seller)
    before = lead.updated_at

    with pytest.raises(TransitionError) as excinfo, transaction.atomic():
        run_transition(lead, "recycle", actor=seller)

    message = str(excinfo.value)
    assert lead.number in message
    assert "New" in message
    assert "“Recycle” is not possible now" in message
    assert isinstance(excinfo.value, DomainError)  # views turn it into a flash message
    lead.refresh_from_db()
    assert lead.state == LeadState.NEW
    assert lead.updated_at == before
    assert logs_for(lead) == []


@pytest.mark.django_db
def test_state_cannot_be_assigned_directly(seller):
    lead = factories.lead(owner=seller)

    with pytest.raises(AttributeError):
        lead.state = LeadState.QUALIFIED

    lead.refresh_from_db()
    assert lead.state == LeadState.NEW


@pytest.mark.django_db
def test_state_cannot_be_set_through_update_of_a_loaded_instance_either(seller):
    lead = factories.lead(owner=seller)
    with pytest.raises(AttributeError):
        setattr(lead, "state", "working")  # noqa: B010 - the way generic code (forms, imports) would try it


@pytest.mark.django_db
def test_a_stale_instance_cannot_run_the_transition_a_second_time(seller):
    lead = factories.lead(owner=seller)
    first_tab = Lead.objects.get(pk=lead.pk)
    second_tab = Lead.objects.get(pk=lead.pk)  # loaded before the first tab's click

    lead_start_work(lead=first_tab, actor=seller)
    with pytest.raises(TransitionError, match="Working"):
        lead_start_work(lead=second_tab, actor=seller)

    assert len(logs_for(lead)) == 1


@pytest.mark.django_db
def test_a_stale_instance_runs_a_transition_that_is_still_allowed_from_the_fresh_state(seller):
    lead = factories.lead(owner=seller)
    stale = Lead.objects.get(pk=lead.pk)
    lead_start_work(lead=lead, actor=seller)

    result = lead_disqualify(lead=stale, actor=seller, reason="duplicate")

    assert result.state == LeadState.DISQUALIFIED
    assert [log.source_state for log in logs_for(lead)] == ["new", "working"]


@pytest.mark.django_db
def test_can_reports_what_the_current_state_allows(seller):
    lead = factories.lead(owner=seller)
    assert lead.can("start_work")
    assert lead.can("disqualify")
    assert not lead.can("recycle")


@pytest.mark.django_db
def test_transition_label_is_the_translatable_label(seller):
    lead = factories.lead(owner=seller)
    assert transition_label(lead, "start_work") == "Start working"
    assert transition_label(lead, "no_such_thing") == "no such thing"


def test_run_transition_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="atomic"):
        run_transition(Lead(), "start_work", actor=None)


@pytest.mark.django_db
def test_bulk_transition_moves_only_eligible_rows_and_logs_each(seller):
    fresh = [factories.lead(owner=seller) for _ in range(3)]
    working = lead_start_work(lead=factories.lead(owner=seller), actor=seller)
    disqualified = lead_disqualify(lead=factories.lead(owner=seller), actor=seller, reason="no_budget")
    logs_before = StateLog.objects.count()

    moved = bulk_transition(Lead.objects.all(), "start_work", actor=seller, description="bulk")

    assert moved == 3
    states = dict(Lead.objects.values_list("pk", "state"))
    assert all(states[lead.pk] == LeadState.WORKING for lead in fresh)
    assert states[working.pk] == LeadState.WORKING
    assert states[disqualified.pk] == LeadState.DISQUALIFIED
    assert StateLog.objects.count() == logs_before + 3
    for lead in fresh:
        [log] = logs_for(lead)
        assert (log.by, log.source_state, log.state, log.transition, log.description) == (
            seller, "new", "working", "start_work", "bulk"
        )
    assert len(logs_for(working)) == 1  # only its own earlier start_work


@pytest.mark.django_db
def test_bulk_transition_with_nothing_eligible_writes_nothing(seller):
    lead_start_work(lead=factories.lead(owner=seller), actor=seller)
    logs_before = StateLog.objects.count()

    assert bulk_transition(Lead.objects.all(), "start_work", actor=seller) == 0
    assert StateLog.objects.count() == logs_before


@pytest.mark.django_db
def test_bulk_transition_from_several_source_states_logs_each_rows_own_source(seller):
    new = factories.lead(owner=seller)
    working = lead_start_work(lead=factories.lead(owner=seller), actor=seller)

    assert bulk_transition(Lead.objects.all(), "disqualify", actor=None) == 2

    assert logs_for(new)[-1].source_state == "new"
    assert logs_for(working)[-1].source_state == "working"
    assert set(Lead.objects.values_list("state", flat=True)) == {LeadState.DISQUALIFIED}


@pytest.mark.django_db
def test_bulk_transition_in_id_range_batches_moves_and_logs_every_row_once(seller, django_assert_max_num_queries):
    leads = [factories.lead(owner=seller) for _ in range(7)]
    skipped = lead_start_work(lead=factories.lead(owner=seller), actor=seller)
    logs_before = StateLog.objects.count()

    # Batches of 3 ids: several statements, each set-based; the count does not depend on the rows moved.
    with django_assert_max_num_queries(12):
        moved = bulk_transition(Lead.objects.all(), "start_work", actor=seller, batch_size=3)

    assert moved == 7
    assert StateLog.objects.count() == logs_before + 7
    for lead in leads:
        [log] = logs_for(lead)
        assert (log.source_state, log.state, log.by) == ("new", "working", seller)
    assert len(logs_for(skipped)) == 1
