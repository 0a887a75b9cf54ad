"""report: what is printed and written about a run: the machine it ran on, the medians of
the runs, the table of figures against their goals, and the JSON file (--json)."""

import json
import os
import platform
import statistics
import subprocess
from pathlib import Path

from .common import ROOT


def machine():
    """The machine of a run, for the report: CPUs, kernel, memory, load average, git revision."""
    info = {"nproc": os.cpu_count(), "kernel": platform.release()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["memory_kb"] = int(f.readline().split()[1])
        info["loadavg_at_start"] = os.getloadavg()[0]
    except OSError:
        pass
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        info["git"] = rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def median_of(runs, key):
    values = [r.get(key) for r in runs if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]
    return statistics.median(values) if values else None


def print_table(scenario, rows_wanted, runs, medians, quick):
    """The table of `rows_wanted` ((figure, goal, test, unit, format), as goals.py lists them)."""
    print()
    print(f"{scenario}: median of {len(runs)} run{'s' if len(runs) != 1 else ''}"
          + (" (--quick: shows that the harness works; these are not measurements)" if quick else ""))
    rows = [("figure", "median", "runs", "goal", "met")]
    others = ("other_processes_cpu_percent", "(other processes' share of the machine)", None, "%", "{:.0f}")
    for key, goal, test, unit, fmt in rows_wanted + [others]:
        value = medians.get(key)
        if value is None:
            continue
        shown = fmt.format(value) + (f" {unit}" if unit else "")
        per_run = " / ".join(fmt.format(r[key]) for r in runs if isinstance(r.get(key), (int, float)))
        met = "" if test is None or quick else ("yes" if test(value, medians) else "NO")
        rows.append((key, shown, per_run, goal, met))
    widths = [max(len(str(row[i])) for row in rows) for i in range(5)]
    for n, row in enumerate(rows):
        print("  " + "  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def write_json(path, report):
    """--json: `report` as indented JSON in the file `path`."""
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
