"""The seller's own API token page (user menu → API token), and the JSON 404 of unknown API addresses."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from crm import services


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request: HttpRequest) -> HttpResponse:
    """Show whether the user has a token; POST creates a new one (shown once, here) or revokes it.

    The key is shown only in the answer to the POST that made it, so it does not sit in pages, history
    or caches afterwards: a lost key is replaced, not looked up."""
    new_key = ""
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            services.api_token_revoke(user=request.user)
        else:
            new_key = services.api_token_regenerate(user=request.user).key
    token = Token.objects.filter(user=request.user).first()
    response = render(request, "crm/api_token.html", {"token": token, "new_key": new_key})
    response["Cache-Control"] = "no-store"
    return response


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@permission_classes([AllowAny])
def not_found(request: Request, path: str = "") -> Response:
    """Any other address under /api/: a JSON 404 like the endpoints' own, not the HTML page of the site.
    The usual authentication still runs, so a session POST without its CSRF token is refused (403) here too."""
    raise NotFound()
