"""Captured output: what every supervised process prints, read by one thread and written to
<state dir>/<name>.out (mode 0640, rotated to <name>.out.1 at [supervisor] capture_max_bytes);
a service's stdout and stderr are also published as its log records through the bus library's
LineReader, the same reader as `cantina-cli log --pipe` (the level a line announces, Python
tracebacks and indented lines as one record, a bounded wait and size)."""

import os
import selectors
import sys
import threading
import time
from pathlib import Path

import cantina_logging   # tools/python (see constants): the bus, and its LineReader
from cantina_logging import INFO, WARNING

from .messages import say

MAX_LINE_BYTES = 65536      # a longer line is counted in pieces (the reader cuts its own at the record cap)
FILE_MODE = 0o640           # output files: the owner and its group, like the session files


class OutputFile:
    """<state dir>/<name>.out of one supervised process, across its restarts: mode 0640, and
    renamed to <name>.out.1 (replacing the previous one) before it would grow past max_bytes,
    at the last line break that fits (a line that one read cut in two is finished first, so a
    file may pass max_bytes by the rest of that line, at most MAX_LINE_BYTES). Written by the
    capture thread; opened and closed by the supervisor's main thread (a lock orders them)."""

    def __init__(self, path: Path, max_bytes: int):
        self.path, self.max_bytes = path, max_bytes
        self.rotated = path.with_name(path.name + ".1")
        self.lock = threading.Lock()
        self.fd: int | None = None
        self.size = 0
        self.line_start = True         # the file ends with a line break (or is empty)
        self.failed = False            # one message per failure, not one per write

    def open(self, fresh: bool) -> None:
        """Opens the file (OSError if it cannot); `fresh` (a process's first start in this run)
        empties it and removes the .out.1 of an earlier run."""
        with self.lock:
            if self.fd is not None:
                return
            if fresh:
                self.rotated.unlink(missing_ok=True)
            self.fd = self._open(os.O_TRUNC if fresh else 0)

    def _open(self, extra_flags: int) -> int:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | extra_flags, FILE_MODE)
        try:
            if os.fstat(fd).st_mode & 0o7777 != FILE_MODE:
                os.fchmod(fd, FILE_MODE)   # an older file may have been made with a looser mode
            self.size = os.fstat(fd).st_size
            self.line_start = True     # whatever an earlier incarnation left, rotation may cut here
        except OSError:
            os.close(fd)
            raise
        return fd

    def write(self, data: bytes) -> None:
        """Appends `data`, rotating first where it would pass max_bytes; never raises (a full
        disk must not stop the capture: the first failure is said once on stderr)."""
        with self.lock:
            try:
                while data and self.fd is not None:
                    room = self.max_bytes - self.size
                    if len(data) > room:
                        cut = data.rfind(b"\n", 0, room) + 1 if room > 0 else 0
                        if cut == 0 and not self.line_start:   # finish the line a read cut in two
                            cut = data.find(b"\n", 0, max(room, 0) + MAX_LINE_BYTES) + 1
                        if cut == 0 and self.size == 0:
                            cut = room          # one line longer than the whole file: cut it
                        if cut > 0:
                            self._write_all(data[:cut])
                            data = data[cut:]
                        self._rotate()
                        continue
                    self._write_all(data)
                    data = b""
                self.failed = False
            except OSError as error:
                if not self.failed:
                    self.failed = True
                    say(f"cantina: cannot write {self.path}: {error}", sys.stderr)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            self.size += written
            self.line_start = view[written - 1] == 0x0A if written else self.line_start
            view = view[written:]

    def _rotate(self) -> None:
        os.replace(self.path, self.rotated)
        old, self.fd = self.fd, None
        os.close(old)
        self.fd = self._open(os.O_TRUNC)

    def close(self) -> None:
        with self.lock:
            if self.fd is not None:
                try:
                    os.close(self.fd)
                except OSError:
                    pass
                self.fd = None


class CapturedStream:
    """One output pipe of one incarnation of a process. A service's stdout or stderr goes through
    a LineReader into its BusLogger (publish); without one (no bus library) its lines are only
    counted; a node's output is only written to the file."""

    def __init__(self, output: "CapturedOutput", name: str, default_level: int, publish: bool,
                 max_record_bytes: int = 0):
        self.output, self.name, self.publish_lines = output, name, publish
        self.reader = None
        self.counted = 0          # lines of this stream already added to output.stats
        self.partial = b""        # without a reader: the bytes after the last newline
        if publish and output.logger is not None:
            try:
                self.reader = cantina_logging.LineReader(output.logger, default_level, logger_name=name,
                                                         thread=output.thread_label, max_record_bytes=max_record_bytes)
            except cantina_logging.BusError as error:
                say(f"cantina: {output.service}: {name} not published: {error}", sys.stderr)

    def feed(self, data: bytes) -> float | None:
        """Takes bytes read from the pipe; returns in how many seconds poll() is due (None: not)."""
        if not self.publish_lines:
            return None
        if self.reader is None:
            lines = (self.partial + data).split(b"\n")
            self.partial = lines.pop()
            self.count(sum(1 for line in lines if line.strip()))
            while len(self.partial) > MAX_LINE_BYTES:
                self.count(1)
                self.partial = self.partial[MAX_LINE_BYTES:]
            return None
        self.reader.feed(data)
        self.count(self.reader.lines() - self.counted)
        return self.reader.poll()

    def poll(self) -> float | None:
        return self.reader.poll() if self.reader is not None else None

    def finish(self) -> None:
        """At end of file (or when publishing ends): publishes what is left and frees the reader."""
        if self.reader is not None:
            self.reader.finish()
            self.count(self.reader.lines() - self.counted)
            self.reader.close()
            self.reader = None
        elif self.partial.strip():
            self.count(1)
        self.partial = b""
        self.publish_lines = False

    def count(self, lines: int) -> None:
        self.counted += lines
        self.output.stats["lines"] += lines


class CapturedOutput:
    """The output pipes of one incarnation of a process, and its output file."""

    def __init__(self, service: str, pid: int, program: str, out_file: OutputFile, logger, stats: dict):
        self.service, self.pid = service, pid
        self.thread_label = f"{program[:15]}:{pid}"   # like the Logger's "name:tid" of the main thread
        self.out_file = out_file                       # the process's OutputFile (outlives the incarnation)
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

    def __init__(self, max_record_bytes: int = 0):
        super().__init__(name="capture", daemon=True)
        self.max_record_bytes = max_record_bytes                # the readers' record cap (0: the library's)
        self.selector = selectors.DefaultSelector()
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        os.set_blocking(self.wake_write, False)
        self.selector.register(self.wake_read, selectors.EVENT_READ, None)
        self.lock = threading.Condition()
        self.incoming: list[tuple[int, CapturedStream]] = []   # guarded by lock
        self.open_pipes: dict[str, int] = {}                    # service -> pipes not at EOF; guarded
        self.stopping = False                                   # guarded by lock
        # The readers use the output loggers: publish_lock keeps detach_loggers() from letting them
        # close while the thread is in a reader.
        self.publish_lock = threading.Lock()
        self.publishing = True                                  # guarded by publish_lock
        self.streams: set[CapturedStream] = set()               # registered streams; guarded by publish_lock
        self.waiting: set[CapturedStream] = set()               # streams whose reader holds a record; thread only
        self.next_poll: float | None = None                     # monotonic time to poll them; thread only

    def add(self, output: CapturedOutput, stdout_fd: int, stderr_fd: int | None) -> None:
        """Hands the read ends of a new child's pipes to the thread (which closes them): with
        `stderr_fd` a service whose lines are published, else one pipe only written to the file."""
        with self.publish_lock:
            publish = stderr_fd is not None and self.publishing
            pipes = [(stdout_fd, CapturedStream(output, "stdout", INFO, publish, self.max_record_bytes))]
            if stderr_fd is not None:
                pipes.append((stderr_fd, CapturedStream(output, "stderr", WARNING, publish, self.max_record_bytes)))
        with self.lock:
            for fd, stream in pipes:
                os.set_blocking(fd, False)
                self.incoming.append((fd, stream))
            output.open_pipes = len(pipes)
            self.open_pipes[output.service] = self.open_pipes.get(output.service, 0) + len(pipes)
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

    def detach_loggers(self) -> None:
        """Publishes what the readers still hold, closes them; from now on output is only written
        to the files (the output loggers are about to close)."""
        with self.publish_lock:
            self.publishing = False
            for stream in self.streams:
                stream.finish()
            with self.lock:
                for _, stream in self.incoming:
                    stream.finish()

    def stop(self, timeout: float) -> None:
        """Reads what is left, closes every pipe and ends the thread."""
        with self.lock:
            self.stopping = True
        self.wake()
        self.join(timeout)

    def run(self) -> None:
        while True:
            with self.publish_lock, self.lock:
                for fd, stream in self.incoming:
                    self.selector.register(fd, selectors.EVENT_READ, stream)
                    self.streams.add(stream)
                self.incoming.clear()
                stopping = self.stopping
            timeout = 0 if stopping else 1.0
            if self.next_poll is not None:
                timeout = min(timeout, max(0.0, self.next_poll - time.monotonic()))
            events = self.selector.select(timeout=timeout)
            for key, _ in events:
                if key.data is None:
                    self.drain_wake_pipe()
                else:
                    self.read(key.fd, key.data)
            if self.next_poll is not None and time.monotonic() >= self.next_poll:
                self.poll_readers()
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
        stream.output.out_file.write(data)
        with self.publish_lock:
            if not self.publishing:
                return
            try:
                self.schedule(stream, stream.feed(data))
            except Exception as error:  # noqa: BLE001 - the capture thread must go on
                say(f"cantina: capturing {stream.output.service}: {error}", sys.stderr)

    def schedule(self, stream: CapturedStream, due_in: float | None) -> None:
        """Notes when a stream's reader wants poll() (its record's wait ends), or that it does not."""
        if due_in is None:
            self.waiting.discard(stream)
            return
        self.waiting.add(stream)
        due = time.monotonic() + due_in
        self.next_poll = due if self.next_poll is None else min(self.next_poll, due)

    def poll_readers(self) -> None:
        """Publishes the records whose wait is over."""
        self.next_poll = None
        with self.publish_lock:
            if not self.publishing:
                self.waiting.clear()
                return
            for stream in list(self.waiting):
                self.schedule(stream, stream.poll())

    def close_pipe(self, fd: int, stream: CapturedStream) -> None:
        with self.publish_lock:
            self.waiting.discard(stream)
            self.streams.discard(stream)
            published = stream.publish_lines
            stream.finish()
            if published and self.publishing and stream.output.logger is not None:
                # The service closed its output (most often: it exited). Its last lines, often
                # why it stopped, go out now rather than after the Logger's unwatched linger
                # (a flush that does not wait: this thread must not block).
                stream.output.logger.flush(0.0)
        self.selector.unregister(fd)
        os.close(fd)
        output = stream.output
        output.open_pipes -= 1
        with self.lock:
            self.open_pipes[output.service] -= 1
            self.lock.notify_all()
