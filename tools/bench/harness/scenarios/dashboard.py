"""dashboard: the web bridge; publish -> WebSocket latency with one client, K clients under
load (delivered, skipped, latency, the bridge's CPU and memory), and the bus throughput with
the bridge and its clients beside the same search without the bridge. With --compress-mib N,
the latency phase runs again while the logging node compresses a finished session of N MiB
(issue 15: background compression must not raise the publish -> dashboard p99)."""

import os
import signal
import time
from pathlib import Path

from ..measure import CpuWindow, memory
from ..stack import RETENTION_OFF, Stack
from ..trials import START_DELAY, lowest_rate_failures, search_pipeline, stats_waiter, verify, wait_until_written


def ws_phase(stack, args, tag, clients, rate, seconds, label, compressed=None, config=None):
    """K WebSocket clients while publishers send `rate` records/s for `seconds`, the logging
    node started with `config` (default: the stack's). `compressed`: a file whose appearance
    ends the logging node's compression (its time is noted)."""
    session = stack.start_logd(config)
    logd_started = time.monotonic()
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
    phase_started, compressed_at = time.monotonic(), None
    while any(p.popen.poll() is None for p in procs):
        samples.append(memory(stack.webbridge.pid))
        if compressed is not None and compressed_at is None and compressed.exists():
            compressed_at = time.monotonic()
        time.sleep(0.25)
    phase_ended = time.monotonic()
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
    if compressed is not None:
        # The share of the publishing time during which the node was still compressing.
        busy_until = compressed_at if compressed_at is not None else phase_ended
        figures["busy_share"] = max(0.0, min(1.0, (busy_until - phase_started)
                                                    / max(1e-9, phase_ended - phase_started)))
        figures["done_s"] = (compressed_at - logd_started) if compressed_at is not None else None
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
    if args.compress_mib > 0:
        compressing, f3 = compressing_phase(stack, args, run)
        failures += f3
        figures.update({f"compressing_{k}": v for k, v in compressing.items()})
        figures["compressing_p99_to_latency_p99"] = (compressing["ws_p99_us"] / latency["ws_p99_us"]
                                                     if latency["ws_p99_us"] else 0.0)
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


def compressing_phase(stack, args, run):
    """The latency phase again, while the logging node compresses a finished session of
    --compress-mib MiB in the seed's format, written just before and dated two days back
    (older than compress_after): the node's retention thread takes it at start."""
    from .search import write_session     # the same lines as the search scenario's
    folder = stack.dir / "logs"
    started = time.monotonic()
    path, _ = write_session(folder, args.compress_mib)
    old = time.time() - 2 * 86400
    os.utime(path, (old, old))
    print(f"  wrote a finished session of {path.stat().st_size / 2**20:,.0f} MiB to compress in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    compressed = Path(str(path) + ".zst")
    # Retention's limits off for this node (a session over max_total_bytes would be
    # deleted, not compressed); everything else as configured.
    config = stack.config_variant("compressing.toml", RETENTION_OFF)
    figures, failures = ws_phase(stack, args, f"W{run}z", 1, args.latency_rate, args.seconds,
                                 "while compressing", compressed=compressed, config=config)
    # The node's retention thread compresses at idle priority: its CPU shows it did.
    if figures["logd_cpu_percent"] < 20:
        failures.append(f"while compressing: logd used {figures['logd_cpu_percent']:.0f} % of a core: "
                        "it did not compress")
    if not compressed.exists() and not path.exists():
        failures.append("while compressing: the finished session is gone, neither plain nor compressed")
    for leftover in (path, compressed, Path(str(path) + ".idx"), Path(str(compressed) + ".idx")):
        leftover.unlink(missing_ok=True)
    share = figures["busy_share"]
    took = figures["done_s"]
    print(f"  the node ({figures['logd_cpu_percent']:.0f} % of a core) compressed during {share:.0%} of the phase"
          + (f" (done {took:.1f} s after it started)" if took is not None else " (still at it when it ended)"),
          flush=True)
    return figures, failures
