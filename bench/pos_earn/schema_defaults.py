"""Print, as JSON, what to write into each column of some tables when a benchmark does not care.

Run from the project directory with the app's environment: `python bench/pos_earn/schema_defaults.py
members_member members_purchase ...`. For every concrete column: its SQL default taken from the Django
model (a literal, `now()` for auto timestamps, NULL for nullable columns, '' for blank text), whether
it is unique, and `null` as the default when there is none, so the caller can fill the column itself
or stop with a clear message. This keeps bench/pos_earn/sql.py's bulk load and pgbench script in step
with the models as they change.
"""

import json
import os
import sys

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")

import django

django.setup()

from django.apps import apps  # noqa: E402
from django.db import connection  # noqa: E402


def column_defaults(model) -> list[dict]:
    columns = []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            sql = "now()"
        elif field.has_default():
            value = field.get_db_prep_save(field.get_default(), connection)
            sql = connection.ops.compose_sql("%s", [value])
        elif field.null:
            sql = "NULL"
        elif field.empty_strings_allowed and field.blank:
            sql = "''"
        else:
            sql = None
        columns.append({"column": field.column, "default": sql, "unique": bool(field.unique)})
    return columns


def main(tables: list[str]) -> None:
    by_table = {model._meta.db_table: model for model in apps.get_models()}
    missing = [t for t in tables if t not in by_table]
    if missing:
        sys.exit(f"no model for table(s) {', '.join(missing)}")
    print(json.dumps({table: column_defaults(by_table[table]) for table in tables}))


if __name__ == "__main__":
    main(sys.argv[1:])
