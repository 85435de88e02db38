"""Benchmark: generate N leads as CSV and time the import service (parse, validate, dedupe, bulk insert).

    .venv/bin/python bench/import_leads.py [ROWS]    # default 100000; uses a throw-away SQLite database
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def generate_csv(rows: int) -> bytes:
    rng = random.Random(7)
    first = ["Anna", "Jörg", "Lena", "Mehmet", "Sophie", "Paul", "Émile", "Zoë", "Karl", "Mia"]
    last = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann"]
    titles = ["Head of Sales", "Einkauf", "CEO", "Buyer", "IT-Leiter", ""]
    lines = ["Vorname;Name;E-Mail;Firma;Telefon;Position;Quelle;Land"]
    for i in range(rows):
        lines.append(
            f"{rng.choice(first)};{rng.choice(last)};lead{i}@firma{i % 5000}.example;Firma {i % 5000} GmbH;"
            f"+49 30 {i:07d};{rng.choice(titles)};Messe;DE"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    workdir = tempfile.mkdtemp(prefix="salesflow-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from crm.models import User
    from leads.imports import detect_mapping, import_leads, read_table
    from leads.models import Lead

    actor = User.objects.create_user("bench", "bench@example.com", "x")
    data = generate_csv(rows)
    started, cpu_started = time.perf_counter(), time.process_time()
    table = read_table(data, "bench.csv", max_bytes=None)
    parsed = time.perf_counter()
    result = import_leads(table=table, mapping=detect_mapping(table.headers), actor=actor)
    done, cpu = time.perf_counter(), time.process_time() - cpu_started
    assert not result.failed, result.notices
    assert Lead.objects.count() == rows
    print(f"file: {len(data) / 1024 / 1024:.1f} MB, {rows} rows")
    print(f"parse: {parsed - started:.2f} s, validate + insert: {done - parsed:.2f} s")
    print(f"created {result.created} leads in {done - started:.2f} s → {rows / (done - started):,.0f} rows/s")
    # On a shared machine wall time depends on the neighbours; CPU time shows what the import costs.
    print(f"CPU time {cpu:.2f} s → {rows / cpu:,.0f} rows/s per core; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
