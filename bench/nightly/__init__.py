"""Benchmark of the nightly batch jobs at scale, against the app's own set-based stage rule (the baseline).

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
5. the BASELINE: every member's stage as of T1 by the app's own set-based stage rule (one statement
   of `members.journey.with_stage_figures`, then `stage_for` per row, writing nothing), timed; its
   per-stage counts (and every member's stage) must equal members_member's.
Prints a table, the ratios nightly/baseline and rerun/baseline, and PASS/FAIL against the targets
(nightly <= 1.0x baseline, rerun <= 0.2x baseline, worker peak RSS < 500 MB). The database is
dropped and the worker stopped at the end, also on errors and Ctrl-C (unless --keep).

    .venv/bin/python -m bench.nightly --members 10000 --purchases 100000     # quick check (default)
    .venv/bin/python -m bench.nightly --members 1000000 --purchases 10000000 # the full benchmark

Needs PostgreSQL and Redis on 127.0.0.1. Uses the checkout it lives in unless --project-dir says
otherwise (e.g. a git worktree of the commit to measure).
"""

from bench.harness import ScratchDatabase

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


class Db(ScratchDatabase):
    def __init__(self, args):
        super().__init__(
            host=args.pg_host, port=args.pg_port, user=args.pg_user, name=args.db_name, app_options=args.pg_options
        )
        self.timezone = "UTC"
