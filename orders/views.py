"""Seller pages for orders. Thin: scope, validate a form, call one service, flash, redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.history import history_limit
from crm.idempotency import submit_once
from crm.views import attempt, get_visible, paginate, pdf_download
from invoices import schedule as invoice_schedule
from invoices.services import invoice_create_from_order
from orders import selectors, services
from orders.forms import CancelOrderForm, DeliveryForm, InvoiceOrderForm, OrderFilterForm, OrderUpdateForm
from orders.models import Order
from quotes.selectors import document_totals


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    form = OrderFilterForm(request.GET or None)
    sort = request.GET.get("sort", "")
    orders = selectors.order_list(user=request.user, query=form.value("q"), state=form.value("state"), sort=sort,
                                archived=bool(form.value("archived")))
    page = paginate(request, orders)
    return render(request, "orders/list.html", {
        "filter_form": form, "page_obj": page, "orders": page.object_list, "sort": sort,
        "filtered": bool(form.value("q") or form.value("state") or form.value("archived")),
    })


def _get_order(request: HttpRequest, pk: int) -> Order:
    return get_visible(Order, request.user, pk, queryset=selectors.order_detail_queryset())


def _render_detail(request: HttpRequest, order: Order, *, update_form: OrderUpdateForm | None = None,
                   cancel_form: CancelOrderForm | None = None, invoice_form: InvoiceOrderForm | None = None,
                   delivery_form: DeliveryForm | None = None, status: int = 200) -> HttpResponse:
    invoices = selectors.order_invoices(order)
    invoiced = invoice_schedule.invoiced_quantities(order)
    return render(request, "orders/detail.html", {
        "invoice_form": invoice_form or InvoiceOrderForm(),
        "invoice_form_open": invoice_form is not None,
        "delivery_form": delivery_form or DeliveryForm(order=order),
        "delivery_rows": [(line, field, invoiced.get(line.pk, 0)) for line, field in
                          (delivery_form or DeliveryForm(order=order)).line_rows],
        "billing": invoice_schedule.order_billing(order),
        "order": order,
        "lines": order.lines.all(),
        "totals": document_totals(order),
        "invoices": invoices,
        "editable": selectors.order_is_editable(order),
        "open_invoice": selectors.order_open_invoice(invoices),
        "can_invoice": selectors.order_can_be_invoiced(order, invoices),
        "update_form": update_form or OrderUpdateForm(order=order),
        "cancel_form": cancel_form or CancelOrderForm(),
        "history": selectors.order_history(order, invoices, limit=history_limit(request)),
    }, status=status)


@login_required
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _get_order(request, pk))


@login_required
@require_POST
def order_update(request: HttpRequest, pk: int) -> HttpResponse:
    order = _get_order(request, pk)
    form = OrderUpdateForm(request.POST, order=order)
    if not form.is_valid():
        return _render_detail(request, order, update_form=form)
    attempt(request, services.order_update, order=order, actor=request.user, success=_("Order saved."),
            **form.cleaned_data)
    return redirect(order)


@login_required
@require_POST
def order_start_fulfilment(request: HttpRequest, pk: int) -> HttpResponse:
    order = _get_order(request, pk)
    attempt(request, services.order_start_fulfilment, order=order, actor=request.user,
            success=_("Fulfilment started."))
    return redirect(order)


@login_required
@require_POST
def order_fulfil(request: HttpRequest, pk: int) -> HttpResponse:
    order = _get_order(request, pk)
    attempt(request, services.order_fulfil, order=order, actor=request.user,
            success=_("Order fulfilled: it can be invoiced now."))
    return redirect(order)


@login_required
@require_POST
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    order = _get_order(request, pk)
    form = CancelOrderForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, order, cancel_form=form)
    attempt(request, services.order_cancel, order=order, actor=request.user, reason=form.cleaned_data["reason"],
            success=_("Order cancelled."))
    return redirect(order)


@login_required
@require_POST
@submit_once
def order_invoice(request: HttpRequest, pk: int) -> HttpResponse:
    order = _get_order(request, pk)
    form = InvoiceOrderForm(request.POST or {"mode": "full"})
    if not form.is_valid():
        return _render_detail(request, order, invoice_form=form, status=400)
    invoice = attempt(request, invoice_create_from_order, order=order, actor=request.user, **form.service_kwargs())
    if invoice is None:
        return redirect(order)
    messages.success(request, _("Draft invoice created: check it and issue it."))
    return redirect(invoice)


@login_required
@require_POST
def order_delivery(request: HttpRequest, pk: int) -> HttpResponse:
    order = _get_order(request, pk)
    form = DeliveryForm(request.POST, order=order)
    if not form.is_valid():
        return _render_detail(request, order, delivery_form=form, status=400)
    attempt(request, services.order_record_delivery, order=order, actor=request.user, delivered=form.delivered(),
            success=_("Deliveries saved."))
    return redirect(order)


@login_required
@require_GET
def order_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The order confirmation as rendered by the worker, from storage, with an ETag."""
    return pdf_download(request, get_visible(Order, request.user, pk))


@login_required
@require_GET
def order_pdf_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled by htmx while the confirmation renders."""
    return render(request, "orders/_pdf_status.html", {"order": get_visible(Order, request.user, pk)})
