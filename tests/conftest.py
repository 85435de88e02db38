"""Shared fixtures. Celery tasks run eagerly (in-process) unless a test is marked `worker`, which needs a
real worker on a real broker (see tests/test_worker.py and .ci/run)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.utils import translation

from crm.celery import app as celery_app
from tests import factories


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """Keep `serialized_rollback` working in every context.

    Django restores the data created by migrations (roles, default stages) for transactional tests from
    `connection._test_serialized_contents`, set on the connection object of the context that created the
    test database. Code running in another context — inside Playwright's sync API, which the e2e browser
    fixture keeps open for the session — gets a fresh connection object without it, and the restore is
    silently skipped. Putting the contents on the wrapper class makes every connection object carry it.
    """
    from django.db import connections

    for connection in connections.all():
        contents = getattr(connection, "_test_serialized_contents", None)
        if contents is not None:
            type(connection)._test_serialized_contents = contents
    yield


@pytest.fixture(autouse=True)
def _eager_celery_and_tmp_media(request, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # PBKDF2 costs ~0.5 s per user created; tests do not need a strong hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if request.node.get_closest_marker("worker"):
        yield
        return
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _site_language_after_each_test():
    """A request of a German-speaking user activates German for the thread (crm.middleware, as Django's
    LocaleMiddleware does) until the next request; the next test must not start in it."""
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture
def team(db):
    return factories.TeamFactory()


@pytest.fixture
def seller(team):
    user = factories.UserFactory(role="seller")
    team.members.add(user)
    return user


@pytest.fixture
def other_team_seller(db):
    other = factories.TeamFactory(name="Other team")
    user = factories.UserFactory(role="seller")
    other.members.add(user)
    return user


@pytest.fixture
def seller_client(client, seller):
    client.force_login(seller)
    return client


@pytest.fixture
def teammate(team):
    """A second seller of the same team as `seller`."""
    user = factories.UserFactory(role="seller")
    team.members.add(user)
    return user


@pytest.fixture
def manager(team):
    """The sales manager of `team` (manages it without being a member)."""
    user = factories.UserFactory(role="sales_manager")
    team.manager = user
    team.save(update_fields=["manager"])
    return user


@pytest.fixture
def accountant(db):
    return factories.UserFactory(role="accountant")


@pytest.fixture
def admin_role_user(db):
    """A user with the admin role (not a Django superuser)."""
    return factories.UserFactory(role="admin")


@pytest.fixture
def accountant_client(accountant):
    """A client signed in as the accountant (issues invoices, records payments, writes credit notes)."""
    from django.test import Client  # noqa: PLC0415

    client = Client()
    client.force_login(accountant)
    return client
