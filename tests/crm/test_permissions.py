"""crm.permissions: who sees which record (scope) and who may do what (require), and the grants per role."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.urls import reverse
from django.utils import translation
from djmoney.money import Money

from crm.models import Role
from crm.permissions import NotAllowed, allowed, has_role, require, scope
from crm.roles import ADMIN_APPS
from crm.workflow import DomainError
from invoices.models import Invoice
from invoices.services import payment_record
from leads.models import Lead
from leads.services import lead_update
from opportunities.models import Opportunity
from opportunities.services import opportunity_lose, opportunity_reopen, opportunity_win
from orders.models import Order
from quotes.models import Quote
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(seller, teammate, other_team_seller):
    """For each of three sellers (two in `team`, one in another team): a lead, its opportunity and a quote;
    the other team's seller also has an order and an invoice."""
    by_owner = {}
    for user in (seller, teammate, other_team_seller):
        quote = factories.quote(owner=user, lines=0)
        by_owner[user.pk] = SimpleNamespace(quote=quote, opportunity=quote.opportunity, lead=quote.opportunity.lead)
    invoice = factories.invoice(owner=other_team_seller)
    other = by_owner[other_team_seller.pk]
    other.invoice, other.order, other.billed_quote = invoice, invoice.order, invoice.order.quote
    return SimpleNamespace(mine=by_owner[seller.pk], teammates=by_owner[teammate.pk], other=other)


def visible(model, user) -> set[int]:
    return set(model.objects.visible_to(user).values_list("pk", flat=True))


def test_seller_sees_own_and_team_records_when_team_visibility_is_on(settings, world, seller):
    settings.SALESFLOW_SELLERS_SEE_TEAM = True

    assert visible(Lead, seller) == {world.mine.lead.pk, world.teammates.lead.pk}
    assert visible(Opportunity, seller) == {world.mine.opportunity.pk, world.teammates.opportunity.pk}
    assert visible(Quote, seller) == {world.mine.quote.pk, world.teammates.quote.pk}
    assert visible(Order, seller) == set()
    assert visible(Invoice, seller) == set()


def test_seller_sees_only_own_records_when_team_visibility_is_off(settings, world, seller):
    settings.SALESFLOW_SELLERS_SEE_TEAM = False

    assert visible(Lead, seller) == {world.mine.lead.pk}
    assert visible(Opportunity, seller) == {world.mine.opportunity.pk}
    assert visible(Quote, seller) == {world.mine.quote.pk}


def test_seller_of_another_team_sees_none_of_this_teams_records(world, other_team_seller):
    billed_lead = world.other.billed_quote.opportunity.lead
    assert visible(Lead, other_team_seller) == {world.other.lead.pk, billed_lead.pk}
    assert world.mine.lead.pk not in visible(Lead, other_team_seller)
    assert world.mine.quote.pk not in visible(Quote, other_team_seller)
    assert visible(Invoice, other_team_seller) == {world.other.invoice.pk}


def test_a_record_outside_scope_is_simply_absent(world, other_team_seller):
    with pytest.raises(Lead.DoesNotExist):
        Lead.objects.visible_to(other_team_seller).get(pk=world.mine.lead.pk)


def test_manager_sees_the_managed_teams_records_but_not_other_teams(settings, world, manager):
    settings.SALESFLOW_SELLERS_SEE_TEAM = False  # managers see their teams regardless

    assert visible(Lead, manager) == {world.mine.lead.pk, world.teammates.lead.pk}
    assert visible(Quote, manager) == {world.mine.quote.pk, world.teammates.quote.pk}
    assert visible(Invoice, manager) == set()


def test_manager_also_sees_own_records_outside_the_team(world, manager):
    own = factories.lead(owner=manager, team=None)
    assert own.pk in visible(Lead, manager)


def test_accountant_sees_every_financial_record_but_not_other_teams_leads(world, accountant):
    assert visible(Quote, accountant) == set(Quote.objects.values_list("pk", flat=True))
    assert len(visible(Quote, accountant)) == 4
    assert visible(Order, accountant) == {world.other.order.pk}
    assert visible(Invoice, accountant) == {world.other.invoice.pk}
    assert visible(Lead, accountant) == set()
    assert visible(Opportunity, accountant) == set()


def test_admin_role_sees_everything(world, admin_role_user):
    for model in (Lead, Opportunity, Quote, Order, Invoice):
        assert visible(model, admin_role_user) == set(model.objects.values_list("pk", flat=True))
    assert len(visible(Lead, admin_role_user)) == 4


@pytest.mark.parametrize("flag", ["is_superuser", "is_staff"])
def test_superuser_and_staff_see_everything(world, flag):
    user = factories.UserFactory(**{flag: True})
    for model in (Lead, Opportunity, Quote, Order, Invoice):
        assert visible(model, user) == set(model.objects.values_list("pk", flat=True))


def test_anonymous_sees_nothing(world):
    assert not Lead.objects.visible_to(AnonymousUser()).exists()
    assert not scope(Invoice.objects.all(), AnonymousUser(), financial=True).exists()


def test_a_user_without_role_or_team_sees_nothing(world):
    nobody = factories.UserFactory()
    for model in (Lead, Opportunity, Quote, Order, Invoice):
        assert visible(model, nobody) == set()


def test_scope_keeps_rows_unique_for_members_of_several_teams(world, seller, settings):
    settings.SALESFLOW_SELLERS_SEE_TEAM = True
    second_team = factories.TeamFactory(name="Second team")
    second_team.members.add(seller, world.teammates.lead.owner)

    leads = list(Lead.objects.visible_to(seller))
    assert len(leads) == len({lead.pk for lead in leads}) == 2


def test_scope_composes_with_other_filters(world, seller):
    assert list(Lead.objects.filter(state="qualified").visible_to(seller).order_by("pk")) == [
        world.mine.lead, world.teammates.lead
    ]


# --- the query behind scope() ----------------------------------------------------------------------------------------
def test_scope_filters_on_the_records_own_columns_without_joins_or_subqueries(world, seller, manager):
    for user in (seller, manager):
        sql = str(Lead.objects.visible_to(user).query).upper()
        assert "JOIN" not in sql and sql.count("SELECT") == 1, sql


def test_the_users_teams_are_read_once_per_request(world, seller, django_assert_num_queries):
    user = type(seller).objects.get(pk=seller.pk)  # a fresh user object, as each request loads one
    with django_assert_num_queries(2):  # roles, teams and permissions (one UNION query), the leads
        list(Lead.objects.visible_to(user))
    with django_assert_num_queries(1):  # a second list on the same page: only the rows
        list(Opportunity.objects.visible_to(user))
    with django_assert_num_queries(0):  # the permissions came with the roles and teams
        assert user.has_perm("leads.qualify_lead")
        assert not user.has_perm("invoices.issue_invoice")


def test_permissions_are_read_with_roles_and_teams_in_one_query(seller, accountant, django_assert_num_queries):
    for person, granted, refused in ((seller, "leads.qualify_lead", "invoices.issue_invoice"),
                                     (accountant, "invoices.issue_invoice", "leads.qualify_lead")):
        user = type(person).objects.get(pk=person.pk)
        with django_assert_num_queries(1):
            assert user.has_perm(granted)
            assert not user.has_perm(refused)
            assert has_role(user, Role.ACCOUNTANT) == (person == accountant)


def test_a_manager_without_team_membership_sees_the_managed_team_only(world, manager, other_team_seller):
    assert world.other.lead.pk not in visible(Lead, manager)
    assert world.mine.lead.pk in visible(Lead, manager)


# --- require(): who may do what ---------------------------------------------------------------------------------------
def test_require_refuses_a_role_without_the_permission_with_a_clear_message(seller):
    with pytest.raises(NotAllowed, match="Your role does not allow this: Issue invoices") as refused:
        require(seller, "invoices.issue_invoice")
    assert isinstance(refused.value, DomainError)  # views show it like any refused business rule
    assert refused.value.permission == "invoices.issue_invoice"


def test_require_lets_the_system_superusers_and_granted_roles_through(accountant, manager):
    require(None, "invoices.issue_invoice")  # beat tasks and management commands act as the system
    require(accountant, "invoices.issue_invoice")
    require(manager, "opportunities.reopen_opportunity")
    require(factories.UserFactory(is_superuser=True), "opportunities.reopen_opportunity")


def test_an_inactive_user_may_do_nothing(accountant):
    accountant.is_active = False
    assert not allowed(accountant, "invoices.issue_invoice")


def test_the_refusal_is_translated(seller):
    with translation.override("de"), pytest.raises(NotAllowed, match="Rechnungen ausstellen"):
        require(seller, "invoices.issue_invoice")


# --- the grants per role ---------------------------------------------------------------------------------------------
def perms_of(role: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=role).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_only_accountants_issue_invoices_record_payments_and_credit():
    money_moves = {"invoices.issue_invoice", "invoices.record_payment", "invoices.credit_invoice"}
    assert money_moves <= perms_of("accountant")
    assert not money_moves & perms_of("seller")
    assert not money_moves & perms_of("sales_manager")


def test_only_managers_reopen_lost_deals_and_change_pipelines():
    assert {"opportunities.reopen_opportunity", "opportunities.change_stage"} <= perms_of("sales_manager")
    assert not {"opportunities.reopen_opportunity", "opportunities.change_stage"} & perms_of("seller")
    assert "opportunities.reopen_opportunity" not in perms_of("accountant")


def test_accountants_hold_no_pipeline_permission_at_all():
    assert not {perm for perm in perms_of("accountant") if perm.split(".")[0] in ("leads", "opportunities")}
    quote_perms = {perm for perm in perms_of("accountant") if perm.startswith("quotes.")}
    assert quote_perms == {"quotes.view_quote"}


def test_sellers_work_the_whole_pipeline():
    assert {
        "leads.qualify_lead", "leads.disqualify_lead", "opportunities.move_opportunity",
        "opportunities.win_opportunity", "opportunities.lose_opportunity", "quotes.send_quote", "quotes.accept_quote",
        "orders.fulfil_order",
        "invoices.add_invoice",
    } <= perms_of("seller")


def test_the_admin_group_holds_every_permission_of_our_apps():
    ours = set(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS).values_list("codename", flat=True))
    assert {perm.split(".")[1] for perm in perms_of("admin")} == ours


def test_every_transition_permission_is_granted_to_some_role():
    granted = perms_of("seller") | perms_of("sales_manager") | perms_of("accountant")
    for model in (Lead, Opportunity, Quote, Order, Invoice):
        for codename, _label in model._meta.permissions:
            assert f"{model._meta.app_label}.{codename}" in granted, codename


# --- the services refuse, whatever path calls them --------------------------------------------------------------
def test_a_seller_cannot_record_a_payment_and_nothing_is_written(seller):
    invoice = factories.invoice(owner=seller, issued=True)
    with pytest.raises(NotAllowed):
        payment_record(invoice=invoice, actor=seller, amount=Money("10.00", "EUR"))
    invoice.refresh_from_db()
    assert invoice.state == "issued" and not invoice.payments.exists()


def test_a_seller_cannot_reopen_a_lost_deal_but_the_manager_can(seller, manager):
    opportunity = factories.opportunity(owner=seller)
    opportunity = opportunity_lose(opportunity=opportunity, actor=seller, reason="price")
    with pytest.raises(NotAllowed):
        opportunity_reopen(opportunity=opportunity, actor=seller)
    opportunity.refresh_from_db()
    assert opportunity.state == "lost"
    assert opportunity_reopen(opportunity=opportunity, actor=manager).state == "open"


def test_an_accountant_cannot_change_a_pipeline_record_even_in_scope(seller, accountant):
    lead = factories.lead(owner=seller)
    with pytest.raises(NotAllowed):
        lead_update(lead=lead, actor=accountant, company="Changed")
    with pytest.raises(NotAllowed):
        opportunity_win(opportunity=factories.opportunity(owner=seller), actor=accountant)
    lead.refresh_from_db()
    assert lead.company != "Changed"


# --- admin --------------------------------------------------------------------------------------------------
def test_admin_querysets_are_scoped(world, seller, rf):
    from django.contrib import admin as django_admin  # noqa: PLC0415

    request = rf.get("/admin/")
    request.user = seller
    for model in (Lead, Opportunity, Quote, Order, Invoice):
        model_admin = django_admin.site._registry[model]
        assert set(model_admin.get_queryset(request).values_list("pk", flat=True)) == visible(model, seller), model


def test_an_admin_action_obeys_the_permissions(client, seller):
    # Admin access and Django's "change invoice", but not the accountant's "issue invoices".
    staff = factories.UserFactory(role="seller", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_invoice"))
    invoice = factories.invoice(owner=seller)
    client.force_login(staff)

    response = client.post(reverse("admin:invoices_invoice_changelist"),
                           {"action": "issue_invoices", "_selected_action": [invoice.pk]}, follow=True)

    assert "Your role does not allow this" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.state == "draft" and invoice.number is None
