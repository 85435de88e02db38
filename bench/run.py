"""Benchmark runner: page timings and query counts, HTTP throughput, import, sweep, PDF, export memory.

    .venv/bin/python bench/run.py                 # full run: S=0.01 and S=1 on PostgreSQL (make bench)
    .venv/bin/python bench/run.py --scales 0.01   # quicker, one scale
    .venv/bin/python bench/run.py --only pages    # just the page table

The runner is an orchestrator: every measurement that needs Django runs in a child process (`--task …`) pointed
at the database of one scale (salesflow_bench_s001, salesflow_bench_s1, salesflow_bench_sweep), so the parent
never binds to a database and the two scales never share caches. Databases are created, migrated and filled
(bench/generate.py) when missing. Results: one table on stdout and bench/results/<time>.json (gitignored).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
RESULTS = ROOT / "bench" / "results"
REPEATS = 30
HTTP_SECONDS = 10
SWEEP_INVOICES = 1_000_000
# The realistic night beside the worst case: of the same million invoices only this share fell due since the last
# sweep (the worst case, every invoice past due at once, stays the first sweep row of the table).
SWEEP_NIGHT_SHARE = 0.01
IMPORT_ROWS = 100_000

# name, URL (with {placeholders} resolved from the benchmark fixtures), roles
PAGES: list[tuple[str, str]] = [
    ("lead list", "/leads/"),
    ("lead search", "/leads/?q=schmidt"),
    ("lead filter", "/leads/?state=working&source=website&sort=-score"),
    ("kanban", "/opportunities/board/"),
    ("opportunity detail (long timeline)", "/opportunities/{long_opp}/"),
    ("quote editor (100 lines)", "/quotes/{editor_quote}/"),
    ("pipeline report", "/opportunities/report/"),
    ("forecast (this quarter)", "/opportunities/forecast/"),
    ("overdue invoices", "/invoices/?state=overdue"),
    ("dashboard", "/"),
]
ROLES = {"seller": "bench_seller_1_1", "admin": "bench_admin"}
HTTP_PAGES = ["lead list", "kanban", "dashboard"]

TARGETS = {"queries": 15, "p50_ms": 150, "p95_ms": 300, "import_rows_s": 5000, "sweep_s": 10, "pdf_per_s": 6,
           "export_growth_mb": 50}


def db_name(scale: float) -> str:
    return "salesflow_bench_s" + (f"{scale:g}".replace(".", ""))


def bench_env(db: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": f"{PG}/{db}", "DEBUG": "0", "SECRET_KEY": "bench-only-not-secret",
        "STATIC_ROOT": str(ROOT / "var" / "bench-static"), "DJANGO_SETTINGS_MODULE": "crm.settings",
        "CELERY_TASK_ALWAYS_EAGER": "1", "SECURE_SSL_REDIRECT": "0",
        # The bench users log in with force_login and have no second factor: without this the admin's pages
        # would measure the redirect to the 2FA set-up page (production enforces it for staff).
        "SALESFLOW_REQUIRE_2FA": "0",
    })
    env.update(extra)
    return env


def child(task: str, db: str, *args: str, timeout: int = 3600, **env: str) -> dict[str, Any]:
    """Run `run.py --task` in a fresh process on database `db`; it prints one JSON line last."""
    proc = subprocess.run(
        [PY, str(Path(__file__)), "--task", task, *args], env=bench_env(db, **env), cwd=ROOT,
        capture_output=True, text=True, timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"task {task} on {db} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def psql(db: str, sql: str) -> str:
    host = PG.split("@")[-1].split(":")[0]
    return subprocess.run(["psql", "-h", host, "-U", "postgres", "-d", db, "-tAc", sql], check=True,
                          capture_output=True, text=True).stdout.strip()


def ensure_db(db: str, *, template: str | None = None) -> bool:
    """Create the database if missing. Returns True when it was created."""
    exists = psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{db}'") == "1"
    if exists:
        return False
    host = PG.split("@")[-1].split(":")[0]
    cmd = ["createdb", "-h", host, "-U", "postgres", db] + (["-T", template] if template else [])
    subprocess.run(cmd, check=True)
    return True


def prepare_scale(scale: float, regenerate: bool) -> str:
    db = db_name(scale)
    if regenerate and psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{db}'") == "1":
        subprocess.run(["dropdb", "-h", PG.split("@")[-1].split(":")[0], "-U", "postgres", db], check=True)
    ensure_db(db)
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], env=bench_env(db), cwd=ROOT, check=True)
    state = child("status", db, "--scale", str(scale))
    if not state["generated"]:
        print(f"generating scale {scale} into {db} …", flush=True)
        subprocess.run([PY, "bench/generate.py", "--scale", str(scale)], env=bench_env(db), cwd=ROOT, check=True)
    return db


# ====================================================================== measurements inside Django (children)
def fixture_ids() -> dict[str, int]:
    from bench.generate import EDITOR_QUOTE_TITLE, LONG_HISTORY_NAME, PDF_INVOICE_REFERENCE  # noqa: PLC0415
    from invoices.models import Invoice  # noqa: PLC0415
    from opportunities.models import Opportunity  # noqa: PLC0415
    from quotes.models import Quote  # noqa: PLC0415

    return {
        "long_opp": Opportunity.objects.filter(name=f"{LONG_HISTORY_NAME} 1").values_list("pk", flat=True).first(),
        "editor_quote": Quote.objects.filter(title=EDITOR_QUOTE_TITLE).values_list("pk", flat=True).first(),
        "pdf_invoice": Invoice.objects.filter(customer_reference=PDF_INVOICE_REFERENCE)
        .values_list("pk", flat=True).first(),
    }


def measure_pages(*, repeats: int = REPEATS, pages: list[tuple[str, str]] | None = None,
                  roles: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Query count (one warm request) and median/p95 of `repeats` warm requests per page and role."""
    from django.db import connection  # noqa: PLC0415
    from django.test import Client  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415

    from crm.models import User  # noqa: PLC0415

    ids = fixture_ids()
    results: dict[str, dict[str, Any]] = {}
    for role, username in (roles or ROLES).items():
        client = Client()
        client.force_login(User.objects.get(username=username))
        for name, template in pages or PAGES:
            url = template.format(**ids)
            key = f"{name} [{role}]"
            response = client.get(url)  # warm-up: template loading, caches, connection
            if response.status_code == 404 and "{" not in template:
                results[key] = {"status": 404, "na": True}
                continue
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url)
            # Read now: the next request's request_started signal clears the connection's query log.
            queries = list(ctx.captured_queries)
            timings = []
            for _ in range(repeats):
                started = time.perf_counter()
                client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            results[key] = {
                "url": url, "status": response.status_code, "queries": len(queries),
                "p50_ms": round(statistics.median(timings), 1),
                "p95_ms": round(timings[min(len(timings) - 1, int(round(0.95 * len(timings))) - 1)], 1),
                "bytes": len(response.content),
                "slowest_sql": max(queries, key=lambda q: float(q["time"]))["sql"] if queries else "",
                "slowest_ms": round(max(float(q["time"]) for q in queries) * 1000, 1) if queries else 0,
            }
    return results


def task_status(scale: float) -> dict[str, Any]:
    from bench.generate import PDF_INVOICE_REFERENCE, counts_for  # noqa: PLC0415
    from invoices.models import Invoice  # noqa: PLC0415
    from leads.models import Lead  # noqa: PLC0415

    # The PDF invoice is written by the generator's last step: its presence means a complete run.
    complete = Invoice.objects.filter(customer_reference=PDF_INVOICE_REFERENCE).exists()
    return {"generated": complete and Lead.objects.count() >= counts_for(scale)["leads"]}


def task_session(username: str) -> dict[str, Any]:
    from django.conf import settings  # noqa: PLC0415
    from django.test import Client  # noqa: PLC0415

    from crm.models import User  # noqa: PLC0415

    client = Client()
    client.force_login(User.objects.get(username=username))
    return {"cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}",
            "ids": fixture_ids()}


def task_export() -> dict[str, Any]:
    """Peak Python memory while streaming the CSV export of all leads (as the admin, who sees all)."""
    from django.test import Client  # noqa: PLC0415

    from crm.models import User  # noqa: PLC0415
    from leads.models import Lead  # noqa: PLC0415

    client = Client()
    client.force_login(User.objects.get(username=ROLES["admin"]))
    probe = client.get("/leads/export/")
    if probe.status_code == 404:
        return {"na": True}
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/leads/export/")
    size = 0
    if response.streaming:
        for chunk in response.streaming_content:
            size += len(chunk)
    else:
        size = len(response.content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"status": response.status_code, "streaming": response.streaming, "bytes": size,
            "seconds": round(time.perf_counter() - started, 2), "peak_mb": round(peak / 2**20, 1),
            "leads": Lead.objects.count()}


def task_pdf(seconds: float) -> dict[str, Any]:
    """Invoice PDF renders per second in this one process (render + store, as the worker does), and memory."""
    from django.test.utils import override_settings  # noqa: PLC0415

    from invoices.services import invoice_render_pdf  # noqa: PLC0415

    invoice_id = fixture_ids()["pdf_invoice"]
    media = tempfile.mkdtemp(prefix="salesflow-bench-media-")
    try:
        with override_settings(MEDIA_ROOT=media):
            invoice_render_pdf(invoice_id=invoice_id, force=True)  # warm: imports WeasyPrint, loads fonts
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            renders, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds or renders < 3:
                invoice_render_pdf(invoice_id=invoice_id, force=True)
                renders += 1
            elapsed = time.perf_counter() - started
            tracemalloc.start()
            invoice_render_pdf(invoice_id=invoice_id, force=True)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            pages = _pdf_pages(media)
    finally:
        shutil.rmtree(media, ignore_errors=True)
    return {"renders": renders, "per_second": round(renders / elapsed, 2), "ms_each": round(elapsed / renders * 1000),
            "python_peak_mb": round(peak / 2**20, 1), "max_rss_mb": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "rss_before_mb": round(rss_before / 1024, 1), "pdf_pages": pages}


def _pdf_pages(media: str) -> int | None:
    try:
        from pypdf import PdfReader  # noqa: PLC0415
    except ImportError:
        return None
    files = list(Path(media).rglob("*.pdf"))
    return len(PdfReader(str(files[0])).pages) if files else None


def task_sweep() -> dict[str, Any]:
    """Time invoices_sweep_overdue() over the sweep table (state, log rows and dunning notices, committed),
    then put the table back for the next run."""
    from django.db import connection, transaction  # noqa: PLC0415
    from django.utils import timezone  # noqa: PLC0415
    from django_fsm_log.models import StateLog  # noqa: PLC0415

    from invoices.models import DunningNotice, Invoice  # noqa: PLC0415
    from invoices.services import invoices_sweep_overdue  # noqa: PLC0415

    total = Invoice.objects.count()
    candidates = Invoice.objects.overdue_candidates(timezone.localdate())
    n_candidates = candidates.count()
    notices_before = DunningNotice.objects.count()
    since = timezone.now()
    started = time.perf_counter()
    with transaction.atomic():
        swept = invoices_sweep_overdue()
        # E-mailing the reminders is the worker's job after commit (a million eager sends would measure the
        # mail backend, not the sweep): drop the queued hook, keep the commit inside the timing.
        connection.run_on_commit = []
    elapsed = time.perf_counter() - started
    n_notices = DunningNotice.objects.count() - notices_before
    # Reset: the swept rows back to their source state, their log rows and notices gone, so the next run measures
    # the same work. Plain SQL keyed on this run's time (the sweep stamps every row it moves with one `now`): the
    # ORM's delete() and an IN (log rows) subquery took longer than the sweep itself.
    log, invoices, notices = (connection.ops.quote_name(m._meta.db_table) for m in (StateLog, Invoice, DunningNotice))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {invoices} AS i SET state = l.source_state FROM {log} AS l WHERE l.transition = 'mark_overdue' "
            f"AND l.timestamp >= %s AND l.object_id = i.id AND i.state = 'overdue'", [since])
        cursor.execute(f"DELETE FROM {log} WHERE transition = 'mark_overdue' AND timestamp >= %s", [since])
        cursor.execute(f"DELETE FROM {notices} WHERE created_at >= %s", [since])
    with connection.cursor() as cursor:
        for table in (invoices, log, notices):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {"invoices": total, "candidates": n_candidates, "swept": swept, "notices": n_notices,
            "seconds": round(elapsed, 2)}


def task_explain(sql_file: str) -> dict[str, Any]:
    from django.db import connection  # noqa: PLC0415

    sql = Path(sql_file).read_text()
    with connection.cursor() as cursor:
        for _ in range(3):  # the last of three: warm, as the query was inside the page's timed requests
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
    return {"plan": plan}


def run_task(args: argparse.Namespace) -> None:
    import django  # noqa: PLC0415

    sys.path.insert(0, str(ROOT))
    django.setup()
    if args.task == "status":
        out = task_status(args.scale)
    elif args.task == "pages":
        out = measure_pages(repeats=args.repeats)
    elif args.task == "session":
        out = task_session(args.user)
    elif args.task == "export":
        out = task_export()
    elif args.task == "pdf":
        out = task_pdf(args.seconds)
    elif args.task == "sweep":
        out = task_sweep()
    elif args.task == "explain":
        out = task_explain(args.sql)
    else:
        raise SystemExit(f"unknown task {args.task}")
    print(json.dumps(out, default=str))


# ====================================================================== orchestration (parent)
def explain_slowest(pages: dict[str, dict[str, Any]], db: str) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest single query met on any page at this scale, run again on its
    own in a fresh process: the plan to read first when a page gets slower."""
    timed = {key: page for key, page in pages.items() if page.get("slowest_sql")}
    if not timed:
        return {}
    key = max(timed, key=lambda k: timed[k]["slowest_ms"])
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(timed[key]["slowest_sql"])
    try:
        plan = child("explain", db, "--sql", handle.name)["plan"]
    except RuntimeError as exc:  # the figures of the run stay worth printing
        plan = f"EXPLAIN failed: {exc}"
    finally:
        os.unlink(handle.name)
    return {"page": key, "ms": timed[key]["slowest_ms"], "sql": timed[key]["slowest_sql"], "plan": plan}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(db: str):
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(PY).parent / "gunicorn"), "crm.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning"],
        env=bench_env(db), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {proc.stderr.read()[-2000:]}")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load(url: str, cookie: str, seconds: int) -> dict[str, Any]:
    """Requests/s against `url` from a second process: wrk when installed, else bench/loadgen.py."""
    if shutil.which("wrk"):
        out = subprocess.run(
            ["wrk", "-t", "2", "-c", "8", "-d", f"{seconds}s", "--latency", "-H", f"Cookie: {cookie}", url],
            capture_output=True, text=True, check=True,
        ).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        p50 = re.search(r"50%\s+([\d.]+)(\w+)", out)
        return {"tool": "wrk -t2 -c8", "rps": rps, "errors": int(bad.group(1)) if bad else 0,
                "p50": f"{p50.group(1)}{p50.group(2)}" if p50 else ""}
    out = subprocess.run([PY, str(ROOT / "bench" / "loadgen.py"), url, cookie, str(seconds)],
                         capture_output=True, text=True, check=True).stdout
    return {"tool": "loadgen.py (8 threads)", **json.loads(out)}


def measure_http(db: str, seconds: int) -> dict[str, Any]:
    session = child("session", db, "--user", ROLES["seller"])
    urls = {name: url.format(**session["ids"]) for name, url in PAGES if name in HTTP_PAGES}
    results = {}
    with gunicorn(db) as port:
        for name, path in urls.items():
            load(f"http://127.0.0.1:{port}{path}", session["cookie"], 2)  # warm both workers
            results[name] = load(f"http://127.0.0.1:{port}{path}", session["cookie"], seconds)
    return results


def measure_import(rows: int) -> dict[str, Any]:
    script = ROOT / "bench" / "import_leads.py"
    if not script.exists():
        return {"na": True, "why": "bench/import_leads.py does not exist"}
    started = time.perf_counter()
    proc = subprocess.run([PY, str(script), str(rows)], cwd=ROOT, capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        return {"na": True, "why": f"import_leads.py failed: {proc.stderr[-500:]}"}
    found = re.search(r"([\d,.]+)\s*rows/s", proc.stdout)
    rate = float(found.group(1).replace(",", "")) if found else rows / elapsed
    return {"rows": rows, "rows_per_s": round(rate), "output": proc.stdout.strip().splitlines()[-3:],
            "database": "PostgreSQL" if "postgres" in proc.stdout.lower() else "as chosen by import_leads.py"}


def sweep_db_name(overdue_share: float) -> str:
    # Worst case (all past due): salesflow_bench_sweep as before; a night with 1 % due: salesflow_bench_sweep_001.
    if overdue_share >= 1:
        return "salesflow_bench_sweep"
    return "salesflow_bench_sweep_" + f"{overdue_share:g}".replace(".", "")


def prepare_sweep(count: int, base_db: str, *, overdue_share: float = 1.0) -> str:
    db = sweep_db_name(overdue_share)
    if ensure_db(db, template=base_db):
        print(f"adding {count:,} invoices ({overdue_share:.0%} past due) to {db} …", flush=True)
        subprocess.run([PY, "bench/generate.py", "--invoices-only", str(count), "--overdue-share", str(overdue_share)],
                       env=bench_env(db), cwd=ROOT, check=True)
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], env=bench_env(db), cwd=ROOT, check=True)
    return db


def git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return (out.stdout.strip() or os.environ.get("BENCH_COMMIT", "unknown")) + (" (dirty tree)" if dirty else "")


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def render_table(report: dict[str, Any]) -> str:
    scales = report["scales"]
    lines = [f"Salesflow benchmark · commit {report['commit']} · {report['started']} · PostgreSQL "
             f"{report.get('postgres', '')} · {os.cpu_count()} cores"
             + (f" · load average at start {report['loadavg_start'][0]:.1f}" if report.get("loadavg_start") else ""),
             ""]
    head = "| page [role] | " + " | ".join(f"S={s} queries | S={s} p50 ms | S={s} p95 ms" for s in scales)
    lines += [head + " | target | result |", "|" + "---|" * (2 + 3 * len(scales))]
    big = scales[-1]
    for name, _ in PAGES:
        for role in ROLES:
            key = f"{name} [{role}]"
            cells, checks = [], []
            for s in scales:
                r = report["pages"].get(str(s), {}).get(key)
                if not r or r.get("na"):
                    cells += ["n/a"] * 3
                    continue
                cells += [str(r["queries"]), f"{r['p50_ms']}", f"{r['p95_ms']}"]
            rs = [report["pages"].get(str(s), {}).get(key) or {} for s in scales]
            if any(r.get("na") or not r for r in rs):
                ok = None
            else:
                same = len({r["queries"] for r in rs}) == 1
                last = report["pages"][str(big)][key]
                checks = [same, last["queries"] <= TARGETS["queries"], last["p50_ms"] <= TARGETS["p50_ms"],
                          last["p95_ms"] <= TARGETS["p95_ms"], last["status"] == 200]
                ok = all(checks)
            lines.append(f"| {key} | " + " | ".join(cells) + " | ≤15 q, same q, p50≤150, p95≤300 | "
                         + verdict(ok) + " |")
    lines.append("")
    lines += ["| measurement | figure | target | result |", "|---|---|---|---|"]
    for name, r in report.get("http", {}).items():
        lines.append(f"| HTTP {name} (gunicorn 2 workers, {r['tool']}, {HTTP_SECONDS} s, S={big}) | "
                     f"{r['rps']:.0f} req/s, p50 {r.get('p50', '')}, {r['errors']} errors | – | info |")
    imp = report.get("import")
    if imp:
        if imp.get("na"):
            lines.append(f"| CSV import {IMPORT_ROWS:,} leads | n/a ({imp['why']}) | ≥5,000 rows/s | n/a |")
        else:
            lines.append(f"| CSV import {imp['rows']:,} leads (validate + dedupe) | {imp['rows_per_s']:,} rows/s | "
                         f"≥5,000 rows/s | {verdict(imp['rows_per_s'] >= TARGETS['import_rows_s'])} |")
    for key, label in (("sweep", "worst case, every invoice past due"), ("sweep_night", "one night")):
        sw = report.get(key)
        if sw:
            lines.append(f"| overdue sweep, {label}: {sw['invoices']:,} invoices, {sw['candidates']:,} past due → "
                         f"{sw['swept']:,} marked, {sw.get('notices', 0):,} reminders | {sw['seconds']} s | ≤10 s | "
                         f"{verdict(sw['seconds'] <= TARGETS['sweep_s'])} |")
    pdf = report.get("pdf")
    if pdf:
        lines.append(f"| invoice PDF, 20 lines, {pdf.get('pdf_pages')} page(s), one process | {pdf['per_second']} "
                     f"renders/s ({pdf['ms_each']} ms each), peak RSS {pdf['max_rss_mb']} MB, Python peak "
                     f"{pdf['python_peak_mb']} MB per render | ≥6 renders/s | "
                     f"{verdict(pdf['per_second'] >= TARGETS['pdf_per_s'])} |")
    exp = report.get("export", {})
    if exp:
        if any(e.get("na") for e in exp.values()):
            lines.append("| CSV export of all leads, memory | n/a (no /leads/export/ yet) | growth < 50 MB | n/a |")
        else:
            peaks = {s: e["peak_mb"] for s, e in exp.items()}
            growth = peaks[str(big)] - peaks[str(scales[0])]
            detail = ", ".join(f"S={s}: {e['leads']:,} leads {e['bytes'] / 2**20:.1f} MB CSV, peak {e['peak_mb']} MB"
                               f"{' streamed' if e['streaming'] else ' NOT streamed'}" for s, e in exp.items())
            lines.append(f"| CSV export of all leads, Python memory | {detail}; growth {growth:.1f} MB | < 50 MB | "
                         f"{verdict(growth < TARGETS['export_growth_mb'])} |")
    slowest = report.get("slowest")
    if slowest:
        lines += ["", f"Slowest query at S={big}: {slowest['page']}, {slowest['ms']} ms in the request. "
                  "EXPLAIN (ANALYZE, BUFFERS), run again on its own:", "", "```", slowest["sql"], "", slowest["plan"],
                  "```"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--user", help=argparse.SUPPRESS)
    parser.add_argument("--sql", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--scales", default="0.01,1", help="comma-separated scale factors (default 0.01,1)")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed requests per page and role")
    parser.add_argument("--only", default="pages,export,http,import,sweep,pdf",
                        help="comma-separated subset of: pages,export,http,import,sweep,pdf")
    parser.add_argument("--sweep-invoices", type=int, default=SWEEP_INVOICES)
    parser.add_argument("--sweep-night-share", type=float, default=SWEEP_NIGHT_SHARE,
                        help="share of the sweep invoices past due in the 'one night' sweep (0 = skip it); the "
                             "worst case (all past due) always runs")
    parser.add_argument("--regenerate", action="store_true", help="drop and regenerate the benchmark databases")
    parser.add_argument("--render", metavar="JSON", help="only print the table of a results file")
    args = parser.parse_args(argv)
    if args.task:
        run_task(args)
        return
    if args.render:
        print(render_table(json.loads(Path(args.render).read_text())))
        return
    only = set(args.only.split(","))
    scales = [float(s) for s in args.scales.split(",")]
    report: dict[str, Any] = {"commit": git_commit(), "started": time.strftime("%Y-%m-%d %H:%M"), "scales": scales,
                              "pages": {}, "export": {}, "loadavg_start": os.getloadavg()}
    dbs = {s: prepare_scale(s, args.regenerate) for s in scales}
    report["postgres"] = psql(dbs[scales[0]], "SHOW server_version")
    subprocess.run([PY, "manage.py", "collectstatic", "--noinput", "-v", "0"], env=bench_env(dbs[scales[0]]),
                   cwd=ROOT, check=True)
    for s in scales:
        if "pages" in only:
            print(f"pages at S={s} …", flush=True)
            report["pages"][str(s)] = child("pages", dbs[s], "--repeats", str(args.repeats))
        if "export" in only:
            report["export"][str(s)] = child("export", dbs[s])
    big = dbs[scales[-1]]
    if "pages" in only:
        report["slowest"] = explain_slowest(report["pages"][str(scales[-1])], big)
    if "http" in only:
        print("HTTP throughput …", flush=True)
        report["http"] = measure_http(big, HTTP_SECONDS)
    if "pdf" in only:
        print("PDF renders …", flush=True)
        report["pdf"] = child("pdf", big, "--seconds", str(args.seconds))
    if "import" in only:
        print("CSV import …", flush=True)
        report["import"] = measure_import(IMPORT_ROWS)
    if "sweep" in only:
        print("overdue sweep, worst case …", flush=True)
        report["sweep"] = child("sweep", prepare_sweep(args.sweep_invoices, dbs[scales[0]]))
        if 0 < args.sweep_night_share < 1:
            print("overdue sweep, one night …", flush=True)
            report["sweep_night"] = child("sweep", prepare_sweep(args.sweep_invoices, dbs[scales[0]],
                                                                 overdue_share=args.sweep_night_share))
    report["loadavg_end"] = os.getloadavg()
    table = render_table(report)
    print()
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(report, indent=2, default=str))
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2, default=str))
    (RESULTS / "latest.md").write_text(table + "\n")
    print(f"\nwritten: bench/results/{stamp}.json, bench/results/latest.md")


if __name__ == "__main__":
    main()
