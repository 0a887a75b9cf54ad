"""The supervisor: starts busd, logd, the web bridge and the services in order, keeps them
running per their restart policies, and stops them in reverse order (the design is in the
Supervisor's docstring)."""

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from .capture import CapturedOutput, OutputCapture, OutputFile
from .children import Child, ChildSpec, backoff_delay, should_restart
from .constants import (BACKOFF_RESET_AFTER, BIN_DIR, BUS_READY_TIMEOUT, CAPTURE_DRAIN_TIMEOUT, CAPTURE_MAX_BYTES,
                        FATAL_AFTER,
                        LIB_PATH, LOGGER_DRAIN_TIMEOUT, NODE_READY_TIMEOUT, POLL_INTERVAL, PYTHON_DIR, ROOT,
                        STATE_DIR, STATE_REFRESH, STATUS_READY_TIMEOUT, STATUS_REPEAT, STOP_HURRY, STOP_TIMEOUT,
                        TICK, TRACK_INTERVAL)
from .errors import StartupError, StopRequested
from .lock import SupervisorLock
from .messages import describe_exit, say, tail_lines, tool_command
from .probes import CommandProbe, EndpointsProbe, Probe, UptimeProbe
from .processes import die_with_parent, group_alive, proc_stat, signal_group, wait_until
from .reporter import BusReporter
from .tracking import Tracker, signal_pids
from .state import make_state_dir, print_summary, remove_state_if_owned, save_state


def session_file_from_status(message: str) -> str:
    """Extracts the path from logd's status 'session 20261126-174500: /abs/logs/...log'."""
    _, separator, path = message.partition(": ")
    return (path if separator else message).strip() or "(unknown)"


class Supervisor:
    """Starts the children in order, keeps them running, and stops them in reverse order.

    DESIGN
    - Main thread: starts every child (each in its own session, tied to the supervisor's
      life with PR_SET_PDEATHSIG, so it must stay the thread that forks), polls them every
      TICK seconds as a state machine per child (STARTING -> RUNNING; on exit ERROR with a
      restart pending, STOPPED, or FATAL after FATAL_AFTER quick failures), publishes each
      change on the bus and in the state file, and acts on stop signals and on `restart`
      requests (SIGUSR1 + a file in <state dir>/requests).
    - Every process a child starts is followed (Tracker: a cgroup per incarnation, or /proc
      with the supervisor as child subreaper) and stopped with it, daemons included.
    - Capture thread (OutputCapture): reads every child's output pipes.
    - Shutdown: a stop signal only sets a flag; the main loop then stops services, lets the
      capture reach end of file and the output loggers drain into the still running logging
      node, then stops the web bridge, the logging node and the bus. A second signal
      shortens every remaining grace period to STOP_HURRY seconds.
    """

    def __init__(self, config_path: Path, config: dict, detached: bool, services_only: bool = False,
                 lock: SupervisorLock | None = None):
        self.config_path = config_path
        self.lock = lock                             # held by this process; says starting/running/stopping
        self.config = config
        self.detached = detached
        self.services_only = services_only           # LAN: the bus and the logging node run on another host
        self.session_file = "(unknown)"
        self.dashboard: str | None = None
        self.stop_signal: int | None = None
        self.hurry = False                           # a second stop signal: shorten the grace periods
        self.requests_pending = False                # SIGUSR1: read <state dir>/requests
        self.starting: Child | None = None           # the child start_all is starting
        self.started_at = time.time()
        self.ready = False
        self.reporter: BusReporter | None = None
        self.capture: OutputCapture | None = None
        self.last_status_publish = 0.0
        self.last_state_write = 0.0
        self.leftovers: dict[str, tuple[int, float]] = {}   # unit of an exited child -> (its group, SIGKILL time)
        self.tracker: Tracker | None = None           # every process of every child (run() makes it)
        self.last_track = 0.0
        self.capture_max_bytes = int(config.get("supervisor", {}).get("capture_max_bytes", CAPTURE_MAX_BYTES))
        self.children = [Child(spec) for spec in self.child_specs(config)]

    def child_specs(self, config: dict) -> list[ChildSpec]:
        """Builds the start list: busd, logd, webbridge (if built; none of the three with
        --services-only), then every service in config order."""
        config_arg = ["--config", str(self.config_path)]
        python_path = os.pathsep.join(filter(None, [str(PYTHON_DIR), os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, PATH=f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
                   CANTINA_CONFIG=str(self.config_path), PYTHONPATH=python_path, PYTHONUNBUFFERED="1")
        if LIB_PATH.is_file():
            env["CANTINA_LIB"] = str(LIB_PATH)
        bus = config.get("bus", {})
        endpoints = [bus.get("subscribe_endpoint", ""), bus.get("publish_endpoint", "")]

        def wait_for_status(service: str, timeout: float) -> Callable[[], Probe]:
            argv = [str(BIN_DIR / "cantina-cli"), "wait-status", *config_arg, "--service", service,
                    "--state", "RUNNING", "--timeout", f"{timeout:g}"]
            return lambda: CommandProbe(argv, env)

        specs = [] if self.services_only else [
            ChildSpec("cantina-busd", "node", ["cantina-busd", *config_arg], ROOT, env, "always",
                      lambda: EndpointsProbe(endpoints, ROOT), BUS_READY_TIMEOUT),
            ChildSpec("cantina-logd", "node", ["cantina-logd", *config_arg], ROOT, env, "always",
                      wait_for_status("logging_service", NODE_READY_TIMEOUT), NODE_READY_TIMEOUT + 5,
                      on_ready=self.note_session_file),
        ]
        if (BIN_DIR / "cantina-webbridge").exists() and not self.services_only:
            specs.append(ChildSpec("cantina-webbridge", "node", ["cantina-webbridge", *config_arg], ROOT, env,
                                   "always", wait_for_status("web_bridge", NODE_READY_TIMEOUT),
                                   NODE_READY_TIMEOUT + 5, on_ready=self.note_dashboard))
        for service in config.get("services", []):
            name = service["name"]
            service_env = dict(env, CANTINA_SERVICE=name,
                               **{key: str(value) for key, value in service.get("environment", {}).items()})
            start_secs = float(service.get("start_secs", 1.0))
            if service.get("ready", "uptime") == "status":
                probe, timeout = wait_for_status(name, STATUS_READY_TIMEOUT), STATUS_READY_TIMEOUT + 5
            else:
                probe, timeout = (lambda seconds=start_secs: UptimeProbe(seconds)), start_secs + 5
            specs.append(ChildSpec(name, "service", list(service["command"]),
                                   ROOT / (service.get("working_directory") or "."), service_env,
                                   service.get("restart", "on-failure"), probe, timeout, start_secs,
                                   capture=bool(service.get("capture", True))))
        return specs

    def note_session_file(self, probe: CommandProbe) -> None:
        """Keeps the session file path from logd's RUNNING status message."""
        self.session_file = session_file_from_status(probe.output)

    def note_dashboard(self, probe: CommandProbe) -> None:
        """Keeps the dashboard's address: from the web bridge's 'listening on' line, else the config."""
        child = next(c for c in self.children if c.spec.name == "cantina-webbridge")

        def listening() -> list[str]:
            return re.findall(r"listening on (https?://\S+)", "\n".join(tail_lines(child.log_path, 50)))
        found = wait_until(listening, 1.0) and listening()   # the line may still be in the capture thread
        url = found[-1] if found else f"http://{self.config.get('webbridge', {}).get('listen', '127.0.0.1:8080')}"
        self.dashboard = url if url.endswith("/") else url + "/"

    # ------------------------------------------------------------ running

    def run(self) -> int:
        """Starts everything, supervises until a stop signal, stops everything; returns the exit status."""
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self.on_signal)
        signal.signal(signal.SIGUSR1, self.on_request_signal)
        make_state_dir()
        self.tracker = Tracker.create(uuid.uuid4().hex[:12])   # before any thread: it may fork a test child
        self.reporter = BusReporter(self.config_path)
        if self.reporter.problem:
            say(f"cantina: note: statuses and captured output are not published on the bus: {self.reporter.problem}")
        self.capture = OutputCapture(int(self.config.get("bus", {}).get("max_record_bytes", 0)))
        self.capture.start()
        try:
            try:
                self.start_all()
            except StartupError as error:
                self.report_start_failure(str(error))
                return 1
            except StopRequested:
                say(f"cantina: received {signal.Signals(self.stop_signal).name} during start-up; stopping")
                return 1 if self.detached else 0
            self.ready = True
            self.write_state()
            if self.lock is not None:
                self.lock.update(phase="running")
            print_summary(self.state(), self.detached)
            self.supervise()
            return 0
        finally:
            if self.lock is not None:
                self.lock.update(phase="stopping")
            self.stop_all()
            remove_state_if_owned()
            say("cantina: all stopped")

    def on_signal(self, signum, frame) -> None:
        """Signal handler: records the first stop signal (the loops act on it); a second one hurries."""
        if self.stop_signal is None:
            self.stop_signal = signum
        else:
            self.hurry = True

    def on_request_signal(self, signum, frame) -> None:
        """SIGUSR1: a `restart` request waits in <state dir>/requests."""
        self.requests_pending = True

    def start_all(self) -> None:
        """Starts each child in order once the one before is ready (or, for a service, failed to start)."""
        for child in self.children:
            self.starting = child
            say(f"cantina: starting {child.spec.name}")
            self.start(child)
            while child.state == "STARTING":
                if self.stop_signal is not None:
                    raise StopRequested()
                time.sleep(POLL_INTERVAL)
                self.tick()
            if child.spec.kind == "node" and child.state != "RUNNING":
                raise StartupError(child.last_failure)
            if child.state != "RUNNING":
                lines = [f"    | {line}" for line in tail_lines(child.log_path, 5)]
                say("\n".join([f"cantina: {child.spec.name} failed to start: {child.message}; its last output:"]
                              + (lines or ["    (none)"])), sys.stderr)
        self.starting = None

    def supervise(self) -> None:
        """Polls the children until a stop signal; restarts those that exit, per their policy."""
        while self.stop_signal is None:
            if self.requests_pending:
                self.requests_pending = False
                self.handle_requests()
            self.tick()
            time.sleep(TICK)
        say(f"cantina: received {signal.Signals(self.stop_signal).name}; stopping")

    def tick(self) -> None:
        """One round of the state machine over every child, then the periodic reports."""
        now = time.monotonic()
        for child in self.children:
            if child.process and child.process.returncode is None and child.process.poll() is not None:
                self.on_exit(child, now)
            elif child.state == "STARTING" and child.probe is not None:
                self.check_ready(child, now)
            if child.restart_at is not None and now >= child.restart_at and self.stop_signal is None:
                child.restart_at = None
                child.restarts += 1
                self.start(child)
        if self.leftovers:
            self.reap_leftovers(now)
        if now - self.last_track >= TRACK_INTERVAL:
            self.last_track = now
            self.tracker.poll({pid for c in self.children for pid in (
                c.process.pid if c.running else None, getattr(getattr(c.probe, "process", None), "pid", None)) if pid})
        if now - self.last_status_publish >= STATUS_REPEAT:   # late subscribers learn the current state
            self.last_status_publish = now
            for child in self.children:
                self.reporter.publish(child)
        if now - self.last_state_write >= STATE_REFRESH:      # uptimes and capture counters
            self.write_state()

    def set_state(self, child: Child, state: str, message: str) -> None:
        """Records a state change, publishes it on the bus and in the state file."""
        if (state, message) == (child.state, child.message):
            return
        if state != child.state:
            child.since = time.time()
        child.state, child.message = state, message
        self.reporter.publish(child)
        self.write_state()

    def start(self, child: Child) -> None:
        """Starts one incarnation of a child; a failure to even start it counts as a failed start."""
        try:
            self.spawn(child)
        except StartupError as error:
            self.on_failed_start(child, str(error))
            return
        try:
            child.probe = child.spec.make_probe()
        except OSError as error:
            self.kill_quietly(child)
            self.on_failed_start(child, f"cannot run its readiness check: {error}", child.process.pid)
            return
        child.ready_deadline = time.monotonic() + child.spec.ready_timeout
        verb = "restarted" if child.starts > 1 else "started"
        self.set_state(child, "STARTING", f"{verb} (pid {child.process.pid})")
        if child.starts > 1:
            say(f"cantina: restarted {child.spec.name} (pid {child.process.pid})")

    def spawn(self, child: Child) -> None:
        """Starts the process in its own session, its output read by the capture thread: into its
        .out file and, for a service with capture on, published line by line."""
        spec = child.spec
        program = shutil.which(spec.argv[0], path=spec.env["PATH"]) if "/" not in spec.argv[0] \
            else str(spec.cwd / spec.argv[0])
        if not program:
            raise StartupError(f"{spec.name}: command '{spec.argv[0]}' not found in {BIN_DIR} or on PATH")
        if child.output_file is None:
            child.output_file = OutputFile(child.log_path, self.capture_max_bytes)
        try:
            child.output_file.open(fresh=child.starts == 0)
        except OSError as error:
            raise StartupError(f"{spec.name}: cannot write {child.log_path}: {error}") from None
        published = spec.kind == "service" and spec.capture
        unit = f"{spec.name}.{child.starts + 1}"   # this incarnation, for the tracker
        try:
            join_unit = self.tracker.preexec(unit)
        except OSError as error:
            raise StartupError(f"{spec.name}: cannot make its cgroup: {error}") from None
        die = die_with_parent(os.getpid())

        def preexec() -> None:
            die()
            if join_unit is not None:
                join_unit()
        pipes: list[int] = []
        try:
            for _ in range(2 if published else 1):   # stdout and stderr apart, or both in one
                pipes += os.pipe()
            for fd in pipes[0::2]:
                try:
                    fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)   # room for bursts; best effort
                except OSError:
                    pass
            stdout = pipes[1]
            stderr = pipes[3] if published else subprocess.STDOUT
            child.process = subprocess.Popen(
                [program, *spec.argv[1:]], cwd=spec.cwd, env=dict(spec.env, **self.tracker.environment(unit)),
                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=True, preexec_fn=preexec)
        except OSError as error:
            for fd in pipes:
                os.close(fd)
            raise StartupError(f"{spec.name}: cannot start {program}: {error}") from None
        for fd in pipes[1::2]:
            os.close(fd)
        child.unit = unit
        self.tracker.started(unit, child.process.pid)
        logger = self.reporter.logger_for(spec.name) if published else None
        output = CapturedOutput(spec.name, child.process.pid, Path(program).name, child.output_file, logger,
                                child.capture_stats)
        self.capture.add(output, pipes[0], pipes[2] if published else None)
        child.starts += 1
        stat = proc_stat(child.process.pid)
        child.start_ticks = stat[2] if stat else None
        child.started_at = time.time()
        child.started_mono = time.monotonic()
        child.started = datetime.now().astimezone().isoformat(timespec="seconds")

    def check_ready(self, child: Child, now: float) -> None:
        """Polls a starting child's probe: RUNNING when it says ready, a failed start on error or timeout."""
        try:
            ready = child.probe.poll()
        except StartupError as error:
            self.kill_quietly(child)
            self.on_failed_start(child, str(error), child.process.pid)
            return
        if not ready:
            if now >= child.ready_deadline:
                self.kill_quietly(child)
                self.on_failed_start(child, f"not ready after {child.spec.ready_timeout:g} s", child.process.pid)
            return
        probe, child.probe = child.probe, None
        probe.close()
        if child.process.poll() is not None:   # it passed the check but died right after
            self.on_exit(child, now)
            return
        if child.spec.on_ready:
            child.spec.on_ready(probe)
        message = f"running (pid {child.process.pid})"
        if child.spec.name == "cantina-logd":
            message += f"; session file {self.session_file}"
        self.set_state(child, "RUNNING", message)
        say(f"cantina: {child.spec.name} is ready (pid {child.process.pid})")

    def kill_quietly(self, child: Child) -> None:
        """Kills a child that failed its readiness check (its group and every process of its unit) and reaps it."""
        if child.process and child.process.returncode is None:
            signal_group(child.process.pid, signal.SIGKILL)
            self.tracker.signal(child.unit, signal.SIGKILL)
            child.process.wait()
            self.tracker.ended_unit(child.unit)

    def remaining(self, child: Child) -> bool:
        """True while anything of the child's incarnation runs: the child, its process group, or
        any process of its unit (a daemon it started in a session of its own included)."""
        process = child.process
        return process.poll() is None or group_alive(process.pid) or bool(self.tracker.members(child.unit))

    def end_leftovers(self, child: Child) -> None:
        """After a child exited: SIGTERM to what it left (in its process group or its unit: a
        background job, a worker, a daemon), SIGKILL after STOP_HURRY s (see reap_leftovers), so no
        incarnation leaves anything."""
        if self.remaining(child):
            signal_group(child.process.pid, signal.SIGTERM)
            self.tracker.signal(child.unit, signal.SIGTERM)
            self.leftovers[child.unit] = (child.process.pid, time.monotonic() + STOP_HURRY)
        else:
            self.tracker.ended_unit(child.unit)

    def reap_leftovers(self, now: float, force: bool = False) -> None:
        """SIGKILLs the leftovers whose grace period is over (all of them if `force`)."""
        for unit, (pgid, deadline) in list(self.leftovers.items()):
            if not group_alive(pgid) and not self.tracker.members(unit):
                del self.leftovers[unit]
                self.tracker.ended_unit(unit)
            elif force or now >= deadline:
                signal_group(pgid, signal.SIGKILL)
                self.tracker.signal(unit, signal.SIGKILL)
                del self.leftovers[unit]
                self.tracker.ended_unit(unit)

    def on_exit(self, child: Child, now: float) -> None:
        """A child's process ended by itself: decide between restart (with backoff), STOPPED and FATAL."""
        code, pid = child.process.returncode, child.process.pid
        how = describe_exit(code)
        during_start = child.state == "STARTING"
        self.end_leftovers(child)
        if self.capture is not None:   # its last words, before they are reported
            self.capture.wait_drained([child.spec.name], 0.3)
        if child.probe is not None:
            child.probe.close()
            child.probe = None
        ran = now - child.started_mono
        if during_start or ran < child.spec.start_secs:
            child.quick_failures += 1
            what = f"exited during start-up ({how})"
        else:
            child.quick_failures = 0
            what = f"exited unexpectedly ({how})" if code != 0 else f"exited ({how})"
        if ran >= BACKOFF_RESET_AFTER:
            child.backoff_step = 0
        self.after_failure(child, what, should_restart(child.spec.restart, code), pid)

    def on_failed_start(self, child: Child, reason: str, pid: int | None = None) -> None:
        """The child could not be started, or did not become ready in time: a quick failure."""
        if child.probe is not None:
            child.probe.close()
            child.probe = None
        child.quick_failures += 1
        self.after_failure(child, reason.removeprefix(f"{child.spec.name}: "), child.spec.restart != "never", pid)

    def after_failure(self, child: Child, what: str, restart: bool, pid: int | None) -> None:
        """Schedules the restart with backoff, or gives up (FATAL), or leaves the child STOPPED.

        A node that fails while `up` starts it is not restarted: start-up fails as a whole."""
        name = child.spec.name
        child.last_failure = f"{name}{f' (pid {pid})' if pid else ''} {what}"
        if child is self.starting and child.spec.kind == "node":
            self.set_state(child, "ERROR", what)
        elif not restart:
            say(f"cantina: {child.last_failure}; restart policy '{child.spec.restart}': not restarting")
            self.set_state(child, "STOPPED", f"{what}; restart policy '{child.spec.restart}'")
        elif child.quick_failures >= FATAL_AFTER:
            say(f"cantina: {child.last_failure}; it failed {child.quick_failures} times in a row within "
                f"{child.spec.start_secs:g} s of starting: giving up (FATAL). Fix it, then: "
                f"{tool_command('restart', name)}", sys.stderr)
            self.set_state(child, "FATAL", f"failed {child.quick_failures} times in a row within "
                                           f"{child.spec.start_secs:g} s of starting (last: {what}); "
                                           f"not restarting")
        else:
            delay = backoff_delay(child.backoff_step)
            child.backoff_step += 1
            child.restart_at = time.monotonic() + delay
            say(f"cantina: {child.last_failure}; restarting in {delay:g} s")
            self.set_state(child, "ERROR", f"{what}; restarting in {delay:g} s "
                                           f"(at {datetime.now() + timedelta(seconds=delay):%H:%M:%S})")

    # ------------------------------------------------------------ requests

    def handle_requests(self) -> None:
        """Acts on the request files that `tools/cantina restart` left in <state dir>/requests."""
        for path in sorted((STATE_DIR / "requests").glob("*.json")):
            try:
                request = json.loads(path.read_text())
                path.unlink()
            except (OSError, ValueError):
                continue
            child = next((c for c in self.children if c.spec.name == request.get("restart")), None)
            if child is not None:
                self.restart_on_request(child)

    def restart_on_request(self, child: Child) -> None:
        """Stops the child if it runs and starts it again at once, forgetting earlier failures."""
        say(f"cantina: restarting {child.spec.name} on request")
        if child.running:
            self.stop_child(child)
        child.restart_at = None
        child.quick_failures = 0
        child.backoff_step = 0
        child.restarts += 1
        self.start(child)

    # ------------------------------------------------------------ stopping

    def stop_all(self) -> None:
        """Stops services (reverse order), lets their output reach the logging node, then the nodes;
        the capture thread reads every pipe to its end, then the output files are closed."""
        services = [c for c in self.children if c.spec.kind == "service"]
        nodes = [c for c in self.children if c.spec.kind == "node"]
        for child in reversed(services):
            self.stop_child(child)
        self.reap_leftovers(time.monotonic(), force=True)
        if self.capture is not None:
            self.capture.wait_drained([c.spec.name for c in services], CAPTURE_DRAIN_TIMEOUT)
            self.capture.detach_loggers()   # a pipe a leftover still holds is written, not published
        if self.reporter is not None:
            self.reporter.close_loggers(LOGGER_DRAIN_TIMEOUT)
        for child in reversed(nodes):
            if child.spec.name == "cantina-busd" and self.reporter is not None:
                self.reporter.publish(child)
                self.reporter.close_status()   # while the bus still takes what is queued
            self.stop_child(child)
        if self.tracker is not None:
            self.tracker.poll(set())        # orphans adopted at the last moment, then the rest
            self.tracker.stop_strays(STOP_HURRY)
            self.tracker.close()
        if self.capture is not None:
            self.capture.wait_drained([c.spec.name for c in nodes], CAPTURE_DRAIN_TIMEOUT)
            self.capture.stop(CAPTURE_DRAIN_TIMEOUT)
        for child in self.children:
            if child.output_file is not None:
                child.output_file.close()

    def stop_child(self, child: Child) -> None:
        """SIGTERM to the child's process group and every process of its unit (also those that
        appear meanwhile), SIGKILL after the grace period; reaps the child."""
        child.restart_at = None
        if child.probe is not None:
            child.probe.close()
            child.probe = None
        process = child.process
        if process is None:
            return
        was_running = process.poll() is None
        if self.remaining(child):
            self.set_state(child, "STOPPING", f"stopping (pid {process.pid})")
            signal_group(process.pid, signal.SIGTERM)
            told = set(self.tracker.members(child.unit))
            signal_pids(told, signal.SIGTERM)
            grace = STOP_TIMEOUT
            deadline = time.monotonic() + grace
            while self.remaining(child):
                newcomers = set(self.tracker.members(child.unit)) - told
                signal_pids(newcomers, signal.SIGTERM)
                told |= newcomers
                if self.hurry and grace > STOP_HURRY:   # a second stop signal
                    grace = STOP_HURRY
                    deadline = min(deadline, time.monotonic() + grace)
                if time.monotonic() >= deadline:
                    say(f"cantina: {child.spec.name} did not stop within {grace:g} s; killing it")
                    signal_group(process.pid, signal.SIGKILL)
                    self.tracker.signal(child.unit, signal.SIGKILL)
                    process.wait()
                    break
                time.sleep(POLL_INTERVAL)
        self.leftovers.pop(child.unit, None)
        self.tracker.ended_unit(child.unit)
        if was_running:
            say(f"cantina: stopped {child.spec.name} (pid {process.pid}, {describe_exit(process.returncode)})")
        if child.state not in ("FATAL", "STOPPED"):
            self.set_state(child, "STOPPED", f"stopped by the supervisor ({describe_exit(process.returncode)})")

    # ------------------------------------------------------------ reporting

    def report_start_failure(self, message: str) -> None:
        """Prints why start-up failed, with the last output of the child that failed."""
        lines = [f"cantina: start-up failed: {message}"]
        failing = self.starting
        if failing and failing.process and failing.log_path.is_file():
            lines.append(f"cantina: last lines of {failing.log_path}:")
            lines += [f"    | {line}" for line in tail_lines(failing.log_path)] or ["    (no output)"]
        say("\n".join(lines), sys.stderr)

    def state(self) -> dict:
        """The state file's content: who supervises what, with which config, in which state."""
        children = []
        for child in self.children:
            entry = {"name": child.spec.name, "kind": child.spec.kind, "state": child.state,
                     "message": child.message, "since": child.since,
                     "pid": child.process.pid if child.running else None,
                     "start_ticks": child.start_ticks if child.running else None,
                     "started": child.started, "started_at": child.started_at if child.running else None,
                     "starts": child.starts, "restarts": child.restarts, "output": str(child.log_path)}
            if child.spec.kind == "service" and child.spec.capture:
                entry["captured_lines"] = child.capture_stats["lines"]
                entry["captured_dropped"] = self.reporter.dropped(child.spec.name) if self.reporter else 0
            children.append(entry)
        return {"supervisor_pid": os.getpid(), "supervisor_start_ticks": proc_stat(os.getpid())[2],
                "started_at": self.started_at, "config": str(self.config_path), "ready": self.ready,
                "detached": self.detached, "session_file": self.session_file, "dashboard": self.dashboard,
                "state_dir": str(STATE_DIR), "bus_problem": self.reporter.problem if self.reporter else "",
                "tracking": self.tracker.describe() if self.tracker else None,
                "children": children}

    def write_state(self) -> None:
        """Writes the state file atomically."""
        self.last_state_write = time.monotonic()
        save_state(self.state())
