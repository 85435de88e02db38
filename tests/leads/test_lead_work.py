"""Duplicate warning on the lead form, the explainable score, assignment rules and manual reassignment."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from crm.models import Activity
from leads.models import AssignmentMethod, AssignmentRule, Lead, ScoringRule
from leads.services import activity_log, lead_assign, lead_capture, lead_update
from tests import factories

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@analytical.example", "phone": "",
            "company": "Analytical", "title": "", "source": "website", "country": "", "notes": ""}
    return {**data, **overrides}


# --- duplicate warning --------------------------------------------------------------------------------------

def test_same_email_warns_before_saving_with_a_link(seller_client, seller):
    existing = factories.lead(owner=seller, last_name="Existing", email="ada@analytical.example")

    response = seller_client.post(reverse("leads:create"), form_data(email="ADA@analytical.example", owner=seller.pk))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Possible duplicates" in page and existing.get_absolute_url() in page and "Same e-mail" in page
    assert Lead.objects.count() == 1


def test_save_anyway_creates_the_lead(seller_client, seller):
    factories.lead(owner=seller, last_name="Existing", email="ada@analytical.example")

    response = seller_client.post(reverse("leads:create"), form_data(save_anyway="on", owner=seller.pk))

    assert response.status_code == 302 and Lead.objects.count() == 2


def test_same_company_domain_among_contacts_and_accounts_warns(seller_client, seller):
    account = factories.AccountFactory(name="Analytical Engines", domain="analytical.example")
    factories.ContactFactory(account=account, email="charles@analytical.example", last_name="Babbage")

    page = seller_client.post(reverse("leads:create"), form_data(owner=seller.pk)).content.decode()

    assert "Analytical Engines" in page and "Babbage" in page
    assert "Same company domain (analytical.example)" in page
    assert not Lead.objects.exists()


def test_a_lead_at_the_same_domain_warns_and_lookalike_domains_do_not(seller_client, seller):
    colleague = factories.lead(owner=seller, last_name="Colleague", email="Charles@Analytical.example")
    factories.lead(owner=seller, last_name="Subdomain", email="x@sub.analytical.example")
    factories.lead(owner=seller, last_name="Longer", email="y@analytical.example.org")

    page = seller_client.post(reverse("leads:create"), form_data(owner=seller.pk)).content.decode()

    assert colleague.get_absolute_url() in page and "Same company domain (analytical.example)" in page
    assert "Subdomain" not in page and "Longer" not in page


def test_free_mail_domain_and_other_teams_leads_do_not_warn(seller_client, seller, other_team_seller):
    factories.lead(owner=other_team_seller, last_name="Hidden", email="ada@analytical.example")
    factories.ContactFactory(email="someone@gmail.com")

    assert seller_client.post(reverse("leads:create"), form_data(owner=seller.pk)).status_code == 302
    free_mail = form_data(email="x@gmail.com", owner=seller.pk)
    assert seller_client.post(reverse("leads:create"), free_mail).status_code == 302


def test_editing_without_changing_the_email_does_not_warn(seller_client, seller):
    factories.lead(owner=seller, last_name="Twin", email="ada@analytical.example")
    lead = factories.lead(owner=seller, last_name="Lovelace", email="ada@analytical.example")

    response = seller_client.post(reverse("leads:edit", args=[lead.pk]),
                                  form_data(owner=seller.pk, phone="+49 1"))

    assert response.status_code == 302


# --- score ----------------------------------------------------------------------------------------------------

def test_score_is_recomputed_on_update_and_activity_and_explained_on_the_page(seller_client, seller):
    lead = factories.lead(owner=seller, last_name="Scored", email="", company="", title="")
    assert lead.score == 0

    lead = lead_update(lead=lead, actor=seller, email="s@example.com", title="Head of Purchasing")
    assert lead.score == 10 + 15
    activity_log(target=lead, actor=seller, kind="call", subject="Intro call")
    lead.refresh_from_db()
    assert lead.score == 10 + 15 + 10

    page = seller_client.get(lead.get_absolute_url()).content.decode()
    assert "+15</span> Decision maker" in page and "+10</span> In conversation (1+ activity)" in page


def test_admin_configured_rule_changes_the_score(seller):
    ScoringRule.objects.all().delete()
    ScoringRule.objects.create(name="Austria", field="country", condition="equals", value="at", points=30)
    ScoringRule.objects.create(name="No phone", field="phone", condition="present", value="", points=-5)

    assert factories.lead(owner=seller, country="AT").score == 30
    assert factories.lead(owner=seller, country="AT", phone="1").score == 25
    assert factories.lead(owner=seller, phone="1").score == 0  # never below zero


# --- assignment -----------------------------------------------------------------------------------------------

def test_territory_and_source_rules_pick_the_matching_team(seller, other_team_seller, team):
    other_team = other_team_seller.teams.get()
    AssignmentRule.objects.create(name="DACH", team=other_team, method=AssignmentMethod.TERRITORY,
                                  countries="de, at,CH", position=1)
    AssignmentRule.objects.create(name="Referrals", team=team, method=AssignmentMethod.SOURCE,
                                  source="referral", position=0)

    referral = lead_capture(fields={"last_name": "R", "source": "referral", "country": "DE"})
    german = lead_capture(fields={"last_name": "G", "source": "website", "country": "DE"})

    assert (referral.owner, referral.team) == (seller, team)
    assert (german.owner, german.team) == (other_team_seller, other_team)


def test_no_rule_and_no_admin_is_refused(db):
    from crm.workflow import DomainError

    with pytest.raises(DomainError, match="Nobody can receive"):
        lead_capture(fields={"last_name": "Lost"})
    assert not Lead.objects.exists()


def test_import_without_owner_uses_round_robin(seller, teammate, team):
    from leads.imports import detect_mapping, import_leads, read_table

    AssignmentRule.objects.create(name="All", team=team)
    table = read_table(b"Last name\nA\nB\nC\nD\n", "x.csv")

    import_leads(table=table, mapping=detect_mapping(table.headers), actor=seller)

    owners = list(Lead.objects.order_by("number").values_list("owner", flat=True))
    first, second = sorted([seller.pk, teammate.pk])
    assert owners == [first, second, first, second]


def test_manual_reassign_notifies_the_new_owner_after_commit(
    seller_client, seller, teammate, django_capture_on_commit_callbacks
):
    lead = factories.lead(owner=seller, last_name="Handover")

    with django_capture_on_commit_callbacks(execute=True):
        response = seller_client.post(reverse("leads:reassign", args=[lead.pk]), {"owner": teammate.pk})

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == teammate
    assert [m.to for m in mail.outbox] == [[teammate.email]]
    assert Activity.objects.filter(subject__startswith="Reassigned").exists()


def test_reassign_to_someone_outside_the_teams_is_refused(seller_client, seller, other_team_seller):
    lead = factories.lead(owner=seller, last_name="Mine")

    seller_client.post(reverse("leads:reassign", args=[lead.pk]), {"owner": other_team_seller.pk})

    lead.refresh_from_db()
    assert lead.owner == seller and not mail.outbox


def test_reassign_another_teams_lead_is_404(seller_client, other_team_seller):
    lead = factories.lead(owner=other_team_seller, last_name="Theirs")

    assert seller_client.post(reverse("leads:reassign", args=[lead.pk]), {"owner": 1}).status_code == 404


def test_reassign_rolled_back_sends_nothing(seller, teammate, django_capture_on_commit_callbacks):
    from django.db import transaction

    lead = factories.lead(owner=seller, last_name="Rollback")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        lead_assign(lead=lead, actor=seller, owner=teammate)
        raise RuntimeError
    assert not mail.outbox


# --- bulk assign from the list ---------------------------------------------------------------------------------

def test_ticked_leads_go_to_one_owner_with_one_e_mail(
    seller_client, seller, teammate, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    chosen = [factories.lead(owner=seller, last_name=f"Bulk {i}") for i in range(3)]
    left = factories.lead(owner=seller, last_name="Not ticked")
    listing = seller_client.get(reverse("leads:list") + "?q=Bulk").content.decode()

    with django_capture_on_commit_callbacks(execute=True), django_assert_max_num_queries(40):
        response = seller_client.post(reverse("leads:bulk_assign"), {
            "lead": [lead.pk for lead in chosen], "owner": teammate.pk, "next": "/leads/?q=Bulk"})

    assert 'data-testid="bulk-assign"' in listing and listing.count('name="lead"') == 3
    assert response.status_code == 302 and response["Location"] == "/leads/?q=Bulk"
    assert set(Lead.objects.filter(owner=teammate).values_list("pk", flat=True)) == {lead.pk for lead in chosen}
    assert Lead.objects.get(pk=left.pk).owner == seller
    assert [m.to for m in mail.outbox] == [[teammate.email]] and "3 new leads" in mail.outbox[0].subject
    assert Activity.objects.filter(subject__startswith="Reassigned").count() == 3
    page = seller_client.get(response["Location"]).content.decode()
    assert f"3 leads assigned to {teammate}, who has been notified." in page


def test_a_qualified_lead_among_the_ticked_ones_stops_the_whole_assignment(seller_client, seller, teammate):
    open_lead = factories.lead(owner=seller, last_name="Open one")
    qualified = factories.opportunity(owner=seller, last_name="Won over").lead

    response = seller_client.post(reverse("leads:bulk_assign"),
                                  {"lead": [open_lead.pk, qualified.pk], "owner": teammate.pk}, follow=True)

    assert "is qualified and closed; leave it out" in response.content.decode()
    assert Lead.objects.filter(owner=teammate).count() == 0 and not mail.outbox


def test_bulk_assign_with_another_teams_lead_is_404_and_changes_nothing(seller_client, seller, teammate,
                                                                     other_team_seller):
    mine = factories.lead(owner=seller, last_name="Mine")
    theirs = factories.lead(owner=other_team_seller, last_name="Theirs")

    response = seller_client.post(reverse("leads:bulk_assign"), {"lead": [mine.pk, theirs.pk], "owner": teammate.pk})

    assert response.status_code == 404
    assert Lead.objects.get(pk=mine.pk).owner == seller and Lead.objects.get(pk=theirs.pk).owner == other_team_seller


def test_bulk_assign_takes_at_most_a_hundred_leads_at_a_time(seller, teammate):
    from crm.workflow import DomainError
    from leads.services import BULK_ASSIGN_LIMIT, leads_assign

    lead = factories.lead(owner=seller, last_name="One of many")
    with pytest.raises(DomainError, match="at most 100 leads"):
        leads_assign(lead_ids=[lead.pk, *range(10**6, 10**6 + BULK_ASSIGN_LIMIT)], actor=seller, owner=teammate)
    assert Lead.objects.get(pk=lead.pk).owner == seller


def test_bulk_assign_without_a_ticked_lead_says_so(seller_client, teammate):
    response = seller_client.post(reverse("leads:bulk_assign"), {"owner": teammate.pk}, follow=True)

    assert "Tick the leads to assign first." in response.content.decode()


# --- configurable disqualification reasons -------------------------------------------------------------------

def test_seeded_reasons_work_and_a_new_reason_can_be_used(seller_client, seller):
    from leads.models import DisqualificationReason

    assert set(DisqualificationReason.objects.values_list("code", flat=True)) >= {"no_budget", "duplicate"}
    DisqualificationReason.objects.create(code="sanctions", label="Sanctioned country")
    lead = factories.lead(owner=seller, last_name="Blocked")

    page = seller_client.get(lead.get_absolute_url()).content.decode()
    assert '<option value="sanctions">Sanctioned country</option>' in page
    seller_client.post(reverse("leads:disqualify", args=[lead.pk]), {"reason": "sanctions"})

    lead.refresh_from_db()
    assert (lead.state, lead.disqualify_reason) == ("disqualified", "sanctions")
    assert "Disqualified: Sanctioned country" in seller_client.get(lead.get_absolute_url()).content.decode()


def test_retired_reason_is_refused_but_old_leads_still_show_it(seller):
    from crm.workflow import DomainError
    from leads.models import DisqualificationReason
    from leads.services import lead_disqualify

    old = lead_disqualify(lead=factories.lead(owner=seller, last_name="Old"), actor=seller, reason="no_budget")
    DisqualificationReason.objects.filter(code="no_budget").update(active=False)

    with pytest.raises(DomainError):
        lead_disqualify(lead=factories.lead(owner=seller, last_name="New"), actor=seller, reason="no_budget")
    assert old.disqualify_reason_label == "No budget"


def test_detail_page_query_count_does_not_grow_with_activities(seller_client, seller, django_assert_max_num_queries):
    lead = factories.lead(owner=seller, last_name="Busy", email="busy@example.com")
    for i in range(30):
        activity_log(target=lead, actor=seller, kind="note", subject=f"Note {i}")

    with django_assert_max_num_queries(30):
        response = seller_client.get(lead.get_absolute_url())

    assert response.status_code == 200 and "Note 29" in response.content.decode()


def test_web_to_lead_query_count_is_bounded(client, seller, team, django_assert_max_num_queries):
    from django.core.cache import cache

    from leads.models import WebForm

    cache.clear()
    form = WebForm.objects.create(name="Site", default_owner=seller, team=team)
    with django_assert_max_num_queries(15):
        response = client.post(reverse("leads:web_to_lead", args=[form.token]), {"last_name": "Counted"})
    assert response.status_code == 201
