"""Every process a supervised child starts, so that stopping the child stops them all, a daemon
that left the child's process group and session (setsid, a double fork) included.

Each incarnation of a child is a unit ("demo.3": the third start of demo). The way units are
followed is chosen once per supervisor:

- cgroup, when a cgroup v2 hierarchy is mounted and this process may create a cgroup below its
  own: every unit runs in <own cgroup>/cantina-<run id>/<unit>, which the child joins before
  exec, so whatever it starts is in it and cannot leave it. The members are cgroup.procs;
  SIGKILL is cgroup.kill. Empty unit cgroups are removed as their incarnations end, the run's
  at the end.
- proc, otherwise (or with CANTINA_TRACKING=proc): the supervisor becomes a child subreaper
  (PR_SET_CHILD_SUBREAPER), so a descendant orphaned by a double fork becomes its child rather
  than init's. Every TRACK_INTERVAL the children of each unit's processes are read from
  /proc/<pid>/task/*/children and recorded (pid and start time) as they appear; an adopted
  orphan not recorded yet is given to the unit its environment names (every child gets
  CANTINA_SUPERVISED=<run id>/<unit>), else kept as a stray and stopped at the end.

`describe()` is kept in the state file, so that `down` can stop what a killed supervisor's
units left (cleanup_after).
"""

import ctypes
import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable

from .messages import say
from .processes import proc_stat, process_alive

STRAY = "(unattributed)"          # proc: adopted orphans whose unit is unknown
CGROUP_RELEASE_TIMEOUT = 3.0      # s for the cgroups of stopped units to become removable
ENV_MARKER = "CANTINA_SUPERVISED"  # <run id>/<unit>, in every child's environment
PR_SET_CHILD_SUBREAPER = 36


def children_of(pid: int) -> list[int]:
    """The direct children of every thread of process `pid` (/proc/<pid>/task/*/children)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            pass
    return found


def environment_marker(pid: int) -> str | None:
    """The CANTINA_SUPERVISED value in the environment process `pid` started with, if any."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            for entry in environ.read().split(b"\0"):
                if entry.startswith(ENV_MARKER.encode() + b"="):
                    return entry.split(b"=", 1)[1].decode(errors="replace")
    except OSError:
        pass
    return None


def signal_pids(pids, signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def cgroup2_base() -> Path | None:
    """This process's own cgroup in the cgroup v2 hierarchy, if one is mounted and visible."""
    try:
        mount = next((line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
                      if " - cgroup2 " in line), None)
        own = next((line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines()
                    if line.startswith("0::")), None)
    except OSError:
        return None
    if mount is None or own is None:
        return None
    base = Path(mount) / own.lstrip("/")
    try:   # a cgroup namespace or an odd mount may hide our own cgroup: then it is not usable
        return base if str(os.getpid()) in (base / "cgroup.procs").read_text().split() else None
    except OSError:
        return None


class Tracker:
    """Follows the processes of every unit (see the module docstring)."""

    def __init__(self, run_id: str, cgroup_dir: Path | None):
        self.run_id = run_id
        self.cgroup_dir = cgroup_dir              # <own cgroup>/cantina-<run id>, or None: proc mode
        self.mode = "cgroup" if cgroup_dir else "proc"
        self.units: dict[str, dict[int, int]] = {}  # proc: unit -> {pid: start ticks}
        self.ended: set[str] = set()              # units whose incarnation ended (removed once empty)

    @classmethod
    def create(cls, run_id: str) -> "Tracker":
        """A cgroup tracker if one can be made here (a test child must join it), else proc."""
        base = cgroup2_base() if os.environ.get("CANTINA_TRACKING", "auto") != "proc" else None
        if base is not None:
            run_dir = base / f"cantina-{run_id}"
            try:
                run_dir.mkdir()
                if cls._can_join(run_dir / "probe"):
                    return cls(run_id, run_dir)
                run_dir.rmdir()
            except OSError:
                pass
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        return cls(run_id, None)

    @staticmethod
    def _can_join(cgroup: Path) -> bool:
        """Whether a child of ours can move itself into a new cgroup (tried with a fork)."""
        cgroup.mkdir()
        try:
            pid = os.fork()
            if pid == 0:   # the child: only os calls, then _exit
                try:
                    fd = os.open(cgroup / "cgroup.procs", os.O_WRONLY)
                    os.write(fd, b"0")
                    os._exit(0)
                except BaseException:  # noqa: BLE001
                    os._exit(1)
            return os.waitpid(pid, 0)[1] == 0
        finally:
            cgroup.rmdir()

    # ------------------------------------------------------------ starting a unit

    def preexec(self, unit: str) -> Callable[[], None] | None:
        """In cgroup mode, makes the unit's cgroup and returns what the child runs before exec to
        join it (OSError if the cgroup cannot be made); None in proc mode."""
        if self.cgroup_dir is None:
            return None
        procs = self.cgroup_dir / unit / "cgroup.procs"
        procs.parent.mkdir(exist_ok=True)

        def join() -> None:
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)
        return join

    def started(self, unit: str, pid: int) -> None:
        """Records the unit's first process (spawned with preexec(unit) and the environment marker)."""
        if self.cgroup_dir is None:
            stat = proc_stat(pid)
            self.units.setdefault(unit, {})[pid] = stat[2] if stat else 0

    def environment(self, unit: str) -> dict[str, str]:
        """The environment variable every process of `unit` carries."""
        return {ENV_MARKER: f"{self.run_id}/{unit}"}

    # ------------------------------------------------------------ following

    def poll(self, direct: set[int]) -> None:
        """proc mode: records the new descendants of every unit and the orphans adopted since the
        last poll (`direct`: the supervisor's own children, which are not orphans), and reaps
        adopted orphans that exited. cgroup mode: removes the cgroups of ended, empty units."""
        if self.cgroup_dir is not None:
            for unit in list(self.ended):
                if not self.members(unit):
                    self._remove_cgroup(unit)
            return
        for unit in self.units:
            self._record_descendants(unit)
        for pid in children_of(os.getpid()):
            if pid in direct:
                continue
            stat = proc_stat(pid)
            if stat is None:
                continue
            if stat[0] in "ZX":   # an adopted orphan that exited: reap it (no one else will)
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                continue
            if not any(pid in processes for processes in self.units.values()):
                marker = environment_marker(pid) or ""
                run, _, unit = marker.partition("/")
                owner = unit if run == self.run_id and unit in self.units else STRAY
                self.units.setdefault(owner, {})[pid] = stat[2]
        for unit in list(self.ended):
            if not self.members(unit, refresh=False):
                self.ended.discard(unit)
                self.units.pop(unit, None)

    def _record_descendants(self, unit: str) -> None:
        processes = self.units[unit]
        pending = [pid for pid, ticks in processes.items() if process_alive(pid, ticks)]
        while pending:
            for child in children_of(pending.pop()):
                if child not in processes:
                    stat = proc_stat(child)
                    if stat is not None:
                        processes[child] = stat[2]
                        pending.append(child)

    def members(self, unit: str, refresh: bool = True) -> list[int]:
        """The unit's live processes (zombies excluded), its main process included while it runs."""
        if self.cgroup_dir is not None:
            try:
                return [int(pid) for pid in (self.cgroup_dir / unit / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                return []
        if unit not in self.units:
            return []
        if refresh:
            self._record_descendants(unit)
        return [pid for pid, ticks in self.units[unit].items() if process_alive(pid, ticks)]

    # ------------------------------------------------------------ stopping

    def signal(self, unit: str, signum: int) -> None:
        """Sends `signum` to every live process of the unit."""
        if signum == signal.SIGKILL and self.cgroup_dir is not None:
            try:
                (self.cgroup_dir / unit / "cgroup.kill").write_text("1")
                return
            except OSError:
                pass   # a kernel before 5.14: one by one
        signal_pids(self.members(unit), signum)

    def ended_unit(self, unit: str) -> None:
        """The unit's incarnation is over: forget it (remove its cgroup) once nothing of it is left."""
        self.ended.add(unit)

    def _remove_cgroup(self, unit: str) -> None:
        try:
            (self.cgroup_dir / unit).rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            return
        self.ended.discard(unit)

    def stop_strays(self, timeout: float) -> None:
        """proc mode, at the very end: stops the adopted orphans no unit claimed, and any process
        still carrying this run's environment marker (SIGTERM, SIGKILL after `timeout`)."""
        if self.cgroup_dir is not None:
            return
        strays = set(self.members(STRAY)) | set(marked_processes(self.run_id))
        terminate_all(strays, timeout)

    def close(self) -> None:
        """Removes the run's cgroups (stop every unit first; a cgroup whose last processes are
        still exiting is waited for, at most CGROUP_RELEASE_TIMEOUT)."""
        if self.cgroup_dir is not None:
            remove_cgroups(self.cgroup_dir)

    def describe(self) -> dict:
        """What `down` needs to stop the units' processes if the supervisor is killed."""
        if self.cgroup_dir is not None:
            return {"mode": "cgroup", "run_id": self.run_id, "cgroup": str(self.cgroup_dir)}
        return {"mode": "proc", "run_id": self.run_id,
                "processes": [[pid, ticks] for processes in self.units.values() for pid, ticks in processes.items()
                              if process_alive(pid, ticks)]}


def remove_cgroups(run_dir: Path) -> None:
    """Removes a run's unit cgroups, then the run's: a cgroup stays busy until its last
    processes have been reaped, so each is retried for at most CGROUP_RELEASE_TIMEOUT in all."""
    deadline = time.monotonic() + CGROUP_RELEASE_TIMEOUT
    try:
        folders = [path for path in run_dir.iterdir() if path.is_dir()] + [run_dir]
    except OSError:
        return
    for folder in folders:
        while True:
            try:
                folder.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() >= deadline:
                    say(f"cantina: cannot remove the cgroup {folder} (still in use)", sys.stderr)
                    return
                time.sleep(0.02)


def marked_processes(run_id: str) -> list[int]:
    """Live processes whose environment carries this run's marker (started under it)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            marker = environment_marker(int(entry))
            stat = proc_stat(int(entry)) if marker else None
            if marker and marker.startswith(run_id + "/") and stat and stat[0] not in "ZX":
                found.append(int(entry))
    return found


def terminate_all(pids, timeout: float) -> None:
    """SIGTERM to `pids`, SIGKILL to those still alive after `timeout` s."""
    pids = [pid for pid in pids if process_alive(pid)]
    signal_pids(pids, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    signal_pids([pid for pid in pids if process_alive(pid)], signal.SIGKILL)


def cleanup_after(description: dict, timeout: float) -> list[int]:
    """`down` after a killed supervisor: stops what its units left (the description it kept in the
    state file) and removes its cgroups. Returns the pids it stopped."""
    if description.get("mode") == "cgroup":
        run_dir = Path(description["cgroup"])
        units = [path for path in run_dir.iterdir() if path.is_dir()] if run_dir.is_dir() else []
        pids = []
        for unit_dir in units:
            try:
                pids += [int(pid) for pid in (unit_dir / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                pass
        terminate_all(pids, timeout)
        for unit_dir in units:
            try:
                (unit_dir / "cgroup.kill").write_text("1")
            except OSError:
                pass
        remove_cgroups(run_dir)
        return pids
    recorded = [pid for pid, ticks in description.get("processes", []) if process_alive(pid, ticks)]
    pids = sorted(set(recorded) | set(marked_processes(description.get("run_id", "?"))))
    terminate_all(pids, timeout)
    return pids
