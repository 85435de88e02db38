"""Field-level history: every edit of a sales record, account or contact leaves who/when/old → new rows,
shown in the record timeline and the admin history page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from crm.history import TIMELINE_LIMIT, timeline
from crm.models import Account, Activity, FieldChange
from crm.tracking import acting_as
from leads import services as lead_services
from leads.models import Lead
from opportunities import services as opportunity_services
from opportunities.models import Opportunity
from opportunities.selectors import pipeline_stages, stage_history_source
from orders.services import order_update
from tests import factories

pytestmark = pytest.mark.django_db


def changes_of(record) -> list[FieldChange]:
    return list(
        FieldChange.objects.filter(content_type=ContentType.objects.get_for_model(record), object_id=record.pk)
        .select_related("changed_by").order_by("field")
    )


def edit_data(opp: Opportunity, **changes) -> dict:
    data = {"account": opp.account_id, "name": opp.name, "amount_0": f"{opp.amount.amount:.2f}", "amount_1": "EUR",
            "expected_close_date": "", "stage": opp.stage_id, "description": opp.description}
    return {**data, **changes}


def test_an_edit_through_the_seller_form_records_each_changed_field_with_its_author(seller_client, seller):
    opp = factories.opportunity(owner=seller, amount="10000.00")

    response = seller_client.post(reverse("opportunities:edit", args=[opp.pk]),
                                  edit_data(opp, name="Bigger deal", amount_0="12000.00"))

    assert response.status_code == 302
    rows = changes_of(opp)
    assert [(r.field, r.old_value, r.new_value, r.changed_by) for r in rows] == [
        ("amount", "10,000.00 EUR", "12,000.00 EUR", seller),
        ("name", opp.name, "Bigger deal", seller),
    ]


def test_saving_the_form_unchanged_writes_no_history(seller_client, seller):
    opp = factories.opportunity(owner=seller, amount="1000.00")

    response = seller_client.post(reverse("opportunities:edit", args=[opp.pk]), edit_data(opp))

    assert response.status_code == 302
    assert changes_of(opp) == []


def test_a_service_call_outside_a_request_records_the_services_actor(seller, teammate):
    lead = factories.lead(owner=seller, company="Acme")

    lead_services.lead_update(lead=lead, actor=teammate, company="Acme GmbH", phone="+49 30 1234")

    rows = changes_of(lead)
    assert [(r.field, r.old_value, r.new_value, r.changed_by) for r in rows] == [
        ("company", "Acme", "Acme GmbH", teammate),
        ("phone", "", "+49 30 1234", teammate),
    ]


def test_an_admin_edit_records_the_staff_user(admin_client, admin_user, seller):
    opp = factories.opportunity(owner=seller)
    data = {
        "name": "Renamed in admin", "account": opp.account_id, "contact": opp.contact_id or "", "amount_0": "1000.00",
        "amount_1": "EUR", "expected_close_date": "", "description": "", "owner": opp.owner_id,
        "team": opp.team_id or "", "stage": opp.stage_id, "requirements": "", "budget_0": "", "budget_1": "EUR",
        "swot_strengths": "", "swot_weaknesses": "", "swot_opportunities": "", "swot_threats": "",
        "stage_changes-TOTAL_FORMS": "0", "stage_changes-INITIAL_FORMS": "0",
    }

    response = admin_client.post(reverse("admin:opportunities_opportunity_change", args=[opp.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert [(r.field, r.new_value, r.changed_by) for r in changes_of(opp)] == [
        ("name", "Renamed in admin", admin_user)
    ]
    history = admin_client.get(reverse("admin:opportunities_opportunity_history", args=[opp.pk])).content.decode()
    assert 'id="field-history"' in history
    assert "Renamed in admin" in history and opp.name in history


def test_foreign_keys_are_shown_by_name_and_accounts_are_tracked_too(seller, teammate):
    account = factories.AccountFactory(owner=seller, name="Old Name")
    account = Account.objects.get(pk=account.pk)

    with acting_as(teammate):
        account.name = "New Name"
        account.owner = teammate
        account.save()

    assert [(r.field, r.old_value, r.new_value, r.changed_by) for r in changes_of(account)] == [
        ("name", "Old Name", "New Name", teammate),
        ("owner", str(seller), str(teammate), teammate),
    ]


def test_a_contact_edit_without_an_actor_is_recorded_as_system(db):
    contact = factories.ContactFactory(last_name="Miller")
    contact.refresh_from_db()

    contact.last_name = "Müller"
    contact.save()

    [row] = changes_of(contact)
    assert (row.field, row.old_value, row.new_value, row.changed_by) == ("last_name", "Miller", "Müller", None)


def test_transitions_and_stage_moves_leave_field_history_to_their_own_logs(seller):
    opp = factories.opportunity(owner=seller)
    second = pipeline_stages(opp.team)[1]

    opp = opportunity_services.opportunity_move_stage(opportunity=opp, stage=second, actor=seller)
    opp = opportunity_services.opportunity_win(opportunity=opp, actor=seller)

    assert changes_of(opp) == []


def test_a_failed_save_keeps_no_history(seller):
    lead = factories.lead(owner=seller, company="Acme")

    with pytest.raises(ValidationError):
        lead_services.lead_update(lead=lead, actor=seller, company="Acme 2", email="not an e-mail")

    lead.refresh_from_db()
    assert lead.company == "Acme" and changes_of(lead) == []


def test_the_record_page_timeline_shows_the_change_and_its_author(seller_client, seller):
    opp = factories.opportunity(owner=seller, amount="10000.00")
    seller_client.post(reverse("opportunities:edit", args=[opp.pk]),
                       edit_data(opp, amount_0="12000.00", expected_close_date="2027-03-31"))

    content = seller_client.get(reverse("opportunities:detail", args=[opp.pk])).content.decode()

    # Stored locale-neutral, shown as the page shows every other amount and date.
    assert "Amount: €10,000.00 → €12,000.00" in content
    assert "Expected close date: — → 03/31/2027" in content
    assert str(seller) in content
    seller.language = "de"
    seller.save(update_fields=["language"])
    german = seller_client.get(reverse("opportunities:detail", args=[opp.pk])).content.decode()
    assert "10.000,00\xa0€ → 12.000,00\xa0€" in german and "— → 31.03.2027" in german


def test_a_label_keeps_its_capitals(seller):
    order = factories.order(owner=seller)
    order_update(order=order, actor=seller, customer_reference="PO-72193")

    titles = [event.title for event in timeline(order)]

    assert "Customer reference (PO): — → PO-72193" in titles


def test_timeline_queries_do_not_grow_with_the_number_of_changes(seller):
    lead = factories.lead(owner=seller, company="v0")
    lead = lead_services.lead_update(lead=lead, actor=seller, company="v1")
    timeline(lead)  # warm the content-type cache
    with CaptureQueriesContext(connection) as one_change:
        timeline(Lead.objects.select_related("owner").get(pk=lead.pk))
    for i in range(2, 12):
        lead = lead_services.lead_update(lead=lead, actor=seller, company=f"v{i}")

    with CaptureQueriesContext(connection) as many_changes:
        events = timeline(Lead.objects.select_related("owner").get(pk=lead.pk))

    assert len(many_changes.captured_queries) == len(one_change.captured_queries) <= 4  # + the record itself

    assert sum(1 for e in events if e.title.startswith("Company:")) == 11


def test_lead_page_query_count_is_bounded_with_a_long_history(seller_client, seller, django_assert_max_num_queries):
    lead = factories.lead(owner=seller, company="v0")
    for i in range(1, 30):
        lead = lead_services.lead_update(lead=lead, actor=seller, company=f"v{i}")

    with django_assert_max_num_queries(30):
        response = seller_client.get(reverse("leads:detail", args=[lead.pk]))

    assert response.status_code == 200
    assert "Company: v28 → v29" in response.content.decode()


def test_money_is_formatted_with_its_currency(seller):
    opp = factories.opportunity(owner=seller, amount="1200.00")
    opp = Opportunity.objects.get(pk=opp.pk)

    opportunity_services.opportunity_update(opportunity=opp, actor=seller, amount=Money("1234567.5", "EUR"))

    [row] = changes_of(opp)
    assert (row.old_value, row.new_value) == ("1,200.00 EUR", "1,234,567.50 EUR")


def test_loading_a_deferred_field_keeps_earlier_unsaved_edits_in_the_history(seller):
    account = factories.AccountFactory(owner=seller, name="Before", city="Berlin")
    account = Account.objects.only("id", "name").get(pk=account.pk)

    account.name = "After"
    assert account.city == "Berlin"  # loads the deferred field from the database
    with acting_as(seller):
        account.save()

    assert [(r.field, r.old_value, r.new_value) for r in changes_of(account)] == [("name", "Before", "After")]


def test_a_long_history_shows_the_latest_events_and_offers_the_rest(seller_client, seller):
    opp = factories.opportunity(owner=seller)
    content_type = ContentType.objects.get_for_model(opp)
    Activity.objects.bulk_create(
        Activity(subject=f"Call number {i}", owner=seller, content_type=content_type, object_id=opp.pk,
                 done=True, created_at=timezone.now() - timedelta(days=60 - i))
        for i in range(TIMELINE_LIMIT + 10)
    )
    url = reverse("opportunities:detail", args=[opp.pk])

    page = seller_client.get(url).content.decode()
    # The newest calls, then the deal's own creation events (today); the oldest calls are left out.
    shown = [i for i in range(TIMELINE_LIMIT + 10) if f"Call number {i}<" in page]
    assert shown == list(range(TIMELINE_LIMIT + 10 - len(shown), TIMELINE_LIMIT + 10))
    assert TIMELINE_LIMIT - 5 <= len(shown) < TIMELINE_LIMIT
    assert f"Only the latest {TIMELINE_LIMIT} events are shown" in page

    everything = seller_client.get(url, {"history": "all"}).content.decode()
    assert all(f"Call number {i}<" in everything for i in range(TIMELINE_LIMIT + 10))
    assert "Created" in everything and "Only the latest" not in everything


def test_the_timeline_merges_every_kind_of_event_newest_first(seller):
    opp = factories.opportunity(owner=seller, amount="100.00")
    opp = opportunity_services.opportunity_update(opportunity=opp, actor=seller, name="Renamed deal")
    stages = pipeline_stages(opp.team)
    opp = opportunity_services.opportunity_move_stage(opportunity=opp, stage=stages[1], actor=seller)
    Activity.objects.create(subject="Demo booked", owner=seller, object_id=opp.pk,
                            content_type=ContentType.objects.get_for_model(opp))
    opp = opportunity_services.opportunity_win(opportunity=opp, actor=seller)

    events = timeline(opp, sources=[stage_history_source(opp)])

    titles = [event.title for event in events]
    assert "Won" in titles[0]
    assert any(title.startswith("Name:") and "Renamed deal" in title for title in titles)
    assert any(title == f"Stage: {stages[0]} → {stages[1]}" for title in titles)
    assert "Note: Demo booked" in titles
    assert titles[-1] == "Created"
    assert all(event.by == str(seller) for event in events if event.title != "Created")
    assert [e.at for e in events] == sorted((e.at for e in events), reverse=True)
    assert not events.truncated
