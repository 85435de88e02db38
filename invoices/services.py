"""Writes on invoices: billing an order (in full, the delivered part, chosen quantities, down payments,
milestones), issue (legal number + hash chain), credit notes, payments and customer credit, the overdue
sweep with dunning, PDF rendering."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from crm import money, numbering
from crm.jobs import enqueue_on_commit
from crm.models import CompanyProfile, User
from crm.permissions import require
from crm.tracking import acting_as, untracked
from crm.workflow import DomainError, bulk_transition, lock, run_transition
from invoices import schedule
from invoices.models import (
    CustomerCredit,
    DunningLevel,
    DunningNotice,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceState,
    LineRole,
    Payment,
    PaymentMethod,
    PaymentTerm,
)
from orders.models import Order, OrderLine, OrderState

ZERO = Decimal(0)


class BillingMode:
    FULL = "full"
    DELIVERED = "delivered"
    QUANTITIES = "quantities"
    DOWN_PAYMENT = "down_payment"
    MILESTONE = "milestone"
    ALL = (FULL, DELIVERED, QUANTITIES, DOWN_PAYMENT, MILESTONE)


# --- Drafting invoices from an order ------------------------------------------------------------------------


def _new_invoice(order: Order, *, kind: str = InvoiceKind.INVOICE, label: str = "") -> Invoice:
    term = PaymentTerm.default()
    return Invoice.objects.create(
        order=order,
        kind=kind,
        schedule_label=label,
        account=order.account,
        owner=order.owner,
        team=order.team,
        currency=order.currency,
        amount_paid=Money(0, order.currency),
        amount_credited=Money(0, order.currency),
        billing_address=order.billing_address,
        customer_reference=order.customer_reference,
        payment_term=term,
        payment_terms_days=term.net_days if term else settings.SALESFLOW_PAYMENT_TERMS_DAYS,
        discount_percent=term.discount_percent if term else ZERO,
        discount_days=term.discount_days if term else 0,
        language=order.quote.language,
    )


def _finish_draft(invoice: Invoice, lines: list[InvoiceLine]) -> Invoice:
    for position, line in enumerate(lines, start=1):
        line.invoice = invoice
        line.position = position
    InvoiceLine.objects.bulk_create(lines)
    invoice.apply_totals(invoice.totals())
    with untracked():  # still its creation: history starts with the first change, not "Total: €0.00 → …"
        invoice.save()
    return invoice


def _item_line(order_line: OrderLine, quantity: Decimal, currency: str) -> InvoiceLine:
    values = order_line.copy_values()
    values["quantity"] = quantity
    line = InvoiceLine(order_line=order_line, role=LineRole.ITEM, **values)
    # The order line's net already holds any amount discount: bill it in proportion to the quantity.
    net = order_line.net.amount if quantity == order_line.quantity else (
        order_line.net.amount * quantity / order_line.quantity)
    line.net = Money(money.quantize(net, currency), currency)
    return line


def _rate_line(*, role: str, description: str, percent: Decimal, base: Decimal, order: Order,
               quantity: Decimal = Decimal(1), deducts: Invoice | None = None) -> InvoiceLine:
    category = next((line.tax_category for line in order.lines.all()
                     if Decimal(line.tax_percent).normalize() == percent), "S")
    return InvoiceLine(
        role=role, description=description, quantity=quantity, unit="", deducts=deducts,
        unit_price=Money(base, order.currency), tax_percent=percent, tax_category=category,
        net=Money(money.quantize(quantity * base, order.currency), order.currency),
    )


def _refuse_over_billing(order_line: OrderLine, quantity: Decimal, billed: Decimal) -> None:
    left = order_line.quantity - billed
    if quantity > left:
        raise DomainError(
            _("“%(line)s”: %(asked)s cannot be invoiced, only %(left)s of %(ordered)s ordered are left to invoice.")
            % {"line": order_line.description, "asked": quantity.normalize(), "left": left.normalize(),
               "ordered": order_line.quantity.normalize()}
        )


@transaction.atomic
def invoice_create_from_order(
    *,
    order: Order,
    actor: User,
    mode: str = BillingMode.FULL,
    quantities: dict[int, Decimal] | None = None,
    percent: Decimal | None = None,
    amount: Decimal | None = None,
    label: str = "",
) -> Invoice:
    """Draft the next invoice of an order's billing schedule.

    - ``full``: everything not invoiced yet (the order must be fulfilled);
    - ``delivered``: the delivered quantities not invoiced yet;
    - ``quantities``: the given quantity per order line id;
    - ``down_payment``: ``percent`` of the order total or a gross ``amount``, split per tax rate;
    - ``milestone``: ``percent`` of the order total (the milestone reaching 100 % bills the exact rest).

    The invoice that bills the last open quantities deducts every down payment not deducted yet.
    Nothing is ever invoiced beyond what was ordered (drafts count). While a draft of the order waits
    to be issued, it is returned instead of a second one, so a double click cannot bill twice.
    """
    require(actor, "invoices.add_invoice")
    order = lock(order)
    if mode not in BillingMode.ALL:
        raise DomainError(_("Unknown way of invoicing: %(mode)s.") % {"mode": mode})
    if order.state == OrderState.CANCELLED:
        raise DomainError(_("Order %(order)s is cancelled and cannot be invoiced.") % {"order": order})
    draft = order.invoices.filter(state=InvoiceState.DRAFT).exclude(kind=InvoiceKind.CREDIT_NOTE).first()
    if draft is not None:
        return draft
    if mode == BillingMode.MILESTONE:
        return _create_milestone(order, percent=percent, label=label)
    if schedule.uses_milestones(order):
        raise DomainError(_("Order %(order)s is invoiced by milestones; continue with the next milestone.")
                          % {"order": order})
    if mode == BillingMode.DOWN_PAYMENT:
        return _create_down_payment(order, percent=percent, amount=amount)
    if mode == BillingMode.FULL and order.state != OrderState.FULFILLED:
        raise DomainError(
            _("Order %(order)s is %(state)s: invoice it once it is fulfilled, or invoice the delivered part.")
            % {"order": order, "state": order.get_state_display()}
        )
    return _create_by_quantity(order, mode=mode, quantities=quantities or {})


def _create_by_quantity(order: Order, *, mode: str, quantities: dict[int, Decimal]) -> Invoice:
    billed = schedule.invoiced_quantities(order)
    order_lines = list(order.lines.all())
    known = {line.pk for line in order_lines}
    if set(quantities) - known:
        raise DomainError(_("Some lines do not belong to order %(order)s.") % {"order": order})
    lines: list[InvoiceLine] = []
    complete = True
    for order_line in order_lines:
        done = billed.get(order_line.pk, ZERO)
        if mode == BillingMode.FULL:
            quantity = order_line.quantity - done
        elif mode == BillingMode.DELIVERED:
            quantity = order_line.delivered_quantity - done
        else:
            quantity = Decimal(quantities.get(order_line.pk, ZERO))
            if quantity < 0:
                raise DomainError(_("Quantities to invoice cannot be negative."))
        if quantity > 0:
            _refuse_over_billing(order_line, quantity, done)
            lines.append(_item_line(order_line, quantity, order.currency))
        if done + max(quantity, ZERO) < order_line.quantity:
            complete = False
    if not lines:
        if mode == BillingMode.DELIVERED:
            raise DomainError(_("Nothing delivered on order %(order)s is waiting to be invoiced.") % {"order": order})
        raise DomainError(_("Everything on order %(order)s has been invoiced already.") % {"order": order})
    if complete:
        # The quote's document discount is granted on the invoice completing the order, per tax rate.
        for rate, share in sorted(schedule.order_discount_shares(order).items()):
            lines.append(_rate_line(role=LineRole.DISCOUNT, order=order, quantity=Decimal(-1), percent=rate,
                                    base=share, description=_("Order discount")))
        # It also settles the down payments: deduct each at its tax rates.
        for down_payment in schedule.outstanding_down_payments(order):
            for advance in down_payment.lines.all():
                lines.append(_rate_line(
                    role=LineRole.DEDUCTION, order=order, quantity=Decimal(-1), deducts=down_payment,
                    percent=Decimal(advance.tax_percent).normalize(), base=advance.unit_price.amount,
                    description=_("Less down payment %(number)s of %(date)s")
                    % {"number": down_payment.number, "date": down_payment.issue_date.isoformat()},
                ))
    return _finish_draft(_new_invoice(order), lines)


def _left_bases(order: Order) -> dict[Decimal, Decimal]:
    """Net per rate not billed yet by items or down payments."""
    bases = schedule.order_bases(order)
    billed = schedule.invoiced_quantities(order)
    for order_line in order.lines.all():
        done = billed.get(order_line.pk, ZERO)
        if done:
            rate = Decimal(order_line.tax_percent).normalize()
            bases[rate] -= money.line_net(quantity=done, unit_price=order_line.unit_price.amount,
                                          discount_percent=order_line.discount_percent, currency=order.currency)
    for rate, net in schedule.billed_bases(order, LineRole.ADVANCE).items():
        bases[rate] = bases.get(rate, ZERO) - net
    for rate, net in schedule.billed_bases(order, LineRole.DEDUCTION).items():
        bases[rate] = bases.get(rate, ZERO) - net  # deductions are negative: they give the advance back
    return {rate: base for rate, base in bases.items() if base > 0}


def _advance_lines(order: Order, parts: list[money.TaxSubtotal], *, role: str, title: str) -> list[InvoiceLine]:
    several = len(parts) > 1
    return [
        _rate_line(
            role=role, order=order, percent=part.percent, base=part.base,
            description=(_("%(title)s (VAT %(rate)s %%)") % {"title": title, "rate": part.percent}) if several
            else title,
        )
        for part in parts
    ]


def _create_down_payment(order: Order, *, percent: Decimal | None, amount: Decimal | None) -> Invoice:
    if (percent is None) == (amount is None):
        raise DomainError(_("Give the down payment either as a percentage or as an amount."))
    if any(schedule.invoiced_quantities(order).values()):
        raise DomainError(_("Order %(order)s is already being invoiced; a down payment comes before the first "
                            "invoice.") % {"order": order})
    bases = _left_bases(order)
    left_gross = sum((b + money.percent_of(b, r, order.currency) for r, b in bases.items()), ZERO)
    try:
        if percent is not None:
            if not ZERO < percent <= 100:
                raise DomainError(_("A down payment percentage must be more than 0 and at most 100."))
            net = money.percent_of(order.net_total.amount, percent, order.currency)
            parts = money.advance_parts(bases=bases, currency=order.currency, net=net)
            title = _("Down payment %(percent)s %% of order %(order)s") % {"percent": percent.normalize(),
                                                                           "order": order}
        else:
            parts = money.advance_parts(bases=bases, currency=order.currency, gross=amount)
            title = _("Down payment on order %(order)s") % {"order": order}
    except ValueError as exc:
        raise DomainError(
            _("The down payment must be more than zero and at most the %(left)s still to be invoiced on order "
              "%(order)s.") % {"left": Money(left_gross, order.currency), "order": order}
        ) from exc
    lines = _advance_lines(order, parts, role=LineRole.ADVANCE, title=title)
    return _finish_draft(_new_invoice(order, kind=InvoiceKind.DOWN_PAYMENT, label=title), lines)


def _create_milestone(order: Order, *, percent: Decimal | None, label: str) -> Invoice:
    if percent is None or not ZERO < percent <= 100:
        raise DomainError(_("A milestone is a percentage of the order total: more than 0 and at most 100."))
    if schedule.bills_by_quantity(order):
        raise DomainError(_("Order %(order)s is invoiced by quantities; milestones cannot be mixed in.")
                          % {"order": order})
    ordered = schedule.order_bases(order)
    billed = schedule.billed_bases(order, LineRole.MILESTONE)
    left = {rate: base - billed.get(rate, ZERO) for rate, base in ordered.items()}
    left = {rate: base for rate, base in left.items() if base > 0}
    left_net = sum(left.values(), ZERO)
    billed_net = order.net_total.amount - left_net
    billed_percent = ((billed_net * 100 / order.net_total.amount) if order.net_total.amount else Decimal(100)).quantize(
        Decimal("0.01"))
    wanted = money.percent_of(order.net_total.amount, percent, order.currency)
    if not left or billed_percent + percent > 100:
        raise DomainError(
            _("Only %(left)s %% of order %(order)s is left to invoice; a milestone of %(asked)s %% is too much.")
            % {"left": (Decimal(100) - billed_percent).quantize(Decimal("0.01")).normalize(), "order": order,
               "asked": percent.normalize()}
        )
    # The milestone reaching 100 % bills exactly what is left, so the milestones add up to the order.
    net = left_net if billed_percent + percent >= 100 else min(wanted, left_net)
    parts = money.advance_parts(bases=left, currency=order.currency, net=net)
    title = label.strip() or _("Milestone %(percent)s %% of order %(order)s") % {"percent": percent.normalize(),
                                                                               "order": order}
    lines = _advance_lines(order, parts, role=LineRole.MILESTONE, title=title)
    return _finish_draft(_new_invoice(order, label=title), lines)


@transaction.atomic
def invoice_update_draft(*, invoice: Invoice, actor: User, **fields) -> Invoice:
    """Edit what may still change on a draft; an issued invoice refuses (corrections are credit notes)."""
    require(actor, "invoices.change_invoice")
    invoice = lock(invoice)
    if invoice.state != InvoiceState.DRAFT:
        raise DomainError(_("%(doc)s is issued and cannot be changed; issue a credit note instead.")
                          % {"doc": invoice})
    for name, value in fields.items():
        if name not in {"billing_address", "customer_reference", "payment_term", "language"}:
            raise ValueError(f"{name} is not editable")
        setattr(invoice, name, value)
    if "payment_term" in fields and invoice.payment_term is not None:
        term = invoice.payment_term
        invoice.payment_terms_days, invoice.discount_percent, invoice.discount_days = (
            term.net_days, term.discount_percent, term.discount_days)
    with acting_as(actor):
        invoice.save()
    return invoice


# --- Issue: legal number, frozen parties, hash chain ---------------------------------------------------------


def _seller_snapshot() -> dict[str, str]:
    company = CompanyProfile.current()
    fields = ("legal_name", "street", "postal_code", "city", "country", "vat_id", "email", "phone", "iban", "bic",
              "bank_name")
    return {name: str(getattr(company, name, "") or "") for name in fields}


def _buyer_snapshot(invoice: Invoice) -> dict[str, str]:
    account = invoice.account
    fields = ("name", "street", "postal_code", "city", "country", "vat_id", "email")
    return {name: str(getattr(account, name, "") or "") for name in fields}


def _previous_hash(number: str) -> str:
    prefix, value = number.rsplit("-", 1)
    if int(value) == 1:
        return ""
    previous_number = f"{prefix}-{int(value) - 1:0{len(value)}d}"
    previous = Invoice.objects.filter(number=previous_number).values_list("chain_hash", flat=True).first()
    if previous is None:
        # The sequence row is locked by this transaction, so the predecessor must exist: refuse rather than
        # start a second chain silently.
        raise DomainError(_("Document %(number)s is missing from the series; ask an administrator to run "
                            "verify_invoices.") % {"number": previous_number})
    return previous


@transaction.atomic
def invoice_issue(*, invoice: Invoice, actor: User | None, issue_date: date | None = None) -> Invoice:
    """Give the invoice (or credit note) its legal number — gapless per series and year, taken under a
    lock in this transaction — freeze totals, seller and buyer, chain its hash and schedule the PDF."""
    require(actor, "invoices.issue_invoice")
    fresh = lock(invoice)
    issue_date = issue_date or timezone.localdate()
    if fresh.state != InvoiceState.DRAFT:
        run_transition(fresh, "issue", actor=actor, number="", issue_date=issue_date, due_date=issue_date)
    totals = fresh.totals()
    if not totals.line_nets:
        raise DomainError(_("An invoice needs at least one line."))
    if totals.gross < 0:
        raise DomainError(_("The down payments deducted are more than this invoice; check the order's invoices."))
    fresh.apply_totals(totals)
    fresh.amount_paid = Money(0, fresh.currency)
    fresh.seller = _seller_snapshot()
    fresh.buyer = _buyer_snapshot(fresh)
    order = fresh.order
    fresh.delivery_date = timezone.localtime(order.fulfilled_at).date() if order.fulfilled_at else issue_date
    # run_transition() re-reads the row: store the frozen fields first or they are lost. Like the fields the
    # transition sets, they are the issue's consequences, which its log row records, not edits.
    with untracked():
        fresh.save(update_fields=[
            "net_total", "net_total_currency", "tax_total", "tax_total_currency", "gross_total",
            "gross_total_currency", "amount_paid", "amount_paid_currency", "seller", "buyer", "delivery_date",
            "updated_at",
        ])
    number = numbering.next_number(fresh.series, on=issue_date)
    if fresh.is_credit_note:
        due_date, discount_due_date = issue_date, None
    else:
        due_date = issue_date + timedelta(days=fresh.payment_terms_days)
        discount_due_date = (issue_date + timedelta(days=fresh.discount_days)) if fresh.discount_percent else None
    invoice = run_transition(
        fresh, "issue", actor=actor, number=number, issue_date=issue_date, due_date=due_date,
        discount_due_date=discount_due_date, previous_hash=_previous_hash(number),
    )
    from invoices.tasks import render_invoice_pdf  # noqa: PLC0415  (tasks import services)

    enqueue_on_commit(render_invoice_pdf, invoice.pk)
    return invoice


# --- Credit notes --------------------------------------------------------------------------------------------


@transaction.atomic
def credit_note_create(
    *,
    invoice: Invoice,
    actor: User,
    reason: str,
    quantities: dict[int, Decimal] | None = None,
    issue_date: date | None = None,
) -> Invoice:
    """Correct an issued invoice with a credit note, issued at once (series CN, own hash chain).

    Without `quantities` it credits everything not credited yet; otherwise the given quantity per
    invoice line id. Amounts on a credit note are positive (EN 16931 type code 381 carries the sign):
    the document type says it reduces what the customer owes. A fully credited invoice is cancelled;
    money the customer had already paid beyond what is still owed is held as customer credit.
    """
    require(actor, "invoices.credit_invoice")
    invoice = lock(invoice)
    if not reason.strip():
        raise DomainError(_("Say why the invoice is corrected."))
    if invoice.is_credit_note:
        raise DomainError(_("A credit note cannot itself be credited."))
    if invoice.state in (InvoiceState.DRAFT, InvoiceState.CANCELLED):
        raise DomainError(_("Invoice %(inv)s is %(state)s: only issued invoices are corrected by a credit note.")
                          % {"inv": invoice, "state": invoice.get_state_display()})
    originals = list(invoice.lines.all())
    if quantities is not None and set(quantities) - {line.pk for line in originals}:
        raise DomainError(_("Some lines do not belong to invoice %(inv)s.") % {"inv": invoice})
    credited = _credited_quantities(invoice)
    lines = []
    for original in originals:
        left = original.quantity - credited.get(original.pk, ZERO)
        wanted = left if quantities is None else Decimal(quantities.get(original.pk, ZERO))
        if wanted == 0:
            continue
        # Deduction lines carry negative quantities: compare magnitudes in the line's own direction.
        if wanted * original.quantity < 0 or abs(wanted) > abs(left):
            raise DomainError(
                _("“%(line)s”: %(asked)s cannot be credited, only %(left)s are left to credit.")
                % {"line": original.description, "asked": wanted.normalize(), "left": left.normalize()}
            )
        values = original.copy_values()
        values.update(quantity=wanted, net=Money(
            money.line_net(quantity=wanted, unit_price=original.unit_price.amount,
                           discount_percent=original.discount_percent, currency=invoice.currency),
            invoice.currency,
        ))
        lines.append(InvoiceLine(source_line=original, role=original.role, **values))
    if not lines:
        raise DomainError(_("Nothing is left to credit on invoice %(inv)s.") % {"inv": invoice})
    note = Invoice.objects.create(
        order=invoice.order, kind=InvoiceKind.CREDIT_NOTE, credit_of=invoice, credit_reason=reason.strip(),
        account=invoice.account, owner=invoice.owner, team=invoice.team, currency=invoice.currency,
        amount_paid=Money(0, invoice.currency), amount_credited=Money(0, invoice.currency),
        billing_address=invoice.billing_address, customer_reference=invoice.customer_reference,
        payment_terms_days=0, language=invoice.language,
    )
    _finish_draft(note, lines)
    note = invoice_issue(invoice=note, actor=actor, issue_date=issue_date)
    _apply_credit_note(invoice, note, actor=actor)
    return note


def _credited_quantities(invoice: Invoice) -> dict[int, Decimal]:
    result: dict[int, Decimal] = {}
    for source_id, quantity in InvoiceLine.objects.filter(
        source_line__invoice=invoice, invoice__kind=InvoiceKind.CREDIT_NOTE
    ).values_list("source_line_id", "quantity"):
        result[source_id] = result.get(source_id, ZERO) + quantity
    return result


def _apply_credit_note(invoice: Invoice, note: Invoice, *, actor: User) -> None:
    """Book the credit note on the invoice: lower what is owed, cancel when all is credited."""
    credited = Money(invoice.amount_credited.amount + note.gross_total.amount, invoice.currency)
    # amount_credited is bookkeeping, not legal content: a plain update keeps the frozen row untouched.
    Invoice.objects.filter(pk=invoice.pk).update(amount_credited=credited, updated_at=timezone.now())
    invoice = lock(invoice)
    fully = invoice.amount_credited.amount >= invoice.gross_total.amount
    over = invoice.amount_paid.amount - (invoice.gross_total.amount - invoice.amount_credited.amount)
    if over > 0:
        # The customer paid more than is now owed: hold the difference as credit.
        CustomerCredit.objects.create(
            account=invoice.account, amount=Money(over, invoice.currency), invoice=invoice, created_by=actor,
            note=_("Refund by credit note %(note)s") % {"note": note.number},
        )
        Invoice.objects.filter(pk=invoice.pk).update(
            amount_paid=Money(invoice.amount_paid.amount - over, invoice.currency)
        )
        invoice = lock(invoice)
    description = _("Credit note %(note)s") % {"note": note.number}
    if fully:
        run_transition(invoice, "cancel_by_credit_note", actor=actor, description=description)
    elif invoice.is_open and invoice.balance_due.amount <= 0:
        run_transition(invoice, "settle", actor=actor, amount_paid=invoice.amount_paid, description=description)


# --- Payments and customer credit ---------------------------------------------------------------------------


@transaction.atomic
def payment_record(
    *,
    invoice: Invoice,
    actor: User,
    amount: Money,
    received_on: date | None = None,
    method: str = PaymentMethod.BANK_TRANSFER,
    reference: str = "",
) -> Payment:
    """Book money received. Several part payments are fine; paying more than the balance settles the
    invoice and holds the excess as customer credit."""
    require(actor, "invoices.record_payment")
    invoice = lock(invoice)
    if not invoice.is_open:
        raise DomainError(
            _("Invoice %(inv)s is %(state)s; payments can only be recorded on issued invoices that are not paid yet.")
            % {"inv": invoice, "state": invoice.get_state_display()}
        )
    if str(amount.currency) != invoice.currency:
        raise DomainError(
            _("The invoice is in %(inv)s; a payment in %(pay)s cannot be booked against it.")
            % {"inv": invoice.currency, "pay": amount.currency}
        )
    value = money.quantize(amount.amount, invoice.currency)
    if value <= ZERO:
        raise DomainError(_("A payment must be greater than zero."))
    balance = invoice.balance_due.amount
    payment = Payment.objects.create(
        invoice=invoice, amount=Money(value, invoice.currency), received_on=received_on or timezone.localdate(),
        method=method, reference=reference, recorded_by=actor,
    )
    applied = min(value, balance)
    if value > balance:
        CustomerCredit.objects.create(
            account=invoice.account, amount=Money(value - balance, invoice.currency), invoice=invoice,
            payment=payment, created_by=actor, note=_("Over-payment on %(inv)s") % {"inv": invoice},
        )
    paid = Money(invoice.amount_paid.amount + applied, invoice.currency)
    name = "settle" if applied == balance else "record_part_payment"
    run_transition(invoice, name, actor=actor, amount_paid=paid, description=str(payment.amount))
    return payment


def customer_credit_balance(account_id: int, currency: str) -> Money:
    from django.db.models import Sum  # noqa: PLC0415

    total = CustomerCredit.objects.filter(account_id=account_id, amount_currency=currency).aggregate(
        total=Sum("amount"))["total"]
    return Money(money.quantize(total or ZERO, currency), currency)


@transaction.atomic
def customer_credit_apply(*, invoice: Invoice, actor: User) -> Payment:
    """Pay (part of) an open invoice from the customer's credit balance in the invoice's currency."""
    require(actor, "invoices.record_payment")
    invoice = lock(invoice)
    # Serialise uses of one account's credit: lock the account row.
    type(invoice.account)._default_manager.select_for_update().get(pk=invoice.account_id)
    available = customer_credit_balance(invoice.account_id, invoice.currency).amount
    if available <= 0:
        raise DomainError(_("%(account)s has no credit in %(cur)s.") % {"account": invoice.account,
                                                                         "cur": invoice.currency})
    if not invoice.is_open:
        raise DomainError(_("%(inv)s is %(state)s; credit can only pay an open invoice.")
                          % {"inv": invoice, "state": invoice.get_state_display()})
    used = min(available, invoice.balance_due.amount)
    payment = payment_record(invoice=invoice, actor=actor, amount=Money(used, invoice.currency),
                             method=PaymentMethod.CUSTOMER_CREDIT, reference=_("Customer credit"))
    CustomerCredit.objects.create(
        account=invoice.account, amount=Money(-used, invoice.currency), invoice=invoice, payment=payment,
        created_by=actor, note=_("Used to pay %(inv)s") % {"inv": invoice},
    )
    return payment


# --- Overdue sweep and dunning ------------------------------------------------------------------------------


def invoices_sweep_overdue(*, today: date | None = None, actor: User | None = None) -> int:
    """Mark every issued or part-paid invoice past its due date as overdue (one UPDATE) and create the
    dunning notices that are due (bulk inserts); the reminders are e-mailed by a task after commit."""
    today = today or timezone.localdate()
    with transaction.atomic():
        marked = bulk_transition(Invoice.objects.overdue_candidates(today), "mark_overdue", actor=actor)
        created = dunning_create_notices(today=today)
        if created:
            from invoices.tasks import send_dunning_notices  # noqa: PLC0415

            enqueue_on_commit(send_dunning_notices)
    return marked


def dunning_create_notices(*, today: date) -> int:
    """Set-based, one INSERT … SELECT for all levels; no row passes through Python. Each overdue invoice gets the
    highest level it has reached (a CASE over the levels, highest first), and only when it has no notice of that
    level or a higher one yet: an invoice found late gets only the level it reached, not every reminder it
    missed, and never a lower one after a higher. ON CONFLICT on the unique (invoice, level) constraint makes a
    second run, or two sweeps at once, harmless."""
    levels = list(DunningLevel.objects.order_by("-level"))
    if not levels:
        return 0
    reached = [(level, today - timedelta(days=level.days_after_due)) for level in levels]
    # CASE takes the first WHEN that holds: levels are listed highest first.
    due = (
        Invoice.objects.payable()
        .filter(state=InvoiceState.OVERDUE, due_date__lte=max(day for _level, day in reached))
        .order_by()
        .values(
            row_invoice=models.F("pk"),
            row_level=models.Case(*(models.When(due_date__lte=day, then=models.Value(lv.pk)) for lv, day in reached)),
            row_rank=models.Case(*(models.When(due_date__lte=day, then=models.Value(lv.level)) for lv, day in reached)),
        )
    )
    # The highest level each invoice was already reminded at, read once. MATERIALIZED (PostgreSQL) keeps the
    # statement from re-reading the notices table per invoice while it inserts into it: with a stale estimate
    # (the invoices were made overdue earlier in this transaction, the table was empty when last analysed) the
    # planner would otherwise pick a nested loop that scans the growing table again for every row.
    reminded = (
        DunningNotice.objects.order_by().values("invoice_id").annotate(top=models.Max("level__level"))
        .values("invoice_id", "top")
    )
    connection = connections[DunningNotice.objects.db]
    table = connection.ops.quote_name(DunningNotice._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    due_sql, due_params = due.query.sql_with_params()
    reminded_sql, reminded_params = reminded.query.sql_with_params()
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH reminded (invoice, top_rank) AS {materialized}({reminded_sql}) "
            f"INSERT INTO {table} (invoice_id, level_id, created_at, sent_to) "
            f"SELECT due.row_invoice, due.row_level, %s, '' FROM ({due_sql}) AS due "
            "LEFT JOIN reminded ON reminded.invoice = due.row_invoice "
            "WHERE reminded.top_rank IS NULL OR reminded.top_rank < due.row_rank "
            # In invoice order: the unique (invoice, level) index is appended to instead of written all over,
            # and the foreign-key checks at commit visit the invoices in table order (half their time at 1M).
            "ORDER BY due.row_invoice "
            "ON CONFLICT (invoice_id, level_id) DO NOTHING",
            [*reminded_params, now, *due_params],
        )
        return cursor.rowcount


def dunning_send_pending(*, limit: int = 500) -> int:
    """E-mail reminders not sent yet (idempotent: each notice is claimed under a row lock and marked sent)."""
    from django.core.mail import send_mail  # noqa: PLC0415

    sent = 0
    company = CompanyProfile.current()
    with transaction.atomic():
        notices = list(
            DunningNotice.objects.filter(sent_at__isnull=True)
            .select_related("invoice__account", "level")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")[:limit]
        )
        for notice in notices:
            invoice = notice.invoice
            context = {
                "number": invoice.number, "due_date": invoice.due_date.isoformat(), "balance": invoice.balance_due,
                "company": company.legal_name, "customer": invoice.account.name,
            }
            recipient = invoice.account.email or invoice.buyer.get("email", "")
            if recipient:
                send_mail(_format(notice.level.subject, context), _format(notice.level.body, context),
                          company.email or None, [recipient])
            DunningNotice.objects.filter(pk=notice.pk).update(sent_at=timezone.now(), sent_to=recipient)
            sent += 1
    return sent


def _format(template: str, context: dict) -> str:
    try:
        return template.format(**context)
    except (KeyError, IndexError, ValueError):  # a typo in a configured template must not stop the reminders
        return template


# --- PDF ------------------------------------------------------------------------------------------------------


def invoice_render_pdf(*, invoice_id: int, force: bool = False) -> bool:
    """Render and store the PDF/A-3 (with its Factur-X XML) of an issued invoice once, from the data frozen at
    issue; an issued invoice's PDF is never re-rendered unless `force` (ops repairing a lost file)."""
    from crm.documents import store_pdf  # noqa: PLC0415
    from invoices.documents import render_invoice_pdf_bytes  # noqa: PLC0415  (WeasyPrint is heavy)

    # Everything the template and the XML read, in three queries (lines with their products in one).
    invoice = Invoice.objects.select_related("account", "order__quote", "owner", "credit_of").prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.select_related("product"))).get(pk=invoice_id)
    if invoice.state == InvoiceState.DRAFT or (invoice.pdf and not force):
        return False
    store_pdf(invoice, render_invoice_pdf_bytes(invoice), f"{invoice.number}.pdf")
    return True
