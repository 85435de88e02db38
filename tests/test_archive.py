"""Soft archive: a seller's "delete" hides a record from lists, board, search and dashboard and can be undone;
hard delete is for staff only, and an issued invoice can never be deleted nor archived."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from crm import archive
from crm.models import FieldChange
from crm.roles import NO_DELETE
from crm.workflow import DomainError
from invoices.models import ImmutableInvoice, Invoice
from leads.models import Lead
from opportunities.models import Opportunity
from opportunities.services import opportunity_update, opportunity_win
from quotes.models import Quote
from tests import factories

pytestmark = pytest.mark.django_db


def history_rows(record) -> int:
    return FieldChange.objects.filter(content_type=ContentType.objects.get_for_model(record),
                                      object_id=record.pk).count()


def test_archiving_a_lead_hides_it_from_the_list_and_search_until_restored(seller_client, seller):
    lead = factories.lead(owner=seller, last_name="Archivable")
    kept = factories.lead(owner=seller, last_name="Keeper")

    response = seller_client.post(reverse("leads:archive", args=[lead.pk]), follow=True)

    assert response.redirect_chain[-1][0] == lead.get_absolute_url()
    page = response.content.decode()
    assert "archived" in page and reverse("leads:restore", args=[lead.pk]) in page
    lead.refresh_from_db()
    assert lead.archived_at is not None and lead.archived_by == seller
    listing = seller_client.get(reverse("leads:list")).content.decode()
    assert f'href="{kept.get_absolute_url()}"' in listing and f'href="{lead.get_absolute_url()}"' not in listing
    searched = seller_client.get(reverse("leads:list"), {"q": "Archivable"}).content.decode()
    assert f'href="{lead.get_absolute_url()}"' not in searched
    archived = seller_client.get(reverse("leads:list"), {"archived": "on"}).content.decode()
    assert f'href="{lead.get_absolute_url()}"' in archived and f'href="{kept.get_absolute_url()}"' not in archived
    assert reverse("leads:restore", args=[lead.pk]) in archived

    seller_client.post(reverse("leads:restore", args=[lead.pk]))

    lead.refresh_from_db()
    assert lead.archived_at is None and lead.archived_by is None
    assert f'href="{lead.get_absolute_url()}"' in seller_client.get(reverse("leads:list")).content.decode()
    timeline = seller_client.get(lead.get_absolute_url()).content.decode()
    assert "Archived" in timeline and "Restored" in timeline
    assert kept.archived_at is None


def test_an_archived_opportunity_leaves_the_board_the_list_and_the_dashboard(seller_client, seller):
    opp = factories.opportunity(owner=seller)
    opp = opportunity_update(opportunity=opp, actor=seller, name="Hidden deal", expected_close_date=date(2030, 1, 1))
    for url in (reverse("opportunities:board"), reverse("opportunities:list"), reverse("crm:home")):
        assert "Hidden deal" in seller_client.get(url).content.decode(), url

    archive.record_archive(record=opp, actor=seller)

    for url in (reverse("opportunities:board"), reverse("opportunities:list"), reverse("crm:home")):
        assert "Hidden deal" not in seller_client.get(url).content.decode(), url
    assert "Hidden deal" in seller_client.get(reverse("opportunities:list"), {"archived": "on"}).content.decode()
    assert seller_client.get(opp.get_absolute_url()).status_code == 200  # its own page still opens


def test_archived_documents_drop_out_of_their_lists(seller_client, seller):
    quote = factories.quote(owner=seller)
    archive.record_archive(record=quote, actor=seller)

    assert quote.number not in seller_client.get(reverse("quotes:list")).content.decode()
    assert quote.number in seller_client.get(reverse("quotes:list"), {"archived": "on"}).content.decode()
    assert not Quote.objects.visible_to(seller).filter(pk=quote.pk).exists()
    assert Quote.objects.visible_to(seller, archived=None).filter(pk=quote.pk).exists()


def test_an_issued_invoice_cannot_be_archived_and_nothing_is_written(client, seller):
    invoice = factories.invoice(owner=seller, issued=True)
    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    before = history_rows(invoice)

    response = client.post(reverse("invoices:archive", args=[invoice.pk]), follow=True)

    assert "issued invoice can neither be archived nor deleted" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.archived_at is None and history_rows(invoice) == before


@pytest.mark.parametrize("make", ["fulfilled_order", "won_opportunity"])
def test_records_that_must_stay_on_record_refuse_archiving(seller, make):
    if make == "fulfilled_order":
        record = factories.order(owner=seller, fulfilled=True)
    else:
        record = opportunity_win(opportunity=factories.opportunity(owner=seller), actor=seller)

    with pytest.raises(DomainError):
        archive.record_archive(record=record, actor=seller)

    assert type(record).objects.get(pk=record.pk).archived_at is None


def test_the_archive_button_is_disabled_with_the_reason_on_a_fulfilled_order(client, seller):
    order = factories.order(owner=seller, fulfilled=True)
    client.force_login(factories.UserFactory(is_staff=True))

    content = client.get(order.get_absolute_url()).content.decode()

    assert "An order in fulfilment or fulfilled cannot be archived." in content
    assert reverse("orders:archive", args=[order.pk]) not in content


def test_archive_is_scoped_like_the_record(client, seller, other_team_seller):
    lead = factories.lead(owner=seller)
    client.force_login(other_team_seller)

    response = client.post(reverse("leads:archive", args=[lead.pk]))

    assert response.status_code == 404
    assert Lead.objects.get(pk=lead.pk).archived_at is None


def test_archive_needs_the_change_permission(client, seller, accountant):
    quote = factories.quote(owner=seller)
    client.force_login(accountant)  # sees every quote, may not change one

    assert client.post(reverse("quotes:archive", args=[quote.pk])).status_code == 403
    assert Quote.objects.get(pk=quote.pk).archived_at is None


def test_archive_and_restore_only_accept_post(seller_client, seller):
    lead = factories.lead(owner=seller)

    assert seller_client.get(reverse("leads:archive", args=[lead.pk])).status_code == 405
    assert Lead.objects.get(pk=lead.pk).archived_at is None


def test_accounts_and_contacts_archive_too(seller):
    contact = factories.ContactFactory(account=factories.AccountFactory(owner=seller))

    archive.record_archive(record=contact.account, actor=seller)
    archive.record_archive(record=contact, actor=seller)

    contact.refresh_from_db()
    assert contact.is_archived and contact.account.is_archived
    with pytest.raises(DomainError):
        archive.record_archive(record=contact, actor=seller)


# --- hard delete ------------------------------------------------------------------------------------------

def test_no_role_may_delete_sales_records_accounts_or_contacts(seller, manager, accountant):
    codenames = {f"{label.split('.')[0]}.delete_{label.split('.')[1]}" for label in NO_DELETE}
    for user in (seller, manager, accountant):
        assert not any(user.has_perm(codename) for codename in codenames), user.groups.all()
    for group in Group.objects.filter(name__in=["seller", "sales_manager", "accountant"]):
        assert not group.permissions.filter(codename__startswith="delete_", content_type__model__in=[
            "lead", "opportunity", "quote", "order", "invoice", "account", "contact"]).exists()


def test_an_issued_invoice_is_never_deleted_by_model_or_queryset(seller):
    invoice = factories.invoice(owner=seller, issued=True)

    with pytest.raises(ImmutableInvoice):
        invoice.delete()
    with pytest.raises(ImmutableInvoice):
        Invoice.objects.filter(pk=invoice.pk).delete()
    with pytest.raises(ImmutableInvoice):
        Invoice.objects.all().delete()

    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_admin_offers_no_delete_for_an_issued_invoice(admin_client, seller):
    invoice = factories.invoice(owner=seller, issued=True)

    response = admin_client.post(reverse("admin:invoices_invoice_delete", args=[invoice.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_staff_may_hard_delete_a_draft_invoice_and_a_lead_in_admin(admin_client, seller):
    draft = factories.invoice(owner=seller)
    lead = factories.lead(owner=seller)

    admin_client.post(reverse("admin:invoices_invoice_delete", args=[draft.pk]), {"post": "yes"})
    admin_client.post(reverse("admin:leads_lead_delete", args=[lead.pk]), {"post": "yes"})

    assert not Invoice.objects.filter(pk=draft.pk).exists()
    assert not Lead.objects.filter(pk=lead.pk).exists()


def test_a_manager_cannot_hard_delete_in_admin_even_as_staff(client, manager, seller):
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    opp = factories.opportunity(owner=seller)
    client.force_login(manager)

    response = client.post(reverse("admin:opportunities_opportunity_delete", args=[opp.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Opportunity.objects.filter(pk=opp.pk).exists()
