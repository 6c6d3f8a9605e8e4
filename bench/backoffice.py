"""Benchmark of the back office's key pages at scale: server time of each page, through Django's
test client (the whole stack: middleware, admin, templates, queries), signed in as a superuser.

One run:
1. create a fresh PostgreSQL database (bench_backoffice), `manage.py migrate` it, and load N members
   with purchases (0 to 4 each), an earn ledger entry and a points lot per purchase, a few
   complaints, with set-based SQL (`INSERT ... SELECT generate_series`); then ANALYZE, as
   autovacuum would have;
2. in this process, time every page in PAGES: a few warm-up requests, then --runs requests each;
3. print per page the median, p95 and max milliseconds, and PASS/FAIL against the targets: member
   searches (phone in any spelling, card, member id, email, name start) <= 100 ms, every page
   <= 500 ms p95.
The database is dropped at the end, also on errors (unless --keep).

    .venv/bin/python bench/backoffice.py --members 100000              # quick check (default)
    .venv/bin/python bench/backoffice.py --members 1000000 --runs 30   # the full benchmark

Needs PostgreSQL on 127.0.0.1 (--host/--port). Uses the checkout it lives in.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pgdb import ScratchDatabase

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
TARGET_SEARCH_MS = 100.0
TARGET_PAGE_P95_MS = 500.0
STORES = 20

LOAD = """
SET synchronous_commit = off;
SET work_mem = '256MB';
INSERT INTO stores_store (id, code, name, channel, city, active, created_at)
SELECT i, 'store-' || lpad(i::text, 3, '0'), '门店 ' || i, 'store', '上海', true, now() - interval '4 years'
FROM generate_series(1, {stores}) AS i;

INSERT INTO members_member (id, public_id, card_number, phone, email, name, birthday, enrolled_channel, enrolled_at,
    consent_email, consent_sms, consent_updated_at, interests, language, referral_code, status, suspended_reason,
    suspended_at, points_balance, lifetime_spend, purchase_count, first_purchase_at, last_purchase_at, updated_at,
    enrolled_store_id, referred_by_id, lapse_basis_at, lapse_due_at, lapse_state, last_engaged_at, stage,
    stage_changed_at, tier_id, tier_pin_reason, tier_pinned_until, tier_valid_until, loyalty_type)
SELECT i, md5('m' || i)::uuid, '8' || lpad(i::text, 15, '0'), '+86139' || lpad(i::text, 8, '0'),
    CASE WHEN i % 3 > 0 THEN 'm' || i || '@example.com' ELSE '' END,
    (ARRAY['王', '李', '张', '刘', '陈', '杨', '黄', '赵'])[1 + i % 8]
        || (ARRAY['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋'])[1 + (i / 8) % 10] || (i % 997),
    NULL, 'store', now() - (i % 1000) * interval '1 day', false, false, NULL, '[]', 'zh-hans',
    'B' || lpad(i::text, 11, '0'), 'active', '', NULL, 10 * (i % 5), 100 * (i % 5), i % 5,
    CASE WHEN i % 5 > 0 THEN now() - interval '300 days' END,
    CASE WHEN i % 5 > 0 THEN now() - (i % 90) * interval '1 day' END,
    now(), 1 + i % {stores}, NULL, NULL, NULL, 'active', NULL,
    (ARRAY['prospect', 'first_time', 'repeat', 'core', 'advocate'])[1 + i % 5], NULL,
    (SELECT id FROM tiers_tier ORDER BY rank LIMIT 1), '', NULL, now() + interval '200 days', 'none'
FROM generate_series(1, {members}) AS i;

INSERT INTO members_purchase (id, public_id, receipt_id, channel, occurred_at, currency, total, returned_amount,
    points_earned, points_reversed, earn_note, created_at, member_id, store_id, base_points)
SELECT p, md5('p' || p)::uuid, 'R' || p, 'store', now() - (p % 300) * interval '1 day', 'CNY', 100, 0, 10, 0, '',
    now() - (p % 300) * interval '1 day', m, 1 + m % {stores}, 10
FROM (SELECT m, row_number() OVER (ORDER BY m, k) AS p
      FROM generate_series(1, {members}) AS m CROSS JOIN LATERAL generate_series(1, m % 5) AS k) AS g;

INSERT INTO rewards_ledgerentry (id, kind, points, balance_after, expires_at, job, reason, created_at, api_key_id,
    member_id, purchase_id, return_record_id, staff_user_id, store_id, redemption_id)
SELECT id, 'earn', 10, 10 * row_number() OVER (PARTITION BY member_id ORDER BY id), occurred_at + interval '24 months',
    '', '', created_at, NULL, member_id, id, NULL, NULL, store_id, NULL
FROM members_purchase;

INSERT INTO rewards_pointslot (id, points, remaining, expires_at, entry_id, member_id)
SELECT id, points, points, expires_at, id, member_id FROM rewards_ledgerentry;

INSERT INTO feedback_complaint (public_id, member_id, store_id, channel, category, severity, text, status,
    first_response_due_at, resolution_due_at, resolution, compensation_points, created_at, updated_at)
SELECT md5('c' || i)::uuid, 1 + (i * 7919) % {members}, 1 + i % {stores}, 'store', 'service', 'medium',
    '服务太慢 ' || i, (ARRAY['open', 'in_progress', 'waiting_on_member'])[1 + i % 3],
    now() + interval '1 day', now() + interval '3 days', '', 0,
    now() - (i % 60) * interval '1 day', now()
FROM generate_series(1, greatest({members} / 1000, 10)) AS i;

SELECT setval(pg_get_serial_sequence('members_member', 'id'), {members});
SELECT setval(pg_get_serial_sequence('members_purchase', 'id'), (SELECT max(id) FROM members_purchase));
SELECT setval(pg_get_serial_sequence('rewards_ledgerentry', 'id'), (SELECT max(id) FROM rewards_ledgerentry));
SELECT setval(pg_get_serial_sequence('rewards_pointslot', 'id'), (SELECT max(id) FROM rewards_pointslot));
"""


def pages(members: int) -> list[tuple[str, str, dict, bool]]:
    """(label, URL, query, is a member search) of the pages staff use most."""
    some = members // 2 + 3  # has 3 purchases
    return [
        # The floor: a page with no data of ours, so the theme's and the machine's share shows.
        ("reference: password form", "/admin/password_change/", {}, False),
        ("dashboard", "/admin/", {}, False),
        ("member list", "/admin/members/member/", {}, False),
        ("member list, page 20", "/admin/members/member/", {"p": "20"}, False),
        ("member list, stage filter", "/admin/members/member/", {"stage__exact": "core"}, False),
        (
            "search: phone 139-xxxx-xxxx",
            "/admin/members/member/",
            {"q": f"139-{some // 10000:04d}-{some % 10000:04d}"},
            True,
        ),
        ("search: phone +86 139...", "/admin/members/member/", {"q": f"+86 139 {some:08d}"}, True),
        (
            "search: card, spaced",
            "/admin/members/member/",
            {"q": " ".join(f"8{some:015d}"[i : i + 4] for i in range(0, 16, 4))},
            True,
        ),
        ("search: email", "/admin/members/member/", {"q": f"m{some + 1}@example.com"}, True),
        ("search: name start", "/admin/members/member/", {"q": "王伟1"}, True),
        ("search: no match", "/admin/members/member/", {"q": "nobody-by-that-name"}, True),
        ("member page", f"/admin/members/member/{some}/change/", {}, False),
        ("purchase list", "/admin/members/purchase/", {}, False),
        ("purchase list, member's", "/admin/members/purchase/", {"member__id__exact": str(some)}, False),
        ("ledger list", "/admin/rewards/ledgerentry/", {}, False),
        ("ledger list, member's", "/admin/rewards/ledgerentry/", {"member__id__exact": str(some)}, False),
        ("points lots", "/admin/rewards/pointslot/", {}, False),
        ("complaint queue", "/admin/feedback/complaint/", {}, False),
        ("earning rules", "/admin/rewards/earningrule/", {}, False),
    ]


def time_pages(client, members: int, runs: int) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    results = []
    for label, url, query, is_search in pages(members):
        for _ in range(2):  # warm caches and connections
            client.get(url, query)
        timings, sql_ms, status = [], [], None
        for _ in range(runs):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url, query)
                timings.append((time.perf_counter() - start) * 1000)
            sql_ms.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
            status = response.status_code
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        target = TARGET_SEARCH_MS if is_search else TARGET_PAGE_P95_MS
        results.append(
            {
                "label": label,
                "status": status,
                "median": statistics.median(timings),
                "p95": p95,
                "max": timings[-1],
                "queries": len(queries.captured_queries),
                "sql": statistics.median(sql_ms),
                "target": target,
                "ok": status == 200 and p95 <= target,
            }
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    db = ScratchDatabase(host=args.host, port=args.port, user=args.user, name="bench_backoffice")
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "DEBUG": "False",
        "SECRET_KEY": "bench-only-secret-key-that-is-long-enough-0123456789",
        "ALLOWED_HOSTS": "testserver",
        "REDIS_URL": "",
        "LOG_REQUESTS": "False",
        "METRICS_ENABLED": "False",
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
    }
    db.recreate()
    try:
        started = time.perf_counter()
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=PROJECT_DIR, env=env, check=True)
        db.query(LOAD.format(members=args.members, stores=STORES))
        db.query("ANALYZE")
        purchases = db.query("SELECT count(*) FROM members_purchase")[0][0]
        print(f"loaded {args.members} members, {purchases} purchases in {time.perf_counter() - started:.0f} s")

        os.environ.update(env)
        # The project's packages, not this folder's scripts of the same names (bench/campaigns.py);
        # Celery puts the working directory on the path too, hence the chdir.
        os.chdir(PROJECT_DIR)
        sys.path[:] = [str(PROJECT_DIR), *(p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR)]
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.test import Client

        boss = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-0123")
        client = Client()
        client.force_login(boss)
        results = time_pages(client, args.members, args.runs)
        from django.db import connections

        connections.close_all()
    finally:
        if not args.keep:
            db.drop()

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    header = f"{'page':32} {'status':>6} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'queries':>7} {'SQL ms':>7}"
    print(f"\n{header} {'target':>7}")
    for r in results:
        print(
            f"{r['label']:32} {r['status']:>6} {r['median']:>10.1f} {r['p95']:>8.1f} {r['max']:>8.1f} "
            f"{r['queries']:>7} {r['sql']:>7.1f} {r['target']:>7.0f} {'PASS' if r['ok'] else 'FAIL'}"
        )
    failed = [r["label"] for r in results if not r["ok"]]
    print(
        f"\n{args.members} members, {args.runs} runs per page: {'PASS' if not failed else 'FAIL: ' + ', '.join(failed)}"
    )
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
