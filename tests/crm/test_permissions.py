"""crm.permissions.scope(): who sees which record. Every page, list and export relies on it."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser

from crm.permissions import scope
from invoices.models import Invoice
from leads.models import Lead
from opportunities.models import Opportunity
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
