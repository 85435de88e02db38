"""Seller pages for invoices. Thin: scope, validate a form, call one service, flash, redirect."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.history import history_limit
from crm.idempotency import submit_once
from crm.views import attempt, get_visible, paginate, pdf_download, serve_frozen
from crm.workflow import DomainError
from invoices import documents, selectors, services
from invoices.forms import CreditNoteForm, InvoiceDraftForm, InvoiceFilterForm, PaymentForm
from invoices.models import Invoice, InvoiceState
from quotes.selectors import document_totals


@login_required
@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET or None)
    sort = request.GET.get("sort", "")
    invoices = selectors.invoice_list(user=request.user, query=form.value("q"), state=form.value("state"), sort=sort,
                                archived=bool(form.value("archived")))
    page = paginate(request, invoices)
    return render(request, "invoices/list.html", {
        "filter_form": form, "page_obj": page, "invoices": page.object_list, "sort": sort,
        "filtered": bool(form.value("q") or form.value("state") or form.value("archived")),
    })


def _get_invoice(request: HttpRequest, pk: int) -> Invoice:
    return get_visible(Invoice, request.user, pk, queryset=selectors.invoice_detail_queryset())


def _render_detail(request: HttpRequest, invoice: Invoice, *, payment_form: PaymentForm | None = None,
                   credit_form: CreditNoteForm | None = None, draft_form: InvoiceDraftForm | None = None,
                   status: int = 200) -> HttpResponse:
    payments = selectors.invoice_payments(invoice)
    credited = selectors.credited_quantities(invoice)
    return render(request, "invoices/detail.html", {
        "invoice": invoice,
        "order": invoice.order,
        "lines": invoice.lines.all(),
        "totals": document_totals(invoice),
        "payments": payments,
        "payment_form": payment_form or PaymentForm(invoice=invoice),
        "payment_form_open": payment_form is not None,
        "credit_form": credit_form or CreditNoteForm(invoice=invoice, credited=credited),
        "credit_form_open": credit_form is not None,
        "can_credit": selectors.invoice_can_be_credited(invoice),
        "draft_form": draft_form or InvoiceDraftForm(invoice=invoice),
        "credit_notes": selectors.invoice_credit_notes(invoice),
        "customer_credit": selectors.customer_credit(invoice),
        "dunning_notices": selectors.invoice_dunning_notices(invoice),
        "history": selectors.invoice_history(invoice, payments, limit=history_limit(request)),
    }, status=status)


@login_required
@require_GET
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _get_invoice(request, pk))


@login_required
@require_POST
def invoice_issue(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(request, pk)
    issued = attempt(request, services.invoice_issue, invoice=invoice, actor=request.user)
    if issued is not None:
        messages.success(request, _("Invoice %(number)s issued.") % {"number": issued})
    return redirect(invoice)


@login_required
@require_POST
@submit_once
def payment_create(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(request, pk)
    form = PaymentForm(request.POST, invoice=invoice)
    if form.is_valid():
        try:
            payment = services.payment_record(invoice=invoice, actor=request.user, **form.service_kwargs())
        except DomainError as exc:
            # Keep what was typed and show the refusal next to the form, not only as a banner.
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Payment of %(amount)s recorded.") % {"amount": payment.amount})
            return redirect(invoice)
    return _render_detail(request, invoice, payment_form=form)


@login_required
@require_POST
def invoice_update(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(request, pk)
    form = InvoiceDraftForm(request.POST, invoice=invoice)
    if not form.is_valid():
        return _render_detail(request, invoice, draft_form=form, status=400)
    attempt(request, services.invoice_update_draft, invoice=invoice, actor=request.user, success=_("Draft saved."),
            **form.cleaned_data)
    return redirect(invoice)


@login_required
@require_POST
@submit_once
def credit_note_create(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(request, pk)
    form = CreditNoteForm(request.POST, invoice=invoice, credited=selectors.credited_quantities(invoice))
    if form.is_valid():
        try:
            note = services.credit_note_create(invoice=invoice, actor=request.user, **form.service_kwargs())
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Credit note %(number)s issued.") % {"number": note.number})
            return redirect(note)
    return _render_detail(request, invoice, credit_form=form, status=400)


@login_required
@require_POST
def credit_apply(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(request, pk)
    payment = attempt(request, services.customer_credit_apply, invoice=invoice, actor=request.user)
    if payment is not None:
        messages.success(request, _("%(amount)s of customer credit applied.") % {"amount": payment.amount})
    return redirect(invoice)


@login_required
@require_GET
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored PDF as rendered once at issue, straight from storage (works with S3 too)."""
    return pdf_download(request, get_visible(Invoice, request.user, pk))


@login_required
@require_GET
def invoice_xml(request: HttpRequest, pk: int, flavor: str) -> HttpResponse:
    """Factur-X (CII) or UBL 2.1 / Peppol BIS XML, built from the data frozen at issue."""
    invoice = get_visible(Invoice, request.user, pk, queryset=selectors.invoice_detail_queryset())
    if invoice.state == InvoiceState.DRAFT:
        raise Http404(_("A draft has no e-invoice yet; issue it first."))
    build = {"ubl": documents.ubl_xml, "facturx": documents.facturx_xml}.get(flavor)
    if build is None:
        raise Http404
    content = build(invoice)
    suffix = "ubl" if flavor == "ubl" else "factur-x"
    return serve_frozen(request, content, etag=hashlib.sha256(content).hexdigest(),
                     filename=f"{invoice.number}-{suffix}.xml", content_type="application/xml")


@login_required
@require_GET
def invoice_pdf_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled by htmx every 2 s while the PDF renders; answers the download link once it exists."""
    return render(request, "invoices/_pdf_status.html", {"invoice": get_visible(Invoice, request.user, pk)})
