"""steady: a steady rate for --seconds; the logging node's CPU (per thread) and memory."""

import time

from ..measure import CpuWindow, memory
from ..stack import Stack
from ..trials import START_DELAY, stats_waiter, verify, wait_until_written


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
