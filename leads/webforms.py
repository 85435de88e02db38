"""The public web-to-lead endpoint's rules: per-IP rate limit, honeypot, strict validation, and the HTML
snippet a website pastes. CSRF does not apply (a foreign site posts here); the form's token is the key."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.workflow import DomainError
from leads.models import Lead, WebForm

HONEYPOT = "website_url"
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign")
# Fields a browser adds on its own; accepted and ignored.
IGNORED = {"submit", "csrfmiddlewaretoken"}
RATE_LIMIT_PER_MINUTE = getattr(settings, "LEADS_WEB_TO_LEAD_PER_MINUTE", 10)
MAX_BODY_BYTES = 64 * 1024


class WebFormInvalid(DomainError):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(_("The form has errors."))
        self.errors = errors


def rate_limited(ip: str) -> bool:
    """Count this request against the IP's budget for the current minute (shared cache across processes)."""
    key = f"leads:w2l:{ip}:{timezone.now():%Y%m%d%H%M}"
    cache.add(key, 0, timeout=90)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=90)
        count = 1
    return count > RATE_LIMIT_PER_MINUTE


def _form_class(web_form: WebForm) -> type[forms.Form]:
    lead_field = {f.name: f for f in Lead._meta.fields}
    fields: dict[str, forms.Field] = {}
    for name in web_form.fields:
        if name == "notes":
            field = forms.CharField(max_length=5000, required=False)
        elif name == "country":
            field = forms.RegexField(
                r"^[A-Za-z]{2}$", required=False,
                error_messages={"invalid": gettext_lazy("Use a two-letter country code, e.g. DE.")},
            )
        else:
            field = lead_field[name].formfield()
        field.required = name == "last_name" or name in web_form.required_fields
        fields[name] = field
    for name in UTM_FIELDS:
        fields[name] = forms.CharField(max_length=100, required=False)
    return type("WebToLeadForm", (forms.Form,), fields)


def is_spam(data: dict[str, Any]) -> bool:
    return bool(str(data.get(HONEYPOT, "")).strip())


def web_to_lead_submit(*, web_form: WebForm, data: dict[str, Any]) -> Lead:
    """Validate a website's post strictly and capture the lead (assigned by the rules without a default owner).

    Raises WebFormInvalid with field errors; nothing is written then.
    """
    from leads.services import lead_capture

    form_class = _form_class(web_form)
    unknown = sorted(set(data) - set(form_class.base_fields) - IGNORED - {HONEYPOT})
    values = {key: value for key, value in data.items() if key in form_class.base_fields}
    if any(not isinstance(v, str | int | float) or isinstance(v, bool) for v in values.values()):
        raise WebFormInvalid({"__all__": [_("Every field must be a text value.")]})
    form = form_class({k: str(v) for k, v in values.items()})
    errors = {} if form.is_valid() else {k: [str(m) for m in v] for k, v in form.errors.items()}
    for key in unknown:
        errors[key[:50]] = [_("Unknown field. Accepted: %(fields)s.") % {"fields": ", ".join(form_class.base_fields)}]
    if errors:
        raise WebFormInvalid(errors)
    fields = {k: v.strip() if isinstance(v, str) else v for k, v in form.cleaned_data.items()}
    if fields.get("email"):
        fields["email"] = fields["email"].lower()
    if fields.get("country"):
        fields["country"] = fields["country"].upper()
    fields["source"] = web_form.default_source
    return lead_capture(fields=fields, owner=web_form.default_owner, team=web_form.team)


def endpoint_url(web_form: WebForm) -> str:
    base = getattr(settings, "SALESFLOW_BASE_URL", "http://localhost:8000").rstrip("/")
    return base + reverse("leads:web_to_lead", args=[web_form.token])


def html_snippet(web_form: WebForm) -> str:
    """A plain HTML form for the website: labels, the hidden honeypot, UTM fields filled from the page URL."""
    labels = dict(WebForm.FIELD_CHOICES)
    lines = [f'<form method="post" action="{escape(endpoint_url(web_form))}" accept-charset="utf-8">']
    for name in web_form.fields:
        label = escape(capfirst(str(labels.get(name, name))))
        required = " required" if name == "last_name" or name in web_form.required_fields else ""
        if name == "notes":
            control = f'<textarea id="sf-{name}" name="{name}" maxlength="5000"{required}></textarea>'
        else:
            kind = {"email": "email", "phone": "tel"}.get(name, "text")
            control = f'<input id="sf-{name}" type="{kind}" name="{name}"{required}>'
        lines.append(f'  <p><label for="sf-{name}">{label}</label><br>{control}</p>')
    lines.append(
        f'  <p style="position:absolute;left:-9999px" aria-hidden="true"><label>Leave empty '
        f'<input type="text" name="{HONEYPOT}" tabindex="-1" autocomplete="off"></label></p>'
    )
    for name in UTM_FIELDS:
        lines.append(f'  <input type="hidden" name="{name}">')
    lines.append('  <button type="submit">Send</button>')
    lines.append("</form>")
    lines.append(
        "<script>(function(){var p=new URLSearchParams(location.search);"
        + "".join(
            f"var e{i}=document.querySelector('[name={n}]');if(e{i})e{i}.value=p.get('{n}')||'';"
            for i, n in enumerate(UTM_FIELDS)
        )
        + "})();</script>"
    )
    return "\n".join(lines)
