"""The POS purchase as SQL: the bulk load of members, the same writes as pgbench statements (one
transaction of plain statements) and as one server-side function call, and the ledger check.
Columns not named here take the model's default (schema_defaults.py), so both references follow
the models."""

import json
import re
import subprocess

from bench.harness import ScratchDatabase

from . import ASSETS

MEMBER_SQL = {
    "public_id": "gen_random_uuid()",
    "card_number": "'8' || lpad(i::text, 15, '0')",
    "phone": "'+86139' || lpad(i::text, 8, '0')",
    "referral_code": "'B' || lpad(i::text, 11, '0')",
    "external_id": "NULL",  # members enrolled at a till have none
}

# One purchase as plain SQL in one transaction, in the order the app writes it: claim the idempotency
# key, lock the member, insert the purchase, its two lines, the ledger entry and the points lot,
# move the member's balance and aggregates, store the answer. Columns not named here take the
# model's default (bench/pos_earn/schema_defaults.py), so the script follows the models.
PGBENCH_TX = [
    (
        "stores_idempotencyrecord",
        [
            {
                "store_id": ":store",
                "key": "'pgb-' || gen_random_uuid()",
                "fingerprint": "md5(random()::text) || md5(random()::text)",
                "response_status": "NULL",
            }
        ],
        "id AS idem_id",
    ),
    "SELECT id AS member_id, points_balance AS balance FROM members_member "
    "WHERE card_number = '8' || lpad(:mid::text, 15, '0') FOR UPDATE \\gset",
    (
        "members_purchase",
        [
            {
                "public_id": "gen_random_uuid()",
                "member_id": ":member_id",
                "store_id": ":store",
                "receipt_id": "'P-' || gen_random_uuid()",
                "channel": "'store'",
                "occurred_at": "now() - interval '5 minutes'",
                "currency": "'CNY'",
                "total": "100.00",
                "points_earned": "10",
                "base_points": "10",
            }
        ],
        "id AS purchase_id",
    ),
    (
        "members_purchaseline",
        [
            {
                "purchase_id": ":purchase_id",
                "sku": "'LATTE'",
                "category": "'coffee'",
                "quantity": "2",
                "unit_price": "25",
            },
            {
                "purchase_id": ":purchase_id",
                "sku": "'BEANS'",
                "category": "'beans'",
                "quantity": "1",
                "unit_price": "50",
            },
        ],
        None,
    ),
    (
        "rewards_ledgerentry",
        [
            {
                "member_id": ":member_id",
                "kind": "'earn'",
                "points": "10",
                "balance_after": ":balance + 10",
                "expires_at": "now() + interval '24 months'",
                "api_key_id": ":key_id",
                "store_id": ":store",
                "purchase_id": ":purchase_id",
            }
        ],
        "id AS entry_id",
    ),
    (
        "rewards_pointslot",
        [
            {
                "member_id": ":member_id",
                "entry_id": ":entry_id",
                "points": "10",
                "remaining": "10",
                "expires_at": "now() + interval '24 months'",
            }
        ],
        None,
    ),
    "UPDATE members_member SET points_balance = points_balance + 10, lifetime_spend = lifetime_spend + 100.00, "
    "purchase_count = purchase_count + 1, first_purchase_at = coalesce(first_purchase_at, now()), "
    "last_purchase_at = now(), updated_at = now() WHERE id = :member_id;",
    'UPDATE stores_idempotencyrecord SET response_status = 201, response_body = \'{"id": "\' || gen_random_uuid() '
    '|| \'", "member": "\' || gen_random_uuid() || \'", "receipt_id": "B-pgbench", "total": "100.00", '
    '"points_earned": 10, "points_balance": \' || (:balance + 10) || \', "note": ""}\' WHERE id = :idem_id;',
]
SCHEMA_TABLES = ["members_member"] + [step[0] for step in PGBENCH_TX if isinstance(step, tuple)]


def _fill(table: str, given: dict, schema: dict) -> dict:
    """`given` plus every other column of `table` at its default; stops if a column has none."""
    row = {}
    for col in schema[table]:
        name = col["column"]
        if name in given:
            row[name] = given[name]
        elif col["default"] is None or col["unique"]:
            raise SystemExit(f"{table}.{name} needs a value (no default, or unique): add it in bench/pos_earn/sql.py")
        else:
            row[name] = col["default"]
    unknown = set(given) - set(row)
    if unknown:
        raise SystemExit(f"{table} has no column(s) {', '.join(sorted(unknown))}: update bench/pos_earn/sql.py")
    return row


def load_members_sql(schema: dict) -> str:
    row = _fill("members_member", MEMBER_SQL, schema)
    return (
        f"INSERT INTO members_member ({', '.join(row)}) "
        f"SELECT {', '.join(v.replace('%', '%%') for v in row.values())} FROM generate_series(1, %s) AS i"
    )


def pgbench_script(schema: dict) -> str:
    lines = [
        "-- Generated by bench/pos_earn/sql.py: one POST /api/v1/purchases/ as plain SQL in one transaction.",
        "\\set mid random(1, :members)",
        "BEGIN;",
    ]
    for step in PGBENCH_TX:
        if isinstance(step, str):
            lines.append(step)
            continue
        table, rows, returning = step
        filled = [_fill(table, given, schema) for given in rows]
        values = ", ".join("(" + ", ".join(row.values()) + ")" for row in filled)
        tail = f" RETURNING {returning} \\gset" if returning else ";"
        lines.append(f"INSERT INTO {table} ({', '.join(filled[0])}) VALUES {values}{tail}")
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def read_schema(args, env: dict) -> dict:
    """Each table's columns with their defaults, read from the models of the checkout measured."""
    result = subprocess.run(
        [args.python, str(ASSETS / "schema_defaults.py"), *SCHEMA_TABLES],
        cwd=args.project_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"schema_defaults.py failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout)


LEDGER_CHECK_SQL = """
WITH entries AS (SELECT member_id, sum(points) AS points FROM rewards_ledgerentry GROUP BY member_id),
     lots AS (SELECT member_id, sum(remaining) AS remaining FROM rewards_pointslot GROUP BY member_id),
     purchases AS (SELECT member_id, count(*) AS n FROM members_purchase GROUP BY member_id)
SELECT count(*),
       count(*) FILTER (WHERE m.points_balance <> e.points),
       count(*) FILTER (WHERE coalesce(l.remaining, 0) <> greatest(m.points_balance, 0)),
       count(*) FILTER (WHERE m.purchase_count <> coalesce(p.n, 0))
FROM entries e JOIN members_member m ON m.id = e.member_id
LEFT JOIN lots l ON l.member_id = e.member_id
LEFT JOIN purchases p ON p.member_id = e.member_id
"""


def ledger_check(db: ScratchDatabase) -> dict:
    touched, bad_balance, bad_lots, bad_count = db.query(LEDGER_CHECK_SQL)[0]
    purchases = db.query("SELECT count(*) FROM members_purchase")[0][0]
    return {
        "members_touched": touched,
        "balance_mismatch": bad_balance,
        "lots_mismatch": bad_lots,
        "purchase_count_mismatch": bad_count,
        "purchases": purchases,
        "ok": touched > 0 and bad_balance == bad_lots == bad_count == 0,
    }


# --- the app ---------------------------------------------------------------------------------


# --- the second reference: the same writes as ONE server-side function call per purchase --------
#
# The statements of PGBENCH_TX inside a plpgsql function: no round trip per statement, no client
# work between them, so its TPS is the database's own cost of a purchase.

FUNCTION_NAME = "bench_pos_purchase"
_VARIABLE = re.compile(r"(?<!:):([a-z_]+)")
_GSET = re.compile(r"^SELECT (?P<columns>.*?) FROM (?P<rest>.*) \\gset$", re.DOTALL)


def _plpgsql(sql: str) -> str:
    """A pgbench statement as plpgsql: `:name` is the variable `v_name`."""
    return _VARIABLE.sub(r"v_\1", sql)


def _into(pairs: str) -> tuple[str, str]:
    """'a AS x, b AS y' -> ('a, b', 'v_x, v_y')."""
    split = [pair.split(" AS ") for pair in pairs.split(", ")]
    return ", ".join(expr for expr, _ in split), ", ".join(f"v_{name}" for _, name in split)


def purchase_function_sql(schema: dict) -> str:
    """CREATE FUNCTION for one purchase, the same statements as the pgbench script."""
    statements, variables = [], set()
    for step in PGBENCH_TX:
        if isinstance(step, str):
            gset = _GSET.match(step)
            if gset:
                columns, targets = _into(gset["columns"])
                variables |= set(targets.split(", "))
                statements.append(_plpgsql(f"SELECT {columns} INTO {targets} FROM {gset['rest']};"))
            else:
                statements.append(_plpgsql(step))
            continue
        table, rows, returning = step
        filled = [_fill(table, given, schema) for given in rows]
        values = ", ".join("(" + ", ".join(row.values()) + ")" for row in filled)
        tail = ";"
        if returning:
            columns, targets = _into(returning)
            variables |= set(targets.split(", "))
            tail = f" RETURNING {columns} INTO {targets};"
        statements.append(_plpgsql(f"INSERT INTO {table} ({', '.join(filled[0])}) VALUES {values}{tail}"))
    declare = "\n".join(f"    {name} bigint;" for name in sorted(variables))
    body = "\n".join(f"    {statement}" for statement in statements)
    return (
        f"CREATE OR REPLACE FUNCTION {FUNCTION_NAME}(v_mid bigint, v_store bigint, v_key_id bigint) "
        f"RETURNS void LANGUAGE plpgsql AS $fn$\nDECLARE\n{declare}\nBEGIN\n{body}\nEND\n$fn$"
    )


def pgbench_function_script() -> str:
    return (
        "-- Generated by bench/pos_earn/sql.py: one POST /api/v1/purchases/ as one server-side function call.\n"
        "\\set mid random(1, :members)\n"
        f"SELECT {FUNCTION_NAME}(:mid, :store, :key_id);\n"
    )
