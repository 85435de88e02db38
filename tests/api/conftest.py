"""Fixtures of the API tests: clients authenticated with a real token (the header a script sends)."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def api(seller) -> APIClient:
    """`seller` (member of `team`) calling the API with their token."""
    return token_client(seller)


@pytest.fixture
def other_api(other_team_seller) -> APIClient:
    """A seller of another team: must see none of `seller`'s records."""
    return token_client(other_team_seller)


@pytest.fixture
def accountant_api(accountant) -> APIClient:
    return token_client(accountant)
