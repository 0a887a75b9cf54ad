"""cantina: the single front door of Cantina bus.

    tools/cantina [--config FILE] setup | build | test [--sanitize S] [-- CTEST ARGS] | check
    tools/cantina [--config FILE] up [--detach] | down | status [--json] | restart NAME
    tools/cantina [--config FILE] tail | level | log  ARGS...   (passed on to cantina-cli)

`up` takes the state dir's supervisor lock (a second `up` refuses, naming the one that runs;
`down` stops one that is still starting), then supervises busd, logd, the web bridge (when
built) and the [[service]]s of the config:
it starts them in that order, each once the one before is ready, each in its own session
(so Ctrl-C reaches only the supervisor) and tied to the supervisor's life
(PR_SET_PDEATHSIG). A process that exits is restarted per its restart policy after 1 s,
2 s, 4 s ... (at most 30 s); one that fails within start_secs of starting five times in a
row is left FATAL. Every state change is published as a ServiceStatus on the bus and kept in
<state dir>/state.json for `status`. The stdout and stderr lines of every service are
published as its log records. On SIGINT/SIGTERM/SIGHUP everything stops in reverse order.

Environment: CANTINA_BIN_DIR (the C++ binaries; default <root>/build/bin; when set, `up`
does not build), CANTINA_LIB (the bus's C library; default <bin dir>/../lib/libcantina_bus_c.so),
CANTINA_STATE_DIR (state file and process output; default <root>/.cantina/run), CANTINA_TRACKING
(proc: follow the children's processes through /proc even where a cgroup could be made).
Standard library only (the bus is reached through tools/python/cantina_logging.py and the
C library); Linux only (prctl, /proc).

The code: this package, one concept per module. Layers, bottom first; a module imports only
modules listed above it (tools/cantina, the entry script, calls cli.main):
    constants        paths (from the environment), every timeout and interval; puts tools/python
                     (cantina_logging) on sys.path
    errors           CantinaError (one message, exit 1), StartupError, StopRequested, NothingRunning,
                     StillStarting
    messages         say (the tool's own lines), commands to type, error texts, how a process ended,
                     tail of a file, durations
    processes        /proc and signals: alive, process groups, stopping a pid, waiting, PDEATHSIG
    config           the config file, validated and read through cantina-cli
    probes           readiness probes: bus endpoints, a command (wait-status), uptime
    capture          every child's output: one reading thread, .out files (0640, rotated), the
                     services' lines through the bus library's LineReader onto the bus
    building         setup (tools/setup), the cmake build, the fuzzers' clang build
    state            the state dir (0750) and the state file: read, write, summary; what still runs
    lock             the supervisor lock: one supervisor per state dir, who holds it, in which phase
    children         ChildSpec, Child, restart policy, backoff
    tracking         every process a child starts (its cgroup, or /proc with a subreaper), stopped with it
    reporter         BusReporter: ServiceStatus and captured output on the bus
    supervisor       Supervisor: start in order, restart per policy, stop in reverse order
    detach           `up --detach`: the supervisor in its own session, waited for until ready
    cmd_supervise    up, down, status, restart
    cmd_build        setup, build, test, check
    cmd_passthrough  tail, logs, level, log, keygen (become cantina-cli)
    cmd_bench        bench (tools/bench/bench.py)
    cli              the argument parser and main()
"""

from . import constants  # noqa: F401  (first: puts tools/python on sys.path for cantina_logging)
