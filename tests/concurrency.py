"""Run callables in real threads, each with its own database connection."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2
from django.db import connection, connections


def run_concurrently(func, count: int) -> list:
    """Call `func(i)` from `count` threads released together; return the results in order."""
    barrier = threading.Barrier(count)

    def worker(i):
        try:
            barrier.wait(timeout=30)
            return func(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


def hold_member_row(member_id):
    """A separate session holding the member row FOR UPDATE until it rolls back."""
    db = connection.settings_dict
    holder = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"])
    holder.cursor().execute("SELECT id FROM members_member WHERE id = %s FOR UPDATE", [member_id])
    return holder


def wait_until_held_up_by(holder, count, timeout=60):
    """Until `count` sessions wait, directly or behind another waiting session, for `holder`."""
    holder_pid = holder.get_backend_pid()
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            blockers = dict(cursor.fetchall())
            held_up, grew = set(), True
            while grew:
                before = len(held_up)
                held_up |= {pid for pid, by in blockers.items() if set(by) & (held_up | {holder_pid})}
                grew = len(held_up) > before
            if len(held_up) >= count:
                return
            time.sleep(0.05)
    raise AssertionError(f"{count} sessions did not come to wait for the held row within {timeout}s")
