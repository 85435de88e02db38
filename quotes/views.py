"""Seller pages for quotes. Thin: scope, validate a form, call one service, flash, redirect.

Adding and removing lines answers htmx requests with the lines partial (and out-of-band updates of the
header total and action buttons); the same URLs work as plain form posts without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.history import history_limit
from crm.idempotency import submit_once
from crm.reversing import ROW, url_per_row
from crm.views import attempt, get_visible, paginate, pdf_download
from opportunities.models import Opportunity
from orders.services import order_create_from_quote
from quotes import links, selectors, services
from quotes.forms import QuoteFilterForm, QuoteLineEditForm, QuoteLineForm, QuoteUpdateForm, ReasonForm, ReorderForm
from quotes.models import Quote, QuoteLine, QuoteState


@login_required
@require_GET
def quote_list(request: HttpRequest) -> HttpResponse:
    form = QuoteFilterForm(request.GET or None)
    sort = request.GET.get("sort", "")
    quotes = selectors.quote_list(user=request.user, query=form.value("q"), state=form.value("state"), sort=sort,
                                archived=bool(form.value("archived")))
    page = paginate(request, quotes)
    return render(request, "quotes/list.html", {
        "filter_form": form, "page_obj": page, "quotes": page.object_list, "sort": sort,
        "filtered": bool(form.value("q") or form.value("state") or form.value("archived")),
    })


@login_required
@require_POST
@submit_once
def quote_create(request: HttpRequest, opportunity_pk: int) -> HttpResponse:
    opportunity = get_visible(Opportunity, request.user, opportunity_pk)
    quote = attempt(request, services.quote_create_from_opportunity, opportunity=opportunity, actor=request.user,
                    success=_("Draft quote created: add its lines."))
    if quote is None:
        return redirect(opportunity.get_absolute_url())
    return redirect(quote.get_absolute_url())


def _get_quote(request: HttpRequest, pk: int) -> Quote:
    return get_visible(Quote, request.user, pk, queryset=selectors.quote_detail_queryset())


def _line_actions(quote: Quote, lines: Any) -> None:
    """Set `line.urls` and `line.labels` (move up/down, edit, remove) on every line: reversed once per kind
    (crm.reversing), and labelled with gettext() here, the same translations as {% blocktranslate %} in the
    row for a fraction of the cost (four per line were a third of a 100-line quote's editor time)."""
    urls = {
        "up": url_per_row("quotes:line_move", quote.pk, ROW, "up"),
        "down": url_per_row("quotes:line_move", quote.pk, ROW, "down"),
        "edit": url_per_row("quotes:line_edit", quote.pk, ROW),
        "remove": url_per_row("quotes:line_remove", quote.pk, ROW),
    }
    for line in lines:
        line.urls = {name: url(line.pk) for name, url in urls.items()}
        names = {"line": line.description}
        line.labels = {"up": _("Move %(line)s up") % names, "down": _("Move %(line)s down") % names,
                       "edit": _("Edit line %(line)s") % names, "remove": _("Remove line %(line)s") % names}


def _lines_context(request: HttpRequest, quote: Quote, line_form: QuoteLineForm | None = None) -> dict[str, Any]:
    lines = quote.lines.all()
    _line_actions(quote, lines)
    return {
        "quote": quote,
        # Asked once here; the lines table asks it for every row, the terms form once more.
        "can_edit_lines": quote.is_editable and request.user.has_perm("quotes.change_quote"),
        "lines": lines,
        "totals": selectors.document_totals(quote),
        "section_totals": selectors.section_totals(quote),
        "line_form": line_form or QuoteLineForm(),
    }


def _render_detail(request: HttpRequest, quote: Quote, *, update_form: QuoteUpdateForm | None = None,
                   line_form: QuoteLineForm | None = None, reject_form: ReasonForm | None = None) -> HttpResponse:
    context = _lines_context(request, quote, line_form)
    context.update({
        "update_form": update_form or QuoteUpdateForm(quote=quote),
        "reject_form": reject_form or ReasonForm(),
        "order": getattr(quote, "order", None),
        "history": selectors.quote_history(quote, limit=history_limit(request)),
        "versions": quote.versions().only("pk", "number", "version", "state", "gross_total",
                                          "gross_total_currency", "sent_at"),
        "previous": (previous := selectors.previous_version(quote)),
        "diff": selectors.version_diff(previous, quote) if previous else None,
        "public_url": request.build_absolute_uri(links.public_path(quote)) if quote.state == QuoteState.SENT else "",
        "acceptance": getattr(quote, "acceptance", None) if quote.state == QuoteState.ACCEPTED else None,
    })
    return render(request, "quotes/detail.html", context)


@login_required
@require_GET
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _get_quote(request, pk))


@login_required
@require_POST
def quote_update(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _get_quote(request, pk)
    form = QuoteUpdateForm(request.POST, quote=quote)
    if not form.is_valid():
        return _render_detail(request, quote, update_form=form)
    attempt(request, services.quote_update, quote=quote, actor=request.user, success=_("Quote saved."),
            **form.cleaned_data)
    return redirect(quote)


def _lines_response(request: HttpRequest, pk: int, line_form: QuoteLineForm | None = None) -> HttpResponse:
    """The lines partial for htmx, re-read so totals and buttons reflect what was just saved."""
    quote = _get_quote(request, pk)
    context = _lines_context(request, quote, line_form)
    context.update({"oob": True, "reject_form": ReasonForm(), "order": getattr(quote, "order", None)})
    return render(request, "quotes/_lines.html", context)


@login_required
@require_POST
def quote_line_add(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _get_quote(request, pk)
    form = QuoteLineForm(request.POST)
    if form.is_valid():
        line = attempt(request, services.quote_line_add, quote=quote, actor=request.user, **form.service_kwargs())
        if line is not None:
            form = None  # saved: show an empty form for the next line
    if request.htmx:
        return _lines_response(request, pk, form)
    if form is not None and form.errors:
        return _render_detail(request, quote, line_form=form)
    return redirect(f"{quote.get_absolute_url()}#lines")


@login_required
@require_POST
def quote_line_remove(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    quote = _get_quote(request, pk)
    line = get_object_or_404(QuoteLine, pk=line_pk, quote=quote)
    attempt(request, services.quote_line_remove, line=line, actor=request.user)
    if request.htmx:
        return _lines_response(request, pk)
    return redirect(f"{quote.get_absolute_url()}#lines")


@login_required
@require_GET
def quote_lines(request: HttpRequest, pk: int) -> HttpResponse:
    """The lines partial alone (the inline editor's cancel button)."""
    return _lines_response(request, pk)


@login_required
@require_http_methods(["GET", "POST"])
def quote_line_edit(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    """GET: the line as an inline form row (htmx). POST: save it and answer the refreshed lines."""
    quote = _get_quote(request, pk)
    line = get_object_or_404(QuoteLine, pk=line_pk, quote=quote)
    if request.method == "GET":
        return render(request, "quotes/_line_edit_row.html", {"quote": quote, "line": line,
                                                              "form": QuoteLineEditForm(line=line)})
    form = QuoteLineEditForm(request.POST, line=line)
    if not form.is_valid():
        if request.htmx:
            return render(request, "quotes/_line_edit_row.html", {"quote": quote, "line": line, "form": form})
        messages.error(request, _("Check the line: %(errors)s") % {"errors": form.errors.as_text()})
        return redirect(f"{quote.get_absolute_url()}#lines")
    attempt(request, services.quote_line_update, line=line, actor=request.user, **form.service_kwargs())
    if request.htmx:
        return _lines_response(request, pk)
    return redirect(f"{quote.get_absolute_url()}#lines")


@login_required
@require_POST
def quote_line_move(request: HttpRequest, pk: int, line_pk: int, direction: str) -> HttpResponse:
    quote = _get_quote(request, pk)
    line = get_object_or_404(QuoteLine, pk=line_pk, quote=quote)
    if direction not in ("up", "down"):
        raise Http404
    attempt(request, services.quote_line_move, line=line, actor=request.user, direction=direction)
    if request.htmx:
        return _lines_response(request, pk)
    return redirect(f"{quote.get_absolute_url()}#lines")


@login_required
@require_POST
def quote_lines_reorder(request: HttpRequest, pk: int) -> HttpResponse:
    """Drag and drop (SortableJS) posts every line id in the new order."""
    quote = _get_quote(request, pk)
    form = ReorderForm(request.POST, quote=quote)
    if form.is_valid():
        attempt(request, services.quote_lines_reorder, quote=quote, actor=request.user,
                line_ids=form.cleaned_data["line"])
    else:
        messages.error(request, _("The lines changed meanwhile; reload the page and try again."))
    if request.htmx:
        return _lines_response(request, pk)
    return redirect(f"{quote.get_absolute_url()}#lines")


@login_required
@require_GET
def product_search(request: HttpRequest, pk: int) -> HttpResponse:
    """Autocomplete of the line form: active products matching the text, with this quote's price."""
    quote = _get_quote(request, pk)
    query = request.GET.get("q", "").strip()
    results = [
        (product, selectors.default_unit_price(product=product, account=quote.account, currency=quote.currency))
        for product in (selectors.product_search(query) if query else [])
    ]
    return render(request, "quotes/_product_results.html", {"quote": quote, "results": results, "query": query})


@login_required
@require_POST
def quote_send(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _get_quote(request, pk)
    sent = attempt(request, services.quote_send, quote=quote, actor=request.user,
                   success=_("Quote sent."))
    if sent is not None:
        recipient = services.quote_recipient(sent)
        if recipient:
            messages.info(request, _("It will be e-mailed to %(email)s with a link to accept it online.")
                          % {"email": recipient})
        else:
            messages.warning(request, _("The customer has no e-mail address: share the quote link shown on this "
                                        "page yourself."))
    return redirect(quote)


@login_required
@require_POST
def quote_revise(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _get_quote(request, pk)
    revision = attempt(request, services.quote_revise, quote=quote, actor=request.user)
    if revision is None:
        return redirect(quote)
    messages.success(request, _("Quote %(old)s is superseded. You are editing the new version %(new)s.")
                     % {"old": quote.number, "new": revision.number})
    return redirect(revision)


@login_required
@require_POST
def quote_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _get_quote(request, pk)
    attempt(request, services.quote_cancel, quote=quote, actor=request.user, success=_("Quote cancelled."))
    return redirect(quote)


@login_required
@require_POST
def quote_reject(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _get_quote(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, quote, reject_form=form)
    attempt(request, services.quote_reject, quote=quote, actor=request.user, reason=form.cleaned_data["reason"],
            success=_("Quote marked as rejected."))
    return redirect(quote)


@login_required
@require_POST
@submit_once
def quote_accept(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _get_quote(request, pk)
    order = attempt(request, order_create_from_quote, quote=quote, actor=request.user)
    if order is None:
        return redirect(quote)
    messages.success(request, _("Quote accepted: order %(order)s is confirmed.") % {"order": order})
    return redirect(order)


@login_required
@require_GET
def quote_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return pdf_download(request, get_visible(Quote, request.user, pk))


@login_required
@require_GET
def quote_pdf_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled by htmx every 2 s while the PDF renders; answers the download link once it exists."""
    quote = get_visible(Quote, request.user, pk)
    return render(request, "quotes/_pdf_status.html", {"quote": quote})
