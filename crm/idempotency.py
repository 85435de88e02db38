"""One-time form tokens: the same form POSTed twice (a double click, a resubmit after a slow response, a
reload of the result page) does its work once.

A create form renders `{% form_token %}` (a fresh random token each time it is rendered). `@submit_once`
stores the token, with a unique constraint, in the same transaction as the work the view does. A second
request with that token cannot insert it (on PostgreSQL it waits until the first commits), finds the first
request's result and is redirected there with a notice instead of creating a second record.

Only a redirect counts as a result (POST/redirect/GET): when the view answers with a page (the form
again, with errors), the token is released, since nothing was created and the user may send it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import FormSubmission

FIELD = "form_token"
View = Callable[..., HttpResponse]


def new_token() -> str:
    return uuid.uuid4().hex


def submit_once(view: View) -> View:
    """Make a POST view that creates something idempotent per rendered form (see the module docstring).

    Requests without a token (an old page, a script) are served as before."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        raw = request.POST.get(FIELD, "") if request.method == "POST" else ""
        if not raw or not request.user.is_authenticated:
            return view(request, *args, **kwargs)
        try:
            token = uuid.UUID(raw)
        except ValueError:
            return HttpResponseBadRequest(_("The form was damaged in transit; reload the page and send it again."))
        with transaction.atomic():
            try:
                with transaction.atomic():
                    submission = FormSubmission.objects.create(token=token, user=request.user)
            except IntegrityError:
                submission = None
            if submission is not None:
                response = view(request, *args, **kwargs)
                if response.status_code in (301, 302, 303) and response.get("Location"):
                    submission.result_url = response["Location"][:500]
                    submission.save(update_fields=["result_url"])
                else:
                    submission.delete()
                return response
        return _replay(request, token)

    return wrapper


def _replay(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    first = FormSubmission.objects.filter(token=token, user=request.user).first()
    if first is None or not first.result_url:
        # Another user's token, or the first request is gone without a result: refuse, write nothing.
        return HttpResponseBadRequest(_("This form was already sent; reload the page to send it again."))
    messages.info(request, _("This form had already been sent: here is what it did."))
    return redirect(first.result_url)


def forget_old_tokens(*, days: int = 7) -> int:
    """Delete tokens older than `days` (a form is not resubmitted a week later); returns how many."""
    cutoff = timezone.now() - timedelta(days=days)
    return FormSubmission.objects.filter(created_at__lt=cutoff).delete()[0]
