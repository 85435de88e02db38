"""Qualify as a merge preview: matching with reasons, create / link / merge, one transaction, one opportunity."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_fsm_log.models import StateLog

from crm import normalize
from crm.models import Account, Contact
from crm.workflow import DomainError
from leads.matching import match_lead
from leads.models import Lead, LeadState
from opportunities.models import Opportunity, StageChange
from opportunities.selectors import pipeline_stages
from opportunities.services import opportunity_create_from_lead
from tests import factories


def qualify_url(lead: Lead) -> str:
    return reverse("leads:qualify", args=[lead.pk])


def post_data(**overrides) -> dict:
    data = {
        "account_choice": "new", "contact_choice": "new", "name": "Deal", "amount": "1000.00", "currency": "EUR",
        "expected_close_date": "", "stage": pipeline_stages(None)[0].pk,
    }
    return {**data, **overrides}


def nothing_converted(lead: Lead, accounts: int = 0, contacts: int = 0) -> None:
    lead.refresh_from_db()
    assert lead.state in (LeadState.NEW, LeadState.WORKING)
    assert lead.qualified_at is None
    assert not Opportunity.objects.exists()
    assert not StageChange.objects.exists()
    assert StateLog.objects.for_(lead).count() == 0
    assert (Account.objects.count(), Contact.objects.count()) == (accounts, contacts)


# --- normalisation -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("written", ["+49 30 1234567", "0049 (0)30 123 45 67", "030/123 45-67", "+49 (0)30-1234567"])
def test_phone_numbers_written_differently_give_one_key(written):
    assert normalize.phone_key(written, "DE") == "49301234567"


def test_a_national_number_takes_the_country_code_of_its_country():
    assert normalize.phone_key("01 234 5678", "AT") == "4312345678"
    assert normalize.phone_key("12", "DE") == ""  # an extension is not a number to match on


def test_vat_and_email_keys():
    assert normalize.tax_id_key(" de 123.456-789 ") == "DE123456789"
    assert normalize.email_key("  Jane.Doe@ACME.com ") == "jane.doe@acme.com"
    assert normalize.company_domain("jane@GMAIL.com") == ""
    assert normalize.company_domain("jane@Acme.com") == "acme.com"


def test_keys_follow_every_save_of_an_account(seller):
    account = factories.AccountFactory(vat_id="DE 111 222 333", phone="030 555 666", domain="WWW.Acme.COM")
    assert (account.vat_key, account.phone_key, account.domain) == ("DE111222333", "4930555666", "acme.com")

    account.vat_id = "ATU 1234"
    account.save(update_fields=["vat_id"])

    account.refresh_from_db()
    assert account.vat_key == "ATU1234"


# --- matching: each reason ---------------------------------------------------------------------------------------

def test_a_contact_with_the_same_email_address_matches_and_vouches_for_its_account(seller):
    contact = factories.ContactFactory(email="Jane.Doe@Customer.example")
    lead = factories.lead(owner=seller, email="jane.doe@customer.EXAMPLE", company="Other name")

    matches = match_lead(lead)

    [found] = matches.contacts
    assert found.record == contact
    assert found.reasons == ["same e-mail address"]
    assert matches.best_account() == contact.account
    assert matches.best_contact() == contact
    assert "its contact" in matches.accounts[0].reasons[0]


def test_an_account_with_the_same_email_domain_matches(seller):
    account = factories.AccountFactory(domain="acme.com")
    lead = factories.lead(owner=seller, email="new.person@ACME.com", company="ACME Europe")

    [found] = match_lead(lead).accounts

    assert found.record == account
    assert found.reasons == ["same e-mail domain acme.com"]


@pytest.mark.parametrize("address", ["jane@gmail.com", "jane@GMX.de", "jane@web.de", "jane@outlook.com"])
def test_a_free_mail_domain_is_not_a_company_match(seller, address):
    factories.AccountFactory(domain=address.rpartition("@")[2].lower())
    lead = factories.lead(owner=seller, email=address, company="Jane's Bakery")

    assert match_lead(lead).accounts == []


def test_an_account_with_the_same_vat_number_matches_however_it_is_written(seller):
    account = factories.AccountFactory(vat_id="DE 123 456 789", domain="")
    lead = factories.lead(owner=seller, vat_id="de123.456.789", company="Renamed GmbH")

    [found] = match_lead(lead).accounts

    assert found.record == account
    assert found.reasons == ["same VAT number DE123456789"]


def test_an_account_with_the_same_registration_number_matches(seller):
    account = factories.AccountFactory(registration_number="HRB 12345", domain="")
    lead = factories.lead(owner=seller, registration_number="hrb12345", company="X")

    [found] = match_lead(lead).accounts

    assert (found.record, found.reasons) == (account, ["same registration number HRB12345"])


def test_the_same_phone_number_matches_accounts_and_contacts(seller):
    account = factories.AccountFactory(phone="+49 30 1234567", domain="", country="DE")
    contact = factories.ContactFactory(phone="030 1234567", account=account)
    lead = factories.lead(owner=seller, phone="0049 30 123 45 67", company="Nothing alike", country="DE")

    matches = match_lead(lead)

    assert [(c.record, c.reasons) for c in matches.contacts] == [(contact, ["same phone +49301234567"])]
    assert matches.accounts[0].record == account
    assert matches.accounts[0].reasons[0] == "same phone +49301234567"


def test_candidates_are_ranked_by_how_sure_the_reasons_are(seller):
    by_domain = factories.AccountFactory(domain="acme.com")
    by_vat = factories.AccountFactory(domain="", vat_id="DE999")
    lead = factories.lead(owner=seller, email="a@acme.com", vat_id="DE999", company="ACME")

    assert [c.record for c in match_lead(lead).accounts] == [by_vat, by_domain]


def test_a_seller_is_offered_only_accounts_they_may_see(seller, other_team_seller):
    hidden = factories.AccountFactory(vat_id="DE777", owner=other_team_seller, domain="")
    lead = factories.lead(owner=seller, vat_id="DE777")

    assert match_lead(lead, user=seller).accounts == []
    assert match_lead(lead).accounts[0].record == hidden  # the automatic path still links, showing nothing


# --- the page ----------------------------------------------------------------------------------------------------

def test_the_page_shows_each_candidate_with_its_reasons_and_defaults_to_the_best(seller_client, seller):
    account = factories.AccountFactory(name="Acme AG", vat_id="DE123456789", domain="", owner=seller)
    lead = factories.lead(owner=seller, company="ACME", vat_id="DE 123456789", email="x@gmail.com")

    response = seller_client.get(qualify_url(lead))

    content = response.content.decode()
    assert "Link to Acme AG" in content
    assert "same VAT number DE123456789" in content
    assert "Create new contact “Jane Doe”" in content
    form = response.context["form"]
    assert form["account_choice"].value() == str(account.pk)
    assert form["contact_choice"].value() == "new"
    assert form["name"].value() == "ACME deal"


def test_create_new_copies_the_lead_and_records_the_decision(seller_client, seller, team):
    lead = factories.lead(
        owner=seller, first_name="Ada", last_name="King", company="Engines Ltd", email="ada@engines.example",
        vat_id="GB 123 4567 89", phone="+44 20 7946 0000", country="GB",
    )

    response = seller_client.post(qualify_url(lead), post_data(name="Engines rollout", amount="2500"))

    opportunity = Opportunity.objects.get()
    assert response["Location"] == opportunity.get_absolute_url()
    account, contact = Account.objects.get(), Contact.objects.get()
    assert (account.name, account.vat_id, account.domain, account.country, account.team) == (
        "Engines Ltd", "GB 123 4567 89", "engines.example", "GB", team
    )
    assert (contact.account, contact.email, contact.first_name) == (account, "ada@engines.example", "Ada")
    assert (opportunity.account, opportunity.contact, opportunity.name) == (account, contact, "Engines rollout")
    lead.refresh_from_db()
    assert lead.state == LeadState.QUALIFIED
    [log] = StateLog.objects.for_(lead)
    assert log.description == "Account Engines Ltd created; contact Ada King created"
    history = seller_client.get(lead.get_absolute_url()).content.decode()
    assert "Account Engines Ltd created; contact Ada King created" in history


def test_link_uses_the_existing_account_and_says_why(seller_client, seller):
    account = factories.AccountFactory(name="Acme AG", vat_id="DE123456789", domain="", owner=seller)
    lead = factories.lead(owner=seller, company="ACME", vat_id="DE123456789")

    seller_client.post(qualify_url(lead), post_data(account_choice=str(account.pk)))

    opportunity = Opportunity.objects.get()
    assert opportunity.account == account
    assert Account.objects.count() == 1
    assert opportunity.contact.account == account
    log = StateLog.objects.for_(lead).get()
    assert log.description == (
        "Linked to account Acme AG (same VAT number DE123456789); contact Jane Doe created"
    )


def test_link_to_an_existing_contact_creates_no_second_person(seller_client, seller):
    account = factories.AccountFactory(owner=seller, domain="")
    contact = factories.ContactFactory(account=account, email="jane@customer.example")
    lead = factories.lead(owner=seller, email="jane@customer.example")

    seller_client.post(
        qualify_url(lead), post_data(account_choice=str(account.pk), contact_choice=str(contact.pk))
    )

    opportunity = Opportunity.objects.get()
    assert (opportunity.account, opportunity.contact) == (account, contact)
    assert Contact.objects.count() == 1


def test_merge_takes_only_the_fields_the_seller_chose(seller_client, seller):
    account = factories.AccountFactory(
        name="Acme AG", vat_id="DE123456789", phone="+49 30 111111", domain="", owner=seller, registration_number=""
    )
    lead = factories.lead(
        owner=seller, company="ACME Holding", vat_id="de 123.456.789", phone="+49 30 222222",
        registration_number="HRB 42",
    )
    page = seller_client.get(qualify_url(lead))
    form = page.context["form"]
    prefix = f"account_{account.pk}__"
    # Defaults: an existing non-empty value is kept; an empty one is filled from the lead.
    assert form[prefix + "name"].value() == "existing"
    assert form[prefix + "phone"].value() == "existing"
    assert form[prefix + "registration_number"].value() == "lead"
    assert prefix + "vat_id" not in form.fields  # the same number, only written differently: nothing to decide

    seller_client.post(qualify_url(lead), post_data(**{
        "account_choice": str(account.pk), prefix + "name": "existing", prefix + "phone": "lead",
        prefix + "registration_number": "lead",
    }))

    account.refresh_from_db()
    assert (account.name, account.phone, account.registration_number) == ("Acme AG", "+49 30 222222", "HRB 42")
    assert account.phone_key == "4930222222"  # the new number matches from now on
    log = StateLog.objects.for_(lead).get()
    assert "account fields taken from the lead: phone, registration number" in log.description


def test_a_contact_linked_without_its_account_is_refused(seller_client, seller):
    contact = factories.ContactFactory(account=factories.AccountFactory(owner=seller), email="jane@customer.example")
    lead = factories.lead(owner=seller, email="jane@customer.example")

    response = seller_client.post(qualify_url(lead), post_data(account_choice="new", contact_choice=str(contact.pk)))

    assert response.status_code == 200
    assert "link that account too, or create a new contact" in response.content.decode()
    nothing_converted(lead, accounts=1, contacts=1)


def test_a_forged_account_outside_the_sellers_scope_is_refused(seller_client, seller, other_team_seller):
    hidden = factories.AccountFactory(owner=other_team_seller, vat_id="DE777", domain="")
    lead = factories.lead(owner=seller, vat_id="DE777")

    response = seller_client.post(qualify_url(lead), post_data(account_choice=str(hidden.pk)))

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    nothing_converted(lead, accounts=1)
    with pytest.raises(DomainError, match="not yours to link to"):
        opportunity_create_from_lead(lead=lead, actor=seller, account=hidden)
    nothing_converted(lead, accounts=1)


def test_a_stage_gate_refusing_mid_way_leaves_the_lead_unqualified_and_writes_nothing(seller_client, seller):
    first, second = pipeline_stages(None)[:2]
    first.required_fields = ["budget_confirmed"]
    first.save()
    lead = factories.lead(owner=seller, company="Gate GmbH")

    response = seller_client.post(qualify_url(lead), post_data(stage=second.pk), follow=True)

    assert "Cannot leave" in response.content.decode()
    assert response.context["form"]["stage"].value() == str(second.pk)  # the seller's choices are kept
    nothing_converted(lead)


def test_a_refusal_after_the_merge_undoes_the_merge_too(seller, team):
    first, second = pipeline_stages(None)[:2]
    first.required_fields = ["budget_confirmed"]
    first.save()
    account = factories.AccountFactory(owner=seller, name="Acme AG", phone="+49 30 111111", domain="")
    lead = factories.lead(owner=seller, company="Acme AG", phone="+49 30 222222")

    with pytest.raises(DomainError, match="Cannot leave"):
        opportunity_create_from_lead(
            lead=lead, actor=seller, account=account, account_fields_from_lead=["phone"], stage=second
        )

    account.refresh_from_db()
    assert (account.phone, account.phone_key) == ("+49 30 111111", "4930111111")
    nothing_converted(lead, accounts=1)


def test_a_merge_of_a_field_that_is_not_offered_is_refused(seller):
    account = factories.AccountFactory(owner=seller, name="Acme AG", domain="")
    lead = factories.lead(owner=seller, company="Acme AG")

    with pytest.raises(DomainError, match="cannot be taken over"):
        opportunity_create_from_lead(lead=lead, actor=seller, account=account, account_fields_from_lead=["owner"])

    nothing_converted(lead, accounts=1)


def test_a_double_post_gives_one_opportunity_and_lands_on_it(seller_client, seller):
    lead = factories.lead(owner=seller)

    first = seller_client.post(qualify_url(lead), post_data())
    second = seller_client.post(qualify_url(lead), post_data(), follow=True)

    opportunity = Opportunity.objects.get()
    assert first["Location"] == opportunity.get_absolute_url()
    assert second.redirect_chain[-1][0] == opportunity.get_absolute_url()
    assert "This lead was already qualified: here is its opportunity." in second.content.decode()
    assert (Account.objects.count(), Contact.objects.count(), StageChange.objects.count()) == (1, 1, 1)
    assert StateLog.objects.for_(lead).count() == 1


def test_a_second_tab_opening_the_page_goes_to_the_opportunity(seller_client, seller):
    opportunity = factories.opportunity(owner=seller)

    response = seller_client.get(qualify_url(opportunity.lead))

    assert response["Location"] == opportunity.get_absolute_url()


def test_a_disqualified_lead_has_no_qualify_page(seller_client, seller):
    from leads.services import lead_disqualify

    lead = lead_disqualify(lead=factories.lead(owner=seller), actor=seller, reason="duplicate")

    response = seller_client.get(qualify_url(lead), follow=True)

    assert "cannot be qualified" in response.content.decode()
    assert response.redirect_chain[-1][0] == lead.get_absolute_url()


def test_another_teams_lead_is_a_404(client, other_team_seller, seller):
    lead = factories.lead(owner=seller)
    client.force_login(other_team_seller)

    assert client.get(qualify_url(lead)).status_code == 404
    assert client.post(qualify_url(lead), post_data()).status_code == 404
    nothing_converted(lead)


# --- queries -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("candidates", [1, 12])
def test_the_page_and_the_conversion_need_a_bounded_number_of_queries(
    seller_client, seller, candidates, django_assert_max_num_queries
):
    for i in range(candidates):
        account = factories.AccountFactory(owner=seller, domain="acme.com", phone=f"030 55500{i:02d}")
        factories.ContactFactory(account=account, phone="030 1234567")
    lead = factories.lead(owner=seller, email="jane@acme.com", phone="030 1234567", company="ACME", country="DE")

    with django_assert_max_num_queries(13):
        page = seller_client.get(qualify_url(lead))
    assert len(page.context["form"].matches.accounts) == min(candidates, 5)

    with django_assert_max_num_queries(48):
        seller_client.post(qualify_url(lead), post_data())
    assert Opportunity.objects.count() == 1
