"""In a real browser: a double click on a create button books one payment, not two."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from invoices.models import Payment
from tests import factories
from tests.e2e.test_full_flow import flash, log_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
expect.set_options(timeout=15_000)


def test_a_double_click_on_record_payment_books_one_payment(page: Page, shot, seller, accountant) -> None:
    invoice = factories.invoice(owner=seller, issued=True)  # 238.00 EUR
    log_in(page, accountant)  # only accountants record payments
    page.goto(f"/invoices/{invoice.pk}/")
    page.get_by_test_id("actions").get_by_role("link", name="Record payment").click()
    form = page.get_by_test_id("payment-form")
    form.get_by_label("Amount").fill("10.00")
    form.get_by_label("Reference").fill("Double click")
    shot("payment-form")

    form.get_by_role("button", name="Record payment").dblclick()

    expect(flash(page, re.compile(r"Payment of .*10\.00 recorded\."))).to_be_visible()
    expect(page.get_by_test_id("balance-due")).to_contain_text("228.00")
    assert Payment.objects.filter(invoice=invoice).count() == 1
    shot("one-payment")
