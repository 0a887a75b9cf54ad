"""measure: what a run costs, read from /proc (Linux only).

Per-thread and per-process CPU time of a child, its memory, and how busy the rest of the
machine was: the figures every scenario reports. Standard library only; imports nothing
else of the harness (OthersWindow only reads `stack.processes` of the Stack it is given).
"""

import os
import resource
import time


def thread_cpu(pid):
    """{thread label: cpu ns} for the live threads of `pid`. Unnamed threads (those that
    carry the process name) are told apart by creation order: "cantina-logd[1]"..."""
    result = {}
    try:
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return result
    seen = {}
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
        except OSError:
            continue
        index = seen.get(comm, 0)
        seen[comm] = index + 1
        result[f"{comm}[{index}]"] = ns
    return result


def thread_switches(pid):
    """{thread label (as thread_cpu names it): voluntary context switches} for the live threads
    of `pid`. A thread that sleeps and is woken switches out once voluntarily: the difference
    over a window is its wake-ups."""
    result = {}
    try:
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return result
    seen = {}
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                switches = next(int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches"))
        except (OSError, StopIteration):
            continue
        index = seen.get(comm, 0)
        seen[comm] = index + 1
        result[f"{comm}[{index}]"] = switches
    return result


def process_cpu_ns(pid):
    """CPU ns of `pid` (all threads, including ones that ended), from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def memory(pid):
    """{"rss_anon_kb", "vm_rss_kb", "vm_hwm_kb"} of `pid` from /proc/<pid>/status."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("RssAnon", "VmRSS", "VmHWM", "RssFile"):
                    out[{"RssAnon": "rss_anon_kb", "VmRSS": "vm_rss_kb", "VmHWM": "vm_hwm_kb",
                         "RssFile": "rss_file_kb"}[key]] = int(value.split()[0])
    except OSError:
        pass
    return out


def machine_busy_ns():
    """CPU ns used by everything on the machine so far (all CPUs, from /proc/stat)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    busy = sum(values) - values[3] - values[4]  # minus idle and iowait
    return busy * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


class OthersWindow:
    """How much of the machine processes other than this benchmark used during a run:
    the machine's busy time minus this process, its finished children and the live ones."""

    def __init__(self, stack):
        self.stack = stack

    def _ours(self):
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = (own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime) * 1e9
        live = sum(process_cpu_ns(p.pid) or 0 for p in self.stack.processes if p.popen.poll() is None)
        return done + live

    def start(self):
        self.begin = (machine_busy_ns(), self._ours(), time.monotonic())
        return self

    def percent_of_machine(self):
        """Busy time of other processes as a % of all CPUs over the window."""
        busy, ours, t = machine_busy_ns(), self._ours(), time.monotonic()
        others = (busy - self.begin[0]) - (ours - self.begin[1])
        return max(0.0, 100.0 * others / 1e9 / max(t - self.begin[2], 1e-9) / (os.cpu_count() or 1))


class CpuWindow:
    """CPU used by a process between start() and stop(), in total and per thread; and its
    threads' wake-ups (voluntary context switches) over the same window."""

    def __init__(self, pid):
        self.pid = pid
        self.begin_threads = {}
        self.end_threads = {}
        self.begin_switches = {}
        self.end_switches = {}
        self.begin_time = self.end_time = 0.0

    def start(self):
        self.begin_threads = thread_cpu(self.pid)
        self.begin_switches = thread_switches(self.pid)
        self.begin_time = time.monotonic()
        return self

    def stop(self):
        self.end_threads = thread_cpu(self.pid)
        self.end_switches = thread_switches(self.pid)
        self.end_time = time.monotonic()
        return self

    def seconds(self):
        return self.end_time - self.begin_time

    def per_thread_percent(self):
        wall = max(self.seconds(), 1e-9)
        return {name: 100.0 * (ns - self.begin_threads.get(name, 0)) / 1e9 / wall
                for name, ns in sorted(self.end_threads.items())}

    def percent(self):
        return sum(self.per_thread_percent().values())

    def ns(self):
        """CPU ns used in the window by the threads alive at its end."""
        return sum(ns - self.begin_threads.get(name, 0) for name, ns in self.end_threads.items())

    def per_thread_ns(self):
        return {name: ns - self.begin_threads.get(name, 0) for name, ns in sorted(self.end_threads.items())}

    def per_thread_wakeups_per_second(self):
        wall = max(self.seconds(), 1e-9)
        return {name: (n - self.begin_switches.get(name, 0)) / wall for name, n in sorted(self.end_switches.items())}

    def wakeups_per_second(self):
        """Wake-ups a second of all the threads alive at the end of the window."""
        return sum(self.per_thread_wakeups_per_second().values())
