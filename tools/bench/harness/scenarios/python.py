"""python: what a Python service pays for logging through the `logging` module: the cost of
one `logger.info(fmt, i, s)` call with NullHandler (the module's own floor), FileHandler and
CantinaHandler in one process; then the CPU of a Python service logging --rate records/s with each (tools/bench/python_load.py)."""

import os
import sys
import time

from ..common import ROOT
from ..measure import CpuWindow
from ..trials import START_DELAY, verify, wait_until_written

LOAD = ROOT / "tools" / "bench" / "python_load.py"
SERVICE_HANDLERS = ("none", "null", "file", "cantina")
CALL_HANDLERS = ("null", "file", "cantina")
CANTINA_PUBLISHER = 1   # the call-cost phase's CantinaHandler records are publisher 1


def python_tool(stack, name, *args):
    """python_load.py MODE ... with cantina_logging of this checkout, the stack's config and
    the bus library of --bin-dir's build."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tools" / "python"), CANTINA_CONFIG=str(stack.config),
               CANTINA_LIB=str(stack.bin_dir.parent / "lib" / "libcantina_bus_c.so"), PYTHONDONTWRITEBYTECODE="1")
    env.pop("CANTINA_SERVICE", None)
    return stack.spawn_command(f"python-{name}", [sys.executable, LOAD, name, *[str(a) for a in args]], env)


def scenario_python(stack, args, run, previous):
    failures = []
    figures = {}
    session = stack.start_logd()
    tag = f"Y{run}"
    # 1. The cost of one call, every handler in one process, interleaved round by round.
    caller = python_tool(stack, "call-cost", "--dir", stack.dir, "--calls", args.calls, "--rounds", args.rounds,
                         "--size", args.size, "--tag", tag)
    caller.wait_for(r"^ready$", timeout=60)
    result = caller.result(timeout=args.calls * args.rounds * 1e-4 + 300)
    if not result["subscribed"]:
        failures.append("call-cost: a CantinaHandler found no subscriber within 10 s")
    figures["python"] = result["python"]
    for kind in CALL_HANDLERS:
        figures[f"call_{kind}_ns"] = result[f"{kind}_ns"]
    figures["call_cantina_to_null"] = result["cantina_ns"] / result["null_ns"]
    # The caller's own CPU time: what the wall clock shows, less the time the core went to
    # another thread or process (the bus and logd take the CantinaHandler's records as they come).
    for kind in ("null", "cantina"):
        figures[f"call_{kind}_cpu_ns"] = result[f"{kind}_cpu_ns"]
    figures["call_cantina_to_null_cpu"] = result["cantina_cpu_ns"] / result["null_cpu_ns"]
    print(f"  one logger.info call ({sys.version.split()[0]}, median of {args.rounds} rounds of {args.calls:,}): "
          + ", ".join(f"{kind} {result[f'{kind}_ns']:,.0f} ns" for kind in CALL_HANDLERS)
          + f"; CantinaHandler {figures['call_cantina_to_null']:.2f}x the NullHandler "
          + f"({figures['call_cantina_to_null_cpu']:.2f}x in the caller's CPU time)", flush=True)
    calls = args.calls * args.rounds
    counters = result["cantina_counters"]
    figures["call_cantina_dropped"] = counters["dropped"]
    if counters.get("failures"):
        failures.append(f"call-cost: cantina: {counters['failures']} handler failures")
    if counters["logged"] + counters["dropped"] != calls + 1:
        failures.append(f"call-cost: cantina: logged {counters['logged']} + dropped {counters['dropped']} "
                        f"!= {calls} calls + the ready record")

    # 2. A service logging args.rate records/s with each handler: its CPU.
    services = []
    for kind in SERVICE_HANDLERS:
        service_tag = f"{tag}{kind.replace('-', '')}"
        start_at = time.time() + START_DELAY + 1.0
        child = python_tool(stack, "service", "--handler", kind, "--dir", stack.dir, "--rate", args.rate,
                            "--seconds", args.seconds, "--size", args.size, "--tag", service_tag,
                            "--start-at", int(start_at * 1e9))
        child.wait_for(r"^ready$|^result ", timeout=60)
        time.sleep(max(0.0, start_at + 0.5 - time.time()))   # the first half second is not measured
        window = CpuWindow(child.pid).start()
        time.sleep(max(0.1, args.seconds - 1.0))
        window.stop()
        outcome = child.result(timeout=args.seconds + 120)
        key = f"service_{kind}"
        figures[f"{key}_cpu_percent"] = window.percent()
        figures[f"{key}_threads_percent"] = window.per_thread_percent()
        figures[f"{key}_achieved_rate"] = outcome["achieved_rate"]
        if outcome["achieved_rate"] < 0.95 * args.rate:
            failures.append(f"service {kind}: logged {outcome['achieved_rate']:,.0f}/s of {args.rate:,.0f}/s")
        if kind == "cantina":
            services.append((kind, service_tag, outcome))
        print(f"  a Python service at {args.rate:,.0f} records/s with {kind}: {window.percent():.2f}% of a core",
              flush=True)
    wait_until_written(session, [])
    stack.stop_logd()

    # Every CantinaHandler record in the session file exactly once (a dropped one is a figure
    # of the call-cost phase, which outruns the Logger on purpose; a failure in the service phase).
    check = verify(stack, session, 1, calls, tag, args.size, 0, first_publisher=CANTINA_PUBLISHER)
    dropped = counters["dropped"]
    figures["call_cantina_in_file"] = check["unique_found"]
    if check["duplicates"] or check["unexpected"] or check["unique_found"] + dropped < calls:
        failures.append(f"call-cost: cantina: {check['unique_found']} of {calls} records in the session file, "
                        f"{check['duplicates']} duplicates, {dropped} dropped by the Logger")
    for kind, service_tag, outcome in services:
        check = verify(stack, session, 1, outcome["count"], service_tag, args.size, 0)
        if not check["exactly_once"] or outcome["counters"]["dropped"]:
            failures.append(f"service {kind}: {check['unique_found']} of {outcome['count']} records in the session "
                            f"file, {check['duplicates']} duplicates, {outcome['counters']['dropped']} dropped")
    session.unlink(missing_ok=True)
    return figures, failures
