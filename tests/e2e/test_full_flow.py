"""A seller takes a new lead all the way to a paid invoice in a real browser.

Runs against pytest-django's live server (another thread), so the database must be transactional:
`serialized_rollback` brings back the roles and default pipeline stages the migrations created after the
table flush. Celery runs eagerly (tests/conftest.py sets it on the process-wide Celery app, which the live
server thread shares), and `transaction=True` means the server's commits fire `on_commit`, so sending a
quote and issuing an invoice render their PDFs inside the request.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from djmoney.money import Money
from playwright.sync_api import APIResponse, Page, expect

from crm.celery import app as celery_app
from invoices.models import Invoice, InvoiceState, Payment
from leads.models import Lead, LeadState
from opportunities.models import Opportunity, SalesTarget
from orders.models import Order
from quotes.models import Quote, QuoteState
from tests import factories

PASSWORD = "pw-for-tests-123"

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Assertions wait as long as actions do (the harness sets 15 s): on a busy 2-core CI box a page with a PDF
# render can take longer than Playwright's 5 s default.
expect.set_options(timeout=15_000)


# Each fixture asks for `db` so that the database (and the roles restored by serialized_rollback) is
# ready before it runs.
@pytest.fixture
def team(db):
    return factories.TeamFactory(name="Berlin")


@pytest.fixture
def seller(team):
    user = factories.UserFactory(role="seller", first_name="Sam", last_name="Seller")
    team.members.add(user)
    return user


@pytest.fixture
def accountant(db):
    return factories.UserFactory(role="accountant", first_name="Alex", last_name="Accountant")


@pytest.fixture
def tax_rate(db):
    return factories.TaxRateFactory(name="VAT 19 %", percent=Decimal("19.00"))


@pytest.fixture
def product(tax_rate):
    return factories.ProductFactory(name="Onboarding workshop", price=Money("100.00", "EUR"), tax_rate=tax_rate)


def log_in(page: Page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def history(page: Page):
    return page.get_by_test_id("history")


def flash(page: Page, text: str | re.Pattern):
    """The flash message banner under the navigation bar."""
    return page.locator("#messages").get_by_text(text)


def drag_card(card, column_cards) -> None:
    """Drag a kanban card onto another column's card list as a hand would, once the board has finished loading:
    the column sums arrive after the first paint, and a drag aimed before they land can miss the card. The grab
    is in the card's corner (its centre may be the deal's link, which the board does not drag by); ten
    intermediate moves give SortableJS the dragover events it moves the card by."""
    expect(card.page.locator('[data-testid="sum"][aria-busy="true"]')).to_have_count(0)
    card.drag_to(column_cards, source_position={"x": 6, "y": 6}, steps=10)


def choose(select, text: str) -> None:
    """Pick the option whose visible label contains `text`, as a user would read it."""
    label = select.locator("option", has_text=text).first.text_content()
    select.select_option(label=label.strip())


def expect_pdf(response: APIResponse) -> None:
    assert response.status == 200, response.status
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")


def test_seller_takes_a_lead_to_a_paid_invoice(page: Page, shot, live_server, seller, accountant, product,
                                              tax_rate) -> None:
    # The live server thread uses the same Celery app object: eager mode must be on for it too.
    assert celery_app.conf.task_always_eager
    # The issue button asks for confirmation; Playwright would dismiss the dialog by default.
    page.on("dialog", lambda dialog: dialog.accept())
    year = timezone.localdate().year

    # --- Log in and create a lead -------------------------------------------------------------------
    log_in(page, seller)
    shot("home")
    page.goto("/leads/")
    page.get_by_role("link", name="New lead").first.click()
    expect(page.get_by_role("heading", name="New lead")).to_be_visible()
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("E-mail").fill("ada@analytical.example")
    page.get_by_label("Company").fill("Analytical Engines Ltd")
    shot("lead-form")
    page.get_by_role("button", name="Create lead").click()
    expect(page.get_by_role("heading", name=re.compile("Ada Lovelace"))).to_be_visible()
    expect(flash(page, re.compile(r"Lead .+ created\."))).to_be_visible()
    lead = Lead.objects.get(email="ada@analytical.example")
    assert lead.owner == seller and lead.state == LeadState.NEW
    lead_url = page.url

    # --- Start working, then qualify ------------------------------------------------------------------
    page.get_by_role("button", name="Start working").click()
    expect(flash(page, "You are working on this lead now.")).to_be_visible()
    page.get_by_role("link", name="Qualify").click()
    # No existing customer matches: the merge preview offers (and preselects) a new account and contact.
    expect(page.get_by_label("Create new account “Analytical Engines Ltd”")).to_be_checked()
    expect(page.get_by_label("Create new contact “Ada Lovelace”")).to_be_checked()
    page.get_by_label("Amount").fill("5000")
    shot("qualify")
    page.get_by_role("button", name="Qualify and create opportunity").click()
    expect(flash(page, "Lead qualified.")).to_be_visible()
    opp = Opportunity.objects.get(lead=lead)
    expect(page).to_have_url(re.compile(rf"/opportunities/{opp.pk}/$"))
    expect(page.get_by_test_id("amount")).to_contain_text("5,000.00")
    shot("opportunity")

    # --- Kanban: drag the new deal from the first column to the second ------------------------------
    page.goto("/opportunities/board/")
    columns = page.get_by_test_id("column")
    first, second = columns.nth(0), columns.nth(1)
    card = first.locator(f'.kanban-card[data-id="{opp.pk}"]')
    expect(card).to_be_visible()
    second_name = second.get_by_role("heading").inner_text().rsplit(" ", 1)[0].strip()
    # SortableJS moves the card in the DOM at once; what matters is the server's answer to the drop.
    with page.expect_response(lambda r: r.url.endswith(f"/opportunities/{opp.pk}/move/")) as move:
        drag_card(card, second.locator(".kanban-cards"))
    assert move.value.status == 200
    expect(page.get_by_test_id("board")).not_to_have_attribute("aria-busy", "true")
    expect(second.locator(f'.kanban-card[data-id="{opp.pk}"]')).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("column").nth(1).locator(f'.kanban-card[data-id="{opp.pk}"]')).to_be_visible()
    expect(page.get_by_test_id("column").nth(0).locator(f'.kanban-card[data-id="{opp.pk}"]')).to_have_count(0)
    opp.refresh_from_db()
    assert opp.stage.name == second_name
    shot("board-after-drag")

    # --- Opportunity page: move the stage with the stage form ------------------------------------------
    page.get_by_role("link", name=opp.name).click()
    stage_form = page.get_by_test_id("stage-form")
    choose(stage_form.get_by_label("Stage"), "Proposition")
    stage_form.get_by_role("button", name="Move").click()
    expect(flash(page, "Stage changed.")).to_be_visible()
    opp.refresh_from_db()
    assert opp.stage.name == "Proposition"
    expect(history(page)).to_contain_text(f"Stage: {second_name} → Proposition")
    expect(history(page)).to_contain_text(f"Stage: New → {second_name}")
    shot("opportunity-stage-moved")

    # --- Quote: product line + free-text line, totals, send ---------------------------------------
    page.get_by_role("button", name="New quote").click()
    # Wait for the page before reading the database: the live server shares its SQLite connection.
    expect(page).to_have_url(re.compile(r"/quotes/\d+/$"))
    quote = Quote.objects.get(opportunity=opp)
    expect(flash(page, "Draft quote created: add its lines.")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(rf"Quote {quote.number}"))).to_be_visible()
    lines = page.get_by_test_id("quote-lines")
    choose(lines.get_by_label("Product"), "Onboarding workshop")
    lines.get_by_label("Quantity").fill("2")
    lines.get_by_role("button", name="Add").click()
    expect(lines.locator("tbody")).to_contain_text("Onboarding workshop")
    # The line form is swapped in by htmx: re-query it before the second line.
    lines = page.get_by_test_id("quote-lines")
    lines.get_by_label("Description").fill("Travel expenses")
    lines.get_by_label("Quantity").fill("1")
    lines.get_by_label("Unit price").fill("50")
    choose(lines.get_by_label("Tax rate"), "VAT 19")
    lines.get_by_role("button", name="Add").click()
    expect(lines.locator("tbody")).to_contain_text("Travel expenses")
    # 2 × 100.00 + 50.00 = 250.00 net, 19 % tax 47.50, 297.50 gross.
    expect(page.get_by_test_id("net-total")).to_contain_text("250.00")
    expect(page.get_by_test_id("totals")).to_contain_text("47.50")
    expect(page.get_by_test_id("gross-total")).to_contain_text("297.50")
    quote.refresh_from_db()
    assert quote.lines.count() == 2
    assert quote.gross_total == Money("297.50", "EUR")
    # The row buttons post through htmx and swap the table: move the second line up, then back down.
    page.get_by_test_id("quote-lines").get_by_role("button", name="Move Travel expenses up").click()
    expect(page.get_by_test_id("quote-lines").locator("tbody tr").first).to_contain_text("Travel expenses")
    page.get_by_test_id("quote-lines").get_by_role("button", name="Move Travel expenses down").click()
    expect(page.get_by_test_id("quote-lines").locator("tbody tr").first).to_contain_text("Onboarding workshop")
    shot("quote-lines")

    page.get_by_test_id("actions").get_by_role("button", name="Send").click()
    expect(flash(page, "Quote sent.")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("Sent")
    # The PDF is rendered after commit; the page polls until the download link replaces the spinner.
    pdf_link = page.get_by_test_id("pdf-link")
    expect(pdf_link).to_be_visible(timeout=30_000)
    quote.refresh_from_db()
    assert quote.state == QuoteState.SENT and quote.pdf
    with page.expect_download() as download_info:
        pdf_link.click()
    download = download_info.value
    assert download.suggested_filename == f"{quote.number}.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read(4) == b"%PDF"
    expect_pdf(page.context.request.get(f"/quotes/{quote.pk}/pdf/"))
    shot("quote-sent")

    # --- The customer accepts through the signed link in the e-mail: the order ------------------------
    # The render task e-mailed the PDF with the link (Django's test mail box: same process as the server).
    sent = [m for m in mail.outbox if quote.number in m.subject]
    assert len(sent) == 1
    link = re.search(r"/q/[^\s\"/]+/", sent[0].body)
    assert link, sent[0].body
    # The customer: another browser context, not logged in.
    customer = page.context.browser.new_context(base_url=live_server.url, locale="en-US")
    try:
        public = customer.new_page()
        public.goto(link.group(0))
        expect(public.get_by_role("heading", name=re.compile(rf"Quote {quote.number}"))).to_be_visible()
        expect(public.get_by_text("297.50").first).to_be_visible()
        public.get_by_label("Your full name").fill("Charles Babbage")
        public.get_by_label("I accept this quote and its terms.").check()
        shot("customer-signed-link", public)
        public.get_by_role("button", name="Accept quote").click()
        expect(public.get_by_role("heading", name="Thank you — this quote has been accepted.")).to_be_visible()
        shot("customer-accepted", public)
    finally:
        customer.close()
    order = Order.objects.get(quote=quote)
    page.reload()
    expect(page.locator("h1")).to_contain_text("Accepted")
    page.goto(f"/orders/{order.pk}/")
    expect(page.get_by_role("heading", name=re.compile(rf"Order {order.number}"))).to_be_visible()
    shot("order")
    page.get_by_role("button", name="Start fulfilment").click()
    expect(flash(page, "Fulfilment started.")).to_be_visible()
    page.get_by_role("button", name="Mark fulfilled").click()
    expect(flash(page, "Order fulfilled: it can be invoiced now.")).to_be_visible()
    expect(history(page)).to_contain_text("Mark fulfilled")
    page.get_by_role("button", name="Create invoice").click()
    expect(page).to_have_url(re.compile(r"/invoices/\d+/$"))
    invoice = Invoice.objects.get(order=order)
    expect(page.get_by_role("heading", name=re.compile("Draft invoice"))).to_be_visible()
    expect(flash(page, "Draft invoice created: check it and issue it.")).to_be_visible()
    # Only accountants issue invoices: the seller's button is disabled and says so.
    expect(page.get_by_test_id("issue-disabled")).to_have_attribute("title", "Only accountants issue invoices.")
    shot("invoice-draft")

    # --- The accountant issues it and downloads the PDF ---------------------------------------------------
    page.context.clear_cookies()
    log_in(page, accountant)
    page.goto(f"/invoices/{invoice.pk}/")
    page.get_by_test_id("actions").get_by_role("button", name="Issue").click()
    number = f"INV-{year}-00001"
    expect(page.get_by_role("heading", name=re.compile(rf"Invoice {number}"))).to_be_visible()
    expect(flash(page, f"Invoice {number} issued.")).to_be_visible()
    pdf_link = page.get_by_test_id("pdf-link")
    expect(pdf_link).to_be_visible(timeout=30_000)
    with page.expect_download() as download_info:
        pdf_link.click()
    assert download_info.value.suggested_filename == f"{number}.pdf"
    expect_pdf(page.context.request.get(f"/invoices/{invoice.pk}/pdf/"))
    expect(page.get_by_test_id("balance-due")).to_contain_text("297.50")
    shot("invoice-issued")

    # --- Payments: part, then the rest ------------------------------------------------------------------
    page.get_by_test_id("actions").get_by_role("link", name="Record payment").click()
    form = page.get_by_test_id("payment-form")
    form.get_by_label("Amount").fill("100.00")
    form.get_by_label("Reference").fill("Bank statement 1")
    form.get_by_role("button", name="Record payment").click()
    expect(flash(page, re.compile(r"Payment of .*100\.00 recorded\."))).to_be_visible()
    expect(page.get_by_test_id("balance-due")).to_contain_text("197.50")
    expect(page.get_by_test_id("payments")).to_contain_text("Bank statement 1")
    shot("invoice-part-paid")

    page.get_by_test_id("actions").get_by_role("link", name="Record payment").click()
    form = page.get_by_test_id("payment-form")
    # The amount defaults to the balance due: the accountant only confirms.
    expect(form.get_by_label("Amount")).to_have_value(re.compile(r"^197\.50*$"))
    form.get_by_role("button", name="Record payment").click()
    expect(flash(page, re.compile(r"Payment of .*197\.50 recorded\."))).to_be_visible()
    expect(page.locator("h1")).to_contain_text("Paid")
    expect(page.get_by_test_id("balance-due")).to_have_count(0)
    expect(page.get_by_test_id("amount-paid")).to_contain_text("297.50")
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID
    assert Payment.objects.filter(invoice=invoice).count() == 2
    shot("invoice-paid")

    # --- The history of every record tells the story ------------------------------------------------------
    expect(history(page)).to_contain_text("Issue: Draft → Issued")
    expect(history(page)).to_contain_text("Record part payment")
    expect(history(page)).to_contain_text("Mark paid")

    # Back to the seller: the pipeline records are sales' (an accountant gets a 404 on them).
    page.context.clear_cookies()
    log_in(page, seller)
    page.goto(f"/orders/{order.pk}/")
    for label in ("Start fulfilment", "Mark fulfilled", "Created"):
        expect(history(page)).to_contain_text(label)
    expect(page.get_by_test_id("invoices")).to_contain_text(number)
    shot("order-history")

    page.goto(f"/quotes/{quote.pk}/")
    for label in ("Send: Draft → Sent", "Sent → Accepted", "Created"):
        expect(history(page)).to_contain_text(label)
    shot("quote-history")

    page.goto(f"/opportunities/{opp.pk}/")
    expect(history(page)).to_contain_text(f"Stage: {second_name} → Proposition")
    expect(page.get_by_test_id("quotes")).to_contain_text(quote.number)
    shot("opportunity-history")

    page.goto(lead_url)
    for label in ("Start working: New → Working", "Qualify: Working → Qualified", "Created"):
        expect(history(page)).to_contain_text(label)
    expect(page.get_by_test_id("opportunity-link")).to_contain_text(opp.name)
    shot("lead-history")


def test_seller_of_another_team_gets_404_on_the_first_sellers_records(page: Page, shot, seller,
                                                                      other_team_seller) -> None:
    invoice = factories.invoice(owner=seller, issued=True, company="Secret Deals GmbH")
    order = invoice.order
    quote, opp = order.quote, order.quote.opportunity
    log_in(page, other_team_seller)
    for url in (f"/leads/{opp.lead_id}/", f"/opportunities/{opp.pk}/", f"/quotes/{quote.pk}/",
                f"/quotes/{quote.pk}/pdf/", f"/orders/{order.pk}/", f"/invoices/{invoice.pk}/",
                f"/invoices/{invoice.pk}/pdf/"):
        response = page.goto(url)
        assert response is not None and response.status == 404, url
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        expect(page.get_by_text("Secret Deals GmbH")).to_have_count(0)
    shot("not-found")
    # Their own lists do not show the records either.
    page.goto("/opportunities/")
    expect(page.get_by_text("Secret Deals GmbH")).to_have_count(0)
    shot("own-list-without-them")


def test_a_manager_views_the_pipeline_report(page: Page, shot, seller, manager) -> None:
    factories.opportunity(owner=seller, company="Northwind", amount="8000.00")
    factories.opportunity(owner=seller, company="Contoso", amount="2000.00")
    log_in(page, manager)
    page.goto("/opportunities/report/")
    expect(page.locator("h1")).to_contain_text("Pipeline report")
    expect(page.locator("h1")).to_contain_text("Berlin")  # the manager's team
    first_stage = page.get_by_test_id("stage-row").first
    expect(first_stage).to_contain_text("10,000.00")  # both open deals are in the first stage
    expect(page.get_by_test_id("stage-chart")).to_be_visible()
    shot("pipeline-report")

    # The forecast of this quarter: the two deals, due to close this month at the first stage's probability,
    # against the team's target.
    today = timezone.localdate()
    Opportunity.objects.filter(owner=seller).update(expected_close_date=today)
    SalesTarget.objects.create(team=manager.managed_teams.get(), month=today, amount=Money("40000", "EUR"))
    page.get_by_role("link", name="Forecast").click()
    expect(page.locator("h1")).to_contain_text("Forecast")
    total = page.get_by_test_id("forecast-total")
    expect(total).to_contain_text("€40,000.00")
    expect(total).to_contain_text("2 open deals")
    expect(page.get_by_test_id("forecast-row")).to_contain_text(str(seller))
    shot("forecast")


def test_a_refused_payment_shows_why_and_books_nothing(page: Page, shot, seller, accountant) -> None:
    # A payment in another currency than the invoice's is refused by the service. (Over-payments are not
    # used here: whether they are refused or kept as customer credit is a business rule that may change.)
    invoice = factories.invoice(owner=seller, issued=True)  # 2 lines of 100.00 EUR at 19 %: 238.00
    log_in(page, accountant)
    page.goto(f"/invoices/{invoice.pk}/")
    page.get_by_test_id("actions").get_by_role("link", name="Record payment").click()
    form = page.get_by_test_id("payment-form")
    form.get_by_label("Amount").fill("50.00")
    form.get_by_label("Currency").select_option("USD")
    form.get_by_role("button", name="Record payment").click()
    alert = page.get_by_role("alert").filter(has_text="cannot be booked against it")
    expect(alert).to_have_text("The invoice is in EUR; a payment in USD cannot be booked against it.")
    # What the accountant typed is kept, and nothing was booked.
    form = page.get_by_test_id("payment-form")
    expect(form.get_by_label("Amount")).to_have_value(re.compile(r"^50\.0*$"))
    expect(form.get_by_label("Currency")).to_have_value("USD")
    expect(page.get_by_text("No payments recorded yet.")).to_be_visible()
    expect(page.get_by_test_id("balance-due")).to_contain_text("238.00")
    assert not Payment.objects.filter(invoice=invoice).exists()
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.ISSUED
    shot("payment-refused")
