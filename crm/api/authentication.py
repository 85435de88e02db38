"""API authentication: the user's token, held to the same second-factor rule as a browser session.

TwoFactorEnforcementMiddleware only sees sessions; a token request is authenticated later, by DRF, so a
user who must use two-factor authentication but has not set it up would otherwise reach everything with a
token made before the rule applied to them (or while it was off).
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from rest_framework import authentication, exceptions

from crm import twofactor


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`; refused (403) until a user who needs a second factor has one."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user, token = super().authenticate_credentials(key)
        if twofactor.twofactor_required(user) and not twofactor.twofactor_enabled(user):
            # The answer comes before the view activates the user's language: speak it here already.
            with translation.override(getattr(user, "language", "") or translation.get_language()):
                message = str(twofactor.API_REFUSAL)
            raise exceptions.PermissionDenied(message, code=twofactor.API_REFUSAL_CODE)
        return user, token
