"""One writer for a checkout: the rows a service decided to write, sent together.

A write service (a purchase, a return, a redemption, a voucher consume) resolves and locks its
member, asks the pure parts (earning, journey, tiers, habits, ledger) for their decisions and
hands the rows to insert and the values to set to a `UnitOfWork`. The statements are built by
Django's own SQL compilers from unsaved model instances and querysets, held in order, and sent
as one multi-statement round trip (psycopg2 sends a `;`-joined string with its parameters bound
client-side) at a point the service or its caller names:

- `work.insert(*objs)` / `work.save_fields(obj, *names)` / `work.update(queryset, **values)` /
  `work.update_rows(objs, names)` / `work.statement(sql, params)` hold a write whose result
  nobody reads. `save_fields` merges: the ledger saves a member's balance, the journey its stage,
  the purchase its aggregates, and the member row gets one UPDATE (sent last, at the flush);
- `work.insert_returning_id(obj)` sends what is held together with an INSERT whose id the next
  rows need (a purchase, a ledger entry), in one round trip;
- `work.flush()` sends what is held. A constraint error raises here, at the writer's flush, as
  the IntegrityError of the row that broke it; nothing is intercepted on the connection.

Every write runs inside the caller's transaction; the object holds nothing across transactions.
"""

from collections.abc import Sequence
from itertools import groupby

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.constants import OnConflict
from django.db.models.sql.subqueries import InsertQuery, UpdateQuery
from psycopg2 import sql as pg


class UnitOfWork:
    def __init__(self, using: str = DEFAULT_DB_ALIAS):
        self.using = using
        self._held: list[tuple[str, tuple]] = []
        self._dirty: dict[tuple[type, object], tuple[Model, set[str]]] = {}

    # --- holding writes ------------------------------------------------------------------

    def insert(self, *objs: Model) -> None:
        """Hold INSERTs of unsaved instances, one multi-row statement per run of one model. Their
        ids are not read back (history rows, lines, lots, outbox events)."""
        for model, group in groupby(objs, key=type):
            self._held.append(self._insert_sql(model, list(group), returning=False, skip_conflicts=False))

    def save_fields(self, obj: Model, *field_names: str) -> None:
        """Hold an UPDATE of a saved instance's fields with their values at the flush (absolute
        values: the caller holds the row locked). Several calls for one row make one UPDATE."""
        _, names = self._dirty.setdefault((type(obj), obj.pk), (obj, set()))
        names.update(field_names)

    def update(self, queryset: QuerySet, **values) -> None:
        """Hold `queryset.update(**values)` (plain values or expressions such as `F(...) + 1`)."""
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(values)
        if query.related_updates:
            raise ValueError("An UPDATE held by a unit of work must touch one table.")
        sql, params = query.get_compiler(self.using).as_sql()
        if sql:
            self._held.append((sql, tuple(params)))

    def statement(self, sql: str, params: Sequence) -> None:
        """Hold a hand-written statement: the one way hand-written SQL is written. `sql` is a
        constant of the calling module (no formatting: ruff's S608 stays on everywhere) and every
        value travels in `params`."""
        if not isinstance(params, list | tuple):
            raise TypeError("A hand-written statement takes its values as a list of parameters.")
        self._held.append((sql, tuple(params)))

    def update_rows(self, objs: Sequence[Model], field_names: Sequence[str]) -> None:
        """Hold one UPDATE writing the given fields of many saved instances (absolute values: the
        caller holds the rows locked), joined to the values as arrays: `bulk_update` builds a
        CASE per field whose cost grows with the square of the rows. Names come from the model
        and are quoted by psycopg2's composition; values travel as parameters."""
        if not objs:
            return
        db = connections[self.using]
        opts = type(objs[0])._meta
        fields = [opts.pk] + [opts.get_field(name) for name in field_names]
        table = pg.Identifier(opts.db_table)
        statement = pg.SQL("UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({names}) WHERE {key} = v.v0")
        composed = statement.format(
            table=table,
            assignments=pg.SQL(", ").join(
                pg.SQL("{} = v.{}").format(pg.Identifier(f.column), pg.Identifier(f"v{i}"))
                for i, f in enumerate(fields)
                if i
            ),
            arrays=pg.SQL(", ").join(pg.SQL("%s::" + f.db_type(db) + "[]") for f in fields),
            names=pg.SQL(", ").join(pg.Identifier(f"v{i}") for i in range(len(fields))),
            key=pg.Identifier(opts.db_table, opts.pk.column),
        )
        db.ensure_connection()
        text = composed.as_string(db.connection)
        params = [[f.get_db_prep_save(getattr(obj, f.attname), db) for obj in objs] for f in fields]
        self._held.append((text, tuple(params)))

    # --- sending -------------------------------------------------------------------------

    def insert_returning_id(self, obj: Model, *, skip_conflicts: bool = False) -> bool:
        """INSERT `obj` and set its id, sending what is held in the same round trip. With
        `skip_conflicts` a row that breaks a unique constraint is left out (no savepoint needed):
        returns False and `obj` stays unsaved."""
        rows = self._send([self._insert_sql(type(obj), [obj], returning=True, skip_conflicts=skip_conflicts)])
        if not rows:
            return False
        obj.pk = rows[0][0]
        obj._state.adding = False
        obj._state.db = self.using
        return True

    def read(self, queryset: QuerySet) -> list[dict]:
        """The rows of a `values()` queryset, read after what is held, in the same round trip (a
        read that must see this unit's rows, such as the purchase's habits). Saved fields stay
        held: they go last, at the flush."""
        query = queryset.query
        compiler = query.get_compiler(self.using)
        sql, params = compiler.as_sql()
        rows = self._send([(sql, tuple(params))])
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        return [dict(zip(names, row, strict=True)) for row in compiler.results_iter(results=[rows])]

    def read_statement(self, sql: str, params: Sequence) -> list[tuple]:
        """The rows of a read the ORM compiled once and a caller keeps (`query.sql_with_params()`,
        new parameters each call), read after what is held, in the same round trip. Values come
        as the database driver gives them (no ORM converters)."""
        return self._send([(sql, tuple(params))])

    def flush(self) -> None:
        """Send what is held, the saved fields last, in one round trip."""
        if self._held or self._dirty:
            self._send([])

    def _saved_fields(self) -> list[tuple[str, tuple]]:
        dirty, self._dirty = self._dirty, {}
        statements = []
        for (model, pk), (obj, names) in dirty.items():
            values = {name: getattr(obj, model._meta.get_field(name).attname) for name in sorted(names)}
            query = UpdateQuery(model)
            query.add_update_values(values)
            query.add_filter("pk", pk)
            sql, params = query.get_compiler(self.using).as_sql()
            statements.append((sql, tuple(params)))
        return statements

    def _send(self, last: list[tuple[str, tuple]]):
        saved = self._saved_fields() if not last else []
        statements, self._held = [*self._held, *saved, *last], []
        sql = ";\n".join(text for text, _ in statements)
        params = tuple(value for _, values in statements for value in values)
        with connections[self.using].cursor() as cursor:
            # Several statements in one simple query: the cursor reports the last one's result.
            cursor.execute(sql, params)
            return cursor.fetchall() if last else None

    def _insert_sql(self, model: type[Model], objs: list[Model], *, returning: bool, skip_conflicts: bool):
        opts = model._meta
        for obj in objs:
            obj._prepare_related_fields_for_save(operation_name="insert")
        without_pk = any(obj.pk is None for obj in objs)
        fields = [f for f in opts.concrete_fields if not f.generated and not (f is opts.pk and without_pk)]
        query = InsertQuery(model, on_conflict=OnConflict.IGNORE if skip_conflicts else None)
        query.insert_values(fields, objs)
        compiler = query.get_compiler(self.using)
        if returning:
            compiler.returning_fields = [opts.pk]
        ((sql, params),) = compiler.as_sql()
        if not returning:
            for obj in objs:
                obj._state.adding = False
        return sql, tuple(params)
