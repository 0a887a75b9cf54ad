"""steady: a steady rate for --seconds from --publishers services sharing it; the logging
node's CPU (per thread) and memory."""

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
    publishers = args.publishers
    count = int(args.rate * args.seconds / publishers)   # per publisher
    tag = f"S{run}"
    waiter = stats_waiter(stack, (count + 1) * publishers)
    start_at = time.time() + START_DELAY + 0.1 * (publishers - 1)   # a crowd takes longer to connect
    procs = [stack.tool("publish", "--publish", stack.publish, "--publisher", k, "--count", count,
                        "--rate", f"{args.rate / publishers:.3f}", "--size", args.size, "--tag", tag,
                        "--start-at", int(start_at * 1e9))
             for k in range(publishers)]
    time.sleep(max(0.0, start_at - time.time()))
    loaded = CpuWindow(stack.logd.pid).start()
    busd = CpuWindow(stack.busd.pid).start()
    perf = stack.perf_start("logd", stack.logd.pid)
    samples = []
    while any(p.popen.poll() is None for p in procs):
        samples.append(memory(stack.logd.pid))
        time.sleep(0.5)
    loaded.stop()
    busd.stop()
    Stack.perf_stop(perf)
    results = [p.result() for p in procs]
    end_memory = memory(stack.logd.pid)
    wait_until_written(session, [waiter])
    stack.stop_logd()
    check = verify(stack, session, publishers, count, tag, args.size)
    session.unlink(missing_ok=True)
    dropped = sum(r["dropped"] for r in results)
    if not check["exactly_once"] or dropped:
        failures.append(f"session file: {check['unique_found']} of {count * publishers} records, "
                        f"{check['duplicates']} duplicates, Logger dropped {dropped}")
    rss_anon = [s.get("rss_anon_kb", 0) for s in samples] + [end_memory.get("rss_anon_kb", 0)]
    figures = {
        "rate": args.rate,
        "publishers": publishers,
        "seconds": loaded.seconds(),
        "logd_cpu_percent": loaded.percent(),
        "logd_threads_percent": loaded.per_thread_percent(),
        "logd_idle_cpu_percent": idle.percent(),
        "logd_idle_threads_percent": idle.per_thread_percent(),
        "busd_cpu_percent": busd.percent(),
        "logd_wakeups": loaded.wakeups_per_second(),
        "logd_threads_wakeups": loaded.per_thread_wakeups_per_second(),
        "publisher_cpu_percent": sum(100.0 * r["cpu_s"] / max(r["elapsed_s"], 1e-9) for r in results),
        "logd_rss_anon_kb_end": end_memory.get("rss_anon_kb"),
        "logd_rss_anon_kb_max": max(rss_anon),
        "logd_vm_rss_kb_end": end_memory.get("vm_rss_kb"),
        "logd_vm_hwm_kb": end_memory.get("vm_hwm_kb"),
        "records_written": check["unique_found"],
    }
    print(f"  logd at {args.rate:,.0f}/s from {publishers} publisher{'s' if publishers > 1 else ''}: "
          f"{figures['logd_cpu_percent']:.3f}% CPU, {figures['logd_wakeups']:.0f} wake-ups/s "
          f"(idle {figures['logd_idle_cpu_percent']:.3f}%), RssAnon {figures['logd_rss_anon_kb_end']} kB, "
          f"VmRSS {figures['logd_vm_rss_kb_end']} kB", flush=True)
    return figures, failures
