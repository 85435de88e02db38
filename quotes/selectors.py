"""Read queries for the quote pages. Orders and invoices reuse `document_totals` and `search_filter`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from djmoney.money import Money

from crm.documents import PricedDocument
from crm.history import TIMELINE_LIMIT, Event, History, timeline
from crm.models import Account, PriceListItem, Product, TaxRate, User
from crm.search import Hit
from quotes.models import LineKind, Quote, QuoteLine, QuoteState


@dataclass(frozen=True)
class TaxLine:
    percent: Decimal
    base: Money
    tax: Money


@dataclass(frozen=True)
class DocumentTotals:
    """A document's totals as Money, ready to print: net, tax per rate (one line per rate), gross."""

    net: Money
    tax: Money
    gross: Money
    tax_lines: list[TaxLine]
    lines_net: Money | None = None
    discount: Money | None = None


def document_totals(document: PricedDocument) -> DocumentTotals:
    """Totals of a quote, order or invoice, computed by crm.money from the (prefetched) lines.

    The tax breakdown always comes from the lines; net/tax/gross are the stored totals, which the
    services keep equal to the computed ones (and freeze on an issued invoice).
    """
    totals = document.totals()
    currency = document.currency
    return DocumentTotals(
        net=document.net_total,
        tax=document.tax_total,
        gross=document.gross_total,
        tax_lines=[
            TaxLine(percent=s.percent, base=Money(s.base, currency), tax=Money(s.tax, currency))
            for s in totals.tax_subtotals
        ],
        lines_net=Money(totals.lines_net, currency),
        discount=Money(totals.discount, currency) if totals.discount else None,
    )


def search_filter(text: str) -> Q:
    """Free-text search shared by quote, order and invoice lists: number, customer, title-ish fields."""
    return Q(number__icontains=text) | Q(account__name__icontains=text)


def quote_list(
    *, user: User, query: str = "", state: str = "", sort: str = "", archived: bool = False
) -> QuerySet[Quote]:
    qs = Quote.objects.visible_to(user, archived=archived).select_related("account", "owner", "opportunity")
    if query:
        qs = qs.filter(search_filter(query) | Q(title__icontains=query))
    if state:
        qs = qs.filter(state=state)
    return qs.order_by(*QUOTE_SORTS.get(sort, QUOTE_SORTS["-created"]))


QUOTE_SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "number": ("number",),
    "-number": ("-number",),
    "customer": ("account__name", "pk"),
    "valid_until": ("valid_until", "pk"),
    "-total": ("-gross_total", "pk"),
    "total": ("gross_total", "pk"),
}


def quote_detail_queryset() -> QuerySet[Quote]:
    # The order and acceptance are one-to-one: joined here rather than read lazily by the page.
    return Quote.objects.select_related(
        "account", "contact", "owner", "team", "opportunity", "root", "order", "acceptance"
    ).prefetch_related("lines__tax_rate", "lines__product")


def quote_history(quote: Quote, *, limit: int | None = TIMELINE_LIMIT) -> History:
    extra = []
    order = getattr(quote, "order", None) if quote.state == "accepted" else None
    if order is not None:
        extra.append(Event(at=order.created_at, by=order.owner, icon="bag-check",
                           title=_("Order %(order)s created") % {"order": order}))
    return timeline(quote, extra=extra, limit=limit)


def product_choices() -> QuerySet[Product]:
    return Product.objects.filter(active=True).select_related("tax_rate").order_by("name")


def tax_rate_choices() -> QuerySet[TaxRate]:
    return TaxRate.objects.filter(active=True)


def product_search(query: str, limit: int = 10) -> QuerySet[Product]:
    """Active products whose SKU or name contains `query` (the editor's autocomplete)."""
    qs = product_choices()
    if query:
        qs = qs.filter(Q(sku__icontains=query) | Q(name__icontains=query))
    return qs[:limit]


def default_unit_price(*, product: Product, account: Account, currency: str) -> Decimal | None:
    """The price a new line starts with: the customer segment's price list in the document currency,
    else a price list for every segment in that currency, else the product's own price if it is in that
    currency. None when the product has no price in that currency."""
    items = PriceListItem.objects.filter(product=product, price_list__active=True, price_list__currency=currency)
    segments = [account.segment, ""] if account.segment else [""]
    for segment in segments:
        price = items.filter(price_list__segment=segment).values_list("price", flat=True).first()
        if price is not None:
            return price
    if str(product.price.currency) == currency:
        return product.price.amount
    return None


@dataclass(frozen=True)
class LineChange:
    """One row of the diff between two versions: `status` is added, removed, changed or same."""

    status: str
    line: QuoteLine
    previous: QuoteLine | None
    changed_fields: tuple[str, ...] = ()


def version_diff(previous: Quote, current: Quote) -> list[LineChange]:
    """Line-by-line comparison of two versions, in the current version's order, removed lines last.

    Lines are matched by kind, product and description (a revision copies them, so an unchanged line
    matches itself); the remaining fields tell whether a matched line changed.
    """
    old_lines = list(previous.lines.all())
    unmatched = dict(enumerate(old_lines))
    changes: list[LineChange] = []
    for line in current.lines.all():
        match = next((i for i, old in unmatched.items() if old.diff_key() == line.diff_key()), None)
        if match is None:
            changes.append(LineChange("added", line, None))
            continue
        old = unmatched.pop(match)
        before, after = old.diff_values(), line.diff_values()
        fields = tuple(name for name in after if before[name] != after[name])
        changes.append(LineChange("changed" if fields else "same", line, old, fields))
    changes.extend(LineChange("removed", old, old) for old in unmatched.values())
    return changes


def previous_version(quote: Quote) -> Quote | None:
    if quote.version <= 1:
        return None
    return (
        Quote.objects.filter(Q(pk=quote.family_root_id) | Q(root_id=quote.family_root_id), version__lt=quote.version)
        .order_by("-version").prefetch_related("lines__product").first()
    )


def section_totals(quote: Quote) -> dict[int, Money]:
    """Net subtotal of each section heading's items (line id of the heading → sum of the items below it,
    up to the next heading). Also set as `section_total` on the (prefetched) heading lines for templates."""
    totals: dict[int, Money] = {}
    heading = None
    for line in quote.lines.all():
        if line.kind == LineKind.SECTION:
            heading = line
            line.section_total = totals[line.pk] = Money(0, quote.currency)
        elif line.kind == LineKind.ITEM and heading is not None:
            totals[heading.pk] += line.net
            heading.section_total = totals[heading.pk]
    return totals


@dataclass(frozen=True)
class QuoteChain:
    """A quote and its revisions: the version that counts, and the ones it replaced (newest first)."""

    current: Quote
    older: list[Quote]


def quote_chains(quotes: Iterable[Quote]) -> list[QuoteChain]:
    """Group already loaded quotes by version chain, in the order their newest version appears. The current
    version is the newest one a revision has not replaced (a cancelled draft revision leaves the sent one current
    only if it was not superseded)."""
    families: dict[int, list[Quote]] = {}
    for quote in quotes:
        families.setdefault(quote.family_root_id, []).append(quote)
    chains = []
    for versions in families.values():
        versions.sort(key=lambda q: q.version, reverse=True)
        live = [q for q in versions if q.state != QuoteState.SUPERSEDED]
        current = live[0] if live else versions[0]
        chains.append(QuoteChain(current=current, older=[q for q in versions if q.pk != current.pk]))
    return chains


def search_hits(user: User, text: str, limit: int) -> list[Hit]:
    """Quotes for the menu's search box (crm.search), as the list finds them."""
    return [Hit(str(quote.number), f"{quote.account} · {quote.get_state_display()}", quote.get_absolute_url())
            for quote in quote_list(user=user, query=text)[:limit]]
