"""Sign-in (password, throttled), the second sign-in step (TOTP or recovery code) and the Security page."""

from __future__ import annotations

import time
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from crm import twofactor
from crm.models import User
from crm.security import (
    client_ip,
    throttle_message,
    throttle_register_failure,
    throttle_reset,
    throttle_wait_seconds,
)
from crm.workflow import DomainError

PENDING_KEY = "salesflow_2fa_pending"
SETUP_SECRET_KEY = "salesflow_2fa_setup_secret"
# The second step must follow the password step closely; a stale half sign-in starts over.
PENDING_MAX_AGE = 5 * 60


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"), max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True,
                                      "class": "form-control"}),
    )


class SalesflowLoginView(LoginView):
    """Django's login with a throttle in front and a second step for users with 2FA on."""

    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = request.POST.get("username", "")
        wait = throttle_wait_seconds(scope="login", username=username, ip=client_ip(request))
        if wait:
            # Refused before the password is even checked: during the cool-off the right password does not
            # help an attacker, and the attempt does not extend the cool-off of the real user.
            form = self.form_class(request, initial={"username": username})
            context = self.get_context_data(form=form, throttled=throttle_message(wait))
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: forms.Form) -> HttpResponse:
        throttle_register_failure(scope="login", username=self.request.POST.get("username", ""),
                                  ip=client_ip(self.request))
        return super().form_invalid(form)

    def form_valid(self, form: forms.Form) -> HttpResponse:
        user = form.get_user()
        throttle_reset(scope="login", username=self.request.POST.get("username", ""), ip=client_ip(self.request))
        if not twofactor.twofactor_enabled(user):
            return super().form_valid(form)
        # Not signed in yet: the session only remembers who passed the password step, and when.
        self.request.session.cycle_key()
        self.request.session[PENDING_KEY] = {
            "user_id": user.pk, "backend": user.backend, "at": time.time(), "next": self.get_success_url(),
        }
        return redirect("login_verify")


@sensitive_post_parameters("code")
@never_cache
def login_verify(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_KEY)
    user = User.objects.filter(pk=pending["user_id"], is_active=True).first() if pending else None
    if user is None or time.time() - pending["at"] > PENDING_MAX_AGE:
        request.session.pop(PENDING_KEY, None)
        messages.info(request, _("Please sign in again."))
        return redirect("login")
    form = CodeForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST":
        ip = client_ip(request)
        wait = throttle_wait_seconds(scope="2fa", username=user.username, ip=ip)
        if wait:
            error, status = throttle_message(wait), 429
        elif form.is_valid() and twofactor.twofactor_check(user=user, code=form.cleaned_data["code"]):
            throttle_reset(scope="2fa", username=user.username, ip=ip)
            del request.session[PENDING_KEY]
            auth_login(request, user, backend=pending["backend"])
            next_url = pending["next"]
            if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
                next_url = reverse("crm:home")
            return HttpResponseRedirect(next_url)
        else:
            throttle_register_failure(scope="2fa", username=user.username, ip=ip)
            error, status = _("That code did not match. Try the current code, or one of your recovery codes."), 400
    return render(request, "registration/login_verify.html", {"form": form, "error": error}, status=status)


def _render_codes(request: HttpRequest, codes: list[str]) -> HttpResponse:
    return render(request, "registration/recovery_codes.html", {"codes": codes})


@sensitive_post_parameters("code")
@never_cache
@login_required
def security(request: HttpRequest) -> HttpResponse:
    """Turn the second factor on (QR + confirm), off (needs a code), or get new recovery codes."""
    user = request.user
    enabled = twofactor.twofactor_enabled(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        action, code = request.POST.get("action"), form.cleaned_data["code"]
        try:
            if action == "enable" and not enabled:
                secret = request.session.get(SETUP_SECRET_KEY) or ""
                codes = twofactor.twofactor_enable(user=user, secret=secret, code=code)
                request.session.pop(SETUP_SECRET_KEY, None)
                messages.success(request, _("Two-factor authentication is on."))
                return _render_codes(request, codes)
            if action == "regenerate" and enabled:
                codes = twofactor.twofactor_regenerate_codes(user=user, code=code)
                messages.success(request, _("New recovery codes were made; the old ones no longer work."))
                return _render_codes(request, codes)
            if action == "disable" and enabled:
                twofactor.twofactor_disable(user=user, code=code)
                messages.success(request, _("Two-factor authentication is off."))
                return redirect("security")
        except DomainError as exc:
            form.add_error("code", str(exc))
    context: dict[str, Any] = {
        "enabled": enabled, "form": form, "required": twofactor.twofactor_required(user),
        "acted": request.POST.get("action", ""),
    }
    if enabled:
        context["codes_left"] = twofactor.recovery_codes_left(user)
    else:
        secret = request.session.get(SETUP_SECRET_KEY) or twofactor.new_secret()
        request.session[SETUP_SECRET_KEY] = secret
        uri = twofactor.provisioning_uri(user=user, secret=secret)
        context.update(secret=secret, qr=twofactor.qr_data_uri(uri))
    return render(request, "registration/security.html", context, status=400 if form.errors else 200)
