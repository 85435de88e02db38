"""The seller's own API token page (user menu → API token)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

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
