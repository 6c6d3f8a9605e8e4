"""Statements for the POS hot path, built by hand from model metadata.

The ORM's `create()` and `bulk_create()` spend more Python per row than the database spends
storing it. These helpers build the INSERT from the model's own metadata (table, columns, field
defaults and database conversions), so they stay in step with the models, and can skip a row
that conflicts with a unique constraint instead of raising (no savepoint needed).

Writes whose result nobody reads (`insert_rows(..., returning_ids=False)`, `update_instance`,
`execute_write`) can be held back inside `batched_writes()` and sent in the same round trip as
the next statement: a POS purchase then costs six round trips instead of eleven.
"""

from collections.abc import Sequence
from contextlib import contextmanager
from functools import cache

from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connections
from django.db.models import Model
from django.utils import timezone


def _db():
    # The connection itself rather than the `django.db.connection` proxy, whose every attribute
    # access is a context-local lookup: these helpers and the fields they call touch it often.
    return connections[DEFAULT_DB_ALIAS]


@cache
def _columns(model: type[Model]) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


@cache
def _insert_sql(model: type[Model], vendor: str, skip_conflicts_on: tuple[str, ...], returning_ids: bool):
    """The INSERT's text up to VALUES, and what follows the rows. Every name comes from model
    metadata; values always travel as parameters."""
    quote = _db().ops.quote_name
    columns = ", ".join(quote(f.column) for f in _columns(model))
    head = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "  # noqa: S608
    tail = ""
    if skip_conflicts_on:
        conflict = ", ".join(quote(model._meta.get_field(name).column) for name in skip_conflicts_on)
        tail += f" ON CONFLICT ({conflict}) DO NOTHING"
    if returning_ids:
        tail += f" RETURNING {quote(model._meta.pk.column)}"
    row = "(" + ", ".join(["%s"] * len(_columns(model))) + ")"
    return head, row, tail


def insert_rows(
    model: type[Model], rows: Sequence[dict], *, skip_conflicts_on: Sequence[str] = (), returning_ids: bool = True
) -> list[int]:
    """INSERT `rows` (dicts of field name to value; missing fields take their defaults) and return
    the new ids. With `skip_conflicts_on`, a row that conflicts on those columns is not inserted
    and has no id in the result. Without `returning_ids` the statement may be batched."""
    if not rows:
        return []
    db = _db()
    fields = _columns(model)
    head, row_sql, tail = _insert_sql(model, db.vendor, tuple(skip_conflicts_on), returning_ids)
    params = []
    for row in rows:
        params += [field.get_db_prep_save(_value(field, row), db) for field in fields]
    sql = head + ", ".join([row_sql] * len(rows)) + tail
    if not returning_ids:
        execute_write(sql, params)
        return []
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _value(field, row: dict):
    if field.attname in row:
        return row[field.attname]
    if field.name in row:
        value = row[field.name]
        return value.pk if isinstance(value, Model) else value
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()
    return field.get_default()


def insert_instance(obj: Model, *, skip_conflicts_on: Sequence[str] = (), returning_id: bool = True) -> bool:
    """Save a new, unsaved instance with one INSERT and set its id. Returns False (and leaves it
    unsaved) when `skip_conflicts_on` finds the row already there. Without `returning_id` (a
    history row nobody reads back) the instance gets no id and the INSERT may be batched."""
    model = type(obj)
    row = {field.attname: getattr(obj, field.attname) for field in _columns(model)}
    ids = insert_rows(model, [row], skip_conflicts_on=skip_conflicts_on, returning_ids=returning_id)
    if not returning_id:
        return True
    if not ids:
        return False
    obj.pk = ids[0]
    obj._state.adding = False
    return True


def update_instance(obj: Model, field_names: Sequence[str]) -> None:
    """Write the given fields of a saved instance with one plain UPDATE (absolute values: the
    caller holds the row locked). May be batched."""
    db = _db()
    model = type(obj)
    fields = [model._meta.get_field(name) for name in field_names]
    quote = db.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    params = [field.get_db_prep_save(getattr(obj, field.attname), db) for field in fields]
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"  # noqa: S608
    execute_write(sql, [*params, obj.pk])


@cache
def _select_sql(model: type[Model], vendor: str, where: tuple[str, ...], for_update: bool) -> str:
    db = _db()
    quote = db.ops.quote_name
    conditions = " AND ".join(f"{quote(model._meta.get_field(name).column)} = %s" for name in where)
    columns = ", ".join(quote(f.column) for f in model._meta.concrete_fields)
    lock = ""
    if for_update:
        # NO KEY: rows referencing this one can still be inserted (see rewards.ledger.lock_member).
        lock = " FOR NO KEY UPDATE"
    return f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {conditions} LIMIT 1{lock}"  # noqa: S608


@cache
def _converters(model: type[Model], vendor: str) -> list[tuple[int, object, list]]:
    """(position, field, converters) for the columns whose database value needs converting."""
    db = _db()
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        converters = field.get_db_converters(db) + db.ops.get_db_converters(field)
        if converters:
            found.append((index, field, converters))
    return found


def select_one(model: type[Model], *, for_update: bool = False, **where) -> Model | None:
    """One row as a model instance, by equality on the given fields, with a plain SELECT (and
    FOR UPDATE if asked). Returns None if no row matches."""
    db = _db()
    sql = _select_sql(model, db.vendor, tuple(where), for_update)
    params = [model._meta.get_field(name).get_db_prep_value(value, db) for name, value in where.items()]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, field, converters in _converters(model, db.vendor):
        for converter in converters:
            values[index] = converter(values[index], field, db)
    return model.from_db(db.alias, [f.attname for f in model._meta.concrete_fields], values)


# --- batched writes --------------------------------------------------------------------------


class HeldWriteFailed(DatabaseError):
    """A held write broke a constraint when sent on its own (ahead of a savepoint, a server-side
    cursor or an executemany). Not an IntegrityError on purpose: code that catches IntegrityError
    around a savepoint to detect its own conflict must not take this for one."""


def execute_write(sql: str, params: Sequence) -> None:
    """Run a statement whose result nobody reads. Inside `batched_writes()` (PostgreSQL) it is
    held and sent ahead of the next statement on the connection, or when the block ends."""
    db = _db()
    pending = getattr(db, "pending_writes", None)
    if pending is None:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
        return
    with db.cursor() as cursor:
        pending.append(cursor.mogrify(sql, params).decode())


@contextmanager
def batched_writes():
    """Hold back result-less writes and send them together with the next statement, in one round
    trip. What it still holds is sent when the block ends, also when it raises, so the writes land
    exactly as if run at once; only a transaction that has already failed (and can only be rolled
    back) gets nothing more. A held write that fails (a constraint) raises at the statement that
    carried it. Outside a transaction or inside another such block, nothing changes: writes run at
    once, or stay with the outer block."""
    db = _db()
    if not db.in_atomic_block or getattr(db, "pending_writes", None) is not None:
        yield
        return
    db.pending_writes = []
    try:
        with db.execute_wrapper(_send_pending_first):
            try:
                yield
            finally:
                _flush(db)
    finally:
        db.pending_writes = None


def _flush(db) -> None:
    if db.pending_writes and not _transaction_failed(db):
        with db.cursor() as cursor:
            cursor.execute(_take_pending(db))


def _transaction_failed(db) -> bool:
    from psycopg2.extensions import TRANSACTION_STATUS_INERROR

    if db.needs_rollback or db.connection is None or db.connection.closed:
        return True
    return db.connection.get_transaction_status() == TRANSACTION_STATUS_INERROR


def _take_pending(db) -> str:
    batch = ";\n".join(db.pending_writes)
    db.pending_writes.clear()
    return batch


def _send_pending_first(execute, sql, params, many, context):
    db = context["connection"]
    if not db.pending_writes:
        return execute(sql, params, many, context)
    cursor = context["cursor"]
    if many or getattr(cursor, "name", None) or not isinstance(sql, str) or sql.startswith("SAVEPOINT"):
        # executemany and server-side cursors take one statement, SQL that is not plain text can't
        # be joined to ours, and a savepoint usually opens a block whose IntegrityError someone
        # watches: send the held writes on their own first.
        try:
            _flush(db)
        except IntegrityError as exc:
            raise HeldWriteFailed(str(exc)) from exc
        return execute(sql, params, many, context)
    statement = cursor.mogrify(sql, params).decode() if params is not None else sql
    # Several statements in one simple query: the cursor reports the last one's result.
    return execute(_take_pending(db) + ";\n" + statement, None, False, context)


def update_many(objs: Sequence[Model], field_names: Sequence[str]) -> None:
    """Write the given fields of many saved instances (absolute values: the caller holds the rows
    locked). One UPDATE joined to the values as arrays: the ORM's bulk_update builds a CASE per
    field whose cost grows with the square of the rows."""
    if not objs:
        return
    connection = _db()
    model = type(objs[0])
    fields = [model._meta.pk] + [model._meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    names = ", ".join(f"v{index}" for index in range(len(fields)))
    assignments = ", ".join(f"{quote(field.column)} = v.v{index}" for index, field in enumerate(fields) if index)
    table = quote(model._meta.db_table)
    params = [[field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objs] for field in fields]
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({names}) "  # noqa: S608
        f"WHERE {table}.{quote(model._meta.pk.column)} = v.v0"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
