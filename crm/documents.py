"""What quotes, orders and invoices share: priced lines, frozen totals and a rendered PDF.

The abstract models here carry fields only; computing totals goes through crm.money, rendering through
`render_pdf()`, which imports WeasyPrint lazily because importing it costs half a second.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import logging
import os
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import models
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField
from djmoney.money import Money

from crm import money
from crm.models import MONEY_DIGITS, TaxRate

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

logger = logging.getLogger(__name__)

# Fault injection for tests/test_worker.py only: a pause between rendering and storing a PDF, long enough
# to kill the worker in the middle of the job. Unset (the default, and in production) it does nothing.
FAULT_DELAY_ENV = "SALESFLOW_FAULT_PDF_DELAY"


class PricedLine(models.Model):
    """A document line. Tax percent and category are copied, never looked up later: a document keeps
    the rate it was written with even if the catalog changes."""

    position = models.PositiveIntegerField(_("position"), default=0)
    product = models.ForeignKey(
        "crm.Product", verbose_name=_("product"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=255)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3, default=Decimal(1))
    unit = models.CharField(_("unit"), max_length=20, default="pc")
    unit_price = MoneyField(_("unit price"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=Decimal(0))
    tax_rate = models.ForeignKey(
        TaxRate, verbose_name=_("tax rate"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    tax_percent = models.DecimalField(_("tax (%)"), max_digits=5, decimal_places=2, default=Decimal(0))
    tax_category = models.CharField(_("tax category"), max_length=2, default="S")
    net = MoneyField(_("net amount"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY, default=0)

    class Meta:
        abstract = True
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.description

    def as_input(self) -> money.LineInput:
        return money.LineInput(
            quantity=self.quantity,
            unit_price=self.unit_price.amount,
            tax_percent=self.tax_percent,
            discount_percent=self.discount_percent,
        )

    def copy_values(self) -> dict[str, Any]:
        """The fields a conversion copies into the next document's line."""
        return {
            f: getattr(self, f)
            for f in (
                "position", "product_id", "description", "quantity", "unit", "unit_price",
                "discount_percent", "tax_rate_id", "tax_percent", "tax_category", "net",
            )
        }


class PricedDocument(models.Model):
    """Currency, frozen totals and the rendered PDF of a quote, order or invoice."""

    currency = models.CharField(
        _("currency"), max_length=3, choices=settings.CURRENCY_CHOICES, default=settings.DEFAULT_CURRENCY
    )
    net_total = MoneyField(_("net total"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY, default=0)
    tax_total = MoneyField(_("tax total"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY, default=0)
    gross_total = MoneyField(_("total"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY, default=0)
    pdf = models.FileField(_("PDF"), upload_to="documents/%Y/%m/", blank=True)
    pdf_sha256 = models.CharField(_("PDF SHA-256"), max_length=64, blank=True)
    pdf_rendered_at = models.DateTimeField(_("PDF rendered"), null=True, blank=True)

    PDF_TEMPLATE = ""
    PDF_TASK = ""  # the Celery task that renders the PDF, called with the record's id

    class Meta:
        abstract = True

    @functools.cached_property
    def pdf_waiting_for_worker(self) -> bool:
        """The PDF's render could not be handed to the broker and waits as a PendingTask (crm.jobs): the page
        says so instead of showing a spinner that would turn until the worker is back."""
        if self.pdf or not self.PDF_TASK:
            return False
        from crm.models import PendingTask  # noqa: PLC0415

        return PendingTask.objects.filter(task_name=self.PDF_TASK, args=[self.pk]).exists()

    def totals(self) -> money.Totals:
        return money.compute_totals([line.as_input() for line in self.lines.all()], self.currency)

    def apply_totals(self, totals: money.Totals) -> None:
        for name, value in totals.as_money().items():
            setattr(self, name, value)

    def zero(self) -> Money:
        return Money(0, self.currency)


def recompute_lines(lines: Iterable[PricedLine], currency: str) -> None:
    """Set each line's rounded net (in place) from quantity, price and discount."""
    for line in lines:
        line.net = Money(
            money.line_net(
                quantity=line.quantity, unit_price=line.unit_price.amount,
                discount_percent=line.discount_percent, currency=currency,
            ),
            currency,
        )


def render_pdf(template_name: str, context: dict[str, Any], *, language: str | None = None) -> bytes:
    import weasyprint  # noqa: PLC0415  (heavy import, only in the worker)

    with translation.override(language or settings.LANGUAGE_CODE):
        html = render_to_string(template_name, context)
    base_url = str(settings.BASE_DIR / "static")
    with paused_gc():
        return weasyprint.HTML(string=html, base_url=base_url).write_pdf(font_config=pdf_font_config())


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Run a WeasyPrint render without Python's cyclic garbage collector.

    A render allocates a few hundred thousand short-lived objects (DOM wrappers, styles, boxes), which keeps
    triggering collections, and the older generations then rescan every object the worker holds (Django,
    WeasyPrint, fonts): a quarter of a render's CPU time went to the collector. Paused, the render's own
    garbage (the box tree has parent/child cycles) is freed by the one collection that runs soon after the
    collector is switched back on, and memory is unchanged between renders.
    """
    if not gc.isenabled():  # someone up the stack paused it already: leave it to them
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@functools.cache
def pdf_font_config() -> Any:
    """One font configuration per process: fontconfig's font list is read once, not per document."""
    from weasyprint.text.fonts import FontConfiguration  # noqa: PLC0415

    return FontConfiguration()


@functools.lru_cache(maxsize=32)
def pdf_stylesheet(template_name: str, language: str) -> Any:
    """The parsed print stylesheet of a document type in one language (it holds translated page labels).

    Parsing and validating the CSS cost as much as laying out a one-page invoice, and the stylesheet only
    changes with a deploy, which restarts the worker: so it is parsed once per process.
    """
    import weasyprint  # noqa: PLC0415

    with translation.override(language):
        css = render_to_string(template_name)
    return weasyprint.CSS(string=css, font_config=pdf_font_config())


def store_pdf(document: PricedDocument, content: bytes, filename: str) -> None:
    """Attach rendered bytes to `document` (saves only the PDF fields)."""
    if delay := float(os.environ.get(FAULT_DELAY_ENV) or 0):
        logger.warning("fault injection: pausing %.1f s before storing a PDF in process %d", delay, os.getpid())
        time.sleep(delay)
    if document.pdf:
        document.pdf.delete(save=False)
    document.pdf.save(filename, ContentFile(content), save=False)
    document.pdf_sha256 = hashlib.sha256(content).hexdigest()
    document.pdf_rendered_at = timezone.now()
    type(document)._default_manager.filter(pk=document.pk).update(
        pdf=document.pdf.name, pdf_sha256=document.pdf_sha256, pdf_rendered_at=document.pdf_rendered_at
    )
