"""JSON API for quotes and their lines (writable while the quote is a draft). Accepting a quote creates its
order, so that action is added by orders/api.py, the target app."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.activities import register_target
from crm.api.fields import MoneySerializer, RecordFilter, request_user
from crm.api.viewsets import ERRORS, TRANSITION_ERRORS, ScopedViewSet, crud_schema, transition
from crm.models import Contact
from opportunities.models import Opportunity
from quotes import services
from quotes.models import LineKind, Quote, QuoteLine
from quotes.selectors import product_choices, tax_rate_choices


class QuoteLineSerializer(serializers.ModelSerializer):
    unit_price = MoneySerializer(read_only=True, exact=True)
    net = MoneySerializer(read_only=True)

    class Meta:
        model = QuoteLine
        fields = [
            "id", "position", "kind", "product", "description", "quantity", "unit", "unit_price",
            "discount_percent", "discount_amount", "tax_rate", "tax_percent", "tax_category", "net", "recurring",
        ]
        read_only_fields = fields


class QuoteSerializer(serializers.ModelSerializer):
    net_total = MoneySerializer(read_only=True)
    tax_total = MoneySerializer(read_only=True)
    gross_total = MoneySerializer(read_only=True)
    lines = QuoteLineSerializer(many=True, read_only=True)

    class Meta:
        model = Quote
        fields = [
            "id", "number", "version", "state", "title", "opportunity", "account", "contact", "currency",
            "valid_until", "terms", "notes", "language", "discount_percent", "discount_amount", "net_total",
            "tax_total", "gross_total", "sent_at", "decided_at", "rejection_reason", "root", "owner", "team",
            "lines", "created_at", "updated_at",
        ]
        read_only_fields = fields


class QuoteCreateSerializer(serializers.Serializer):
    opportunity = serializers.PrimaryKeyRelatedField(
        queryset=Opportunity.objects.none(), help_text="The open opportunity the quote is written for."
    )
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = request_user(self)
        if user is not None:
            self.fields["opportunity"].queryset = Opportunity.objects.visible_to(user)


class QuoteUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    valid_until = serializers.DateField()
    contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.none(), required=False, allow_null=True)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)
    terms = serializers.CharField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal(0),
                                                max_value=Decimal(100), required=False)
    discount_amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal(0), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only people of the quoted customer can be the quote's contact.
        quote = self.context.get("record")
        self.fields["contact"].queryset = Contact.objects.filter(account_id=quote.account_id if quote else None)


class QuoteLineWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=LineKind.choices, default=LineKind.ITEM)
    product = serializers.PrimaryKeyRelatedField(queryset=product_choices(), required=False, allow_null=True)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"),
                                        default=Decimal(1))
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4, required=False, allow_null=True,
                                          help_text="In the quote's currency; empty takes the product's price.")
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal(0),
                                                max_value=Decimal(100), default=Decimal(0))
    discount_amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal(0),
                                               default=Decimal(0))
    tax_rate = serializers.PrimaryKeyRelatedField(queryset=tax_rate_choices(), required=False, allow_null=True)


class QuoteLineUpdateSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=255, required=False)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"), required=False)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=Decimal(0), required=False)
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal(0),
                                                max_value=Decimal(100), required=False)
    discount_amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal(0), required=False)
    tax_rate = serializers.PrimaryKeyRelatedField(queryset=tax_rate_choices(), required=False)


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class QuoteFilter(RecordFilter):
    class Meta:
        model = Quote
        fields = {"state": ["exact"], "opportunity": ["exact"], "account": ["exact"], "valid_until": ["gte", "lte"]}


@crud_schema("quotes", QuoteSerializer)
class QuoteViewSet(ScopedViewSet):
    queryset = Quote.objects.prefetch_related(
        Prefetch("lines", queryset=QuoteLine.objects.order_by("position", "pk"))
    )
    serializer_class = QuoteSerializer
    create_serializer_class = QuoteCreateSerializer
    update_serializer_class = QuoteUpdateSerializer
    filterset_class = QuoteFilter
    search_fields = ["number", "title", "account__name"]
    ordering_fields = ["created_at", "updated_at", "valid_until", "number"]
    # DELETE only on a line (lines/{id}/); a quote itself is cancelled, never deleted.
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def perform_create(self, data: dict[str, Any]) -> Quote:
        return services.quote_create_from_opportunity(actor=self.request.user, **data)

    def perform_update(self, record: Quote, data: dict[str, Any]) -> Quote:
        return services.quote_update(quote=record, actor=self.request.user, **data)

    def _line(self, quote: Quote, line_pk: str) -> QuoteLine:
        line = QuoteLine.objects.filter(quote=quote, pk=line_pk).first() if line_pk.isdigit() else None
        if line is None:
            raise NotFound()
        return line

    @extend_schema(summary="Add a line to a draft quote", request=QuoteLineWriteSerializer,
                   responses={201: QuoteSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="lines")
    def add_line(self, request: Request, pk: str) -> Response:
        quote = self.get_object()
        services.quote_line_add(quote=quote, actor=request.user, **self.validated(QuoteLineWriteSerializer))
        return self.respond(quote, status_code=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("line_pk", int, OpenApiParameter.PATH, description="Line id.")])
    @extend_schema(summary="Change a line of a draft quote", request=QuoteLineUpdateSerializer,
                   responses={200: QuoteSerializer, **ERRORS}, methods=["PATCH"])
    @extend_schema(summary="Remove a line from a draft quote", request=None,
                   responses={200: QuoteSerializer, **ERRORS}, methods=["DELETE"])
    @action(detail=True, methods=["patch", "delete"], url_path=r"lines/(?P<line_pk>[^/.]+)")
    def line(self, request: Request, pk: str, line_pk: str) -> Response:
        quote = self.get_object()
        line = self._line(quote, line_pk)
        if request.method == "DELETE":
            services.quote_line_remove(line=line, actor=request.user)
        else:
            data = self.validated(QuoteLineUpdateSerializer, partial=True, record=quote)
            services.quote_line_update(line=line, actor=request.user, **data)
        return self.respond(quote)

    @transition("send", summary="Send a draft quote (its PDF is rendered)", response=QuoteSerializer)
    def send(self, request: Request, pk: str) -> Response:
        return self.run(services.quote_send, record_arg="quote")

    @transition("reject", summary="Record that the customer rejected a sent quote", request=RejectSerializer,
                response=QuoteSerializer)
    def reject(self, request: Request, pk: str) -> Response:
        return self.run(services.quote_reject, record_arg="quote", input_class=RejectSerializer)

    @transition("cancel", summary="Cancel a draft quote", response=QuoteSerializer)
    def cancel(self, request: Request, pk: str) -> Response:
        return self.run(services.quote_cancel, record_arg="quote")

    @extend_schema(summary="Revise a sent quote: it is superseded by a new draft version (returned)",
                   request=None, responses={201: QuoteSerializer, **TRANSITION_ERRORS})
    @action(detail=True, methods=["post"], url_path="revise")
    def revise(self, request: Request, pk: str) -> Response:
        revision = services.quote_revise(quote=self.get_object(), actor=request.user)
        return self.respond(revision, status_code=status.HTTP_201_CREATED)


register_target("quote", Quote)
