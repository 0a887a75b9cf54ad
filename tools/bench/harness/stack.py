"""stack: the processes of one benchmark run.

Process is one child with its output in a file; Stack is cantina-busd for the whole
scenario, cantina-logd and cantina-webbridge started on demand, and the benchmark tools
(cantina-bench-load, -raw, -ws), all on ephemeral loopback ports and ipc endpoints in one
temporary directory, all stopped by close().
"""

import json
import re
import signal
import subprocess
import time
from pathlib import Path

from .common import BenchError

PROCESS_TIMEOUT = 30.0   # s for a process to print its ready line or to exit


class Process:
    """A child whose stdout and stderr go to a file; killed if still running at close()."""

    def __init__(self, argv, output, name, env=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.output_path = Path(output)
        self._file = open(self.output_path, "wb")
        self.popen = subprocess.Popen(self.argv, stdout=self._file, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env)
        self.pid = self.popen.pid

    def output(self):
        try:
            return self.output_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for(self, pattern, timeout=PROCESS_TIMEOUT):
        """The first match of regex `pattern` in the output; BenchError on exit or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.output(), re.M)
            if match:
                return match
            if self.popen.poll() is not None:
                match = re.search(pattern, self.output(), re.M)
                if match:
                    return match
                raise BenchError(f"{self.name} exited ({self.popen.returncode}) before printing "
                                 f"/{pattern}/:\n{self.output()[-2000:]}")
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name} did not print /{pattern}/ within {timeout} s:\n"
                                 f"{self.output()[-2000:]}")
            time.sleep(0.01)

    def result(self, timeout=PROCESS_TIMEOUT * 4):
        """The JSON of the `result {...}` line, once the process has exited."""
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise BenchError(f"{self.name} did not finish within {timeout} s:\n{self.output()[-2000:]}")
        match = re.search(r"^result (\{.*\})$", self.output(), re.M)
        if not match:
            raise BenchError(f"{self.name} exited ({self.popen.returncode}) without a result:\n"
                             f"{self.output()[-2000:]}")
        return json.loads(match.group(1))

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._file.close()
        return self.popen.returncode

    def close(self):
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        self._file.close()


# [logging] settings that turn retention's limits off.
RETENTION_OFF = "max_total_bytes = 0\nmax_sessions = 0\nmax_age_days = 0\nmin_free_bytes = 0\n"


class Stack:
    """cantina-busd for the whole scenario; cantina-logd and cantina-webbridge on demand;
    all in one temporary directory, all stopped by close()."""

    def __init__(self, bin_dir, work_dir, perf=None, webbridge_settings="", logging_settings="", bus_settings=""):
        self.bin_dir = Path(bin_dir)
        self.dir = Path(work_dir)
        self.processes = []
        self.counter = 0
        self.perf = perf  # (process name, output file, perf record options) or None
        for name in ("cantina-busd", "cantina-logd", "cantina-webbridge", "cantina-bench-load",
                     "cantina-bench-raw", "cantina-bench-ws"):
            if not (self.bin_dir / name).exists():
                raise BenchError(f"{self.bin_dir / name} is missing: build the cantina-bench target "
                                 f"(cmake --build BUILD --target cantina-bench)")
        self.config = self.dir / "bench.toml"
        self.config.write_text("")  # busd takes its endpoints from the command line
        self.busd = self.spawn("busd", ["cantina-busd", "--config", self.config,
                                        "--publish", "tcp://127.0.0.1:*", "--subscribe", "tcp://127.0.0.1:*"])
        self.publish = self.busd.wait_for(r"publish endpoint (\S+)").group(1)
        self.subscribe = self.busd.wait_for(r"subscribe endpoint (\S+)").group(1)
        (self.dir / "logs").mkdir(mode=0o750)  # private, as the node makes it (else it warns)
        self.config.write_text(
            "# written by tools/bench/bench.py\n"
            "[bus]\n"
            f'publish_endpoint = "{self.publish}"\n'
            f'subscribe_endpoint = "{self.subscribe}"\n' + bus_settings +
            "[logging]\n"
            f'session_file_path = "{self.dir / "logs"}"\n'
            f'query_endpoint = "ipc://{self.dir / "query.ipc"}"\n' + logging_settings +
            "[webbridge]\n"
            'listen = "127.0.0.1:0"\n' + webbridge_settings)
        self.logd = None
        self.webbridge = None
        self.port = None

    def spawn(self, name, argv):
        """Starts an executable of --bin-dir: argv[0] is its name."""
        return self.spawn_command(name, [self.bin_dir / argv[0]] + list(argv[1:]))

    def spawn_command(self, name, argv, env=None):
        """Starts `argv` as it is (with `env`, else this environment), its output in the work dir."""
        self.counter += 1
        process = Process(argv, self.dir / f"{self.counter:04d}-{name}.out", name, env)
        self.processes.append(process)
        return process

    def config_variant(self, name, logging_lines, session_dir=None):
        """A copy of the config, `name` in the work dir, with `logging_lines` first in its
        [logging] table and, given `session_dir`, that session folder. Returns its path."""
        text = self.config.read_text()
        if session_dir is not None:
            text = re.sub(r'session_file_path = "[^"]*"', f'session_file_path = "{session_dir}"', text)
        path = self.dir / name
        path.write_text(text.replace("[logging]\n", "[logging]\n" + logging_lines, 1))
        return path

    def start_logd(self, config=None):
        """A cantina-logd with the stack's config (or `config`); returns its session file."""
        self.logd = self.spawn("logd", ["cantina-logd", "--config", config or self.config])
        session = Path(self.logd.wait_for(r"session file (\S+)").group(1))
        return session

    def stop_logd(self):
        """SIGTERM; the node drains and writes everything it accepted. Returns its
        "N lines written" count."""
        self.logd.stop(signal.SIGTERM, timeout=120)
        match = re.search(r"stopped, (\d+) lines written", self.logd.output())
        if not match:
            raise BenchError(f"cantina-logd did not stop cleanly:\n{self.logd.output()[-2000:]}")
        self.logd = None
        return int(match.group(1))

    def start_webbridge(self):
        self.webbridge = self.spawn("webbridge", ["cantina-webbridge", "--config", self.config])
        self.port = int(self.webbridge.wait_for(r"listening on http://127\.0\.0\.1:(\d+)").group(1))
        return self.port

    def stop_webbridge(self):
        if self.webbridge:
            self.webbridge.stop(signal.SIGTERM)
            self.webbridge = None

    def tool(self, name, *args):
        """Starts a benchmark tool: "raw" (cantina-bench-raw, mode first in `args`), "ws"
        (cantina-bench-ws) or a mode of cantina-bench-load."""
        args = [str(a) for a in args]
        if name == "raw":
            return self.spawn(f"raw-{args[0]}", ["cantina-bench-raw"] + args)
        if name == "ws":
            return self.spawn("ws", ["cantina-bench-ws"] + args)
        return self.spawn(name, ["cantina-bench-load", name] + args)

    def perf_start(self, process_name, pid):
        """perf record -g on `pid` if --perf asked for `process_name`."""
        if not self.perf or self.perf[0] != process_name:
            return None
        return subprocess.Popen(["perf", "record"] + self.perf[2].split() + ["-p", str(pid), "-o", self.perf[1]],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @staticmethod
    def perf_stop(perf):
        if perf is not None:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=60)

    def close(self):
        for process in reversed(self.processes):
            if process is self.busd:
                continue
            process.close()
        self.busd.stop(signal.SIGTERM, timeout=10)
