"""German translation: the catalogue is complete and compiled, a seller whose language is German gets German
pages with German number and date formats, invoice PDFs follow the invoice's language, and the language
switch works before and after signing in."""

from __future__ import annotations

import ast
import io
import re
from decimal import Decimal
from pathlib import Path

import pdfplumber
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from invoices.services import invoice_render_pdf
from quotes.services import quote_render_pdf
from tests import factories

PO_FILE = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES" / "django.po"
NBSP = "\xa0"  # django-money (babel) separates amount and currency symbol with a no-break space


def _po_entries() -> list[dict]:
    """Entries of the German .po file (polib is not a dependency; the format is simple enough)."""
    entries = []
    for block in PO_FILE.read_text(encoding="utf-8").split("\n\n"):
        entry: dict = {"flags": [], "msgstr": {}}
        key = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += [flag.strip() for flag in line[2:].split(",")]
                continue
            if line.startswith("#") or not line.strip():
                continue
            match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d)\])?) (\".*\")$", line)
            if match:
                key = match.group(1) if not match.group(1).startswith("msgstr") else int(match.group(2) or 0)
                value = ast.literal_eval(match.group(3))
            else:
                value = ast.literal_eval(line)
            if isinstance(key, int):
                entry["msgstr"][key] = entry["msgstr"].get(key, "") + value
            else:
                entry[key] = entry.get(key, "") + value
        if "msgid" in entry:
            entries.append(entry)
    return entries


def _german(user) -> None:
    user.language = "de"
    user.save(update_fields=["language"])


def _pdf_text(document) -> str:
    document.refresh_from_db()
    with document.pdf.open("rb") as handle, pdfplumber.open(io.BytesIO(handle.read())) as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    return text.replace(NBSP, " ")


KEY_STRINGS = {
    "New lead": "Neuer Lead",
    "Leads": "Leads",
    "Opportunities": "Verkaufschancen",
    "Quotes": "Angebote",
    "Orders": "Aufträge",
    "Invoice": "Rechnung",
    "Draft": "Entwurf",
    "Sent": "Versendet",
    "Accepted": "Angenommen",
    "Rejected": "Abgelehnt",
    "Expired": "Abgelaufen",
    "Overdue": "Überfällig",
    "Partially paid": "Teilweise bezahlt",
    "Paid": "Bezahlt",
    "Won": "Gewonnen",
    "Lost": "Verloren",
    "Stage": "Phase",
    "Net total": "Summe netto",
    "Due date": "Fällig am",
    "Valid until": "Gültig bis",
    "Balance due": "Offener Betrag",
    "Sign in": "Anmelden",
}


def test_key_ui_strings_translate_to_german():
    with translation.override("de"):
        assert {msgid: translation.gettext(msgid) for msgid in KEY_STRINGS} == KEY_STRINGS
        assert translation.ngettext("%(days)s day", "%(days)s days", 1) % {"days": 1} == "1 Tag"
        assert translation.ngettext("%(days)s day", "%(days)s days", 14) % {"days": 14} == "14 Tage"


def test_po_file_has_no_untranslated_or_fuzzy_entries():
    entries = _po_entries()[1:]  # the first entry is the header
    assert len(entries) > 500
    untranslated = [e["msgid"] for e in entries if not e["msgstr"] or not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


def test_compiled_catalogue_matches_the_po_file():
    """Catches a .po edited without `make messages`: the .mo Django loads must say what the .po says."""
    stale = []
    with translation.override("de"):
        for entry in _po_entries()[1:]:
            if "msgid_plural" in entry:
                got = [translation.ngettext(entry["msgid"], entry["msgid_plural"], n) for n in (1, 2)]
                want = [entry["msgstr"][0], entry["msgstr"][1]]
            elif "msgctxt" in entry:
                got, want = translation.pgettext(entry["msgctxt"], entry["msgid"]), entry["msgstr"][0]
            else:
                got, want = translation.gettext(entry["msgid"]), entry["msgstr"][0]
            if got != want:
                stale.append(entry["msgid"])
    assert stale == []


def test_placeholders_survive_translation():
    def placeholders(text: str) -> list[str]:
        return sorted(re.findall(r"%\(\w+\)[sd]|%%", text))

    for entry in _po_entries()[1:]:
        for form, text in entry["msgstr"].items():
            # A plural form follows msgid_plural: the singular may leave the count out ("Only the latest event …").
            source = entry["msgid_plural"] if form not in (None, 0) and "msgid_plural" in entry else entry["msgid"]
            assert placeholders(text) == placeholders(source), entry["msgid"]


def test_lead_list_is_german_for_a_seller_who_chose_german(seller, seller_client):
    _german(seller)
    factories.lead(owner=seller, company="Müller GmbH")

    response = seller_client.get(reverse("leads:list"))

    content = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="de">' in content
    assert "Neuer Lead" in content
    assert "Unternehmen" in content  # column header
    assert ">Neu<" in content or "Neu</span>" in content  # the lead's state badge
    assert "New lead" not in content


def test_seller_language_wins_over_the_browser(seller, seller_client):
    _german(seller)
    response = seller_client.get(reverse("leads:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Neuer Lead" in response.content.decode()


def test_invoice_page_shows_german_labels_money_and_dates(seller, accountant, accountant_client):
    _german(accountant)
    # 9 product lines of 100.00 EUR at 19 %: 900.00 net + 171.00 tax = 1,071.00 gross (needs a thousands separator)
    invoice = factories.invoice(owner=seller, issued=True, lines=9)
    assert invoice.gross_total.amount == Decimal("1071.00")

    response = accountant_client.get(reverse("invoices:detail", args=[invoice.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert f"Rechnung {invoice.number}" in content
    assert "Ausgestellt" in content
    assert "Offener Betrag" in content
    assert "Zahlung erfassen" in content
    assert f"1.071,00{NBSP}€" in content
    assert "€1,071.00" not in content
    assert invoice.issue_date.strftime("%d.%m.%Y") in content


def test_kanban_shows_the_default_stage_names_in_german(seller, seller_client):
    _german(seller)
    response = seller_client.get(reverse("opportunities:board"))
    content = response.content.decode()
    assert "Qualifizierung" in content
    assert "Verhandlung" in content
    assert "Negotiation" not in content


def test_invoice_pdf_follows_the_invoice_language(seller):
    _german(seller)  # documents take the language of the seller who wrote the quote
    invoice = factories.invoice(owner=seller, issued=True, lines=9)
    assert invoice.language == "de"

    invoice_render_pdf(invoice_id=invoice.pk, force=True)

    text = _pdf_text(invoice)
    assert "Rechnungsnummer" in text
    assert f"Datum {invoice.issue_date:%d.%m.%Y}" in text
    assert "Summe netto" in text
    assert "USt. 19 %" in text
    assert "Rechnungsbetrag" in text
    assert "Bitte überweisen Sie" in text
    assert "Rechnungsbetrag 1.071,00 €" in text
    assert invoice.due_date.strftime("%d.%m.%Y") in text
    assert "Seite 1 / 1" in text  # the page footer comes from the PDF stylesheet template (9 lines: one page)
    assert "Invoice number" not in text


def test_quote_pdf_follows_the_quote_language(seller):
    _german(seller)
    quote = factories.quote(owner=seller, sent=True)
    assert quote.language == "de"

    quote_render_pdf(quote_id=quote.pk, force=True)

    text = _pdf_text(quote)
    assert f"Angebot {quote.number}" in text
    assert "Angebotsnummer" in text
    assert f"Dieses Angebot ist gültig bis {quote.valid_until.strftime('%d.%m.%Y')}." in text
    assert "Gesamt 238,00 €" in text
    assert "Mit freundlichen Grüßen" in text


def test_english_invoice_pdf_stays_english(seller):
    invoice = factories.invoice(owner=seller, issued=True)
    assert invoice.language == "en"

    invoice_render_pdf(invoice_id=invoice.pk, force=True)

    text = _pdf_text(invoice)
    assert "Invoice number" in text
    assert "Rechnungsnummer" not in text


@pytest.mark.django_db
def test_login_page_follows_accept_language(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    content = response.content.decode()
    assert '<html lang="de">' in content
    assert "Bei Salesflow anmelden" in content
    assert "Benutzername" in content


@pytest.mark.django_db
def test_language_switch_on_the_login_page(client):
    login = reverse("login")

    response = client.post(reverse("set_language"), {"language": "de", "next": login})
    assert response.status_code == 302
    assert response.headers["Location"] == login
    assert "Bei Salesflow anmelden" in client.get(login, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    client.post(reverse("set_language"), {"language": "en", "next": login})
    assert "Sign in to Salesflow" in client.get(login, HTTP_ACCEPT_LANGUAGE="de").content.decode()


def test_signed_in_seller_can_switch_back_to_english(seller, seller_client):
    _german(seller)

    seller_client.post(reverse("set_language"), {"language": "en", "next": reverse("leads:list")})

    content = seller_client.get(reverse("leads:list")).content.decode()
    assert "New lead" in content
    seller.refresh_from_db()
    assert seller.language == "en"
