#!/usr/bin/env python3
"""python_load.py: a Python service logging through the `logging` module, for `bench python`.

    python_load.py call-cost --dir DIR --calls N --rounds R [--size B] [--tag T]
    python_load.py service --handler KIND --dir DIR --rate R --seconds S --start-at NS [--size B] [--tag T]

The Python counterpart of cantina-bench-load (tools/bench/load_main.cpp), driven by
tools/bench/bench.py: it prints "ready" on stdout when the driver may go on and ends with
one `result {json}` line. cantina_logging is imported from $PYTHONPATH and finds the bus
library and the config through $CANTINA_LIB and $CANTINA_CONFIG, as a service under
`tools/cantina up` would.

Every record is `logger.info("bench TAG pK s%d %s", sequence, padding)`: one %d and one %s
argument, a message of --size bytes, in the shape cantina-bench-load verify reads back.

call-cost  the cost of one such call, in the calling thread, with each handler in turn on a
           logger of its own: `null` (logging.NullHandler, the logging module's floor: the
           LogRecord is made and dropped), `file` (logging.FileHandler into DIR) and `cantina`
           (cantina_logging.CantinaHandler). R rounds of N calls per handler, the handlers
           interleaved round by round; each round's time / N, the median of the rounds, in
           wall-clock time and in the calling thread's CPU time (time.thread_time_ns: without
           the time the core was given to another thread or process meanwhile). The
           CantinaHandler is flushed between rounds (not timed), so that its Logger thread
           does not run during another handler's round. Its records are publisher 1.
service    one handler (`none`: the pacing loop without a log call; null, file, cantina)
           logging R records/s for S seconds from CLOCK_REALTIME --start-at
           on, in bursts every 10 ms; publisher 0. The driver measures its CPU from /proc.
"""

import argparse
import json
import logging
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import cantina_logging

BURST_SECONDS = 0.01


def record_format(tag, publisher):
    return f"bench {tag} p{publisher} s%d %s"


def padding(tag, publisher, sequence_digits, size):
    """The %s argument that makes the message `size` bytes for sequences of that many digits."""
    fixed = len(f"bench {tag} p{publisher} s") + sequence_digits + 1
    return "x" * max(0, size - fixed)


def make_handler(kind, work_dir, service):
    if kind == "null":
        return logging.NullHandler()
    if kind == "file":
        return logging.FileHandler(Path(work_dir) / f"python-{service}.log")
    if kind == "cantina":
        return cantina_logging.CantinaHandler(service)
    raise SystemExit(f"python_load.py: unknown handler {kind}")


def ready_cantina(handler, log, tag, publisher):
    """Logs the ready record and waits until the bus took it (the Logger holds records until
    the bus reports a subscriber). False if it did not within 10 s."""
    log.info(f"bench {tag} p{publisher} ready")
    handler.flush()
    deadline = time.monotonic() + 10
    while handler.counters()["published"] < 1 and time.monotonic() < deadline:
        handler.flush()
        time.sleep(0.01)
    return handler.counters()["published"] >= 1


def logger_for(name, handler):
    log = logging.getLogger(name)
    log.propagate = False
    log.setLevel(logging.INFO)
    log.handlers[:] = [handler] if handler else []
    return log


def run_call_cost(args):
    handlers = {"null": make_handler("null", args.dir, "null"), "file": make_handler("file", args.dir, "file")}
    publishers = {"cantina": 1}
    handlers["cantina"] = make_handler("cantina", args.dir, "py_bench_cantina")
    logs = {kind: logger_for(f"bench.{kind}", handler) for kind, handler in handlers.items()}
    subscribed = all(ready_cantina(handlers[kind], logs[kind], args.tag, publishers[kind])
                     for kind in publishers if kind in handlers)
    print("ready", flush=True)
    digits = len(str(args.calls * args.rounds))
    per_call = {kind: [] for kind in handlers}
    per_call_cpu = {kind: [] for kind in handlers}
    for round_number in range(args.rounds):
        for kind, log in logs.items():
            publisher = publishers.get(kind, 0)
            fmt, pad = record_format(args.tag, publisher), padding(args.tag, publisher, digits, args.size)
            info = log.info
            first = round_number * args.calls + 1
            sequences = range(first, first + args.calls)
            started = time.perf_counter_ns()
            started_cpu = time.thread_time_ns()
            for sequence in sequences:
                info(fmt, sequence, pad)
            per_call_cpu[kind].append((time.thread_time_ns() - started_cpu) / args.calls)
            per_call[kind].append((time.perf_counter_ns() - started) / args.calls)
            if kind in publishers:
                handlers[kind].flush()
    result = {"mode": "call-cost", "calls": args.calls, "rounds": args.rounds, "subscribed": subscribed,
              "python": sys.version.split()[0]}
    for kind, samples in per_call.items():
        result[f"{kind}_ns"] = statistics.median(samples)
        result[f"{kind}_rounds_ns"] = samples
        result[f"{kind}_cpu_ns"] = statistics.median(per_call_cpu[kind])
        result[f"{kind}_cpu_rounds_ns"] = per_call_cpu[kind]
    for kind in publishers:
        handler = handlers.get(kind)
        if handler is not None:
            handler.flush()
            counters = handler.counters()
            result[f"{kind}_counters"] = counters
            handler.close()
    handlers["file"].close()
    print("result " + json.dumps(result), flush=True)
    return 0


def run_service(args):
    service = f"py_bench_{args.handler}"
    handler = None if args.handler == "none" else make_handler(args.handler, args.dir, service)
    log = logger_for(f"bench.{args.handler}", handler)
    subscribed = True
    if args.handler == "cantina":
        subscribed = ready_cantina(handler, log, args.tag, 0)
    print("ready", flush=True)
    count = int(args.rate * args.seconds)
    burst = max(1, round(args.rate * BURST_SECONDS))
    fmt, pad = record_format(args.tag, 0), padding(args.tag, 0, len(str(count)), args.size)
    delay = args.start_at / 1e9 - time.time()
    if delay > 0:
        time.sleep(delay)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.monotonic()
    info = log.info
    sequence = 0
    while sequence < count:
        due = started + (sequence / burst) * BURST_SECONDS
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        for _ in range(min(burst, count - sequence)):
            sequence += 1
            if handler is not None:
                info(fmt, sequence, pad)
    elapsed = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {"mode": "service", "handler": args.handler, "count": count, "elapsed_s": elapsed,
              "achieved_rate": count / max(elapsed, 1e-9), "subscribed": subscribed,
              "cpu_s": usage.ru_utime + usage.ru_stime - cpu_before}
    if args.handler == "cantina":
        handler.flush()
        result["counters"] = handler.counters()
    if handler is not None:
        handler.close()
    print("result " + json.dumps(result), flush=True)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("call-cost", "service"))
    parser.add_argument("--dir", required=True, help="where the FileHandler writes")
    parser.add_argument("--tag", default="t")
    parser.add_argument("--size", type=int, default=128, help="message bytes")
    parser.add_argument("--calls", type=int, default=20000, help="call-cost: calls per round and handler")
    parser.add_argument("--rounds", type=int, default=15, help="call-cost: rounds per handler")
    parser.add_argument("--handler", choices=("none", "null", "file", "cantina"), default="null")
    parser.add_argument("--rate", type=float, default=1000.0, help="service: records/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="service: how long")
    parser.add_argument("--start-at", type=int, default=0, help="service: CLOCK_REALTIME ns to start at")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    return run_call_cost(args) if args.mode == "call-cost" else run_service(args)


if __name__ == "__main__":
    sys.exit(main())
