"""Running the nightly jobs: in a real Celery worker (solo pool, its memory measured) or in
process, and counting what they wrote."""

import contextlib
import os
import signal
import statistics
import subprocess
import time
from datetime import datetime
from pathlib import Path

from bench.harness import log, proc_status

from . import HISTORY_TABLES, UPDATED_TABLES, Db


class Worker:
    """A real Celery worker (solo pool: the tasks run in the process whose memory is measured)."""

    def __init__(self, args, env: dict, logdir: Path):
        self.log_path = logdir / "celery-worker.log"
        self.log_file = self.log_path.open("w")
        cmd = [
            args.python, "-m", "celery", "-A", "loyalty", "worker", "--pool", "solo", "--loglevel", "INFO",
            "--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"bench_nightly_{os.getpid()}@%h",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd,
            cwd=args.project_dir,
            env={**env, "LOG_LEVEL": "INFO"},
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited ({self.proc.returncode}):\n{self.tail()}")
            if " ready." in self.log_path.read_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready after {timeout:.0f}s:\n{self.tail()}")

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.log_path.read_text().splitlines()[-n:])

    def memory(self) -> dict[str, int]:
        return proc_status(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # warm shutdown
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only what we started
                self.proc.wait(timeout=5)
        self.log_file.close()


def run_job_in_worker(worker: Worker, name: str, *, as_of: datetime, full: bool, timeout: float) -> dict:
    """What jobs.tasks.start_job does, with a chosen as_of: create the run and its chunks, then
    queue one jobs.run_chunk task per chunk for the worker. Waits until the run is done."""
    from jobs.models import JobRun, RunStatus
    from jobs.services import job_run_start
    from jobs.tasks import run_chunk

    started = time.monotonic()
    run, _ = job_run_start(name=name, as_of=as_of, full=full, triggered_by="bench nightly (worker)")
    for chunk_id in run.chunks.order_by("index").values_list("pk", flat=True):
        run_chunk.delay(chunk_id)
    peak_rss = 0
    while True:
        run = JobRun.objects.get(pk=run.pk)
        peak_rss = max(peak_rss, worker.memory().get("VmRSS", 0))
        if run.status != RunStatus.RUNNING:
            break
        if worker.proc.poll() is not None:
            raise RuntimeError(f"celery worker died during {name}:\n{worker.tail()}")
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{name} not done after {timeout:.0f}s ({run.chunks_done}/{run.chunks_total} chunks)")
        time.sleep(0.2)
    if run.status != RunStatus.DONE:
        raise RuntimeError(f"{name} {run.status} in the worker:\n{worker.tail()}")
    return job_row(run, time.monotonic() - started, rss_kb=peak_rss)


def job_row(run, seconds: float, rss_kb: int | None = None) -> dict:
    from jobs.models import JobChunk

    ends = list(JobChunk.objects.filter(run=run).order_by("finished_at").values_list("finished_at", flat=True))
    starts = [run.started_at, *ends][: len(ends)]
    chunk_seconds = [(b - a).total_seconds() for a, b in zip(starts, ends, strict=True)]
    return {
        "job": run.name,
        "examined": run.examined,
        "changed": run.changed,
        "seconds": seconds,
        "run_seconds": run.seconds,
        "since": run.since.isoformat() if run.since else None,
        "chunks": run.chunks_total,
        "chunk_median": statistics.median(chunk_seconds) if chunk_seconds else 0.0,
        "chunk_max": max(chunk_seconds, default=0.0),
        "rss_kb": rss_kb,
    }


def run_jobs_in_process(as_of: datetime, full: bool, label: str) -> list[dict]:
    from jobs.registry import NIGHTLY_ORDER
    from jobs.services import job_run_now

    rows = []
    for name in NIGHTLY_ORDER:
        summary = job_run_now(name=name, as_of=as_of, full=full, triggered_by=f"bench nightly ({label})")
        rows.append(job_row(summary.run, summary.seconds))
        log(f"  {summary.line()}")
    return rows


def xid_now(db: Db) -> int:
    return db.query("SELECT txid_current() % 4294967296")[0][0]


def writes_since(db: Db, xid: int, history: dict[str, int]) -> dict[str, int]:
    """Rows the jobs wrote after transaction `xid`: new history rows, updated members and lots."""
    written = {t: n - history[t] for t, n in history_counts(db).items()}
    for table in UPDATED_TABLES:
        written[f"{table} (updated)"] = db.query(f"SELECT count(*) FROM {table} WHERE xmin::text::bigint > %s", (xid,))[
            0
        ][0]
    return written


def history_counts(db: Db) -> dict[str, int]:
    return dict(db.query(" UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in HISTORY_TABLES)))


# --- report --------------------------------------------------------------------------------
