"""Lead import from CSV and XLSX files: read, detect the column mapping, validate every row, dedupe, and
insert in bulk.

Rows are validated in plain Python (no per-row full_clean, no per-row query) and inserted with
bulk_create in batches, with their numbers taken as one block from the sequence, so 100,000 rows take
seconds. Row numbers in the report are the ones a spreadsheet shows: the header is row 1.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import EmailValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override

from crm import numbering
from crm.jobs import enqueue_on_commit
from crm.models import Contact, Team, User
from crm.workflow import DomainError
from leads.models import ImportJob, ImportState, Lead, LeadSource
from leads.rules import Assigner, active_scoring_rules, compile_rules

MAX_BYTES = getattr(settings, "LEADS_IMPORT_MAX_BYTES", 10 * 1024 * 1024)
NOTES_MAX = 10_000
BATCH = 2_000
MAX_STORED_PROBLEMS = 50_000

TARGET_FIELDS: dict[str, Any] = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "name": gettext_lazy("Full name (split into first and last)"),
    "email": gettext_lazy("E-mail"),
    "phone": gettext_lazy("Phone"),
    "company": gettext_lazy("Company"),
    "title": gettext_lazy("Job title"),
    "source": gettext_lazy("Source"),
    "country": gettext_lazy("Country"),
    "vat_id": gettext_lazy("VAT ID"),
    "registration_number": gettext_lazy("Registration number"),
    "notes": gettext_lazy("Notes"),
    "utm_source": gettext_lazy("UTM source"),
    "utm_medium": gettext_lazy("UTM medium"),
    "utm_campaign": gettext_lazy("UTM campaign"),
}

# Normalised header (lower case, letters and digits only) → field. English and German spellings.
SYNONYMS: dict[str, str] = {}
for _field, _words in {
    "first_name": "firstname first givenname forename vorname",
    "last_name": "lastname last surname familyname nachname familienname",
    "name": "name fullname contact contactname kontakt ansprechpartner person",
    "email": "email emailaddress mail emailadresse mailadresse",
    "phone": "phone phonenumber telephone tel mobile mobilephone cell telefon telefonnummer handy mobil rufnummer",
    "company": "company companyname organisation organization account accountname firma unternehmen firmenname",
    "title": "title jobtitle position role funktion titel berufsbezeichnung",
    "source": "source leadsource quelle herkunft leadquelle",
    "country": "country countrycode land",
    "vat_id": "vatid vat vatnumber vatno vatregistrationnumber taxid ustid ustidnr umsatzsteuerid "
              "umsatzsteueridentifikationsnummer",
    "registration_number": "registrationnumber registration regno companynumber commercialregister "
                           "handelsregister handelsregisternummer registernummer hrb",
    "notes": "notes note comment comments message description notiz notizen bemerkung bemerkungen kommentar "
             "nachricht beschreibung",
    "utm_source": "utmsource",
    "utm_medium": "utmmedium",
    "utm_campaign": "utmcampaign kampagne campaign",
}.items():
    for _word in _words.split():
        SYNONYMS[_word] = _field

COUNTRY_NAMES = {
    "germany": "DE", "deutschland": "DE", "austria": "AT", "österreich": "AT", "switzerland": "CH",
    "schweiz": "CH", "france": "FR", "frankreich": "FR", "netherlands": "NL", "niederlande": "NL",
    "united kingdom": "GB", "uk": "GB", "großbritannien": "GB", "united states": "US", "usa": "US",
    "italy": "IT", "italien": "IT", "spain": "ES", "spanien": "ES", "belgium": "BE", "belgien": "BE",
    "poland": "PL", "polen": "PL",
}

_email_validator = EmailValidator()
_TWO_LETTERS = re.compile(r"^[A-Za-z]{2}$")


class ImportFileError(DomainError):
    """The file as a whole cannot be imported (size, format, encoding, header)."""


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    notices: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    skipped: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    failed: bool = False
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def error_count(self) -> int:
        return sum(1 for p in self.problems if p["kind"] == "error")

    @property
    def rows_per_second(self) -> float:
        return self.total / self.seconds if self.seconds else 0.0


# --- reading ---------------------------------------------------------------------------------------


def read_table(data: bytes, name: str = "", *, max_bytes: int | None = MAX_BYTES, limit: int | None = None) -> Table:
    """Decode a CSV or XLSX file into a header and rows of strings. `limit` reads only the first rows
    (the mapping preview)."""
    if max_bytes is not None and len(data) > max_bytes:
        raise ImportFileError(
            _("The file is %(size).1f MB; files up to %(max).0f MB can be imported. Split it into smaller files.")
            % {"size": len(data) / 1024 / 1024, "max": max_bytes / 1024 / 1024}
        )
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    if data[:4] == b"PK\x03\x04" or name.lower().endswith((".xlsx", ".xlsm")):
        table = _read_xlsx(data, limit=limit)
    else:
        table = _read_csv(data, limit=limit)
    table.headers = [h.strip() for h in table.headers]
    if not any(table.headers):
        raise ImportFileError(_("The first row must name the columns (e.g. First name, Last name, E-mail)."))
    return table


def _decode(data: bytes) -> tuple[str, list[str]]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), []
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        try:
            text, encoding = data.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "ISO-8859-1"
        return text, [
            _("The file is not UTF-8 (first unreadable byte in line %(line)d); it was read as %(encoding)s. "
              "Check umlauts and accents, or save the file as “CSV UTF-8”.") % {"line": line, "encoding": encoding}
        ]


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in (";", ",", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _read_csv(data: bytes, *, limit: int | None) -> Table:
    text, notices = _decode(data)
    if "\x00" in text:
        raise ImportFileError(_("This does not look like a CSV or XLSX file."))
    # Fields may be as large as the file allows; lengths are checked per field with a clear message.
    csv.field_size_limit(max(len(text), 131_072))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        headers = next(reader, [])
        rows: list[list[str]] = []
        for row in reader:
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                break
    except csv.Error as exc:
        raise ImportFileError(
            _("The CSV file is broken near row %(row)d: %(error)s") % {"row": reader.line_num, "error": exc}
        ) from exc
    return Table(headers=headers, rows=rows, notices=notices)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(data: bytes, *, limit: int | None) -> Table:
    from openpyxl import load_workbook  # only imports need it; keeps Django start-up light

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or non-XLSX zip
        raise ImportFileError(_("The Excel file cannot be read; save it again as .xlsx or CSV.")) from exc
    try:
        sheet = workbook.worksheets[0]
        iterator = sheet.iter_rows(values_only=True)
        headers = [_cell(v) for v in next(iterator, ())]
        rows: list[list[str]] = []
        for values in iterator:
            rows.append([_cell(v) for v in values])
            if limit is not None and len(rows) >= limit:
                break
    finally:
        workbook.close()
    while headers and not headers[-1]:
        headers.pop()
    return Table(headers=headers, rows=rows)


# --- mapping ---------------------------------------------------------------------------------------


def normalise_header(header: str) -> str:
    return re.sub(r"[^0-9a-zäöüß]", "", header.casefold())


def detect_mapping(headers: list[str]) -> dict[str, str]:
    """Column header → field, for headers that mean a known field; each field taken once."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        target = SYNONYMS.get(normalise_header(header))
        if target and target not in taken:
            mapping[header] = target
            taken.add(target)
    # German sheets say "Vorname" and "Name": there "Name" is the last name.
    if "first_name" in taken and "last_name" not in taken:
        for header, target in mapping.items():
            if target == "name":
                mapping[header] = "last_name"
    return mapping


def parse_mapping_option(text: str, headers: list[str]) -> dict[str, str]:
    """`--mapping "Surname=last_name,Mail=email"` → a mapping overriding the detected one."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        column, sep, target = part.partition("=")
        if not sep or target.strip() not in (*TARGET_FIELDS, ""):
            raise ImportFileError(_("Mapping “%(part)s” must read column=field, with a field among: %(fields)s.")
                                  % {"part": part, "fields": ", ".join(TARGET_FIELDS)})
        if column.strip() not in headers:
            raise ImportFileError(_("The file has no column “%(column)s”.") % {"column": column.strip()})
        mapping[column.strip()] = target.strip()
    return mapping


def check_mapping(mapping: dict[str, str], headers: list[str]) -> dict[str, int]:
    """Field → column index; refuses a mapping without a name column or with a field mapped twice."""
    columns: dict[str, int] = {}
    for header, target in mapping.items():
        if not target:
            continue
        if target not in TARGET_FIELDS:
            raise ImportFileError(_("Unknown field “%(field)s”.") % {"field": target})
        if target in columns:
            raise ImportFileError(_("Two columns are mapped to “%(field)s”.") % {"field": TARGET_FIELDS[target]})
        if header not in headers:
            raise ImportFileError(_("The file has no column “%(column)s”.") % {"column": header})
        columns[target] = headers.index(header)
    if "last_name" not in columns and "name" not in columns:
        raise ImportFileError(
            _("No column holds the last name. Map a column to “Last name” or “Full name” "
              "(recognised headers include Last name, Nachname, Name).")
        )
    return columns


# --- validating and importing ----------------------------------------------------------------------


def _source_lookup() -> dict[str, str]:
    lookup = {}
    for language in ("en", "de"):
        with override(language):
            for value, label in LeadSource.choices:
                lookup[str(label).casefold()] = value
                lookup[value] = value
    return lookup


def existing_emails() -> set[str]:
    emails = set(Lead.objects.exclude(email="").values_list("email", flat=True))
    emails.update(Contact.objects.exclude(email="").values_list("email", flat=True))
    return {e.strip().casefold() for e in emails}


def import_leads(
    *,
    table: Table,
    mapping: dict[str, str],
    actor: User,
    owner: User | None = None,
    skip_bad_rows: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Validate every row, then (unless dry_run or a row failed in all-or-nothing mode) insert the good
    ones in one transaction. Nothing is written when the result says failed."""
    started = time.perf_counter()
    columns = check_mapping(mapping, table.headers)
    headers_by_field = {target: header for header, target in mapping.items() if target}
    result = ImportResult(total=0, notices=list(table.notices), dry_run=dry_run)
    # Country names ("Deutschland") are turned into codes below, so their length is checked there.
    max_length = {f: Lead._meta.get_field(f).max_length for f in TARGET_FIELDS if f not in ("name", "notes", "country")}
    sources = _source_lookup()
    known = existing_emails()
    seen: dict[str, int] = {}
    rules = compile_rules(active_scoring_rules())
    leads: list[dict[str, Any]] = []
    problems = result.problems
    items = list(columns.items())
    bad_rows = 0

    def problem(row: int, target: str, message: str, kind: str = "error") -> None:
        problems.append({"row": row, "column": headers_by_field.get(target, target), "message": message,
                         "kind": kind})

    for number, row in enumerate(table.rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        result.total += 1
        values = {target: (row[index].strip() if index < len(row) else "") for target, index in items}
        bad = False
        if "name" in values:
            full = values.pop("name")
            if "last_name" not in values:
                first, _sep, last = full.rpartition(" ")
                values.setdefault("first_name", first.strip())
                values["last_name"] = last.strip() or first.strip()
        for target, value in values.items():
            limit = max_length.get(target)
            if limit and len(value) > limit:
                problem(number, target, _("Too long: %(length)d characters, at most %(max)d are allowed.")
                        % {"length": len(value), "max": limit})
                bad = True
        notes = values.get("notes", "")
        if len(notes) > NOTES_MAX:
            values["notes"] = notes[:NOTES_MAX]
            problem(number, "notes", _("Shortened to %(max)d characters.") % {"max": NOTES_MAX}, "warning")
        if not values.get("last_name"):
            problem(number, "last_name" if "last_name" in columns else "name", _("The last name is missing."))
            bad = True
        email = values.get("email", "").casefold()
        if email:
            try:
                _email_validator(email)
            except ValidationError:
                problem(number, "email", _("“%(value)s” is not a valid e-mail address.") % {"value": email[:100]})
                bad = True
            values["email"] = email
        source_text = values.get("source", "")
        if source_text:
            source = sources.get(source_text.casefold())
            if source is None:
                problem(number, "source", _("Unknown source “%(value)s”; use one of: %(choices)s.")
                        % {"value": source_text[:50], "choices": ", ".join(str(lbl) for lbl in LeadSource.labels)})
                bad = True
            values["source"] = source or LeadSource.IMPORT
        else:
            values["source"] = LeadSource.IMPORT
        country = values.get("country", "")
        if country:
            code = COUNTRY_NAMES.get(country.casefold(), country)
            if not _TWO_LETTERS.match(code):
                problem(number, "country", _("“%(value)s” is not a two-letter country code (e.g. DE).")
                        % {"value": country[:50]})
                bad = True
            values["country"] = code.upper()[:2]
        if bad:
            bad_rows += 1
            continue
        if email:
            if email in known:
                problem(number, "email", _("A lead or contact with this e-mail already exists."), "duplicate")
                result.skipped += 1
                continue
            if email in seen:
                problem(number, "email", _("Same e-mail as row %(row)d.") % {"row": seen[email]}, "duplicate")
                result.skipped += 1
                continue
            seen[email] = number
        values["score"] = max(0, sum(points for points, matches in rules if matches(values)))
        leads.append(values)
        if progress and result.total % 1000 == 0:
            progress(result.total, len(table.rows))
    if bad_rows and not skip_bad_rows:
        result.failed = True
        result.notices.append(
            _("Nothing was imported: %(count)d rows have errors. Correct them, or choose to skip bad rows.")
            % {"count": bad_rows}
        )
        leads = []
    result.skipped += bad_rows if skip_bad_rows else 0
    if progress:
        progress(len(table.rows), len(table.rows))
    if leads and not dry_run:
        _insert(leads, actor=actor, owner=owner)
    result.created = len(leads)
    result.seconds = time.perf_counter() - started
    return result


@transaction.atomic
def _insert(rows: list[dict[str, Any]], *, actor: User, owner: User | None) -> None:
    """Insert validated rows in batches of one multi-row statement each.

    Set-based on purpose: building and preparing a model instance per row (bulk_create) cost more than
    everything else together; the constant columns are prepared once through the model's own fields.
    """
    from leads.services import default_team_for, notify_owner_on_commit

    teams: dict[int, Team | None] = {}

    def team_of(user: User) -> Team | None:
        if user.pk not in teams:
            teams[user.pk] = default_team_for(user)
        return teams[user.pk]

    assigner = None if owner else Assigner()
    counts: dict[int, tuple[User, int]] = {}
    for row in rows:
        picked = assigner.pick(source=row["source"], country=row.get("country", "")) if assigner else None
        user, team = picked if picked else (owner or actor, team_of(owner or actor))
        row["owner_id"], row["team_id"] = user.pk, team.pk if team else None
        counts[user.pk] = (user, counts.get(user.pk, (user, 0))[1] + 1)
    if assigner:
        assigner.save()
    for row, number in zip(rows, numbering.next_numbers(Lead.NUMBER_SERIES, len(rows)), strict=True):
        row["number"] = number

    connection = transaction.get_connection()
    now = timezone.now()
    fields = [f for f in Lead._meta.concrete_fields if not f.primary_key and not f.generated]
    varying = {"number", "owner_id", "team_id", "score", *(f for f in TARGET_FIELDS if f != "name")}
    constants = {}
    for f in fields:
        if f.attname not in varying:
            value = now if f.attname in ("created_at", "updated_at") else f.get_default()
            constants[f.attname] = f.get_db_prep_save(value, connection)
    columns = [f.attname for f in fields]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        connection.ops.quote_name(Lead._meta.db_table),
        ", ".join(connection.ops.quote_name(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    base = {**dict.fromkeys(TARGET_FIELDS, ""), **constants}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            params = []
            for row in rows[start : start + BATCH]:
                merged = {**base, **row}
                params.append([merged[c] for c in columns])
            cursor.executemany(sql, params)
    for user, n in counts.values():
        if user != actor:
            notify_owner_on_commit(owner=user, count=n)


def problems_csv(problems: Iterable[dict[str, Any]]) -> str:
    """The report as a CSV a spreadsheet opens (UTF-8 with BOM so Excel shows umlauts)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Column"), _("Problem"), _("Kind")])
    kinds = {"error": _("error"), "duplicate": _("duplicate, skipped"), "warning": _("warning")}
    for p in problems:
        writer.writerow([p["row"], p["column"], p["message"], kinds.get(p["kind"], p["kind"])])
    return out.getvalue()


# --- import jobs (the UI path: upload → mapping → Celery task with progress) -------------------------


def import_job_create(*, actor: User, upload: Any) -> ImportJob:
    """Store an uploaded file and detect its mapping; refuses files the import could never read."""
    if upload.size > MAX_BYTES:
        raise ImportFileError(
            _("The file is %(size).1f MB; files up to %(max).0f MB can be imported. Split it into smaller files.")
            % {"size": upload.size / 1024 / 1024, "max": MAX_BYTES / 1024 / 1024}
        )
    data = upload.read()
    table = read_table(data, upload.name, limit=5)
    job = ImportJob(
        created_by=actor, file_name=upload.name[:255], headers=table.headers,
        mapping=detect_mapping(table.headers), notices=table.notices,
    )
    job.file.save(upload.name, ContentFile(data), save=False)
    job.save()
    return job


def import_job_preview(*, job: ImportJob, rows: int = 5) -> list[list[str]]:
    with job.file.open("rb") as handle:
        return read_table(handle.read(), job.file_name, limit=rows).rows


@transaction.atomic
def import_job_start(
    *, job: ImportJob, actor: User, mapping: dict[str, str], skip_bad_rows: bool, owner: User | None = None
) -> ImportJob:
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state != ImportState.PENDING:
        # Double submit or back button: the import already runs once, never twice.
        return job
    check_mapping(mapping, job.headers)
    job.mapping, job.skip_bad_rows, job.owner = mapping, skip_bad_rows, owner
    job.state = ImportState.QUEUED
    job.save(update_fields=["mapping", "skip_bad_rows", "owner", "state"])
    from leads.tasks import run_import_job

    enqueue_on_commit(run_import_job, job.pk)
    return job


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued job; safe to call twice (a finished job is left alone, the insert is one transaction)."""
    job = ImportJob.objects.select_related("created_by", "owner").get(pk=job_id)
    if job.is_finished or job.state == ImportState.PENDING:
        return job
    ImportJob.objects.filter(pk=job.pk).update(state=ImportState.RUNNING)

    def progress(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(processed=done, total=total)

    try:
        with job.file.open("rb") as handle:
            table = read_table(handle.read(), job.file_name)
        result = import_leads(
            table=table, mapping=job.mapping, actor=job.created_by, owner=job.owner,
            skip_bad_rows=job.skip_bad_rows, progress=progress,
        )
    except DomainError as exc:
        job.state, job.message = ImportState.FAILED, str(exc)
    else:
        job.state = ImportState.FAILED if result.failed else ImportState.DONE
        job.total, job.processed = result.total, result.total
        job.created, job.skipped = result.created, result.skipped
        job.errors = result.problems[:MAX_STORED_PROBLEMS]
        job.notices = result.notices
        job.message = _("%(created)d leads created, %(skipped)d skipped.") % {
            "created": result.created, "skipped": result.skipped}
    job.finished_at = timezone.now()
    job.save()
    return job
