#!/usr/bin/env python3
"""bench.py: the benchmark scenarios of Cantina bus (issue 6, docs/PERFORMANCE.md).

    tools/bench/bench.py SCENARIO|all [--quick] [--json FILE] [--bin-dir DIR] [--runs N] [options]
    (also `tools/cantina bench SCENARIO ...`)

Scenarios
  throughput  P publisher processes with the real Logger; the highest offered rate at which
              every record lands in the session file exactly once (each trial reads the file
              back and checks every (publisher, sequence)); and, in the same run, raw ZeroMQ
              PUB -> cantina-busd -> SUB with the same message size: the ceiling and the ratio.
  latency     the cost of one Logger call in the calling thread (p50/p99/p99.9 over --calls
              calls, back to back and paced), and publish -> logging node -> /dashboard/log
              subscriber latency at 1,000 records/s.
  steady      1,000 records/s for --seconds (30): the logging node's CPU (% of one core, per
              thread, from /proc/<pid>/task/*/schedstat) and memory (RssAnon, VmRSS).
  dashboard   the web bridge: publish -> WebSocket latency at 1,000 records/s (one client);
              K clients at R records/s (delivered, skipped, latency, the bridge's CPU and
              memory); and the bus throughput with the bridge and its K clients beside the
              same search without the bridge.
  dedup       90 % repeats: the highest rate at which every unique record lands once and the
              repeat summaries account for every repeat exactly.
  soak        (not part of `all`) --minutes M of steady load (--publishers 3 at --rate 3,000
              records/s in all) under the supervisor (tools/cantina up), with a fault every
              --interval s: busd, logd, the web bridge and a publisher in turn, SIGKILL or
              SIGTERM at random (--seed). After each fault, once the supervisor has everything
              running again, the session files are read and every record of every publisher
              must be in a file exactly once or in a loss the logging node reported; no line
              torn. Prints a row per fault (docs/RELIABILITY.md explains the columns).

Each scenario starts its own cantina-busd, cantina-logd (a fresh one per trial) and, where
needed, cantina-webbridge on ephemeral loopback ports and ipc endpoints in a temporary
directory, checks its own output, prints a table (medians of --runs runs) and, with --json,
writes the same figures. The exit status is 1 if a self-check failed (a record lost at the
lowest rate tried, a count that does not add up), never because of a time: timings are
reported, compared with the goals of issue 6, and not asserted.

--quick runs a tiny version of the scenario in seconds, only to show that the harness works
(the test suite runs it). Standard library only; Linux only (/proc).
"""

import argparse
import copy
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN_DIR = ROOT / "build" / "bin"

START_DELAY = 1.0        # s between starting publishers and their common start time
SETTLE_SECONDS = 1.0     # the session file must stop growing this long before logd is stopped
POLL_INTERVAL = 0.02     # s between looks at the session file and /proc
MIN_RATE = 1000          # records/s: a search never goes below this
PROCESS_TIMEOUT = 30.0   # s for a process to print its ready line or to exit


class BenchError(Exception):
    """The harness could not run a step (a process did not start, a line never came)."""


# ---------------------------------------------------------------------------------------
# /proc

def thread_cpu(pid):
    """{thread label: cpu ns} for the live threads of `pid`. Unnamed threads (those that
    carry the process name) are told apart by creation order: "cantina-logd[1]"..."""
    result = {}
    try:
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return result
    seen = {}
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
        except OSError:
            continue
        index = seen.get(comm, 0)
        seen[comm] = index + 1
        result[f"{comm}[{index}]"] = ns
    return result


def process_cpu_ns(pid):
    """CPU ns of `pid` (all threads, including ones that ended), from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def memory(pid):
    """{"rss_anon_kb", "vm_rss_kb", "vm_hwm_kb"} of `pid` from /proc/<pid>/status."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("RssAnon", "VmRSS", "VmHWM", "RssFile"):
                    out[{"RssAnon": "rss_anon_kb", "VmRSS": "vm_rss_kb", "VmHWM": "vm_hwm_kb",
                         "RssFile": "rss_file_kb"}[key]] = int(value.split()[0])
    except OSError:
        pass
    return out


def machine_busy_ns():
    """CPU ns used by everything on the machine so far (all CPUs, from /proc/stat)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    busy = sum(values) - values[3] - values[4]  # minus idle and iowait
    return busy * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


class OthersWindow:
    """How much of the machine processes other than this benchmark used during a run:
    the machine's busy time minus this process, its finished children and the live ones."""

    def __init__(self, stack):
        self.stack = stack

    def _ours(self):
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = (own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime) * 1e9
        live = sum(process_cpu_ns(p.pid) or 0 for p in self.stack.processes if p.popen.poll() is None)
        return done + live

    def start(self):
        self.begin = (machine_busy_ns(), self._ours(), time.monotonic())
        return self

    def percent_of_machine(self):
        """Busy time of other processes as a % of all CPUs over the window."""
        busy, ours, t = machine_busy_ns(), self._ours(), time.monotonic()
        others = (busy - self.begin[0]) - (ours - self.begin[1])
        return max(0.0, 100.0 * others / 1e9 / max(t - self.begin[2], 1e-9) / (os.cpu_count() or 1))


class CpuWindow:
    """CPU used by a process between start() and stop(), in total and per thread."""

    def __init__(self, pid):
        self.pid = pid
        self.begin_threads = {}
        self.end_threads = {}
        self.begin_time = self.end_time = 0.0

    def start(self):
        self.begin_threads = thread_cpu(self.pid)
        self.begin_time = time.monotonic()
        return self

    def stop(self):
        self.end_threads = thread_cpu(self.pid)
        self.end_time = time.monotonic()
        return self

    def seconds(self):
        return self.end_time - self.begin_time

    def per_thread_percent(self):
        wall = max(self.seconds(), 1e-9)
        return {name: 100.0 * (ns - self.begin_threads.get(name, 0)) / 1e9 / wall
                for name, ns in sorted(self.end_threads.items())}

    def percent(self):
        return sum(self.per_thread_percent().values())

    def ns(self):
        """CPU ns used in the window by the threads alive at its end."""
        return sum(ns - self.begin_threads.get(name, 0) for name, ns in self.end_threads.items())

    def per_thread_ns(self):
        return {name: ns - self.begin_threads.get(name, 0) for name, ns in sorted(self.end_threads.items())}


# ---------------------------------------------------------------------------------------
# processes

class Process:
    """A child whose stdout and stderr go to a file; killed if still running at close()."""

    def __init__(self, argv, output, name):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.output_path = Path(output)
        self._file = open(self.output_path, "wb")
        self.popen = subprocess.Popen(self.argv, stdout=self._file, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)
        self.pid = self.popen.pid

    def output(self):
        try:
            return self.output_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for(self, pattern, timeout=PROCESS_TIMEOUT):
        """The first match of regex `pattern` in the output; BenchError on exit or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.output(), re.M)
            if match:
                return match
            if self.popen.poll() is not None:
                match = re.search(pattern, self.output(), re.M)
                if match:
                    return match
                raise BenchError(f"{self.name} exited ({self.popen.returncode}) before printing "
                                 f"/{pattern}/:\n{self.output()[-2000:]}")
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name} did not print /{pattern}/ within {timeout} s:\n"
                                 f"{self.output()[-2000:]}")
            time.sleep(0.01)

    def result(self, timeout=PROCESS_TIMEOUT * 4):
        """The JSON of the `result {...}` line, once the process has exited."""
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise BenchError(f"{self.name} did not finish within {timeout} s:\n{self.output()[-2000:]}")
        match = re.search(r"^result (\{.*\})$", self.output(), re.M)
        if not match:
            raise BenchError(f"{self.name} exited ({self.popen.returncode}) without a result:\n"
                             f"{self.output()[-2000:]}")
        return json.loads(match.group(1))

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._file.close()
        return self.popen.returncode

    def close(self):
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        self._file.close()


class Stack:
    """cantina-busd for the whole scenario; cantina-logd and cantina-webbridge on demand;
    all in one temporary directory, all stopped by close()."""

    def __init__(self, bin_dir, work_dir, perf=None, webbridge_settings="", logging_settings=""):
        self.bin_dir = Path(bin_dir)
        self.dir = Path(work_dir)
        self.processes = []
        self.counter = 0
        self.perf = perf  # (process name, output file, perf record options) or None
        for name in ("cantina-busd", "cantina-logd", "cantina-webbridge", "cantina-bench-load",
                     "cantina-bench-raw", "cantina-bench-ws"):
            if not (self.bin_dir / name).exists():
                raise BenchError(f"{self.bin_dir / name} is missing: build the cantina-bench target "
                                 f"(cmake --build BUILD --target cantina-bench)")
        self.config = self.dir / "bench.toml"
        self.config.write_text("")  # busd takes its endpoints from the command line
        self.busd = self.spawn("busd", ["cantina-busd", "--config", self.config,
                                        "--publish", "tcp://127.0.0.1:*", "--subscribe", "tcp://127.0.0.1:*"])
        self.publish = self.busd.wait_for(r"publish endpoint (\S+)").group(1)
        self.subscribe = self.busd.wait_for(r"subscribe endpoint (\S+)").group(1)
        (self.dir / "logs").mkdir()
        self.config.write_text(
            "# written by tools/bench/bench.py\n"
            "[bus]\n"
            f'publish_endpoint = "{self.publish}"\n'
            f'subscribe_endpoint = "{self.subscribe}"\n'
            "[logging]\n"
            f'session_file_path = "{self.dir / "logs"}"\n'
            f'query_endpoint = "ipc://{self.dir / "query.ipc"}"\n' + logging_settings +
            "[webbridge]\n"
            'listen = "127.0.0.1:0"\n' + webbridge_settings)
        self.logd = None
        self.webbridge = None
        self.port = None

    def spawn(self, name, argv):
        self.counter += 1
        argv = [self.bin_dir / argv[0]] + list(argv[1:])
        process = Process(argv, self.dir / f"{self.counter:04d}-{name}.out", name)
        self.processes.append(process)
        return process

    def start_logd(self):
        self.logd = self.spawn("logd", ["cantina-logd", "--config", self.config])
        session = Path(self.logd.wait_for(r"session file (\S+)").group(1))
        return session

    def stop_logd(self):
        """SIGTERM; the node drains and writes everything it accepted. Returns its
        "N lines written" count."""
        self.logd.stop(signal.SIGTERM, timeout=120)
        match = re.search(r"stopped, (\d+) lines written", self.logd.output())
        if not match:
            raise BenchError(f"cantina-logd did not stop cleanly:\n{self.logd.output()[-2000:]}")
        self.logd = None
        return int(match.group(1))

    def start_webbridge(self):
        self.webbridge = self.spawn("webbridge", ["cantina-webbridge", "--config", self.config])
        self.port = int(self.webbridge.wait_for(r"listening on http://127\.0\.0\.1:(\d+)").group(1))
        return self.port

    def stop_webbridge(self):
        if self.webbridge:
            self.webbridge.stop(signal.SIGTERM)
            self.webbridge = None

    def tool(self, name, *args):
        """Starts a benchmark tool: "raw" (cantina-bench-raw, mode first in `args`), "ws"
        (cantina-bench-ws) or a mode of cantina-bench-load."""
        args = [str(a) for a in args]
        if name == "raw":
            return self.spawn(f"raw-{args[0]}", ["cantina-bench-raw"] + args)
        if name == "ws":
            return self.spawn("ws", ["cantina-bench-ws"] + args)
        return self.spawn(name, ["cantina-bench-load", name] + args)

    def perf_start(self, process_name, pid):
        """perf record -g on `pid` if --perf asked for `process_name`."""
        if not self.perf or self.perf[0] != process_name:
            return None
        return subprocess.Popen(["perf", "record"] + self.perf[2].split() + ["-p", str(pid), "-o", self.perf[1]],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @staticmethod
    def perf_stop(perf):
        if perf is not None:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=60)

    def close(self):
        for process in reversed(self.processes):
            if process is self.busd:
                continue
            process.close()
        self.busd.stop(signal.SIGTERM, timeout=10)


# ---------------------------------------------------------------------------------------
# one trial of publishers -> logging node -> session file

def stats_waiter(stack, records):
    """A `cantina-bench-load wait-stats` that exits once the logging node's /logging/stats
    account for `records` records (or nothing moved for 5 s). Start it with the trial."""
    waiter = stack.tool("wait-stats", "--subscribe", stack.subscribe, "--records", records, "--idle", 5)
    waiter.wait_for(r"^ready$")
    return waiter


def wait_until_written(session, publishers, windows=()):
    """Polls the session file until every process in `publishers` (the publishers and a
    stats_waiter) has exited and the file has not grown for SETTLE_SECONDS. Each CpuWindow
    in `windows` is stopped at every growth, so that it ends with the last line written.
    Returns (time.time() of the last growth, size)."""
    last_size = -1
    last_growth = time.time()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            size = session.stat().st_size
        except OSError:
            size = 0
        now = time.time()
        if size != last_size:
            last_size = size
            last_growth = now
            for window in windows:
                window.stop()
        running = any(p.popen.poll() is None for p in publishers)
        if not running and now - last_growth >= SETTLE_SECONDS:
            return last_growth, last_size
        time.sleep(POLL_INTERVAL)
    raise BenchError("the session file never stopped growing")


def run_trial(stack, args, rate, seconds, tag, repeat_per_mille=0, label=""):
    """Starts a fresh logging node, runs `args.publishers` publishers at `rate` records/s in
    total for `seconds`, stops the node and checks the file. Returns a dict of figures."""
    session = stack.start_logd()
    publishers = args.publishers
    count = max(1, int(rate * seconds / publishers))
    start_at = time.time() + START_DELAY
    procs = []
    for k in range(publishers):
        procs.append(stack.tool("publish", "--publish", stack.publish, "--publisher", k, "--count", count,
                                "--rate", f"{rate / publishers:.3f}", "--size", args.size, "--tag", tag,
                                "--repeat-per-mille", repeat_per_mille, "--start-at", int(start_at * 1e9)))
    waiter = stats_waiter(stack, (count + 1) * publishers)
    time.sleep(max(0.0, start_at - time.time()))
    logd_cpu = CpuWindow(stack.logd.pid).start()
    busd_cpu = CpuWindow(stack.busd.pid).start()
    perf = stack.perf_start("logd", stack.logd.pid) or stack.perf_start("busd", stack.busd.pid) \
        or stack.perf_start("publisher", procs[0].pid)
    last_growth, _ = wait_until_written(session, procs + [waiter], (logd_cpu, busd_cpu))
    Stack.perf_stop(perf)
    results = [p.result() for p in procs]
    logd_memory = memory(stack.logd.pid)
    written = stack.stop_logd()
    check = verify(stack, session, publishers, count, tag, args.size, repeat_per_mille)
    total = count * publishers
    started = min(r["start_realtime_ns"] for r in results) / 1e9
    delivered_seconds = max(last_growth - started, 1e-9)
    achieved = sum(r["achieved_rate"] for r in results)
    logger_dropped = sum(r["dropped"] for r in results)
    trial = {
        "offered_rate": rate,
        "records": total,
        "achieved_publish_rate": achieved,
        "delivered_rate": total / delivered_seconds,
        "exactly_once": check["exactly_once"],
        "missing": check["unique_missing"],
        "duplicates": check["duplicates"],
        "logger_dropped": logger_dropped,
        "node_reported_lost": check["node_reported_lost"],
        "node_reported_dropped": check["node_reported_dropped"],
        "lines_written": written,
        "file_bytes": check["bytes"],
        "logd_cpu_percent": logd_cpu.percent(),
        "logd_threads_percent": logd_cpu.per_thread_percent(),
        # CPU per record: what a record costs, whatever else runs on the machine.
        "logd_cpu_ns_per_record": logd_cpu.ns() / total,
        "logd_threads_ns_per_record": {k: v / total for k, v in logd_cpu.per_thread_ns().items()},
        "busd_cpu_ns_per_record": busd_cpu.ns() / total,
        "publisher_cpu_ns_per_record": sum(r["cpu_s"] for r in results) * 1e9 / total,
        "busd_cpu_percent": busd_cpu.percent(),
        "publisher_cpu_s": sum(r["cpu_s"] for r in results),
        "logd_rss_anon_kb": logd_memory.get("rss_anon_kb"),
        "repeat_summaries": check["repeat_summaries"],
        "repeat_summarised": check["repeat_summarised"],
        "repeat_lines": check["repeat_lines"],
        "repeat_expected": check["repeat_expected"],
        "repeat_counts": check["repeat_counts"],
    }
    all_subscribed = all(r["subscribed"] and r["flushed"] for r in results)
    # Correct: every record exactly once and no Logger drop. Passed: correct, and the
    # publishers kept up with the offered rate (otherwise it was not really offered).
    trial["correct"] = check["exactly_once"] and logger_dropped == 0 and all_subscribed
    trial["passed"] = trial["correct"] and achieved >= 0.95 * rate
    trial["check"] = check
    session.unlink(missing_ok=True)
    print(f"  {label}trial {rate:>12,.0f}/s offered: {'ok  ' if trial['passed'] else 'SLOW' if trial['correct'] else 'LOSS'} "
          f"delivered {trial['delivered_rate']:>12,.0f}/s, publishers {achieved:>12,.0f}/s, "
          f"missing {trial['missing']}, dup {trial['duplicates']}, Logger dropped {logger_dropped}, "
          f"node lost/dropped {trial['node_reported_lost']}/{trial['node_reported_dropped']}, "
          f"logd {trial['logd_cpu_percent']:.0f}% CPU", flush=True)
    return trial


def verify(stack, session, publishers, count, tag, size, repeat_per_mille=0, first_publisher=0):
    checker = stack.tool("verify", "--file", session, "--publishers", publishers, "--count", count,
                         "--first-publisher", first_publisher, "--tag", tag, "--size", size,
                         "--repeat-per-mille", repeat_per_mille)
    return checker.result(timeout=300)


def search_rate(args, trial, start_rate):
    """The highest offered rate that passes: doubles from `start_rate` until a trial fails,
    then bisects args.bisect times. `trial(rate, n)` runs trial number n at `rate` and returns
    a dict with "offered_rate" and "passed". Returns (best trial or None, all trials)."""
    trials = []
    best, failed = None, None
    rate = start_rate
    while rate <= args.max_rate:
        trials.append(trial(rate, len(trials) + 1))
        if not trials[-1]["passed"]:
            failed = rate
            break
        best = trials[-1]
        rate *= 2
    # The first rate was already too much: halve until one passes (down to MIN_RATE).
    while best is None and failed is not None and failed / 2 >= MIN_RATE:
        rate = failed / 2
        trials.append(trial(rate, len(trials) + 1))
        if trials[-1]["passed"]:
            best = trials[-1]
        else:
            failed = rate
    if best is None:
        return None, trials
    for _ in range(args.bisect if failed else 0):
        rate = (best["offered_rate"] + failed) / 2
        trials.append(trial(rate, len(trials) + 1))
        if trials[-1]["passed"]:
            best = trials[-1]
        else:
            failed = rate
    return best, trials


def search_pipeline(stack, args, tag_prefix, start_rate, repeat_per_mille=0, label=""):
    """search_rate over run_trial: publishers -> busd -> logd -> session file."""
    return search_rate(args, lambda rate, n: run_trial(stack, args, rate, args.trial_seconds, f"{tag_prefix}x{n}",
                                                       repeat_per_mille, label), start_rate)


def lowest_rate_failures(trials):
    """The self-check of a search: at the lowest rate tried nothing may be lost, duplicated
    or miscounted. (A publisher too slow for the offered rate is a measurement, not a fault.)"""
    if not trials:
        return []
    t = min(trials, key=lambda trial: trial["offered_rate"])
    if t["correct"]:
        return []
    return [f"records lost at the lowest offered rate {t['offered_rate']:,.0f}/s: missing {t['missing']}, "
            f"duplicates {t['duplicates']}, unexpected {t['check']['unexpected']}, repeat keys mismatched "
            f"{t['check']['repeat_keys_mismatched']}, Logger dropped {t['logger_dropped']}"]


def raw_trial(stack, args, payload_bytes, rate, count_per_publisher):
    """Raw ZeroMQ through the same busd: P XPUB publishers at `rate` in total (0 = as fast as
    they can), one SUB counting every (publisher, sequence)."""
    sub = stack.tool("raw", "sub", "--subscribe", stack.subscribe, "--publishers", args.publishers,
                     "--count", count_per_publisher, "--idle-timeout", 1.0)
    sub.wait_for(r"^ready$")
    start_at = time.time() + START_DELAY
    pubs = [stack.tool("raw", "pub", "--publish", stack.publish, "--publisher", k, "--count", count_per_publisher,
                       "--payload-bytes", payload_bytes, "--rate", f"{rate / args.publishers:.3f}",
                       "--start-at", int(start_at * 1e9))
            for k in range(args.publishers)]
    time.sleep(max(0.0, start_at - time.time()))
    busd_cpu = CpuWindow(stack.busd.pid).start()
    perf = stack.perf_start("busd-raw", stack.busd.pid) if rate == 0 else None
    pub_results = [p.result() for p in pubs]
    received = sub.result()
    busd_cpu.stop()
    Stack.perf_stop(perf)
    send_rate = sum(r["send_rate"] for r in pub_results)
    figures = {
        "offered_rate": rate,
        "receive_rate": received["receive_rate"],
        "send_rate": send_rate,
        "sent": count_per_publisher * args.publishers,
        "received": received["unique"],
        "lost": received["lost"],
        "lost_fraction": received["lost"] / max(1, received["expected"]),
        "duplicates": received["duplicates"],
        "busd_cpu_percent": busd_cpu.percent(),
        "busd_cpu_ns_per_message": busd_cpu.ns() / max(1, received["unique"]),
        "payload_bytes": payload_bytes,
    }
    figures["passed"] = (received["lost"] == 0 and received["duplicates"] == 0 and rate > 0
                         and send_rate >= 0.95 * rate)
    what = "as fast as possible" if rate == 0 else f"{rate:>12,.0f}/s offered: " + (
        "ok  " if figures["passed"] else "LOSS" if received["lost"] else "SLOW")
    print(f"  raw ZeroMQ {what}: received {figures['receive_rate']:>12,.0f}/s "
          f"({figures['received']:,} of {figures['sent']:,}; publishers sent {send_rate:,.0f}/s), "
          f"busd {figures['busd_cpu_percent']:.0f}% CPU", flush=True)
    return figures


def wire_size(stack, args):
    return stack.tool("wire-size", "--size", args.size).result()


# ---------------------------------------------------------------------------------------
# scenarios: each returns (figures of one run, list of self-check failures)

def scenario_throughput(stack, args, run, previous):
    wire = wire_size(stack, args)
    start = args.start_rate if not previous else max(args.start_rate, previous["lossless_rate"] / 2)
    if args.raw_payload_bytes:
        wire["payload_bytes"] = args.raw_payload_bytes
    if args.raw_only:
        best, trials = None, []
    elif args.fixed_rate:
        best = run_trial(stack, args, args.fixed_rate, args.trial_seconds, f"r{run}f")
        trials = [best]
        best = best if best["passed"] else None
    else:
        best, trials = search_pipeline(stack, args, f"r{run}", start)
    # The ceiling: raw ZeroMQ as fast as it goes (what arrives per second), and the raw
    # lossless rate found by the same search as the pipeline's.
    raw = raw_trial(stack, args, wire["payload_bytes"], 0, max(1, args.raw_records // args.publishers))
    raw_start = args.start_rate if not previous else max(args.start_rate, previous["raw_rate"] / 2)
    raw_best, raw_trials = search_rate(args, lambda rate, n: raw_trial(
        stack, args, wire["payload_bytes"], rate, max(1, int(rate * args.trial_seconds / args.publishers))),
        raw_start)
    failures = lowest_rate_failures(trials) if trials or args.raw_only else [
        "no trial ran (--max-rate below --start-rate?)"]
    if raw["duplicates"] or any(t["duplicates"] for t in raw_trials):
        failures.append("raw baseline received duplicates")
    if raw_trials and not raw_trials[0]["passed"] and raw_trials[0]["lost"]:
        failures.append(f"raw baseline lost messages at the lowest rate {raw_trials[0]['offered_rate']:,.0f}/s")
    lossless = best["delivered_rate"] if best else (None if args.raw_only else 0.0)
    raw_lossless = raw_best["receive_rate"] if raw_best else 0.0
    figures = {
        "lossless_rate": lossless,
        "lossless_offered_rate": best["offered_rate"] if best else (None if args.raw_only else 0.0),
        # The ceiling is found the same way as the pipeline's figure: the highest rate at
        # which raw ZeroMQ through the same busd loses nothing.
        "raw_rate": raw_lossless,
        "ratio_to_raw": lossless / raw_lossless if raw_lossless and lossless is not None else None,
        "raw_blast_rate": raw["receive_rate"],
        "raw_blast_lost_fraction": raw["lost_fraction"],
        "first_failed_offered_rate": next((t["offered_rate"] for t in trials if not t["passed"]), None),
        "logd_cpu_percent_at_best": best["logd_cpu_percent"] if best else None,
        "busd_cpu_percent_at_best": best["busd_cpu_percent"] if best else None,
        "logd_cpu_ns_per_record": best["logd_cpu_ns_per_record"] if best else None,
        "logd_threads_ns_per_record": best["logd_threads_ns_per_record"] if best else None,
        "busd_cpu_ns_per_record": best["busd_cpu_ns_per_record"] if best else None,
        "publisher_cpu_ns_per_record": best["publisher_cpu_ns_per_record"] if best else None,
        "raw_busd_cpu_percent": raw["busd_cpu_percent"],
        "raw_busd_cpu_ns_per_message": raw["busd_cpu_ns_per_message"],
        "message_bytes": wire["message_bytes"],
        "payload_bytes": wire["payload_bytes"],
        "line_bytes": (best["file_bytes"] / max(1, best["lines_written"])) if best else None,
        "logd_threads_percent_at_best": best["logd_threads_percent"] if best else None,
        "trials": [{k: v for k, v in t.items() if k not in ("check", "repeat_counts")} for t in trials],
    }
    return figures, failures


def scenario_dedup(stack, args, run, previous):
    start = args.start_rate if not previous else max(args.start_rate, previous["lossless_rate"] / 2)
    if args.fixed_rate:
        best = run_trial(stack, args, args.fixed_rate, args.trial_seconds, f"d{run}f", args.repeat_per_mille)
        trials = [best]
        best = best if best["passed"] else None
    else:
        best, trials = search_pipeline(stack, args, f"d{run}", start, args.repeat_per_mille)
    failures = lowest_rate_failures(trials)
    figures = {
        "lossless_rate": best["delivered_rate"] if best else 0.0,
        "lossless_offered_rate": best["offered_rate"] if best else 0.0,
        "repeat_fraction": args.repeat_per_mille / 1000,
        "records_at_best": best["records"] if best else None,
        "repeats_sent_at_best": best["repeat_expected"] if best else None,
        "repeat_summaries_at_best": best["repeat_summaries"] if best else None,
        "repeats_in_summaries_at_best": best["repeat_summarised"] if best else None,
        "repeat_first_lines_at_best": best["repeat_lines"] if best else None,
        "repeat_counts_exact": bool(best) and best["check"]["repeat_keys_mismatched"] == 0,
        "repeat_counts_at_best": best["repeat_counts"] if best else None,
        "lines_written_at_best": best["lines_written"] if best else None,
        "logd_cpu_percent_at_best": best["logd_cpu_percent"] if best else None,
        "logd_cpu_ns_per_record": best["logd_cpu_ns_per_record"] if best else None,
        "first_failed_offered_rate": next((t["offered_rate"] for t in trials if not t["passed"]), None),
        "trials": [{k: v for k, v in t.items() if k not in ("check", "repeat_counts")} for t in trials],
    }
    return figures, failures


def scenario_latency(stack, args, run, previous):
    failures = []
    figures = {}
    tag = f"L{run}"
    # 1. The Logger call, back to back and paced (publishers 0 and 1), against a logging
    #    node of its own: back to back, the calls outrun everything behind the Logger's
    #    queue, so its drops and the node's losses are figures here, not faults.
    session = stack.start_logd()
    waiter = stats_waiter(stack, 2 * (args.calls + 1))
    for k, (name, rate) in enumerate((("burst", 0), ("paced", args.call_rate))):
        caller = stack.tool("call-cost", "--publish", stack.publish, "--publisher", k, "--count", args.calls,
                            "--rate", rate, "--size", args.size, "--tag", tag)
        perf = stack.perf_start("caller", caller.pid) if name == "burst" else None
        result = caller.result(timeout=600)
        Stack.perf_stop(perf)
        for key in ("p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "mean_ns", "dropped", "timer_p50_ns"):
            figures[f"call_{name}_{key}"] = result[key]
        if result["published"] + result["dropped"] != args.calls:
            failures.append(f"call-cost {name}: published {result['published']} + dropped {result['dropped']} "
                            f"!= {args.calls}")
        figures[f"call_{name}_published"] = result["published"]
        print(f"  Logger call ({name}{'' if not rate else f', {rate:,.0f}/s'}): p50 {result['p50_ns']} ns, "
              f"p99 {result['p99_ns']} ns, p99.9 {result['p999_ns']} ns, max {result['max_ns']} ns, "
              f"dropped by the Logger {result['dropped']:,} (timer itself: {result['timer_p50_ns']} ns)", flush=True)
    wait_until_written(session, [waiter])
    stack.stop_logd()
    for k, name in enumerate(("burst", "paced")):
        check = verify(stack, session, 1, args.calls, tag, args.size, 0, first_publisher=k)
        figures[f"call_{name}_in_file"] = check["unique_found"]
        if check["duplicates"] or check["unique_found"] > figures[f"call_{name}_published"]:
            failures.append(f"session file: publisher {k}: {check['unique_found']} records, "
                            f"{check['duplicates']} duplicates, {figures[f'call_{name}_published']} published")
        print(f"  {name}: {check['unique_found']:,} of {args.calls:,} calls in the session file", flush=True)
    print(f"  the node reported {check['node_reported_lost']:,} records lost (sequence gaps) and "
          f"{check['node_reported_dropped']:,} dropped (writer queue full) in that session", flush=True)
    session.unlink(missing_ok=True)
    # 2. publish -> logd -> /dashboard/log subscriber at args.rate (publisher 2), on a fresh
    #    logging node with nothing left over from the bursts.
    session = stack.start_logd()
    count = int(args.rate * args.seconds)
    waiter = stats_waiter(stack, count + 1)
    sub = stack.tool("dash-sub", "--subscribe", stack.subscribe, "--tag", tag, "--expect", count,
                     "--idle-timeout", 5)
    sub.wait_for(r"^ready$")
    publisher = stack.tool("publish", "--publish", stack.publish, "--publisher", 2, "--count", count,
                           "--rate", args.rate, "--size", args.size, "--tag", tag)
    pub_result = publisher.result(timeout=args.seconds * 4 + 60)
    latency = sub.result(timeout=args.seconds * 4 + 60)
    for key in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us"):
        figures[f"dashboard_sub_{key}"] = latency[f"latency_{key}"]
    figures["dashboard_sub_received"] = latency["received"]
    print(f"  publish -> /dashboard/log at {args.rate:,.0f}/s: p50 {latency['latency_p50_us']:.0f} µs, "
          f"p99 {latency['latency_p99_us']:.0f} µs, max {latency['latency_max_us']:.0f} µs, "
          f"received {latency['received']} of {count}", flush=True)
    if latency["received"] != count:
        failures.append(f"dashboard subscriber received {latency['received']} of {count}")
    wait_until_written(session, [waiter])
    stack.stop_logd()
    check = verify(stack, session, 1, count, tag, args.size, 0, first_publisher=2)
    if not check["exactly_once"] or pub_result["dropped"]:
        failures.append(f"session file: {check['unique_found']} of {count} records at {args.rate:,.0f}/s, "
                        f"{check['duplicates']} duplicates, Logger dropped {pub_result['dropped']}")
    session.unlink(missing_ok=True)
    return figures, failures


def scenario_steady(stack, args, run, previous):
    failures = []
    session = stack.start_logd()
    time.sleep(args.warmup)
    idle = CpuWindow(stack.logd.pid).start()
    time.sleep(args.idle_seconds)
    idle.stop()
    count = int(args.rate * args.seconds)
    tag = f"S{run}"
    waiter = stats_waiter(stack, count + 1)
    start_at = time.time() + START_DELAY
    publisher = stack.tool("publish", "--publish", stack.publish, "--publisher", 0, "--count", count,
                           "--rate", args.rate, "--size", args.size, "--tag", tag, "--start-at", int(start_at * 1e9))
    time.sleep(max(0.0, start_at - time.time()))
    loaded = CpuWindow(stack.logd.pid).start()
    busd = CpuWindow(stack.busd.pid).start()
    perf = stack.perf_start("logd", stack.logd.pid)
    samples = []
    while publisher.popen.poll() is None:
        samples.append(memory(stack.logd.pid))
        time.sleep(0.5)
    loaded.stop()
    busd.stop()
    Stack.perf_stop(perf)
    result = publisher.result()
    end_memory = memory(stack.logd.pid)
    wait_until_written(session, [waiter])
    stack.stop_logd()
    check = verify(stack, session, 1, count, tag, args.size)
    session.unlink(missing_ok=True)
    if not check["exactly_once"] or result["dropped"]:
        failures.append(f"session file: {check['unique_found']} of {count} records, {check['duplicates']} "
                        f"duplicates, Logger dropped {result['dropped']}")
    rss_anon = [s.get("rss_anon_kb", 0) for s in samples] + [end_memory.get("rss_anon_kb", 0)]
    figures = {
        "rate": args.rate,
        "seconds": loaded.seconds(),
        "logd_cpu_percent": loaded.percent(),
        "logd_threads_percent": loaded.per_thread_percent(),
        "logd_idle_cpu_percent": idle.percent(),
        "logd_idle_threads_percent": idle.per_thread_percent(),
        "busd_cpu_percent": busd.percent(),
        "publisher_cpu_percent": 100.0 * result["cpu_s"] / max(result["elapsed_s"], 1e-9),
        "logd_rss_anon_kb_end": end_memory.get("rss_anon_kb"),
        "logd_rss_anon_kb_max": max(rss_anon),
        "logd_vm_rss_kb_end": end_memory.get("vm_rss_kb"),
        "logd_vm_hwm_kb": end_memory.get("vm_hwm_kb"),
        "records_written": check["unique_found"],
    }
    print(f"  logd at {args.rate:,.0f}/s: {figures['logd_cpu_percent']:.3f}% CPU "
          f"(idle {figures['logd_idle_cpu_percent']:.3f}%), RssAnon {figures['logd_rss_anon_kb_end']} kB, "
          f"VmRSS {figures['logd_vm_rss_kb_end']} kB", flush=True)
    return figures, failures


def ws_phase(stack, args, tag, clients, rate, seconds, label):
    """K WebSocket clients while publishers send `rate` records/s for `seconds`."""
    session = stack.start_logd()
    count_per_pub = max(1, int(rate * seconds / args.publishers))
    total = count_per_pub * args.publishers
    ws = stack.tool("ws", "--port", stack.port, "--clients", clients, "--tag", tag, "--expect", total,
                    "--idle-timeout", 5, "--max-seconds", seconds * 4 + 60, *(["--quickack"] if args.ws_quickack else []))
    ws.wait_for(r"^ready$")
    waiter = stats_waiter(stack, total + args.publishers)
    start_at = time.time() + START_DELAY
    procs = [stack.tool("publish", "--publish", stack.publish, "--publisher", k, "--count", count_per_pub,
                        "--rate", f"{rate / args.publishers:.3f}", "--size", args.size, "--tag", tag,
                        "--start-at", int(start_at * 1e9)) for k in range(args.publishers)]
    time.sleep(max(0.0, start_at - time.time()))
    bridge = CpuWindow(stack.webbridge.pid).start()
    logd = CpuWindow(stack.logd.pid).start()
    clients_cpu = CpuWindow(ws.pid).start()
    perf = stack.perf_start("webbridge", stack.webbridge.pid) if clients > 1 else None
    samples = []
    while any(p.popen.poll() is None for p in procs):
        samples.append(memory(stack.webbridge.pid))
        time.sleep(0.25)
    bridge.stop()
    logd.stop()
    clients_cpu.stop()
    Stack.perf_stop(perf)
    pub_results = [p.result() for p in procs]
    received = ws.result(timeout=seconds * 4 + 120)
    samples.append(memory(stack.webbridge.pid))
    wait_until_written(session, [waiter])
    stack.stop_logd()
    check = verify(stack, session, args.publishers, count_per_pub, tag, args.size)
    session.unlink(missing_ok=True)
    figures = {
        "clients": clients,
        "rate": rate,
        "records": total,
        "delivered_per_client_min": received["delivered_min"],
        "delivered_per_client_max": received["delivered_max"],
        "delivered_fraction": received["delivered"] / max(1, total * clients),
        "skipped_total": received["skipped"],
        "not_streamed_total": received["not_streamed"],
        "ws_p50_us": received["latency_p50_us"],
        "ws_p99_us": received["latency_p99_us"],
        "ws_max_us": received["latency_max_us"],
        "webbridge_cpu_percent": bridge.percent(),
        "webbridge_threads_percent": bridge.per_thread_percent(),
        "logd_cpu_percent": logd.percent(),
        "ws_clients_cpu_percent": clients_cpu.percent(),
        "webbridge_rss_anon_kb_max": max(s.get("rss_anon_kb", 0) for s in samples),
        "webbridge_rss_anon_kb_end": samples[-1].get("rss_anon_kb"),
        "session_file_exactly_once": check["exactly_once"],
        "logger_dropped": sum(r["dropped"] for r in pub_results),
        "ws_bytes": received["bytes"],
    }
    print(f"  {label}: {clients} clients at {rate:,.0f}/s: delivered {received['delivered']:,} of "
          f"{total * clients:,}, skipped {received['skipped']:,}, not streamed (live-view limit) "
          f"{received['not_streamed']:,} (missed by sequence {received['missing_by_sequence']:,}), p50 {received['latency_p50_us']:.0f} µs, "
          f"p99 {received['latency_p99_us']:.0f} µs; bridge {figures['webbridge_cpu_percent']:.0f}% CPU, "
          f"RssAnon max {figures['webbridge_rss_anon_kb_max']} kB; session file "
          f"{'complete' if check['exactly_once'] else 'INCOMPLETE'}", flush=True)
    figures["session_file_missing"] = check["unique_missing"]
    failures = []
    if received["accepted"] != clients:
        failures.append(f"{label}: {received['accepted']} of {clients} WebSocket clients connected")
    if not check["exactly_once"] and rate <= 1000:
        failures.append(f"{label}: session file missing {check['unique_missing']} records at {rate:,.0f}/s")
    # What a client misses shows as a jump in the entries' sequence numbers; the bridge
    # promises to announce each skip ({"type":"skipped"}). Missed but not announced:
    figures["missing_by_sequence"] = received["missing_by_sequence"]
    figures["unannounced_missing"] = max(0, received["missing_by_sequence"] - received["skipped"]
                                         - received["not_streamed"])
    if rate <= 1000 and received["delivered"] != total * clients:
        failures.append(f"{label}: delivered {received['delivered']} of {total * clients} entries at {rate:,.0f}/s")
    return figures, failures


def scenario_dashboard(stack, args, run, previous):
    failures = []
    figures = {}
    stack.start_webbridge()
    latency, f1 = ws_phase(stack, args, f"W{run}a", 1, args.latency_rate, args.seconds, "latency")
    load, f2 = ws_phase(stack, args, f"W{run}b", args.clients, args.rate, args.seconds, "load")
    failures += f1 + f2
    figures.update({f"latency_{k}": v for k, v in latency.items()})
    figures.update({f"load_{k}": v for k, v in load.items()})
    if not args.no_throughput:
        # Bus throughput with the bridge and its clients attached, then without the bridge.
        ws = stack.tool("ws", "--port", stack.port, "--clients", args.clients, "--tag", f"W{run}c",
                        "--idle-timeout", 1e6, "--max-seconds", 1e6)
        ws.wait_for(r"^ready$")
        start = args.start_rate if not previous else max(args.start_rate,
                                                          previous["throughput_with_bridge"] / 2)
        best_with, trials_with = search_pipeline(stack, args, f"W{run}c", start, label="with bridge: ")
        ws.stop(signal.SIGTERM)
        stack.stop_webbridge()
        best_without, trials_without = search_pipeline(stack, args, f"W{run}d", start, label="without bridge: ")
        figures["throughput_with_bridge"] = best_with["delivered_rate"] if best_with else 0.0
        figures["throughput_without_bridge"] = best_without["delivered_rate"] if best_without else 0.0
        figures["throughput_ratio"] = (figures["throughput_with_bridge"] / figures["throughput_without_bridge"]
                                       if figures["throughput_without_bridge"] else 0.0)
        failures += lowest_rate_failures(trials_with) + lowest_rate_failures(trials_without)
    else:
        stack.stop_webbridge()
    return figures, failures


# ---------------------------------------------------------------------------------------
# soak: faults under the supervisor, and the counts after each one

SOAK_LINE = re.compile(rb"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\] (?:DEBUG   |INFO    |WARNING |ERROR   |CRITICAL) "
                       rb"(.{20}) (.*)$")
SOAK_RECORD = re.compile(rb"^bench (i\d+) p(\d+) (?:s(\d+) x*|ready)$")
SOAK_REPORTS = [  # the logging node's loss reports, as (kind, pattern)
    ("lost", re.compile(rb"^lost (\d+) records from (\S+) \(")),
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
    - A record before the first one a (restarted) node saw of a publisher is in that
      node's "N earlier records from <service> are not in this session: publisher P first
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
        self.config.write_text(f"""# written by tools/bench/bench.py soak
[bus]
publish_endpoint = "ipc://{self.dir}/publish"
subscribe_endpoint = "ipc://{self.dir}/subscribe"
[logging]
session_file_path = "{self.dir}/logs"
query_endpoint = "ipc://{self.dir}/query"
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
    import random
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


SCENARIOS = {
    "throughput": scenario_throughput,
    "latency": scenario_latency,
    "steady": scenario_steady,
    "dashboard": scenario_dashboard,
    "dedup": scenario_dedup,
}

# (figure, goal text, test of the median or None, unit, format)
GOALS = {
    "throughput": [
        ("lossless_rate", ">= 1,000,000 records/s, nothing lost", lambda v, m: v >= 1_000_000, "records/s", "{:,.0f}"),
        ("raw_rate", "(raw ZeroMQ through the same busd, nothing lost, same run)", None, "msgs/s", "{:,.0f}"),
        ("ratio_to_raw", ">= 70 % of raw ZeroMQ", lambda v, m: v >= 0.70, "", "{:.1%}"),
        ("raw_blast_rate", "(raw ZeroMQ, publishers as fast as they can: what arrives)", None, "msgs/s",
         "{:,.0f}"),
        ("lossless_offered_rate", "", None, "records/s", "{:,.0f}"),
        ("logd_cpu_percent_at_best", "", None, "% of a core", "{:.0f}"),
        ("busd_cpu_percent_at_best", "", None, "% of a core", "{:.0f}"),
        ("raw_busd_cpu_percent", "", None, "% of a core", "{:.0f}"),
        ("logd_cpu_ns_per_record", "(CPU time, all logd threads)", None, "ns", "{:,.0f}"),
        ("busd_cpu_ns_per_record", "", None, "ns", "{:,.0f}"),
        ("raw_busd_cpu_ns_per_message", "", None, "ns", "{:,.0f}"),
        ("publisher_cpu_ns_per_record", "(Logger: caller + its thread)", None, "ns", "{:,.0f}"),
        ("payload_bytes", "", None, "bytes", "{:.0f}"),
        ("line_bytes", "", None, "bytes", "{:.0f}"),
    ],
    "latency": [
        ("call_burst_p50_ns", "Logger call p50 <= 0.5 µs", lambda v, m: v <= 500, "ns", "{:.0f}"),
        ("call_burst_p99_ns", "Logger call p99 <= 5 µs", lambda v, m: v <= 5000, "ns", "{:.0f}"),
        ("call_burst_p999_ns", "", None, "ns", "{:.0f}"),
        ("call_burst_dropped", "(dropped by the Logger: its queue was full)", None, "records", "{:,.0f}"),
        ("call_burst_in_file", "(of the --calls calls)", None, "records", "{:,.0f}"),
        ("call_paced_p50_ns", "Logger call p50 <= 0.5 µs", lambda v, m: v <= 500, "ns", "{:.0f}"),
        ("call_paced_p99_ns", "Logger call p99 <= 5 µs", lambda v, m: v <= 5000, "ns", "{:.0f}"),
        ("call_paced_p999_ns", "", None, "ns", "{:.0f}"),
        ("call_paced_in_file", "(of the --calls calls)", None, "records", "{:,.0f}"),
        ("call_burst_timer_p50_ns", "(cost of the clock reads, included above)", None, "ns", "{:.0f}"),
        ("dashboard_sub_p50_us", "", None, "µs", "{:,.0f}"),
        ("dashboard_sub_p99_us", "", None, "µs", "{:,.0f}"),
        ("dashboard_sub_max_us", "", None, "µs", "{:,.0f}"),
    ],
    "steady": [
        ("logd_cpu_percent", "<= 0.3 % of one core", lambda v, m: v <= 0.3, "% of a core", "{:.3f}"),
        ("logd_idle_cpu_percent", "(no load, same node)", None, "% of a core", "{:.3f}"),
        ("logd_rss_anon_kb_max", "RssAnon <= 3 MB", lambda v, m: v <= 3 * 1024, "kB", "{:,.0f}"),
        ("logd_vm_rss_kb_end", "", None, "kB", "{:,.0f}"),
        ("busd_cpu_percent", "", None, "% of a core", "{:.3f}"),
        ("publisher_cpu_percent", "(the publishing service, Logger included)", None, "% of a core", "{:.3f}"),
    ],
    "dashboard": [
        ("latency_ws_p50_us", "", None, "µs", "{:,.0f}"),
        ("latency_ws_p99_us", "p99 <= 20 ms at 1,000/s", lambda v, m: v <= 20_000, "µs", "{:,.0f}"),
        ("latency_delivered_fraction", "", None, "", "{:.2%}"),
        ("load_delivered_fraction", "", None, "", "{:.2%}"),
        ("load_skipped_total", "(browsers behind, announced)", None, "entries", "{:,.0f}"),
        ("load_not_streamed_total", "(live-view limit dashboard_max_rate, announced)", None, "entries", "{:,.0f}"),
        ("load_unannounced_missing", "(missed without an announcement)", None, "entries", "{:,.0f}"),
        ("load_session_file_missing", "(records the logging node lost)", None, "records", "{:,.0f}"),
        ("load_ws_p50_us", "", None, "µs", "{:,.0f}"),
        ("load_ws_p99_us", "", None, "µs", "{:,.0f}"),
        ("load_webbridge_cpu_percent", "", None, "% of a core", "{:.0f}"),
        ("load_webbridge_rss_anon_kb_max", "bounded", None, "kB", "{:,.0f}"),
        ("load_logd_cpu_percent", "", None, "% of a core", "{:.0f}"),
        ("load_ws_clients_cpu_percent", "(the K test clients, same machine)", None, "% of a core", "{:.0f}"),
        ("throughput_with_bridge", "", None, "records/s", "{:,.0f}"),
        ("throughput_without_bridge", "", None, "records/s", "{:,.0f}"),
        ("throughput_ratio", "bridge + clients do not lower it (>= 95 %)", lambda v, m: v >= 0.95, "", "{:.1%}"),
    ],
    "dedup": [
        ("lossless_rate", "", None, "records/s", "{:,.0f}"),
        ("lossless_offered_rate", "", None, "records/s", "{:,.0f}"),
        ("repeats_sent_at_best", "", None, "records", "{:,.0f}"),
        ("repeats_in_summaries_at_best", "", None, "records", "{:,.0f}"),
        ("repeat_summaries_at_best", "", None, "lines", "{:,.0f}"),
        ("logd_cpu_percent_at_best", "", None, "% of a core", "{:.0f}"),
        ("logd_cpu_ns_per_record", "", None, "ns", "{:,.0f}"),
    ],
}


# ---------------------------------------------------------------------------------------
# running, medians, the table

def machine():
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


def print_table(scenario, runs, medians, quick):
    print()
    print(f"{scenario}: median of {len(runs)} run{'s' if len(runs) != 1 else ''}"
          + (" (--quick: shows that the harness works; these are not measurements)" if quick else ""))
    rows = [("figure", "median", "runs", "goal", "met")]
    others = ("other_processes_cpu_percent", "(other processes' share of the machine)", None, "%", "{:.0f}")
    for key, goal, test, unit, fmt in GOALS[scenario] + [others]:
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


def apply_defaults(args):
    """Scenario sizes: the full ones, or --quick ones that finish in seconds."""
    quick = args.quick
    defaults = {
        "runs": 1 if quick else 3,
        "publishers": 2,
        "size": 128,
        "trial_seconds": 0.3 if quick else 3.0,
        "start_rate": 2000 if quick else 100_000,
        "max_rate": 4000 if quick else 8_000_000,
        "bisect": 0 if quick else 3,
        "raw_records": 20_000 if quick else 4_000_000,
        "calls": 20_000 if quick else 1_000_000,
        "call_rate": 100_000,
        "rate": {"latency": 1000, "steady": 1000, "dashboard": 100_000}.get(args.scenario, 1000),
        "latency_rate": 1000,
        "seconds": {"latency": 10, "steady": 30, "dashboard": 10}.get(args.scenario, 10),
        "clients": 10,
        "warmup": 2.0,
        "idle_seconds": 5.0,
        "repeat_per_mille": 900,
    }
    if quick:
        defaults.update({"rate": 1000 if args.scenario != "dashboard" else 2000, "seconds": 1.0, "clients": 2,
                         "warmup": 0.5, "idle_seconds": 0.5})
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)


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
                      "" if args.dashboard_max_rate is None else f"dashboard_max_rate = {args.dashboard_max_rate}\n")
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
        print_table(args.scenario, runs, medians, args.quick)
    goals = []
    for key, goal, test, unit, _ in GOALS[args.scenario]:
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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("scenario", choices=sorted(SCENARIOS) + ["all", "soak"],
                        help="a scenario, or all of them in turn (all but soak)")
    parser.add_argument("--quick", action="store_true", help="a tiny run (seconds) that only shows the harness works")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    parser.add_argument("--bin-dir", default=str(DEFAULT_BIN_DIR), help="the built executables (default %(default)s)")
    parser.add_argument("--runs", type=int, help="runs to take the median of (default 3; --quick 1)")
    parser.add_argument("--publishers", type=int, help="publisher processes (default 2)")
    parser.add_argument("--size", type=int, help="message bytes of each record (default 128)")
    parser.add_argument("--trial-seconds", type=float, help="length of one throughput trial (default 3)")
    parser.add_argument("--start-rate", type=float, help="first offered rate of the search (default 100,000/s)")
    parser.add_argument("--max-rate", type=float, help="highest offered rate tried (default 8,000,000/s)")
    parser.add_argument("--fixed-rate", type=float, help="throughput/dedup: one trial at this rate, no search")
    parser.add_argument("--bisect", type=int, help="bisection steps after the first failure (default 3)")
    parser.add_argument("--raw-records", type=int, help="messages of the raw baseline (default 4,000,000)")
    parser.add_argument("--raw-only", action="store_true", help="throughput: only the raw ZeroMQ baseline")
    parser.add_argument("--raw-payload-bytes", type=int,
                        help="throughput: raw payload size instead of the encoded record's")
    parser.add_argument("--calls", type=int, help="latency: Logger calls timed (default 1,000,000)")
    parser.add_argument("--call-rate", type=float, help="latency: paced calls per second (default 100,000)")
    parser.add_argument("--rate", type=float, help="records/s of latency, steady (1,000) and dashboard (100,000)")
    parser.add_argument("--latency-rate", type=float, help="dashboard: records/s of the latency phase (1,000)")
    parser.add_argument("--seconds", type=float, help="length of the steady (30), latency and dashboard (10) phases")
    parser.add_argument("--clients", type=int, help="dashboard: WebSocket clients (default 10)")
    parser.add_argument("--ws-quickack", action="store_true",
                        help="dashboard: clients ACK at once (diagnosis of Nagle / delayed-ACK stalls)")
    parser.add_argument("--batch-interval-ms", type=int,
                        help="dashboard: the web bridge's batch_interval_ms (default: not set, the built-in default)")
    parser.add_argument("--dashboard-max-rate", type=int,
                        help="the logging node's dashboard_max_rate, entries/s streamed live (default: not set, "
                             "the built-in 10,000; 0 = no limit)")
    parser.add_argument("--no-throughput", action="store_true", help="dashboard: skip the with/without search")
    parser.add_argument("--warmup", type=float, help="steady: seconds after logd starts before measuring")
    parser.add_argument("--idle-seconds", type=float, help="steady: seconds of idle CPU measured first")
    parser.add_argument("--repeat-per-mille", type=int, help="dedup: repeats per 1000 records (default 900)")
    parser.add_argument("--perf", metavar="PROCESS:FILE",
                        help="perf record -g one process while measuring: logd, busd, busd-raw, publisher, "
                             "caller (latency) or webbridge (dashboard load phase)")
    parser.add_argument("--perf-options", default="-e cpu-clock -F 2000 -g",
                        help="options of perf record (default %(default)s; try --call-graph dwarf)")
    parser.add_argument("--minutes", type=float, help="soak: how long (default 10; --quick 0.5)")
    parser.add_argument("--interval", type=float, help="soak: seconds from one fault to the next (default 15)")
    parser.add_argument("--seed", type=int, default=1, help="soak: seed of the random signal choice (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.scenario == "soak":
        report = run_soak(args)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        return 0 if report["self_checks_passed"] else 1
    names = sorted(SCENARIOS) if args.scenario == "all" else [args.scenario]
    reports = []
    for name in names:
        scenario_args = copy.copy(args)
        scenario_args.scenario = name
        apply_defaults(scenario_args)
        reports.append(run_scenario(scenario_args))
    if args.json:
        report = reports[0] if len(reports) == 1 else {"scenarios": reports}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(r["self_checks_passed"] for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
