"""Every error the API returns is JSON with a human message: {"detail": "...", "code": "..."}.

A refused business rule (DomainError) is a 400, a step the user's role may not take a 403, or a 409 when
the record's state does not allow the transition (it may have changed since the client loaded it). A record
outside the user's scope is a 404 exactly like one that does not exist, so the answer confirms nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from crm.permissions import NotAllowed
from crm.workflow import DomainError, TransitionError


def _first_message(errors: Any) -> str:
    if isinstance(errors, dict):
        for key, value in errors.items():
            message = _first_message(value)
            if message:
                return message if key in ("non_field_errors", "__all__") else f"{key}: {message}"
        return ""
    if isinstance(errors, list | tuple):
        for value in errors:
            message = _first_message(value)
            if message:
                return message
        return ""
    return str(errors)


def domain_error_response(exc: DomainError) -> Response:
    if isinstance(exc, NotAllowed):  # the record is visible, the role may not do this: the same rule as the pages
        return Response({"detail": str(exc), "code": "not_allowed"}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, TransitionError):
        return Response({"detail": str(exc), "code": "transition_not_allowed"}, status=status.HTTP_409_CONFLICT)
    return Response({"detail": str(exc), "code": "refused"}, status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, DjangoValidationError):
        # A model's full_clean() inside a service: same shape as a serializer's validation error.
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(errors)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "detail": _first_message(exc.detail) or _("Invalid input."),
            "code": "invalid",
            "errors": exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail},
        }
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {
            "detail": _first_message(exc.detail) or str(exc.default_detail),
            "code": codes if isinstance(codes, str) else exc.default_code,
        }
    return response
