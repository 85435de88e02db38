"""JSON API for orders, and accepting a quote (`POST /api/quotes/{id}/accept/`), which creates the order: the
conversion lives here, in the target app, like its service. Invoicing an order is added by invoices/api.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.activities import register_target
from crm.api.fields import MAX_ID, MoneySerializer, RecordFilter
from crm.api.viewsets import ScopedReadViewSet, UpdateThroughService, crud_schema, transition
from orders import services
from orders.models import Order, OrderLine
from quotes import api as quotes_api


class OrderLineSerializer(serializers.ModelSerializer):
    unit_price = MoneySerializer(read_only=True, exact=True)
    net = MoneySerializer(read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id", "position", "product", "description", "quantity", "delivered_quantity", "unit", "unit_price",
            "discount_percent", "tax_rate", "tax_percent", "tax_category", "net",
        ]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    net_total = MoneySerializer(read_only=True)
    tax_total = MoneySerializer(read_only=True)
    gross_total = MoneySerializer(read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id", "number", "state", "quote", "opportunity", "account", "contact", "currency", "order_date",
            "billing_address", "customer_reference", "delivery_terms", "internal_notes", "net_total", "tax_total",
            "gross_total", "fulfilled_at", "cancelled_at", "cancel_reason", "owner", "team", "lines",
            "created_at", "updated_at",
        ]
        read_only_fields = fields


class OrderUpdateSerializer(serializers.Serializer):
    billing_address = serializers.CharField(required=False, allow_blank=True)
    customer_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    delivery_terms = serializers.CharField(max_length=200, required=False, allow_blank=True)
    internal_notes = serializers.CharField(required=False, allow_blank=True)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class DeliveredLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Order line id.")
    delivered = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal(0),
                                         help_text="Total delivered so far.")


class DeliverySerializer(serializers.Serializer):
    lines = DeliveredLineSerializer(many=True, allow_empty=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"delivered": {row["line"]: row["delivered"] for row in data["lines"]}}


class OrderFilter(RecordFilter):
    class Meta:
        model = Order
        fields = {"state": ["exact"], "account": ["exact"], "order_date": ["gte", "lte"]}


@crud_schema("orders", OrderSerializer)
class OrderViewSet(UpdateThroughService, ScopedReadViewSet):
    queryset = Order.objects.prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("position", "pk")))
    serializer_class = OrderSerializer
    update_serializer_class = OrderUpdateSerializer
    filterset_class = OrderFilter
    search_fields = ["number", "customer_reference", "account__name"]
    ordering_fields = ["created_at", "updated_at", "order_date", "number"]
    # Orders are created by accepting a quote (POST /api/quotes/{id}/accept/), never directly.
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def perform_update(self, record: Order, data: dict[str, Any]) -> Order:
        return services.order_update(order=record, actor=self.request.user, **data)

    @transition("start-fulfilment", summary="Start fulfilling a confirmed order", response=OrderSerializer)
    def start_fulfilment(self, request: Request, pk: str) -> Response:
        return self.run(services.order_start_fulfilment, record_arg="order")

    @transition("fulfil", summary="Mark an order fulfilled", response=OrderSerializer)
    def fulfil(self, request: Request, pk: str) -> Response:
        return self.run(services.order_fulfil, record_arg="order")

    @transition("cancel", summary="Cancel an order (with a reason)", request=CancelSerializer, response=OrderSerializer)
    def cancel(self, request: Request, pk: str) -> Response:
        return self.run(services.order_cancel, record_arg="order", input_class=CancelSerializer)

    @transition("delivery", summary="Record delivered quantities (the first starts fulfilment, the last fulfils)",
                request=DeliverySerializer, response=OrderSerializer)
    def delivery(self, request: Request, pk: str) -> Response:
        return self.run(services.order_record_delivery, record_arg="order", input_class=DeliverySerializer)


class QuoteViewSet(quotes_api.QuoteViewSet):
    """The quote endpoints plus accepting, which creates the order."""

    @transition("accept", summary="Accept a sent quote: creates exactly one order and wins the deal (idempotent)",
                response=OrderSerializer)
    def accept(self, request: Request, pk: str) -> Response:
        order = services.order_create_from_quote(quote=self.get_object(), actor=request.user)
        return self.respond(order, serializer_class=OrderSerializer)


register_target("order", Order)
