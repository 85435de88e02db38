"""Planned activities: due dates, "My next activities", done/undo."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Activity
from leads.services import activity_log
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_an_activity_with_a_due_date_is_planned_from_the_record_page(seller_client, seller):
    opp = factories.opportunity(owner=seller)

    seller_client.post(reverse("opportunities:log_activity", args=[opp.pk]),
                       {"kind": "call", "subject": "Follow up", "due_at": "2030-05-04T09:30"})

    activity = Activity.objects.get()
    assert activity.target == opp and activity.due_at is not None and not activity.done
    assert timezone.localtime(activity.due_at).strftime("%Y-%m-%d %H:%M") == "2030-05-04 09:30"


def test_my_next_activities_lists_mine_due_first_with_overdue_highlighted(seller_client, seller, teammate):
    opp = factories.opportunity(owner=seller, company="Due Co")
    now = timezone.now()
    activity_log(target=opp, actor=seller, kind="call", subject="Tomorrow call", due_at=now + timedelta(days=1))
    activity_log(target=opp, actor=seller, kind="task", subject="Overdue task", due_at=now - timedelta(days=2))
    activity_log(target=opp, actor=seller, kind="note", subject="Undated note")
    activity_log(target=opp, actor=teammate, kind="call", subject="Teammate call", due_at=now)

    content = seller_client.get(reverse("opportunities:activities")).content.decode()

    assert content.index("Overdue task") < content.index("Tomorrow call")
    # Without a due date it was logged, not planned (the activity form says so): not a to-do.
    assert "Undated note" not in content
    assert "Teammate call" not in content
    assert content.count('data-overdue="true"') == 1
    assert "Due Co" in content  # linked to the deal


def test_done_and_undo_toggle(seller_client, seller):
    opp = factories.opportunity(owner=seller)
    activity = activity_log(target=opp, actor=seller, kind="call", subject="Ring", due_at=timezone.now())
    url = reverse("opportunities:activity_done", args=[activity.pk])

    response = seller_client.post(url, {"done": "on"}, **HTMX)
    activity.refresh_from_db()
    assert response.status_code == 200 and activity.done
    assert "Ring" not in seller_client.get(reverse("opportunities:activities")).content.decode()

    seller_client.post(url, {"done": ""})
    activity.refresh_from_db()
    assert not activity.done


def test_someone_elses_activity_cannot_be_ticked(client, seller, teammate):
    activity = activity_log(target=factories.opportunity(owner=seller), actor=seller, kind="call",
                                 subject="Mine")
    client.force_login(teammate)

    assert client.post(reverse("opportunities:activity_done", args=[activity.pk]), {"done": "on"}).status_code == 404
    activity.refresh_from_db()
    assert not activity.done


def test_activities_page_query_count_is_bounded(seller_client, seller, django_assert_max_num_queries):
    opp = factories.opportunity(owner=seller)
    lead = factories.lead(owner=seller)
    for i in range(30):
        activity_log(target=opp if i % 2 else lead, actor=seller, kind="call", subject=f"Call {i}",
                          due_at=timezone.now() + timedelta(hours=i))

    with django_assert_max_num_queries(12):
        response = seller_client.get(reverse("opportunities:activities"))

    assert response.content.decode().count('data-testid="activity"') == 25
