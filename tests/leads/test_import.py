"""CSV/XLSX lead import: the service, the command and malformed input."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from crm.models import Sequence
from crm.numbering import next_numbers
from leads.imports import ImportFileError, detect_mapping, import_leads, problems_csv, read_table
from leads.models import Lead, LeadSource
from tests import factories

pytestmark = pytest.mark.django_db


def run(data: bytes, actor, name: str = "leads.csv", **kwargs):
    table = read_table(data, name)
    return import_leads(table=table, mapping=detect_mapping(table.headers), actor=actor, **kwargs)


GERMAN = "Vorname;Name;E-Mail;Firma;Telefon;Position;Quelle\n" \
         "Jörg;Müller;joerg@mueller.example;Müller GmbH;+49 30 1;Geschäftsführer;Empfehlung\n" \
         "Anna;Schmidt;ANNA@schmidt.example;Schmidt AG;;Einkauf;Messe\n"


def test_german_headers_are_detected_and_leads_created_with_numbers(seller):
    result = run(GERMAN.encode("utf-8-sig"), seller)

    assert (result.created, result.failed, result.problems) == (2, False, [])
    joerg = Lead.objects.get(email="joerg@mueller.example")
    assert (joerg.first_name, joerg.last_name, joerg.company, joerg.source) == (
        "Jörg", "Müller", "Müller GmbH", LeadSource.REFERRAL)
    assert joerg.owner == seller and joerg.team is not None
    assert joerg.score >= 20 + 10 + 10 + 15  # referral, e-mail, company, decision maker
    assert Lead.objects.get(last_name="Schmidt").email == "anna@schmidt.example"  # normalised
    assert len(set(Lead.objects.values_list("number", flat=True))) == 2


def test_vat_id_and_registration_number_are_imported_as_the_export_writes_them(seller, admin_client):
    """What the lead export writes, the import reads back: VAT ID and registration number included."""
    data = "Nachname;Firma;USt-IdNr.;Handelsregister\nMüller;Müller GmbH;DE123456789;HRB 12345\n"

    result = run(data.encode(), seller)

    assert (result.created, result.problems) == (1, [])
    lead = Lead.objects.get(last_name="Müller")
    assert (lead.vat_id, lead.registration_number) == ("DE123456789", "HRB 12345")
    export = b"".join(admin_client.get("/leads/export/").streaming_content).decode("utf-8-sig")
    exported = export.splitlines()[0].split(",")
    assert detect_mapping(exported)["VAT ID"] == "vat_id"
    assert detect_mapping(exported)["Registration number"] == "registration_number"


def test_detect_mapping_english_and_full_name():
    assert detect_mapping(["Full Name", "Email Address", "Company Name", "Job Title", "Notes"]) == {
        "Full Name": "name", "Email Address": "email", "Company Name": "company", "Job Title": "title",
        "Notes": "notes",
    }


def test_full_name_column_is_split(seller):
    result = run(b"Name,Email\nAda Lovelace,ada@example.com\n", seller)

    assert result.created == 1
    assert Lead.objects.values_list("first_name", "last_name").get() == ("Ada", "Lovelace")


def test_all_or_nothing_reports_spreadsheet_rows_and_writes_nothing(seller):
    data = b"First name,Last name,E-mail\nAda,Lovelace,ada@example.com\nBad,,not-an-email\nOk,Fine,\n"

    result = run(data, seller)

    assert result.failed and result.created == 0
    assert not Lead.objects.exists()
    assert {(p["row"], p["column"]) for p in result.problems} == {(3, "Last name"), (3, "E-mail")}


def test_skip_bad_rows_imports_the_good_ones(seller):
    data = b"First name,Last name,E-mail\nAda,Lovelace,ada@example.com\nBad,,x\nOk,Fine,\n"

    result = run(data, seller, skip_bad_rows=True)

    assert (result.created, result.skipped, result.failed) == (2, 1, False)
    assert set(Lead.objects.values_list("last_name", flat=True)) == {"Lovelace", "Fine"}


def test_duplicates_in_file_and_against_leads_and_contacts_are_skipped(seller):
    factories.lead(owner=seller, last_name="Known", email="known@example.com")
    factories.ContactFactory(email="Contact@Example.com")
    data = (b"Last name;E-mail\nA;new@example.com\nB;NEW@example.com\nC;known@example.com\n"
            b"D;contact@example.com\n")

    result = run(data, seller)

    assert (result.created, result.skipped, result.failed) == (1, 3, False)
    messages = {p["row"]: p["message"] for p in result.problems}
    assert messages[3] == "Same e-mail as row 2."
    assert "already exists" in messages[4] and "already exists" in messages[5]


def test_dry_run_writes_nothing(seller):
    result = run(GERMAN.encode(), seller, dry_run=True)

    assert result.created == 2 and not Lead.objects.exists()
    assert not Sequence.objects.exists()


def test_cp1252_file_is_read_with_a_notice(seller):
    result = run("Nachname;Firma\nMüller;Bäcker GmbH\n".encode("cp1252"), seller)

    assert result.created == 1 and Lead.objects.get().last_name == "Müller"
    assert any("not UTF-8" in n and "Windows-1252" in n for n in result.notices)


def test_missing_name_column_is_refused(seller):
    with pytest.raises(ImportFileError, match="last name"):
        run(b"E-mail,Company\na@example.com,ACME\n", seller)


def test_file_over_10_mb_is_refused():
    with pytest.raises(ImportFileError, match="up to 10 MB"):
        read_table(b"Last name\n" + b"x" * (10 * 1024 * 1024 + 1), "big.csv")


def test_empty_and_binary_files_are_refused():
    with pytest.raises(ImportFileError, match="empty"):
        read_table(b"  \n", "x.csv")
    with pytest.raises(ImportFileError, match="Excel"):
        read_table(b"PK\x03\x04garbage", "x.xlsx")


def test_huge_fields_are_refused_and_long_notes_truncated(seller):
    data = f"Last name,Company,Notes\n{'x' * 5000},ACME,short\nOk,ACME,{'n' * 20000}\n".encode()

    result = run(data, seller, skip_bad_rows=True)

    assert result.created == 1
    assert len(Lead.objects.get().notes) == 10_000
    kinds = {(p["row"], p["kind"]) for p in result.problems}
    assert kinds == {(2, "error"), (3, "warning")}
    assert "Too long: 5000 characters" in result.problems[0]["message"]


def test_xlsx_is_imported(seller):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["First Name", "Last Name", "Email", "Phone"])
    sheet.append(["Grace", "Hopper", "grace@navy.example", 4930123456])
    buffer = io.BytesIO()
    workbook.save(buffer)

    result = run(buffer.getvalue(), seller, name="leads.xlsx")

    assert result.created == 1
    assert Lead.objects.values_list("last_name", "phone").get() == ("Hopper", "4930123456")


def test_unknown_source_and_bad_country_are_row_errors(seller):
    result = run(b"Last name,Source,Country\nA,Carrier pigeon,DE\nB,Website,Atlantis\nC,website,Deutschland\n",
                 seller, skip_bad_rows=True)

    assert result.created == 1 and Lead.objects.get().country == "DE"
    assert [(p["row"], p["column"]) for p in result.problems] == [(2, "Source"), (3, "Country")]


def test_next_numbers_takes_a_consecutive_block(db):
    from django.db import transaction

    with transaction.atomic():
        first = next_numbers("T", 3)
        second = next_numbers("T", 2)
    assert [n[-5:] for n in first + second] == ["00001", "00002", "00003", "00004", "00005"]


def test_import_query_count_does_not_grow_with_rows(seller, django_assert_max_num_queries):
    rows = "".join(f"Lead{i},lead{i}@example.com\n" for i in range(3000))
    table = read_table(f"Last name,E-mail\n{rows}".encode(), "x.csv")

    with django_assert_max_num_queries(20):
        result = import_leads(table=table, mapping=detect_mapping(table.headers), actor=seller)

    assert result.created == 3000 == Lead.objects.count()


def test_problems_csv_has_row_column_message():
    text = problems_csv([{"row": 3, "column": "E-mail", "message": "bad", "kind": "error"}])
    assert text.startswith("\ufeffRow,Column,Problem,Kind")
    assert "3,E-mail,bad,error" in text


# --- the command ------------------------------------------------------------------------------------------

def test_command_imports_and_prints_summary(tmp_path, seller, capsys):
    path = tmp_path / "leads.csv"
    path.write_bytes(GERMAN.encode())

    call_command("import_leads", str(path), "--owner", seller.username)

    out = capsys.readouterr().out
    assert "2 rows read, 2 leads created, 0 skipped, 0 errors" in out
    assert Lead.objects.filter(owner=seller).count() == 2


def test_command_fails_non_zero_and_prints_report_in_all_or_nothing_mode(tmp_path, seller, capsys):
    path = tmp_path / "leads.csv"
    path.write_bytes(b"Last name,E-mail\nA,a@example.com\n,b@example.com\n")

    with pytest.raises(CommandError, match="rows have errors"):
        call_command("import_leads", str(path), "--owner", seller.username)

    assert "row 3, Last name: The last name is missing." in capsys.readouterr().out
    assert not Lead.objects.exists()


def test_command_dry_run_and_mapping_override(tmp_path, seller, capsys):
    path = tmp_path / "leads.csv"
    path.write_bytes(b"Surname,Mail,Junk\nLovelace,ada@example.com,x\n")

    call_command("import_leads", str(path), "--owner", seller.username, "--dry-run",
                 "--mapping", "Surname=last_name,Mail=email")

    assert "1 leads would be created" in capsys.readouterr().out
    assert not Lead.objects.exists()
