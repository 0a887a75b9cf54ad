"""Python logging into Cantina bus: a logging.Handler over the bus's C ABI.

A CantinaOS service adds one call::

    import cantina_logging
    cantina_logging.setup("music_controller")            # or level="DEBUG", config="..."

and every record from INFO up that reaches the root logger (logger name, level, message
with the exception text, file, line, function, thread, time, and any `extra=` values as
fields) is published on the bus as a LogRecord of that service, where the logging node
writes it to the session file and the dashboard shows it. setup() attaches a
CantinaHandler to the root logger and sets the root logger's level (Python's root starts
at WARNING, which would drop INFO and DEBUG before any handler sees them). Python's levels
apply first: with level="DEBUG", `tools/cantina level SERVICE DEBUG` and back can switch
debug records on and off at run time. Outside `tools/cantina up`, name the config with
config= or $CANTINA_CONFIG (up sets it for every service).

Plain Python 3, no pip packages: the records are encoded by the bus library itself
(libcantina_bus_c.so), so schemas/*.capnp stays the single source of truth. A record goes
from CantinaHandler to the library's Logger through the native module _cantina_logging
(tools/python/cantina_logging_native.cpp, built by CMake beside the library, in build/lib/):
it filters, applies the bus threshold, formats and queues the record in C, with no ctypes
call per record. Everything else (loading the library, opening, flushing and closing the
Logger, BusLogger, LineReader, StatusPublisher) goes through ctypes: those calls are rare,
and tools/cantina uses them where no native module was built. Where the native module is
missing (not built) or does not load, CantinaHandler logs through ctypes, with the same
behaviour, only slower; `NATIVE` says which (None: ctypes), and $CANTINA_PYTHON_NATIVE=0
forces ctypes (to compare the two).

Where things are found:
- the library: `library=` argument, else $CANTINA_LIB, else <project>/build/lib/libcantina_bus_c.so;
- the native module: _cantina_logging.abi3.so in the directory of that library (without
  `library=`), else `import _cantina_logging` from sys.path;
- the config (for the bus endpoints): `config=` argument, else $CANTINA_CONFIG, else
  <project>/conf/cantina.toml;
- the service id: `service` argument, else $CANTINA_SERVICE (set by `tools/cantina up`),
  else the script's name.

The handler never raises into the code that logs: a failure (no library, a bad config, a
full queue is not one) is counted in `handler.failures` and reported once, in one line on
stderr. Logging never waits for the network; close() (called by logging.shutdown at exit)
publishes what is still queued, waiting at most `hold_seconds`.

The lower layers (BusLibrary, BusLogger, LineReader, StatusPublisher) are public too:
tools/cantina uses them to publish the output of the programs it supervises and their status.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import re
import sys
import threading
from pathlib import Path

__all__ = ["setup", "CantinaHandler", "BusLibrary", "BusLogger", "LineReader", "StatusPublisher", "BusError", "find_library",
           "find_config", "bus_level", "load_endpoints", "NATIVE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
LIBRARY_NAME = "libcantina_bus_c.so"
NATIVE_NAME = "_cantina_logging"
NATIVE_FILE = NATIVE_NAME + ".abi3.so"
API_VERSION = 3  # CANTINA_C_API_VERSION this module was written for

# Bus levels (CANTINA_LEVEL_*) and states (CANTINA_STATE_*), as in bus/include/cantina/bus/c_api.h.
DEBUG, INFO, WARNING, ERROR, CRITICAL = range(5)
LEVEL_NAMES = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
STATES = {"STARTING": 0, "RUNNING": 1, "STOPPING": 2, "STOPPED": 3, "ERROR": 4, "FATAL": 5}

OK, FILTERED = 0, 1
RESULT_NAMES = {-1: "invalid argument", -2: "invalid config", -3: "buffer too small", -4: "queue full",
                -5: "timed out", -6: "the bus refused the message", -7: "internal error"}


class BusError(Exception):
    """The bus library could not be loaded, or refused a request; the message says why."""


def find_library(explicit: str | os.PathLike | None = None) -> Path:
    """The C ABI library to load: `explicit`, else $CANTINA_LIB, else <project>/build/lib."""
    return Path(explicit or os.environ.get("CANTINA_LIB") or PROJECT_ROOT / "build" / "lib" / LIBRARY_NAME)


def find_config(explicit: str | os.PathLike | None = None) -> Path:
    """The config file to read: `explicit`, else $CANTINA_CONFIG, else <project>/conf/cantina.toml."""
    return Path(explicit or os.environ.get("CANTINA_CONFIG") or PROJECT_ROOT / "conf" / "cantina.toml")


def _load_native():
    """The native module _cantina_logging: beside find_library(), else from sys.path; None if
    $CANTINA_PYTHON_NATIVE is 0, or if it is missing or does not load (then ctypes carries the
    records: the same behaviour, only slower)."""
    if os.environ.get("CANTINA_PYTHON_NATIVE", "1") == "0":
        return None
    try:
        path = find_library().parent / NATIVE_FILE
        if path.is_file():
            spec = importlib.util.spec_from_file_location(NATIVE_NAME, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(NATIVE_NAME)
        if module.C_API_VERSION != API_VERSION:
            return None
        module.configure(_STANDARD_ATTRIBUTES, len(logging.makeLogRecord({}).__dict__), logging.LogRecord,
                         logging.LogRecord.getMessage, logging.Handler.handle, sys.version_info >= (3, 12))
        return module
    except Exception:  # noqa: BLE001 - ImportError, OSError of a broken file: ctypes does the work
        return None


def bus_level(python_level: int) -> int:
    """Maps a Python level number to a bus level; levels between two names round down."""
    if python_level < logging.INFO:
        return DEBUG
    if python_level < logging.WARNING:
        return INFO
    if python_level < logging.ERROR:
        return WARNING
    if python_level < logging.CRITICAL:
        return ERROR
    return CRITICAL


def _text(value) -> bytes | None:
    """Encodes an optional string for the C ABI (None stays NULL)."""
    if value is None:
        return None
    return str(value).encode("utf-8", "backslashreplace")


class _Field(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


class _Counters(ctypes.Structure):
    _fields_ = [("logged", ctypes.c_uint64), ("published", ctypes.c_uint64), ("dropped", ctypes.c_uint64)]


class BusLibrary:
    """libcantina_bus_c.so loaded with ctypes, its functions typed. One per path per process."""

    _loaded: dict[Path, "BusLibrary"] = {}
    _lock = threading.Lock()

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "BusLibrary":
        """Loads (once) the library at find_library(path); BusError if it cannot."""
        resolved = find_library(path).resolve()
        with cls._lock:
            if resolved not in cls._loaded:
                cls._loaded[resolved] = cls(resolved)
            return cls._loaded[resolved]

    def __init__(self, path: Path):
        if not path.is_file():
            raise BusError(f"{path} not found (build it with tools/cantina build, or set CANTINA_LIB)")
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as error:
            raise BusError(f"cannot load {path}: {error}") from None
        self.path = path
        c_int, c_char_p, c_size_t, c_void_p = ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p
        signatures = {
            "cantina_api_version": (c_int, []),
            "cantina_config_load": (c_int, [c_char_p, c_char_p, c_size_t, c_char_p, c_size_t, c_char_p, c_size_t]),
            "cantina_logger_open": (c_void_p, [c_char_p, c_char_p, c_char_p, c_int, c_int, c_char_p, c_size_t]),
            "cantina_logger_open_config": (c_void_p, [c_char_p, c_char_p, c_int, c_int, c_int, c_char_p, c_size_t]),
            "cantina_logger_log": (c_int, [c_void_p, c_int, c_char_p, c_size_t, c_char_p, c_char_p, ctypes.c_uint32,
                                           c_char_p, c_char_p, ctypes.c_int64, ctypes.POINTER(_Field), c_size_t]),
            "cantina_logger_level": (c_int, [c_void_p]),
            "cantina_logger_set_level": (c_int, [c_void_p, c_int]),
            "cantina_logger_flush": (c_int, [c_void_p, c_int]),
            "cantina_logger_get_counters": (c_int, [c_void_p, ctypes.POINTER(_Counters)]),
            "cantina_logger_close": (None, [c_void_p]),
            "cantina_line_reader_open": (c_void_p, [c_void_p, c_int, c_char_p, c_char_p, c_size_t, c_char_p, c_size_t]),
            "cantina_line_reader_feed": (c_int, [c_void_p, c_char_p, c_size_t]),
            "cantina_line_reader_poll": (c_int, [c_void_p, ctypes.POINTER(c_int)]),
            "cantina_line_reader_finish": (c_int, [c_void_p]),
            "cantina_line_reader_lines": (ctypes.c_uint64, [c_void_p]),
            "cantina_line_reader_close": (None, [c_void_p]),
            "cantina_status_publisher_open": (c_void_p, [c_char_p, c_char_p, c_size_t]),
            "cantina_status_publisher_open_config": (c_void_p, [c_char_p, c_char_p, c_size_t]),
            "cantina_status_publish": (c_int, [c_void_p, c_char_p, c_int, c_char_p, ctypes.c_uint32, ctypes.c_int64]),
            "cantina_status_publisher_close": (None, [c_void_p]),
        }
        try:
            for name, (restype, argtypes) in signatures.items():
                function = getattr(lib, name)
                function.restype, function.argtypes = restype, argtypes
        except AttributeError as error:
            raise BusError(f"{path} is not a Cantina bus C library: {error}") from None
        version = lib.cantina_api_version()
        if version != API_VERSION:
            raise BusError(f"{path} has C API version {version}; this module needs {API_VERSION} (rebuild)")
        self.lib = lib

    def load_endpoints(self, config: str | os.PathLike | None = None) -> tuple[str, str]:
        """(publish endpoint, subscribe endpoint) of find_config(config); BusError naming file, line and key."""
        publish, subscribe, error = (ctypes.create_string_buffer(1024) for _ in range(3))
        result = self.lib.cantina_config_load(_text(find_config(config)), publish, len(publish), subscribe,
                                              len(subscribe), error, len(error))
        if result != OK:
            raise BusError(error.value.decode(errors="replace") or RESULT_NAMES.get(result, str(result)))
        return publish.value.decode(), subscribe.value.decode()


def load_endpoints(config=None, library=None) -> tuple[str, str]:
    """The bus endpoints of a config file (see BusLibrary.load_endpoints)."""
    return BusLibrary.load(library).load_endpoints(config)


class BusLogger:
    """One Logger of the bus library: records of one service, queued and published in the background.

    Every method may be called from any thread (a lock keeps close() from freeing the
    logger under another call). After fork(), a child must abandon() an inherited one.
    """

    def __init__(self, library: BusLibrary, service: str, publish_endpoint: str | None,
                 subscribe_endpoint: str | None, level: int = INFO, hold_seconds: float | None = 2.0, *,
                 config: str | os.PathLike | None = None, level_control: bool = True):
        """Connects to the given endpoints; or, with `config`, to the bus that config file names, with its
        start-up hold (unless `hold_seconds` is given) and, in LAN mode, its CURVE keys. With `config`,
        `level_control` says whether the threshold follows `tools/cantina level` (with endpoints, it
        does when `subscribe_endpoint` is given)."""
        error = ctypes.create_string_buffer(512)
        self._lib = library.lib
        hold_ms = -1 if hold_seconds is None else int(hold_seconds * 1000)
        if config is not None:
            self._handle = self._lib.cantina_logger_open_config(_text(service), _text(str(config)), level, hold_ms,
                                                                int(level_control), error, len(error))
        else:
            self._handle = self._lib.cantina_logger_open(_text(service), _text(publish_endpoint),
                                                         _text(subscribe_endpoint), level, hold_ms, error, len(error))
        if not self._handle:
            raise BusError(error.value.decode(errors="replace"))
        self.service = service
        self._lock = threading.Lock()

    def level(self) -> int:
        """The current threshold (DEBUG..CRITICAL); it follows `tools/cantina level`."""
        with self._lock:
            return self._lib.cantina_logger_level(self._handle) if self._handle else CRITICAL + 1

    def set_level(self, level: int) -> None:
        with self._lock:
            if self._handle:
                self._lib.cantina_logger_set_level(self._handle, level)

    def log(self, level: int, message: bytes | str, *, logger_name: str | None = None, file: str | None = None,
            line: int = 0, function: str | None = None, thread: str | None = None, timestamp_ns: int = 0,
            fields: dict | None = None) -> int:
        """Queues one record; returns OK, FILTERED, or a negative code (-4: queue full, counted). Never blocks."""
        data = message if isinstance(message, bytes) else message.encode("utf-8", "backslashreplace")
        field_array, count = None, 0
        if fields:
            count = len(fields)
            field_array = (_Field * count)(*(_Field(_text(key), _text(value)) for key, value in fields.items()))
        with self._lock:
            if not self._handle:
                return -1
            return self._lib.cantina_logger_log(self._handle, level, data, len(data), _text(logger_name), _text(file),
                                                max(0, min(int(line or 0), 0xFFFFFFFF)), _text(function),
                                                _text(thread), int(timestamp_ns), field_array, count)

    def flush(self, timeout: float = 2.0) -> bool:
        """Waits until everything queued was handed to ZeroMQ, at most `timeout` seconds."""
        with self._lock:
            return bool(self._handle) and self._lib.cantina_logger_flush(self._handle, int(timeout * 1000)) == OK

    def counters(self) -> dict[str, int]:
        """{'logged', 'published', 'dropped'} since open."""
        counters = _Counters()
        with self._lock:
            if self._handle:
                self._lib.cantina_logger_get_counters(self._handle, ctypes.byref(counters))
        return {"logged": counters.logged, "published": counters.published, "dropped": counters.dropped}

    def close(self) -> None:
        """Publishes what is queued (at most the hold time) and frees the logger."""
        with self._lock:
            handle, self._handle = self._handle, None
            if handle:
                self._lib.cantina_logger_close(handle)

    def abandon(self) -> None:
        """Forgets the handle without closing it (in a child after fork(), where closing is unsafe)."""
        self._lock = threading.Lock()  # the parent's may have been held by another thread at fork()
        self._handle = None


class LineReader:
    """Reads a program's text output into records of a BusLogger, with the rules of
    `cantina-cli log --pipe` (the C++ LineReader, cantina/bus/line_reader.h): the level a
    line announces ("ERROR: x", "[warn] x", ...) else `default_level`; indented lines and
    Python tracebacks joined into one record; a record waits at most 100 ms for more (poll()
    says when to call it again) and holds at most `max_record_bytes` (0: 256 KiB).

    For one stream, used by one thread; close() it before its logger."""

    def __init__(self, logger: BusLogger, default_level: int, *, logger_name: str | None = None,
                 thread: str | None = None, max_record_bytes: int = 0):
        error = ctypes.create_string_buffer(512)
        self._lib = logger._lib
        self._logger = logger           # kept alive as long as the reader
        with logger._lock:
            self._handle = self._lib.cantina_line_reader_open(logger._handle, default_level, _text(logger_name),
                                                              _text(thread), max_record_bytes, error, len(error)) \
                if logger._handle else None
        if not self._handle:
            raise BusError(error.value.decode(errors="replace") or "the logger is closed")

    def feed(self, data: bytes) -> int:
        """Takes bytes of the stream; returns the number of records it logged."""
        return self._lib.cantina_line_reader_feed(self._handle, data, len(data)) if self._handle else 0

    def poll(self) -> float | None:
        """Logs a record whose wait is over; returns in how many seconds to call again (None: nothing waits)."""
        if not self._handle:
            return None
        next_ms = ctypes.c_int(-1)
        self._lib.cantina_line_reader_poll(self._handle, ctypes.byref(next_ms))
        return None if next_ms.value < 0 else next_ms.value / 1000

    def finish(self) -> int:
        """The end of the stream: logs what is left."""
        return self._lib.cantina_line_reader_finish(self._handle) if self._handle else 0

    def lines(self) -> int:
        """Non-blank lines read so far."""
        return self._lib.cantina_line_reader_lines(self._handle) if self._handle else 0

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle:
            self._lib.cantina_line_reader_close(handle)


class StatusPublisher:
    """Publishes ServiceStatus messages on /service/status/<service>. Thread-safe."""

    def __init__(self, library: BusLibrary, publish_endpoint: str | None, *, config: str | os.PathLike | None = None):
        """Connects to `publish_endpoint`; or, with `config`, to that config's bus (with its CURVE keys)."""
        error = ctypes.create_string_buffer(512)
        self._lib = library.lib
        if config is not None:
            self._handle = self._lib.cantina_status_publisher_open_config(_text(str(config)), error, len(error))
        else:
            self._handle = self._lib.cantina_status_publisher_open(_text(publish_endpoint), error, len(error))
        if not self._handle:
            raise BusError(error.value.decode(errors="replace"))

    def publish(self, service: str, state: str, message: str = "", pid: int = 0, since_ns: int = 0) -> bool:
        """Publishes one status (state: STARTING, RUNNING, STOPPING, STOPPED, ERROR, FATAL); never blocks."""
        if not self._handle:
            return False
        return self._lib.cantina_status_publish(self._handle, _text(service), STATES[state], _text(message),
                                                pid & 0xFFFFFFFF, int(since_ns)) == OK

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle:
            self._lib.cantina_status_publisher_close(handle)


# Attributes every LogRecord has; anything else on a record came from `extra=` and becomes a field.
_STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}

NATIVE = _load_native()   # the module _cantina_logging, or None: records go through ctypes
_HANDLER_BASES = (NATIVE.Core, logging.Handler) if NATIVE else (logging.Handler,)


def _default_service() -> str:
    """$CANTINA_SERVICE, else the running script's name made into a service id."""
    if os.environ.get("CANTINA_SERVICE"):
        return os.environ["CANTINA_SERVICE"]
    script = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] not in ("", "-c") else "python"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", script)[:128] or "python"


class CantinaHandler(*_HANDLER_BASES):
    """A logging.Handler that publishes records on the Cantina bus as LogRecords of `service`.

    service       the service id (letters, digits, '_', '-', '.'); default $CANTINA_SERVICE or the script name
    config        config file with the bus endpoints (default $CANTINA_CONFIG or conf/cantina.toml)
    library       path of libcantina_bus_c.so (default $CANTINA_LIB or build/lib)
    level         the handler's own Python level (default NOTSET: the bus threshold decides)
    hold_seconds  how long records wait for the bus at start-up, and close() at most waits
                  (None: the config's [bus] logger_hold_ms)
    bus_threshold the bus threshold to start with (DEBUG..CRITICAL; default INFO)

    The bus threshold follows `tools/cantina level SERVICE LEVEL`.
    Nothing here raises into the caller: see `failures`.

    With the native module (see NATIVE), handle() and emit() are its Core's, in C; the
    methods below whose names start with "_" are what they call back (rarely: a fork, a
    failure); without it, _emit_python is emit().
    """

    def __init__(self, service: str | None = None, config: str | os.PathLike | None = None, *,
                 library: str | os.PathLike | None = None, level: int = logging.NOTSET,
                 hold_seconds: float | None = None, bus_threshold: int = INFO):
        super().__init__(level)
        self._bus_threshold = bus_threshold
        self.service = service or _default_service()
        self.failures = 0             # records (or the set-up) that could not be handed to the bus
        self._config, self._library, self._hold_seconds = config, library, hold_seconds
        self._reported = False
        self._bus: BusLogger | None = None
        self._pid = os.getpid()
        self._open()

    def _open(self) -> None:
        """Connects to the bus; a failure is counted and reported, never raised."""
        try:
            library = BusLibrary.load(self._library)
            self._bus = BusLogger(library, self.service, None, None, self._bus_threshold, self._hold_seconds,
                                  config=find_config(self._config))
            if NATIVE:
                try:
                    self._native_attach(str(library.path), self._bus._handle, True)
                except Exception:  # noqa: BLE001 - a library it cannot resolve: records go through ctypes
                    self._native_attach(str(library.path), self._bus._handle, False)
        except Exception as error:  # noqa: BLE001 - the handler must never take the service down
            self._bus = None
            self._fail(error)

    def _fail(self, error: BaseException) -> None:
        """Counts a failure; the first one is reported in one line on stderr."""
        self.failures += 1
        if self._reported:
            return
        self._reported = True
        try:
            sys.stderr.write(f"cantina_logging: CantinaHandler({self.service!r}) cannot log to the bus: {error} "
                             "(further failures are only counted, in handler.failures)\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - stderr may be closed
            pass

    def _no_bus(self) -> None:
        """A record that found no bus logger (not connected, or closed): counted."""
        self.failures += 1

    def _log_failed(self, result: int) -> None:
        """The bus logger refused a record with `result` (not a full queue, which it counts)."""
        self._fail(BusError(RESULT_NAMES.get(result, f"error {result}")))

    @property
    def connected(self) -> bool:
        """True if the handler has a bus logger (the library and config loaded)."""
        return self._bus is not None

    def bus_level(self) -> int | None:
        """The bus threshold now (DEBUG..CRITICAL), or None if not connected."""
        return self._bus.level() if self._bus else None

    def counters(self) -> dict[str, int]:
        """The bus logger's {'logged', 'published', 'dropped'} plus this handler's 'failures'."""
        counters = self._bus.counters() if self._bus else {"logged": 0, "published": 0, "dropped": 0}
        return dict(counters, failures=self.failures)

    def _bus_for_this_process(self) -> BusLogger | None:
        """The bus logger, reopened in a child after fork() (the parent's cannot be used there)."""
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            if NATIVE:
                self._native_detach()
            if self._bus:
                self._bus.abandon()
            self._open()
        return self._bus

    def _emit_python(self, record: logging.LogRecord) -> None:
        """emit() through ctypes (the native emit() does the same in C)."""
        try:
            bus = self._bus_for_this_process()
            if bus is None:
                self.failures += 1
                return
            level = bus_level(record.levelno)
            if level < bus.level():
                return  # below the bus threshold: not even formatted
            message = self.format(record)  # the message, then the exception and stack text if any
            fields = {key: value for key, value in record.__dict__.items()
                      if key not in _STANDARD_ATTRIBUTES and not key.startswith("_")}
            result = bus.log(level, message, logger_name=record.name, file=record.pathname, line=record.lineno,
                             function=record.funcName, thread=record.threadName,
                             timestamp_ns=int(record.created * 1_000_000_000), fields=fields or None)
            if result < OK and result != -4:  # a full queue is counted by the bus logger itself
                raise BusError(RESULT_NAMES.get(result, f"error {result}"))
        except RecursionError:
            raise
        except Exception as error:  # noqa: BLE001 - logging must never raise into the caller
            self._fail(error)

    if not NATIVE:
        emit = _emit_python
        native = False   # else Core.native: True once records go to the bus through the native module

    def flush(self) -> None:
        """Waits (at most hold_seconds) until every record so far was handed to the bus."""
        try:
            if self._bus and os.getpid() == self._pid:
                self._bus.flush(2.0 if self._hold_seconds is None else self._hold_seconds)
        except Exception as error:  # noqa: BLE001
            self._fail(error)

    def close(self) -> None:
        """Publishes what is queued (at most hold_seconds) and disconnects; logging.shutdown calls it at exit."""
        try:
            with self.lock:  # not while another thread is in emit()
                if NATIVE:
                    self._native_detach()   # under the GIL: no native emit() uses the handle after this
                bus, self._bus = self._bus, None
            if bus:
                if os.getpid() == self._pid:
                    bus.close()
                else:
                    bus.abandon()
        except Exception as error:  # noqa: BLE001
            self._fail(error)
        finally:
            super().close()

    def __repr__(self) -> str:
        state = "connected" if self._bus else "not connected"
        return f"<CantinaHandler {self.service} ({state}, {self.failures} failures)>"


def setup(service: str | None = None, level: int | str = "INFO", config: str | os.PathLike | None = None, *,
          library: str | os.PathLike | None = None) -> CantinaHandler:
    """Logs this process to the bus in one call; returns the handler.

    Attaches a CantinaHandler for `service` (default $CANTINA_SERVICE, set by `tools/cantina
    up`, else the script's name) to the root logger, replacing the one an earlier setup()
    attached, and sets the root logger's level and the bus threshold to `level` ("DEBUG",
    "INFO", "WARNING", "ERROR", "CRITICAL" or a logging level number), so that records from
    `level` up arrive. `config`: the config file naming the bus (default $CANTINA_CONFIG,
    else <project>/conf/cantina.toml). Like the handler, it never raises because the bus is
    away (see handler.failures); a level that is not one raises ValueError.
    """
    python_level = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    if not isinstance(python_level, int):
        raise ValueError(f"cantina_logging.setup: level must be DEBUG, INFO, WARNING, ERROR or CRITICAL, "
                         f"not {level!r}")
    handler = CantinaHandler(service, config, library=library, bus_threshold=bus_level(python_level))
    handler._set_up = True
    root = logging.getLogger()
    for earlier in [h for h in root.handlers if getattr(h, "_set_up", False)]:
        root.removeHandler(earlier)
        earlier.close()
    root.addHandler(handler)
    root.setLevel(python_level)
    return handler
