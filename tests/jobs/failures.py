"""Make a job fail for real: a PostgreSQL trigger refuses rows for one member a number of times
(a sequence counts the attempts, and survives the rollbacks), in this process or in a worker."""

from django.db import connection

FUNCTION = "test_refuse_member_rows"


def refuse_rows(model, *, member_id: int, times: int) -> str:
    """Make the next `times` inserts of `model` rows for `member_id` raise. Returns the message."""
    table = model._meta.db_table
    message = f"injected failure for member {int(member_id)}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SEQUENCE {FUNCTION}_attempts")
        cursor.execute(
            f"""CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.member_id = {int(member_id)} AND nextval('{FUNCTION}_attempts') <= {int(times)} THEN
                    RAISE EXCEPTION '{message}';
                END IF;
                RETURN NEW;
            END $$"""
        )
        cursor.execute(f"CREATE TRIGGER {FUNCTION} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()")
    return message


def stop_refusing(model) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {FUNCTION} ON {model._meta.db_table}")
        cursor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
        cursor.execute(f"DROP SEQUENCE IF EXISTS {FUNCTION}_attempts")
