"""dedup: 90 % repeats; the highest rate at which every unique record lands once and the
repeat summaries account for every repeat exactly."""

from ..trials import lowest_rate_failures, run_trial, search_pipeline


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
