"""The single earning-policy row, and a PostgreSQL guard that makes the ledger append-only.

The guard is in the database so that no code path, admin or shell session can edit or delete
history.
"""

from django.db import migrations

APPEND_ONLY_TABLES = ("rewards_ledgerentry", "rewards_lotconsumption")

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION loyalty_refuse_history_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def create_policy(apps, schema_editor):
    apps.get_model("rewards", "EarningPolicy").objects.get_or_create(pk=1)


def add_guard(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        # A plain cursor: the function body's '%' placeholders must not be read as parameters.
        cursor.execute(CREATE_FUNCTION)
        for table in APPEND_ONLY_TABLES:
            cursor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION loyalty_refuse_history_change()"
            )


def drop_guard(apps, schema_editor):
    for table in APPEND_ONLY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS loyalty_refuse_history_change()")


class Migration(migrations.Migration):
    dependencies = [("rewards", "0001_initial")]

    operations = [
        migrations.RunPython(create_policy, migrations.RunPython.noop),
        migrations.RunPython(add_guard, drop_guard),
    ]
