"""URLs that fail on purpose, to prove what a visitor sees (and does not see) when something breaks."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


@login_required
def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret-detail: the database password is hunter2")


def boom_sql(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_column FROM no_such_table")
    return HttpResponse()


def bad_request(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("secret-detail: tampered signature")


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("secret-detail: role check")


urlpatterns = [
    path("boom/", boom),
    path("boom-sql/", boom_sql),
    path("bad-request/", bad_request),
    path("forbidden/", forbidden),
    path("", include("crm.urls")),
]
