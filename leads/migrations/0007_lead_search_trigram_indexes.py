"""Trigram indexes for the lead list's search, on PostgreSQL only.

The search is `icontains` on five columns, which Django sends to PostgreSQL as
`UPPER(col::text) LIKE UPPER('%word%')`: a b-tree cannot serve a leading wildcard, a GIN trigram index on
that same expression can. SQLite (the embedded default) has no pg_trgm and keeps scanning, which is fine at
its sizes; so the operations run only on PostgreSQL. Creating the extension needs a role allowed to do so
(the database owner on PostgreSQL 13+, pg_trgm being a trusted extension).
"""

from django.db import migrations

SEARCHED_COLUMNS = ("first_name", "last_name", "email", "company", "number")


def _index(column: str) -> str:
    return f"leads_lead_{column}_trgm"


def create_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in SEARCHED_COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {_index(column)} ON leads_lead USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED_COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {_index(column)}")
    # The extension stays: other schemas may use it, and dropping it is not needed to undo the indexes.


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0006_archive"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
