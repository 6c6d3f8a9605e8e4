"""POS earn, POST /api/v1/purchases/, against the database's own cost of the same writes
(`python -m bench.pos_earn`; `python -m bench.pos_earn.during_campaign` for p99 while a campaign runs)."""

from pathlib import Path

ASSETS = Path(__file__).resolve().parent
DB_NAME = "bench_pos_earn"
PATH = "/api/v1/purchases/"
# Issue 10: the app against the same statements in pgbench, and against one server-side function
# call per purchase (the database's own cost); p99 at c=8 with rate limiting on.
TARGET_RATIO = 0.28
TARGET_FUNCTION_RATIO = 0.15
TARGET_P99_MS = 40.0
TARGET_OBSERVABILITY_COST = 0.03  # metrics and logging may cost the POS path at most 3% of throughput
