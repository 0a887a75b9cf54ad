"""latency: the cost of one Logger call in the calling thread (back to back and paced), and
publish -> logging node -> /dashboard/log subscriber latency."""

from ..stack import Stack
from ..trials import stats_waiter, verify, wait_until_written


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
