"""The benchmark harness of Cantina bus behind tools/bench/bench.py (docs/PERFORMANCE.md).

One concept a module, each importing only modules listed before it:

    common     ROOT, the default --bin-dir, BenchError
    measure    thread and process CPU, memory, the machine's busy time (/proc)
    stack      Process (a child, its output in a file), Stack (busd, logd, webbridge and the
               benchmark tools of one run on temporary endpoints)
    trials     one trial of publishers -> logging node -> session file, its check, the rate
               search, the raw ZeroMQ trial
    scenarios  throughput, dedup, latency, steady, dashboard, python, services: each one run of
               one scenario, returning (figures, self-check failures)
    goals      the figures each table shows and the goals (issues 6 and 16)
    report     the machine, medians, the table, the JSON file
    runner     run_scenario: --runs runs of one scenario on one Stack, then the table
    cli        the command line (bench.py's options and defaults), main()

The soak (faults under the supervisor) is a reliability check, not a benchmark: it lives
in tools/reliability/soak.py, uses common and report from here, and `bench.py soak`
dispatches to it.
"""
