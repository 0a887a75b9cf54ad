"""The commands around the supervisor: `up` (in the foreground or detached), `down`, `status`
and `restart NAME` (a request file plus SIGUSR1 to the running supervisor)."""

import json
import os
import signal
import sys
import time

from .building import build, run_setup
from .config import load_config
from .constants import DOWN_CHILD_TIMEOUT, DOWN_SUPERVISOR_TIMEOUT, RESTART_TIMEOUT, STATE_DIR, STATE_FILE
from .detach import launch_detached
from .errors import CantinaError, NothingRunning, StillStarting, StopRequested
from .lock import SupervisorLock, lock_holder, running_state
from .messages import format_duration, say, tool_command
from .processes import process_alive, terminate_pid, wait_until
from .state import leftover_children, read_state, write_private
from .supervisor import Supervisor
from .tracking import cleanup_after


def stop_signals_raise() -> None:
    """Until the supervisor installs its own handlers: SIGTERM or SIGHUP (e.g. from `down`) while
    `up` builds or waits for a detached supervisor ends it cleanly (StopRequested)."""
    def handler(signum, frame):
        raise StopRequested(signal.Signals(signum).name)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)


def cmd_up(args) -> int:
    """`up`: takes the supervisor lock (refusing if another supervisor holds it, or if processes of
    a killed one still run), builds if needed, validates the config, then supervises."""
    if args.supervise_detached:
        lock = SupervisorLock.inherit(args.lock_fd)
        try:
            return Supervisor(args.config, load_config(args.config), detached=True,
                              services_only=args.services_only, lock=lock).run()
        finally:
            lock.release()
    stop_signals_raise()
    lock = SupervisorLock.acquire(args.config, detached=args.detach)
    try:
        leftovers = leftover_children(read_state() or {"children": []})
        if leftovers:
            raise CantinaError("processes of a previous run still run: " + ", ".join(leftovers)
                               + f"; stop them first with: {tool_command('down')}")
        if not os.environ.get("CANTINA_BIN_DIR"):
            run_setup()
            build()
        config = load_config(args.config)
        if args.detach:
            return launch_detached(args.config, args.services_only, lock)
        return Supervisor(args.config, config, detached=False, services_only=args.services_only, lock=lock).run()
    except StopRequested as stop:
        say(f"cantina: received {stop} while starting; stopped", sys.stderr)
        return 1
    finally:
        lock.release()


def cmd_down(args) -> int:
    """`down`: stops the supervisor that holds the lock (also one still starting) and waits until it
    has stopped everything; then stops what a killed supervisor left behind."""
    holder = lock_holder()
    state = read_state()
    if not holder and not state:
        say("cantina: nothing is running")
        return 0
    stopped = []
    if holder:
        pid = holder.get("pid")
        starting = "; it is still starting" if holder.get("phase") == "starting" else ""
        say(f"cantina: stopping the supervisor (pid {pid}, config {holder.get('config')}{starting})")
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if not wait_until(lambda: lock_holder(0) is None, DOWN_SUPERVISOR_TIMEOUT):
            say(f"cantina: the supervisor did not exit within {DOWN_SUPERVISOR_TIMEOUT:g} s; killing it")
            if pid:
                terminate_pid(pid, None, 0)
            wait_until(lambda: lock_holder(0) is None, DOWN_CHILD_TIMEOUT)
        stopped.append(f"supervisor (pid {pid})")
        state = read_state() or state   # what it did not clean up, else what it ran
    for child in reversed((state or {}).get("children", [])):
        if not child.get("pid"):
            continue
        was_alive = process_alive(child["pid"], child.get("start_ticks"))
        if was_alive and not terminate_pid(child["pid"], child.get("start_ticks"), DOWN_CHILD_TIMEOUT):
            say(f"cantina: could not stop {child['name']} (pid {child['pid']})", sys.stderr)
            return 1
        if was_alive or stopped:
            stopped.append(f"{child['name']} (pid {child['pid']})")
    if (state or {}).get("tracking"):   # what the children started (daemons) if the supervisor could not stop it
        left = cleanup_after(state["tracking"], DOWN_CHILD_TIMEOUT)
        if left:
            stopped.append(f"{len(left)} processes the children had started (pids {', '.join(map(str, left))})")
    STATE_FILE.unlink(missing_ok=True)
    say("cantina: stopped " + ", ".join(stopped) if stopped
        else "cantina: nothing was running (removed a stale state file)")
    return 0


def cmd_status(args) -> int:
    """`status`: state, pid, uptime and restarts of every supervised process, from the state file."""
    try:
        state = running_state()
    except StillStarting as starting:
        if args.json:
            say(json.dumps({"running": True, "starting": True, "supervisor_pid": starting.holder.get("pid"),
                            "config": starting.holder.get("config"), "started_at": starting.holder.get("since"),
                            "children": []}, indent=2))
        else:
            say(f"cantina: {starting}")
        return 0
    except NothingRunning as nothing:
        if args.json:
            say(json.dumps({"running": False, "reason": str(nothing).removeprefix("cantina: ")}))
        else:
            say(str(nothing))
        return 3
    now = time.time()
    for child in state["children"]:
        child["uptime"] = now - child["started_at"] if child.get("started_at") else None
    if args.json:
        say(json.dumps(dict(state, running=True), indent=2))
        return 0
    lines = [f"cantina: supervisor pid {state['supervisor_pid']}, up {format_duration(now - state['started_at'])}"
             f"{'' if state['ready'] else ' (still starting)'}, config {state['config']}",
             f"  {'NAME':<20} {'STATE':<9} {'PID':>7}  {'UPTIME':>8}  {'RESTARTS':>8}  DETAIL"]
    for child in state["children"]:
        uptime = format_duration(child["uptime"]) if child["uptime"] is not None else "-"
        detail = child["message"]
        if child.get("captured_lines"):
            detail += f"; {child['captured_lines']} output lines captured"
            if child.get("captured_dropped"):
                detail += f", {child['captured_dropped']} not taken by the bus"
        lines.append(f"  {child['name']:<20} {child['state']:<9} {child['pid'] or '-':>7}  {uptime:>8}  "
                     f"{child['restarts']:>8}  {detail}")
    lines.append(f"Session file: {state['session_file']}")
    if state.get("dashboard"):
        lines.append(f"Dashboard: {state['dashboard']}")
    if state.get("bus_problem"):
        lines.append(f"Not published on the bus: {state['bus_problem']}")
    say("\n".join(lines))
    return 0


def cmd_restart(args) -> int:
    """`restart NAME`: asks the running supervisor to restart one process and waits for the outcome."""
    try:
        state = running_state()
    except NothingRunning as nothing:
        raise CantinaError(str(nothing).removeprefix("cantina: ")) from None
    names = [child["name"] for child in state["children"]]
    if args.name not in names:
        raise CantinaError(f"no supervised process is named '{args.name}' (there are: {', '.join(names)})")
    starts_before = next(c["starts"] for c in state["children"] if c["name"] == args.name)
    write_private(STATE_DIR / "requests" / f"{time.time_ns()}-{os.getpid()}.json", json.dumps({"restart": args.name}))
    os.kill(state["supervisor_pid"], signal.SIGUSR1)
    say(f"cantina: asked the supervisor (pid {state['supervisor_pid']}) to restart {args.name}")

    def outcome() -> dict | None:
        current = read_state()
        child = next((c for c in (current or {}).get("children", []) if c["name"] == args.name), None)
        if current is None or not process_alive(state["supervisor_pid"], state.get("supervisor_start_ticks")):
            return {"state": "GONE", "message": "the supervisor stopped"}
        if child and child["starts"] > starts_before and child["state"] != "STARTING":
            return child
        return None

    result: list[dict] = []
    if not wait_until(lambda: bool(result.append(outcome()) or result[-1]), RESTART_TIMEOUT):
        raise CantinaError(f"{args.name} was not running again within {RESTART_TIMEOUT:g} s "
                           "(see tools/cantina status)")
    child = result[-1]
    if child["state"] != "RUNNING":
        raise CantinaError(f"{args.name} did not start: {child['state']}: {child['message']}")
    say(f"cantina: restarted {args.name} (pid {child['pid']})")
    return 0
