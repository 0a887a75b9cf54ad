"""goals: the figures each scenario's table shows, in order, with the goals of issues 6 and 16.

A goal is tested against the median of the runs; the table says whether it was met (never
with --quick) and --json lists it. No goal is asserted: the exit status is about the
self-checks only.
"""

# (figure, goal text, test of the median or None, unit, format)
GOALS = {
    "throughput": [
        ("lossless_rate", ">= 1,000,000 records/s, nothing lost", lambda v, m: v >= 1_000_000, "records/s", "{:,.0f}"),
        ("raw_rate", "(raw ZeroMQ through the same busd, nothing lost, same run)", None, "msgs/s", "{:,.0f}"),
        ("ratio_to_raw", ">= 70 % of raw ZeroMQ", lambda v, m: v >= 0.70, "", "{:.1%}"),
        ("raw_blast_rate", "(raw ZeroMQ, publishers as fast as they can: what arrives)", None, "msgs/s",
         "{:,.0f}"),
        ("lossless_offered_rate", "", None, "records/s", "{:,.0f}"),
        ("logd_cpu_percent_at_best", "", None, "% of a core", "{:.0f}"),
        ("busd_cpu_percent_at_best", "", None, "% of a core", "{:.0f}"),
        ("raw_busd_cpu_percent", "", None, "% of a core", "{:.0f}"),
        ("logd_cpu_ns_per_record", "(CPU time, all logd threads)", None, "ns", "{:,.0f}"),
        ("busd_cpu_ns_per_record", "", None, "ns", "{:,.0f}"),
        ("raw_busd_cpu_ns_per_message", "", None, "ns", "{:,.0f}"),
        ("publisher_cpu_ns_per_record", "(Logger: caller + its thread)", None, "ns", "{:,.0f}"),
        ("payload_bytes", "", None, "bytes", "{:.0f}"),
        ("line_bytes", "", None, "bytes", "{:.0f}"),
    ],
    "latency": [
        ("call_burst_p50_ns", "Logger call p50 <= 0.5 µs", lambda v, m: v <= 500, "ns", "{:.0f}"),
        ("call_burst_p99_ns", "Logger call p99 <= 5 µs", lambda v, m: v <= 5000, "ns", "{:.0f}"),
        ("call_burst_p999_ns", "", None, "ns", "{:.0f}"),
        ("call_burst_dropped", "(dropped by the Logger: its queue was full)", None, "records", "{:,.0f}"),
        ("call_burst_in_file", "(of the --calls calls)", None, "records", "{:,.0f}"),
        ("call_paced_p50_ns", "Logger call p50 <= 0.5 µs", lambda v, m: v <= 500, "ns", "{:.0f}"),
        ("call_paced_p99_ns", "Logger call p99 <= 5 µs", lambda v, m: v <= 5000, "ns", "{:.0f}"),
        ("call_paced_p999_ns", "", None, "ns", "{:.0f}"),
        ("call_paced_in_file", "(of the --calls calls)", None, "records", "{:,.0f}"),
        ("call_burst_timer_p50_ns", "(cost of the clock reads, included above)", None, "ns", "{:.0f}"),
        ("dashboard_sub_p50_us", "", None, "µs", "{:,.0f}"),
        ("dashboard_sub_p99_us", "", None, "µs", "{:,.0f}"),
        ("dashboard_sub_max_us", "", None, "µs", "{:,.0f}"),
    ],
    "steady": [
        ("logd_cpu_percent", "<= 0.3 % of one core", lambda v, m: v <= 0.3, "% of a core", "{:.3f}"),
        ("logd_idle_cpu_percent", "(no load, same node)", None, "% of a core", "{:.3f}"),
        ("logd_wakeups", "(all logd threads)", None, "/s", "{:,.0f}"),
        ("logd_rss_anon_kb_max", "RssAnon <= 3 MB", lambda v, m: v <= 3 * 1024, "kB", "{:,.0f}"),
        ("logd_vm_rss_kb_end", "", None, "kB", "{:,.0f}"),
        ("busd_cpu_percent", "", None, "% of a core", "{:.3f}"),
        ("publisher_cpu_percent", "(the publishing services, Logger included)", None, "% of a core", "{:.3f}"),
    ],
    "dashboard": [
        ("latency_ws_p50_us", "", None, "µs", "{:,.0f}"),
        ("latency_ws_p99_us", "p99 <= 20 ms at 1,000/s", lambda v, m: v <= 20_000, "µs", "{:,.0f}"),
        ("latency_delivered_fraction", "", None, "", "{:.2%}"),
        ("compressing_ws_p99_us", "(--compress-mib: the same while the node compresses)", None, "µs", "{:,.0f}"),
        ("compressing_p99_to_latency_p99", "compression does not raise the p99", None, "", "{:.2f}"),
        ("compressing_busy_share", "(share of that phase the node spent compressing)", None, "", "{:.0%}"),
        ("load_delivered_fraction", "", None, "", "{:.2%}"),
        ("load_skipped_total", "(browsers behind, announced)", None, "entries", "{:,.0f}"),
        ("load_not_streamed_total", "(live-view limit dashboard_max_rate, announced)", None, "entries", "{:,.0f}"),
        ("load_unannounced_missing", "(missed without an announcement)", None, "entries", "{:,.0f}"),
        ("load_session_file_missing", "(records the logging node lost)", None, "records", "{:,.0f}"),
        ("load_ws_p50_us", "", None, "µs", "{:,.0f}"),
        ("load_ws_p99_us", "", None, "µs", "{:,.0f}"),
        ("load_webbridge_cpu_percent", "", None, "% of a core", "{:.0f}"),
        ("load_webbridge_rss_anon_kb_max", "bounded", None, "kB", "{:,.0f}"),
        ("load_logd_cpu_percent", "", None, "% of a core", "{:.0f}"),
        ("load_ws_clients_cpu_percent", "(the K test clients, same machine)", None, "% of a core", "{:.0f}"),
        ("throughput_with_bridge", "", None, "records/s", "{:,.0f}"),
        ("throughput_without_bridge", "", None, "records/s", "{:,.0f}"),
        ("throughput_ratio", "bridge + clients do not lower it (>= 95 %)", lambda v, m: v >= 0.95, "", "{:.1%}"),
    ],
    "search": [
        ("grep_cantina_to_rg", "cantina logs --grep <= 1.5x ripgrep's time", lambda v, m: v <= 1.5, "", "{:.2f}"),
        ("grep_cantina_to_grep", "faster than grep -E (< 1)", lambda v, m: v < 1.0, "", "{:.2f}"),
        ("grep_cantina_s", "", None, "s", "{:.3f}"),
        ("grep_rg_s", "", None, "s", "{:.3f}"),
        ("grep_grep_s", "", None, "s", "{:.3f}"),
        ("grep_matches", "(the same in all three)", None, "lines", "{:,.0f}"),
        ("seek_minute_ms", "(median over the minutes)", None, "ms", "{:.0f}"),
        ("seek_minute_max_ms", "seek to any minute <= 50 ms (the slowest minute)", lambda v, m: v <= 50, "ms",
         "{:.0f}"),
        ("level_query_s", "1 %-matching level query <= 0.2 s", lambda v, m: v <= 0.2, "s", "{:.3f}"),
        ("service_query_s", "1 %-matching service query <= 0.2 s", lambda v, m: v <= 0.2, "s", "{:.3f}"),
        ("session_mib", "", None, "MiB", "{:,.0f}"),
        ("session_lines", "", None, "lines", "{:,.0f}"),
    ],
    "python": [
        ("call_null_ns", "(NullHandler: the logging module's own floor)", None, "ns", "{:,.0f}"),
        ("call_file_ns", "(logging.FileHandler)", None, "ns", "{:,.0f}"),
        ("call_cantina_ns", "(CantinaHandler)", None, "ns", "{:,.0f}"),
        ("call_cantina_to_null", "CantinaHandler <= 1.3x the NullHandler, same run", lambda v, m: v <= 1.3, "x",
         "{:.2f}"),
        ("call_null_cpu_ns", "(the same calls in the caller's CPU time: NullHandler)", None, "ns", "{:,.0f}"),
        ("call_cantina_cpu_ns", "(... CantinaHandler)", None, "ns", "{:,.0f}"),
        ("call_cantina_to_null_cpu", "(... CantinaHandler / NullHandler)", None, "x", "{:.2f}"),
        ("service_none_cpu_percent", "(a service pacing 1,000/s without logging)", None, "% of a core", "{:.2f}"),
        ("service_null_cpu_percent", "(... logging them to a NullHandler)", None, "% of a core", "{:.2f}"),
        ("service_file_cpu_percent", "(... to a FileHandler)", None, "% of a core", "{:.2f}"),
        ("service_cantina_cpu_percent", "(... to a CantinaHandler, its Logger thread included)", None,
         "% of a core", "{:.2f}"),
    ],
    "dedup": [
        ("lossless_rate", "", None, "records/s", "{:,.0f}"),
        ("lossless_offered_rate", "", None, "records/s", "{:,.0f}"),
        ("repeats_sent_at_best", "", None, "records", "{:,.0f}"),
        ("repeats_in_summaries_at_best", "", None, "records", "{:,.0f}"),
        ("repeat_summaries_at_best", "", None, "lines", "{:,.0f}"),
        ("logd_cpu_percent_at_best", "", None, "% of a core", "{:.0f}"),
        ("logd_cpu_ns_per_record", "", None, "ns", "{:,.0f}"),
    ],
}


def services_goals(counts):
    """The services table for the service counts of --services."""
    rows = []
    for n in counts:
        rows += [
            (f"logd_cpu_percent_{n}", f"{n} service{'s' if n != 1 else ''}: logd <= 0.3 % of a core",
             lambda v, m: v <= 0.3,
             "% of a core", "{:.3f}"),
            (f"logd_wakeups_{n}", "(logd's wake-ups, all threads)", None, "/s", "{:,.0f}"),
            (f"busd_cpu_percent_{n}", "", None, "% of a core", "{:.3f}"),
            (f"busd_wakeups_{n}", "", None, "/s", "{:,.0f}"),
            (f"file_p99_ms_{n}", "(publish -> session file, to 10 ms)", None, "ms", "{:,.0f}"),
            (f"dashboard_p99_ms_{n}", "(publish -> /dashboard/log subscriber)", None, "ms", "{:,.1f}"),
            (f"logd_watched_cpu_percent_{n}", "(while someone watches live)", None, "% of a core", "{:.3f}"),
        ]
    return rows + [
        ("logd_alone_cpu_percent", "(logd with no service)", None, "% of a core", "{:.3f}"),
        ("logd_idle_services_cpu_percent", "idle services: logd <= 0.05 % of a core", lambda v, m: v <= 0.05,
         "% of a core", "{:.3f}"),
        ("logd_idle_services_wakeups", "", None, "/s", "{:,.1f}"),
    ]


def goals_for(args):
    """The rows of args.scenario's table."""
    if args.scenario == "services":
        return services_goals(args.services)
    return GOALS[args.scenario]
