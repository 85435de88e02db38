"""The lead list as a streamed CSV: what the user may see, filtered like the list, safe to open in Excel."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from crm.csvstream import safe_cell
from leads import selectors
from leads.models import Lead
from tests import factories

EXPORT = reverse("leads:export")


def export(client, **params) -> tuple[StreamingHttpResponse, list[list[str]]]:
    response = client.get(EXPORT, params)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    return response, list(csv.reader(io.StringIO(text)))


def test_export_streams_a_header_and_one_row_per_lead(seller_client, seller, team):
    lead = factories.lead(
        owner=seller, first_name="Ada", last_name="Lovelace", email="ada@engines.example", company="Engines Ltd",
        vat_id="GB123", source="referral",
    )

    response, rows = export(seller_client)

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="leads-')
    header, *data = rows
    assert header[:7] == ["Number", "Status", "First name", "Last name", "E-mail", "Phone", "Company"]
    [row] = data
    by_column = dict(zip(header, row, strict=True))
    assert by_column["Number"] == lead.number
    assert by_column["Status"] == "New"
    assert (by_column["First name"], by_column["Last name"], by_column["E-mail"]) == (
        "Ada", "Lovelace", "ada@engines.example"
    )
    assert (by_column["VAT ID"], by_column["Source"], by_column["Team"]) == ("GB123", "Referral", team.name)
    assert by_column["Owner"] == str(seller)


def test_export_contains_only_leads_the_user_may_see(seller_client, seller, teammate, other_team_seller):
    mine = factories.lead(owner=seller, last_name="Mine")
    teams = factories.lead(owner=teammate, last_name="Teammates")
    factories.lead(owner=other_team_seller, last_name="Hidden")

    _response, rows = export(seller_client)

    assert sorted(row[0] for row in rows[1:]) == sorted([mine.number, teams.number])


def test_export_applies_the_lists_search_and_filters(seller_client, seller, teammate):
    wanted = factories.lead(owner=seller, last_name="Wanted", company="Acme", source="referral")
    factories.lead(owner=seller, last_name="Other", company="Acme", source="website")
    factories.lead(owner=teammate, last_name="Theirs", company="Acme", source="referral")

    _response, rows = export(seller_client, q="acme", source="referral", mine="on")

    assert [row[0] for row in rows[1:]] == [wanted.number]


def test_export_keeps_the_lists_order(seller_client, seller):
    factories.lead(owner=seller, last_name="Zeta")
    factories.lead(owner=seller, last_name="Alpha")

    _response, rows = export(seller_client, sort="name")

    assert [row[3] for row in rows[1:]] == ["Alpha", "Zeta"]


@pytest.mark.parametrize("evil", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_cells_a_spreadsheet_would_run_as_formulas_stay_text(seller_client, seller, evil):
    factories.lead(owner=seller, last_name=evil, company=evil)

    _response, rows = export(seller_client)

    row = rows[1]
    assert row[3] == "'" + evil
    assert row[6] == "'" + evil


def test_safe_cell_leaves_ordinary_values_alone():
    assert safe_cell("Acme GmbH") == "Acme GmbH"
    assert safe_cell(42) == 42
    assert safe_cell("") == ""


def test_excel_variant_starts_with_a_byte_order_mark(seller_client, seller):
    factories.lead(owner=seller, last_name="Müller")

    plain = b"".join(seller_client.get(EXPORT).streaming_content)
    excel = b"".join(seller_client.get(EXPORT, {"bom": "1"}).streaming_content)

    assert not plain.startswith(b"\xef\xbb\xbf")
    assert excel.startswith(b"\xef\xbb\xbf")
    assert "Müller".encode() in excel


def test_the_list_page_links_to_the_export_with_its_filters(seller_client, seller):
    content = seller_client.get(reverse("leads:list"), {"q": "acme", "state": "new", "page": "2"}).content.decode()

    assert f'href="{EXPORT}?q=acme&amp;state=new"' in content


def test_export_needs_a_login(client):
    response = client.get(EXPORT)
    assert response.status_code == 302
    assert "/login" in response["Location"]


@pytest.mark.parametrize("leads", [1, 30])
def test_export_reads_in_a_constant_number_of_queries(
    seller_client, seller, teammate, leads, django_assert_max_num_queries
):
    for i in range(leads):
        factories.lead(owner=seller if i % 2 else teammate, last_name=f"Lead {i}")

    with django_assert_max_num_queries(5):
        _response, rows = export(seller_client)

    assert len(rows) == leads + 1


def test_export_reads_rows_in_chunks(seller, teammate, monkeypatch, django_assert_max_num_queries):
    # Chunks of 2 over 5 rows: still one query (a cursor), and every row arrives.
    monkeypatch.setattr(selectors, "EXPORT_CHUNK_SIZE", 2)
    for i in range(5):
        factories.lead(owner=seller, last_name=f"Lead {i}")
    Lead.objects.visible_to(seller)  # the user's roles and teams are read once per request, before the rows

    with django_assert_max_num_queries(2):
        rows = list(selectors.lead_export_rows(user=seller))

    assert len(rows) == 5
