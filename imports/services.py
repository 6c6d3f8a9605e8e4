"""Importing a retailer's history: members and purchases from UTF-8 CSV files, set-based.

A file is copied as it is into a temporary staging table (`COPY`), checked there with set-based
statements (the few checks that need Python, such as reading a phone number in any format, run
over the staging rows in chunks and are copied back), and the accepted rows are inserted with one
`INSERT ... SELECT` per table. Everything happens in one transaction: a file either lands whole
(minus the rejected rows, each reported with its line number and reason) or not at all. Rows that
are already in the database (the same external id, phone, or store and receipt) are counted as
unchanged, so importing the same file twice changes nothing.

Stages, tiers, lapse state, the loyalty grid and customer value are not computed here: the
existing nightly jobs recompute them once after an import (`jobs_after_import_run`).
"""

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import psycopg2
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DataError, connection, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from psycopg2 import sql

from core.composed_sql import execute, execute_many
from jobs.registry import JOBS, NIGHTLY_ORDER
from jobs.services import RunSummary, job_run_now
from members.identifiers import InvalidPhone, new_card_number, new_referral_code, normalize_phone
from members.models import Member, Purchase, PurchaseLine
from rewards.earning import BasketLine, Earner, lot_expiry, points_for_basket
from rewards.ledger import import_credits_post
from stores.models import Channel, Store

MEMBER_COLUMNS = ("external_id", "phone", "name", "email", "birthday", "enrolled_at", "store")
PURCHASE_COLUMNS = (
    "external_id",
    "card_number",
    "phone",
    "receipt_id",
    "occurred_at",
    "total",
    "store",
    "channel",
    "currency",
)
LINE_COLUMNS = ("receipt_id", "store", "sku", "category", "quantity", "unit_price")
CHUNK = 10_000
IMPORT_ACTOR = "import"


class ImportFileError(ValueError):
    """The file as a whole cannot be read (not CSV, not UTF-8, unknown or missing columns)."""


@dataclass
class Rejection:
    line: int
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    inserted: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    points: int = 0
    members_created: int = 0

    def rejected_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["line", "reason"])
        writer.writerows((r.line, r.reason) for r in self.rejected)
        return out.getvalue()


Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


# ---------------------------------------------------------------------------------------------
# Staging: COPY the file as text into a temporary table, with each row's line number.
# ---------------------------------------------------------------------------------------------


def _header(stream: io.BufferedIOBase, allowed: tuple[str, ...]) -> tuple[list[str], bytes]:
    """The file's columns (checked against `allowed`) and the bytes that follow the header line."""
    first = stream.readline()
    if first.startswith(codecs.BOM_UTF8):  # spreadsheets write one; COPY would read it as data
        first = first[len(codecs.BOM_UTF8) :]
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")) from exc
    columns = [name.strip().lower() for name in next(csv.reader([text]), [])]
    if not any(columns):
        raise ImportFileError(_("The file is empty: the first line must name the columns."))
    unknown = [name for name in columns if name not in allowed]
    if unknown:
        raise ImportFileError(
            _("Unknown column(s): %(unknown)s. Allowed: %(allowed)s.")
            % {"unknown": ", ".join(unknown), "allowed": ", ".join(allowed)}
        )
    if len(set(columns)) != len(columns):
        raise ImportFileError(_("A column is named twice in the first line."))
    return columns, first


def _stage(stream: io.BufferedIOBase, *, table: str, allowed: tuple[str, ...]) -> list[str]:
    """Copy a CSV stream into a new temporary table `table` of text columns plus `line`."""
    columns, _first = _header(stream, allowed)
    column_defs = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(name)) for name in allowed)
    with connection.cursor() as cursor:
        # n numbers the rows in file order: line n + 1 of the file (the header is line 1).
        execute(
            cursor,
            sql.SQL("CREATE TEMPORARY TABLE {} (n bigint GENERATED ALWAYS AS IDENTITY, {}) ON COMMIT DROP").format(
                sql.Identifier(table), column_defs
            ),
        )
        copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, ENCODING 'UTF8')").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        try:
            cursor.copy_expert(copy, stream)
        except (DataError, psycopg2.DataError) as exc:  # copy_expert is psycopg2's own, unwrapped
            raise ImportFileError(_copy_error(exc)) from exc
    _analyze(table)
    return columns


def _copy_error(exc: Exception) -> str:
    """PostgreSQL's reason, with its line number counted as in the file (the header is line 1)."""
    first_line = str(exc).strip().splitlines()[0]
    if "invalid byte sequence" in first_line:
        return _("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")
    where = re.search(r"COPY \w+, line (\d+)", str(exc))
    line = int(where.group(1)) + 1 if where else "?"
    return _("Line %(line)s could not be read as CSV: %(reason)s.") % {"line": line, "reason": first_line[:200]}


@contextmanager
def _scratch_tables(*names: str):
    """The import's temporary tables, dropped before (a failed import in the same session may have
    left them) and after: `ON COMMIT DROP` alone is not enough inside an enclosing transaction."""

    def drop():
        with connection.cursor() as cursor:
            for name in names:
                execute(cursor, sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))

    drop()
    yield
    drop()  # not after an error: rolling back the import drops the tables it created


def _rows(sql: str, params=()) -> Iterable[tuple]:
    """Stream a query's rows in chunks through a server-side cursor (memory stays flat)."""
    with connection.chunked_cursor() as cursor:
        execute(cursor, sql, params)
        while batch := cursor.fetchmany(CHUNK):
            yield from batch


def _copy_rows(table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """Append Python-computed rows to a temporary table with COPY (text format, NULL as \\N)."""
    buffer = io.StringIO()

    def flush():
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(
                sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
                ),
                buffer,
            )
        buffer.seek(0)
        buffer.truncate()

    for count, row in enumerate(rows, start=1):
        buffer.write("\t".join(_copy_value(value) for value in row) + "\n")
        if count % CHUNK == 0:
            flush()
    flush()
    _analyze(table)


def _analyze(table: str) -> None:
    """Statistics for a filled temporary table: autovacuum never sees them, and without them the
    planner expects a thousand rows and joins millions by nested loops."""
    with connection.cursor() as cursor:
        execute(cursor, sql.SQL("ANALYZE {}").format(sql.Identifier(table)))


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    text = value.isoformat() if isinstance(value, (date, datetime)) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _reject(table: str, reason: str, condition: str, params=()) -> None:
    """Mark the still accepted rows of `table` that meet `condition` as rejected for `reason`."""
    with connection.cursor() as cursor:
        execute(
            cursor,
            sql.SQL("UPDATE {} SET reason = %s WHERE reason IS NULL AND ({})").format(
                sql.Identifier(table), sql.SQL(condition)
            ),
            [reason, *params],
        )


def _rejections(table: str) -> list[Rejection]:
    with connection.cursor() as cursor:
        execute(
            cursor,
            sql.SQL("SELECT n + 1, reason FROM {} WHERE reason IS NOT NULL ORDER BY n").format(sql.Identifier(table)),
        )
        return [Rejection(line, reason) for line, reason in cursor.fetchall()]


def _insert_select(model: type[models.Model], values: dict[str, str], source: str, params=()) -> int:
    """INSERT INTO the model's table the rows of `source`: `values` maps field names to SQL
    expressions over the source; every other field gets its default (a callable default of a
    UUID field becomes gen_random_uuid(), auto_now(_add) fields now())."""
    columns, expressions, defaults = [], [], []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key and isinstance(model_field, models.AutoField):
            continue
        columns.append(sql.Identifier(model_field.column))
        if model_field.name in values:
            expressions.append(sql.SQL(values[model_field.name]))
        elif getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            expressions.append(sql.SQL("now()"))
        elif isinstance(model_field, models.UUIDField) and callable(model_field.default):
            expressions.append(sql.SQL("gen_random_uuid()"))
        else:
            default = model_field.get_default()  # "" for text fields without a default
            if default is None and not model_field.null:
                raise ValueError(f"{model.__name__}.{model_field.name} needs a value")
            expressions.append(sql.Placeholder())
            defaults.append(model_field.get_db_prep_save(default, connection))
    # The source's parameters come after the defaults, as they appear in the statement.
    statement = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
        sql.Identifier(model._meta.db_table),
        sql.SQL(", ").join(columns),
        sql.SQL(", ").join(expressions),
        sql.SQL(source),
    )
    with connection.cursor() as cursor:
        execute(cursor, statement, [*defaults, *params])
        return cursor.rowcount


# ---------------------------------------------------------------------------------------------
# Members
# ---------------------------------------------------------------------------------------------


def _local_moment(text: str | None, *, field_name: str) -> datetime | None:
    """An ISO date or date-time; a date alone is midnight, naive times are in TIME_ZONE."""
    if not text or not text.strip():
        return None
    text = text.strip()
    try:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            if day is None:
                raise ValueError
            moment = datetime(day.year, day.month, day.day)
    except ValueError as exc:
        raise ValueError(
            _("%(field)s is not a date (YYYY-MM-DD or an ISO date-time).") % {"field": field_name}
        ) from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment > timezone.now():
        raise ValueError(_("%(field)s lies in the future.") % {"field": field_name})
    return moment


def _member_checks(row) -> tuple:
    """Python checks of one staged member row: (n, phone, email, birthday, enrolled_at, card,
    referral code, reason)."""
    n, phone, email, birthday, enrolled_at = row
    try:
        phone_e164 = normalize_phone(phone) if phone and phone.strip() else ""
        email = (email or "").strip().lower()
        if email:
            try:
                validate_email(email)
            except ValidationError as exc:
                raise ValueError(_("email is not a valid address.")) from exc
        birthday_value = None
        if birthday and birthday.strip():
            birthday_value = parse_date(birthday.strip())
            if birthday_value is None or not date(1900, 1, 1) <= birthday_value <= timezone.localdate():
                raise ValueError(_("birthday must be a date (YYYY-MM-DD) between 1900 and today."))
        enrolled = _local_moment(enrolled_at, field_name="enrolled_at")
    except InvalidPhone:
        return (n, None, None, None, None, None, None, _("phone is not a valid phone number."))
    except ValueError as exc:
        return (n, None, None, None, None, None, None, str(exc))
    return (n, phone_e164, email, birthday_value, enrolled, new_card_number(), new_referral_code(), None)


def members_import(*, stream: io.BufferedIOBase, progress: Progress = _no_progress) -> ImportReport:
    """Import members from a CSV stream (see MEMBER_COLUMNS; external_id or phone is required per
    row). A row whose external id or phone is already a member's is unchanged, not updated."""
    report = ImportReport()
    with transaction.atomic(), _scratch_tables("import_members", "import_members_checked"):
        _stage(stream, table="import_members", allowed=MEMBER_COLUMNS)
        with connection.cursor() as cursor:
            execute(cursor, "SELECT count(*) FROM import_members")
            report.rows = cursor.fetchone()[0]
            execute(
                cursor,
                "CREATE TEMPORARY TABLE import_members_checked (n bigint PRIMARY KEY, phone text, email text, "
                "birthday date, enrolled_at timestamptz, card_number text, referral_code text, reason text, "
                "store_id bigint, existing bigint) ON COMMIT DROP",
            )
        progress("members: checking", 0, report.rows)
        _copy_rows(
            "import_members_checked",
            ("n", "phone", "email", "birthday", "enrolled_at", "card_number", "referral_code", "reason"),
            (
                _member_checks(row)
                for row in _rows("SELECT n, phone, email, birthday, enrolled_at FROM import_members ORDER BY n")
            ),
        )
        progress("members: checking", report.rows, report.rows)
        _members_classify()
        report.rejected = _rejections("import_members_checked")
        _card_numbers_unique()
        progress("members: inserting", 0, report.rows)
        report.inserted = _insert_select(
            Member,
            {
                "external_id": "NULLIF(btrim(s.external_id), '')",
                "phone": "c.phone",
                "email": "c.email",
                "name": "left(btrim(coalesce(s.name, '')), 100)",
                "birthday": "c.birthday",
                "enrolled_at": "coalesce(c.enrolled_at, now())",
                "enrolled_store": "c.store_id",
                "card_number": "c.card_number",
                "referral_code": "c.referral_code",
            },
            "import_members s JOIN import_members_checked c USING (n) WHERE c.reason IS NULL AND c.existing IS NULL "
            "ORDER BY s.n",
        )
        with connection.cursor() as cursor:
            execute(cursor, "SELECT count(*) FROM import_members_checked WHERE reason IS NULL AND existing IS NOT NULL")
            report.unchanged = cursor.fetchone()[0]
        progress("members: inserting", report.rows, report.rows)
    return report


def _members_classify() -> None:
    table = "import_members_checked"
    with connection.cursor() as cursor:
        execute(
            cursor,
            "UPDATE import_members_checked c SET store_id = st.id FROM import_members s JOIN stores_store st "
            "ON st.code = btrim(s.store) WHERE s.n = c.n",
        )
    _reject(
        table,
        _("external_id or phone is required."),
        "n IN (SELECT n FROM import_members WHERE coalesce(btrim(external_id), '') = '') AND phone = ''",
    )
    _reject(
        table,
        _("external_id is longer than 64 characters."),
        "n IN (SELECT n FROM import_members WHERE length(btrim(external_id)) > 64)",
    )
    _reject(
        table,
        _("store is not the code of a store."),
        "store_id IS NULL AND n IN (SELECT n FROM import_members WHERE coalesce(btrim(store), '') <> '')",
    )
    _reject(
        table,
        _("external_id appears on an earlier line of the file."),
        "n IN (SELECT n FROM (SELECT n, row_number() OVER (PARTITION BY btrim(external_id) ORDER BY n) AS k "
        "FROM import_members WHERE coalesce(btrim(external_id), '') <> '') d WHERE k > 1)",
    )
    _reject(
        table,
        _("phone appears on an earlier line of the file."),
        "n IN (SELECT n FROM (SELECT n, row_number() OVER (PARTITION BY phone ORDER BY n) AS k "
        "FROM import_members_checked WHERE reason IS NULL AND phone <> '') d WHERE k > 1)",
    )
    with connection.cursor() as cursor:
        # Already a member: the same external id, or (without one) the same phone.
        execute(
            cursor,
            "UPDATE import_members_checked c SET existing = m.id FROM import_members s, members_member m "
            "WHERE s.n = c.n AND c.reason IS NULL AND m.external_id = btrim(s.external_id)",
        )
        execute(
            cursor,
            "UPDATE import_members_checked c SET existing = m.id FROM import_members s, members_member m "
            "WHERE s.n = c.n AND c.reason IS NULL AND c.existing IS NULL AND coalesce(btrim(s.external_id), '') = '' "
            "AND c.phone <> '' AND m.phone = c.phone",
        )
    _reject(
        table,
        _("phone is already another member's."),
        "existing IS NULL AND phone <> '' AND EXISTS (SELECT 1 FROM members_member m WHERE m.phone = "
        "import_members_checked.phone)",
    )


def _card_numbers_unique() -> None:
    """Draw new card numbers and referral codes for the few rows whose random ones are taken."""
    for column, draw in (("card_number", new_card_number), ("referral_code", new_referral_code)):
        for _attempt in range(5):
            with connection.cursor() as cursor:
                execute(
                    cursor,
                    sql.SQL(
                        "SELECT n FROM import_members_checked c WHERE reason IS NULL AND existing IS NULL AND "
                        "(EXISTS (SELECT 1 FROM members_member m WHERE m.{column} = c.{column}) OR EXISTS "
                        "(SELECT 1 FROM import_members_checked o WHERE o.{column} = c.{column} AND o.n < c.n))"
                    ).format(column=sql.Identifier(column)),
                )
                taken = [n for (n,) in cursor.fetchall()]
                if not taken:
                    break
                execute_many(
                    cursor,
                    sql.SQL("UPDATE import_members_checked SET {} = %s WHERE n = %s").format(sql.Identifier(column)),
                    [(draw(), n) for n in taken],
                )


# ---------------------------------------------------------------------------------------------
# Purchases
# ---------------------------------------------------------------------------------------------


def _purchase_checks(row, default_currency: str) -> tuple:
    """(n, phone, occurred_at, total, currency, channel, reason) for one staged purchase row."""
    n, phone, occurred_at, total, currency, channel = row
    try:
        phone_e164 = normalize_phone(phone) if phone and phone.strip() else ""
        moment = _local_moment(occurred_at, field_name="occurred_at")
        if moment is None:
            raise ValueError(_("occurred_at is required."))
        try:
            amount = Decimal((total or "").strip())
        except InvalidOperation as exc:
            raise ValueError(_("total is not a number.")) from exc
        if (
            not amount.is_finite()
            or amount <= 0
            or amount >= Decimal("1e10")
            or amount != amount.quantize(Decimal("0.01"))
        ):
            raise ValueError(_("total must be a positive amount with at most two decimals."))
        currency = (currency or "").strip().upper() or default_currency
        if currency != default_currency:
            raise ValueError(_("currency must be %(currency)s.") % {"currency": default_currency})
        channel = (channel or "").strip()
        if channel and channel not in Channel.values:
            raise ValueError(_("channel must be one of: %(channels)s.") % {"channels": ", ".join(Channel.values)})
    except InvalidPhone:
        return (n, None, None, None, None, None, _("phone is not a valid phone number."))
    except ValueError as exc:
        return (n, None, None, None, None, None, str(exc))
    return (n, phone_e164, moment, amount, currency, channel or None, None)


def purchases_import(
    *,
    stream: io.BufferedIOBase,
    lines_stream: io.BufferedIOBase | None = None,
    default_store: Store | None = None,
    create_members: bool = False,
    earn_points: bool = True,
    progress: Progress = _no_progress,
) -> ImportReport:
    """Import purchases (see PURCHASE_COLUMNS) and optionally their lines (LINE_COLUMNS).

    A purchase names its member by external_id, card_number or phone; with `create_members`, an
    unknown external id or phone becomes a new member. A receipt already recorded at its store is
    unchanged. Imported purchases earn points by the earning policy and rules of their date (at
    the base tier: tiers are recomputed afterwards), or none with `earn_points=False`."""
    report = ImportReport()
    scratch = ("import_purchases", "import_purchases_checked", "import_purchase_people", "import_lines")
    with transaction.atomic(), _scratch_tables(*scratch, "import_lines_checked", "import_points"):
        _stage(stream, table="import_purchases", allowed=PURCHASE_COLUMNS)
        with connection.cursor() as cursor:
            execute(cursor, "SELECT count(*) FROM import_purchases")
            report.rows = cursor.fetchone()[0]
            execute(
                cursor,
                "CREATE TEMPORARY TABLE import_purchases_checked (n bigint PRIMARY KEY, phone text, "
                "occurred_at timestamptz, total numeric(12, 2), currency text, channel text, reason text, "
                "store_id bigint, member_id bigint, existing bigint, purchase_id bigint) ON COMMIT DROP",
            )
        progress("purchases: checking", 0, report.rows)
        _copy_rows(
            "import_purchases_checked",
            ("n", "phone", "occurred_at", "total", "currency", "channel", "reason"),
            (
                _purchase_checks(row, settings.DEFAULT_CURRENCY)
                for row in _rows(
                    "SELECT n, phone, occurred_at, total, currency, channel FROM import_purchases ORDER BY n"
                )
            ),
        )
        _purchases_classify(default_store)
        if create_members:
            report.members_created = _purchase_members_create()
        _purchases_match_members()
        report.rejected = _rejections("import_purchases_checked")
        progress("purchases: inserting", 0, report.rows)
        report.inserted = _insert_select(
            Purchase,
            {
                "member": "c.member_id",
                "store": "c.store_id",
                "receipt_id": "btrim(s.receipt_id)",
                "channel": "coalesce(c.channel, st.channel)",
                "occurred_at": "c.occurred_at",
                "currency": "c.currency",
                "total": "c.total",
            },
            "import_purchases s JOIN import_purchases_checked c USING (n) JOIN stores_store st ON st.id = c.store_id "
            "WHERE c.reason IS NULL AND c.existing IS NULL ORDER BY c.occurred_at, s.n",
        )
        with connection.cursor() as cursor:
            execute(
                cursor, "SELECT count(*) FROM import_purchases_checked WHERE reason IS NULL AND existing IS NOT NULL"
            )
            report.unchanged = cursor.fetchone()[0]
            # Each inserted purchase's id, found through the unique (store, receipt) index.
            execute(
                cursor,
                "UPDATE import_purchases_checked c SET purchase_id = p.id FROM import_purchases s, members_purchase p "
                "WHERE s.n = c.n AND c.reason IS NULL AND c.existing IS NULL AND p.store_id = c.store_id "
                "AND p.receipt_id = btrim(s.receipt_id)",
            )
        _analyze("import_purchases_checked")
        if lines_stream is not None:
            _lines_import(lines_stream, report)
        _member_aggregates_add()
        if earn_points:
            progress("purchases: points", 0, report.inserted)
            report.points = _points_earn(progress)
        progress("purchases: done", report.rows, report.rows)
    return report


def _purchases_classify(default_store: Store | None) -> None:
    table = "import_purchases_checked"
    with connection.cursor() as cursor:
        execute(
            cursor,
            "UPDATE import_purchases_checked c SET store_id = st.id FROM import_purchases s JOIN stores_store st "
            "ON st.code = btrim(s.store) WHERE s.n = c.n",
        )
        if default_store is not None:
            execute(
                cursor,
                "UPDATE import_purchases_checked c SET store_id = %s FROM import_purchases s "
                "WHERE s.n = c.n AND coalesce(btrim(s.store), '') = ''",
                [default_store.pk],
            )
    _reject(
        table,
        _("receipt_id is required (at most 64 characters)."),
        "n IN (SELECT n FROM import_purchases WHERE coalesce(btrim(receipt_id), '') = '' OR "
        "length(btrim(receipt_id)) > 64)",
    )
    _reject(
        table,
        _("store is not the code of a store."),
        "store_id IS NULL AND n IN (SELECT n FROM import_purchases WHERE coalesce(btrim(store), '') <> '')",
    )
    _reject(table, _("store is required (or give a default store)."), "store_id IS NULL")
    _reject(
        table,
        _("external_id, card_number or phone is required."),
        "phone = '' AND n IN (SELECT n FROM import_purchases WHERE coalesce(btrim(external_id), '') = '' AND "
        "coalesce(btrim(card_number), '') = '')",
    )
    _reject(
        table,
        _("receipt_id appears on an earlier line of the file for the same store."),
        "n IN (SELECT n FROM (SELECT c.n, row_number() OVER (PARTITION BY c.store_id, btrim(s.receipt_id) "
        "ORDER BY c.n) AS k FROM import_purchases_checked c JOIN import_purchases s USING (n) "
        "WHERE c.reason IS NULL) d WHERE k > 1)",
    )
    with connection.cursor() as cursor:
        execute(
            cursor,
            "UPDATE import_purchases_checked c SET existing = p.id FROM import_purchases s, members_purchase p "
            "WHERE s.n = c.n AND c.reason IS NULL AND p.store_id = c.store_id AND p.receipt_id = btrim(s.receipt_id)",
        )


def _purchases_match_members() -> None:
    with connection.cursor() as cursor:
        for condition in (
            "m.external_id = btrim(s.external_id)",
            "m.card_number = btrim(s.card_number)",
            "c.phone <> '' AND m.phone = c.phone",
        ):
            execute(
                cursor,
                sql.SQL(
                    "UPDATE import_purchases_checked c SET member_id = m.id FROM import_purchases s, members_member m "
                    "WHERE s.n = c.n AND c.reason IS NULL AND c.member_id IS NULL AND {}"
                ).format(sql.SQL(condition)),
            )
    _reject(
        "import_purchases_checked",
        _("no member has this external_id, card_number or phone."),
        "member_id IS NULL",
    )


def _purchase_members_create() -> int:
    """Create members for purchases naming an unknown external id or phone (one per person)."""
    with connection.cursor() as cursor:
        execute(
            cursor,
            "CREATE TEMPORARY TABLE import_purchase_people ON COMMIT DROP AS "
            "SELECT DISTINCT ON (coalesce(NULLIF(btrim(s.external_id), ''), c.phone)) "
            "NULLIF(btrim(s.external_id), '') AS external_id, c.phone AS phone, c.store_id, c.occurred_at, "
            "NULL::text AS card_number, NULL::text AS referral_code "
            "FROM import_purchases s JOIN import_purchases_checked c USING (n) "
            "WHERE c.reason IS NULL AND coalesce(btrim(s.card_number), '') = '' "
            "AND (coalesce(btrim(s.external_id), '') <> '' OR c.phone <> '') "
            "AND NOT EXISTS (SELECT 1 FROM members_member m WHERE m.external_id = btrim(s.external_id) "
            "OR (c.phone <> '' AND m.phone = c.phone)) "
            "ORDER BY coalesce(NULLIF(btrim(s.external_id), ''), c.phone), c.occurred_at",
        )
        execute(cursor, "ALTER TABLE import_purchase_people ADD COLUMN k bigint GENERATED ALWAYS AS IDENTITY")
        execute(cursor, "SELECT k FROM import_purchase_people")
        keys = [k for (k,) in cursor.fetchall()]
        # A phone named by two external ids would break uniqueness: keep it on the first only.
        execute(
            cursor,
            "UPDATE import_purchase_people p SET phone = '' WHERE phone <> '' AND EXISTS "
            "(SELECT 1 FROM import_purchase_people o WHERE o.phone = p.phone AND o.k < p.k)",
        )
        execute_many(
            cursor,
            "UPDATE import_purchase_people SET card_number = %s, referral_code = %s WHERE k = %s",
            [(new_card_number(), new_referral_code(), k) for k in keys],
        )
    return _insert_select(
        Member,
        {
            "external_id": "p.external_id",
            "phone": "p.phone",
            "enrolled_store": "p.store_id",
            "enrolled_at": "p.occurred_at",
            "card_number": "p.card_number",
            "referral_code": "p.referral_code",
        },
        "import_purchase_people p ORDER BY p.k",
    )


def _lines_import(stream: io.BufferedIOBase, report: ImportReport) -> None:
    _stage(stream, table="import_lines", allowed=LINE_COLUMNS)
    with connection.cursor() as cursor:
        # A line belongs to a purchase inserted by this import (same store code and receipt).
        execute(
            cursor,
            "CREATE TEMPORARY TABLE import_lines_checked ON COMMIT DROP AS SELECT l.n, c.purchase_id, "
            "NULL::text AS reason FROM import_lines l LEFT JOIN stores_store st ON st.code = btrim(l.store) "
            "LEFT JOIN members_purchase p ON p.store_id = st.id AND p.receipt_id = btrim(l.receipt_id) "
            "LEFT JOIN import_purchases_checked c ON c.purchase_id = p.id",
        )
    _analyze("import_lines_checked")
    table = "import_lines_checked"
    _reject(table, _("no imported purchase has this store and receipt_id."), "purchase_id IS NULL")
    _reject(
        table,
        _("quantity must be a whole number above 0 and unit_price a number of at least 0."),
        "n IN (SELECT n FROM import_lines WHERE btrim(quantity) !~ '^[0-9]{1,9}$' OR btrim(quantity)::bigint = 0 "
        "OR btrim(unit_price) !~ '^[0-9]{1,8}([.][0-9]{1,4})?$')",
    )
    _reject(
        table,
        _("sku is required (at most 64 characters); category at most 64."),
        "n IN (SELECT n FROM import_lines WHERE coalesce(btrim(sku), '') = '' OR length(btrim(sku)) > 64 "
        "OR length(coalesce(btrim(category), '')) > 64)",
    )
    for rejection in _rejections(table):
        report.rejected.append(Rejection(rejection.line, _("lines file: %(reason)s") % {"reason": rejection.reason}))
    _insert_select(
        PurchaseLine,
        {
            "purchase": "c.purchase_id",
            "sku": "btrim(l.sku)",
            "category": "coalesce(btrim(l.category), '')",
            "quantity": "btrim(l.quantity)::integer",
            "unit_price": "btrim(l.unit_price)::numeric(12, 4)",
        },
        "import_lines l JOIN import_lines_checked c USING (n) WHERE c.reason IS NULL ORDER BY l.n",
    )


def _member_aggregates_add() -> None:
    """Add the imported purchases to their members' spend, count and first/last purchase."""
    with connection.cursor() as cursor:
        execute(
            cursor,
            "UPDATE members_member m SET lifetime_spend = m.lifetime_spend + a.spend, "
            "purchase_count = m.purchase_count + a.purchases, "
            "first_purchase_at = LEAST(m.first_purchase_at, a.first_at), "
            "last_purchase_at = GREATEST(m.last_purchase_at, a.last_at), updated_at = now() "
            "FROM (SELECT c.member_id, sum(c.total) AS spend, count(*) AS purchases, min(c.occurred_at) AS first_at, "
            "max(c.occurred_at) AS last_at FROM import_purchases_checked c "
            "WHERE c.reason IS NULL AND c.existing IS NULL "
            "GROUP BY c.member_id) a WHERE m.id = a.member_id",
        )


def _points_earn(progress: Progress) -> int:
    """Points of the imported purchases, priced one by one by the earning rules of their date, then
    written to the ledger set-based: an earn entry and a lot per purchase, balances moved once."""
    with connection.cursor() as cursor:
        execute(
            cursor,
            "CREATE TEMPORARY TABLE import_points (purchase_id bigint PRIMARY KEY, member_id bigint, "
            "occurred_at timestamptz, points integer, base_points integer, expires_at timestamptz) ON COMMIT DROP",
        )
    rows = _rows(
        "SELECT p.id, p.member_id, p.store_id, p.channel, p.occurred_at, p.total, "
        "coalesce(array_agg(ARRAY[l.sku, l.category, l.quantity::text, l.unit_price::text]) "
        "FILTER (WHERE l.id IS NOT NULL), '{}') "
        "FROM import_purchases_checked c JOIN members_purchase p ON p.id = c.purchase_id "
        "LEFT JOIN members_purchaseline l ON l.purchase_id = p.id GROUP BY p.id"
    )

    def priced():
        for purchase_id, member_id, store_id, channel, occurred_at, total, lines in rows:
            basket = [BasketLine(sku, category, int(qty), Decimal(price)) for sku, category, qty, price in lines] or [
                BasketLine("", "", 1, total)
            ]
            quote = points_for_basket(
                lines=basket,
                total=total,
                channel=channel,
                store_id=store_id,
                at=occurred_at,
                earner=Earner(member_id=member_id),
            )
            if quote.points > 0:
                yield (purchase_id, member_id, occurred_at, quote.points, quote.base_points, lot_expiry(occurred_at))

    _copy_rows(
        "import_points", ("purchase_id", "member_id", "occurred_at", "points", "base_points", "expires_at"), priced()
    )
    return _points_post()


def _points_post() -> int:
    """Ledger rows for `import_points`: entries in time order per member, each with its running
    balance; a lot per entry for what is not paying an earlier debt; balances moved once."""
    return import_credits_post(table="import_points", actor_name=IMPORT_ACTOR)


def jobs_after_import_run(*, triggered_by: str) -> list[RunSummary]:
    """Run the nightly jobs over every member, in their order (points expiry, tiers, lapse,
    stages, grid), then customer value: what an import leaves to them. Chunk after chunk in this
    process (the import command, or a worker for an import made in the back office)."""
    names = [*NIGHTLY_ORDER, *(["customer_value"] if "customer_value" in JOBS else [])]
    return [job_run_now(name=name, full=True, triggered_by=triggered_by) for name in names]
