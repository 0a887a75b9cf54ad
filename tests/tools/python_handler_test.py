"""tools/python/cantina_logging.py end to end: a Python script logs through CantinaHandler
to a real cantina-busd + cantina-logd; the records must reach the session file with the
right level, service and exception text, and carry logger, file, line, function, thread,
time and `extra` fields on the bus. Also: the handler never raises into its caller.

Run by ctest as python_handler_test (CANTINA_BIN_DIR and CANTINA_LIB point at the build).
"""

import contextlib
import io
import json
import logging
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
import unittest
import unittest.mock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import BIN_DIR, LIB, SOURCE_DIR, Sandbox, wait_for  # noqa: E402

sys.path.insert(0, str(SOURCE_DIR / "tools" / "python"))
import cantina_logging  # noqa: E402
from cantina_logging import CantinaHandler  # noqa: E402

SCRIPT = """
import logging, threading
from cantina_logging import CantinaHandler
logging.getLogger().addHandler(CantinaHandler("py_handler_test"))
logging.getLogger().setLevel(logging.DEBUG)
log = logging.getLogger("cantina_os.music")

def play(track):
    log.info("Now playing %s", track, extra={"track": track, "volume": 45})

log.debug("debug is below the bus threshold")
play("Cantina Band")
log.warning("buffer underrun #%d", 3)
logging.log(25, "between INFO and WARNING")
try:
    {}["missing"]
except KeyError:
    log.exception("lookup failed")
log.critical("motor overheated")
worker = threading.Thread(target=lambda: log.error("from a worker thread"), name="worker-1")
worker.start()
worker.join()
"""  # the script exits at once: logging.shutdown() must publish what is still queued


SETUP_SCRIPT = """
import logging, sys
import cantina_logging
tag = sys.argv[1]
config = sys.argv[2] if len(sys.argv) > 2 else None   # else $CANTINA_CONFIG
cantina_logging.setup("py_setup_test", config=config)
log = logging.getLogger("cantina_os.setup")
log.info("%s: info arrives", tag)
log.warning("%s: warning arrives", tag)
log.debug("%s: debug is below INFO", tag)
cantina_logging.setup("py_setup_test", level="DEBUG", config=config)
log.debug('%s: debug arrives after setup(level="DEBUG")', tag)
handlers = [h for h in logging.getLogger().handlers if isinstance(h, cantina_logging.CantinaHandler)]
assert len(handlers) == 1, handlers
"""

# Run once with the native module and once through ctypes ($CANTINA_PYTHON_NATIVE=0): every
# behaviour of the handler, the same on both paths. argv: tag, "native" or "ctypes", the
# config of a bus that is gone (no busd at its endpoints).
PATHS_SCRIPT = """
import logging, os, sys
import cantina_logging
from cantina_logging import CantinaHandler
tag, path, gone_config = sys.argv[1], sys.argv[2], sys.argv[3]
handler = CantinaHandler("py_paths_test")
assert handler.native is (path == "native"), (handler.native, cantina_logging.NATIVE)
root = logging.getLogger()
root.addHandler(handler)
root.setLevel(logging.DEBUG)
log = logging.getLogger("cantina_os.paths")

class Exploding:
    def __str__(self):
        raise AssertionError("formatted although below the bus threshold")

class Refusing:
    def __str__(self):
        raise ValueError("cannot be a string")

log.debug("%s", Exploding())                       # below the bus threshold: not even formatted
log.info("%s: unformattable %s", tag, Refusing())  # a failure: counted and reported, never raised
log.info("%s: bad format %d", tag, "not a number")  # the same
log.info("%s: fields", tag, extra={"track": "Cantina Band", "volume": 45, "_private": "no"})
log.info("%s: a field that cannot be a string", tag, extra={"bad": Refusing()})
try:
    {}["missing"]
except KeyError:
    log.exception("%s: exception", tag)
log.info("%s: stack", tag, stack_info=True)
handler.addFilter(lambda record: "filtered out" not in record.msg)   # the handler's own filters apply
log.info("%s: filtered out", tag)
handler.setFormatter(logging.Formatter("formatted %(levelname)s %(message)s"))   # and its formatter
log.info("%s: with a formatter", tag)
handler.setFormatter(None)
log.warning("%s: before fork", tag)
if os.environ.get("CANTINA_TEST_NO_FORK") != "1":
    child = os.fork()
    if child == 0:   # the child logs through a Logger of its own
        log.warning("%s: child %d", tag, os.getpid(), extra={"who": "child"})
        logging.shutdown()
        os._exit(0)
    os.waitpid(child, 0)
log.warning("%s: parent after fork", tag)

# A bus that is gone: records are held, then dropped and counted; nothing raises, close() returns.
gone = CantinaHandler("py_gone_test", gone_config, hold_seconds=0.2)
assert gone.connected and gone.native is (path == "native")
gone_log = logging.getLogger("gone")
gone_log.propagate = False
gone_log.addHandler(gone)
for n in range(3):
    gone_log.error("%s: nobody listens %d", tag, n)
gone.close()
gone_log.error("%s: after close", tag)   # counted as a failure, not raised

for n in range(500):
    log.info("%s: queued %d", tag, n)
print("failures", handler.failures, gone.failures, handler.counters()["dropped"], flush=True)
"""   # and it exits at once: logging.shutdown() must publish the 500 queued records


# Daemon threads log without pause while the main thread exits: logging.shutdown() closes
# the handler under them, and their later records must be counted, never use the freed
# Logger (a crash) or raise.
EXIT_SCRIPT = """
import logging, sys, threading, time
from cantina_logging import CantinaHandler
tag = sys.argv[1]
handler = CantinaHandler("py_exit_test")
logging.getLogger().addHandler(handler)
logging.getLogger().setLevel(logging.INFO)
log = logging.getLogger("cantina_os.exit")
started = threading.Event()

def chatter():
    n = 0
    while True:
        log.info("%s: chatter %d", tag, n, extra={"n": n})
        n += 1
        started.set()

for _ in range(3):
    threading.Thread(target=chatter, daemon=True).start()
started.wait()
time.sleep(0.05)
log.warning("%s: main done", tag)
"""

# Messages as `msg % args` makes them, every conversion the native module formats itself
# (%s, %d, %i, %% of str and int) and every one it leaves to Python, through one path:
# prints the messages expected in the session file (as JSON) and the handler's failures.
FORMAT_SCRIPT = r"""
import enum, json, logging, sys
from cantina_logging import CantinaHandler
tag, path = sys.argv[1], sys.argv[2]
handler = CantinaHandler("py_format_test")
assert handler.native is (path == "native"), handler.native
log = logging.getLogger("cantina_os.format")
log.propagate = False
log.addHandler(handler)
log.setLevel(logging.INFO)

class Color(enum.IntEnum):
    RED = 1

class Loud(str):
    def __str__(self):
        return "LOUD"

class Counted(int):
    def __str__(self):
        return "counted"

cases = [
    ("%s and %d", ("str", 42)),
    ("%i|%s|%%|%s|%d", (-7, 12345678901234, "na\u00efve \u2713 \U0001f916", -(2**63))),
    ("%d %s", (True, False)),
    ("%s %d", (2**70, -(2**64))),
    ("%5d|%-4s|%.2s|%+d", (3, "ab", "xyz", 4)),
    ("%(a)s and %(b)d", ({"a": "mapped", "b": 2},)),
    ("%s %d", (Color.RED, Color.RED)),
    ("%s|%s", (Loud("quiet"), Counted(5))),
    ("%s", ("lone \udc80 surrogate",)),
    ("%x %o %r %f %e %c", (255, 8, "r", 1.5, 2.5, 65)),
    ("%s %d", (3.5, 3.9)),
    ("%ld %hd", (5, 6)),
    ("100%% sure: %s", ("yes",)),
    ("%s", ("",)),
    ("no conversion %%", ()),
    ("100% literal, no args", ()),
    ("%s", (None,)),
    ("%s", (b"bytes",)),
    ("%s %s", (("a", "tuple"), ["a", "list"])),
]
failing = [
    ("%s %s", ("only one",)),
    ("%s", ("one", "too many")),
    ("trailing %s %", ("x",)),
    ("%d", ("not a number",)),
    ("%y", (1,)),
    ("no conversion", ("x",)),
]
expected = []
for number, (fmt, args) in enumerate(cases):
    log.info(f"{tag} {number}: " + fmt, *args)
    message = logging.LogRecord("x", logging.INFO, "x", 1, f"{tag} {number}: " + fmt, args, None).getMessage()
    expected.append(message.encode("utf-8", "backslashreplace").decode("utf-8"))
class Template:  # msg need not be a str: str(msg) % args
    def __str__(self):
        return f"{tag} object: %s %d"

log.info(Template(), "from an object", 7)
expected.append(f"{tag} object: from an object 7")
for fmt, args in failing:
    log.info(f"{tag} failing: " + fmt, *args)
handler.flush()
print(json.dumps({"expected": expected, "failures": handler.failures}), flush=True)
handler.close()
"""


class PythonHandlerTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox()
        config = ["--config", str(cls.sandbox.config)]
        outputs = {name: open(cls.sandbox.dir / f"{name}.out", "wb") for name in ("busd", "logd")}
        cls.busd = subprocess.Popen([str(BIN_DIR / "cantina-busd"), *config], stdout=outputs["busd"],
                                    stderr=subprocess.STDOUT, env=cls.sandbox.env)
        cls.logd = subprocess.Popen([str(BIN_DIR / "cantina-logd"), *config], stdout=outputs["logd"],
                                    stderr=subprocess.STDOUT, env=cls.sandbox.env)
        for output in outputs.values():
            output.close()
        ready = subprocess.run([str(BIN_DIR / "cantina-cli"), "wait-status", *config, "--service",
                                "logging_service", "--timeout", "10"], capture_output=True, text=True)
        assert ready.returncode == 0, ready.stderr

    @classmethod
    def tearDownClass(cls):
        for process in (cls.logd, cls.busd):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        cls.sandbox.close()

    def history(self, service, count):
        """The last `count` records of `service` in the session file, as `cantina-cli tail --json` gives them."""
        history = subprocess.run([str(BIN_DIR / "cantina-cli"), "tail", "--config", str(self.sandbox.config),
                                  "-n", str(count), "--no-follow", "--json", "--service", service],
                                 capture_output=True, text=True, timeout=30, env=self.sandbox.env)
        self.assertEqual(history.returncode, 0, history.stderr)
        return [json.loads(line) for line in history.stdout.splitlines()]

    def path_env(self, path):
        """The environment of a script whose CantinaHandler goes through `path`: native or ctypes."""
        return dict(self.sandbox.env, PYTHONPATH=str(SOURCE_DIR / "tools" / "python"),
                    CANTINA_PYTHON_NATIVE="1" if path == "native" else "0")

    def test_records_reach_the_session_file_and_the_bus_with_every_detail(self):
        tail = subprocess.Popen([str(BIN_DIR / "cantina-cli"), "tail", "--config", str(self.sandbox.config),
                                 "--topic", "/log/py_handler_test", "--json"], stdout=subprocess.PIPE, text=True,
                                env=self.sandbox.env)
        try:
            time.sleep(1.0)   # let tail's subscription reach the bus
            script = self.sandbox.dir / "music.py"
            script.write_text(SCRIPT)
            env = dict(self.sandbox.env, PYTHONPATH=str(SOURCE_DIR / "tools" / "python"))
            run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=30)
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertEqual(run.stderr, "")   # the handler had nothing to complain about

            expected = [r"\] INFO     Py Handler Test +Now playing Cantina Band$",
                        r"\] WARNING  Py Handler Test +buffer underrun #3$",
                        r"\] INFO     Py Handler Test +between INFO and WARNING$",
                        r"\] ERROR    Py Handler Test +lookup failed\\nTraceback \(most recent call last\):\\n.*"
                        r"KeyError: 'missing'$",
                        r"\] CRITICAL Py Handler Test +motor overheated$",
                        r"\] ERROR    Py Handler Test +from a worker thread$"]
            for pattern in expected:
                self.assertTrue(wait_for(lambda: self.sandbox.lines_matching(pattern), 10),
                                f"{pattern!r} not in:\n" + "\n".join(self.sandbox.session_lines()))
            self.assertEqual(self.sandbox.lines_matching("below the bus threshold"), [])

            records = {}
            watchdog = threading.Timer(10, tail.kill)   # readline() must not wait forever
            watchdog.start()
            while len(records) < 6:
                line = tail.stdout.readline()
                if not line:
                    break
                record = json.loads(line)
                records[record["message"].partition("\n")[0]] = record
            watchdog.cancel()
        finally:
            tail.terminate()
            tail.wait()
            tail.stdout.close()
        playing = records["Now playing Cantina Band"]
        self.assertEqual(playing["service"], "py_handler_test")
        self.assertEqual(playing["logger"], "cantina_os.music")
        self.assertEqual(playing["file"], str(script))
        self.assertEqual(playing["line"], 9)
        self.assertEqual(playing["function"], "play")
        self.assertEqual(playing["thread"], "MainThread")
        self.assertEqual(playing["fields"], {"track": "Cantina Band", "volume": "45"})
        self.assertLess(abs(playing["timestamp_ns"] / 1e9 - time.time()), 60)
        self.assertEqual(records["from a worker thread"]["thread"], "worker-1")
        self.assertEqual(records["lookup failed"]["level"], "ERROR")
        self.assertIn("KeyError: 'missing'", records["lookup failed"]["message"])
        self.assertEqual(records["between INFO and WARNING"]["level"], "INFO")
        # The logging node's history has the same details: `tail -n` prints what live tail printed.
        kept = {entry["message"]: entry for entry in self.history("py_handler_test", 20)}
        for key in ("file", "line", "function", "logger", "thread", "pid", "host", "fields"):
            self.assertEqual(kept["Now playing Cantina Band"][key], playing[key], key)

    def test_setup_in_one_call_makes_info_arrive_with_the_config_from_the_environment_or_an_argument(self):
        script = self.sandbox.dir / "setup_service.py"
        script.write_text(SETUP_SCRIPT)
        env = dict(self.sandbox.env, PYTHONPATH=str(SOURCE_DIR / "tools" / "python"))
        without_config = {key: value for key, value in env.items() if key != "CANTINA_CONFIG"}
        for tag, run_env, argv in (("from-env", env, []), ("from-arg", without_config, [str(self.sandbox.config)])):
            with self.subTest(config=tag):
                run = subprocess.run([sys.executable, str(script), tag, *argv], env=run_env, capture_output=True,
                                     text=True, timeout=30)
                self.assertEqual(run.returncode, 0, run.stderr)
                self.assertEqual(run.stderr, "")
                for pattern in (rf"\] INFO     Py Setup Test +{tag}: info arrives$",
                                rf"\] WARNING  Py Setup Test +{tag}: warning arrives$",
                                rf"\] DEBUG    Py Setup Test +{tag}: debug arrives after setup\(level=\"DEBUG\"\)$"):
                    self.assertTrue(wait_for(lambda: self.sandbox.lines_matching(pattern), 10),
                                    f"{pattern!r} not in:\n" + "\n".join(self.sandbox.session_lines()[-20:]))
                self.assertEqual(self.sandbox.lines_matching(f"{tag}: debug is below INFO"), [])
        # A config that cannot be found is reported once, and the script goes on.
        missing = subprocess.run([sys.executable, str(script), "missing", str(self.sandbox.dir / "nope.toml")],
                                 env=without_config, capture_output=True, text=True, timeout=30)
        self.assertEqual(missing.returncode, 0, missing.stderr)
        self.assertIn("nope.toml: cannot read config file", missing.stderr)
        self.assertEqual(len(missing.stderr.splitlines()), 2, missing.stderr)   # once per setup() call

    def test_huge_messages_from_every_entry_point_arrive_cut_with_a_marker(self):
        """[bus] max_record_bytes (256 KiB): a 3 MB and a 10 MB message through the handler, the C ABI
        (BusLogger) and `cantina-cli log` (3 MB only: exec takes no more) arrive as one record each, cut at a character boundary with
        "… [truncated N bytes]" (N: exactly what was cut); nothing is lost, no connection dropped."""
        cap = 256 * 1024
        messages = [f"huge-{size} " + "café " * (size // 6) for size in (3_000_000, 10_000_000)]
        sent = {}   # (friendly service name, head) -> the message as sent
        handler = CantinaHandler("huge_handler", self.sandbox.config, library=LIB)
        logger = logging.getLogger("huge_test")
        logger.propagate = False
        logger.addHandler(handler)
        try:
            for message in messages:
                logger.warning("%s", message)
                sent["Huge Handler", message[:13]] = message
            handler.flush()
            self.assertEqual(handler.counters()["dropped"], 0, handler.counters())
        finally:
            logger.removeHandler(handler)
            handler.close()
        library = cantina_logging.BusLibrary.load(LIB)
        bus = cantina_logging.BusLogger(library, "huge_c_abi", None, None, cantina_logging.INFO, None,
                                        config=self.sandbox.config)
        try:
            for message in messages:
                self.assertEqual(bus.log(cantina_logging.INFO, message.encode()), cantina_logging.OK)
                sent["Huge C Abi", message[:13]] = message
            self.assertTrue(bus.flush(10.0))
        finally:
            bus.close()
        for message in messages[:1]:
            # Words of at most 100 KB (one argument may hold 128 KiB), which `log` joins with spaces;
            # a larger stack limit lets 3 MB of arguments through exec (Linux takes 6 MB at most, so
            # the 10 MB message cannot be given to `log` as arguments).
            words = [message[i:i + 50_000] for i in range(0, len(message), 50_000)]   # <= 100 KB each
            run = subprocess.run([str(BIN_DIR / "cantina-cli"), "log", "--config", str(self.sandbox.config),
                                  "--service", "huge_cli", *words], capture_output=True, text=True, timeout=60,
                                 env=self.sandbox.env,
                                 preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_STACK, (256 << 20,) * 2))
            self.assertEqual(run.returncode, 0, run.stderr)
            sent["Huge Cli", message[:13]] = " ".join(words)

        marker = re.compile(r"^\[\S+\] \S+ +Huge [\w ]+? +(huge-.*)\u2026 \[truncated (\d+) bytes\]$")
        for (service, head), original in sent.items():
            self.assertTrue(wait_for(lambda: self.sandbox.lines_matching(f"{service} +{head}"), 15),
                            f"{service}: {head!r} never arrived")
            lines = self.sandbox.lines_matching(f"{service} +{head}")
            self.assertEqual(len(lines), 1, f"{service}: {len(lines)} records of {head!r}")
            found = marker.match(lines[0])
            self.assertIsNotNone(found, f"{service}: no marker at the end of {lines[0][-100:]!r}")
            kept, cut = found.group(1).encode(), int(found.group(2))
            self.assertEqual(len(kept) + cut, len(original.encode()), service)
            self.assertTrue(original.encode().startswith(kept), service)   # a character boundary: no escape
            self.assertLessEqual(len(kept) + len(f"\u2026 [truncated {cut} bytes]".encode()), cap, service)
        self.assertEqual(self.sandbox.lines_matching(r"lost \d+ records|malformed"), [])

    def test_the_bus_threshold_filters_before_formatting(self):
        handler = CantinaHandler("threshold_test", self.sandbox.config, library=LIB)
        try:
            self.assertTrue(handler.connected)
            self.assertEqual(handler.bus_level(), cantina_logging.INFO)

            class Exploding:
                def __str__(self):
                    raise AssertionError("formatted although below the threshold")
            logger = logging.getLogger("threshold_test")
            logger.propagate = False
            logger.setLevel(logging.DEBUG)
            logger.addHandler(handler)
            logger.debug("%s", Exploding())
            logger.info("kept")
            self.assertEqual(handler.failures, 0)
            self.assertEqual(handler.counters()["logged"], 1)
        finally:
            logger.removeHandler(handler)
            handler.close()

    def test_its_own_failures_never_raise_and_are_reported_once(self):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            missing = CantinaHandler("no_library", self.sandbox.config, library="/nonexistent/libcantina_bus_c.so")
            bad_config = self.sandbox.dir / "bad.toml"
            bad_config.write_text("[bus]\npublish_endpont = 1\n")
            broken = CantinaHandler("bad_config", bad_config, library=LIB)
            logger = logging.getLogger("failure_test")
            logger.propagate = False
            for handler in (missing, broken):
                logger.addHandler(handler)
            for n in range(3):
                logger.error("lost %d", n)
                logger.error("bad format %d", "not a number")
            for handler in (missing, broken):
                logger.removeHandler(handler)
                handler.close()
        lines = stderr.getvalue().splitlines()
        self.assertEqual(len(lines), 2, lines)   # one per handler, however many records failed
        self.assertIn("/nonexistent/libcantina_bus_c.so not found", lines[0])
        self.assertIn(f"{bad_config}:2:1: bus.publish_endpont: unknown key", lines[1])
        self.assertFalse(missing.connected)
        self.assertEqual(missing.failures, 7)   # the set-up and six records
        self.assertEqual(broken.failures, 7)

    def test_the_native_module_is_found_beside_the_library_and_used(self):
        self.assertIsNotNone(cantina_logging.NATIVE, f"_cantina_logging.abi3.so not loaded from beside {LIB} (not "
                             "built, or $CANTINA_PYTHON_NATIVE=0)")
        self.assertEqual(Path(cantina_logging.NATIVE.__file__).parent, LIB.resolve().parent)
        handler = CantinaHandler("native_test", self.sandbox.config, library=LIB)
        try:
            self.assertTrue(handler.native)
        finally:
            handler.close()

    def test_native_and_ctypes_paths_behave_the_same(self):
        """Threshold before formatting, failures counted never raised, fields, exception and stack
        text, a fork's child logging through its own Logger, a bus that is gone, and records
        still queued at exit: the same through the native module and through ctypes."""
        script = self.sandbox.dir / "paths.py"
        script.write_text(PATHS_SCRIPT)
        gone_config = self.sandbox.dir / "gone.toml"
        gone_config.write_text(f'[bus]\npublish_endpoint = "ipc://{self.sandbox.dir}/gone-publish"\n'
                               f'subscribe_endpoint = "ipc://{self.sandbox.dir}/gone-subscribe"\n')
        for path in ("native", "ctypes"):
            with self.subTest(path=path):
                tag = f"paths-{path}"
                env = self.path_env(path)
                # No fork under the sanitizers of Debian's GCC 12. ThreadSanitizer does not
                # support a thread started in the child of a multi-threaded process (the
                # child's own Logger); AddressSanitizer does not take its allocator's locks
                # around fork, so the child hangs for good when another thread of the parent
                # held one then (seen 1 run in 8: the child's first allocation waits on the
                # lock). The plain build forks.
                sanitize = os.environ.get("CANTINA_SANITIZE", "")
                forks = "thread" not in sanitize and "address" not in sanitize
                if not forks:
                    env["CANTINA_TEST_NO_FORK"] = "1"
                run = subprocess.run([sys.executable, str(script), tag, path, str(gone_config)], env=env,
                                     capture_output=True, text=True, timeout=60)
                self.assertEqual(run.returncode, 0, run.stderr)
                # Three failures (two messages, one field that cannot be formatted), reported once;
                # the bus that is gone: one record after close(); nothing dropped on the live bus.
                self.assertEqual(run.stdout.split(), ["failures", "3", "1", "0"], run.stderr)
                self.assertEqual(len(run.stderr.splitlines()), 1, run.stderr)
                self.assertIn("cannot be a string", run.stderr)
                queued = rf"Py Paths Test +{tag}: queued \d+$"
                self.assertTrue(wait_for(lambda: len(self.sandbox.lines_matching(queued)) == 500, 15),
                                f"{len(self.sandbox.lines_matching(queued))} of 500 queued records arrived")
                records = self.history("py_paths_test", 1000)
                self.assertTrue(records, "no records of py_paths_test in the session file")
                mine = {record["message"].partition("\n")[0]: record for record in records
                        if record["message"].startswith(tag) and ": queued " not in record["message"]}
                self.assertIn(f"{tag}: fields", mine, f"{len(records)} records: {sorted(mine)} {records[:2]}")
                self.assertEqual(mine[f"{tag}: fields"]["fields"], {"track": "Cantina Band", "volume": "45"})
                self.assertEqual(mine[f"{tag}: fields"]["logger"], "cantina_os.paths")
                self.assertEqual(mine[f"{tag}: fields"]["file"], str(script))
                self.assertEqual(mine[f"{tag}: fields"]["function"], "<module>")
                self.assertIn("\nTraceback (most recent call last):\n", mine[f"{tag}: exception"]["message"])
                self.assertTrue(mine[f"{tag}: exception"]["message"].endswith("KeyError: 'missing'"))
                self.assertIn("\nStack (most recent call last):\n", mine[f"{tag}: stack"]["message"])
                children = [record for text, record in mine.items() if text.startswith(f"{tag}: child ")]
                self.assertEqual(len(children), 1 if forks else 0, sorted(mine))
                expected = ["fields", "exception", "stack", "before fork", "parent after fork"]
                if forks:
                    child_pid = int(next(text for text in mine if text.startswith(f"{tag}: child ")).split()[-1])
                    self.assertEqual(children[0]["pid"], child_pid)
                    self.assertEqual(children[0]["fields"], {"who": "child"})
                    self.assertNotEqual(mine[f"{tag}: parent after fork"]["pid"], child_pid)
                    expected.append(f"child {child_pid}")
                self.assertEqual(sorted(mine), sorted(f"{tag}: {text}" for text in expected))
                self.assertEqual(self.sandbox.lines_matching(f"{tag}: (nobody listens|after close|unformattable|"
                                                             "filtered out)"), [])
                self.assertTrue(wait_for(lambda: self.sandbox.lines_matching(
                    f"Py Paths Test +formatted INFO {tag}: with a formatter$"), 10))

    def test_messages_are_formatted_as_python_formats_them(self):
        """Every %-conversion, argument type and failure the same as `msg % args`, through the
        native module (which formats %s, %d, %i and %% of str and int itself) and through ctypes."""
        script = self.sandbox.dir / "format.py"
        script.write_text(FORMAT_SCRIPT)
        for path in ("native", "ctypes"):
            with self.subTest(path=path):
                tag = f"format-{path}"
                env = self.path_env(path)
                run = subprocess.run([sys.executable, str(script), tag, path], env=env, capture_output=True,
                                     text=True, timeout=60)
                self.assertEqual(run.returncode, 0, run.stderr)
                outcome = json.loads(run.stdout)
                self.assertEqual(outcome["failures"], 6, run.stderr)
                expected = outcome["expected"]

                def arrived():
                    return [record["message"] for record in self.history("py_format_test", 1000)
                            if record["message"].startswith(f"{tag} ")]
                self.assertTrue(wait_for(lambda: len(arrived()) >= len(expected), 15), arrived())
                self.assertEqual(arrived(), expected)

    def test_exit_while_another_thread_logs(self):
        script = self.sandbox.dir / "exit.py"
        script.write_text(EXIT_SCRIPT)
        for path in ("native", "ctypes"):
            with self.subTest(path=path):
                tag = f"exit-{path}"
                env = self.path_env(path)
                for attempt in range(3):
                    run = subprocess.run([sys.executable, str(script), f"{tag}-{attempt}"], env=env,
                                         capture_output=True, text=True, timeout=60)
                    self.assertEqual(run.returncode, 0, run.stderr)
                    self.assertEqual(run.stderr, "")
                    self.assertTrue(wait_for(lambda: self.sandbox.lines_matching(
                        rf"Py Exit Test +{tag}-{attempt}: main done$"), 10))

    def test_python_levels_map_to_bus_levels(self):
        mapping = {logging.NOTSET: "DEBUG", 5: "DEBUG", logging.DEBUG: "DEBUG", 15: "DEBUG", logging.INFO: "INFO",
                   25: "INFO", logging.WARNING: "WARNING", logging.ERROR: "ERROR", 45: "ERROR",
                   logging.CRITICAL: "CRITICAL", 99: "CRITICAL"}
        for python_level, name in mapping.items():
            self.assertEqual(cantina_logging.LEVEL_NAMES[cantina_logging.bus_level(python_level)], name)

    def test_the_library_and_config_are_found_from_the_environment(self):
        with unittest.mock.patch.dict(os.environ, {"CANTINA_LIB": "/x/lib.so", "CANTINA_CONFIG": "/y/c.toml"}):
            self.assertEqual(cantina_logging.find_library(), Path("/x/lib.so"))
            self.assertEqual(cantina_logging.find_config(), Path("/y/c.toml"))
        with unittest.mock.patch.dict(os.environ, clear=True):
            self.assertEqual(cantina_logging.find_library(), SOURCE_DIR / "build" / "lib" / "libcantina_bus_c.so")
            self.assertEqual(cantina_logging.find_config(), SOURCE_DIR / "conf" / "cantina.toml")
        self.assertEqual(cantina_logging.find_config("/z.toml"), Path("/z.toml"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
