"""trials: one trial of publishers -> logging node -> session file, and the searches over them.

run_trial starts a fresh logging node, runs the publishers at one offered rate, stops the
node and has cantina-bench-load verify the file record by record; search_rate finds the
highest rate that passes (doubling, then bisecting); raw_trial is the same through raw
ZeroMQ (the ceiling).
"""

import time

from .common import BenchError
from .measure import CpuWindow, memory
from .stack import Stack

START_DELAY = 1.0        # s between starting publishers and their common start time
SETTLE_SECONDS = 1.0     # the session file must stop growing this long before logd is stopped
POLL_INTERVAL = 0.02     # s between looks at the session file and /proc
MIN_RATE = 1000          # records/s: a search never goes below this


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
