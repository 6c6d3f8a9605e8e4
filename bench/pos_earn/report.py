"""What the POS earn benchmark prints: per round, the medians of the rounds, and the verdict
against the targets (both references); and the on/off comparison of metrics and logging."""

import os
import statistics
import time

from bench.harness import log

from . import TARGET_FUNCTION_RATIO, TARGET_OBSERVABILITY_COST, TARGET_P99_MS, TARGET_RATIO


def verdict(rps: float, p99_ms: float, s5xx: int, tps: float | None, function_tps: float | None = None) -> dict:
    """Targets: the ratio to the statements in pgbench, the ratio to one function call per
    purchase, p99, no 5xx."""
    ratio = rps / tps if tps else None
    function_ratio = rps / function_tps if function_tps else None
    checks = {
        f"ratio >= {TARGET_RATIO}": ratio is not None and ratio >= TARGET_RATIO,
        f"function ratio >= {TARGET_FUNCTION_RATIO}": function_ratio is not None
        and function_ratio >= TARGET_FUNCTION_RATIO,
        f"p99 <= {TARGET_P99_MS:g} ms": p99_ms <= TARGET_P99_MS,
        "no 5xx": s5xx == 0,
    }
    return {"ratio": ratio, "function_ratio": function_ratio, "checks": checks, "pass": all(checks.values())}


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
        function_ratios = [r["function_ratio"] for r in group if r["function_ratio"] is not None]
        median_function_ratio = statistics.median(function_ratios) if function_ratios else None
        rps = statistics.median(r["rps"] for r in group)
        p99 = statistics.median(r["p99_ms"] for r in group)
        s5xx = sum(r["s5xx"] for r in group)
        v = verdict(
            rps,
            p99,
            s5xx,
            rps / median_ratio if median_ratio else None,
            rps / median_function_ratio if median_function_ratio else None,
        )
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
                "function_tps": statistics.median(r["function_tps"] for r in group) if function_ratios else None,
                "function_ratio": median_function_ratio,
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
    header += f" {'5xx':>4} {'sockerr':>7} {'pgbench':>7} {'ratio':>6} {'fn tps':>6} {'fn rat':>6}"
    header += f" {'cpu/req app+pg ms':>17} {'other':>5}"
    header += "  ledger  targets"
    print(header)
    correct = True
    for row in rows:
        pg, fn = row.get("pgbench"), row.get("pgbench_function")
        v = verdict(row["rps"], row["p99_ms"], row["s5xx"], pg and pg["tps"], fn and fn["tps"])
        row["pgbench_tps"], row["ratio"], row["targets_pass"] = pg and pg["tps"], v["ratio"], v["pass"]
        row["function_tps"], row["function_ratio"] = fn and fn["tps"], v["function_ratio"]
        ledger = row["ledger"]
        correct &= ledger["ok"] and row["s4xx"] == 0 and row["s5xx"] == 0
        print(
            f"  {row['workers']:>7} {row['concurrency']:>4} {row['round']:>5} {row['rps']:>7.1f} {row['p50_ms']:>7.1f} "
            f"{row['p99_ms']:>7.1f} {row['s2xx']:>7} {row['s4xx']:>4} {row['s5xx']:>4} {row['socket_errors']:>7} "
            f"{(pg['tps'] if pg else float('nan')):>7.0f} {(v['ratio'] or float('nan')):>6.3f} "
            f"{(fn['tps'] if fn else float('nan')):>6.0f} {(v['function_ratio'] or float('nan')):>6.3f} "
            f"{row['app_cpu_ms']:>8.1f} + {row['pg_cpu_ms']:<6.1f} {row['other_cpu_pct']:>4.0f}%  "
            f"{'ok' if ledger['ok'] else 'BROKEN':<6}  {_verdict_text(v)}"
        )
    summary = summarise(rows)
    print()
    print("  median of the rounds:")
    print(
        f"  {'workers':>7} {'conc':>4} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7} {'pgbench':>7} {'ratio':>6}"
        f" {'fn tps':>6} {'fn rat':>6}  rounds passed  targets"
    )
    for line in summary:
        print(
            f"  {line['workers']:>7} {line['concurrency']:>4} {line['rps']:>7.1f} {line['p50_ms']:>7.1f} "
            f"{line['p99_ms']:>7.1f} {(line['pgbench_tps'] or float('nan')):>7.0f} "
            f"{(line['ratio'] or float('nan')):>6.3f} {(line['function_tps'] or float('nan')):>6.0f} "
            f"{(line['function_ratio'] or float('nan')):>6.3f}  {line['rounds_passed']} of {line['rounds']:<9}  "
            f"{line['verdict']}"
        )
    last = rows[-1]["ledger"]
    references = [r[name] for r in rows for name in ("pgbench", "pgbench_function") if r.get(name)]
    other = max([r["other_cpu_pct"] for r in rows] + [ref["other_cpu_pct"] for ref in references])
    print()
    print("  pgbench/ratio: the same writes as statements; fn tps/fn rat: as one server-side function call")
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
        f"  targets (medians): ratio app/pgbench >= {TARGET_RATIO}, app/function >= {TARGET_FUNCTION_RATIO}, "
        f"p99 <= {TARGET_P99_MS:g} ms, no 5xx -> "
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
