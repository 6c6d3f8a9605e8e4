"""Import a generated history: N members and M purchases from CSV files, as a retailer would.

Writes two UTF-8 CSV files (members with external id, phone, name, enrolment date and store;
purchases by external id with receipt, time, total and store), migrates a scratch database, then
times `manage.py import_members` and `import_purchases` as whole processes (wall time and the
process's peak memory), and beside them a raw `COPY` of the same two files into plain text tables
in the same database: the floor that any import pays to read the bytes.

    .venv/bin/python bench/imports.py                          # 1,000,000 members, 10,000,000 purchases
    .venv/bin/python bench/imports.py --members 100000 --purchases 1000000 --no-points

Targets (issue 11): 1,000,000 members and 10,000,000 purchases in <= 10 minutes on 2 cores, peak
memory < 1 GB. The nightly jobs that follow an import are not part of it (--no-recompute).
"""

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pgdb import ScratchDatabase

ROOT = Path(__file__).resolve().parent.parent
STORES = 50


def write_files(folder: Path, members: int, purchases: int, seed: int) -> tuple[Path, Path]:
    rng = random.Random(seed)
    members_file, purchases_file = folder / "members.csv", folder / "purchases.csv"
    start = datetime(2021, 1, 1)
    with members_file.open("w", encoding="utf-8") as out:
        out.write("external_id,phone,name,enrolled_at,store\n")
        for i in range(members):
            enrolled = start + timedelta(minutes=rng.randrange(0, 5 * 365 * 24 * 60))
            out.write(f"C{i:08d},1{rng.choice('3589')}{i:09d},会员{i},{enrolled:%Y-%m-%d %H:%M},s{i % STORES:02d}\n")
    with purchases_file.open("w", encoding="utf-8") as out:
        out.write("external_id,receipt_id,occurred_at,total,store\n")
        for i in range(purchases):
            moment = start + timedelta(seconds=rng.randrange(0, int(5.8 * 365 * 86400)))
            total = f"{rng.randrange(500, 200000) / 100:.2f}"
            out.write(f"C{rng.randrange(members):08d},R{i:010d},{moment:%Y-%m-%dT%H:%M:%S},{total},s{i % STORES:02d}\n")
    return members_file, purchases_file


def timed(command: list[str], env: dict) -> tuple[float, float, str]:
    """Wall seconds and peak memory (MB) of one child process, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far: a child smaller than an earlier one
    # reads as the earlier one. The commands run largest-last, so each figure is its own.
    return elapsed, max(peak, before) / 1024, done.stdout


def raw_copy(db: ScratchDatabase, members_file: Path, purchases_file: Path) -> float:
    conn = db.connect()
    started = time.monotonic()
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE raw_members (a text, b text, c text, d text, e text)")
        cur.execute("CREATE TABLE raw_purchases (a text, b text, c text, d text, e text)")
        for table, path in (("raw_members", members_file), ("raw_purchases", purchases_file)):
            with path.open("rb") as stream:
                cur.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)", stream)
    elapsed = time.monotonic() - started
    with conn.cursor() as cur:
        cur.execute("DROP TABLE raw_members, raw_purchases")
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--purchases", type=int, default=10_000_000)
    parser.add_argument("--no-points", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--database", default="bench_imports")
    args = parser.parse_args()

    db = ScratchDatabase(host=args.host, port=args.port, user=args.user, name=args.database)
    db.recreate()
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "DEBUG": "False",
        "SECRET_KEY": "bench-only-secret-key-that-is-long-enough-0123456789",
        "ALLOWED_HOSTS": "localhost",
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    db.query(
        "INSERT INTO stores_store (code, name, channel, city, active, created_at) "
        "SELECT 's' || lpad(i::text, 2, '0'), 'Store ' || i, 'store', '', true, now() FROM generate_series(0, %s) i",
        [STORES - 1],
    )
    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        members_file, purchases_file = write_files(Path(folder), args.members, args.purchases, args.seed)
        print(
            f"files written in {time.monotonic() - started:.1f} s: "
            f"{members_file.stat().st_size / 1e6:.0f} MB + {purchases_file.stat().st_size / 1e6:.0f} MB"
        )
        copy_seconds = raw_copy(db, members_file, purchases_file)
        manage = [python, "manage.py"]
        m_time, m_peak, m_out = timed([*manage, "import_members", str(members_file), "--no-recompute"], env)
        extra = ["--no-points"] if args.no_points else []
        p_time, p_peak, p_out = timed([*manage, "import_purchases", str(purchases_file), "--no-recompute", *extra], env)
    print(m_out.strip().splitlines()[0])
    print(p_out.strip().splitlines()[0])
    total = m_time + p_time
    print(f"members:   {args.members:>11,} rows {m_time:8.1f} s  peak {m_peak:7.0f} MB")
    print(
        f"purchases: {args.purchases:>11,} rows {p_time:8.1f} s  peak {p_peak:7.0f} MB"
        f"  ({'no points' if args.no_points else 'with points'})"
    )
    print(f"import total {total:.1f} s; raw COPY of both files {copy_seconds:.1f} s; ratio {total / copy_seconds:.1f}x")
    db.drop()


if __name__ == "__main__":
    main()
