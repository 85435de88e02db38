"""The access matrix: every URL of our apps × every role → the expected answer.

The URLs come from the URL conf itself (`get_resolver()`): a pattern served by our code that has no row in
CASES fails `test_every_url_has_an_access_expectation`, so no page or endpoint can ship without someone
deciding who may use it.

How the expected answer follows from a row:
- out of the role's scope → 404, never 403 (a 403 would confirm that the record exists);
- anonymous → the login page (the public token URLs excepted);
- in scope, but the role lacks the row's permission → refused with the "Your role does not allow this"
  message, and nothing written;
- otherwise allowed: the request may still be refused for a business reason (a closed record, a stage
  gate), never for the role.
Who sees what (SEES) and who may do what (MAY) are written out here as the specification; crm/permissions.py
and crm/roles.py must agree with them.

The REST API follows the same rows with JSON answers: anonymous → 401/403, out of scope → 404, a role
without the permission → 403 with the same refusal message. Admin pages send everybody but staff to the
admin's login.

List pages (search, kanban, report CSV, exports, API lists) are checked for leaks: the owner's record shows up exactly
for the roles that may see it.

One record set is built once for the module; every request runs in a savepoint that is rolled back, so an
allowed POST does not change what the next role sees.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_fsm_log.models import StateLog
from djmoney.money import Money

from crm.models import Activity, ActivityKind, Team
from invoices.models import CustomerCredit, Invoice, InvoiceLine, Payment, PaymentMethod
from invoices.services import invoice_issue, invoice_render_pdf, payment_record
from leads.models import DisqualificationReason, ImportJob, Lead, WebForm
from leads.services import activity_log, lead_disqualify
from opportunities.models import (
    ChecklistTick,
    Competitor,
    Opportunity,
    OpportunityCompetitor,
    OpportunityContact,
    Stage,
    StageChange,
    StageChecklistItem,
    StageDocument,
)
from opportunities.selectors import lost_reasons_for, pipeline_stages
from opportunities.services import (
    opportunity_committee_add,
    opportunity_competitor_add,
    opportunity_lose,
)
from orders.models import Order, OrderLine
from orders.services import order_create_from_quote, order_fulfil, order_render_pdf
from quotes.links import make_token
from quotes.models import Quote, QuoteLine
from quotes.services import quote_render_pdf
from tests import factories

ROLES = ("owner", "teammate", "other_seller", "manager", "other_manager", "accountant", "staff", "anonymous")

# --- the specification -------------------------------------------------------------------------------------------
# Which roles see a record of the owner (a seller of team A), by kind of record.
SEES = {
    # leads and opportunities: accountants see none (they are in no sales team); see crm/permissions.py
    "pipeline": {"owner", "teammate", "manager", "staff"},
    # quotes, orders, invoices: accountants see those of every team
    "financial": {"owner", "teammate", "manager", "accountant", "staff"},
    # an import job: its uploader (and staff)
    "uploader": {"owner", "staff"},
    # an activity: only its owner ticks it done
    "own": {"owner"},
    # the public token URLs and internal sales material: everybody who has the link / is signed in
    "everyone": set(ROLES) - {"anonymous"},
}

_SELLER = {
    "leads.add_lead", "leads.change_lead", "leads.start_work_lead", "leads.qualify_lead", "leads.disqualify_lead",
    "leads.recycle_lead", "leads.assign_lead",
    "opportunities.add_opportunity", "opportunities.change_opportunity", "opportunities.move_opportunity",
    "opportunities.win_opportunity", "opportunities.lose_opportunity",
    "quotes.add_quote", "quotes.change_quote", "quotes.send_quote", "quotes.revise_quote", "quotes.cancel_quote",
    "quotes.reject_quote", "quotes.accept_quote",
    "orders.change_order", "orders.start_fulfilment_order", "orders.fulfil_order", "orders.deliver_order",
    "orders.cancel_order",
    "invoices.add_invoice",
}
# Who may do what. Staff here are superusers: every permission.
MAY: dict[str, set[str]] = {
    "owner": _SELLER,
    "teammate": _SELLER,
    "other_seller": _SELLER,
    "manager": _SELLER | {"opportunities.reopen_opportunity"},
    "other_manager": _SELLER | {"opportunities.reopen_opportunity"},
    "accountant": {
        "orders.change_order", "orders.cancel_order", "invoices.add_invoice", "invoices.change_invoice",
        "invoices.issue_invoice", "invoices.record_payment", "invoices.credit_invoice",
    },
}

REFUSAL = "Your role does not allow this"


OK, NOT_FOUND, DENIED, LOGIN = "ok", "404", "denied", "login"
# The API answers an anonymous client with a 401/403 JSON error, not the login page; the admin sends
# everybody who is not staff to its own login page.
UNAUTHENTICATED, ADMIN_LOGIN = "unauthenticated", "admin login"


@dataclass(frozen=True)
class Case:
    """One URL: how to call it, which record's scope applies, which permission a POST needs."""

    method: str  # "GET" or "POST"
    scope: str  # a key of SEES
    kwargs: Callable[[SimpleNamespace], dict[str, Any]] = lambda w: {}
    perm: str | None = None
    data: Callable[[SimpleNamespace], dict[str, Any]] = lambda w: {}
    query: str = ""
    # A leak check for list pages: text of the owner's record that must show exactly for the roles in SEES[leak].
    leak: tuple[str, Callable[[SimpleNamespace], str]] | None = None
    public: bool = False  # no login needed (token URLs)
    also: tuple[str, ...] = field(default=())  # further methods to try with the same expectation
    every_role: str | None = None  # the same answer for every role, signed in or not
    api: bool = False  # a JSON endpoint under /api/: JSON bodies in, JSON errors out
    admin: bool = False  # a page of the Django admin: staff only
    # Whether a role refusal carries the "Your role does not allow this" message (a bare 403 otherwise).
    refusal_message: bool = True

    def expected(self, role: str, method: str) -> str:
        if self.every_role:
            return self.every_role
        if self.admin:
            return OK if role == "staff" else ADMIN_LOGIN
        if role == "anonymous":
            return OK if self.public else UNAUTHENTICATED if self.api else LOGIN
        if role not in SEES[self.scope]:
            return NOT_FOUND
        # Opening a form is seeing; the permission is about the change a POST (or PATCH) makes.
        if method != "GET" and self.perm and role != "staff" and self.perm not in MAY[role]:
            return DENIED
        return OK


def pk(name: str) -> Callable[[SimpleNamespace], dict[str, Any]]:
    return lambda w: {"pk": getattr(w, name).pk}


def listing(scope: str, text: Callable[[SimpleNamespace], str], query: str = "") -> Case:
    """A list page: every signed-in user may open it; the owner's record shows only to who may see it."""
    return Case("GET", "everyone", leak=(scope, text), query=query)


def api(method: str, scope: str, kwargs: Callable[[SimpleNamespace], dict[str, Any]] = lambda w: {},
        perm: str | None = None, data: Callable[[SimpleNamespace], dict[str, Any]] = lambda w: {},
        leak: tuple[str, Callable[[SimpleNamespace], str]] | None = None) -> Case:
    """An API endpoint, called with the role's session (the same scope and roles as with a token)."""
    return Case(method, scope, kwargs, perm=perm, data=data, leak=leak, api=True)


def archive_row(record: str, perm: str) -> Case:
    """Archive/restore: POST only; changing the record's permission is needed (a bare 403 without it)."""
    return Case("POST", "pipeline" if record in ("lead", "opportunity") else "financial", pk(record), perm=perm,
                refusal_message=False)


def history(record: str) -> Case:
    return Case("GET", "everyone", lambda w: {"object_id": getattr(w, record).pk}, admin=True)


NUMBER = {name: (lambda w, name=name: getattr(w, name).number) for name in ("lead", "quote", "order", "invoice")}

CASES: dict[str, Case] = {
    # crm
    "crm:home": Case("GET", "everyone"),
    # sign-in: the login page itself is public; the second-factor step and the security page need a login
    "login": Case("GET", "everyone", public=True),
    # without a password step in progress, the second-factor page sends everybody back to the login page
    "login_verify": Case("GET", "everyone", every_role=LOGIN),
    "security": Case("GET", "everyone"),
    "set_language": Case("POST", "everyone", data=lambda w: {"language": "en", "next": "/"}, public=True),
    # leads
    "customers:list": listing("pipeline", lambda w: w.account.name),
    "crm:search": listing("pipeline", NUMBER["lead"], query="q=Matrixlead"),
    "customers:detail": Case("GET", "pipeline", pk("account")),
    "leads:list": listing("pipeline", NUMBER["lead"], query="q=Matrixlead"),
    "leads:export": listing("pipeline", NUMBER["lead"]),
    "leads:create": Case("GET", "everyone"),
    "leads:quick": Case("GET", "everyone", also=("POST",), perm="leads.add_lead",
                        data=lambda w: {"name": "Quick Matrix"}),
    "leads:detail": Case("GET", "pipeline", pk("lead")),
    "leads:edit": Case("GET", "pipeline", pk("lead"), also=("POST",), perm="leads.change_lead",
                       data=lambda w: {"first_name": "Jo", "last_name": "Matrix", "company": "Matrix AG"}),
    "leads:start_work": Case("POST", "pipeline", pk("lead"), perm="leads.start_work_lead"),
    "leads:qualify": Case("GET", "pipeline", pk("lead"), also=("POST",), perm="leads.qualify_lead",
                          data=lambda w: {"name": "Matrix deal", "currency": "EUR", "amount": "10"}),
    "leads:disqualify": Case("POST", "pipeline", pk("lead"), perm="leads.disqualify_lead",
                             data=lambda w: {"reason": w.disqualify_code}),
    "leads:recycle": Case("POST", "pipeline", pk("disqualified_lead"), perm="leads.recycle_lead"),
    "leads:reassign": Case("POST", "pipeline", pk("lead"), perm="leads.assign_lead",
                           data=lambda w: {"owner": w.users["teammate"].pk}),
    "leads:bulk_assign": Case("POST", "pipeline", perm="leads.assign_lead",
                              data=lambda w: {"lead": w.lead.pk, "owner": w.users["teammate"].pk}),
    "leads:log_activity": Case("POST", "pipeline", pk("lead"),
                               data=lambda w: {"kind": ActivityKind.NOTE, "subject": "Matrix note"}),
    "leads:web_to_lead": Case("POST", "everyone", lambda w: {"token": w.web_form.token}, public=True,
                              data=lambda w: {"last_name": "Webform"}),
    "leads:import": Case("GET", "everyone"),
    "leads:import_mapping": Case("GET", "uploader", pk("import_job")),
    "leads:import_progress": Case("GET", "uploader", pk("import_job")),
    "leads:import_report": Case("GET", "uploader", pk("import_job")),
    # opportunities
    "opportunities:list": listing("pipeline", lambda w: w.opportunity.name),
    "opportunities:board": listing("pipeline", lambda w: w.opportunity.name),
    "opportunities:board_totals": Case("GET", "everyone"),
    # a column of team A's own pipeline: another team's board has no such column (404)
    "opportunities:board_column": Case("GET", "pipeline", lambda w: {"stage_id": w.opportunity.stage_id},
                                       leak=("pipeline", lambda w: w.opportunity.name)),
    "opportunities:report": Case("GET", "everyone"),
    "opportunities:forecast": Case("GET", "everyone"),
    "opportunities:my_quarter": Case("GET", "everyone"),
    "opportunities:activities": listing("own", lambda w: w.activity.subject),
    "opportunities:activity_done": Case("POST", "own", pk("activity"), data=lambda w: {"done": "on"}),
    # a document of team A's own pipeline: for those who work in it
    "opportunities:stage_document": Case("GET", "pipeline", pk("stage_document")),
    "opportunities:create": Case("GET", "everyone"),
    "opportunities:detail": Case("GET", "pipeline", pk("opportunity")),
    "opportunities:edit": Case("GET", "pipeline", pk("opportunity"), also=("POST",),
                               perm="opportunities.change_opportunity"),
    "opportunities:move": Case("POST", "pipeline", pk("opportunity"), perm="opportunities.move_opportunity",
                               data=lambda w: {"stage": w.first_stage.pk}),
    "opportunities:win": Case("POST", "pipeline", pk("opportunity"), perm="opportunities.win_opportunity"),
    "opportunities:lose": Case("POST", "pipeline", pk("opportunity"), perm="opportunities.lose_opportunity",
                               data=lambda w: {"reason": w.lost_reason.pk}),
    "opportunities:reopen": Case("POST", "pipeline", pk("lost_opportunity"),
                                 perm="opportunities.reopen_opportunity"),
    "opportunities:log_activity": Case("POST", "pipeline", pk("opportunity"),
                                       data=lambda w: {"kind": ActivityKind.CALL, "subject": "Matrix call"}),
    "opportunities:checklist_tick": Case(
        "POST", "pipeline", lambda w: {"pk": w.opportunity.pk, "item_id": w.checklist_item.pk},
        perm="opportunities.change_opportunity", data=lambda w: {"done": "on"}),
    "opportunities:value_edit": Case("GET", "pipeline", pk("opportunity"), also=("POST",),
                                     perm="opportunities.change_opportunity",
                                     data=lambda w: {"requirements": "Matrix needs"}),
    "opportunities:committee_add": Case(
        "POST", "pipeline", pk("opportunity"), perm="opportunities.change_opportunity",
        data=lambda w: {"contact": w.opportunity.contact_id, "role": "influencer"}),
    "opportunities:committee_remove": Case(
        "POST", "pipeline", lambda w: {"pk": w.opportunity.pk, "member_id": w.committee_member.pk},
        perm="opportunities.change_opportunity"),
    "opportunities:competitor_add": Case("POST", "pipeline", pk("opportunity"),
                                         perm="opportunities.change_opportunity", data=lambda w: {"name": "Rival"}),
    "opportunities:competitor_remove": Case(
        "POST", "pipeline", lambda w: {"pk": w.opportunity.pk, "entry_id": w.competitor_entry.pk},
        perm="opportunities.change_opportunity"),
    # quotes
    "quotes:list": listing("financial", NUMBER["quote"]),
    "quotes:create": Case("POST", "pipeline", lambda w: {"opportunity_pk": w.opportunity.pk},
                          perm="quotes.add_quote"),
    "quotes:detail": Case("GET", "financial", pk("quote")),
    "quotes:update": Case("POST", "financial", pk("quote"), perm="quotes.change_quote",
                          data=lambda w: {"title": "Matrix", "valid_until": w.later, "language": "en"}),
    "quotes:line_add": Case("POST", "financial", pk("quote"), perm="quotes.change_quote",
                            data=lambda w: {"kind": "item", "description": "Matrix line", "quantity": "1",
                                            "unit_price": "10", "tax_rate": w.tax_rate.pk}),
    "quotes:line_remove": Case("POST", "financial", lambda w: {"pk": w.quote.pk, "line_pk": w.quote_line.pk},
                               perm="quotes.change_quote"),
    "quotes:lines": Case("GET", "financial", pk("quote")),
    "quotes:line_edit": Case("GET", "financial", lambda w: {"pk": w.quote.pk, "line_pk": w.quote_line.pk},
                             also=("POST",), perm="quotes.change_quote",
                             data=lambda w: {"description": "Edited", "quantity": "2", "unit_price": "10"}),
    "quotes:line_move": Case(
        "POST", "financial", lambda w: {"pk": w.quote.pk, "line_pk": w.quote_line.pk, "direction": "down"},
        perm="quotes.change_quote"),
    "quotes:lines_reorder": Case("POST", "financial", pk("quote"), perm="quotes.change_quote",
                                 data=lambda w: {"line": list(reversed(w.quote_line_ids))}),
    "quotes:product_search": Case("GET", "financial", pk("quote"), query="q=a"),
    "quotes:revise": Case("POST", "financial", pk("sent_quote"), perm="quotes.revise_quote"),
    "quotes:send": Case("POST", "financial", pk("quote"), perm="quotes.send_quote"),
    "quotes:cancel": Case("POST", "financial", pk("quote"), perm="quotes.cancel_quote"),
    "quotes:reject": Case("POST", "financial", pk("sent_quote"), perm="quotes.reject_quote",
                          data=lambda w: {"reason": "Too expensive"}),
    "quotes:accept": Case("POST", "financial", pk("sent_quote"), perm="quotes.accept_quote"),
    "quotes:pdf": Case("GET", "financial", pk("sent_quote")),
    "quotes:pdf_status": Case("GET", "financial", pk("sent_quote")),
    # the customer's signed link: whoever holds it, signed in or not
    "quote_public:view": Case("GET", "everyone", lambda w: {"token": w.token}, public=True),
    "quote_public:pdf": Case("GET", "everyone", lambda w: {"token": w.token}, public=True),
    "quote_public:accept": Case("POST", "everyone", lambda w: {"token": w.token}, public=True,
                     data=lambda w: {"name": "Customer", "confirm": "on"}),
    "quote_public:reject": Case("POST", "everyone", lambda w: {"token": w.token}, public=True,
                     data=lambda w: {"name": "Customer", "comment": "No"}),
    # orders
    "orders:list": listing("financial", NUMBER["order"]),
    "orders:detail": Case("GET", "financial", pk("order")),
    "orders:update": Case("POST", "financial", pk("order"), perm="orders.change_order",
                          data=lambda w: {"customer_reference": "PO-1", "billing_address": "Matrix AG"}),
    "orders:start_fulfilment": Case("POST", "financial", pk("order"), perm="orders.start_fulfilment_order"),
    "orders:fulfil": Case("POST", "financial", pk("order"), perm="orders.fulfil_order"),
    "orders:cancel": Case("POST", "financial", pk("order"), perm="orders.cancel_order",
                          data=lambda w: {"reason": "Customer withdrew"}),
    "orders:invoice": Case("POST", "financial", pk("fulfilled_order"), perm="invoices.add_invoice",
                           data=lambda w: {"mode": "full"}),
    "orders:delivery": Case("POST", "financial", pk("order"), perm="orders.deliver_order",
                            data=lambda w: {f"delivered_{line.pk}": "1" for line in w.order.lines.all()}),
    "orders:pdf": Case("GET", "financial", pk("order")),
    "orders:pdf_status": Case("GET", "financial", pk("order")),
    # invoices
    "invoices:list": listing("financial", NUMBER["invoice"]),
    "invoices:detail": Case("GET", "financial", pk("invoice")),
    "invoices:issue": Case("POST", "financial", pk("draft_invoice"), perm="invoices.issue_invoice"),
    "invoices:payment": Case("POST", "financial", pk("invoice"), perm="invoices.record_payment",
                             data=lambda w: {"amount": "10.00", "currency": "EUR",
                                             "received_on": timezone.localdate().isoformat(),
                                             "method": PaymentMethod.BANK_TRANSFER}),
    "invoices:update": Case("POST", "financial", pk("draft_invoice"), perm="invoices.change_invoice",
                            data=lambda w: {"customer_reference": "PO-9", "billing_address": "Matrix AG"}),
    "invoices:credit_note": Case("POST", "financial", pk("invoice"), perm="invoices.credit_invoice",
                                 data=lambda w: {"reason": "Wrong price",
                                                 **{f"qty_{line.pk}": "1" for line in w.invoice.lines.all()}}),
    "invoices:apply_credit": Case("POST", "financial", pk("invoice"), perm="invoices.record_payment"),
    "invoices:pdf": Case("GET", "financial", pk("invoice")),
    "invoices:xml": Case("GET", "financial", lambda w: {"pk": w.invoice.pk, "flavor": "facturx"}),
    "invoices:pdf_status": Case("GET", "financial", pk("invoice")),
    # archive / restore ("delete" and its undo) of the five record types
    "leads:archive": archive_row("lead", "leads.change_lead"),
    "leads:restore": archive_row("lead", "leads.change_lead"),
    "opportunities:archive": archive_row("opportunity", "opportunities.change_opportunity"),
    "opportunities:restore": archive_row("opportunity", "opportunities.change_opportunity"),
    "quotes:archive": archive_row("quote", "quotes.change_quote"),
    "quotes:restore": archive_row("quote", "quotes.change_quote"),
    "orders:archive": archive_row("order", "orders.change_order"),
    "orders:restore": archive_row("order", "orders.change_order"),
    "invoices:archive": archive_row("draft_invoice", "invoices.change_invoice"),
    "invoices:restore": archive_row("draft_invoice", "invoices.change_invoice"),
    # the admin's field history of a record
    "admin:crm_account_history": history("account"),
    "admin:crm_contact_history": history("contact"),
    "admin:leads_lead_history": history("lead"),
    "admin:opportunities_opportunity_history": history("opportunity"),
    "admin:quotes_quote_history": history("quote"),
    "admin:orders_order_history": history("order"),
    "admin:invoices_invoice_history": history("invoice"),
    # the REST API (/api/…)
    "api:token": Case("GET", "everyone"),
    "api:not_found": Case("GET", "everyone", lambda w: {"path": "nothing/here/"}, every_role=NOT_FOUND),
    "api:lead-list": api("GET", "everyone", leak=("pipeline", NUMBER["lead"])),
    "api:lead-detail": api("GET", "pipeline", pk("lead")),
    "api:lead-start-work": api("POST", "pipeline", pk("lead"), perm="leads.start_work_lead"),
    "api:lead-disqualify": api("POST", "pipeline", pk("lead"), perm="leads.disqualify_lead",
                               data=lambda w: {"reason": w.disqualify_code}),
    "api:lead-recycle": api("POST", "pipeline", pk("disqualified_lead"), perm="leads.recycle_lead"),
    "api:lead-reassign": api("POST", "pipeline", pk("lead"), perm="leads.assign_lead",
                             data=lambda w: {"owner": w.users["teammate"].pk}),
    "api:lead-qualify": api("POST", "pipeline", pk("lead"), perm="leads.qualify_lead",
                            data=lambda w: {"name": "Matrix deal", "currency": "EUR", "amount": "10"}),
    "api:account-list": api("GET", "everyone", leak=("pipeline", lambda w: w.account.name)),
    "api:account-detail": api("GET", "pipeline", pk("account")),
    "api:contact-list": api("GET", "everyone", leak=("pipeline", lambda w: w.contact.last_name)),
    "api:contact-detail": api("GET", "pipeline", pk("contact")),
    "api:opportunity-list": api("GET", "everyone", leak=("pipeline", lambda w: w.opportunity.name)),
    "api:opportunity-detail": api("GET", "pipeline", pk("opportunity")),
    "api:opportunity-move": api("POST", "pipeline", pk("opportunity"), perm="opportunities.move_opportunity",
                                data=lambda w: {"stage": w.first_stage.pk}),
    "api:opportunity-mark-won": api("POST", "pipeline", pk("opportunity"), perm="opportunities.win_opportunity"),
    "api:opportunity-mark-lost": api("POST", "pipeline", pk("opportunity"), perm="opportunities.lose_opportunity",
                                     data=lambda w: {"reason": w.lost_reason.pk}),
    "api:opportunity-reopen": api("POST", "pipeline", pk("lost_opportunity"),
                                  perm="opportunities.reopen_opportunity"),
    "api:activity-list": api("GET", "everyone", leak=("pipeline", lambda w: w.activity.subject)),
    "api:activity-detail": api("GET", "pipeline", pk("activity")),
    "api:quote-list": api("GET", "everyone", leak=("financial", NUMBER["quote"])),
    "api:quote-detail": api("GET", "financial", pk("quote")),
    "api:quote-add-line": api("POST", "financial", pk("quote"), perm="quotes.change_quote",
                              data=lambda w: {"description": "Matrix line", "quantity": "1", "unit_price": "10"}),
    "api:quote-line": api("PATCH", "financial", lambda w: {"pk": w.quote.pk, "line_pk": w.quote_line.pk},
                          perm="quotes.change_quote", data=lambda w: {"quantity": "2"}),
    "api:quote-send": api("POST", "financial", pk("quote"), perm="quotes.send_quote"),
    "api:quote-cancel": api("POST", "financial", pk("quote"), perm="quotes.cancel_quote"),
    "api:quote-reject": api("POST", "financial", pk("sent_quote"), perm="quotes.reject_quote",
                            data=lambda w: {"reason": "Too expensive"}),
    "api:quote-revise": api("POST", "financial", pk("sent_quote"), perm="quotes.revise_quote"),
    "api:quote-accept": api("POST", "financial", pk("sent_quote"), perm="quotes.accept_quote"),
    "api:order-list": api("GET", "everyone", leak=("financial", NUMBER["order"])),
    "api:order-detail": api("GET", "financial", pk("order")),
    "api:order-start-fulfilment": api("POST", "financial", pk("order"), perm="orders.start_fulfilment_order"),
    "api:order-fulfil": api("POST", "financial", pk("order"), perm="orders.fulfil_order"),
    "api:order-cancel": api("POST", "financial", pk("order"), perm="orders.cancel_order",
                            data=lambda w: {"reason": "Customer withdrew"}),
    "api:order-delivery": api("POST", "financial", pk("order"), perm="orders.deliver_order",
                              data=lambda w: {"lines": [{"line": line.pk, "delivered": "1"}
                                                        for line in w.order.lines.all()]}),
    "api:order-invoice": api("POST", "financial", pk("fulfilled_order"), perm="invoices.add_invoice",
                             data=lambda w: {"mode": "full"}),
    "api:invoice-list": api("GET", "everyone", leak=("financial", NUMBER["invoice"])),
    "api:invoice-detail": api("GET", "financial", pk("invoice")),
    "api:invoice-issue": api("POST", "financial", pk("draft_invoice"), perm="invoices.issue_invoice"),
    "api:invoice-credit-note": api("POST", "financial", pk("invoice"), perm="invoices.credit_invoice",
                                   data=lambda w: {"reason": "Wrong price"}),
    "api:invoice-apply-credit": api("POST", "financial", pk("invoice"), perm="invoices.record_payment"),
    "api:payment-list": api("GET", "everyone", leak=("financial", lambda w: w.payment.reference)),
    "api:payment-detail": api("GET", "financial", pk("payment")),
}


# --- the URL conf --------------------------------------------------------------------------------------------------
OUR_PACKAGES = ("crm", "leads", "opportunities", "quotes", "orders", "invoices", "api")


def our_url_names() -> set[str]:
    """The names of every URL pattern served by our code (not Django's auth, admin or other libraries).

    New local apps must be added to OUR_PACKAGES (a test below checks that every local app is listed)."""

    names: set[str] = set()

    def walk(patterns: list, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
            elif isinstance(entry, URLPattern):
                module = getattr(entry.callback, "__module__", "") or ""
                if module.split(".")[0] in OUR_PACKAGES:
                    names.add(f"{namespace}{entry.name}")

    walk(get_resolver().url_patterns, "")
    return names


def test_every_url_has_an_access_expectation() -> None:
    missing = sorted(our_url_names() - set(CASES))
    assert not missing, f"new URL without an access expectation in tests/test_access_matrix.py: {missing}"
    stale = sorted(set(CASES) - our_url_names())
    assert not stale, f"rows for URLs that no longer exist: {stale}"


def test_every_local_app_is_covered_by_the_matrix() -> None:
    from django.apps import apps  # noqa: PLC0415

    local = {config.name.split(".")[0] for config in apps.get_app_configs()
             if str(config.path).startswith(str(settings.BASE_DIR)) and ".venv" not in str(config.path)}
    assert local <= set(OUR_PACKAGES), f"add {sorted(local - set(OUR_PACKAGES))} to OUR_PACKAGES"


# --- the records ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def media_root(tmp_path_factory) -> Any:
    return tmp_path_factory.mktemp("matrix-media")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, media_root) -> Iterator[SimpleNamespace]:
    from django.test import override_settings  # noqa: PLC0415

    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media_root), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


def _build_world() -> SimpleNamespace:
    team_a = factories.TeamFactory(name="Matrix A")
    team_b = factories.TeamFactory(name="Matrix B")
    users = {
        "owner": factories.UserFactory(username="m-owner", role="seller"),
        "teammate": factories.UserFactory(username="m-teammate", role="seller"),
        "other_seller": factories.UserFactory(username="m-other-seller", role="seller"),
        "manager": factories.UserFactory(username="m-manager", role="sales_manager"),
        "other_manager": factories.UserFactory(username="m-other-manager", role="sales_manager"),
        "accountant": factories.UserFactory(username="m-accountant", role="accountant"),
        "staff": factories.UserFactory(username="m-staff", is_staff=True, is_superuser=True),
    }
    team_a.members.add(users["owner"], users["teammate"])
    team_b.members.add(users["other_seller"])
    Team.objects.filter(pk=team_a.pk).update(manager=users["manager"])
    Team.objects.filter(pk=team_b.pk).update(manager=users["other_manager"])
    owner = users["owner"]
    # Team A works in its own pipeline, so its stage documents belong to the team (not to the default pipeline).
    for order, name in enumerate(("Matrix discovery", "Matrix proposal"), start=1):
        Stage.objects.create(team=team_a, name=name, order=order, probability=10 * order)

    w = SimpleNamespace(users=users, later=(timezone.localdate() + timedelta(days=20)).isoformat())
    w.lead = factories.lead(owner=owner, last_name="Matrixlead")
    w.disqualify_code = DisqualificationReason.objects.filter(active=True).values_list("code", flat=True).first()
    w.disqualified_lead = lead_disqualify(lead=factories.lead(owner=owner), actor=owner, reason=w.disqualify_code)

    w.opportunity = factories.opportunity(owner=owner, company="Matrix Opportunity AG")
    stages = pipeline_stages(w.opportunity.team)
    assert w.opportunity.team == team_a and stages[0].team == team_a
    w.first_stage = stages[0]
    w.checklist_item = StageChecklistItem.objects.create(stage=w.opportunity.stage, label="Matrix check")
    w.lost_reason = lost_reasons_for(w.opportunity.team).first()
    w.committee_member = opportunity_committee_add(opportunity=w.opportunity, contact=w.opportunity.contact,
                                                   role="user", actor=owner)
    w.competitor_entry = opportunity_competitor_add(opportunity=w.opportunity, actor=owner,
                                                    competitor=Competitor.objects.create(name="Matrix rival"))
    w.activity = activity_log(target=w.opportunity, actor=owner, kind=ActivityKind.CALL,
                                   subject="Matrix follow-up call", due_at=timezone.now() + timedelta(days=1))
    w.lost_opportunity = opportunity_lose(opportunity=factories.opportunity(owner=owner), actor=owner,
                                          reason=w.lost_reason)
    w.stage_document = StageDocument.objects.create(stage=w.first_stage, title="Brochure",
                                                    file=ContentFile(b"%PDF-1.4 brochure", name="brochure.pdf"))

    w.quote = factories.quote(owner=owner, lines=2)
    w.quote_line = w.quote.lines.order_by("position").first()
    w.quote_line_ids = [str(pk) for pk in w.quote.lines.order_by("position").values_list("pk", flat=True)]
    w.tax_rate = w.quote_line.tax_rate
    w.sent_quote = factories.quote(owner=owner, sent=True)
    quote_render_pdf(quote_id=w.sent_quote.pk)
    w.token = make_token(w.sent_quote)

    w.order = order_create_from_quote(quote=factories.quote(owner=owner, sent=True), actor=owner)
    order_render_pdf(order_id=w.order.pk)
    w.fulfilled_order = order_fulfil(order=order_create_from_quote(quote=factories.quote(owner=owner, sent=True),
                                                                   actor=owner), actor=owner)
    w.draft_invoice = factories.invoice(owner=owner)
    issued = factories.invoice(owner=owner)
    w.invoice = invoice_issue(invoice=issued, actor=None)
    invoice_render_pdf(invoice_id=w.invoice.pk)
    w.invoice.refresh_from_db()
    w.payment = payment_record(invoice=w.invoice, actor=users["accountant"], amount=Money("1.00", "EUR"),
                               reference="MATRIX-PAY-1")
    w.account = w.opportunity.account
    w.contact = w.opportunity.contact

    # One signed-in session per role, made once: each request gets a fresh client carrying that session, so
    # no cookie (flash messages, language) leaks from one check into the next.
    w.sessions = {}
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        w.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value

    w.import_job = ImportJob.objects.create(created_by=owner, file=ContentFile(b"name\n", name="m.csv"),
                                            file_name="m.csv", headers=["name"])
    w.web_form = WebForm.objects.create(name="Matrix form", default_owner=owner, team=team_a)
    return w


# --- running one request ----------------------------------------------------------------------------------------------
def fingerprint() -> list[Any]:
    """Everything a refused request must leave as it was."""
    rows: list[Any] = [
        list(model.objects.order_by("pk").values_list("pk", "state", "owner_id", "updated_at"))
        for model in (Lead, Opportunity, Quote, Order, Invoice)
    ]
    rows.append(list(QuoteLine.objects.order_by("pk").values_list("pk", "description", "quantity", "position")))
    rows.append(list(OrderLine.objects.order_by("pk").values_list("pk", "delivered_quantity")))
    rows += [model.objects.count() for model in (
        InvoiceLine, Payment, CustomerCredit, Activity, StageChange, StateLog, OpportunityContact,
        OpportunityCompetitor, ChecklistTick,
    )]
    return rows


def call(client: Client, method: str, url: str, data: dict[str, Any], *, as_json: bool = False) -> Any:
    if method == "GET":
        return client.get(url, data)
    if as_json:
        return client.generic(method, url, json.dumps(data), content_type="application/json")
    return client.post(url, data)


def check(name: str, case: Case, world: SimpleNamespace, role: str, method: str) -> str | None:
    """Run one request as `role` in a savepoint that is rolled back; return a failure description or None."""
    expected = case.expected(role, method)
    url = reverse(name, kwargs=case.kwargs(world))
    if case.query:
        url += "?" + case.query
    data = case.data(world) if method == "POST" else {}
    with transaction.atomic():
        client = Client()
        if role != "anonymous":
            client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
        # Only a refused change (POST, PATCH) must be shown to write nothing (a GET writes nothing anyway);
        # fingerprinting every request would double the matrix's run time.
        watch = method != "GET" and expected != OK
        before = fingerprint() if watch else None
        response = call(client, method, url, data, as_json=case.api)
        after = fingerprint() if watch else None
        transaction.set_rollback(True)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace")
    status = response.status_code
    where = f"{method} {name} as {role}: expected {expected}, got {status}"
    if case.api and expected != OK and not response.get("Content-Type", "").startswith("application/json"):
        return f"{where} (not a JSON answer)"
    if expected == LOGIN:
        if not (status == 302 and response["Location"].startswith(reverse("login"))):
            return where
    elif expected == ADMIN_LOGIN:
        if not (status == 302 and response["Location"].startswith(reverse("admin:login"))):
            return where
    elif expected == UNAUTHENTICATED:
        if status not in (401, 403):
            return where
    elif expected == NOT_FOUND:
        if status != 404:
            return where
    elif expected == DENIED:
        if not case.refusal_message:
            if status != 403:
                return where
        elif status not in (200, 400, 403, 409) or REFUSAL not in text:
            return f"{where} (no refusal message)" if status in (200, 400, 403, 409) else where
    elif status in (401, 403, 404) or REFUSAL in text or (status == 302 and "/accounts/login/" in response["Location"]):
        return where + (" (refused by role)" if REFUSAL in text else "")
    if expected in (NOT_FOUND, DENIED, LOGIN, UNAUTHENTICATED, ADMIN_LOGIN) and before != after:
        return f"{where}: the refused request changed the database"
    if method == "GET" and case.leak and status == 200:
        scope, marker = case.leak
        shown = marker(world) in text
        if shown != (role in SEES[scope]):
            return f"{where}: the owner's record is {'shown' if shown else 'missing'} (leak check)"
    return None


@pytest.mark.parametrize("name", sorted(CASES))
def test_access(name: str, world: SimpleNamespace, media_root: Any, settings: Any, db: None) -> None:
    settings.MEDIA_ROOT = media_root  # where the world's PDFs and files are
    case = CASES[name]
    failures = [
        failure
        for method in (case.method, *case.also)
        for role in ROLES
        if (failure := check(name, case, world, role, method))
    ]
    assert not failures, "\n".join(failures)


def test_report_csv_is_scoped(world: SimpleNamespace, db: None) -> None:
    """The pipeline report's CSV export counts only the deals the user may see."""
    client = Client()
    client.force_login(world.users["other_seller"])
    response = client.get(reverse("opportunities:report"), {"format": "csv"})
    assert response.status_code == 200
    assert world.opportunity.name not in response.content.decode()


def test_a_role_refusal_names_the_action_and_writes_nothing(world: SimpleNamespace, db: None) -> None:
    client = Client()
    client.force_login(world.users["owner"])
    before = fingerprint()

    response = client.post(reverse("invoices:issue", args=[world.draft_invoice.pk]))

    assert response.status_code == 403
    assert "Your role does not allow this: Issue invoices." in response.content.decode()
    assert fingerprint() == before
    assert Invoice.objects.get(pk=world.draft_invoice.pk).number is None


def test_seller_record_page_offers_no_accountant_actions(world: SimpleNamespace, db: None) -> None:
    client = Client()
    client.force_login(world.users["owner"])
    page = client.get(reverse("invoices:detail", args=[world.draft_invoice.pk])).content.decode()
    assert 'data-testid="issue-disabled"' in page and "Only accountants issue invoices." in page
    assert reverse("invoices:issue", args=[world.draft_invoice.pk]) not in page

    client.force_login(world.users["accountant"])
    page = client.get(reverse("invoices:detail", args=[world.draft_invoice.pk])).content.decode()
    assert reverse("invoices:issue", args=[world.draft_invoice.pk]) in page


def test_accountant_quote_page_offers_no_sales_actions(world: SimpleNamespace, db: None) -> None:
    client = Client()
    client.force_login(world.users["accountant"])
    page = client.get(reverse("quotes:detail", args=[world.quote.pk])).content.decode()
    for action in ("send", "cancel", "line_add", "update"):
        assert reverse(f"quotes:{action}", args=[world.quote.pk]) not in page, action

    client.force_login(world.users["owner"])
    page = client.get(reverse("quotes:detail", args=[world.quote.pk])).content.decode()
    assert reverse("quotes:send", args=[world.quote.pk]) in page


def test_only_a_manager_is_offered_reopen(world: SimpleNamespace, db: None) -> None:
    url = reverse("opportunities:reopen", args=[world.lost_opportunity.pk])
    client = Client()
    client.force_login(world.users["owner"])
    page = client.get(reverse("opportunities:detail", args=[world.lost_opportunity.pk])).content.decode()
    assert url not in page and "Only a sales manager can reopen a lost opportunity." in page
    client.force_login(world.users["manager"])
    page = client.get(reverse("opportunities:detail", args=[world.lost_opportunity.pk])).content.decode()
    assert url in page


@pytest.mark.parametrize("app", ["leads", "opportunities", "quotes", "orders", "invoices"])
def test_archive_and_restore_are_post_only(app: str, world: SimpleNamespace, db: None) -> None:
    """A link (GET) never archives: a prefetching browser or a crawler must not hide records."""
    record = {"leads": world.lead, "opportunities": world.opportunity, "quotes": world.quote,
              "orders": world.order, "invoices": world.draft_invoice}[app]
    client = Client()
    client.force_login(world.users["owner"])
    for action in ("archive", "restore"):
        assert client.get(reverse(f"{app}:{action}", args=[record.pk])).status_code == 405
    record.refresh_from_db()
    assert record.archived_at is None


def test_default_pipeline_documents_are_for_every_signed_in_user(world: SimpleNamespace, media_root: Any,
                                                                   settings: Any, db: None) -> None:
    settings.MEDIA_ROOT = media_root
    default_stage = pipeline_stages(None)[0]
    document = StageDocument.objects.create(stage=default_stage, title="Price list",
                                            file=ContentFile(b"%PDF-1.4 prices", name="prices.pdf"))
    client = Client()
    client.force_login(world.users["other_seller"])
    response = client.get(reverse("opportunities:stage_document", args=[document.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 prices"
    # ...while team A's own brochure stays hidden from a seller of team B
    assert client.get(reverse("opportunities:stage_document", args=[world.stage_document.pk])).status_code == 404
