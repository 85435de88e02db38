"""The page a customer opens from the quote e-mail: view the quote, download its PDF, accept or decline.

No login: the signed token is the credential (quotes.links). Everything the customer may do is decided
by the services; these views only read the token, validate a form and report the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from crm.models import CompanyProfile
from crm.workflow import DomainError
from orders.services import order_create_from_quote
from quotes import links, selectors, services
from quotes.forms import AcceptForm, CustomerRejectForm
from quotes.models import Quote, QuoteState


@dataclass
class Visit:
    quote: Quote | None
    status: str  # open, accepted, rejected, expired, superseded, invalid
    token: str


def _visit(token: str) -> Visit:
    try:
        data = links.read_token(token)
        quote_id, link_expired = data.quote_id, False
    except links.LinkExpired as exc:
        quote_id, link_expired = exc.quote_id, True
    except signing.BadSignature:
        return Visit(None, "invalid", token)
    quote = selectors.quote_detail_queryset().filter(pk=quote_id).first()
    if quote is None or quote.state in (QuoteState.DRAFT, QuoteState.CANCELLED):
        return Visit(None, "invalid", token)
    if quote.state == QuoteState.SENT:
        status = "expired" if link_expired or quote.is_past_validity() else "open"
    else:
        status = str(quote.state)
    return Visit(quote, status, token)


def _page(request: HttpRequest, visit: Visit, *, accept_form: AcceptForm | None = None,
          reject_form: CustomerRejectForm | None = None, error: str = "", status: int = 200) -> HttpResponse:
    quote = visit.quote
    if quote is None:
        return render(request, "quotes/public/invalid.html", status=404)
    newer = None
    if visit.status == QuoteState.SUPERSEDED:
        newer = quote.versions().filter(state__in=[QuoteState.SENT, QuoteState.ACCEPTED]).order_by("-version").first()
    context = {
        "quote": quote, "visit": visit, "company": CompanyProfile.current(), "lines": quote.lines.all(),
        "totals": selectors.document_totals(quote),
        "accept_form": accept_form or AcceptForm(initial={
            "pdf_sha256": quote.pdf_sha256, "email": quote.contact.email if quote.contact else "",
        }),
        "reject_form": reject_form or CustomerRejectForm(),
        "error": error,
        "newer_url": links.public_path(newer) if newer is not None and newer.state == QuoteState.SENT else "",
        "acceptance": getattr(quote, "acceptance", None) if visit.status == QuoteState.ACCEPTED else None,
    }
    with translation.override(quote.language):
        return render(request, "quotes/public/quote.html", context, status=status)


@never_cache
@require_GET
def quote_public(request: HttpRequest, token: str) -> HttpResponse:
    return _page(request, _visit(token))


@require_GET
def quote_public_pdf(request: HttpRequest, token: str) -> HttpResponse:
    visit = _visit(token)
    if visit.quote is None or not visit.quote.pdf:
        raise Http404(_("No document here."))
    handle = visit.quote.pdf.storage.open(visit.quote.pdf.name, "rb")
    return FileResponse(handle, filename=f"{visit.quote.number}.pdf", content_type="application/pdf")


def _client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is set by whoever sends the request, so it proves nothing
    # unless a trusted proxy rewrites REMOTE_ADDR (configure that in the proxy, not here).
    return request.META.get("REMOTE_ADDR") or None


@never_cache
@require_POST
def quote_public_accept(request: HttpRequest, token: str) -> HttpResponse:
    visit = _visit(token)
    if visit.status != "open":
        return _page(request, visit, status=409 if visit.quote else 404)
    form = AcceptForm(request.POST)
    if not form.is_valid():
        return _page(request, visit, accept_form=form, status=400)
    evidence = services.Evidence(
        name=form.cleaned_data["name"], email=form.cleaned_data["email"], ip_address=_client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""), pdf_sha256=form.cleaned_data["pdf_sha256"],
    )
    try:
        # The evidence and the order are one fact: either both are written or neither. The quote row
        # is locked by the first service, so a second browser waits and is then refused.
        with transaction.atomic():
            services.quote_record_acceptance(quote=visit.quote, evidence=evidence)
            order_create_from_quote(quote=visit.quote, actor=None)
    except DomainError as exc:
        return _page(request, _visit(token), accept_form=form, error=str(exc), status=409)
    return redirect("quote_public:view", token=token)


@never_cache
@require_POST
def quote_public_reject(request: HttpRequest, token: str) -> HttpResponse:
    visit = _visit(token)
    if visit.status != "open":
        return _page(request, visit, status=409 if visit.quote else 404)
    form = CustomerRejectForm(request.POST)
    if not form.is_valid():
        return _page(request, visit, reject_form=form, status=400)
    try:
        services.quote_reject_by_customer(quote=visit.quote, name=form.cleaned_data["name"],
                                          comment=form.cleaned_data["comment"])
    except DomainError as exc:
        return _page(request, _visit(token), reject_form=form, error=str(exc), status=409)
    return redirect("quote_public:view", token=token)
