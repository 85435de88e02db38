"""The home page tells a seller what to do next: their open activities, soonest due first, each linked to its
deal or lead, in a bounded number of queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Activity, ActivityKind
from tests import factories

pytestmark = pytest.mark.django_db


def plan(target, owner, subject: str, *, due_in: timedelta | None, done: bool = False) -> Activity:
    return Activity.objects.create(target=target, owner=owner, kind=ActivityKind.CALL, subject=subject,
                                   due_at=timezone.now() + due_in if due_in is not None else None, done=done)


def card(content: str) -> str:
    found = re.search(r'data-testid="next-activities".*?</ul>', content, re.S)
    assert found, "the home page has no next-activities card"
    return found.group(0)


def test_home_lists_my_open_activities_soonest_first_with_their_deal_or_lead(seller_client, seller):
    deal = factories.opportunity(owner=seller)
    lead = factories.lead(owner=seller, company="Lead Co")
    plan(deal, seller, "Send the revised offer", due_in=timedelta(days=2))
    plan(lead, seller, "First call", due_in=timedelta(hours=-3))  # overdue
    plan(deal, seller, "Called, left a message", due_in=None)  # no due date: a log entry, nobody's to-do
    plan(deal, seller, "Already called", due_in=timedelta(days=-1), done=True)
    plan(deal, factories.UserFactory(), "Someone else's call", due_in=timedelta(days=1))

    shown = card(seller_client.get(reverse("crm:home")).content.decode())

    subjects = re.findall(r"</span> ([^<]+)</div>", shown)
    assert subjects == ["First call", "Send the revised offer"]
    assert shown.count('data-overdue="true"') == 1 and "overdue" in shown.split("Send the revised offer")[0]
    assert f'href="{deal.get_absolute_url()}"' in shown and f'href="{lead.get_absolute_url()}"' in shown


def test_home_without_activities_says_so_and_links_the_full_list(seller_client):
    shown = card(seller_client.get(reverse("crm:home")).content.decode())

    assert "No open activities. Plan the next call or meeting on a deal." in shown
    assert f'href="{reverse("opportunities:activities")}"' in seller_client.get(reverse("crm:home")).content.decode()


def test_home_queries_do_not_grow_with_the_number_of_activities(seller_client, seller, django_assert_max_num_queries):
    deal = factories.opportunity(owner=seller)
    lead = factories.lead(owner=seller)
    for n in range(20):
        plan(deal if n % 2 else lead, seller, f"Task {n}", due_in=timedelta(hours=n))

    with django_assert_max_num_queries(12):
        content = seller_client.get(reverse("crm:home")).content.decode()

    assert card(content).count('data-testid="activity"') == 6
