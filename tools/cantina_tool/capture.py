"""Captured output: the stdout and stderr lines of every service, read by one thread, written
to <state dir>/<name>.out and published as the service's log records at the level a line
announces."""

import os
import re
import selectors
import sys
import threading

from cantina_logging import DEBUG, INFO, WARNING, ERROR, CRITICAL   # tools/python (see constants)

from .messages import say

# Level words a line may start with (case-insensitive), optionally after a timestamp and
# inside brackets: "ERROR: x", "[warn] x", "Info - x", "2026-11-26 17:53:20,584 ERROR x".
LEVEL_WORDS = {b"trace": DEBUG, b"debug": DEBUG, b"info": INFO, b"notice": INFO, b"warn": WARNING,
               b"warning": WARNING, b"err": ERROR, b"error": ERROR, b"crit": CRITICAL, b"critical": CRITICAL,
               b"fatal": CRITICAL, b"panic": CRITICAL}
LEVEL_PREFIX = re.compile(
    rb"\s*(?:\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\s+)?"
    rb"[\[(<]?(" + b"|".join(sorted(LEVEL_WORDS, key=len, reverse=True)) + rb")[\])>]?(?=[\s:|\]-]|$)",
    re.IGNORECASE)
GLOG_PREFIX = re.compile(rb"([DIWEF])\d{4} \d\d:\d\d:\d\d")          # E1126 17:53:20.584440 ...
SYSLOG_PREFIX = re.compile(rb"<([0-7])>")                              # <3>... (sd-daemon)
GLOG_LEVELS = {b"D": DEBUG, b"I": INFO, b"W": WARNING, b"E": ERROR, b"F": CRITICAL}
SYSLOG_LEVELS = [CRITICAL, CRITICAL, CRITICAL, ERROR, WARNING, INFO, INFO, DEBUG]
MAX_LINE_BYTES = 65536      # a longer run of output without a newline is published in pieces


def line_level(line: bytes, default: int) -> int:
    """The level a captured line announces at its start ("ERROR:", "[warn]", "E1126 ...", "<3>"), else default."""
    match = LEVEL_PREFIX.match(line)
    if match:
        return LEVEL_WORDS[match.group(1).lower()]
    match = GLOG_PREFIX.match(line) or SYSLOG_PREFIX.match(line)
    if match:
        code = match.group(1)
        return GLOG_LEVELS[code] if code.isalpha() else SYSLOG_LEVELS[int(code)]
    return default


class CapturedStream:
    """One output pipe (stdout or stderr) of one incarnation of a service, split into lines."""

    def __init__(self, output: "CapturedOutput", name: str, default_level: int):
        self.output, self.name, self.default_level = output, name, default_level
        self.partial = b""

    def feed(self, data: bytes) -> None:
        """Takes bytes read from the pipe; publishes every complete line."""
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            self.publish(line)
        while len(self.partial) > MAX_LINE_BYTES:
            self.publish(self.partial[:MAX_LINE_BYTES])
            self.partial = self.partial[MAX_LINE_BYTES:]

    def finish(self) -> None:
        """At end of file: publishes a last line that had no newline."""
        if self.partial:
            self.publish(self.partial)
            self.partial = b""

    def publish(self, line: bytes) -> None:
        line = line.rstrip(b"\r")
        if not line.strip():
            return
        output = self.output
        output.stats["lines"] += 1
        if output.logger is not None:
            output.logger.log(line_level(line, self.default_level), line, logger_name=self.name,
                              thread=output.thread_label)


class CapturedOutput:
    """The stdout and stderr pipes of one incarnation of a service and its .out file."""

    def __init__(self, service: str, pid: int, program: str, out_file, logger, stats: dict):
        self.service, self.pid = service, pid
        self.thread_label = f"{program[:15]}:{pid}"   # like the Logger's "name:tid" of the main thread
        self.out_file = out_file                       # unbuffered; closed when both pipes reach EOF
        self.logger = logger                           # cantina_logging.BusLogger or None
        self.stats = stats                             # shared per service: {"lines": n}
        self.open_pipes = 0


class OutputCapture(threading.Thread):
    """Reads the output pipes of every supervised service as soon as there is data.

    One thread with a selector: a child never blocks on a full pipe because of the bus
    (publishing is a queue push into the service's BusLogger, which drops and counts when
    full) and the bytes also go to <state dir>/<name>.out. Pipes are added by the main
    thread (add()); the thread ends after stop(), once the pipes were read to the end or
    it gave up on them.
    """

    def __init__(self):
        super().__init__(name="capture", daemon=True)
        self.selector = selectors.DefaultSelector()
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        os.set_blocking(self.wake_write, False)
        self.selector.register(self.wake_read, selectors.EVENT_READ, None)
        self.lock = threading.Condition()
        self.incoming: list[tuple[int, CapturedStream]] = []   # guarded by lock
        self.open_pipes: dict[str, int] = {}                    # service -> pipes not at EOF; guarded
        self.stopping = False                                   # guarded by lock

    def add(self, output: CapturedOutput, stdout_fd: int, stderr_fd: int) -> None:
        """Hands the read ends of a new child's pipes to the thread (which closes them)."""
        with self.lock:
            for fd, stream in ((stdout_fd, CapturedStream(output, "stdout", INFO)),
                               (stderr_fd, CapturedStream(output, "stderr", WARNING))):
                os.set_blocking(fd, False)
                self.incoming.append((fd, stream))
            output.open_pipes = 2
            self.open_pipes[output.service] = self.open_pipes.get(output.service, 0) + 2
        self.wake()

    def wake(self) -> None:
        try:
            os.write(self.wake_write, b"x")
        except BlockingIOError:
            pass

    def wait_drained(self, services: list[str], timeout: float) -> bool:
        """Waits until the pipes of `services` reached end of file (their processes are gone)."""
        with self.lock:
            return self.lock.wait_for(lambda: all(self.open_pipes.get(name, 0) == 0 for name in services), timeout)

    def stop(self, timeout: float) -> None:
        """Reads what is left, closes every pipe and ends the thread."""
        with self.lock:
            self.stopping = True
        self.wake()
        self.join(timeout)

    def run(self) -> None:
        while True:
            with self.lock:
                for fd, stream in self.incoming:
                    self.selector.register(fd, selectors.EVENT_READ, stream)
                self.incoming.clear()
                stopping = self.stopping
            events = self.selector.select(timeout=0 if stopping else 1.0)
            for key, _ in events:
                if key.data is None:
                    self.drain_wake_pipe()
                else:
                    self.read(key.fd, key.data)
            if stopping and not any(key.data is not None for key, _ in events):
                break
        for key in list(self.selector.get_map().values()):   # given up on (a grandchild holds them open)
            if key.data is not None:
                self.close_pipe(key.fd, key.data)

    def drain_wake_pipe(self) -> None:
        try:
            while os.read(self.wake_read, 4096):
                pass
        except BlockingIOError:
            pass

    def read(self, fd: int, stream: CapturedStream) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close_pipe(fd, stream)
            return
        try:
            stream.output.out_file.write(data)
        except (OSError, ValueError):
            pass   # a full disk must not stop the capture
        try:
            stream.feed(data)
        except Exception as error:  # noqa: BLE001 - the capture thread must go on
            say(f"cantina: capturing {stream.output.service}: {error}", sys.stderr)

    def close_pipe(self, fd: int, stream: CapturedStream) -> None:
        stream.finish()
        self.selector.unregister(fd)
        os.close(fd)
        output = stream.output
        output.open_pipes -= 1
        if output.open_pipes == 0:
            try:
                output.out_file.close()
            except OSError:
                pass
        with self.lock:
            self.open_pipes[output.service] -= 1
            self.lock.notify_all()
