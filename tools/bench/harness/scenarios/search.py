"""search: reading the past (issue 15). One session file of --search-mib MiB (1,024) is
written in the seed's line format, indexed by a cantina-logd started on its folder (the
node rewrites the missing index of a finished part at start), then, with the page cache
warm, timed with the node stopped:

- a regex search over the whole file: `cantina-cli logs --grep RE` beside ripgrep
  (`rg RE`) and `grep -E RE` on the same file, each printing its matches to a pipe;
  the three must find the same number of lines (a self-check);
- seeking to a minute: `logs --since T --until T+59s` at --seeks random minutes, each
  timed --search-rounds times (the slowest minute's median is the figure of the goal);
- filtered queries: `logs --level CRITICAL` and `logs --service rare_service`, each
  matching about 1 % of the lines, which the index lets the reader skip to.

Each figure is the median of --search-rounds timings of the whole command (process start
included), interleaved tool by tool so that the machine's load falls on all alike."""

import os
import random
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from ..common import BenchError
from ..stack import RETENTION_OFF

SESSION_ID = "20261201-120000"
START_NS = 1_796_126_400_000_000_000        # 2026-12-01T12:00:00Z
STEP_NS = 1_000_000                         # a line a millisecond
SERVICES = ["Voice Input", "Music Controller", "Eye Lights", "GPT Service", "Mouse Input", "Web Bridge",
            "Brain Service", "Head Servo", "Logging Service"]
RARE = "Rare Service"                       # 1 line in 100
PATTERN = r"timeout after [0-9]{3} ms on channel 7[0-9]"
LEVELS = ["INFO", "INFO", "INFO", "INFO", "DEBUG", "INFO", "WARNING", "INFO", "INFO", "INFO"]


def line_at(i):
    """The i-th line: a service and level that cycle, 1 % CRITICAL and 1 % of the rare service,
    and a message of which 1 in 997 matches PATTERN."""
    ts_ns = START_NS + i * STEP_NS
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ns // 1000:06d}Z"
    level = "CRITICAL" if i % 100 == 37 else LEVELS[i % len(LEVELS)]
    service = RARE if i % 100 == 11 else SERVICES[i % len(SERVICES)]
    if i % 997 == 5:
        message = f"request {i} failed: timeout after {100 + i % 900} ms on channel {70 + i % 10}"
    else:
        message = f"volume set to {i % 101}% for track {i % 7919} (queue {i % 13}, buffer {i % 4096} bytes)"
    return f"[{stamp}] {level:<8} {service:<20} {message}\n"


def write_session(folder, mib):
    """Writes the session file (about `mib` MiB); returns (path, lines)."""
    path = folder / f"cantina-session-{SESSION_ID}.log"
    target = mib << 20
    written = lines = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < target:
            chunk = "".join(line_at(i) for i in range(lines, lines + 20_000))
            out.write(chunk)
            written += len(chunk)
            lines += 20_000
    os.chmod(path, 0o640)
    return path, lines


def index_with_logd(stack, folder, session_path, limit):
    """Starts cantina-logd on `folder` (no retention or compression of the file) until the
    part's index is written whole (or `limit` seconds: the node's retention thread runs at
    idle priority, and a busy machine may starve it), then stops it. Returns the index's
    size (0: none yet; the reader then rebuilds it as it reads)."""
    config = stack.config_variant("search.toml", RETENTION_OFF + "compress_level = 0\n", session_dir=folder)
    logd = stack.spawn("logd-indexer", ["cantina-logd", "--config", config])
    index = Path(str(session_path) + ".idx")
    deadline = time.monotonic() + limit
    size, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = index.stat().st_size if index.exists() else -1
        if now != size:
            size, stable_since = now, time.monotonic()
        elif size > 0 and time.monotonic() - stable_since > 2.0:
            break
        time.sleep(0.2)
    logd.stop()
    return max(size, 0)


def timed(argv):
    """Runs argv with its output to a pipe; returns (seconds, lines printed)."""
    started = time.perf_counter()
    run = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if run.returncode not in (0, 1):     # 1: nothing matched (grep, rg)
        raise BenchError(f"{argv[0]} failed ({run.returncode}): {run.stderr.decode(errors='replace')[-500:]}")
    return elapsed, run.stdout.count(b"\n")


def scenario_search(stack, args, run, previous):
    failures, figures = [], {}
    folder = stack.dir / "search-logs"
    if run == 1 or not folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(mode=0o750)
        started = time.monotonic()
        session, lines = write_session(folder, args.search_mib)
        print(f"  wrote {session.stat().st_size / 2**20:,.0f} MiB ({lines:,} lines) in "
              f"{time.monotonic() - started:.0f} s", flush=True)
        started = time.monotonic()
        index_bytes = index_with_logd(stack, folder, session, 30 if args.quick else 600)
        if index_bytes:
            print(f"  cantina-logd indexed it in {time.monotonic() - started:.0f} s ({index_bytes:,} bytes of index)",
                  flush=True)
        else:
            print("  note: cantina-logd wrote no index in time (a busy machine starves its idle-priority "
                  "thread); the reader builds it as it reads", flush=True)
        stack.search = (session, lines)
    session, lines = stack.search
    figures["session_mib"] = session.stat().st_size / 2**20
    figures["session_lines"] = lines

    cli = [str(Path(stack.bin_dir) / "cantina-cli"), "logs", "--config", str(stack.config), "--dir", str(folder),
           "--utc", "--no-colour"]
    tools = {
        "cantina": cli + ["--grep", PATTERN],
        "rg": ["rg", "--no-filename", "--no-line-number", PATTERN, str(session)],
        "grep": ["grep", "-E", PATTERN, str(session)],
    }
    for argv in tools.values():      # warm the page cache (and each program)
        timed(argv)
    times = {name: [] for name in tools}
    counts = {}
    for _ in range(args.search_rounds):
        for name, argv in tools.items():
            seconds, count = timed(argv)
            times[name].append(seconds)
            counts[name] = count
    for name in tools:
        figures[f"grep_{name}_s"] = statistics.median(times[name])
    figures["grep_matches"] = counts["cantina"]
    figures["grep_cantina_to_rg"] = figures["grep_cantina_s"] / figures["grep_rg_s"]
    figures["grep_cantina_to_grep"] = figures["grep_cantina_s"] / figures["grep_grep_s"]
    if len(set(counts.values())) != 1:
        failures.append(f"the regex search found different counts: {counts}")
    print(f"  regex over the file: cantina {figures['grep_cantina_s']:.3f} s, rg {figures['grep_rg_s']:.3f} s, "
          f"grep -E {figures['grep_grep_s']:.3f} s ({counts['cantina']:,} matches)", flush=True)

    # Seeking to a minute, and the filtered queries.
    rng = random.Random(run)
    minutes = (lines * STEP_NS) // 60_000_000_000
    chosen = [rng.randrange(max(1, minutes - 1)) for _ in range(args.seeks)]
    per_minute = {minute: [] for minute in chosen}
    for _ in range(args.search_rounds):      # each minute timed once a round: load falls on all alike
        for minute in chosen:
            since = START_NS + minute * 60_000_000_000
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since // 1_000_000_000))
            until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since // 1_000_000_000 + 59))
            seconds, count = timed(cli + ["--since", stamp, "--until", until])
            per_minute[minute].append(seconds)
            if count != 59_001:     # a line a millisecond, from :00.000 to :59.000 included
                failures.append(f"logs --since {stamp} --until {until}: {count:,} lines, not 59,001")
    # Each minute's median, then the median and the slowest of those: "any minute" is the
    # slowest minute, not the slowest single timing (a timing catches the machine's noise).
    medians = [statistics.median(times) for times in per_minute.values()]
    figures["seek_minute_ms"] = statistics.median(medians) * 1000
    figures["seek_minute_max_ms"] = max(medians) * 1000
    for name, extra, expected in (("level", ["--level", "CRITICAL"], lines // 100),
                                  ("service", ["--service", RARE], lines // 100)):
        runs = [timed(cli + extra) for _ in range(args.search_rounds)]
        figures[f"{name}_query_s"] = statistics.median(r[0] for r in runs)
        if abs(runs[0][1] - expected) > 1:
            failures.append(f"logs {' '.join(extra)}: {runs[0][1]:,} lines, not {expected:,}")
    print(f"  seek to a minute: median {figures['seek_minute_ms']:.0f} ms, slowest minute "
          f"{figures['seek_minute_max_ms']:.0f} ms (each minute's median); "
          f"--level CRITICAL {figures['level_query_s']:.3f} s, --service {RARE!r} {figures['service_query_s']:.3f} s",
          flush=True)
    return figures, failures
