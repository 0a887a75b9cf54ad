#!/usr/bin/env python3
"""soak.py: every node of Cantina bus killed in turn under load, under the supervisor, and
the counts checked after each fault (docs/RELIABILITY.md, *Soak*).

    tools/reliability/soak.py [--quick] [--minutes M] [--interval S] [--seed N] [--json FILE]
                              [--publishers P] [--rate R] [--bin-dir DIR] [--keep]
    (also `tools/cantina bench soak ...` and `tools/bench/bench.py soak ...`)

--minutes M (10) of steady load (--publishers 3 at --rate 3,000 records/s in all) under the
supervisor (tools/cantina up --detach on a temporary config), with a fault every --interval
s (15): busd, logd, the web bridge and a publisher in turn, SIGKILL or SIGTERM at random
(--seed). After each fault, once the supervisor has everything running again, the session
files are read and every record of every publisher must be in a file exactly once or in a
loss the logging node reported; no line torn. Prints a row per fault (docs/RELIABILITY.md
explains the columns). The exit status is 1 if the counts do not add up or the harness
could not run a step, never because of a time.

--quick runs it for 30 s with a fault every 4 s, only to show that it works (the test
suite runs it). A reliability check, not a benchmark: it takes the machine description and
the harness's error from the benchmark harness (tools/bench/harness) and starts its
processes through tools/cantina, not through the benchmark's Stack. Standard library only;
Linux only.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

BENCH_DIR = str(Path(__file__).resolve().parents[1] / "bench")  # the harness package
if BENCH_DIR not in sys.path:
    sys.path.insert(0, BENCH_DIR)

from harness.common import DEFAULT_BIN_DIR, ROOT, BenchError  # noqa: E402
from harness.report import machine, write_json  # noqa: E402

# ---------------------------------------------------------------------------------------
# faults under the supervisor, and the counts after each one


SOAK_LINE = re.compile(rb"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\] (?:DEBUG   |INFO    |WARNING |ERROR   |CRITICAL) "
                       rb"(.{20}) (.*)$")
SOAK_RECORD = re.compile(rb"^bench (i\d+) p(\d+) (?:s(\d+) x*|ready)$")
SOAK_REPORTS = [  # the logging node's loss reports, as (kind, pattern)
    ("lost", re.compile(rb"^lost (\d+) records from (\S+) \(")),
    ("lost", re.compile(rb"^lost (\d+) records from (\S+) while the logging node was not running \(")),
    ("earlier", re.compile(rb"^(\d+) earlier records from (\S+) are not in this session: publisher [0-9a-f]{16} "
                           rb"first seen at sequence (\d+)$")),
    ("dropped", re.compile(rb"^dropped (\d+) entries: writer queue full")),
    ("malformed", re.compile(rb"^dropped (\d+) malformed messages from (\S+)$")),
    ("unstored", re.compile(rb"^(\d+) lines could not be stored in the session file")),
]
SOAK_SIZE = 100          # message bytes of a soak record
SOAK_LAG_SECONDS = 3.0   # a checkpoint ignores the newest holes: their loss report may not be out yet


class Incarnation:
    """One run of one soak publisher (its tag is its pid): which records reached a file."""

    def __init__(self, tag, publisher):
        self.tag, self.publisher = tag, publisher
        self.seen = bytearray(1024)     # seen[s]: how many times record s is in the files
        self.highest = 0                # the highest s seen
        self.first_in_file = {}         # file index -> its first s (0: the ready record)
        self.duplicates = 0
        self.logged = None              # records it logged, from its result line (a graceful end)

    def add(self, file_index, number):
        if number >= len(self.seen):
            self.seen.extend(bytearray(max(number + 1 - len(self.seen), len(self.seen))))
        if self.seen[number]:
            self.duplicates += 1
        self.seen[number] = min(255, self.seen[number] + 1)
        self.highest = max(self.highest, number)
        self.first_in_file.setdefault(file_index, number)


class SoakLedger:
    """Reads the session files as they grow and accounts for every record of every
    publisher incarnation: in a file exactly once, or in a loss the node reported.

    - A record the node lost in a sequence gap is in a "lost N records from <service>"
      report of that service.
    - A record before the first one a restarted node saw of a publisher the previous node
      knew is in that node's "lost N records from <service> while the logging node was not
      running (sequences A-B)" report (counted as lost); of a publisher it knew nothing of,
      in its "N earlier records from <service> are not in this session: publisher P first
      seen at sequence F" report (F names the record; the check matches it exactly).
    - Entries the writer could not take or store are in "dropped N entries" and "N lines
      could not be stored" reports (not per service: they may explain any hole).
    - Trailing loss (records after a publisher's last one in a file) is reported by no
      node today: counted apart, where the publisher's own result says what it logged.
    """

    def __init__(self, logs, publishers, rate_per_publisher):
        self.logs = Path(logs)
        self.files = []                 # [path, offset, remainder]
        self.incarnations = {}          # tag -> Incarnation
        self.reports = {}               # (kind, service) -> total
        self.earlier = []               # (file index, service, first sequence F)
        self.torn = []
        self.lag = int(rate_per_publisher * SOAK_LAG_SECONDS)
        self.publishers = publishers

    def read(self):
        """Takes in the lines written since the last call."""
        known = {f[0] for f in self.files}
        for path in sorted(self.logs.glob("cantina-session-*.log")):
            if path not in known:
                self.files.append([path, 0, b""])
        for index, entry in enumerate(self.files):
            path, offset, remainder = entry
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
            entry[1] = offset + len(data)
            lines = (remainder + data).split(b"\n")
            entry[2] = lines.pop()
            for line in lines:
                self.take(index, line)

    def take(self, index, line):
        match = SOAK_LINE.match(line)
        if not match:
            self.torn.append(line[:200])
            return
        service, text = match.group(1).strip(), match.group(2)
        if service == b"Logging Service":
            for kind, pattern in SOAK_REPORTS:
                report = pattern.match(text)
                if report:
                    name = report.group(2).decode() if kind in ("lost", "earlier", "malformed") else ""
                    self.reports[(kind, name)] = self.reports.get((kind, name), 0) + int(report.group(1))
                    if kind == "earlier":
                        self.earlier.append((index, name, int(report.group(3))))
                    break
            return
        record = SOAK_RECORD.match(text)
        if record is None:
            if text.startswith(b"bench "):
                self.torn.append(line[:200])   # a soak record that is not whole
            return
        tag = record.group(1).decode()
        incarnation = self.incarnations.get(tag)
        if incarnation is None:
            incarnation = self.incarnations[tag] = Incarnation(tag, int(record.group(2)))
        incarnation.add(index, int(record.group(3)) if record.group(3) else 0)

    def note_results(self, outputs):
        """Reads what each gracefully stopped publisher says it logged (its result lines)."""
        for output in outputs:
            try:
                text = Path(output).read_text(errors="replace")
            except OSError:
                continue
            for match in re.finditer(r"^result (\{.*\})$", text, re.M):
                result = json.loads(match.group(1))
                incarnation = self.incarnations.get(result.get("tag"))
                if incarnation is not None:
                    incarnation.logged = result["logged"]

    def account(self, final):
        """The counts so far. With final=False the newest SOAK_LAG_SECONDS of each
        incarnation are left out (their loss reports may still be on their way)."""
        holes = {}                       # service -> records missing and not before a reported restart
        earlier_missing = 0              # records missing, covered by an "earlier records" report
        unmatched_earlier = 0
        trailing = trailing_unknown = 0
        records = duplicates = 0
        for incarnation in self.incarnations.values():
            service = f"soak_{incarnation.publisher}"
            seen = incarnation.seen
            records += incarnation.highest - seen.count(0, 1, incarnation.highest + 1)
            duplicates += incarnation.duplicates
            # The restarts this incarnation lived through: reports naming its first record.
            covered_below = 0
            for index, first in incarnation.first_in_file.items():
                if first == 0:
                    continue
                match = [e for e in self.earlier if e[0] == index and e[1] == service and e[2] == first + 1]
                if match:
                    covered_below = max(covered_below, first)
            limit = max(0, incarnation.highest if final else incarnation.highest - self.lag)
            split = min(covered_below, limit + 1)
            earlier_missing += seen.count(0, 1, max(1, split))
            holes[service] = holes.get(service, 0) + seen.count(0, max(1, split), limit + 1)
            if final or incarnation.logged is not None:
                if incarnation.logged is not None:
                    trailing += max(0, incarnation.logged - incarnation.highest)
                else:
                    trailing_unknown += 1
        matched = set()
        for incarnation in self.incarnations.values():
            service = f"soak_{incarnation.publisher}"
            for index, first in incarnation.first_in_file.items():
                if first:
                    matched.add((index, service, first + 1))
        unmatched_earlier = sum(1 for e in self.earlier if e not in matched)
        lost = sum(v for (kind, _), v in self.reports.items() if kind == "lost")
        pooled = self.reports.get(("dropped", ""), 0) + self.reports.get(("unstored", ""), 0)
        unexplained = sum(max(0, count - self.reports.get(("lost", service), 0)) for service, count in holes.items())
        unexplained = max(0, unexplained - pooled)
        return {
            "files": len(self.files),
            "incarnations": len(self.incarnations),
            "records": records,
            "duplicates": duplicates,
            "torn_lines": len(self.torn),
            "missing_in_gaps": sum(holes.values()),
            "reported_lost": lost,
            "reported_dropped_or_unstored": pooled,
            "missing_before_restart": earlier_missing,
            "restart_reports": len(self.earlier),
            "restart_reports_unmatched": unmatched_earlier,
            "malformed": sum(v for (kind, _), v in self.reports.items() if kind == "malformed"),
            "unexplained": unexplained,
            "trailing_unreported": trailing,
            "killed_publishers_trailing_unknown": trailing_unknown,
            "ok": duplicates == 0 and not self.torn and unexplained == 0 and unmatched_earlier == 0,
        }


class Supervised:
    """tools/cantina up --detach on a temporary config, driven like a user: status --json, down."""

    def __init__(self, bin_dir, work, publishers, rate):
        self.dir = Path(work)
        self.env = dict(os.environ, CANTINA_BIN_DIR=str(bin_dir),
                        CANTINA_LIB=str((Path(bin_dir).parent / "lib" / "libcantina_bus_c.so").resolve()),
                        CANTINA_STATE_DIR=str(self.dir / "state"), PYTHONDONTWRITEBYTECODE="1")
        self.config = self.dir / "soak.toml"
        services = "".join(f"""
[[service]]
name = "soak_{k}"
# exec: $$ is then the publisher's own pid, the tag of this incarnation's records
command = "exec cantina-bench-load publish --publish ipc://{self.dir}/publish --publisher {k} --count 1000000000 --rate {rate} --size {SOAK_SIZE} --tag i$$ --service soak_{k}"
restart = "always"
capture = false
""" for k in range(publishers))
        self.config.write_text(f"""# written by tools/reliability/soak.py
[bus]
publish_endpoint = "ipc://{self.dir}/publish"
subscribe_endpoint = "ipc://{self.dir}/subscribe"
[logging]
session_file_path = "{self.dir}/logs"
query_endpoint = "ipc://{self.dir}/query"
# The soak reads every session file back as plain text: retention keeps them all, uncompressed.
compress_level = 0
max_total_bytes = 0
max_sessions = 0
min_free_bytes = 0
[webbridge]
listen = "127.0.0.1:0"
{services}""")
        self.cantina("up", "--detach", check=True, timeout=120)

    def cantina(self, *args, check=False, timeout=60):
        result = subprocess.run([sys.executable, str(ROOT / "tools" / "cantina"), "--config", str(self.config), *args],
                                env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise BenchError(f"tools/cantina {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result

    def children(self):
        result = self.cantina("status", "--json")
        try:
            return {c["name"]: c for c in json.loads(result.stdout)["children"]}
        except (ValueError, KeyError):
            raise BenchError(f"tools/cantina status --json: {result.stdout}{result.stderr}") from None

    def down(self):
        self.cantina("down", timeout=120)


def soak_wait(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"soak: {what} within {timeout:g} s")
        time.sleep(0.2)


def run_soak(args):
    """`soak`: steady load under the supervisor with a fault every --interval seconds (every
    node in turn, SIGKILL or SIGTERM at random); the counts are checked after each fault and
    at the end. Returns the report (what --json writes)."""
    rng = random.Random(args.seed)
    minutes = args.minutes if args.minutes is not None else (0.5 if args.quick else 10.0)
    interval = args.interval if args.interval is not None else (4.0 if args.quick else 15.0)
    publishers = args.publishers or 3
    rate = (args.rate or 3000) / publishers
    info = machine()
    print(f"cantina bench soak: {minutes:g} min, a fault every {interval:g} s, {publishers} publishers at "
          f"{rate * publishers:,.0f} records/s in all, seed {args.seed}; {info.get('nproc')} cpus, load average "
          f"{info.get('loadavg_at_start', 0):.2f}, {info.get('git', '')}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="cantina-soak-"))
    targets = ["cantina-busd", "cantina-logd", "cantina-webbridge", "publisher"]
    rows, failures = [], []
    supervised = None
    started = time.monotonic()
    ledger = SoakLedger(work / "logs", publishers, rate)
    try:
        supervised = Supervised(args.bin_dir, work, publishers, rate)
        time.sleep(min(interval, 5.0))
        print(soak_header(), flush=True)
        deadline = started + minutes * 60
        n = 0
        while time.monotonic() < deadline:
            target = targets[n % len(targets)]
            if target == "publisher":
                target = f"soak_{(n // len(targets)) % publishers}"
            signum = rng.choice([signal.SIGKILL, signal.SIGTERM])
            fault_at = time.monotonic()
            before = supervised.children()[target]
            if before["state"] != "RUNNING" or not before["pid"]:
                raise BenchError(f"soak: {target} is not running before the fault: {before}")
            os.kill(before["pid"], signum)
            soak_wait(lambda: (lambda c: c[target]["starts"] > before["starts"]
                               and all(child["state"] == "RUNNING" for child in c.values()))(supervised.children()),
                      90, f"{target} was not running again")
            recovered = time.monotonic() - fault_at
            time.sleep(max(1.0, interval - recovered))
            ledger.read()
            ledger.note_results(sorted((work / "state").glob("soak_*.out")))
            counts = ledger.account(final=False)
            n += 1
            row = {"fault": n, "at_s": round(fault_at - started, 1), "target": target,
                   "signal": signal.Signals(signum).name, "recovered_s": round(recovered, 1), **counts}
            rows.append(row)
            print(soak_row(row), flush=True)
            if not counts["ok"]:
                failures.append(f"after fault {n} ({target} {row['signal']}): the counts do not add up: {counts}")
        supervised.down()
        supervised = None
        ledger.read()
        ledger.note_results(sorted((work / "state").glob("soak_*.out")))
        final = ledger.account(final=True)
        row = {"fault": "end", "at_s": round(time.monotonic() - started, 1), "target": "(down)", "signal": "SIGTERM",
               "recovered_s": None, **final}
        rows.append(row)
        print(soak_row(row), flush=True)
        if not final["ok"]:
            failures.append(f"at the end: the counts do not add up: {final}")
    except BenchError as error:
        failures.append(f"harness: {error}")
    except Exception as error:  # a bug of the harness: report it with the figures so far
        traceback.print_exc()
        failures.append(f"harness: {type(error).__name__}: {error}")
    finally:
        if supervised is not None:
            supervised.down()
        for line in ledger.torn[:5]:
            print(f"  torn line: {line!r}")
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    for failure in failures:
        print(f"SELF-CHECK FAILED: {failure}")
    faults = [r for r in rows if r["fault"] != "end"]
    print(f"soak: {len(faults)} faults in {time.monotonic() - started:.0f} s: "
          f"{'every count added up' if not failures else 'FAILED'}", flush=True)
    return {"scenario": "soak", "quick": args.quick, "machine": info,
            "parameters": {"minutes": minutes, "interval": interval, "publishers": publishers,
                           "rate": rate * publishers, "seed": args.seed},
            "faults": rows, "self_checks_passed": not failures, "failures": failures}


SOAK_COLUMNS = [("fault", "#", 4), ("at_s", "at s", 6), ("target", "target", 17), ("signal", "signal", 7),
                ("recovered_s", "back s", 6), ("files", "files", 5), ("records", "in files", 9),
                ("duplicates", "dup", 3), ("torn_lines", "torn", 4), ("missing_in_gaps", "gaps", 6),
                ("reported_lost", "rep.lost", 8), ("missing_before_restart", "pre-rst", 7),
                ("restart_reports", "rst.rep", 7), ("unexplained", "unexpl", 6),
                ("trailing_unreported", "trail", 5), ("killed_publishers_trailing_unknown", "trail?", 6),
                ("ok", "ok", 3)]


def soak_header():
    return "  " + " ".join((title.rjust(width) if key not in ("target", "signal") else title.ljust(width))
                           for key, title, width in SOAK_COLUMNS)


def soak_row(row):
    cells = []
    for key, _, width in SOAK_COLUMNS:
        value = row.get(key)
        text = "-" if value is None else ("yes" if value is True else "NO" if value is False else
                                          f"{value:,}" if isinstance(value, int) else str(value))
        cells.append(text.rjust(width) if key not in ("target", "signal") else text.ljust(width))
    return "  " + " ".join(cells)


def run(args):
    """Runs the soak with parsed options (those of main() below, or of bench.py, whose
    `soak` dispatches here); writes --json; returns the exit status."""
    report = run_soak(args)
    if args.json:
        write_json(args.json, report)
    return 0 if report["self_checks_passed"] else 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="soak.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--quick", action="store_true", help="a 30 s run that only shows the soak works")
    parser.add_argument("--minutes", type=float, help="how long (default 10; --quick 0.5)")
    parser.add_argument("--interval", type=float, help="seconds from one fault to the next (default 15; --quick 4)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random signal choice (default 1)")
    parser.add_argument("--publishers", type=int, help="publisher services (default 3)")
    parser.add_argument("--rate", type=float, help="records/s of all publishers together (default 3,000)")
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE")
    parser.add_argument("--bin-dir", default=str(DEFAULT_BIN_DIR), help="the built executables (default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
