"""What every benchmark script shares: a scratch PostgreSQL database, the app's environment (as a
subprocess or set up in this process), gunicorn, pgbench, CPU accounting on a shared machine, and
medians. Scripts run from the repository root as modules: `.venv/bin/python -m bench.<name>`."""

import contextlib
import glob
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

PROJECT_DIR = Path(__file__).resolve().parent.parent


def log(msg: str) -> None:
    # UTC: a script that sets Django up in its process gets the business time zone as local time.
    print(f"[{datetime.now(UTC):%H:%M:%S}Z] {msg}", flush=True)


def median(values) -> float:
    """The median of several runs: what the benchmarks quote (a shared machine's speed drifts)."""
    return statistics.median(list(values))


# --- the scratch database -----------------------------------------------------------------------


class ScratchDatabase:
    """Created, queried and dropped with autocommit connections."""

    def __init__(self, *, host: str, port: int, user: str, name: str, app_options: str = ""):
        self.host, self.port, self.user, self.name = host, port, user, name
        # Connection options for the app only (e.g. "-c jit=off"), passed in its DATABASE_URL.
        self.app_options = app_options

    @property
    def url(self) -> str:
        """The app's DATABASE_URL."""
        options = f"?options={urllib.parse.quote(self.app_options)}" if self.app_options else ""
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.name}{options}"

    def connect(self, dbname: str | None = None):
        conn = psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=dbname or self.name)
        conn.autocommit = True
        return conn

    def recreate(self) -> None:
        with contextlib.closing(self.connect("postgres")) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            cur.execute(f"CREATE DATABASE {self.name}")

    def drop(self) -> None:
        with contextlib.closing(self.connect("postgres")) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def query(self, sql: str, params=None) -> list[tuple]:
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []


def timed_query(conn, sql: str, params=None) -> tuple[list[tuple], float]:
    started = time.monotonic()
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
    return rows, time.monotonic() - started


def add_database_arguments(parser, *, db_name: str | None = None) -> None:
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    if db_name:
        parser.add_argument("--db-name", default=db_name)


# --- the app --------------------------------------------------------------------------------------


def app_env(*, database_url: str, redis_url: str, **extra: str) -> dict:
    """The environment the app runs with in a benchmark: production settings (DEBUG off), a fresh
    secret, quiet logs; `extra` adds or overrides settings."""
    return {
        **os.environ,
        "DEBUG": "False",
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def manage(python: str, project_dir: Path, env: dict, *cmd: str) -> str:
    result = subprocess.run(
        [python, "manage.py", *cmd], cwd=project_dir, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def django_setup(project_dir: Path, env: dict) -> None:
    """Use the app of `project_dir` in this process (a worker started from here reads the same settings)."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    # Celery puts the working directory first on sys.path: make it the project being measured.
    os.chdir(project_dir)
    sys.path.insert(0, str(project_dir))
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """The app served as bin/web serves it, on a free loopback port; its log goes to `logdir`."""

    def __init__(self, args, env: dict, workers: int, logdir: Path):
        self.port = free_port()
        self.log_path = logdir / f"gunicorn-w{workers}-{self.port}.log"
        self.log = self.log_path.open("w")
        observed = env.get("METRICS_ENABLED") == "True"
        if observed:
            # As bin/web does: each start begins with an empty metrics directory.
            shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
            Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True)
        cmd = [
            args.gunicorn, args.wsgi, "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
            "--worker-class", args.worker_class,
            *(["--threads", str(args.worker_threads)] if args.worker_class == "gthread" else []),
            "--backlog", "2048", "--timeout", "60",
        ]  # fmt: skip
        if observed:
            # bin/web's configuration (JSON logs, metrics of dead workers); the flags above win.
            cmd += ["--config", "python:loyalty.gunicorn_conf"]
        if getattr(args, "access_log", False):
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


def add_gunicorn_arguments(parser) -> None:
    parser.add_argument("--wsgi", default="loyalty.wsgi", help="WSGI module to serve (default loyalty.wsgi)")
    parser.add_argument(
        "--worker-class", choices=["sync", "gthread"], default="sync", help="gunicorn worker class (default sync)"
    )
    parser.add_argument("--worker-threads", type=int, default=1, help="threads per gthread worker (default 1)")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help="the checkout to serve")
    parser.add_argument("--python", default=sys.executable, help="python with the project installed")
    parser.add_argument("--gunicorn", default=str(Path(sys.executable).with_name("gunicorn")))


# --- pgbench --------------------------------------------------------------------------------------


def find_pgbench() -> str | None:
    return shutil.which("pgbench") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))[::-1]), None)


def run_pgbench(
    pgbench: str, db: ScratchDatabase, *, script: Path, concurrency: int, threads: int, seconds: int,
    defines: dict, workdir: Path,
) -> dict:  # fmt: skip
    """pgbench with `script` (variables from `defines`) for `seconds`; TPS and latency percentiles."""
    logdir = Path(tempfile.mkdtemp(prefix=f"pgbench-c{concurrency}-", dir=workdir))
    cmd = [pgbench, "-n", "-f", str(script), "-c", str(concurrency), "-j", str(min(threads, concurrency))]
    cmd += ["-T", str(seconds), "-l", "-h", db.host, "-p", str(db.port), "-U", db.user]
    for name, value in defines.items():
        cmd += ["-D", f"{name}={value}"]
    cmd.append(db.name)
    result = subprocess.run(cmd, cwd=logdir, capture_output=True, text=True, timeout=seconds + 120, check=False)
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


# --- CPU accounting (Linux /proc; best effort) ------------------------------------------------------


def _proc_cpu(pid: str, dbname: str) -> tuple[str, int, float]:
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
        if len(words) >= 5 and ("(" in words[4] or words[4] == "[local]") and words[3] != dbname:
            comm = f"postgres:{words[3]}"
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(dbname: str = "") -> dict:
    """CPU seconds used so far by every process, and the machine's busy and total ticks. PostgreSQL
    backends of databases other than `dbname` count as unrelated work."""
    procs = {}
    with contextlib.suppress(OSError):
        for pid in filter(str.isdigit, os.listdir("/proc")):
            with contextlib.suppress(OSError, ValueError, IndexError):
                procs[int(pid)] = _proc_cpu(pid, dbname)
    busy = total = 0
    with contextlib.suppress(OSError), open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
        total, busy = sum(ticks), sum(ticks) - ticks[3] - ticks[4]
    return {"procs": procs, "busy": busy, "total": total, "at": time.monotonic()}


def cpu_usage(before: dict, after: dict, app_pid: int = -1) -> dict:
    """CPU seconds between two snapshots: the app (a process and its children, e.g. gunicorn's
    master and workers), PostgreSQL, this benchmark and its load generator, and everything else
    (work that has nothing to do with the benchmark)."""
    used = {"app": 0.0, "pg": 0.0, "bench": 0.0, "other": 0.0}
    others: dict[str, float] = {}
    me = os.getpid()
    for pid, (comm, ppid, cpu) in after["procs"].items():
        delta = cpu - before["procs"].get(pid, (comm, ppid, 0.0))[2]
        if pid == app_pid or ppid == app_pid:
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


def settle(what: str, *, dbname: str = "", max_wait: float = 20, busy_below_pct: float = 15) -> dict:
    """Wait (up to max_wait seconds) for the machine to calm down, e.g. autovacuum after the
    previous run, then say whether something unrelated is using the CPU: that skews every figure."""
    deadline = time.monotonic() + max_wait
    while True:
        before = cpu_snapshot(dbname)
        time.sleep(1)
        usage = cpu_usage(before, cpu_snapshot(dbname))
        if usage["busy_pct"] < busy_below_pct or time.monotonic() > deadline:
            break
    if usage["other_pct"] > 10:
        log(f"WARNING: before {what}, other work uses {usage['other_pct']:.0f}% of the CPU ({usage['top_other']})")
    return usage


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    result = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                result[key] = int(value.split()[0])
    return result


class OtherCpu:
    """Context manager: the share of all CPUs (0..1) that unrelated work used while the block ran
    (other processes, and PostgreSQL backends of databases other than `dbname`)."""

    def __init__(self, dbname: str):
        self.dbname = dbname

    def __enter__(self):
        self.before = cpu_snapshot(self.dbname)
        return self

    def __exit__(self, *exc):
        self.share = cpu_usage(self.before, cpu_snapshot(self.dbname))["other_pct"] / 100
        return False
