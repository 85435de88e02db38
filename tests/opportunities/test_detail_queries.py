"""The record page of a deal costs a fixed number of queries, however long its history and however many
contacts, competitors and activities it has (issue 6: at most 15)."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from crm.models import Activity
from opportunities.selectors import pipeline_stages
from opportunities.services import opportunity_committee_add, opportunity_competitor_add, opportunity_move_stage
from tests import factories

pytestmark = pytest.mark.django_db

# Session, user, the user's roles/teams/permissions (one query), the deal and its parts, the choices of its
# forms, its quotes, the open activities and the timeline (one UNION of transitions, activities, field
# changes and stage changes).
DETAIL_QUERIES = 15


def _grow(opportunity, seller, n: int) -> None:
    stages = pipeline_stages(opportunity.team)
    for i in range(n):
        contact = factories.ContactFactory(account=opportunity.account)
        opportunity_committee_add(opportunity=opportunity, contact=contact, role="influencer", actor=seller)
        opportunity_competitor_add(opportunity=opportunity, actor=seller, name=f"Rival {opportunity.pk}-{i}")
        opportunity = opportunity_move_stage(opportunity=opportunity, stage=stages[(i + 1) % 2], actor=seller)
        Activity.objects.create(
            subject=f"Call {i}", owner=seller, content_type=ContentType.objects.get_for_model(opportunity),
            object_id=opportunity.pk, done=i % 2 == 0,
        )


def test_detail_query_count_does_not_grow_with_the_deal(seller_client, seller, django_assert_max_num_queries):
    small = factories.opportunity(owner=seller)
    large = factories.opportunity(owner=seller)
    _grow(small, seller, 1)
    _grow(large, seller, 8)
    seller_client.get(reverse("opportunities:detail", args=[small.pk]))  # warm: sessions, content types

    with django_assert_max_num_queries(DETAIL_QUERIES) as small_queries:
        small_page = seller_client.get(reverse("opportunities:detail", args=[small.pk]))
    with django_assert_max_num_queries(DETAIL_QUERIES) as large_queries:
        large_page = seller_client.get(reverse("opportunities:detail", args=[large.pk]))

    assert small_page.status_code == large_page.status_code == 200
    assert len(large_queries.captured_queries) == len(small_queries.captured_queries)
    # The selects built from one query each still offer every choice.
    html = large_page.content.decode()
    assert html.count('name="contact"') == 1
    assert all(f"Rival {large.pk}-{i}" in html for i in range(8))
    contacts = large.account.contacts.all()
    assert all(f'<option value="{c.pk}">' in html for c in contacts)
