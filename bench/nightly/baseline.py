"""The baseline: every member's stage as of T1 by the app's own set-based stage rule, writing
nothing. The figures come from one statement, the ORM's `members.journey.with_stage_figures`
over all members (read through a server-side cursor), and the stage from `stage_for` per row: the
bench imports the rule instead of keeping a copy of it, so the two cannot drift apart."""

import contextlib
import time
from collections import Counter
from datetime import datetime

from . import Db

STAGES = ("prospect", "target", "first_time", "repeat", "core", "advocate")


def stage_distribution(db: Db) -> dict[str, int]:
    return dict(db.query("SELECT stage, count(*) FROM members_member GROUP BY stage"))


def _figures_statement(as_of: datetime):
    from members.journey import FIGURES, MEMBER_FIELDS, stage_policy, with_stage_figures
    from members.models import Member

    policy = stage_policy()
    figures = with_stage_figures(Member.objects.order_by(), as_of=as_of, policy=policy)
    sql, params = figures.values("pk", "stage", *MEMBER_FIELDS, *FIGURES).query.sql_with_params()
    return sql, params, policy


def stages_by_the_app_rule(db: Db, as_of: datetime) -> tuple[Counter, Counter, float]:
    """(members per stage, members per (rule's stage, stored stage) where they differ, seconds)."""
    from members.journey import stage_for

    sql, params, policy = _figures_statement(as_of)
    counts, differ = Counter(), Counter()
    started = time.monotonic()
    with contextlib.closing(db.connect()) as conn:
        conn.autocommit = False  # a named (server-side) cursor lives in a transaction
        with conn.cursor(name="baseline_stages") as cur:
            cur.itersize = 20_000
            cur.execute(sql, params)
            columns = None
            for values in cur:
                columns = columns or [col[0] for col in cur.description]
                row = dict(zip(columns, values, strict=True))
                stage = stage_for(row, policy)
                counts[stage] += 1
                if stage != row["stage"]:
                    differ[(stage, row["stage"])] += 1
        conn.rollback()
    return counts, differ, time.monotonic() - started


def run_baseline(db: Db, as_of: datetime, repeats: int) -> tuple[dict[str, int], list[float], list[list]]:
    """The rule `repeats` times: per-stage counts, each run's seconds, and the per-member differences
    from members_member as [rule's stage, stored stage, members], most first."""
    seconds, counts, differ = [], Counter(), Counter()
    for _ in range(repeats):
        counts, differ, took = stages_by_the_app_rule(db, as_of)
        seconds.append(took)
    return dict(counts), seconds, [[new, old, n] for (new, old), n in differ.most_common()]
