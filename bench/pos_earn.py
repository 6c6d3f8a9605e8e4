"""Benchmark of the POS earn endpoint, POST /api/v1/purchases/, against pgbench on the same database.

One run: create a fresh PostgreSQL database (bench_pos_earn), migrate, create a store and API key,
bulk-load N members, then for each round serve the app with gunicorn (sync workers, as many as the
Dockerfile runs) on a free loopback port, drive POST /api/v1/purchases/ from a separate load
process (wrk, or a Python fallback) at a fixed concurrency for a fixed time, check the ledger, and
run pgbench with the equivalent single transaction (generated from the models, see PGBENCH_TX) at
the same concurrency on the same database right after. Prints, per round and as the median of the
rounds, rps, p50/p99, 4xx/5xx, CPU per request, pgbench TPS and the ratio app/pgbench, and
PASS/FAIL against the targets (ratio >= 0.25, p99 <= 50 ms, no 5xx). Rounds exist because a shared
machine's speed drifts by 15% and more within minutes: each round's ratio compares two runs a few
seconds apart. The database is dropped and gunicorn stopped at the end, also on errors and Ctrl-C.

    .venv/bin/python bench/pos_earn.py                       # defaults: 100k members, 3 x 20 s, c=8, 3 workers
    .venv/bin/python bench/pos_earn.py --workers 2 3 4 --concurrency 4 8 --rounds 1   # a sweep, one table

Needs PostgreSQL (pgbench on PATH or in /usr/lib/postgresql/*/bin) and Redis on 127.0.0.1, and
wrk (`apt-get install -y wrk`); without wrk a slower Python load generator is used. All traffic
goes to 127.0.0.1 only.
"""

import argparse
import contextlib
import glob
import json
import math
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from http.client import HTTPConnection
from pathlib import Path

import psycopg2
from pgdb import ScratchDatabase

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
ASSETS = BENCH_DIR / "pos_earn"
DB_NAME = "bench_pos_earn"
PATH = "/api/v1/purchases/"
TARGET_RATIO = 0.25
TARGET_P99_MS = 50.0
TARGET_OBSERVABILITY_COST = 0.03  # metrics and logging may cost the POS path at most 3% of throughput
BODY = (
    '{{"member":"{card}","receipt_id":"B-{ref}","channel":"store","occurred_at":"{at}",'
    '"currency":"CNY","total":"100.00","items":['
    '{{"sku":"LATTE","category":"coffee","quantity":2,"unit_price":"25.00"}},'
    '{{"sku":"BEANS","category":"beans","quantity":1,"unit_price":"50.00"}}]}}'
)


def card_number(i: int) -> str:
    """Member i (1..N) has this card number; the SQL loader, wrk's Lua and pgbench's script agree."""
    return f"8{i:015d}"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- database ------------------------------------------------------------------------------


class Db(ScratchDatabase):
    def __init__(self, args):
        super().__init__(host=args.pg_host, port=args.pg_port, user=args.pg_user, name=DB_NAME)


# Loaded member i (1..N): card numbers are derivable, so wrk's Lua script and pgbench can pick one.
MEMBER_SQL = {
    "public_id": "gen_random_uuid()",
    "card_number": "'8' || lpad(i::text, 15, '0')",
    "phone": "'+86139' || lpad(i::text, 8, '0')",
    "referral_code": "'B' || lpad(i::text, 11, '0')",
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
            raise SystemExit(f"{table}.{name} needs a value (no default, or unique): add it in bench/pos_earn.py")
        else:
            row[name] = col["default"]
    unknown = set(given) - set(row)
    if unknown:
        raise SystemExit(f"{table} has no column(s) {', '.join(sorted(unknown))}: update bench/pos_earn.py")
    return row


def load_members_sql(schema: dict) -> str:
    row = _fill("members_member", MEMBER_SQL, schema)
    return (
        f"INSERT INTO members_member ({', '.join(row)}) "
        f"SELECT {', '.join(v.replace('%', '%%') for v in row.values())} FROM generate_series(1, %s) AS i"
    )


def pgbench_script(schema: dict) -> str:
    lines = [
        "-- Generated by bench/pos_earn.py: one POST /api/v1/purchases/ as plain SQL in one transaction.",
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


def ledger_check(db: Db) -> dict:
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


def app_env(args, db: Db) -> dict:
    return {
        **os.environ,
        "DEBUG": "False",
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": db.url,
        "REDIS_URL": args.redis_url,
        # The limiter stays on (its cost is part of the figure) but one key sends the whole load.
        "API_RATE_READ": "100000/second",
        "API_RATE_WRITE": "100000/second",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def observability_env(env: dict, mode: str, workdir: Path) -> dict:
    """Metrics and logging as production has them (on: JSON request lines at INFO, Prometheus
    counters in multiprocess mode), or neither (off: the middlewares are not installed)."""
    if mode == "off":
        return {**env, "METRICS_ENABLED": "False", "LOG_REQUESTS": "False"}
    return {
        **env,
        "METRICS_ENABLED": "True",
        "LOG_REQUESTS": "True",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "METRICS_TOKEN": "bench-" + secrets.token_urlsafe(24),
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
    }


def manage(args, env: dict, *cmd: str) -> str:
    result = subprocess.run(
        [args.python, "manage.py", *cmd], cwd=args.project_dir, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, args, env: dict, workers: int, logdir: Path):
        self.port = free_port()
        self.log_path = logdir / f"gunicorn-w{workers}.log"
        self.log = self.log_path.open("w")
        observed = env.get("METRICS_ENABLED") == "True"
        if observed:
            # As bin/web does: each start begins with an empty metrics directory.
            shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
            Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True)
        cmd = [
            args.gunicorn,
            args.wsgi,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--worker-class",
            args.worker_class,
            *(["--threads", str(args.worker_threads)] if args.worker_class == "gthread" else []),
            "--backlog",
            "2048",
            "--timeout",
            "60",
        ]
        if observed:
            # bin/web's configuration (JSON logs, metrics of dead workers); the flags above win.
            cmd += ["--config", "python:loyalty.gunicorn_conf"]
        if args.access_log:
            cmd += ["--access-logfile", "-"]
        self.proc = subprocess.Popen(cmd, cwd=args.project_dir, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/healthz"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}:\n{self.tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer {url} within {timeout} s:\n{self.tail()}")

    def tail(self, n: int = 30) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --- CPU accounting (Linux /proc; best effort) ----------------------------------------------------


def _proc_cpu(pid: str) -> tuple[str, int, float]:
    """(comm, ppid, CPU seconds) of one process."""
    with open(f"/proc/{pid}/stat") as f:
        raw = f.read()
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    if comm == "postgres":
        # A backend's title is "postgres: <cluster>: <user> <database> <client> <state>": one serving
        # another database (say, a test run) is unrelated work; the cluster's own processes are not.
        with open(f"/proc/{pid}/cmdline") as f:
            words = f.read().replace("\0", " ").split()
        if len(words) >= 5 and ("(" in words[4] or words[4] == "[local]") and words[3] != DB_NAME:
            comm = f"postgres:{words[3]}"
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot() -> dict:
    """CPU seconds used so far by every process, and the machine's busy and total ticks."""
    procs = {}
    with contextlib.suppress(OSError):
        for pid in filter(str.isdigit, os.listdir("/proc")):
            with contextlib.suppress(OSError, ValueError, IndexError):
                procs[int(pid)] = _proc_cpu(pid)
    busy = total = 0
    with contextlib.suppress(OSError), open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
        total, busy = sum(ticks), sum(ticks) - ticks[3] - ticks[4]
    return {"procs": procs, "busy": busy, "total": total, "at": time.monotonic()}


def cpu_usage(before: dict, after: dict, gunicorn_pid: int = -1) -> dict:
    """CPU seconds between two snapshots: gunicorn (master and workers), PostgreSQL, this benchmark and
    its load generator, and everything else (work that has nothing to do with the benchmark)."""
    used = {"app": 0.0, "pg": 0.0, "bench": 0.0, "other": 0.0}
    others: dict[str, float] = {}
    me = os.getpid()
    for pid, (comm, ppid, cpu) in after["procs"].items():
        delta = cpu - before["procs"].get(pid, (comm, ppid, 0.0))[2]
        if pid == gunicorn_pid or ppid == gunicorn_pid:
            used["app"] += delta
        elif comm == "postgres":
            used["pg"] += delta
        elif pid == me or ppid == me or comm == "wrk":
            used["bench"] += delta
        else:
            used["other"] += delta
            others[comm] = others.get(comm, 0.0) + delta
    capacity = (after["at"] - before["at"]) * (os.cpu_count() or 1)
    span = after["total"] - before["total"]
    top = sorted(others.items(), key=lambda kv: -kv[1])[:3]
    return {
        **used,
        "busy_pct": 100 * (after["busy"] - before["busy"]) / span if span else float("nan"),
        "other_pct": 100 * used["other"] / capacity if capacity else 0.0,
        "top_other": ", ".join(f"{name} {100 * cpu / capacity:.0f}%" for name, cpu in top if cpu > 0.01),
    }


def settle(what: str, max_wait: float = 20) -> dict:
    """Wait (a little) for the machine to calm down, e.g. autovacuum after the previous run, then say
    whether something unrelated is using the CPU: that skews every figure."""
    deadline = time.monotonic() + max_wait
    while True:
        before = cpu_snapshot()
        time.sleep(1)
        usage = cpu_usage(before, cpu_snapshot())
        if usage["busy_pct"] < 15 or time.monotonic() > deadline:
            break
    if usage["other_pct"] > 10:
        log(f"WARNING: before {what}, other work uses {usage['other_pct']:.0f}% of the CPU ({usage['top_other']})")
    return usage


# --- load generators ---------------------------------------------------------------------------


def occurred_at() -> str:
    """A recent purchase time, as a POS in the business time zone would send it."""
    return (datetime.now(timezone(timedelta(hours=8))) - timedelta(minutes=5)).isoformat(timespec="seconds")


def run_wrk(args, *, port: int, key: str, concurrency: int, duration: int, tag: str) -> dict:
    threads = min(args.threads, concurrency)
    cmd = [
        args.wrk,
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(ASSETS / "purchase.lua"),
        f"http://127.0.0.1:{port}{PATH}",
        "--",
        str(args.members),
        key,
        occurred_at(),
        tag,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False)
    match = re.search(r"^BENCH_RESULT (\{.*\})$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    raw = json.loads(match.group(1))
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "s2xx": raw["s2xx"],
        "s4xx": raw["s4xx"],
        "s5xx": raw["s5xx"],
        "other": raw["s3xx"],
        "socket_errors": raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"],
    }


def _py_worker(port, key, members, at, tag, conns, deadline, queue) -> None:
    """One load process: `conns` threads, each a closed loop of one request at a time."""
    lock = threading.Lock()
    latencies, statuses, errors = [], {}, [0]

    def loop(tid: int) -> None:
        import random

        rnd = random.Random(f"{tag}-{os.getpid()}-{tid}")
        seq = 0
        conn = HTTPConnection("127.0.0.1", port, timeout=10)
        while time.time() < deadline:
            seq += 1
            ref = f"{tag}-{os.getpid()}-{tid}-{seq}"
            body = BODY.format(card=card_number(rnd.randint(1, members)), ref=ref, at=at)
            headers = {
                "Authorization": f"Api-Key {key}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"bench-{ref}",
            }
            start = time.perf_counter()
            try:
                conn.request("POST", PATH, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.will_close:
                    conn.close()
            except OSError:
                conn.close()
                conn = HTTPConnection("127.0.0.1", port, timeout=10)
                with lock:
                    errors[0] += 1
                continue
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                statuses[status // 100] = statuses.get(status // 100, 0) + 1
        conn.close()

    pool = [threading.Thread(target=loop, args=(t,)) for t in range(conns)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    queue.put((latencies, statuses, errors[0]))


def run_python_load(args, *, port: int, key: str, concurrency: int, duration: int, tag: str) -> dict:
    processes = min(concurrency, args.threads)
    per_process = [concurrency // processes + (1 if i < concurrency % processes else 0) for i in range(processes)]
    queue = multiprocessing.Queue()
    start = time.time()
    deadline = start + duration
    at = occurred_at()
    procs = [
        multiprocessing.Process(
            target=_py_worker, args=(port, key, args.members, at, f"{tag}p{i}", n, deadline, queue), daemon=True
        )
        for i, n in enumerate(per_process)
    ]
    for p in procs:
        p.start()
    latencies, statuses, errors = [], {}, 0
    for _ in procs:
        lat, st, err = queue.get(timeout=duration + 60)
        latencies += lat
        errors += err
        for k, v in st.items():
            statuses[k] = statuses.get(k, 0) + v
    for p in procs:
        p.join()
    elapsed = time.time() - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, math.ceil(p / 100 * len(latencies)) - 1)] * 1000 if latencies else 0

    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": latencies[-1] * 1000 if latencies else 0,
        "s2xx": statuses.get(2, 0),
        "s4xx": statuses.get(4, 0),
        "s5xx": statuses.get(5, 0),
        "other": statuses.get(1, 0) + statuses.get(3, 0),
        "socket_errors": errors,
    }


# --- pgbench ---------------------------------------------------------------------------------


def run_pgbench(args, db: Db, *, concurrency: int, store_id: int, key_id: int, script: Path, workdir: Path) -> dict:
    logdir = Path(tempfile.mkdtemp(prefix=f"pgbench-c{concurrency}-", dir=workdir))
    cmd = [
        args.pgbench,
        "-n",
        "-f",
        str(script),
        "-c",
        str(concurrency),
        "-j",
        str(min(args.threads, concurrency)),
        "-T",
        str(args.pgbench_duration or args.duration),
        "-D",
        f"members={args.members}",
        "-D",
        f"store={store_id}",
        "-D",
        f"key_id={key_id}",
        "-l",
        "-h",
        db.host,
        "-p",
        str(db.port),
        "-U",
        db.user,
        DB_NAME,
    ]
    result = subprocess.run(cmd, cwd=logdir, capture_output=True, text=True, timeout=args.duration + 120, check=False)
    tps = re.search(r"^tps = ([\d.]+) \(without initial connection time\)", result.stdout, re.MULTILINE)
    if result.returncode != 0 or not tps:
        raise RuntimeError(f"pgbench failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    failed = re.search(r"^number of failed transactions: (\d+)", result.stdout, re.MULTILINE)
    latencies = []
    for path in logdir.glob("pgbench_log.*"):
        with path.open() as f:
            latencies += [int(line.split()[2]) for line in f if line.strip()]
    latencies.sort()
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    return {
        "tps": float(tps.group(1)),
        "transactions": len(latencies),
        "failed": int(failed.group(1)) if failed else 0,
        "p50_ms": quantiles[49] / 1000,
        "p99_ms": quantiles[98] / 1000,
    }


# --- main --------------------------------------------------------------------------------------


def find_pgbench() -> str | None:
    return shutil.which("pgbench") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))[::-1]), None)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000, help="members to load (default 100000)")
    parser.add_argument("--duration", type=int, default=20, help="seconds of measured load per round (default 20)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="app run + pgbench run, repeated (default 3); targets use the median"
    )
    parser.add_argument("--warmup", type=int, default=5, help="seconds of unmeasured load first (default 5)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[8], help="concurrent connections (default 8); several = sweep"
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[3],
        help="gunicorn workers (default 3, as the Dockerfile runs it); several = sweep",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads / pgbench -j / Python load processes")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--pgbench-duration", type=int, help="seconds per pgbench run (default: --duration)")
    parser.add_argument("--skip-pgbench", action="store_true", help="app only; no ratio")
    parser.add_argument("--wsgi", default="loyalty.wsgi", help="WSGI module to serve (default loyalty.wsgi)")
    parser.add_argument(
        "--worker-class", choices=["sync", "gthread"], default="sync", help="gunicorn worker class (default sync)"
    )
    parser.add_argument("--worker-threads", type=int, default=1, help="threads per gthread worker (default 1)")
    parser.add_argument("--access-log", action="store_true", help="gunicorn's access log on (bin/web has it off)")
    parser.add_argument(
        "--observability",
        choices=["on", "off", "compare", "side-by-side", "side-by-side-aa"],
        default="on",
        help="metrics and request logs on (as in production, the default), off, or compare: each round runs "
        "the app with both (alternating which goes first), skips pgbench and reports the cost of on vs off; "
        "side-by-side: like compare, but both are served and loaded at the same time (for a busy machine); "
        "side-by-side-aa: the same with both off, to see how far two identical servers differ",
    )
    parser.add_argument("--print-sql", action="store_true", help="print the generated pgbench script")
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} in place afterwards")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help="the checkout to serve")
    parser.add_argument("--python", default=sys.executable, help="python with the project installed")
    parser.add_argument("--gunicorn", default=str(Path(sys.executable).with_name("gunicorn")))
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args(argv)
    if args.pg_host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("this benchmark only runs against a local PostgreSQL")
    args.wrk = shutil.which("wrk")
    if args.loadgen == "wrk" and not args.wrk:
        parser.error("wrk is not installed: apt-get install -y wrk (or use --loadgen python)")
    if args.loadgen == "auto":
        args.loadgen = "wrk" if args.wrk else "python"
        if not args.wrk:
            log("wrk not found (apt-get install -y wrk); using the slower Python load generator")
    args.skip_pgbench = args.skip_pgbench or args.observability in ("compare", "side-by-side", "side-by-side-aa")
    args.pgbench = None if args.skip_pgbench else find_pgbench()
    if not args.skip_pgbench and not args.pgbench:
        parser.error("pgbench not found (apt-get install -y postgresql-client), or pass --skip-pgbench")
    return args


def setup_database(args, db: Db, env: dict, workdir: Path) -> tuple[str, int, int, Path]:
    log(f"creating database {DB_NAME} and migrating")
    db.recreate()
    manage(args, env, "migrate", "--noinput")
    key = manage(args, env, "create_store_key", "--store", "Bench").strip().splitlines()[-1].strip()
    store_id, key_id = db.query(
        "SELECT s.id, k.id FROM stores_store s JOIN stores_storeapikey k ON k.store_id = s.id WHERE s.name = 'Bench'"
    )[0]
    schema = read_schema(args, env)
    script = workdir / "purchase.sql"
    script.write_text(pgbench_script(schema))
    if args.print_sql:
        print(script.read_text(), flush=True)
    log(f"loading {args.members} members")
    started = time.monotonic()
    db.query(load_members_sql(schema), (args.members,))
    db.query("VACUUM ANALYZE members_member")
    db.query("CHECKPOINT")
    log(f"loaded in {time.monotonic() - started:.1f} s")
    return key, store_id, key_id, script


def app_run(args, env, db, key, workers, concurrency, round_no, workdir, mode="on") -> dict:
    load = run_wrk if args.loadgen == "wrk" else run_python_load
    idle = settle("the app run")
    log(f"metrics and request logs {mode}")
    server = Gunicorn(args, observability_env(env, mode, workdir), workers, workdir)
    try:
        server.wait_ready()
        # Unique per run: the tag goes into every receipt id and Idempotency-Key.
        tag = f"w{workers}c{concurrency}r{round_no}-{secrets.token_hex(3)}"
        if args.warmup:
            log(f"warm-up {args.warmup} s: {workers} workers, concurrency {concurrency}")
            warm = load(args, port=server.port, key=key, concurrency=concurrency, duration=args.warmup, tag=tag + "u")
            if warm["s5xx"] or warm["s4xx"]:
                log(f"warm-up saw {warm['s4xx']} 4xx and {warm['s5xx']} 5xx; gunicorn log:\n{server.tail()}")
        log(f"measuring {args.duration} s: {workers} workers, concurrency {concurrency} ({args.loadgen})")
        before = cpu_snapshot()
        result = load(args, port=server.port, key=key, concurrency=concurrency, duration=args.duration, tag=tag + "m")
        usage = cpu_usage(before, cpu_snapshot(), server.proc.pid)
        n = max(result["requests"], 1)
        result.update(
            app_cpu_ms=usage["app"] * 1000 / n,
            pg_cpu_ms=usage["pg"] * 1000 / n,
            machine_busy_pct=usage["busy_pct"],
            other_cpu_pct=usage["other_pct"],
            top_other=usage["top_other"],
        )
        if usage["other_pct"] > 5:
            log(f"WARNING: other work used {usage['other_pct']:.0f}% of the CPU during the run ({usage['top_other']})")
        if result["s5xx"]:
            log(f"{result['s5xx']} 5xx; gunicorn log:\n{server.tail()}")
    finally:
        server.stop()
    result["ledger"] = ledger_check(db)
    return {
        "workers": workers,
        "concurrency": concurrency,
        "round": round_no,
        "observability": mode,
        "other_before_pct": idle["other_pct"],
        **result,
    }


def side_by_side_run(args, env, db, key, workers, concurrency, round_no, workdir) -> list[dict]:
    """Both modes served at the same time, each under its own load of the given concurrency: the
    machine's drift and unrelated work hit both alike, which a shared machine needs."""
    load = run_wrk if args.loadgen == "wrk" else run_python_load
    idle = settle("the side-by-side run")
    servers: dict[str, Gunicorn] = {}
    results: dict[str, dict] = {}
    tag = f"s{workers}c{concurrency}r{round_no}-{secrets.token_hex(3)}"

    def both(duration: int, suffix: str) -> None:
        def one(mode):
            results[mode] = load(
                args,
                port=servers[mode].port,
                key=key,
                concurrency=concurrency,
                duration=duration,
                tag=tag + mode + suffix,
            )

        threads = [threading.Thread(target=one, args=(mode,)) for mode in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    try:
        for mode in ("off", "on"):
            (workdir / mode).mkdir(exist_ok=True)
            # The A/A run serves "on" without metrics and logs too: the noise floor of the comparison.
            served = "off" if args.observability == "side-by-side-aa" else mode
            servers[mode] = Gunicorn(args, observability_env(env, served, workdir / mode), workers, workdir / mode)
        for server in servers.values():
            server.wait_ready()
        if args.warmup:
            log(f"warm-up {args.warmup} s, off and on side by side: {workers} workers each, concurrency {concurrency}")
            both(args.warmup, "u")
        log(f"measuring {args.duration} s, off and on side by side ({args.loadgen})")
        before = cpu_snapshot()
        both(args.duration, "m")
        after = cpu_snapshot()
    finally:
        for server in servers.values():
            server.stop()
    ledger = ledger_check(db)
    usage = {mode: cpu_usage(before, after, server.proc.pid) for mode, server in servers.items()}
    rows = []
    for mode, result in results.items():
        n = max(result["requests"], 1)
        mine, theirs = usage[mode], usage["on" if mode == "off" else "off"]
        # The other server counts as "other" in its usage: take it out.
        other_pct = mine["other_pct"] * (mine["other"] - theirs["app"]) / mine["other"] if mine["other"] else 0.0
        result.update(
            app_cpu_ms=mine["app"] * 1000 / n,
            pg_cpu_ms=mine["pg"] * 1000 / max(sum(r["requests"] for r in results.values()), 1),
            machine_busy_pct=mine["busy_pct"],
            other_cpu_pct=other_pct,
            top_other=mine["top_other"],
            ledger=ledger,
        )
        rows.append(
            {
                "workers": workers,
                "concurrency": concurrency,
                "round": round_no,
                "observability": mode,
                "other_before_pct": idle["other_pct"],
                **result,
            }
        )
    return rows


def pgbench_run(args, db, *, concurrency, store_id, key_id, script, workdir) -> dict:
    idle = settle("pgbench")
    before = cpu_snapshot()
    log(f"pgbench {args.pgbench_duration or args.duration} s at concurrency {concurrency}")
    result = run_pgbench(
        args, db, concurrency=concurrency, store_id=store_id, key_id=key_id, script=script, workdir=workdir
    )
    usage = cpu_usage(before, cpu_snapshot())
    result.update(other_before_pct=idle["other_pct"], other_cpu_pct=usage["other_pct"])
    log(f"  {result['tps']:.0f} TPS")
    return result


def verdict(rps: float, p99_ms: float, s5xx: int, tps: float | None) -> dict:
    ratio = rps / tps if tps else None
    checks = {
        f"ratio >= {TARGET_RATIO}": ratio is not None and ratio >= TARGET_RATIO,
        f"p99 <= {TARGET_P99_MS:g} ms": p99_ms <= TARGET_P99_MS,
        "no 5xx": s5xx == 0,
    }
    return {"ratio": ratio, "checks": checks, "pass": all(checks.values())}


def _verdict_text(v: dict) -> str:
    return "PASS" if v["pass"] else "FAIL: " + ", ".join(name for name, ok in v["checks"].items() if not ok)


def summarise(rows: list[dict]) -> list[dict]:
    """One line per (workers, concurrency): the median of its rounds. Each round's ratio compares the
    app with the pgbench run right after it, so a machine whose speed drifts (shared hosts do, by
    15% and more within minutes) skews both sides alike."""
    groups: dict[tuple[int, int], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["workers"], row["concurrency"]), []).append(row)
    summary = []
    for (workers, concurrency), group in groups.items():
        ratios = [r["ratio"] for r in group if r["ratio"] is not None]
        median_ratio = statistics.median(ratios) if ratios else None
        rps = statistics.median(r["rps"] for r in group)
        p99 = statistics.median(r["p99_ms"] for r in group)
        s5xx = sum(r["s5xx"] for r in group)
        v = verdict(rps, p99, s5xx, rps / median_ratio if median_ratio else None)
        summary.append(
            {
                "workers": workers,
                "concurrency": concurrency,
                "rounds": len(group),
                "rounds_passed": sum(r["targets_pass"] for r in group),
                "rps": rps,
                "p50_ms": statistics.median(r["p50_ms"] for r in group),
                "p99_ms": p99,
                "p99_worst_ms": max(r["p99_ms"] for r in group),
                "s4xx": sum(r["s4xx"] for r in group),
                "s5xx": s5xx,
                "pgbench_tps": statistics.median(r["pgbench_tps"] for r in group) if ratios else None,
                "ratio": median_ratio,
                "ratio_range": (min(ratios), max(ratios)) if ratios else None,
                "targets_pass": v["pass"],
                "verdict": _verdict_text(v),
            }
        )
    return summary


def report(args, rows: list[dict]) -> bool:
    print()
    print("POS earn benchmark: POST /api/v1/purchases/")
    print(
        f"  {args.members} members, {args.rounds} round(s) of {args.duration} s app load (after {args.warmup} s "
        f"warm-up) then pgbench, load: {args.loadgen} ({args.threads} threads), {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    print()
    header = f"  {'workers':>7} {'conc':>4} {'round':>5} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7} {'2xx':>7} {'4xx':>4}"
    header += f" {'5xx':>4} {'sockerr':>7} {'pgbench':>7} {'ratio':>6} {'cpu/req app+pg ms':>17} {'other':>5}"
    header += "  ledger  targets"
    print(header)
    correct = True
    for row in rows:
        pg = row.get("pgbench")
        v = verdict(row["rps"], row["p99_ms"], row["s5xx"], pg and pg["tps"])
        row["pgbench_tps"], row["ratio"], row["targets_pass"] = pg and pg["tps"], v["ratio"], v["pass"]
        ledger = row["ledger"]
        correct &= ledger["ok"] and row["s4xx"] == 0 and row["s5xx"] == 0
        print(
            f"  {row['workers']:>7} {row['concurrency']:>4} {row['round']:>5} {row['rps']:>7.1f} {row['p50_ms']:>7.1f} "
            f"{row['p99_ms']:>7.1f} {row['s2xx']:>7} {row['s4xx']:>4} {row['s5xx']:>4} {row['socket_errors']:>7} "
            f"{(pg['tps'] if pg else float('nan')):>7.0f} {(v['ratio'] or float('nan')):>6.3f} "
            f"{row['app_cpu_ms']:>8.1f} + {row['pg_cpu_ms']:<6.1f} {row['other_cpu_pct']:>4.0f}%  "
            f"{'ok' if ledger['ok'] else 'BROKEN':<6}  {_verdict_text(v)}"
        )
    summary = summarise(rows)
    print()
    print("  median of the rounds:")
    print(
        f"  {'workers':>7} {'conc':>4} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7} {'pgbench':>7} {'ratio':>6}"
        "  rounds passed  targets"
    )
    for line in summary:
        print(
            f"  {line['workers']:>7} {line['concurrency']:>4} {line['rps']:>7.1f} {line['p50_ms']:>7.1f} "
            f"{line['p99_ms']:>7.1f} {(line['pgbench_tps'] or float('nan')):>7.0f} "
            f"{(line['ratio'] or float('nan')):>6.3f}  {line['rounds_passed']} of {line['rounds']:<9}  "
            f"{line['verdict']}"
        )
    last = rows[-1]["ledger"]
    other = max([r["other_cpu_pct"] for r in rows] + [r["pgbench"]["other_cpu_pct"] for r in rows if r.get("pgbench")])
    print()
    print("  cpu/req: CPU ms per request used by gunicorn and by PostgreSQL; other: CPU share used by unrelated work")
    if other > 5:
        print(f"  WARNING: unrelated work used up to {other:.0f}% of the CPU during a run; rerun on an idle machine")
    print(
        f"  ledger after the app runs: {last['members_touched']} members touched, {last['purchases']} purchases; "
        f"balance != sum(entries): {last['balance_mismatch']}, lots != balance: {last['lots_mismatch']}, "
        f"purchase_count wrong: {last['purchase_count_mismatch']}"
    )
    all_pass = all(line["targets_pass"] for line in summary)
    print(
        f"  targets (medians): ratio app/pgbench >= {TARGET_RATIO}, p99 <= {TARGET_P99_MS:g} ms, no 5xx -> "
        f"{'PASS' if all_pass else 'FAIL'}; correctness (no 4xx/5xx, ledger consistent): "
        f"{'OK' if correct else 'FAILED'}"
    )
    return all_pass and correct


def log_row(row: dict) -> None:
    log(
        f"  {row['rps']:.1f} rps, p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, "
        f"4xx {row['s4xx']}, 5xx {row['s5xx']}, ledger {'ok' if row['ledger']['ok'] else 'BROKEN'}"
    )


def report_compare(args, rows: list[dict]) -> bool:
    """The cost of metrics and logging: throughput and CPU per request, on vs off, per round (the
    two runs of a round are seconds apart) and as medians. Target: at most TARGET_OBSERVABILITY_COST."""
    print()
    how = {"compare": "one after the other", "side-by-side": "at the same time"}.get(
        args.observability, "at the same time, both OFF: an A/A run"
    )
    print(f"POS earn benchmark: metrics and request logs on vs off ({how}), POST /api/v1/purchases/")
    print(
        f"  {args.members} members, {args.rounds} round(s) of {args.duration} s per mode (after {args.warmup} s "
        f"warm-up), load: {args.loadgen} ({args.threads} threads), {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}"
    )
    print()
    print(
        f"  {'workers':>7} {'conc':>4} {'round':>5} {'rps off':>8} {'rps on':>8} {'on/off':>7} {'p99 off':>8} "
        f"{'p99 on':>7} {'cpu ms off':>10} {'cpu ms on':>9} {'cpu on/off':>10} {'other':>5}"
    )
    correct = all(r["ledger"]["ok"] and r["s4xx"] == 0 and r["s5xx"] == 0 for r in rows)
    pairs: dict[tuple[int, int, int], dict] = {}
    for row in rows:
        pairs.setdefault((row["workers"], row["concurrency"], row["round"]), {})[row["observability"]] = row
    ratios, cpu_ratios = [], []
    for (workers, concurrency, round_no), pair in pairs.items():
        off, on = pair["off"], pair["on"]
        ratio, cpu_ratio = on["rps"] / off["rps"], on["app_cpu_ms"] / off["app_cpu_ms"]
        ratios.append(ratio)
        cpu_ratios.append(cpu_ratio)
        print(
            f"  {workers:>7} {concurrency:>4} {round_no:>5} {off['rps']:>8.1f} {on['rps']:>8.1f} {ratio:>7.3f} "
            f"{off['p99_ms']:>8.1f} {on['p99_ms']:>7.1f} {off['app_cpu_ms']:>10.2f} {on['app_cpu_ms']:>9.2f} "
            f"{cpu_ratio:>10.3f} {max(off['other_cpu_pct'], on['other_cpu_pct']):>4.0f}%"
        )
    ratio, cpu_ratio = statistics.median(ratios), statistics.median(cpu_ratios)
    cost = 1 - ratio
    ok = cost <= TARGET_OBSERVABILITY_COST
    print()
    print(
        f"  median throughput on/off {ratio:.3f} (cost {cost:.1%}), median app CPU per request on/off "
        f"{cpu_ratio:.3f}; target: cost <= {TARGET_OBSERVABILITY_COST:.0%} -> {'PASS' if ok else 'FAIL'}; "
        f"correctness (no 4xx/5xx, ledger consistent): {'OK' if correct else 'FAILED'}"
    )
    return ok and correct


def main(argv=None) -> int:
    args = parse_args(argv)
    db = Db(args)
    env = app_env(args, db)
    # Ctrl-C and SIGTERM both unwind through the finally blocks below: gunicorn stops, the database goes.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_pos_earn_") as tmp:
        workdir = Path(tmp)
        try:
            key, store_id, key_id, script = setup_database(args, db, env, workdir)
            for workers in args.workers:
                for concurrency in args.concurrency:
                    for round_no in range(1, args.rounds + 1):
                        if args.observability in ("side-by-side", "side-by-side-aa"):
                            for row in side_by_side_run(args, env, db, key, workers, concurrency, round_no, workdir):
                                rows.append(row)
                                log(f"  {row['observability']}:")
                                log_row(row)
                            continue
                        if args.observability == "compare":
                            # Alternate which runs first: a machine slowing down mid-round hurts both.
                            for mode in ("off", "on") if round_no % 2 else ("on", "off"):
                                rows.append(app_run(args, env, db, key, workers, concurrency, round_no, workdir, mode))
                                log_row(rows[-1])
                            continue
                        row = app_run(args, env, db, key, workers, concurrency, round_no, workdir, args.observability)
                        log_row(row)
                        if args.pgbench:
                            row["pgbench"] = pgbench_run(
                                args,
                                db,
                                concurrency=concurrency,
                                store_id=store_id,
                                key_id=key_id,
                                script=script,
                                workdir=workdir,
                            )
                        rows.append(row)
        except KeyboardInterrupt:
            log("interrupted")
            return 130
        finally:
            if not args.keep_db:
                with contextlib.suppress(psycopg2.Error):
                    db.drop()
                    log(f"dropped {DB_NAME}")
    if not rows:
        return 1
    compared = args.observability in ("compare", "side-by-side", "side-by-side-aa")
    ok = report_compare(args, rows) if compared else report(args, rows)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": vars(args),
                    "rows": rows,
                    "summary": None if compared else summarise(rows),
                },
                indent=2,
                default=str,
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
