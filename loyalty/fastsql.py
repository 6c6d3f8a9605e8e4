"""Inserting rows on the POS hot path with one plain statement each.

The ORM's `create()` and `bulk_create()` spend more Python per row than the database spends
storing it. These helpers build the INSERT from the model's own metadata (table, columns, field
defaults and database conversions), so they stay in step with the models, and can skip a row
that conflicts with a unique constraint instead of raising (no savepoint needed).
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


def _columns(model: type[Model]):
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def insert_rows(
    model: type[Model], rows: Sequence[dict], *, skip_conflicts_on: Sequence[str] = (), returning_ids: bool = True
) -> list[int]:
    """INSERT `rows` (dicts of field name to value; missing fields take their defaults) and return
    the new ids. With `skip_conflicts_on`, a row that conflicts on those columns is not inserted
    and has no id in the result."""
    if not rows:
        return []
    fields = _columns(model)
    params, values_sql = [], []
    for row in rows:
        params += [field.get_db_prep_save(_value(field, row), connection) for field in fields]
        values_sql.append("(" + ", ".join(["%s"] * len(fields)) + ")")
    quote = connection.ops.quote_name
    table, columns = quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
    sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join(values_sql)}"  # noqa: S608
    if skip_conflicts_on:
        columns = ", ".join(quote(model._meta.get_field(name).column) for name in skip_conflicts_on)
        sql += f" ON CONFLICT ({columns}) DO NOTHING"
    if returning_ids:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    # Every name in `sql` comes from model metadata; values travel as parameters.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()] if returning_ids else []


def _value(field, row: dict):
    if field.attname in row:
        return row[field.attname]
    if field.name in row:
        value = row[field.name]
        return value.pk if isinstance(value, Model) else value
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        from django.utils import timezone

        return timezone.now()
    return field.get_default()


def insert_instance(obj: Model, *, skip_conflicts_on: Sequence[str] = ()) -> bool:
    """Save a new, unsaved instance with one INSERT and set its id. Returns False (and leaves it
    unsaved) when `skip_conflicts_on` finds the row already there."""
    model = type(obj)
    row = {field.attname: getattr(obj, field.attname) for field in _columns(model)}
    ids = insert_rows(model, [row], skip_conflicts_on=skip_conflicts_on)
    if not ids:
        return False
    obj.pk = ids[0]
    obj._state.adding = False
    return True


def update_instance(obj: Model, field_names: Sequence[str]) -> None:
    """Write the given fields of a saved instance with one plain UPDATE (absolute values: the
    caller holds the row locked)."""
    model = type(obj)
    fields = [model._meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    params = [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields]
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, obj.pk])


def select_one(model: type[Model], *, for_update: bool = False, **where) -> Model | None:
    """One row as a model instance, by equality on the given fields, with a plain SELECT (and
    FOR UPDATE if asked). Returns None if no row matches."""
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    conditions = " AND ".join(f"{quote(model._meta.get_field(name).column)} = %s" for name in where)
    params = [model._meta.get_field(name).get_db_prep_value(value, connection) for name, value in where.items()]
    columns = ", ".join(quote(f.column) for f in fields)
    lock = " FOR UPDATE" if for_update and connection.features.has_select_for_update else ""
    sql = f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {conditions} LIMIT 1{lock}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = [_from_db(field, value) for field, value in zip(fields, row, strict=True)]
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def _from_db(field, value):
    for converter in field.get_db_converters(connection) + connection.ops.get_db_converters(field):
        value = converter(value, field, connection)
    return value


def update_many(objs: Sequence[Model], field_names: Sequence[str]) -> None:
    """Write the given fields of many saved instances (absolute values: the caller holds the rows
    locked). On PostgreSQL one UPDATE joined to the values as arrays: the ORM's bulk_update builds
    a CASE per field whose cost grows with the square of the rows."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        type(objs[0]).objects.bulk_update(objs, field_names, batch_size=1000)
        return
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
