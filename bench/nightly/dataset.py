"""The nightly benchmark's data set as SQL: everything about purchase p (lines, amounts, returns,
points) is a pure function of its id, and everything about member m that the purchase generator
does not need at random is a pure function of m: pg_temp.u(k, salt) is a uniform [0, 1) hash. The
loader's statements can thus each be computed from one table without joins, and agree."""

from . import CATEGORIES, Db

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
