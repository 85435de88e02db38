"""JSON API for invoices (and credit notes) and payments, and invoicing an order
(`POST /api/orders/{id}/invoice/`), which lives here like its service. An issued invoice never changes:
edits are refused with a JSON error, corrections are credit notes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.activities import register_target
from crm.api.fields import MAX_ID, IdFilter, MoneySerializer, RecordFilter, request_user
from crm.api.viewsets import (
    TRANSITION_ERRORS,
    CreateThroughService,
    ScopedReadViewSet,
    UpdateThroughService,
    crud_schema,
    transition,
)
from invoices import services
from invoices.models import Invoice, InvoiceLine, Payment, PaymentMethod, PaymentTerm
from orders import api as orders_api


class InvoiceLineSerializer(serializers.ModelSerializer):
    unit_price = MoneySerializer(read_only=True, exact=True)
    net = MoneySerializer(read_only=True)

    class Meta:
        model = InvoiceLine
        fields = [
            "id", "position", "role", "product", "description", "quantity", "unit", "unit_price",
            "discount_percent", "tax_rate", "tax_percent", "tax_category", "net", "order_line", "source_line",
        ]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    net_total = MoneySerializer(read_only=True)
    tax_total = MoneySerializer(read_only=True)
    gross_total = MoneySerializer(read_only=True)
    amount_paid = MoneySerializer(read_only=True)
    amount_credited = MoneySerializer(read_only=True)
    balance_due = MoneySerializer(read_only=True)
    lines = InvoiceLineSerializer(many=True, read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id", "number", "kind", "state", "order", "account", "credit_of", "credit_reason", "schedule_label",
            "currency", "billing_address", "customer_reference", "language", "payment_term", "payment_terms_days",
            "issue_date", "due_date", "delivery_date", "discount_percent", "discount_due_date", "net_total",
            "tax_total", "gross_total", "amount_paid", "amount_credited", "balance_due", "paid_at", "owner",
            "team", "lines", "created_at", "updated_at",
        ]
        read_only_fields = fields


class InvoiceUpdateSerializer(serializers.Serializer):
    billing_address = serializers.CharField(required=False, allow_blank=True)
    customer_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    payment_term = serializers.PrimaryKeyRelatedField(queryset=PaymentTerm.objects.all(), required=False,
                                                      allow_null=True)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)


class CreditedLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Invoice line id.")
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3)


class CreditNoteSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    lines = CreditedLineSerializer(many=True, required=False,
                                   help_text="Quantities to credit per line; leave out to credit everything left.")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        lines = data.pop("lines", None)
        if lines is not None:
            data["quantities"] = {row["line"]: row["quantity"] for row in lines}
        return data


class InvoiceOrderSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=list(services.BillingMode.ALL), default=services.BillingMode.FULL)
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal("0.01"),
                                       max_value=Decimal(100), required=False, allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False,
                                      allow_null=True, help_text="Down payment amount including tax.")
    label = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    lines = CreditedLineSerializer(many=True, required=False, help_text="For mode=quantities: order line ids.")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        lines = data.pop("lines", None)
        if data["mode"] == services.BillingMode.QUANTITIES:
            if not lines:
                raise serializers.ValidationError({"lines": _("Give the quantity to invoice per order line.")})
            data["quantities"] = {row["line"]: row["quantity"] for row in lines}
        return data


class PaymentSerializer(serializers.ModelSerializer):
    amount = MoneySerializer(read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "invoice", "amount", "received_on", "method", "reference", "recorded_by", "recorded_at"]
        read_only_fields = fields


class PaymentCreateSerializer(serializers.Serializer):
    invoice = serializers.PrimaryKeyRelatedField(queryset=Invoice.objects.none())
    amount = MoneySerializer()
    received_on = serializers.DateField(required=False, allow_null=True)
    method = serializers.ChoiceField(choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = request_user(self)
        if user is not None:
            self.fields["invoice"].queryset = Invoice.objects.visible_to(user)


class InvoiceFilter(RecordFilter):
    class Meta:
        model = Invoice
        fields = {"state": ["exact"], "kind": ["exact"], "account": ["exact"], "order": ["exact"],
                  "issue_date": ["gte", "lte"], "due_date": ["gte", "lte"]}


class PaymentFilter(filters.FilterSet):
    invoice = IdFilter(field_name="invoice_id")

    class Meta:
        model = Payment
        fields = {"method": ["exact"], "received_on": ["gte", "lte"]}


@crud_schema("invoices", InvoiceSerializer)
class InvoiceViewSet(UpdateThroughService, ScopedReadViewSet):
    queryset = Invoice.objects.prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "pk"))
    )
    serializer_class = InvoiceSerializer
    update_serializer_class = InvoiceUpdateSerializer
    filterset_class = InvoiceFilter
    search_fields = ["number", "customer_reference", "account__name"]
    ordering_fields = ["created_at", "updated_at", "issue_date", "due_date", "number"]
    # Invoices are drafted from an order (POST /api/orders/{id}/invoice/), never directly.
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def perform_update(self, record: Invoice, data: dict[str, Any]) -> Invoice:
        return services.invoice_update_draft(invoice=record, actor=self.request.user, **data)

    @transition("issue", summary="Issue a draft invoice: legal number, frozen content, PDF",
                response=InvoiceSerializer)
    def issue(self, request: Request, pk: str) -> Response:
        return self.run(services.invoice_issue, record_arg="invoice")

    @extend_schema(summary="Correct an issued invoice with a credit note (issued at once, returned)",
                   request=CreditNoteSerializer, responses={201: InvoiceSerializer, **TRANSITION_ERRORS})
    @action(detail=True, methods=["post"], url_path="credit-note")
    def credit_note(self, request: Request, pk: str) -> Response:
        invoice = self.get_object()
        note = services.credit_note_create(
            invoice=invoice, actor=request.user, **self.validated(CreditNoteSerializer, record=invoice)
        )
        return self.respond(note, status_code=status.HTTP_201_CREATED)

    @extend_schema(summary="Pay an open invoice from the customer's credit", request=None,
                   responses={201: PaymentSerializer, **TRANSITION_ERRORS})
    @action(detail=True, methods=["post"], url_path="apply-credit")
    def apply_credit(self, request: Request, pk: str) -> Response:
        payment = services.customer_credit_apply(invoice=self.get_object(), actor=request.user)
        return self.respond(payment, serializer_class=PaymentSerializer, status_code=status.HTTP_201_CREATED)


@crud_schema("payments", PaymentSerializer)
class PaymentViewSet(CreateThroughService, ScopedReadViewSet):
    """Payments are booked, never edited (a wrong one is corrected by a credit note)."""

    queryset = Payment.objects.all()
    serializer_class = PaymentSerializer
    create_serializer_class = PaymentCreateSerializer
    filterset_class = PaymentFilter
    search_fields = ["reference", "invoice__number"]
    ordering_fields = ["recorded_at", "received_on"]
    cursor_ordering = ("-recorded_at", "-pk")
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[Payment]:
        return Payment.objects.filter(invoice__in=Invoice.objects.visible_to(self.request.user).values("pk"))

    def perform_create(self, data: dict[str, Any]) -> Payment:
        return services.payment_record(actor=self.request.user, **data)


class OrderViewSet(orders_api.OrderViewSet):
    """The order endpoints plus drafting the next invoice of its billing schedule."""

    @extend_schema(summary="Draft the next invoice of an order (full, delivered, quantities, down payment, "
                           "milestone); a waiting draft is returned instead of a second one",
                   request=InvoiceOrderSerializer, responses={201: InvoiceSerializer, **TRANSITION_ERRORS})
    @action(detail=True, methods=["post"], url_path="invoice")
    def invoice(self, request: Request, pk: str) -> Response:
        order = self.get_object()
        invoice = services.invoice_create_from_order(
            order=order, actor=request.user, **self.validated(InvoiceOrderSerializer, record=order)
        )
        return self.respond(invoice, serializer_class=InvoiceSerializer, status_code=status.HTTP_201_CREATED)


register_target("invoice", Invoice)
