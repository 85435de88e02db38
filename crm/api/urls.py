"""URLs of the JSON API (/api/…), its OpenAPI 3 schema and the Swagger UI (served from static files via
drf-spectacular-sidecar: no CDN, and the split view keeps the page free of inline script)."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from crm.api.parties import AccountViewSet, ContactViewSet
from crm.api.views import api_token, not_found
from invoices.api import InvoiceViewSet, OrderViewSet, PaymentViewSet
from opportunities.api import ActivityViewSet, LeadViewSet, OpportunityViewSet
from orders.api import QuoteViewSet

app_name = "api"

# A conversion's action is added by the viewset subclass in the target app (LeadViewSet.qualify lives in
# opportunities/api.py, QuoteViewSet.accept in orders/api.py, OrderViewSet.invoice in invoices/api.py).
router = SimpleRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("accounts", AccountViewSet, basename="account")
router.register("contacts", ContactViewSet, basename="contact")
router.register("opportunities", OpportunityViewSet, basename="opportunity")
router.register("quotes", QuoteViewSet, basename="quote")
router.register("orders", OrderViewSet, basename="order")
router.register("invoices", InvoiceViewSet, basename="invoice")
router.register("payments", PaymentViewSet, basename="payment")
router.register("activities", ActivityViewSet, basename="activity")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("token/", api_token, name="token"),
    path("", include(router.urls)),
    re_path(r"^(?P<path>.*)$", not_found, name="not_found"),
]
