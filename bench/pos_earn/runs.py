"""One round's runs: the app served by gunicorn under load, side by side (metrics on and off at
once), and the pgbench references right after, with CPU accounting."""

import secrets
import threading
import time
from pathlib import Path

from bench.harness import Gunicorn, ScratchDatabase, app_env, cpu_snapshot, cpu_usage, log, manage, run_pgbench, settle

from .load import run_python_load, run_wrk
from .sql import (
    ledger_check,
    load_members_sql,
    pgbench_function_script,
    pgbench_script,
    purchase_function_sql,
    read_schema,
)


class Db(ScratchDatabase):
    def __init__(self, args):
        super().__init__(host=args.pg_host, port=args.pg_port, user=args.pg_user, name=args.db_name)


def pos_env(args, db: Db) -> dict:
    # The limiter stays on (its cost is part of the figure) but one key sends the whole load.
    return app_env(
        database_url=db.url, redis_url=args.redis_url, API_RATE_READ="100000/second", API_RATE_WRITE="100000/second"
    )


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


def setup_database(args, db: Db, env: dict, workdir: Path) -> tuple[str, int, int, dict[str, Path]]:
    """Migrate, create the store's key, load the members; write both pgbench references' scripts
    (the statements, and one call of the purchase function created here). Returns the raw key,
    the store and key ids, and the scripts by reference name."""
    log(f"creating database {db.name} and migrating")
    db.recreate()
    manage(args.python, args.project_dir, env, "migrate", "--noinput")
    raw = manage(args.python, args.project_dir, env, "create_store_key", "--store", "Bench")
    key = raw.strip().splitlines()[-1].strip()
    store_id, key_id = db.query(
        "SELECT s.id, k.id FROM stores_store s JOIN stores_storeapikey k ON k.store_id = s.id WHERE s.name = 'Bench'"
    )[0]
    schema = read_schema(args, env)
    scripts = {"statements": workdir / "purchase.sql", "function": workdir / "purchase_function.sql"}
    scripts["statements"].write_text(pgbench_script(schema))
    function_sql = purchase_function_sql(schema)
    db.query(function_sql)
    scripts["function"].write_text(pgbench_function_script())
    if args.print_sql:
        print(scripts["statements"].read_text(), function_sql, scripts["function"].read_text(), sep="\n", flush=True)
    log(f"loading {args.members} members")
    started = time.monotonic()
    db.query(load_members_sql(schema), (args.members,))
    db.query("VACUUM ANALYZE members_member")
    db.query("CHECKPOINT")
    log(f"loaded in {time.monotonic() - started:.1f} s")
    return key, store_id, key_id, scripts


def app_run(args, env, db, key, workers, concurrency, round_no, workdir, mode="on") -> dict:
    load = run_wrk if args.loadgen == "wrk" else run_python_load
    idle = settle("the app run", dbname=db.name)
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
        before = cpu_snapshot(db.name)
        result = load(args, port=server.port, key=key, concurrency=concurrency, duration=args.duration, tag=tag + "m")
        usage = cpu_usage(before, cpu_snapshot(db.name), server.proc.pid)
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
    idle = settle("the side-by-side run", dbname=db.name)
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
        before = cpu_snapshot(db.name)
        both(args.duration, "m")
        after = cpu_snapshot(db.name)
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


def pgbench_run(args, db, *, concurrency, store_id, key_id, script, workdir, reference="statements") -> dict:
    idle = settle(f"pgbench ({reference})", dbname=db.name)
    before = cpu_snapshot(db.name)
    seconds = args.pgbench_duration or args.duration
    log(f"pgbench, {reference}: {seconds} s at concurrency {concurrency}")
    result = run_pgbench(
        args.pgbench,
        db,
        script=script,
        concurrency=concurrency,
        threads=args.threads,
        seconds=seconds,
        defines={"members": args.members, "store": store_id, "key_id": key_id},
        workdir=workdir,
    )
    usage = cpu_usage(before, cpu_snapshot(db.name))
    result.update(other_before_pct=idle["other_pct"], other_cpu_pct=usage["other_pct"])
    log(f"  {result['tps']:.0f} TPS")
    return result
