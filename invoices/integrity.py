"""Inalterability of issued invoices and credit notes: a SHA-256 chain per number series and year.

Each issued document stores `chain_hash` = SHA-256 over its canonical legal content (number, type,
dates, seller, buyer, lines, totals, payment terms, the corrected invoice) *and* the hash of the
document numbered just before it in the same series (`previous_hash`). Changing any stored figure, or
removing or re-inserting a document, breaks the chain from that point: `manage.py verify_invoices`
recomputes it (the inalterability that French and German rules ask of billing software).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crm import money

if TYPE_CHECKING:
    from invoices.models import Invoice, InvoiceLine

QUANTITY = Decimal("0.001")
PRICE = Decimal("0.0001")
PERCENT = Decimal("0.01")


def _amount(value: Any, currency: str) -> str:
    amount = getattr(value, "amount", value)
    return str(money.quantize(Decimal(amount), currency))


def _date(value: Any) -> str | None:
    return value.isoformat() if value else None


def canonical_content(invoice: Invoice, lines: Iterable[InvoiceLine]) -> dict[str, Any]:
    """The legal content of `invoice` as plain JSON-able data, amounts as fixed-point strings so that
    SQLite's and PostgreSQL's storage of decimals give the same bytes."""
    currency = invoice.currency
    return {
        "number": invoice.number,
        "kind": invoice.kind,
        "issue_date": _date(invoice.issue_date),
        "due_date": _date(invoice.due_date),
        "delivery_date": _date(invoice.delivery_date),
        "currency": currency,
        "seller": invoice.seller,
        "buyer": invoice.buyer,
        "billing_address": invoice.billing_address,
        "customer_reference": invoice.customer_reference,
        "credit_of": invoice.credit_of.number if invoice.credit_of_id else None,
        "credit_reason": invoice.credit_reason,
        "payment_terms_days": invoice.payment_terms_days,
        "discount_percent": str(Decimal(invoice.discount_percent).quantize(PERCENT)),
        "discount_due_date": _date(invoice.discount_due_date),
        "lines": [
            {
                "position": line.position,
                "description": line.description,
                "quantity": str(Decimal(line.quantity).quantize(QUANTITY)),
                "unit": line.unit,
                "unit_price": str(Decimal(line.unit_price.amount).quantize(PRICE)),
                "discount_percent": str(Decimal(line.discount_percent).quantize(PERCENT)),
                "tax_percent": str(Decimal(line.tax_percent).quantize(PERCENT)),
                "tax_category": line.tax_category,
                "net": _amount(line.net, currency),
            }
            for line in sorted(lines, key=lambda line: (line.position, line.pk or 0))
        ],
        "net_total": _amount(invoice.net_total, currency),
        "tax_total": _amount(invoice.tax_total, currency),
        "gross_total": _amount(invoice.gross_total, currency),
    }


def document_hash(invoice: Invoice, lines: Iterable[InvoiceLine], previous_hash: str) -> str:
    payload = {"previous_hash": previous_hash, "document": canonical_content(invoice, lines)}
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()


def split_number(number: str) -> tuple[str, int]:
    """"INV-2026-00042" → ("INV-2026", 42): the chain runs per series and year, like the numbering."""
    prefix, _sep, value = number.rpartition("-")
    return prefix, int(value)


@dataclass(frozen=True)
class ChainProblem:
    number: str
    message: str

    def __str__(self) -> str:
        return f"{self.number}: {self.message}"


@dataclass
class ChainReport:
    documents: int = 0
    chains: int = 0
    problems: list[ChainProblem] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(documents: Iterable[Invoice]) -> ChainReport:
    """Recompute every chain. `documents`: all issued invoices and credit notes with their lines
    prefetched. Problems are listed in chain order, so the first one is the first broken document."""
    by_chain: dict[str, list[tuple[int, Invoice]]] = {}
    for document in documents:
        prefix, value = split_number(document.number)
        by_chain.setdefault(prefix, []).append((value, document))
    report = ChainReport(problems=[])
    for prefix in sorted(by_chain):
        report.chains += 1
        previous = ""
        expected_value = 1
        for value, document in sorted(by_chain[prefix], key=lambda pair: pair[0]):
            report.documents += 1
            report.problems.extend(_check(document, value, expected_value, previous))
            previous = document.chain_hash
            expected_value = value + 1
    return report


def _check(document: Invoice, value: int, expected_value: int, previous: str) -> Iterator[ChainProblem]:
    if value != expected_value:
        yield ChainProblem(document.number, f"number gap: expected number {expected_value} in the series")
    if document.previous_hash != previous:
        yield ChainProblem(document.number, "does not point at the hash of the document before it")
    if document_hash(document, document.lines.all(), document.previous_hash) != document.chain_hash:
        yield ChainProblem(document.number, "its content does not match its stored hash (altered)")
