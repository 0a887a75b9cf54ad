# cli: the command line of tools/bench/bench.py. The docstring below is its --help (the first
# line the description, all of it the epilog): keep it in step with the options.
"""The benchmark scenarios of Cantina bus; their goals and latest figures: docs/PERFORMANCE.md.

    tools/bench/bench.py SCENARIO|all [--quick] [--json FILE] [--bin-dir DIR] [--runs N] [options]
    (also `tools/cantina bench SCENARIO ...`)

Scenarios
  throughput  P publisher processes with the real Logger; the highest offered rate at which
              every record lands in the session file exactly once (each trial reads the file
              back and checks every (publisher, sequence)); and, in the same run, raw ZeroMQ
              PUB -> cantina-busd -> SUB with the same message size: the ceiling and the ratio.
  latency     the cost of one Logger call in the calling thread (p50/p99/p99.9 over --calls
              calls, back to back and paced), and publish -> logging node -> /dashboard/log
              subscriber latency at 1,000 records/s.
  steady      1,000 records/s for --seconds (30) from --publishers services (1) sharing the rate:
              the logging node's CPU (% of one core, per thread, from
              /proc/<pid>/task/*/schedstat) and memory (RssAnon, VmRSS).
  dashboard   the web bridge: publish -> WebSocket latency at 1,000 records/s (one client);
              K clients at R records/s (delivered, skipped, latency, the bridge's CPU and
              memory); and the bus throughput with the bridge and its K clients beside the
              same search without the bridge.
  dedup       90 % repeats: the highest rate at which every unique record lands once and the
              repeat summaries account for every repeat exactly.
  python      a Python service (tools/bench/python_load.py, the interpreter running bench.py):
              the cost of one `logger.info(fmt, i, s)` call with NullHandler (the logging
              module's floor), FileHandler and CantinaHandler in one process, --rounds rounds
              of --calls calls interleaved; then the CPU of a service logging --rate (1,000)
              records/s for --seconds (10) with each handler, and without logging.
  services    for each N of --services (1,20,50): N services share --rate (1,000) records/s
              for --seconds (30): the logging node's and the bus's CPU and wake-ups
              (voluntary context switches), publish -> session file latency (to 10 ms); then
              --watched-seconds (10) with a /dashboard/log subscriber: publish -> dashboard
              latency. Last, --idle-services (50) services that log nothing: the logging
              node's CPU and wake-ups beside the node alone (--idle-seconds each).
              --linger-unwatched MS runs the services' Loggers with that wait while no
              one watches (1000 by default), to weigh CPU against a record's wait;
              --with-webbridge runs the web bridge beside the node, no browser
              connected, as tools/cantina up does.
  search      one session file of --search-mib MiB (1,024), indexed by cantina-logd: a regex
              search over it with `cantina logs --grep` beside ripgrep and `grep -E` (the
              same matches), seeking to a minute (`logs --since T --until T+59s`, --seeks
              random minutes) and level- and service-filtered queries matching 1 % of it;
              medians of --search-rounds (5) runs of each command, page cache warm.
  soak        (not part of `all`) --minutes M of steady load (--publishers 3 at --rate 3,000
              records/s in all) under the supervisor (tools/cantina up), with a fault every
              --interval s: busd, logd, the web bridge and a publisher in turn, SIGKILL or
              SIGTERM at random (--seed). After each fault, once the supervisor has everything
              running again, the session files are read and every record of every publisher
              must be in a file exactly once or in a loss the logging node reported; no line
              torn. Prints a row per fault (docs/RELIABILITY.md explains the columns).

--publishers is taken by throughput, dedup, dashboard, steady and soak, and refused by the
others (latency times one Logger; python runs its own services; services takes --services).

Each scenario starts its own cantina-busd, cantina-logd (a fresh one per trial) and, where
needed, cantina-webbridge on ephemeral loopback ports and ipc endpoints in a temporary
directory, checks its own output, prints a table (medians of --runs runs) and, with --json,
writes the same figures. The exit status is 1 if a self-check failed (a record lost at the
lowest rate tried, a count that does not add up), never because of a time: timings are
reported, compared with the goals in docs/PERFORMANCE.md, and not asserted.

--quick runs a tiny version of the scenario in seconds, only to show that the harness works
(the test suite runs it). Standard library only; Linux only (/proc).
"""

import argparse
import copy
import os
import sys

from .common import DEFAULT_BIN_DIR, ROOT
from .report import write_json
from .runner import run_scenario
from .scenarios import SCENARIOS

# The scenarios that take --publishers; the others refuse it rather than ignore it.
PUBLISHER_SCENARIOS = {"throughput", "dedup", "dashboard", "steady", "soak"}
# Options only some scenarios use: given to another one, they are refused.
SCENARIO_OPTIONS = {
    "publishers": PUBLISHER_SCENARIOS,
    "services": {"services"},
    "idle_services": {"services"},
    "watched_seconds": {"services"},
    "linger_unwatched": {"services"},
    "with_webbridge": {"services"},
    "rounds": {"python"},
    "search_mib": {"search"},
    "search_rounds": {"search"},
    "seeks": {"search"},
}


def apply_defaults(args):
    """Scenario sizes: the full ones, or --quick ones that finish in seconds."""
    quick = args.quick
    defaults = {
        "runs": 1 if quick else 3,
        "publishers": 1 if args.scenario == "steady" else 2,
        "size": 128,
        "trial_seconds": 0.3 if quick else 3.0,
        "start_rate": 2000 if quick else 100_000,
        "max_rate": 4000 if quick else 8_000_000,
        "bisect": 0 if quick else 3,
        "raw_records": 20_000 if quick else 4_000_000,
        "calls": {"python": 20_000}.get(args.scenario, 1_000_000),
        "call_rate": 100_000,
        "rate": {"latency": 1000, "steady": 1000, "dashboard": 100_000}.get(args.scenario, 1000),
        "latency_rate": 1000,
        "compress_mib": 0,
        "seconds": {"latency": 10, "steady": 30, "dashboard": 10, "services": 30}.get(args.scenario, 10),
        "clients": 10,
        "warmup": 2.0,
        "idle_seconds": 10.0 if args.scenario == "services" else 5.0,
        "repeat_per_mille": 900,
        "rounds": 15,
        "services": "1,20,50",
        "idle_services": 50,
        "watched_seconds": 10.0,
        "search_mib": 1024,
        "search_rounds": 5,
        "seeks": 10,
    }
    if quick:
        defaults.update({"rate": 1000 if args.scenario != "dashboard" else 2000, "seconds": 1.0, "clients": 2,
                         "warmup": 0.5, "idle_seconds": 0.5, "calls": 2000 if args.scenario == "python" else 20_000,
                         "rounds": 3, "services": "1,3", "idle_services": 3,
                         "watched_seconds": 1.0, "search_mib": 8, "search_rounds": 1, "seeks": 2})
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if isinstance(args.services, str):
        args.services = [int(n) for n in args.services.split(",")]


def refuse_unused_options(parser, args, names):
    """An option that none of the scenarios run would use is an error, not a silent no-op."""
    for option, scenarios in SCENARIO_OPTIONS.items():
        if getattr(args, option) is None:
            continue
        unused = [name for name in names if name not in scenarios]
        if unused:
            parser.error(f"--{option.replace('_', '-')} is not used by {', '.join(unused)} "
                         f"(only by {', '.join(sorted(scenarios))})")


def check_services(parser, args):
    """--services is a list of service counts."""
    if args.services is not None:
        try:
            counts = [int(n) for n in args.services.split(",")]
        except ValueError:
            counts = []
        if not counts or min(counts) < 1:
            parser.error(f"--services: a list of service counts like 1,20,50, not {args.services!r}")
    if args.linger_unwatched is not None and not 0 <= args.linger_unwatched <= 1000:
        parser.error(f"--linger-unwatched: 0 to 1000 ms (as [bus] logger_linger_unwatched_ms), "
                     f"not {args.linger_unwatched}")


def run_soak(args):
    """`soak` is a reliability check and lives with them (tools/reliability/soak.py); run
    here with the options parsed above, as `tools/cantina bench soak` always has."""
    reliability = str(ROOT / "tools" / "reliability")
    if reliability not in sys.path:
        sys.path.insert(0, reliability)
    import soak
    return soak.run(args)


def main(argv=None):
    # `tools/cantina bench` names itself in CANTINA_BENCH_PROG.
    first, _, rest = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(prog=os.environ.get("CANTINA_BENCH_PROG", "tools/bench/bench.py"),
                                     description=first, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=rest)
    parser.add_argument("scenario", choices=sorted(SCENARIOS) + ["all", "soak"],
                        help="a scenario, or all of them in turn (all but soak)")
    parser.add_argument("--quick", action="store_true", help="a tiny run (seconds) that only shows the harness works")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    parser.add_argument("--bin-dir", default=str(DEFAULT_BIN_DIR), help="the built executables (default %(default)s)")
    parser.add_argument("--runs", type=int, help="runs to take the median of (default 3; --quick 1)")
    parser.add_argument("--publishers", type=int,
                        help="publisher processes (default 2; steady 1; not for latency, python, services)")
    parser.add_argument("--size", type=int, help="message bytes of each record (default 128)")
    parser.add_argument("--trial-seconds", type=float, help="length of one throughput trial (default 3)")
    parser.add_argument("--start-rate", type=float, help="first offered rate of the search (default 100,000/s)")
    parser.add_argument("--max-rate", type=float, help="highest offered rate tried (default 8,000,000/s)")
    parser.add_argument("--fixed-rate", type=float, help="throughput/dedup: one trial at this rate, no search")
    parser.add_argument("--bisect", type=int, help="bisection steps after the first failure (default 3)")
    parser.add_argument("--raw-records", type=int, help="messages of the raw baseline (default 4,000,000)")
    parser.add_argument("--raw-only", action="store_true", help="throughput: only the raw ZeroMQ baseline")
    parser.add_argument("--raw-payload-bytes", type=int,
                        help="throughput: raw payload size instead of the encoded record's")
    parser.add_argument("--calls", type=int,
                        help="latency: Logger calls timed (default 1,000,000); python: calls a round (20,000)")
    parser.add_argument("--rounds", type=int, help="python: rounds of --calls calls per handler (default 15)")
    parser.add_argument("--call-rate", type=float, help="latency: paced calls per second (default 100,000)")
    parser.add_argument("--rate", type=float, help="records/s of latency, steady, python, services (1,000, in all) "
                                                   "and dashboard (100,000)")
    parser.add_argument("--services", help="services: the service counts to run, comma-separated (default 1,20,50)")
    parser.add_argument("--idle-services", type=int, help="services: services that log nothing (default 50; 0: none)")
    parser.add_argument("--watched-seconds", type=float,
                        help="services: length of the phase with a dashboard subscriber (default 10)")
    parser.add_argument("--with-webbridge", action="store_true", default=None,
                        help="services: run the web bridge (no browser connected) beside the logging "
                             "node, as tools/cantina up does")
    parser.add_argument("--linger-unwatched", type=int, metavar="MS",
                        help="services: the services' Loggers (and the node) use this [bus] "
                             "logger_linger_unwatched_ms, 0 to 1000 (default: the build's own, 1000 since "
                             "ce35a00)")
    parser.add_argument("--search-mib", type=int, help="search: size of the session file, MiB (default 1,024)")
    parser.add_argument("--search-rounds", type=int, help="search: timings of each command (default 5)")
    parser.add_argument("--seeks", type=int, help="search: random minutes to seek to (default 10)")
    parser.add_argument("--latency-rate", type=float, help="dashboard: records/s of the latency phase (1,000)")
    parser.add_argument("--seconds", type=float,
                        help="length of the steady and services (30), latency, dashboard and python (10) phases")
    parser.add_argument("--clients", type=int, help="dashboard: WebSocket clients (default 10)")
    parser.add_argument("--ws-quickack", action="store_true",
                        help="dashboard: clients ACK at once (diagnosis of Nagle / delayed-ACK stalls)")
    parser.add_argument("--batch-interval-ms", type=int,
                        help="dashboard: the web bridge's batch_interval_ms (default: not set, the built-in default)")
    parser.add_argument("--dashboard-max-rate", type=int,
                        help="the logging node's dashboard_max_rate, entries/s streamed live (default: not set, "
                             "the built-in 10,000; 0 = no limit)")
    parser.add_argument("--no-throughput", action="store_true", help="dashboard: skip the with/without search")
    parser.add_argument("--compress-mib", type=int,
                        help="dashboard: run the latency phase again while the logging node compresses a finished "
                             "session of this many MiB (default 0: not run)")
    parser.add_argument("--warmup", type=float, help="steady: seconds after logd starts before measuring")
    parser.add_argument("--idle-seconds", type=float,
                        help="steady: seconds of idle CPU measured first (5); services: each idle window (10)")
    parser.add_argument("--repeat-per-mille", type=int, help="dedup: repeats per 1000 records (default 900)")
    parser.add_argument("--perf", metavar="PROCESS:FILE",
                        help="perf record -g one process while measuring: logd, busd, busd-raw, publisher, "
                             "caller (latency) or webbridge (dashboard load phase)")
    parser.add_argument("--perf-options", default="-e cpu-clock -F 2000 -g",
                        help="options of perf record (default %(default)s; try --call-graph dwarf)")
    parser.add_argument("--minutes", type=float, help="soak: how long (default 10; --quick 0.5)")
    parser.add_argument("--interval", type=float, help="soak: seconds from one fault to the next (default 15)")
    parser.add_argument("--seed", type=int, default=1, help="soak: seed of the random signal choice (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    names = sorted(SCENARIOS) if args.scenario == "all" else [args.scenario]
    refuse_unused_options(parser, args, names)
    check_services(parser, args)
    if args.scenario == "soak":
        return run_soak(args)
    reports = []
    for name in names:
        scenario_args = copy.copy(args)
        scenario_args.scenario = name
        apply_defaults(scenario_args)
        reports.append(run_scenario(scenario_args))
    if args.json:
        report = reports[0] if len(reports) == 1 else {"scenarios": reports}
        write_json(args.json, report)
    return 0 if all(r["self_checks_passed"] for r in reports) else 1
