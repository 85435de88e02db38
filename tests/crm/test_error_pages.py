import pytest
from django.test import override_settings

from tests import factories


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_a_record_of_another_team_is_a_friendly_404_with_a_way_back(client, seller, other_team_seller):
    opportunity = factories.opportunity(owner=seller)
    client.force_login(other_team_seller)

    response = client.get(opportunity.get_absolute_url())

    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert opportunity.name not in body
    assert 'href="/"' in body  # the dashboard link
