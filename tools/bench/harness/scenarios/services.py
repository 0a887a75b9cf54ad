"""services: many services at once. For each N of --services, N publisher processes (each a
service with its own Logger) share --rate records/s for --seconds: the logging node's and the
bus's CPU and wake-ups while no one watches live, publish -> session file latency; then the
same for --watched-seconds with a /dashboard/log subscriber: publish -> dashboard latency.
Last, --idle-services services that log nothing: the logging node's CPU and wake-ups beside
the node alone."""

import calendar
import threading
import time

from ..measure import CpuWindow
from ..stack import Stack
from ..trials import START_DELAY, stats_waiter, verify, wait_until_written

FOLLOW_INTERVAL = 0.01   # s between looks at the session file (the resolution of publish -> file)


class FileFollower:
    """Reads the session file as it grows (every FOLLOW_INTERVAL s, in a thread) and takes,
    for every line of `marker`, the time it was found minus the record's time in the line:
    publish -> file latency, to FOLLOW_INTERVAL."""

    def __init__(self, path, marker):
        self.path = path
        self.marker = marker
        self.latencies_ms = []
        self._stop = threading.Event()
        self._seconds = {}   # "YYYY-MM-DDTHH:MM:SS" -> Unix time
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _record_time(self, line):
        # "[2026-11-26T17:53:20.584440Z] INFO ..."
        prefix = line[1:20]
        seconds = self._seconds.get(prefix)
        if seconds is None:
            seconds = calendar.timegm(time.strptime(prefix, "%Y-%m-%dT%H:%M:%S"))
            self._seconds = {prefix: seconds}
        return seconds + int(line[21:27]) / 1e6

    def _run(self):
        offset, partial = 0, b""
        while not self._stop.is_set():
            try:
                with open(self.path, "rb") as f:
                    f.seek(offset)
                    data = f.read()
            except OSError:
                data = b""
            found = time.time()
            offset += len(data)
            lines = (partial + data).split(b"\n")
            partial = lines.pop()
            for raw in lines:
                line = raw.decode(errors="replace")
                if self.marker in line and " ready" not in line:
                    try:
                        self.latencies_ms.append((found - self._record_time(line)) * 1000)
                    except ValueError:
                        pass
            self._stop.wait(FOLLOW_INTERVAL)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self

    def percentile(self, fraction):
        values = sorted(self.latencies_ms)
        return values[min(len(values) - 1, int(fraction * len(values)))] if values else None


def start_publishers(stack, args, services, per_service_count, tag, idle_seconds=0.0):
    """`services` publisher processes of --rate / services records/s each, starting together.
    Returns (processes, the CLOCK_REALTIME start)."""
    # Each connects, waits for the bus to report a subscriber, then for the common start:
    # give a crowd on a busy machine the time to get there.
    start_at = time.time() + START_DELAY + 0.1 * services
    rate = args.rate / services
    procs = [stack.tool("publish", "--publish", stack.publish, "--publisher", k, "--count", per_service_count,
                        "--rate", f"{rate:.3f}", "--size", args.size, "--tag", tag, "--start-at", int(start_at * 1e9),
                        "--idle-seconds", idle_seconds,
                        *([] if args.linger_unwatched is None else ["--linger-unwatched", args.linger_unwatched]))
             for k in range(services)]
    return procs, start_at


def loaded_phase(stack, args, services, tag, seconds, watched):
    """`services` services at --rate in all for `seconds`: logd and busd CPU and wake-ups over
    the middle of it; publish -> file latency, or with `watched` publish -> dashboard."""
    failures = []
    session = stack.start_logd()
    if args.with_webbridge:
        stack.start_webbridge()  # streams the dashboard entries; no browser, so no one watches
    count = max(1, int(args.rate / services * seconds))
    sub = None
    if watched:
        sub = stack.tool("dash-sub", "--subscribe", stack.subscribe, "--tag", tag, "--expect", count * services,
                         "--idle-timeout", 5, "--max-seconds", seconds * 4 + 120)
        sub.wait_for(r"^ready$")
    waiter = stats_waiter(stack, (count + 1) * services)
    follower = None if watched else FileFollower(session, f"bench {tag} ")
    procs, start_at = start_publishers(stack, args, services, count, tag)
    # The first and last second are ramps (publishers starting and ending their bursts).
    time.sleep(max(0.0, start_at + 1.0 - time.time()))
    logd = CpuWindow(stack.logd.pid).start()
    busd = CpuWindow(stack.busd.pid).start()
    perf = stack.perf_start("logd", stack.logd.pid) if not watched else None
    time.sleep(max(0.5, seconds - 2.0))
    logd.stop()
    busd.stop()
    Stack.perf_stop(perf)
    results = [p.result(timeout=seconds * 4 + 120) for p in procs]
    latency = sub.result(timeout=seconds * 4 + 120) if sub else None
    wait_until_written(session, [waiter])
    if follower:
        follower.stop()
    stack.stop_webbridge()
    stack.stop_logd()
    check = verify(stack, session, services, count, tag, args.size)
    session.unlink(missing_ok=True)
    dropped = sum(r["dropped"] for r in results)
    if not check["exactly_once"] or dropped or not all(r["subscribed"] for r in results):
        failures.append(f"{services} services{' (watched)' if watched else ''}: {check['unique_found']} of "
                        f"{count * services} records in the session file, {check['duplicates']} duplicates, "
                        f"Logger dropped {dropped}")
    figures = {
        "logd_cpu_percent": logd.percent(),
        "logd_threads_percent": logd.per_thread_percent(),
        "logd_wakeups": logd.wakeups_per_second(),
        "logd_threads_wakeups": logd.per_thread_wakeups_per_second(),
        "busd_cpu_percent": busd.percent(),
        "busd_wakeups": busd.wakeups_per_second(),
        "late_start_ms_max": max(r["late_start_ms"] for r in results),
        "achieved_rate": sum(r["achieved_rate"] for r in results),
    }
    if latency:
        figures.update({"dashboard_p50_ms": latency["latency_p50_us"] / 1000,
                        "dashboard_p99_ms": latency["latency_p99_us"] / 1000,
                        "dashboard_max_ms": latency["latency_max_us"] / 1000})
        if latency["received"] != count * services:
            failures.append(f"{services} services (watched): the dashboard subscriber received "
                            f"{latency['received']} of {count * services}")
    if follower:
        figures.update({"file_p50_ms": follower.percentile(0.50), "file_p99_ms": follower.percentile(0.99),
                        "file_max_ms": follower.percentile(1.0)})
    return figures, failures


def idle_phase(stack, args, services, tag):
    """logd alone, then with `services` services that log nothing (after their ready record
    and the one sequence heartbeat that follows it): CPU and wake-ups of each."""
    session = stack.start_logd()
    time.sleep(args.warmup)
    alone = CpuWindow(stack.logd.pid).start()
    time.sleep(args.idle_seconds)
    alone.stop()
    settle = 2.0   # the heartbeat 1 s after the ready record
    procs, start_at = start_publishers(stack, args, services, 0, tag,
                                       idle_seconds=settle + args.idle_seconds + 1.0)
    time.sleep(max(0.0, start_at + settle - time.time()))
    crowd = CpuWindow(stack.logd.pid).start()
    busd = CpuWindow(stack.busd.pid).start()
    time.sleep(args.idle_seconds)
    crowd.stop()
    busd.stop()
    results = [p.result(timeout=args.idle_seconds + 120) for p in procs]
    stack.stop_logd()
    session.unlink(missing_ok=True)
    failures = [] if all(r["subscribed"] for r in results) else ["idle services: not every one found the bus"]
    return {
        "logd_alone_cpu_percent": alone.percent(),
        "logd_alone_wakeups": alone.wakeups_per_second(),
        "logd_idle_services_cpu_percent": crowd.percent(),
        "logd_idle_services_wakeups": crowd.wakeups_per_second(),
        "logd_idle_services_threads_wakeups": crowd.per_thread_wakeups_per_second(),
        "busd_idle_services_cpu_percent": busd.percent(),
    }, failures


def _ms(value):
    return "-" if value is None else f"{value:.1f} ms"


def scenario_services(stack, args, run, previous):
    failures = []
    figures = {"rate": args.rate, "services": args.services, "idle_services": args.idle_services,
               # None: the build's own default (200 ms before ce35a00, 1000 since)
               "linger_unwatched_ms": args.linger_unwatched, "with_webbridge": bool(args.with_webbridge)}
    for services in args.services:
        loaded, f1 = loaded_phase(stack, args, services, f"V{run}n{services}", args.seconds, watched=False)
        watched, f2 = loaded_phase(stack, args, services, f"V{run}w{services}", args.watched_seconds, watched=True)
        failures += f1 + f2
        figures.update({f"{key}_{services}": value for key, value in loaded.items()})
        figures[f"dashboard_p50_ms_{services}"] = watched.get("dashboard_p50_ms")
        figures[f"dashboard_p99_ms_{services}"] = watched.get("dashboard_p99_ms")
        figures[f"logd_watched_cpu_percent_{services}"] = watched["logd_cpu_percent"]
        figures[f"logd_watched_wakeups_{services}"] = watched["logd_wakeups"]
        print(f"  {services} service{'s' if services != 1 else ''} at {args.rate / services:,.0f}/s each: logd {loaded['logd_cpu_percent']:.3f}% "
              f"of a core, {loaded['logd_wakeups']:.0f} wake-ups/s (watched: {watched['logd_cpu_percent']:.3f}%, "
              f"{watched['logd_wakeups']:.0f}/s); busd {loaded['busd_cpu_percent']:.3f}%, "
              f"{loaded['busd_wakeups']:.0f}/s; publish -> file p50 {_ms(loaded.get('file_p50_ms'))}, "
              f"p99 {_ms(loaded.get('file_p99_ms'))}; publish -> dashboard p50 {_ms(watched.get('dashboard_p50_ms'))}, "
              f"p99 {_ms(watched.get('dashboard_p99_ms'))}", flush=True)
    if args.idle_services:
        idle, f3 = idle_phase(stack, args, args.idle_services, f"V{run}i")
        failures += f3
        figures.update(idle)
        print(f"  logd alone {idle['logd_alone_cpu_percent']:.3f}% ({idle['logd_alone_wakeups']:.1f} wake-ups/s), "
              f"with {args.idle_services} idle services {idle['logd_idle_services_cpu_percent']:.3f}% "
              f"({idle['logd_idle_services_wakeups']:.1f}/s)", flush=True)
    return figures, failures
