"""The opportunity page shows each quote once, at its current version; the versions it replaced are one click away.
Also: the navigation bar reaches the pipeline report and the seller's activities."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from quotes.models import Quote, QuoteState
from quotes.selectors import quote_chains
from quotes.services import quote_cancel, quote_create_from_opportunity, quote_revise, quote_send
from tests import factories


def test_the_opportunity_page_lists_the_current_version_and_links_the_replaced_ones(seller_client, seller):
    v1 = factories.quote(owner=seller, sent=True)
    opportunity = v1.opportunity
    v2 = quote_send(quote=quote_revise(quote=v1, actor=seller), actor=seller)
    v3 = quote_revise(quote=v2, actor=seller)
    other = quote_create_from_opportunity(opportunity=opportunity, actor=seller)

    content = seller_client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()

    section = content[content.index('data-testid="quotes"'):content.index("</ul>", content.index('data-testid="older'))]
    current_links = re.findall(r'<div class="d-flex[^>]*>\s*<a href="([^"]+)"', section)
    assert sorted(current_links) == sorted([v3.get_absolute_url(), other.get_absolute_url()])
    assert "2 earlier versions" in content
    assert v1.get_absolute_url() in section and v2.get_absolute_url() in section


def test_a_chain_whose_revision_was_cancelled_shows_that_revision_as_current(seller):
    v1 = factories.quote(owner=seller, sent=True)
    v2 = quote_revise(quote=v1, actor=seller)
    v2 = quote_cancel(quote=v2, actor=seller)

    [chain] = quote_chains(Quote.objects.filter(opportunity=v1.opportunity))
    assert chain.current == v2 and chain.current.state == QuoteState.CANCELLED
    assert chain.older == [Quote.objects.get(pk=v1.pk)]


def test_the_opportunity_page_needs_no_more_queries_for_more_versions(
    seller_client, seller, django_assert_max_num_queries
):
    v1 = factories.quote(owner=seller, sent=True)
    url = reverse("opportunities:detail", args=[v1.opportunity.pk])
    seller_client.get(url)

    with CaptureQueriesContext(connection) as one_version:
        seller_client.get(url)
    v2 = quote_send(quote=quote_revise(quote=v1, actor=seller), actor=seller)
    quote_revise(quote=v2, actor=seller)

    with django_assert_max_num_queries(len(one_version)):
        seller_client.get(url)


def test_the_navigation_bar_links_the_pipeline_report_and_my_activities(seller_client):
    content = seller_client.get(reverse("opportunities:report")).content.decode()

    report, activities = reverse("opportunities:report"), reverse("opportunities:activities")
    assert f'aria-current="page" href="{report}">Pipeline report<' in content
    assert f'href="{activities}">My activities<' in content
    # Only the page's own entry is current, not "Pipeline" as well.
    assert content.count("nav-link active") == 1
