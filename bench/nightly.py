"""Benchmark of the nightly batch jobs at scale, against a hand-written set-based SQL baseline.

One run:
1. create a fresh PostgreSQL database (bench_nightly), `manage.py migrate` it, then load N members and
   P purchases (lines, channels, categories, returns, referrals, feedback, dates over two years
   ending at T0 = now) with set-based SQL (`INSERT ... SELECT generate_series`), with the secondary
   indexes and constraints dropped during the load and recreated identically afterwards (checked:
   the schema fingerprint must equal the migrated one). What the write path maintains per purchase
   (member aggregates, habits, ledger entries and points lots, tiers) is backfilled set-based, as a
   data migration would; stages and lapse dates are left to the initial full pass.
2. the INITIAL FULL PASS as of T0 (every job in NIGHTLY_ORDER with full=True), run by a real Celery
   worker (`celery -A loyalty worker --pool solo`) whose peak RSS is measured (/proc VmHWM);
3. the NIGHTLY RUN as of T1 = T0 + 1 day, in process (`jobs.services.job_run_now`, as
   `manage.py run_job nightly` does): promote_stages is incremental since the previous run;
4. the NO-CHANGE RERUN: the same jobs again as of T1, which must change and write nothing;
5. the BASELINE: one set-based SQL statement computing the stage of every member as of T1 with the
   rules of members/journey.py, timed; its per-stage counts must equal members_member's.
Prints a table, the ratios nightly/baseline and rerun/baseline, and PASS/FAIL against the targets
(nightly <= 1.0x baseline, rerun <= 0.2x baseline, worker peak RSS < 500 MB). The database is
dropped and the worker stopped at the end, also on errors and Ctrl-C (unless --keep).

    .venv/bin/python bench/nightly.py --members 10000 --purchases 100000     # quick check (default)
    .venv/bin/python bench/nightly.py --members 1000000 --purchases 10000000 # the full benchmark

Needs PostgreSQL and Redis on 127.0.0.1. Uses the checkout it lives in unless --project-dir says
otherwise (e.g. a git worktree of the commit to measure).
"""

import argparse
import contextlib
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
from pgdb import ScratchDatabase

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
TARGET_NIGHTLY = 1.0
TARGET_RERUN = 0.2
TARGET_RSS_MB = 500.0
CATEGORIES = ("coffee", "tea", "bakery", "snacks", "beans", "merch", "gifts", "equipment")
# (code, name, rank, threshold, earn multiplier): the programme's default tiers.
TIERS = (
    ("member", "Member", 1, 0, "1.00"),
    ("silver", "Silver", 2, 2000, "1.25"),
    ("gold", "Gold", 3, 8000, "1.50"),
    ("black", "Black", 4, 20000, "2.00"),
)
# Tables the loader fills; their indexes and key constraints are dropped during the load.
LOADED = (
    "stores_store",
    "tiers_tier",
    "members_member",
    "members_purchase",
    "members_purchaseline",
    "members_return",
    "members_returnline",
    "members_memberhabit",
    "rewards_ledgerentry",
    "rewards_pointslot",
    "rewards_lotconsumption",
    "feedback_feedback",
)
# Rows the jobs may write; a no-change rerun must leave all of them alone.
HISTORY_TABLES = (
    "members_stagechange",
    "tiers_tierchange",
    "messaging_outboxmessage",
    "rewards_ledgerentry",
    "rewards_lotconsumption",
)
UPDATED_TABLES = ("members_member", "rewards_pointslot")


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}Z] {msg}", flush=True)


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def cpu_busy(seconds: float = 2.0) -> float:
    """Share of all CPUs busy over the next `seconds` (0..1), from /proc/stat."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(1, total1 - total0)


class OtherCpu:
    """CPU used by everything but this benchmark while a step runs, as a share of all CPUs: other
    processes, and PostgreSQL backends of other databases. (This process, its children, and the
    backends and parallel workers of the benchmark database are ours; PostgreSQL's own background
    processes are left out.)"""

    def __init__(self, dbname: str):
        self.dbname = dbname
        self.ticks = os.sysconf("SC_CLK_TCK")

    def _others(self) -> dict[int, int]:
        mine = {os.getpid()}
        used = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            pid, ppid = int(entry.name), int(fields[1])
            if pid in mine or ppid in mine:
                continue
            if cmdline.startswith("postgres: "):
                title = cmdline.split(": ", 2)[-1]
                backend = re.match(r"\S+ (\S+) (\S+\(\d+\)|\[local\])", title)
                vacuum = re.match(r"autovacuum worker (\S+)", title)
                database = backend[1] if backend else vacuum[1] if vacuum else None
                if database is None or database == self.dbname:
                    continue  # ours, or the server's own processes (checkpointer, WAL writer, parallel workers)
            used[pid] = int(fields[11]) + int(fields[12])  # utime + stime
        return used

    def __enter__(self):
        self.before, self.started = self._others(), time.monotonic()
        return self

    def __exit__(self, *exc):
        after = self._others()
        seconds = time.monotonic() - self.started
        delta = sum(v - self.before.get(pid, 0) for pid, v in after.items())
        self.share = delta / self.ticks / max(seconds, 1e-6) / (os.cpu_count() or 1)
        return False


def settle(what: str, max_wait: float, threshold: float = 0.15) -> float:
    """Wait (up to max_wait seconds) until the machine is nearly idle before a timed step: this
    benchmark measures CPU-bound work on a shared machine. Returns the busy share found."""
    deadline = time.monotonic() + max_wait
    busy = cpu_busy()
    while busy > threshold and time.monotonic() < deadline:
        busy = cpu_busy(5.0)
    note = "" if busy <= threshold else f" (still busy after {max_wait:.0f}s: timings may be inflated)"
    log(f"{what}: other load {busy:.0%} of {os.cpu_count()} CPUs{note}")
    return busy


# --- database ------------------------------------------------------------------------------


class Db(ScratchDatabase):
    def __init__(self, args):
        super().__init__(
            host=args.pg_host, port=args.pg_port, user=args.pg_user, name=args.db_name, app_options=args.pg_options
        )
        self.timezone = "UTC"


def timed_query(conn, sql: str, params=None) -> tuple[list[tuple], float]:
    started = time.monotonic()
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
    return rows, time.monotonic() - started


# --- the data set --------------------------------------------------------------------------
#
# Everything about purchase p (lines, amounts, returns, points) is a pure function of its id, and
# everything about member m that the purchase generator does not need at random is a pure function
# of m: pg_temp.u(k, salt) is a uniform [0, 1) hash. The loader's statements can thus each be
# computed from one table without joins, and agree with each other.

SESSION_SETTINGS = """
SET synchronous_commit = off;
SET work_mem = '512MB';
SET maintenance_work_mem = '1GB';
SET max_parallel_maintenance_workers = 0;
SET synchronize_seqscans = off;
SET TimeZone = %(tz)s;
SELECT setseed(%(seed_unit)s);
"""
SESSION_FUNCTIONS = """
CREATE FUNCTION pg_temp.u(k bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ((hashint8extended(k, salt + {seed}) >> 11) & 9007199254740991)::float8 / 9007199254740992.0 $$;
-- lines per purchase: 1 (50%), 2 (30%), 3 (20%); quantity mostly 1; prices long-tailed 5..300.
-- Money in integer cents here (numeric arithmetic is slow), as numeric(12, 2) in the tables.
CREATE FUNCTION pg_temp.nl(p bigint) RETURNS int LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN pg_temp.u(p, 1) < 0.5 THEN 1 WHEN pg_temp.u(p, 1) < 0.8 THEN 2 ELSE 3 END $$;
CREATE FUNCTION pg_temp.qty(p bigint, j int) RETURNS int LANGUAGE sql IMMUTABLE
AS $$ SELECT 1 + floor(pg_temp.u(p, 10 + j) ^ 3 * 3)::int $$;
CREATE FUNCTION pg_temp.cents(p bigint, j int) RETURNS bigint LANGUAGE sql IMMUTABLE
AS $$ SELECT 500 + floor(29500 * pg_temp.u(p, 20 + j) ^ 2.5)::bigint $$;
CREATE FUNCTION pg_temp.amount_c(p bigint, j int) RETURNS bigint LANGUAGE sql IMMUTABLE
AS $$ SELECT pg_temp.qty(p, j) * pg_temp.cents(p, j) $$;
CREATE FUNCTION pg_temp.total_c(p bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
AS $$ SELECT pg_temp.amount_c(p, 0) + CASE WHEN pg_temp.nl(p) >= 2 THEN pg_temp.amount_c(p, 1) ELSE 0 END
    + CASE WHEN pg_temp.nl(p) >= 3 THEN pg_temp.amount_c(p, 2) ELSE 0 END $$;
-- returns: 1.5% of purchases fully, 2% partially (their first line, when they have several)
CREATE FUNCTION pg_temp.ret_kind(p bigint) RETURNS int LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN pg_temp.u(p, 60) < 0.015 THEN 2
    WHEN pg_temp.u(p, 60) < 0.035 AND pg_temp.nl(p) >= 2 THEN 1 ELSE 0 END $$;
-- the default earning policy (1 point per 10 spent, rounded down, no rules), and what a return
-- takes back: all of it, or round-half-up(earned x returned / total) (members.services)
CREATE FUNCTION pg_temp.reversed_of(kind int, total_c bigint, first_c bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE kind WHEN 2 THEN total_c / 1000
    WHEN 1 THEN (2 * (total_c / 1000) * first_c + total_c) / (2 * total_c) ELSE 0 END $$;
CREATE FUNCTION pg_temp.reversed(p bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
AS $$ SELECT pg_temp.reversed_of(pg_temp.ret_kind(p), pg_temp.total_c(p), pg_temp.amount_c(p, 0)) $$;
-- category index of line j: the member's favourite 60% of the time; distinct within a purchase
CREATE FUNCTION pg_temp.cat(p bigint, j int, m bigint) RETURNS int LANGUAGE sql IMMUTABLE
AS $$ SELECT ((CASE WHEN pg_temp.u(p, 30) < 0.6 THEN floor(pg_temp.u(m, 109) * 8)
    ELSE floor(pg_temp.u(p, 31) * 8) END)::int + j * (1 + floor(pg_temp.u(p, 32) * 3))::int) % 8 $$;
CREATE FUNCTION pg_temp.uuid(k bigint, salt int) RETURNS uuid LANGUAGE sql IMMUTABLE
AS $$ SELECT encode(int8send(hashint8extended(k, salt + {seed}))
    || int8send(hashint8extended(k, salt + 1 + {seed})), 'hex')::uuid $$;
"""

CATS_SQL = "ARRAY[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]::text[]"
# Purchase channel outside the member's own: 70% store, 20% online, 5% mail order, 5% phone.
CHANNEL_PICK = "(ARRAY[" + ", ".join(["'store'"] * 14 + ["'online'"] * 4 + ["'mail_order'", "'phone'"]) + "])"

LOAD_STORES = """
INSERT INTO stores_store (id, code, name, channel, city, active, created_at)
SELECT i, 'store-' || lpad(i::text, 3, '0'), 'Store ' || lpad(i::text, 3, '0'), 'store',
    (ARRAY['Shanghai', 'Beijing', 'Shenzhen', 'Hangzhou'])[1 + i %% 4], true, %(t0)s - interval '4 years'
FROM generate_series(1, %(stores)s) AS i
UNION ALL
SELECT %(stores)s + k, c, initcap(replace(c, '_', ' ')), c, '', true, %(t0)s - interval '4 years'
FROM unnest(ARRAY['online', 'mail_order', 'phone']) WITH ORDINALITY AS x(c, k);
-- A fresh database already has the default tiers (tiers migration 0002): the benchmark's own replace them.
DELETE FROM tiers_tier;
INSERT INTO tiers_tier (id, code, name, rank, threshold, earn_multiplier, benefits)
SELECT id, code, name, rank, threshold, multiplier, ''
FROM (VALUES {tiers}) AS t(id, code, name, rank, threshold, multiplier)
"""

# Per member: how many purchases (12% none, the rest lognormal, long-tailed, summing to exactly P),
# enrolment, the span they bought in (25% stopped buying at some point), favourite channel, home store.
LOAD_GEN_MEMBERS = """
CREATE UNLOGGED TABLE bench_gen_m AS
WITH w AS (
    SELECT i AS id, CASE WHEN pg_temp.u(i, 100) < 0.12 THEN 0::float8 ELSE least(80, exp(1.1 * sqrt(-2 * ln(greatest(
        pg_temp.u(i, 101), 1e-12))) * cos(2 * pi() * pg_temp.u(i, 102)))) END AS w
    FROM generate_series(1, %(members)s) AS i
), c AS (
    SELECT id, sum(w) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) AS cum, sum(w) OVER () AS total FROM w
), b AS (
    SELECT id, CASE WHEN id = %(members)s THEN %(purchases)s
        ELSE least(%(purchases)s, floor(cum * %(purchases)s / total))::bigint END AS bound FROM c
), e AS (
    SELECT id, bound, %(t0)s - pg_temp.u(id, 103) * interval '1095 days' AS enrolled_at FROM b
), s AS (
    SELECT id, bound, enrolled_at, greatest(enrolled_at, %(t0)s - interval '730 days') AS start_at FROM e
)
SELECT id, (bound - coalesce(lag(bound) OVER (ORDER BY id), 0))::int AS n, enrolled_at, start_at,
    CASE WHEN pg_temp.u(id, 104) < 0.25 THEN (%(t0)s - start_at) * pg_temp.u(id, 105)
         ELSE %(t0)s - start_at END AS span,
    CASE WHEN pg_temp.u(id, 107) < 0.70 THEN 'store' WHEN pg_temp.u(id, 107) < 0.88 THEN 'online'
         WHEN pg_temp.u(id, 107) < 0.94 THEN 'mail_order' ELSE 'phone' END AS channel,
    1 + floor(pg_temp.u(id, 108) * %(stores)s)::int AS home_store
FROM s
"""

# Purchases in time order (ids follow occurred_at, as production inserts them): first who bought
# when (a narrow unlogged table, sorted once), then the purchases themselves in two halves at once.
STAGE_PURCHASES = f"""
CREATE UNLOGGED TABLE bench_gen_p AS
SELECT row_number() OVER (ORDER BY occurred_at) AS id, member_id, occurred_at, channel, store
FROM (
    SELECT m.id AS member_id, m.start_at + m.span * random() AS occurred_at,
        CASE WHEN random() < 0.75 THEN m.channel ELSE {CHANNEL_PICK}[1 + floor(random() * 20)::int] END AS channel,
        CASE WHEN random() < 0.85 THEN m.home_store ELSE 1 + floor(random() * %(stores)s)::int END AS store
    FROM bench_gen_m AS m CROSS JOIN LATERAL generate_series(1, m.n) AS k
) AS g
"""
LOAD_PURCHASES = """
INSERT INTO members_purchase (id, public_id, receipt_id, channel, occurred_at, currency, total, returned_amount,
    points_earned, points_reversed, earn_note, created_at, member_id, store_id /*columns*/)
SELECT id, pg_temp.uuid(id, 200), 'R' || id, channel, occurred_at, 'CNY', total_c * 0.01,
    CASE kind WHEN 2 THEN total_c WHEN 1 THEN first_c ELSE 0 END * 0.01, total_c / 1000,
    pg_temp.reversed_of(kind, total_c, first_c), '', occurred_at, member_id,
    CASE channel WHEN 'store' THEN store WHEN 'online' THEN %(stores)s + 1 WHEN 'mail_order' THEN %(stores)s + 2
        ELSE %(stores)s + 3 END /*values*/
FROM (
    SELECT g.*, pg_temp.total_c(g.id) AS total_c, pg_temp.amount_c(g.id, 0) AS first_c, pg_temp.ret_kind(g.id) AS kind
    FROM bench_gen_p AS g WHERE g.id BETWEEN %(lo)s AND %(hi)s
    OFFSET 0  -- each figure once per row
) AS p
"""

LOAD_LINES = f"""
INSERT INTO members_purchaseline (sku, category, quantity, unit_price, returned_quantity, purchase_id)
SELECT c || '-' || (1 + floor(pg_temp.u(id, 50 + j) * 40))::int, c, q,
    pg_temp.cents(id, j) * 0.01,
    CASE WHEN returned_amount = total OR (returned_amount > 0 AND j = 0) THEN q ELSE 0 END, id
FROM (
    SELECT p.id, j, p.total, p.returned_amount, ({CATS_SQL})[1 + pg_temp.cat(p.id, j, p.member_id)] AS c,
        pg_temp.qty(p.id, j) AS q
    FROM members_purchase AS p CROSS JOIN LATERAL generate_series(0, pg_temp.nl(p.id) - 1) AS j
    WHERE p.id BETWEEN %(lo)s AND %(hi)s
) AS l
"""

# What purchase_record keeps per member and category/channel (habits_record): first, last, how often.
LOAD_HABITS = f"""
INSERT INTO members_memberhabit (dimension, value, first_at, last_at, purchases, member_id)
SELECT dimension, value, first_at, last_at, purchases, member_id FROM (
    SELECT member_id, 'channel' AS dimension, channel AS value, min(occurred_at) AS first_at,
        max(occurred_at) AS last_at, count(*) AS purchases
    FROM members_purchase WHERE member_id BETWEEN %(lo)s AND %(hi)s GROUP BY member_id, channel
    UNION ALL
    SELECT p.member_id, 'category', ({CATS_SQL})[1 + pg_temp.cat(p.id, j, p.member_id)], min(p.occurred_at),
        max(p.occurred_at), count(*)
    FROM members_purchase AS p CROSS JOIN LATERAL generate_series(0, pg_temp.nl(p.id) - 1) AS j
    WHERE p.member_id BETWEEN %(lo)s AND %(hi)s
    GROUP BY 1, 3
) AS h
"""

LOAD_RETURNS = """
INSERT INTO members_return (id, public_id, receipt_id, amount, points_reversed, created_at, purchase_id, store_id)
SELECT row_number() OVER (ORDER BY p.id), pg_temp.uuid(p.id, 300), 'X' || p.id, p.returned_amount, p.points_reversed,
    least(p.occurred_at + (1 + 13 * pg_temp.u(p.id, 61)) * interval '1 day', %(t0)s), p.id, p.store_id
FROM members_purchase AS p WHERE p.returned_amount > 0
"""

LOAD_RETURN_LINES = """
INSERT INTO members_returnline (quantity, purchase_line_id, return_record_id)
SELECT l.returned_quantity, l.id, r.id
FROM members_purchaseline AS l JOIN members_return AS r ON r.purchase_id = l.purchase_id
WHERE l.returned_quantity > 0
"""

# One earn entry per purchase that earned points (its id is the purchase's), one reverse entry per
# return that took points back (ids after them); balance_after is the running sum per member in id
# order. Lots expire after the default 24 months, in local time (rewards.earning.lot_expiry).
LOAD_LEDGER = """
INSERT INTO rewards_ledgerentry (id, kind, points, balance_after, expires_at, job, reason, created_at, api_key_id,
    member_id, purchase_id, return_record_id, staff_user_id, store_id, redemption_id)
SELECT id, kind, points, sum(points) OVER (PARTITION BY member_id ORDER BY id ROWS UNBOUNDED PRECEDING),
    expires_at, '', reason, created_at, NULL, member_id, purchase_id, return_id, NULL, store_id, NULL
FROM (
    SELECT p.id, 'earn' AS kind, p.points_earned AS points, p.occurred_at + interval '24 months' AS expires_at,
        '' AS reason, p.created_at, p.member_id, p.id AS purchase_id, NULL::bigint AS return_id, p.store_id
    FROM members_purchase AS p WHERE p.points_earned > 0 AND p.member_id BETWEEN %(lo)s AND %(hi)s
    UNION ALL
    SELECT %(purchases)s + r.id, 'reverse', -r.points_reversed, NULL, 'return', r.created_at, p.member_id, p.id, r.id,
        r.store_id
    FROM members_return AS r JOIN members_purchase AS p ON p.id = r.purchase_id
    WHERE r.points_reversed > 0 AND p.member_id BETWEEN %(lo)s AND %(hi)s
) AS e
"""

# A return takes its points from the purchase's own lot first (points_reverse_for_return). A lot's
# id is its entry's, which is its purchase's.
LOAD_LOTS = """
INSERT INTO rewards_pointslot (id, points, remaining, expires_at, entry_id, member_id)
SELECT e.id, e.points,
    e.points - CASE WHEN pg_temp.ret_kind(e.purchase_id) = 0 THEN 0 ELSE pg_temp.reversed(e.purchase_id) END,
    e.expires_at, e.id, e.member_id
FROM rewards_ledgerentry AS e WHERE e.kind = 'earn' AND e.id BETWEEN %(lo)s AND %(hi)s
"""

LOAD_LOT_CONSUMPTIONS = """
INSERT INTO rewards_lotconsumption (points, entry_id, lot_id)
SELECT -r.points, r.id, r.purchase_id FROM rewards_ledgerentry AS r WHERE r.kind = 'reverse' ORDER BY r.id
"""

# Columns later commits added to the loaded tables, with what the write path puts there: the loader
# fills them when the migrated schema has them, so it runs on both sides of the change.
OPTIONAL_COLUMNS = {
    "members_purchase": [("base_points", "total_c / 1000")],  # no earning rules: all points at the base rate
    "members_member": [("loyalty_type", "'none'")],  # placed by the place_loyalty_grid job
}


def with_optional_columns(db: "Db", table: str, sql: str) -> str:
    present = {
        r[0] for r in db.query("SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,))
    }
    extra = [(c, v) for c, v in OPTIONAL_COLUMNS[table] if c in present]
    sql = sql.replace("/*values*/", "".join(f", {v}" for _, v in extra))
    return sql.replace("/*columns*/", "".join(f", {c}" for c, _ in extra))


# Members with their aggregates (purchase_count: not fully returned; lifetime_spend: net of returns),
# 10% referred by another member, consents, engagement, a few suspended, and the tier matching
# their rolling 12-month spend, valid until a date spread over the next year (the first week
# already past, so requalify_tiers has work). Stage and lapse are left to the initial full pass.
LOAD_MEMBERS = """
INSERT INTO members_member (id, public_id, card_number, phone, email, name, birthday, enrolled_channel, enrolled_at,
    consent_email, consent_sms, consent_updated_at, interests, referral_code, status, suspended_reason, suspended_at,
    points_balance, lifetime_spend, purchase_count, first_purchase_at, last_purchase_at, updated_at,
    enrolled_store_id, referred_by_id, lapse_basis_at, lapse_due_at, lapse_state, last_engaged_at, stage,
    stage_changed_at, tier_id, tier_pin_reason, tier_pinned_until, tier_valid_until /*columns*/)
SELECT m.id, pg_temp.uuid(m.id, 400), '8' || lpad(m.id::text, 15, '0'), '+86139' || lpad(m.id::text, 8, '0'),
    CASE WHEN pg_temp.u(m.id, 110) < 0.7 THEN 'm' || m.id || '@example.com' ELSE '' END, 'Member ' || m.id,
    CASE WHEN pg_temp.u(m.id, 118) < 0.6 THEN date '1960-01-01' + floor(pg_temp.u(m.id, 119) * 16000)::int END,
    m.channel, m.enrolled_at, m.consent_email, m.consent_sms,
    CASE WHEN m.consent_email OR m.consent_sms THEN m.enrolled_at END, '[]', 'B' || lpad(m.id::text, 11, '0'),
    CASE WHEN m.suspended THEN 'suspended' ELSE 'active' END,
    CASE WHEN m.suspended THEN 'bench: suspected card sharing' ELSE '' END,
    CASE WHEN m.suspended THEN %(t0)s - pg_temp.u(m.id, 122) * interval '30 days' END,
    coalesce(a.balance, 0), coalesce(a.spend, 0), coalesce(a.qualifying, 0), a.first_at, a.last_at, %(t0)s,
    CASE WHEN m.channel = 'store' THEN m.home_store
         ELSE %(stores)s + array_position(ARRAY['online', 'mail_order', 'phone'], m.channel) END,
    CASE WHEN pg_temp.u(m.id, 111) < 0.10 THEN
        CASE WHEN m.referrer = m.id THEN m.id %% %(members)s + 1 ELSE m.referrer END END,
    NULL, NULL, 'active',
    CASE WHEN pg_temp.u(m.id, 113) < 0.10 THEN %(t0)s - pg_temp.u(m.id, 114) * interval '365 days' END,
    'prospect', NULL,
    CASE WHEN a.member_id IS NOT NULL THEN
        (SELECT t.id FROM tiers_tier AS t WHERE t.threshold <= a.spend_12m ORDER BY t.rank DESC LIMIT 1) END,
    '', NULL,
    CASE WHEN a.member_id IS NOT NULL THEN
        %(t0)s - interval '7 days' + pg_temp.u(m.id, 112) * interval '365 days' END /*values*/
FROM (
    SELECT g.*, pg_temp.u(g.id, 115) < 0.35 AS consent_email, pg_temp.u(g.id, 116) < 0.20 AS consent_sms,
        pg_temp.u(g.id, 117) < 0.002 AS suspended, 1 + floor(pg_temp.u(g.id, 121) * %(members)s)::bigint AS referrer
    FROM bench_gen_m AS g WHERE g.id BETWEEN %(lo)s AND %(hi)s
) AS m LEFT JOIN (
    SELECT member_id, count(*) FILTER (WHERE returned_amount < total) AS qualifying,
        sum(total - returned_amount) AS spend, min(occurred_at) AS first_at, max(occurred_at) AS last_at,
        sum(points_earned - points_reversed) AS balance,
        coalesce(sum(total - returned_amount) FILTER (WHERE occurred_at > %(t0)s - interval '365 days'), 0)
            AS spend_12m
    FROM members_purchase WHERE member_id BETWEEN %(lo)s AND %(hi)s GROUP BY member_id
) AS a ON a.member_id = m.id
"""

# NPS and comments from 5% of members (30% of them twice), created over two years up to T1, so a
# day's worth arrives between T0 and T1 for the incremental stage run to pick up.
LOAD_FEEDBACK = """
INSERT INTO feedback_feedback (id, source, nps, comment, created_at, member_id, store_id)
SELECT row_number() OVER (ORDER BY created_at, k), source, nps,
    CASE WHEN nps IS NULL OR pg_temp.u(k, 126) < 0.5 THEN 'Bench comment ' || k ELSE '' END, created_at, member_id, NULL
FROM (
    SELECT m.id AS member_id, m.id * 2 + r AS k,
        CASE WHEN pg_temp.u(m.id * 2 + r, 127) < 0.5 THEN 'pos' ELSE 'survey' END AS source,
        CASE WHEN pg_temp.u(m.id * 2 + r, 123) < 0.1 THEN NULL
             WHEN pg_temp.u(m.id * 2 + r, 124) < 0.45 THEN 9 + floor(pg_temp.u(m.id * 2 + r, 125) * 2)::int
             WHEN pg_temp.u(m.id * 2 + r, 124) < 0.75 THEN 7 + floor(pg_temp.u(m.id * 2 + r, 125) * 2)::int
             ELSE floor(pg_temp.u(m.id * 2 + r, 125) * 7)::int END AS nps,
        %(t1)s - pg_temp.u(m.id * 2 + r, 128) * interval '731 days' AS created_at
    FROM generate_series(1, %(members)s) AS m(id) CROSS JOIN generate_series(0, 1) AS r
    WHERE pg_temp.u(m.id, 120) < 0.05 AND (r = 0 OR pg_temp.u(m.id, 129) < 0.3)
) AS f
"""

# The schema the migrations made: every index, constraint and column default of the public schema.
FINGERPRINT_SQL = """
SELECT 'index', tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'default', table_name, column_name, column_default FROM information_schema.columns
WHERE table_schema = 'public' AND column_default IS NOT NULL
UNION ALL
SELECT 'constraint', conrelid::regclass::text, conname,
    pg_get_constraintdef(oid) || ' valid=' || convalidated || ' deferrable=' || condeferrable
        || ' deferred=' || condeferred
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
ORDER BY 1, 2, 3
"""

# Key constraints (primary, unique, foreign) touching the loaded tables, and their other indexes.
KEY_CONSTRAINTS_SQL = """
SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
FROM pg_constraint
WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'u', 'f')
  AND (conrelid::regclass::text = ANY(%(t)s) OR (contype = 'f' AND confrelid::regclass::text = ANY(%(t)s)))
"""
PLAIN_INDEXES_SQL = """
SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes AS i
WHERE i.schemaname = 'public' AND i.tablename = ANY(%(t)s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conname = i.indexname AND c.contype IN ('p', 'u'))
"""


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

BASELINE_STAGES = """
WITH pol AS (
    SELECT window_days * interval '24 hours' AS win, repeat_min_purchases AS rep, core_min_purchases AS core,
        core_min_categories AS cats, core_min_channels AS chans, advocate_min_nps AS nps
    FROM members_stagepolicy WHERE id = 1
), w AS (
    SELECT p.member_id, count(*) AS n FROM members_purchase AS p, pol
    WHERE p.occurred_at > %(as_of)s - pol.win AND p.occurred_at <= %(as_of)s AND p.returned_amount < p.total
    GROUP BY p.member_id
), h AS (
    SELECT h.member_id, count(*) FILTER (WHERE h.dimension = 'category') AS cats,
        count(*) FILTER (WHERE h.dimension = 'channel') AS chans
    FROM members_memberhabit AS h, pol WHERE h.last_at > %(as_of)s - pol.win GROUP BY h.member_id
), r AS (
    SELECT DISTINCT referred_by_id AS member_id FROM members_member
    WHERE referred_by_id IS NOT NULL AND purchase_count > 0
), f AS (
    SELECT member_id, (array_agg(nps ORDER BY created_at DESC, id DESC) FILTER (WHERE nps IS NOT NULL))[1] AS nps,
        bool_or(comment <> '') AS reviewed
    FROM feedback_feedback WHERE member_id IS NOT NULL GROUP BY member_id
), s AS (
    SELECT m.id, CASE
        WHEN coalesce(w.n, 0) >= pol.rep AND (r.member_id IS NOT NULL OR (f.nps >= pol.nps AND f.reviewed))
            THEN 'advocate'
        WHEN coalesce(w.n, 0) >= pol.core AND (coalesce(h.cats, 0) >= pol.cats OR coalesce(h.chans, 0) >= pol.chans)
            THEN 'core'
        WHEN coalesce(w.n, 0) >= pol.rep THEN 'repeat'
        WHEN m.purchase_count >= 1 THEN 'first_time'
        WHEN m.consent_email OR m.consent_sms OR m.last_engaged_at IS NOT NULL THEN 'target'
        ELSE 'prospect' END AS stage
    FROM members_member AS m CROSS JOIN pol
    LEFT JOIN w ON w.member_id = m.id LEFT JOIN h ON h.member_id = m.id
    LEFT JOIN r ON r.member_id = m.id LEFT JOIN f ON f.member_id = m.id
)
"""
BASELINE_COUNTS = BASELINE_STAGES + "SELECT stage, count(*) FROM s GROUP BY stage"
BASELINE_DIFF = BASELINE_STAGES + (
    "SELECT s.stage, m.stage, count(*) FROM s JOIN members_member AS m ON m.id = s.id "
    "WHERE s.stage <> m.stage GROUP BY 1, 2 ORDER BY 3 DESC"
)
STAGES = ("prospect", "target", "first_time", "repeat", "core", "advocate")


def stage_distribution(db: Db) -> dict[str, int]:
    return dict(db.query("SELECT stage, count(*) FROM members_member GROUP BY stage"))


def run_baseline(db: Db, as_of: datetime, repeats: int) -> tuple[dict[str, int], list[float]]:
    seconds, counts = [], {}
    with contextlib.closing(db.connect()) as conn:
        for _ in range(repeats):
            rows, took = timed_query(conn, BASELINE_COUNTS, {"as_of": as_of})
            seconds.append(took)
            counts = dict(rows)
    return counts, seconds


# --- the app ---------------------------------------------------------------------------------


def app_env(args, db: Db) -> dict:
    env = {
        **os.environ,
        "DEBUG": "False",
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
        "DATABASE_URL": db.url,
        "REDIS_URL": args.redis_url,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    if args.chunk_size:
        env["JOB_CHUNK_SIZE"] = str(args.chunk_size)
    return env


def manage(args, env: dict, *cmd: str) -> str:
    result = subprocess.run(
        [args.python, "manage.py", *cmd], cwd=args.project_dir, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def django_setup(args, env: dict) -> None:
    """Use the app in this process (the worker and the jobs read the same settings)."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    # Celery puts the working directory first on sys.path: make it the project being measured.
    os.chdir(args.project_dir)
    sys.path.insert(0, str(args.project_dir))
    import django

    django.setup()


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    result = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                result[key] = int(value.split()[0])
    return result


class Worker:
    """A real Celery worker (solo pool: the tasks run in the process whose memory is measured)."""

    def __init__(self, args, env: dict, logdir: Path):
        self.log_path = logdir / "celery-worker.log"
        self.log_file = self.log_path.open("w")
        cmd = [
            args.python, "-m", "celery", "-A", "loyalty", "worker", "--pool", "solo", "--loglevel", "INFO",
            "--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"bench_nightly_{os.getpid()}@%h",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd,
            cwd=args.project_dir,
            env={**env, "LOG_LEVEL": "INFO"},
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited ({self.proc.returncode}):\n{self.tail()}")
            if " ready." in self.log_path.read_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready after {timeout:.0f}s:\n{self.tail()}")

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.log_path.read_text().splitlines()[-n:])

    def memory(self) -> dict[str, int]:
        return proc_status(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # warm shutdown
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only what we started
                self.proc.wait(timeout=5)
        self.log_file.close()


def run_job_in_worker(worker: Worker, name: str, *, as_of: datetime, full: bool, timeout: float) -> dict:
    """What jobs.tasks.start_job does, with a chosen as_of: create the run and its chunks, then
    queue one jobs.run_chunk task per chunk for the worker. Waits until the run is done."""
    from jobs.models import JobRun, RunStatus
    from jobs.services import job_run_start
    from jobs.tasks import run_chunk

    started = time.monotonic()
    run, _ = job_run_start(name=name, as_of=as_of, full=full, triggered_by="bench nightly (worker)")
    for chunk_id in run.chunks.order_by("index").values_list("pk", flat=True):
        run_chunk.delay(chunk_id)
    peak_rss = 0
    while True:
        run = JobRun.objects.get(pk=run.pk)
        peak_rss = max(peak_rss, worker.memory().get("VmRSS", 0))
        if run.status != RunStatus.RUNNING:
            break
        if worker.proc.poll() is not None:
            raise RuntimeError(f"celery worker died during {name}:\n{worker.tail()}")
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{name} not done after {timeout:.0f}s ({run.chunks_done}/{run.chunks_total} chunks)")
        time.sleep(0.2)
    if run.status != RunStatus.DONE:
        raise RuntimeError(f"{name} {run.status} in the worker:\n{worker.tail()}")
    return job_row(run, time.monotonic() - started, rss_kb=peak_rss)


def job_row(run, seconds: float, rss_kb: int | None = None) -> dict:
    from jobs.models import JobChunk

    ends = list(JobChunk.objects.filter(run=run).order_by("finished_at").values_list("finished_at", flat=True))
    starts = [run.started_at, *ends][: len(ends)]
    chunk_seconds = [(b - a).total_seconds() for a, b in zip(starts, ends, strict=True)]
    return {
        "job": run.name,
        "examined": run.examined,
        "changed": run.changed,
        "seconds": seconds,
        "run_seconds": run.seconds,
        "since": run.since.isoformat() if run.since else None,
        "chunks": run.chunks_total,
        "chunk_median": statistics.median(chunk_seconds) if chunk_seconds else 0.0,
        "chunk_max": max(chunk_seconds, default=0.0),
        "rss_kb": rss_kb,
    }


def run_jobs_in_process(as_of: datetime, full: bool, label: str) -> list[dict]:
    from jobs.registry import NIGHTLY_ORDER
    from jobs.services import job_run_now

    rows = []
    for name in NIGHTLY_ORDER:
        summary = job_run_now(name=name, as_of=as_of, full=full, triggered_by=f"bench nightly ({label})")
        rows.append(job_row(summary.run, summary.seconds))
        log(f"  {summary.line()}")
    return rows


def xid_now(db: Db) -> int:
    return db.query("SELECT txid_current() % 4294967296")[0][0]


def writes_since(db: Db, xid: int, history: dict[str, int]) -> dict[str, int]:
    """Rows the jobs wrote after transaction `xid`: new history rows, updated members and lots."""
    written = {t: n - history[t] for t, n in history_counts(db).items()}
    for table in UPDATED_TABLES:
        written[f"{table} (updated)"] = db.query(f"SELECT count(*) FROM {table} WHERE xmin::text::bigint > %s", (xid,))[
            0
        ][0]
    return written


def history_counts(db: Db) -> dict[str, int]:
    return dict(db.query(" UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in HISTORY_TABLES)))


# --- report --------------------------------------------------------------------------------


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join(lines)


def report(args, result: dict) -> bool:
    rows = []
    for step, key in (
        ("initial full pass T0", "initial"),
        ("nightly run T1", "nightly"),
        ("no-change rerun T1", "rerun"),
    ):
        if not result.get(key):
            continue
        for r in result[key]:
            rss = f"{r['rss_kb'] / 1024:.0f}" if r.get("rss_kb") else ""
            rows.append(
                [step, r["job"], r["examined"], r["changed"], r["chunks"], f"{r['chunk_median']:.2f}",
                 f"{r['chunk_max']:.2f}", rss, f"{r['seconds']:.2f}"]
            )  # fmt: skip
        total = sum(r["seconds"] for r in result[key])
        rows.append([step, "= whole run", "", sum(r["changed"] for r in result[key]), "", "", "", "", f"{total:.2f}"])
    base = result["baseline"]
    members, purchases = result["counts"]["members_member"], result["counts"]["members_purchase"]
    rows.append(["baseline SQL T1", "stages, set-based", members, "", "", "", "", "", f"{base['seconds']:.2f}"])
    print()
    options = f", app connections with {args.pg_options!r}" if args.pg_options else ""
    print(
        f"nightly jobs at {members:,} members / {purchases:,} purchases "
        f"(chunk size {result['chunk_size']}{options}, T0 {result['t0']}, T1 = T0 + 1 day)"
    )
    header = ["step", "job", "examined", "changed", "chunks", "chunk p50 s", "chunk max s", "peak RSS MB", "seconds"]
    print(table(rows, header))
    print(f"  baseline runs: {', '.join(f'{s:.2f}' for s in base['runs'])} s (median reported)")
    before = ", ".join(f"{step} {share:.0%}" for step, share in result["other_load"].items())
    during = ", ".join(f"{step} {share:.0%}" for step, share in result.get("other_during", {}).items())
    print(f"  CPU used by other processes (share of all CPUs): before each step {before}; during {during}")
    print()
    print("stage distribution (members_member after the nightly run vs baseline SQL as of T1):")
    srows = [[s, "", result["stages_app"].get(s, 0), base["counts"].get(s, 0)] for s in STAGES]
    print(table(srows, ["stage", "", "app", "baseline"]))
    print(f"  per-member differences: {result['baseline_diff'] or 'none'}")
    print(f"  writes by the no-change rerun: {result['rerun_writes']}")
    nightly = sum(r["seconds"] for r in result["nightly"])
    rerun = sum(r["seconds"] for r in result["rerun"])
    ratio_nightly, ratio_rerun = nightly / base["seconds"], rerun / base["seconds"]
    rss_mb = result["worker_rss_kb"] / 1024 if result.get("worker_rss_kb") else None
    matched = result["stages_app"] == base["counts"] and not result["baseline_diff"]
    quiet = not any(result["rerun_writes"].values()) and not any(r["changed"] for r in result["rerun"])
    checks = [
        (f"nightly / baseline = {ratio_nightly:.2f}x (target <= {TARGET_NIGHTLY}x)", ratio_nightly <= TARGET_NIGHTLY),
        (f"no-change rerun / baseline = {ratio_rerun:.2f}x (target <= {TARGET_RERUN}x)", ratio_rerun <= TARGET_RERUN),
        (
            f"worker peak RSS = {rss_mb:.0f} MB over {result['worker_measured']} (target < {TARGET_RSS_MB:.0f} MB)"
            if rss_mb
            else "worker peak RSS: not measured in this run (--no-worker or --reuse)",
            None if rss_mb is None else rss_mb < TARGET_RSS_MB,
        ),
        ("baseline stage counts equal the app's", matched),
        ("no-change rerun changed and wrote nothing", quiet),
    ]
    print()
    for text, ok in checks:
        print(f"  {'SKIP' if ok is None else 'PASS' if ok else 'FAIL'}  {text}")
    result["ratios"] = {"nightly": ratio_nightly, "rerun": ratio_rerun}
    return all(ok is not False for _, ok in checks)


# --- main ----------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--purchases", type=int, default=100_000)
    parser.add_argument("--stores", type=int, default=40, help="physical stores (plus online, mail order, phone)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk-size", type=int, default=0, help="JOB_CHUNK_SIZE for the jobs (default: the app's)")
    parser.add_argument("--baseline-repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="parallel connections for the load")
    parser.add_argument("--no-worker", action="store_true", help="run the initial pass in process, not in Celery")
    parser.add_argument("--no-check", action="store_true", help="skip the invariant checks of the loaded data")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the next night on a database kept by --keep (nightly, rerun and baseline one day after "
        "its last run); keeps the database",
    )
    parser.add_argument(
        "--pg-options", default="", help='PostgreSQL options for the app\'s connections, e.g. "-c jit=off"'
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--db-name", default="bench_nightly")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--job-timeout", type=float, default=3600, help="seconds one job may take in the worker")
    parser.add_argument(
        "--settle", type=float, default=300, help="seconds to wait for an idle machine before each timed step"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if not args.db_name.startswith("bench_nightly"):
        parser.error("--db-name must start with bench_nightly")
    if args.members < 10 or args.purchases < 1:
        parser.error("at least 10 members and 1 purchase")
    return args


def prepare(args, db: Db, env: dict, t0: datetime, t1: datetime, result: dict) -> None:
    """Create, migrate and load the database, and check the loaded data."""
    db.recreate()
    started = time.monotonic()
    manage(args, env, "migrate", "--verbosity", "0")
    log(f"created {db.name} and migrated in {time.monotonic() - started:.1f}s")
    log(f"loading {args.members:,} members and {args.purchases:,} purchases ending at T0 = {t0:%Y-%m-%d %H:%M}Z")
    started = time.monotonic()
    result["load"] = load(args, db, t0, t1)
    result["load"]["total"] = time.monotonic() - started
    result["counts"] = table_counts(db)
    log(f"loaded in {result['load']['total']:.1f}s: {result['counts']}")
    result["data"] = data_profile(db, t0, t1)
    log(f"data: {json.dumps(result['data'])}")
    if not args.no_check:
        result["check"] = check_data(db)
        log(f"invariants of the loaded data: {result['check']}")
        if not result["check"]["ok"]:
            raise RuntimeError("the loaded data breaks the app's invariants")


def initial_pass(args, db: Db, env: dict, t0: datetime, result: dict, logdir: Path) -> None:
    """Every job with full=True as of T0: the backfill of stages, lapse dates, due tiers and lots.
    Run by a real Celery worker whose peak RSS is the memory figure (unless --no-worker)."""
    log(f"1. initial full pass as of T0 ({'in process' if args.no_worker else 'Celery worker, solo pool'})")
    if args.no_worker:
        result["initial"] = run_jobs_in_process(t0, True, "initial")
    else:
        from jobs.registry import NIGHTLY_ORDER
        from loyalty.celery import app as celery_app

        celery_app.control.purge()
        worker = Worker(args, env, logdir)
        try:
            worker.wait_ready()
            result["worker_rss_start_kb"] = worker.memory().get("VmRSS")
            result["initial"] = []
            for name in NIGHTLY_ORDER:
                row = run_job_in_worker(worker, name, as_of=t0, full=True, timeout=args.job_timeout)
                result["initial"].append(row)
                log(f"  {name}: examined {row['examined']}, changed {row['changed']}, {row['seconds']:.2f}s")
            result["worker_rss_kb"] = worker.memory().get("VmHWM")
            result["worker_measured"] = "the initial full pass"
            log(
                f"  worker RSS: {result['worker_rss_start_kb'] / 1024:.0f} MB at start, "
                f"peak {result['worker_rss_kb'] / 1024:.0f} MB"
            )
        except BaseException:
            if worker.proc.poll() is not None or "Traceback" in worker.log_path.read_text():
                log(f"worker log:\n{worker.tail()}")
            raise
        finally:
            worker.stop()
            with contextlib.suppress(Exception):
                celery_app.control.purge()
    result["stages_t0"] = stage_distribution(db)
    log(f"  stages as of T0: {result['stages_t0']}")
    # What autovacuum does between nights after a backfill: clean up the updated rows.
    started = time.monotonic()
    tables = ("members_member", "rewards_pointslot", *HISTORY_TABLES)
    Pool(db, args.jobs, lambda conn: None).run([(t, [], [(f"VACUUM ANALYZE {t}", None)]) for t in tables])
    db.query("CHECKPOINT")
    log(f"  vacuum analyze after the backfill: {time.monotonic() - started:.1f}s")


def main(argv=None) -> int:
    args = parse_args(argv)
    args.keep = args.keep or args.reuse
    db = Db(args)
    env = app_env(args, db)
    # Ctrl-C and SIGTERM both unwind through the finally blocks: the worker stops, the database goes.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    t0 = datetime.now(UTC).replace(microsecond=0)
    t1 = t0 + timedelta(days=1)
    result: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "t0": t0.isoformat(), "t1": t1.isoformat()}
    busy = result["other_load"] = {}
    ok = False
    with tempfile.TemporaryDirectory(prefix="bench_nightly_") as tmp:
        try:
            log(f"load average {loadavg():.2f} on {os.cpu_count()} CPUs; project {args.project_dir}")
            django_setup(args, env)
            from django.conf import settings

            db.timezone = settings.TIME_ZONE
            result["chunk_size"] = settings.JOB_CHUNK_SIZE
            if args.reuse:
                t0 = db.query("SELECT max(as_of) FROM jobs_jobrun WHERE status = 'done'")[0][0]
                if t0 is None:
                    raise RuntimeError(f"no finished job run in {db.name}: run with --keep first")
                t1 = t0 + timedelta(days=1)
                result.update(t0=t0.isoformat(), t1=t1.isoformat(), counts=table_counts(db))
                log(f"reusing {db.name}: its last run was as of {t0:%Y-%m-%d %H:%M}Z; the next night is T1")
            else:
                prepare(args, db, env, t0, t1, result)
                busy["initial"] = settle("before the initial full pass", args.settle)
                initial_pass(args, db, env, t0, result, Path(tmp))

            # 2. the nightly run as of T1, incremental
            busy["nightly"] = settle("before the nightly run", args.settle)
            log("2. nightly run as of T1 (in process)")
            with OtherCpu(db.name) as other:
                result["nightly"] = run_jobs_in_process(t1, False, "nightly")
            result["other_during"] = {"nightly": other.share}
            result["stages_app"] = stage_distribution(db)

            # 3. the same again: nothing may change
            busy["rerun"] = settle("before the rerun", args.settle)
            log("3. no-change rerun as of T1 (in process)")
            before, xid = history_counts(db), xid_now(db)
            with OtherCpu(db.name) as other:
                result["rerun"] = run_jobs_in_process(t1, False, "rerun")
            result["other_during"]["rerun"] = other.share
            result["rerun_writes"] = writes_since(db, xid, before)

            # 4. the baseline, with the server's default settings
            busy["baseline"] = settle("before the baseline", args.settle)
            log(f"4. baseline SQL as of T1 ({args.baseline_repeats} runs)")
            with OtherCpu(db.name) as other:
                counts, seconds = run_baseline(db, t1, args.baseline_repeats)
            result["other_during"]["baseline"] = other.share
            result["baseline"] = {"counts": counts, "runs": seconds, "seconds": statistics.median(seconds)}
            result["baseline_diff"] = [list(r) for r in db.query(BASELINE_DIFF, {"as_of": t1})]
            ok = report(args, result)
        except KeyboardInterrupt:
            log("interrupted")
            return 130
        finally:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            if not args.keep:
                with contextlib.suppress(psycopg2.Error):
                    db.drop()
                    log(f"dropped {db.name}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
