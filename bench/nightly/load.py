"""Loading the nightly benchmark's database set-based (indexes and keys dropped during the load and
recreated identically), and checking the loaded data against the app's invariants."""

import contextlib
import threading
import time
from datetime import datetime, timedelta

from bench.harness import log

from . import LOADED, TIERS, Db
from .dataset import (
    FINGERPRINT_SQL,
    KEY_CONSTRAINTS_SQL,
    LOAD_FEEDBACK,
    LOAD_GEN_MEMBERS,
    LOAD_HABITS,
    LOAD_LEDGER,
    LOAD_LINES,
    LOAD_LOT_CONSUMPTIONS,
    LOAD_LOTS,
    LOAD_MEMBERS,
    LOAD_PURCHASES,
    LOAD_RETURN_LINES,
    LOAD_RETURNS,
    LOAD_STORES,
    PLAIN_INDEXES_SQL,
    SESSION_FUNCTIONS,
    SESSION_SETTINGS,
    STAGE_PURCHASES,
    with_optional_columns,
)


class Pool:
    """Run SQL tasks with dependencies on `size` connections in parallel (PostgreSQL does the work)."""

    def __init__(self, db: Db, size: int, prelude):
        self.db, self.size, self.prelude = db, size, prelude

    def run(self, tasks: list[tuple[str, list[str], list[tuple[str, dict | None]]]]) -> dict[str, float]:
        """tasks: (name, dependencies, statements); returns seconds per task. The first failure stops all."""
        pending = {name: (set(deps), stmts) for name, deps, stmts in tasks}
        order = [name for name, _, _ in tasks]
        done: dict[str, float] = {}
        running: set[str] = set()
        lock, wake = threading.Lock(), threading.Condition(threading.Lock())
        errors: list[BaseException] = []

        def next_task():
            for name in order:
                if name not in done and name not in running and pending[name][0].issubset(done):
                    running.add(name)
                    return name
            return None

        def worker():
            try:
                conn = self.db.connect()
                self.prelude(conn)
            except BaseException as exc:
                errors.append(exc)
                with wake:
                    wake.notify_all()
                return
            with contextlib.closing(conn):
                while True:
                    with wake:
                        while True:
                            if errors:
                                return
                            with lock:
                                name = next_task()
                                left = bool(pending.keys() - done.keys())
                            if name or not left:
                                break
                            wake.wait(0.5)
                    if name is None:
                        return
                    started = time.monotonic()
                    try:
                        with conn.cursor() as cur:
                            for sql, params in pending[name][1]:
                                cur.execute(sql, params)
                    except BaseException as exc:
                        errors.append(exc)
                        with wake:
                            wake.notify_all()
                        return
                    seconds = time.monotonic() - started
                    if seconds >= 0.5:
                        log(f"  {name}: {seconds:.1f}s")
                    with lock:
                        done[name] = seconds
                        running.discard(name)
                    with wake:
                        wake.notify_all()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return done


def session_prelude(db: Db, seed: int):
    functions = SESSION_FUNCTIONS.replace("{seed}", str(seed))

    def prelude(conn):
        with conn.cursor() as cur:
            cur.execute(SESSION_SETTINGS, {"tz": db.timezone, "seed_unit": (seed % 1000) / 1000})
            cur.execute(functions)

    return prelude


def temporary_defaults(db: Db) -> list[tuple[str, str]]:
    """Columns of the loaded tables that are NOT NULL without a database default (Django keeps
    defaults in Python) get their model field's constant default for the load, so columns added by
    later commits need no change here. Returns the (table, column) pairs to reset afterwards."""
    import json as jsonlib

    from django.apps import apps
    from django.db.models.fields import NOT_PROVIDED

    fields = {
        (model._meta.db_table, field.column): field
        for model in apps.get_models()
        for field in model._meta.concrete_fields
    }
    missing = db.query(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = ANY(%s) AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'",
        (list(LOADED),),
    )
    done = []
    for table, column in missing:
        field = fields.get((table, column))
        default = field.default if field is not None else NOT_PROVIDED
        if default is NOT_PROVIDED or (callable(default) and default not in (list, dict)):
            continue  # the loader's statements fill these
        value = default() if callable(default) else default
        literal = jsonlib.dumps(value) if isinstance(value, list | dict) else value
        db.query(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET DEFAULT %s', (literal,))
        done.append((table, column))
    return done


def load(args, db: Db, t0: datetime, t1: datetime) -> dict:
    """Fill the migrated database; returns phase timings and row counts."""
    params = {"t0": t0, "t1": t1, "members": args.members, "purchases": args.purchases, "stores": args.stores}
    timings: dict[str, float] = {}
    with contextlib.closing(db.connect()) as conn, conn.cursor() as cur:
        cur.execute(FINGERPRINT_SQL)
        fingerprint = cur.fetchall()
        cur.execute(KEY_CONSTRAINTS_SQL, {"t": list(LOADED)})
        constraints = cur.fetchall()
        cur.execute(PLAIN_INDEXES_SQL, {"t": list(LOADED)})
        indexes = cur.fetchall()
        for table, name, _, _ in sorted(constraints, key=lambda c: c[2] != "f"):  # foreign keys first
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT IF EXISTS "{name}"')
        for _, name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        log(f"dropped {len(constraints)} key constraints and {len(indexes)} indexes of {len(LOADED)} tables")

    tiers = ", ".join(f"({i}, '{c}', '{n}', {r}, {t}, {m})" for i, (c, n, r, t, m) in enumerate(TIERS, 1))

    def halves(name: str, deps: list[str], sql: str, total: int) -> list[tuple]:
        """The same statement over two halves of an id range, to keep both connections busy."""
        mid = total // 2
        return [
            (f"{name} {k}", deps, [(sql, {**params, "lo": lo, "hi": hi})])
            for k, (lo, hi) in enumerate([(1, mid), (mid + 1, total)], 1)
        ]

    def both(name: str) -> list[str]:
        return [f"{name} 1", f"{name} 2"]

    members, purchases = args.members, args.purchases
    defaults = temporary_defaults(db)
    if defaults:
        log(f"  temporary column defaults from the models: {', '.join(f'{t}.{c}' for t, c in defaults)}")
    started = time.monotonic()
    tasks = [
        ("gen_members", [], [(LOAD_GEN_MEMBERS, params), ("ANALYZE bench_gen_m", None)]),
        ("stores_tiers", [], [(LOAD_STORES.format(tiers=tiers), params)]),
        ("stage_purchases", ["gen_members"], [(STAGE_PURCHASES, params)]),
        ("feedback", ["gen_members"], [(LOAD_FEEDBACK, params)]),
        *halves(
            "purchases", ["stage_purchases"], with_optional_columns(db, "members_purchase", LOAD_PURCHASES), purchases
        ),
        ("analyze_purchases", both("purchases"), [("ANALYZE members_purchase", None)]),
        ("returns", ["analyze_purchases"], [(LOAD_RETURNS, params), ("ANALYZE members_return", None)]),
        *halves("ledger", ["returns"], LOAD_LEDGER, members),
        *halves("lines", ["analyze_purchases"], LOAD_LINES, purchases),
        *halves("habits", ["analyze_purchases"], LOAD_HABITS, members),
        *halves(
            "members",
            ["analyze_purchases", "stores_tiers"],
            with_optional_columns(db, "members_member", LOAD_MEMBERS),
            members,
        ),
        *halves("lots", both("ledger"), LOAD_LOTS, purchases),
        ("lot_consumptions", both("ledger"), [(LOAD_LOT_CONSUMPTIONS, params)]),
        ("return_lines", [*both("lines"), "returns"], [(LOAD_RETURN_LINES, params)]),
    ]
    timings.update(Pool(db, args.jobs, session_prelude(db, args.seed)).run(tasks))
    timings["rows"] = time.monotonic() - started
    db.query("DROP TABLE bench_gen_m, bench_gen_p")
    for table, column in defaults:
        db.query(f'ALTER TABLE {table} ALTER COLUMN "{column}" DROP DEFAULT')

    # Per table (biggest first): its primary and unique keys one after the other (each takes the
    # table exclusively), then its indexes; two connections at a time. Foreign keys last: added
    # NOT VALID, then validated, which makes them exactly what the migrations created.
    started = time.monotonic()
    size = dict(
        db.query("SELECT relname, pg_relation_size(oid) FROM pg_class WHERE relname = ANY(%s)", (list(LOADED),))
    )
    tasks = []
    for table in sorted(LOADED, key=lambda t: -size.get(t, 0)):
        keys = [c for c in constraints if c[0] == table and c[2] in "pu"]
        previous: list[str] = []
        for _, name, _, definition in sorted(keys, key=lambda c: c[2] != "p"):
            tasks.append(
                (f"key {name}", previous, [(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}', None)])
            )
            previous = [f"key {name}"]
        tasks += [(f"index {name}", previous, [(sql, None)]) for t, name, sql in indexes if t == table]
    timings.update(Pool(db, args.jobs, session_prelude(db, args.seed)).run(tasks))
    timings["keys_indexes"] = time.monotonic() - started
    started = time.monotonic()
    foreign = [c for c in constraints if c[2] == "f"]
    with contextlib.closing(db.connect()) as conn, conn.cursor() as cur:
        for table, name, _, definition in foreign:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition} NOT VALID')
        for table in LOADED:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
            )
    # Validating takes no lock that blocks another validation, so two run at once.
    Pool(db, args.jobs, lambda conn: None).run(
        [(f"validate {name}", [], [(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"', None)])
         for table, name, _, _ in sorted(foreign, key=lambda c: -size.get(c[0], 0))]
    )  # fmt: skip
    if db.query(FINGERPRINT_SQL) != fingerprint:
        raise RuntimeError("the schema after the load differs from the migrated one")
    timings["foreign_keys"] = time.monotonic() - started
    log(f"  foreign keys: {timings['foreign_keys']:.1f}s; schema identical to the migrated one")
    started = time.monotonic()
    Pool(db, args.jobs, lambda conn: None).run([(f"vacuum {t}", [], [(f"VACUUM ANALYZE {t}", None)]) for t in LOADED])
    db.query("CHECKPOINT")
    timings["vacuum"] = time.monotonic() - started
    return timings


def table_counts(db: Db) -> dict[str, int]:
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in LOADED)
    return dict(db.query(sql))


# Invariants of the loaded data (as the app's tests check them): balances, lots, aggregates, habits.
CHECK_SQL = """
WITH e AS (SELECT member_id, sum(points) AS points, count(*) AS n FROM rewards_ledgerentry GROUP BY member_id),
     l AS (SELECT member_id, sum(remaining) AS remaining FROM rewards_pointslot GROUP BY member_id),
     p AS (SELECT member_id, count(*) FILTER (WHERE returned_amount < total) AS n,
                  sum(total - returned_amount) AS spend, max(occurred_at) AS last_at FROM members_purchase GROUP BY 1),
     h AS (SELECT member_id, max(last_at) AS last_at, sum(purchases) FILTER (WHERE dimension = 'channel') AS n
           FROM members_memberhabit GROUP BY 1),
     a AS (SELECT member_id, count(*) AS n FROM members_purchase GROUP BY 1)
SELECT count(*) FILTER (WHERE m.points_balance <> coalesce(e.points, 0)),
       count(*) FILTER (WHERE coalesce(l.remaining, 0) <> greatest(m.points_balance, 0)),
       count(*) FILTER (WHERE m.purchase_count <> coalesce(p.n, 0) OR m.lifetime_spend <> coalesce(p.spend, 0)),
       count(*) FILTER (WHERE m.last_purchase_at IS DISTINCT FROM p.last_at OR h.last_at IS DISTINCT FROM p.last_at),
       count(*) FILTER (WHERE coalesce(h.n, 0) <> coalesce(a.n, 0))
FROM members_member AS m LEFT JOIN e ON e.member_id = m.id LEFT JOIN l ON l.member_id = m.id
LEFT JOIN p ON p.member_id = m.id LEFT JOIN h ON h.member_id = m.id LEFT JOIN a ON a.member_id = m.id
"""
BALANCE_CHAIN_SQL = """
SELECT count(*) FROM (
    SELECT balance_after, sum(points) OVER (PARTITION BY member_id ORDER BY id) AS running FROM rewards_ledgerentry
) AS x WHERE balance_after <> running
"""


def check_data(db: Db) -> dict:
    balance, lots, aggregates, last, habits = db.query(CHECK_SQL)[0]
    chain = db.query(BALANCE_CHAIN_SQL)[0][0]
    result = {
        "balance": balance,
        "lots": lots,
        "aggregates": aggregates,
        "last_purchase": last,
        "habit_counts": habits,
        "balance_after_chain": chain,
    }
    result["ok"] = not any(result.values())
    return result


def data_profile(db: Db, t0: datetime, t1: datetime) -> dict:
    """A few shape figures of the generated data, printed so the set can be judged."""
    ((buyers, zero, p50, p90, p99, pmax),) = db.query(
        """SELECT count(*) FILTER (WHERE n > 0), count(*) FILTER (WHERE n = 0),
                  percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FILTER (WHERE n > 0),
                  percentile_disc(0.9) WITHIN GROUP (ORDER BY n) FILTER (WHERE n > 0),
                  percentile_disc(0.99) WITHIN GROUP (ORDER BY n) FILTER (WHERE n > 0), max(n)
           FROM (SELECT m.id, count(p.id) AS n FROM members_member AS m
                 LEFT JOIN members_purchase AS p ON p.member_id = m.id GROUP BY m.id) AS x"""
    )
    channels = dict(db.query("SELECT channel, count(*) FROM members_purchase GROUP BY 1 ORDER BY 2 DESC"))
    ((returned_full, returned_part),) = db.query(
        "SELECT count(*) FILTER (WHERE returned_amount = total), count(*) FILTER (WHERE returned_amount > 0 "
        "AND returned_amount < total) FROM members_purchase"
    )
    tiers = dict(
        db.query(
            "SELECT coalesce(t.code, '-'), count(*) FROM members_member AS m "
            "LEFT JOIN tiers_tier AS t ON t.id = m.tier_id GROUP BY 1 ORDER BY 2 DESC"
        )
    )
    ((tier_due_t0, tier_due_t1),) = db.query(
        "SELECT count(*) FILTER (WHERE tier_valid_until <= %s), count(*) FILTER (WHERE tier_valid_until > %s "
        "AND tier_valid_until <= %s) FROM members_member",
        (t0, t0, t1),
    )
    ((lots_due_t0, lots_due_t1),) = db.query(
        "SELECT count(*) FILTER (WHERE expires_at <= %s), count(*) FILTER (WHERE expires_at > %s "
        "AND expires_at <= %s) FROM rewards_pointslot WHERE remaining > 0",
        (t0, t0, t1),
    )
    ((referred, feedback_t1),) = db.query(
        "SELECT (SELECT count(*) FROM members_member WHERE referred_by_id IS NOT NULL), "
        "(SELECT count(*) FROM feedback_feedback WHERE created_at > %s)",
        (t0,),
    )
    ((leaving,),) = db.query(
        "SELECT count(DISTINCT member_id) FROM members_purchase WHERE occurred_at > %s AND occurred_at <= %s",
        (t0 - timedelta(days=365), t1 - timedelta(days=365)),
    )
    return {
        "buyers": buyers,
        "members_without_purchase": zero,
        "purchases_per_buyer_p50_p90_p99_max": [p50, p90, p99, pmax],
        "channels": channels,
        "returned_full_partial": [returned_full, returned_part],
        "tiers": tiers,
        "tier_validity_ended_by_t0_and_in_t0_t1": [tier_due_t0, tier_due_t1],
        "open_lots_due_by_t0_and_in_t0_t1": [lots_due_t0, lots_due_t1],
        "referred_members": referred,
        "feedback_in_t0_t1": feedback_t1,
        "members_with_purchases_leaving_window_t0_t1": leaving,
    }


# --- the baseline: every member's stage as of T1, set-based -------------------------------------
#
# The rules of members/journey.py: with_stage_figures (window purchases not fully returned in
# (as_of - window, as_of]; categories and channels whose habit's last_at is inside the window; a
# referred member with a qualifying purchase; the latest NPS answer and whether any comment was
# left) and stage_for (highest rule first).
