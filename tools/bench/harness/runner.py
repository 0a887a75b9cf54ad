"""runner: one scenario, --runs times on one fresh Stack; the table and the report."""

import shutil
import tempfile
import time
import traceback
from pathlib import Path

from .common import BenchError
from .goals import goals_for
from .measure import OthersWindow
from .report import machine, median_of, print_table
from .scenarios import SCENARIOS
from .stack import Stack


def run_scenario(args):
    """Runs args.runs runs of args.scenario on a fresh stack; prints the table; returns the
    report (what --json writes)."""
    perf = tuple(args.perf.split(":", 1)) + (args.perf_options,) if args.perf else None
    info = machine()
    print(f"cantina bench {args.scenario}{' --quick' if args.quick else ''}: {info.get('nproc')} cpus "
          f"({info.get('cpu', '?')}), {info.get('memory_kb', 0) // 1024} MB, load average "
          f"{info.get('loadavg_at_start', 0):.2f}, {info.get('git', '')}", flush=True)
    if info.get("loadavg_at_start", 0) > 0.5 and not args.quick:
        print("  note: the machine is busy (load average > 0.5); figures will be low and noisy", flush=True)

    work = Path(tempfile.mkdtemp(prefix="cantina-bench-"))
    runs, failures = [], []
    stack = None
    started = time.monotonic()
    try:
        stack = Stack(args.bin_dir, work, perf,
                      "" if args.batch_interval_ms is None else f"batch_interval_ms = {args.batch_interval_ms}\n",
                      "" if args.dashboard_max_rate is None else f"dashboard_max_rate = {args.dashboard_max_rate}\n",
                      "" if args.linger_unwatched is None else f"logger_linger_unwatched_ms = {args.linger_unwatched}\n")
        for run in range(1, args.runs + 1):
            print(f"run {run} of {args.runs}", flush=True)
            others = OthersWindow(stack).start()
            figures, run_failures = SCENARIOS[args.scenario](stack, args, run, runs[-1] if runs else None)
            figures["other_processes_cpu_percent"] = others.percent_of_machine()
            print(f"  other processes used {figures['other_processes_cpu_percent']:.0f}% of the machine "
                  f"during this run", flush=True)
            runs.append(figures)
            failures += [f"run {run}: {f}" for f in run_failures]
    except BenchError as error:
        failures.append(f"harness: {error}")
    except Exception as error:  # a bug of the harness: report it with the figures so far
        traceback.print_exc()
        failures.append(f"harness: {type(error).__name__}: {error}")
    finally:
        if stack:
            stack.close()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    keys = []
    for r in runs:
        keys += [k for k in r if k not in keys]
    medians = {k: median_of(runs, k) for k in keys}
    medians = {k: v for k, v in medians.items() if v is not None}
    if runs:
        print_table(args.scenario, goals_for(args), runs, medians, args.quick)
    goals = []
    for key, goal, test, unit, _ in goals_for(args):
        if test is not None and key in medians:
            goals.append({"figure": key, "goal": goal, "median": medians[key], "unit": unit,
                          "met": bool(test(medians[key], medians))})
    print()
    if not runs and not failures:
        failures.append("no run completed")
    for failure in failures:
        print(f"SELF-CHECK FAILED: {failure}")
    print(f"{args.scenario}: {'self-checks passed' if not failures else 'self-checks FAILED'} "
          f"({time.monotonic() - started:.0f} s)", flush=True)
    return {
        "scenario": args.scenario,
        "quick": args.quick,
        "machine": info,
        "parameters": {k: v for k, v in vars(args).items() if k not in ("json",)},
        "runs": runs,
        "median": medians,
        "goals": goals,
        "self_checks_passed": not failures,
        "failures": failures,
    }
