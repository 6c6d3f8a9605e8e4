"""What the nightly benchmark prints: a table per step and job, the ratios to the baseline and the
verdict against the targets."""

from . import TARGET_NIGHTLY, TARGET_RERUN, TARGET_RSS_MB
from .baseline import STAGES


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join(lines)


def report(args, result: dict) -> bool:
    rows = []
    for step, key in (
        ("initial full pass T0", "initial"),
        ("nightly run T1", "nightly"),
        ("no-change rerun T1", "rerun"),
    ):
        if not result.get(key):
            continue
        for r in result[key]:
            rss = f"{r['rss_kb'] / 1024:.0f}" if r.get("rss_kb") else ""
            rows.append(
                [step, r["job"], r["examined"], r["changed"], r["chunks"], f"{r['chunk_median']:.2f}",
                 f"{r['chunk_max']:.2f}", rss, f"{r['seconds']:.2f}"]
            )  # fmt: skip
        total = sum(r["seconds"] for r in result[key])
        rows.append([step, "= whole run", "", sum(r["changed"] for r in result[key]), "", "", "", "", f"{total:.2f}"])
    base = result["baseline"]
    members, purchases = result["counts"]["members_member"], result["counts"]["members_purchase"]
    rows.append(["baseline T1", "stage rule, set-based", members, "", "", "", "", "", f"{base['seconds']:.2f}"])
    print()
    options = f", app connections with {args.pg_options!r}" if args.pg_options else ""
    print(
        f"nightly jobs at {members:,} members / {purchases:,} purchases "
        f"(chunk size {result['chunk_size']}{options}, T0 {result['t0']}, T1 = T0 + 1 day)"
    )
    header = ["step", "job", "examined", "changed", "chunks", "chunk p50 s", "chunk max s", "peak RSS MB", "seconds"]
    print(table(rows, header))
    print(f"  baseline runs: {', '.join(f'{s:.2f}' for s in base['runs'])} s (median reported)")
    before = ", ".join(f"{step} {share:.0%}" for step, share in result["other_load"].items())
    during = ", ".join(f"{step} {share:.0%}" for step, share in result.get("other_during", {}).items())
    print(f"  CPU used by other processes (share of all CPUs): before each step {before}; during {during}")
    print()
    print("stage distribution (members_member after the nightly run vs the baseline as of T1):")
    srows = [[s, "", result["stages_app"].get(s, 0), base["counts"].get(s, 0)] for s in STAGES]
    print(table(srows, ["stage", "", "app", "baseline"]))
    print(f"  per-member differences: {result['baseline_diff'] or 'none'}")
    print(f"  writes by the no-change rerun: {result['rerun_writes']}")
    nightly = sum(r["seconds"] for r in result["nightly"])
    rerun = sum(r["seconds"] for r in result["rerun"])
    ratio_nightly, ratio_rerun = nightly / base["seconds"], rerun / base["seconds"]
    rss_mb = result["worker_rss_kb"] / 1024 if result.get("worker_rss_kb") else None
    matched = result["stages_app"] == base["counts"] and not result["baseline_diff"]
    quiet = not any(result["rerun_writes"].values()) and not any(r["changed"] for r in result["rerun"])
    checks = [
        (f"nightly / baseline = {ratio_nightly:.2f}x (target <= {TARGET_NIGHTLY}x)", ratio_nightly <= TARGET_NIGHTLY),
        (f"no-change rerun / baseline = {ratio_rerun:.2f}x (target <= {TARGET_RERUN}x)", ratio_rerun <= TARGET_RERUN),
        (
            f"worker peak RSS = {rss_mb:.0f} MB over {result['worker_measured']} (target < {TARGET_RSS_MB:.0f} MB)"
            if rss_mb
            else "worker peak RSS: not measured in this run (--no-worker or --reuse)",
            None if rss_mb is None else rss_mb < TARGET_RSS_MB,
        ),
        ("baseline stage counts equal the app's", matched),
        ("no-change rerun changed and wrote nothing", quiet),
    ]
    print()
    for text, ok in checks:
        print(f"  {'SKIP' if ok is None else 'PASS' if ok else 'FAIL'}  {text}")
    result["ratios"] = {"nightly": ratio_nightly, "rerun": ratio_rerun}
    return all(ok is not False for _, ok in checks)


# --- main ----------------------------------------------------------------------------------
