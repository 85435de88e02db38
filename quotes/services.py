"""Writes on quotes: creation from an opportunity, line editing while draft, versions, send (PDF + e-mail
with a signed link), the customer's decision on the public page, expiry.

Accepting a quote creates an order, so the order itself is made by orders.services (the target app);
this module records the customer's acceptance evidence, which the public view saves in the same
transaction as the order."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from djmoney.money import Money

from crm import money
from crm.documents import render_pdf, store_pdf
from crm.jobs import enqueue_on_commit
from crm.models import CompanyProfile, Product, TaxRate, User
from crm.permissions import require
from crm.tracking import EMPTY, acting_as, log_changes
from crm.workflow import DomainError, bulk_transition, lock, run_transition
from opportunities.models import Opportunity, OpportunityState
from quotes import links
from quotes.models import LineKind, Quote, QuoteAcceptance, QuoteLine, QuoteState
from quotes.selectors import default_unit_price

logger = logging.getLogger(__name__)

LINE_FIELDS = {"description", "quantity", "unit_price", "discount_percent", "discount_amount", "tax_rate"}


def default_terms(company: CompanyProfile) -> str:
    parts = [company.default_quote_terms.strip(), company.default_payment_terms.strip()]
    text = "\n\n".join(p for p in parts if p)
    return text or _("Payment within %(days)s days of the invoice date, without deduction.") % {
        "days": settings.SALESFLOW_PAYMENT_TERMS_DAYS
    }


@transaction.atomic
def quote_create_from_opportunity(*, opportunity: Opportunity, actor: User, title: str = "") -> Quote:
    require(actor, "quotes.add_quote")
    opportunity = lock(opportunity)  # decide on the stored state: the deal may have closed in another tab
    if opportunity.state != OpportunityState.OPEN:
        raise DomainError(_("Quotes can only be written for open opportunities."))
    company = CompanyProfile.current()
    quote = Quote(
        opportunity=opportunity,
        account=opportunity.account,
        contact=opportunity.contact,
        owner=actor if actor.pk == opportunity.owner_id else opportunity.owner,
        team=opportunity.team,
        title=title or opportunity.name,
        currency=str(opportunity.amount.currency),
        valid_until=_default_valid_until(company),
        terms=default_terms(company),
        language=getattr(actor, "language", "") or settings.LANGUAGE_CODE,
    )
    quote.assign_number()
    quote.save()
    return quote


def _default_valid_until(company: CompanyProfile) -> date:
    days = company.default_validity_days or settings.SALESFLOW_QUOTE_VALIDITY_DAYS
    return timezone.localdate() + timedelta(days=days)


def _editable(quote: Quote) -> Quote:
    quote = lock(quote)
    if not quote.is_editable:
        raise DomainError(
            _("Quote %(quote)s is %(state)s; only drafts can be edited.")
            % {"quote": quote, "state": quote.get_state_display()}
        )
    return quote


def _line_net(line: QuoteLine, currency: str) -> Money:
    if line.kind != LineKind.ITEM:
        return Money(0, currency)
    return Money(
        money.line_net(
            quantity=line.quantity, unit_price=line.unit_price.amount, discount_percent=line.discount_percent,
            discount_amount=line.discount_amount, currency=currency,
        ),
        currency,
    )


def _refresh_totals(quote: Quote) -> Quote:
    lines = list(quote.lines.all())
    for line in lines:
        line.net = _line_net(line, quote.currency)
    QuoteLine.objects.bulk_update(lines, ["net", "net_currency"])
    lines_net = sum((line.net.amount for line in lines), Decimal(0))
    discount = quote.document_discount(lines_net=lines_net)
    if discount > lines_net:
        raise DomainError(_("The document discount cannot be larger than the sum of the lines."))
    quote.apply_totals(money.compute_totals(
        [line.as_input() for line in lines if line.kind == LineKind.ITEM], quote.currency, document_discount=discount
    ))
    quote.save(update_fields=["net_total", "net_total_currency", "tax_total", "tax_total_currency",
                              "gross_total", "gross_total_currency", "updated_at"])
    return quote


def _check_amounts(*, quantity: Decimal, unit_price: Decimal, discount_percent: Decimal,
                   discount_amount: Decimal) -> None:
    if quantity <= 0:
        raise DomainError(_("Quantity must be greater than zero."))
    if unit_price < 0:
        raise DomainError(_("The unit price cannot be negative."))
    if not Decimal(0) <= discount_percent <= Decimal(100):
        raise DomainError(_("Discount must be between 0 and 100 %."))
    if discount_amount < 0:
        raise DomainError(_("A discount amount cannot be negative."))
    if discount_percent and discount_amount:
        raise DomainError(_("Give a line discount either in percent or as an amount, not both."))
    if discount_amount > quantity * unit_price:
        raise DomainError(_("The discount cannot be larger than the line amount."))


def _check_tax_rate(tax_rate: TaxRate) -> None:
    if tax_rate.category in TaxRate.REASON_REQUIRED and not tax_rate.exemption_reason.strip():
        raise DomainError(_("The tax rate %(rate)s has no exemption reason; an administrator must add one first.")
                          % {"rate": tax_rate})


def _log_line(quote: Quote, actor: User, before: str, after: str) -> None:
    """A line added (before empty), removed (after empty) or changed, as one row of the quote's history."""
    if before != after:
        log_changes(quote, [("lines", before, after)], actor=actor)


def _next_position(quote: Quote) -> int:
    last = quote.lines.order_by("-position").values_list("position", flat=True).first() or 0
    return last + 1


@transaction.atomic
def quote_line_add(
    *,
    quote: Quote,
    actor: User,
    product: Product | None = None,
    description: str = "",
    quantity: Decimal = Decimal(1),
    unit_price: Decimal | None = None,
    discount_percent: Decimal = Decimal(0),
    discount_amount: Decimal = Decimal(0),
    tax_rate: TaxRate | None = None,
    kind: str = LineKind.ITEM,
) -> QuoteLine:
    require(actor, "quotes.change_quote")
    quote = _editable(quote)
    if kind != LineKind.ITEM:
        if not description.strip():
            raise DomainError(_("A section heading or note needs a text."))
        line = QuoteLine.objects.create(
            quote=quote, position=_next_position(quote), kind=kind, description=description.strip(),
            quantity=Decimal(0), unit="", unit_price=Money(0, quote.currency), net=Money(0, quote.currency),
            tax_percent=Decimal(0),
        )
        _log_line(quote, actor, EMPTY, line.history_text())
        return line
    if product is None and not description:
        raise DomainError(_("A line needs a product or a description."))
    if product is not None and unit_price is None:
        unit_price = default_unit_price(product=product, account=quote.account, currency=quote.currency)
        if unit_price is None:
            raise DomainError(
                _("%(product)s is priced in %(cur)s and on no %(quote_cur)s price list; enter a price in "
                  "%(quote_cur)s.")
                % {"product": product, "cur": product.price.currency, "quote_cur": quote.currency}
            )
    tax_rate = tax_rate or (product.tax_rate if product else None)
    if tax_rate is None:
        raise DomainError(_("Choose a tax rate for this line."))
    _check_tax_rate(tax_rate)
    unit_price = Decimal(unit_price or 0)
    _check_amounts(quantity=quantity, unit_price=unit_price, discount_percent=discount_percent,
                   discount_amount=discount_amount)
    line = QuoteLine.objects.create(
        quote=quote,
        position=_next_position(quote),
        product=product,
        description=description or product.name,
        quantity=quantity,
        unit=product.unit if product else "pc",
        unit_price=Money(unit_price, quote.currency),
        discount_percent=discount_percent,
        discount_amount=discount_amount,
        tax_rate=tax_rate,
        tax_percent=tax_rate.percent,
        tax_category=tax_rate.category,
        recurring=product.recurring if product else "",
        net=Money(0, quote.currency),
    )
    _refresh_totals(quote)
    line.refresh_from_db()
    _log_line(quote, actor, EMPTY, line.history_text())
    return line


@transaction.atomic
def quote_line_update(*, line: QuoteLine, actor: User, **fields) -> QuoteLine:
    """Change a line in place (the inline editor). Only the given fields change."""
    require(actor, "quotes.change_quote")
    quote = _editable(line.quote)
    line = QuoteLine.objects.select_for_update().get(pk=line.pk, quote=quote)
    before = line.history_text()
    unknown = set(fields) - LINE_FIELDS
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "description" in fields:
        if not str(fields["description"]).strip():
            raise DomainError(_("The description cannot be empty."))
        line.description = str(fields["description"]).strip()
    if line.kind == LineKind.ITEM:
        for name in ("quantity", "discount_percent", "discount_amount"):
            if fields.get(name) is not None:
                setattr(line, name, Decimal(fields[name]))
        if fields.get("unit_price") is not None:
            line.unit_price = Money(Decimal(fields["unit_price"]), quote.currency)
        if fields.get("tax_rate") is not None:
            _check_tax_rate(fields["tax_rate"])
            line.tax_rate = fields["tax_rate"]
            line.tax_percent = line.tax_rate.percent
            line.tax_category = line.tax_rate.category
        _check_amounts(quantity=line.quantity, unit_price=line.unit_price.amount,
                       discount_percent=line.discount_percent, discount_amount=line.discount_amount)
    line.save()
    _refresh_totals(quote)
    line.refresh_from_db()
    _log_line(quote, actor, before, line.history_text())
    return line


@transaction.atomic
def quote_lines_reorder(*, quote: Quote, actor: User, line_ids: list[int]) -> Quote:
    """Put the lines in the order given (drag and drop sends every id; up/down buttons go through
    `quote_line_move`)."""
    require(actor, "quotes.change_quote")
    quote = _editable(quote)
    lines = {line.pk: line for line in quote.lines.all()}
    if sorted(line_ids) != sorted(lines):
        raise DomainError(_("The lines changed meanwhile; reload the page and try again."))
    for position, pk in enumerate(line_ids, start=1):
        lines[pk].position = position
    QuoteLine.objects.bulk_update(lines.values(), ["position"])
    return quote


def quote_line_move(*, line: QuoteLine, actor: User, direction: str) -> Quote:
    require(actor, "quotes.change_quote")
    ids = list(line.quote.lines.order_by("position", "pk").values_list("pk", flat=True))
    index = ids.index(line.pk)
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(ids):
        ids[index], ids[target] = ids[target], ids[index]
    return quote_lines_reorder(quote=line.quote, actor=actor, line_ids=ids)


@transaction.atomic
def quote_line_remove(*, line: QuoteLine, actor: User) -> Quote:
    require(actor, "quotes.change_quote")
    quote = _editable(line.quote)
    _log_line(quote, actor, line.history_text(), EMPTY)
    line.delete()
    return _refresh_totals(quote)


@transaction.atomic
def quote_update(*, quote: Quote, actor: User, **fields) -> Quote:
    require(actor, "quotes.change_quote")
    quote = _editable(quote)
    for name, value in fields.items():
        if name not in {"title", "valid_until", "terms", "notes", "contact", "language", "discount_percent",
                        "discount_amount"}:
            raise ValueError(f"{name} is not editable")
        setattr(quote, name, value)
    if quote.discount_percent and quote.discount_amount:
        raise DomainError(_("Give the document discount either in percent or as an amount, not both."))
    if not Decimal(0) <= quote.discount_percent <= Decimal(100) or quote.discount_amount < 0:
        raise DomainError(_("The document discount must be between 0 and 100 % or a positive amount."))
    quote.full_clean()
    with acting_as(actor):
        quote.save()
    return _refresh_totals(quote)


@transaction.atomic
def quote_send(*, quote: Quote, actor: User) -> Quote:
    require(actor, "quotes.send_quote")
    fresh = lock(quote)
    if fresh.state == QuoteState.DRAFT and not fresh.lines.filter(kind=LineKind.ITEM).exists():
        raise DomainError(_("Add at least one line before sending the quote."))
    if fresh.state == QuoteState.DRAFT and fresh.valid_until < timezone.localdate():
        raise DomainError(_("The quote's validity date is in the past; change it before sending."))
    quote = run_transition(fresh, "send", actor=actor, at=timezone.now())
    from quotes.tasks import render_quote_pdf  # noqa: PLC0415  (tasks import services)

    enqueue_on_commit(render_quote_pdf, quote.pk)
    return quote


@transaction.atomic
def quote_revise(*, quote: Quote, actor: User) -> Quote:
    """Supersede a sent quote and open its next version as a draft with the same lines.

    The sent version stays as it was (frozen, with its PDF and link, which now says it was replaced).
    Numbers: the first version keeps its number, revisions add “-v2”, “-v3”… to it.
    """
    require(actor, "quotes.revise_quote")
    old = run_transition(quote, "supersede", actor=actor)
    root = old.root or old
    version = (Quote.objects.filter(root=root).order_by("-version").values_list("version", flat=True).first()
               or root.version) + 1
    company = CompanyProfile.current()
    new = Quote(
        opportunity=old.opportunity, account=old.account, contact=old.contact, owner=old.owner, team=old.team,
        title=old.title, currency=old.currency, terms=old.terms, notes=old.notes, language=old.language,
        discount_percent=old.discount_percent, discount_amount=old.discount_amount,
        net_total=old.net_total, tax_total=old.tax_total, gross_total=old.gross_total,
        valid_until=max(old.valid_until, _default_valid_until(company)),
        root=root, version=version, number=f"{root.number}-v{version}",
    )
    try:
        with transaction.atomic():
            new.save()
    except IntegrityError as exc:  # a concurrent revision of the same family took this version number
        raise DomainError(_("Someone else revised this quote at the same time. Reload and try again.")) from exc
    QuoteLine.objects.bulk_create(
        [QuoteLine(quote=new, **line.revision_values()) for line in old.lines.all()]
    )
    return new


@transaction.atomic
def quote_reject(*, quote: Quote, actor: User | None, reason: str = "") -> Quote:
    require(actor, "quotes.reject_quote")
    return run_transition(quote, "reject", actor=actor, at=timezone.now(), reason=reason, description=reason)


@transaction.atomic
def quote_cancel(*, quote: Quote, actor: User) -> Quote:
    require(actor, "quotes.cancel_quote")
    return run_transition(quote, "cancel", actor=actor)


def quote_render_pdf(*, quote_id: int, force: bool = False) -> bool:
    """Render and store the PDF of a sent (or later) quote. Returns False when there was nothing to do."""
    quote = (
        Quote.objects.select_related("account", "contact", "owner", "opportunity")
        .prefetch_related("lines__product", "lines__tax_rate").get(pk=quote_id)
    )
    if quote.state == QuoteState.DRAFT or (quote.pdf and not force):
        return False
    # EN 16931 BR-E-10 / BR-AE-10: say why an exempt or reverse-charge line carries no tax.
    reasons = dict.fromkeys(
        line.tax_rate.exemption_reason for line in quote.lines.all() if line.tax_rate and line.tax_rate.exemption_reason
    )
    content = render_pdf(
        Quote.PDF_TEMPLATE,
        {"quote": quote, "lines": quote.lines.all(), "totals": quote.totals(), "company": CompanyProfile.current(),
         "exemption_reasons": list(reasons)},
        language=quote.language,
    )
    store_pdf(quote, content, f"{quote.number}.pdf")
    return True


def quote_recipient(quote: Quote) -> str:
    return (quote.contact.email if quote.contact else "") or quote.account.email


def quote_email(*, quote_id: int, base_url: str = "") -> bool:
    """E-mail a sent quote's PDF with its signed link, once. Returns False when nothing was sent
    (not sent yet, already e-mailed, no PDF yet, or no address to send to).

    The e-mailed_at stamp is claimed with a conditional UPDATE before sending, so two workers running
    the task at once cannot both send: at most once rather than twice.
    """
    quote = Quote.objects.select_related("account", "contact", "owner").get(pk=quote_id)
    recipient = quote_recipient(quote)
    if quote.state != QuoteState.SENT or quote.emailed_at or not quote.pdf or not recipient:
        return False
    claimed = Quote.objects.filter(pk=quote.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now(), emailed_to=recipient
    )
    if not claimed:
        return False
    company = CompanyProfile.current()
    url = (base_url or settings.SALESFLOW_BASE_URL).rstrip("/") + links.public_path(quote)
    with translation.override(quote.language):
        subject = _("Quote %(number)s from %(company)s") % {"number": quote.number, "company": company.legal_name}
        body = render_to_string("quotes/email/quote.txt", {"quote": quote, "company": company, "url": url})
    message = EmailMessage(subject=subject, body=body, to=[recipient],
                           reply_to=[quote.owner.email] if quote.owner.email else None)
    try:
        with quote.pdf.open("rb") as handle:
            message.attach(f"{quote.number}.pdf", handle.read(), "application/pdf")
        message.send()
    except Exception:
        # Release the claim so the task's retry sends it; the mail server did not take it.
        Quote.objects.filter(pk=quote.pk).update(emailed_at=None, emailed_to="")
        raise
    return True


@dataclass(frozen=True)
class Evidence:
    """What the public page knows about the person accepting."""

    name: str
    email: str
    ip_address: str | None
    user_agent: str
    pdf_sha256: str


def _check_decidable(quote: Quote) -> None:
    if quote.state == QuoteState.SENT and quote.is_past_validity():
        raise DomainError(_("This quote expired on %(date)s and can no longer be accepted.")
                          % {"date": quote.valid_until})
    if quote.state != QuoteState.SENT:
        raise DomainError(_("This quote is %(state)s; it can no longer be accepted or rejected.")
                          % {"state": quote.get_state_display()})


@transaction.atomic
def quote_record_acceptance(*, quote: Quote, evidence: Evidence) -> QuoteAcceptance:
    """Store the customer's acceptance evidence for exactly this version. The caller creates the order in
    the same transaction (orders.services.order_create_from_quote), which runs the accept transition.

    The quote row is locked first: a second click or a second browser waits here, then finds the quote
    accepted and is refused; the one-to-one constraint is the last line of defence.
    """
    quote = lock(quote)
    _check_decidable(quote)
    if not evidence.name.strip():
        raise DomainError(_("Type your name to accept the quote."))
    if not quote.pdf_sha256:
        raise DomainError(_("The quote document is still being prepared; try again in a minute."))
    if evidence.pdf_sha256 != quote.pdf_sha256:
        raise DomainError(_("The quote changed since you opened it; reload the page and check it again."))
    try:
        with transaction.atomic():
            return QuoteAcceptance.objects.create(
                quote=quote, name=evidence.name.strip()[:200], email=evidence.email,
                ip_address=evidence.ip_address, user_agent=evidence.user_agent[:500],
                pdf_sha256=quote.pdf_sha256, version=quote.version,
                gross_total=quote.gross_total.amount, currency=quote.currency,
            )
    except IntegrityError as exc:
        raise DomainError(_("This quote has already been accepted.")) from exc


@transaction.atomic
def quote_reject_by_customer(*, quote: Quote, name: str, comment: str) -> Quote:
    quote = lock(quote)
    _check_decidable(quote)
    reason = comment.strip()
    description = _("Rejected by %(name)s on the quote page") % {"name": name.strip() or _("the customer")}
    return run_transition(quote, "reject", actor=None, at=timezone.now(), reason=reason,
                          description=f"{description}: {reason}" if reason else description)


def quote_expire_due(*, today: date | None = None, dry_run: bool = False) -> int:
    """Expire every sent quote whose validity ended before `today`, set-based (one UPDATE)."""
    due = Quote.objects.past_validity(today or timezone.localdate())
    if dry_run:
        return due.count()
    return bulk_transition(due, "expire", actor=None, description=_("Validity ended"))
