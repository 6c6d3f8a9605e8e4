"""Load generators for POST /api/v1/purchases/: wrk with purchase.lua, or a slower Python one.
Every request is a new purchase by a random loaded member (fresh Idempotency-Key and receipt)."""

import json
import math
import multiprocessing
import os
import re
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from http.client import HTTPConnection

from . import ASSETS, PATH

BODY = (
    '{{"member":"{card}","receipt_id":"B-{ref}","channel":"store","occurred_at":"{at}",'
    '"currency":"CNY","total":"100.00","items":['
    '{{"sku":"LATTE","category":"coffee","quantity":2,"unit_price":"25.00"}},'
    '{{"sku":"BEANS","category":"beans","quantity":1,"unit_price":"50.00"}}]}}'
)


def card_number(i: int) -> str:
    """Member i (1..N) has this card number; the SQL loader, wrk's Lua and pgbench's script agree."""
    return f"8{i:015d}"


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
