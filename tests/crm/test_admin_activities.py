"""The Activity admin shows each user only the activities the pages and the API would show them."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from crm.models import Activity, ActivityKind
from leads.services import activity_log
from tests import factories

pytestmark = pytest.mark.django_db


def admin_list(user) -> set[str]:
    request = RequestFactory().get(reverse("admin:crm_activity_changelist"))
    request.user = user
    return set(admin.site._registry[Activity].get_queryset(request).values_list("subject", flat=True))


@pytest.fixture
def activities(seller, other_team_seller):
    deal = factories.opportunity(owner=seller)
    other_deal = factories.opportunity(owner=other_team_seller)
    activity_log(target=deal, actor=seller, kind=ActivityKind.CALL, subject="Call about our deal")
    activity_log(target=other_deal, actor=other_team_seller, kind=ActivityKind.NOTE, subject="Their note")
    # Logged by the other team's seller on our deal (before it changed hands): still theirs to see.
    activity_log(target=deal, actor=other_team_seller, kind=ActivityKind.NOTE, subject="Handover note")
    return deal


def test_a_seller_sees_activities_on_visible_records_and_their_own(activities, seller, other_team_seller):
    assert admin_list(seller) == {"Call about our deal", "Handover note"}
    assert admin_list(other_team_seller) == {"Their note", "Handover note"}


def test_the_teams_manager_sees_the_teams_activities_but_not_other_teams(activities, manager):
    assert admin_list(manager) == {"Call about our deal", "Handover note"}


@pytest.mark.parametrize("flags", [{"is_staff": True}, {"is_superuser": True}])
def test_staff_and_superusers_see_every_activity(activities, flags):
    assert admin_list(factories.UserFactory(**flags)) == {"Call about our deal", "Their note", "Handover note"}


def test_the_scoped_list_is_one_query_however_many_activities(activities, seller, django_assert_max_num_queries):
    for number in range(20):
        activity_log(target=activities, actor=seller, kind=ActivityKind.TASK, subject=f"Task {number}")
    admin_list(seller)  # the user's roles and teams are read once and cached on the user
    with django_assert_max_num_queries(1):
        assert len(admin_list(seller)) == 22


def test_the_admin_changelist_of_a_staff_user_lists_activities(activities, client):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:crm_activity_changelist")).content.decode()
    assert "Call about our deal" in page and "Their note" in page
