"""throughput: the highest offered rate at which every record lands in the session file
exactly once, and raw ZeroMQ through the same busd (the ceiling) in the same run."""

from ..trials import lowest_rate_failures, raw_trial, run_trial, search_pipeline, search_rate, wire_size


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
