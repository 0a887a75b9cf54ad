"""tools/cantina's supervisor with the real binaries, as a user runs it: one `up --detach`
with a shell loop that only prints (and leaves a grandchild), a program that crashes at
start, the C++ example service and a Python service using CantinaHandler; then the session
file, `status`, `level` and the bus are checked, and `down` must leave no process.

The checks share one supervisor (class fixture) and run in name order; each can fail on
its own. Run by ctest as supervisor_test (CANTINA_BIN_DIR and CANTINA_LIB point at the build).
"""

import json
import re
import subprocess
import sys
import unittest
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import BIN_DIR, TOOL, Sandbox, wait_for  # noqa: E402

PYTHON_SERVICE = """
import logging, time
from cantina_logging import CantinaHandler      # found through the supervisor's PYTHONPATH
handler = CantinaHandler()                        # service id from $CANTINA_SERVICE
logging.getLogger().addHandler(handler)
logging.getLogger().setLevel(logging.INFO)
logging.getLogger("cantina_os.py").info("python service up (native handler: %s)", handler.native)
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("cantina_os.py").exception("could not divide")
while True:
    time.sleep(1)
"""

TRACER = """
import array, fcntl, sys, termios, time
print("WARN: disk almost full", file=sys.stderr, flush=True)
print("ERROR: motor stalled", file=sys.stderr, flush=True)
print("state:", file=sys.stderr)
print("  volume = 45", file=sys.stderr)
print("  track = Cantina Band", file=sys.stderr, flush=True)
unread = array.array("i", [1])
while unread[0]:   # until the reader has read it all (a slow start must not join what follows)
    fcntl.ioctl(2, termios.FIONREAD, unread)
    time.sleep(0.01)
time.sleep(0.5)    # longer than the reader's wait: the record above is complete
1 / 0
"""

SERVICES = """
[[service]]
name = "looper"
command = '''sleep 600 & i=0; while :; do i=$((i+1)); echo "tick $i"; echo "low fuel $i" >&2; echo "[ERROR] servo $i stalled"; echo "DEBUG: detail $i"; sleep 0.2; done'''
start_secs = 0.3

[[service]]
name = "crasher"
command = "echo crasher starting; echo cannot open /dev/ttyACM9 >&2; exit 3"
start_secs = 1

[[service]]
name = "head_servo"
command = ["cantina-example-service", "--interval", "0.1"]
ready = "status"

[[service]]
name = "py_service"
command = ["python3", "{script}"]
start_secs = 0.5

[[service]]
name = "tracer"
command = ["python3", "{tracer}"]
start_secs = 0
restart = "never"
"""


def timestamp(line: str) -> float:
    """Seconds since the epoch of a session file line '[2026-11-26T17:53:20.584440Z] ...'."""
    return datetime.fromisoformat(line[1:27] + "+00:00").timestamp()


class SupervisorTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox()
        script = cls.sandbox.dir / "py_service.py"
        script.write_text(PYTHON_SERVICE)
        cls.tracer = cls.sandbox.dir / "tracer.py"
        cls.tracer.write_text(TRACER)
        cls.sandbox.config.write_text(cls.sandbox.config.read_text()
                                      + SERVICES.format(script=script, tracer=cls.tracer))
        cls.up = cls.sandbox.cantina("up", "--detach")

    @classmethod
    def tearDownClass(cls):
        cls.sandbox.cantina("down")
        cls.sandbox.close()

    def setUp(self):
        self.assertEqual(self.up.returncode, 0, self.up.stdout + self.up.stderr)

    def wait_for_line(self, pattern: str, timeout: float = 10) -> str:
        found = wait_for(lambda: self.sandbox.lines_matching(pattern), timeout)
        self.assertTrue(found, f"no line matching {pattern!r} in the session file:\n"
                               + "\n".join(self.sandbox.session_lines()[-30:]))
        return found[0]

    def test_1_stdout_and_stderr_lines_arrive_with_the_service_and_a_level(self):
        self.wait_for_line(r"\] INFO     Looper +tick \d+$")
        self.wait_for_line(r"\] WARNING  Looper +low fuel \d+$")                 # stderr
        self.wait_for_line(r"\] ERROR    Looper +\[ERROR\] servo \d+ stalled$")  # announced level
        self.wait_for_line(r"\] DEBUG    Looper +DEBUG: detail \d+$")
        self.wait_for_line(r"\] WARNING  Crasher +cannot open /dev/ttyACM9$")
        output = (self.sandbox.state_dir / "looper.out").read_text()
        self.assertIn("tick 1\n", output)
        self.assertIn("low fuel 1\n", output)

    def test_2_the_level_command_reaches_the_example_services_logger(self):
        self.wait_for_line(r"\] INFO     Head Servo +Head turned to -?\d+ degrees$")
        self.assertEqual(self.sandbox.lines_matching(r"\] DEBUG    Head Servo "), [])
        level = self.sandbox.cantina("level", "head_servo", "DEBUG", timeout=20)
        self.assertEqual(level.returncode, 0, level.stdout + level.stderr)
        self.assertIn("head_servo: log level INFO -> DEBUG", level.stdout)
        self.wait_for_line(r"\] DEBUG    Head Servo +tick \d+: PWM duty \d+ us for -?\d+ degrees$")
        lines = self.sandbox.session_lines()
        changed = next(i for i, line in enumerate(lines) if "Head Servo           log level changed from INFO to DEBUG"
                       in line)
        first_debug = next(i for i, line in enumerate(lines) if "] DEBUG    Head Servo " in line)
        self.assertLess(changed, first_debug)

    def test_3_a_supervised_python_service_logs_through_the_handler(self):
        # the native module is found beside the library, as cantina_logging.py through PYTHONPATH
        self.wait_for_line(r"\] INFO     Py Service +python service up \(native handler: True\)$")
        line = self.wait_for_line(r"\] ERROR    Py Service +could not divide\\nTraceback")
        self.assertIn("ZeroDivisionError: division by zero", line)

    def test_3b_captured_output_and_log_pipe_read_lines_alike(self):
        # The same output, captured from a service's stderr and piped into `log --pipe`:
        # one reader, so the same records (level prefix, indented lines, a traceback).
        piped = subprocess.run(f"python3 {self.tracer} 2>&1 | {TOOL} --config {self.sandbox.config} log "
                               "--service piper --level WARNING --pipe", shell=True, capture_output=True,
                               text=True, timeout=30, env=self.sandbox.env)
        self.assertEqual(piped.returncode, 0, piped.stderr)
        for name in ("Tracer", "Piper"):
            with self.subTest(entry_point=name):
                self.wait_for_line(rf"\] WARNING  {name} +WARN: disk almost full$")
                self.wait_for_line(rf"\] ERROR    {name} +ERROR: motor stalled$")
                self.wait_for_line(rf"\] WARNING  {name} +state:\\n  volume = 45\\n  track = Cantina Band$")
                line = self.wait_for_line(rf"\] ERROR    {name} +Traceback \(most recent call last\):\\n  File ")
                self.assertTrue(line.endswith("\\nZeroDivisionError: division by zero"), line)
                self.assertEqual(len(self.sandbox.lines_matching(rf"\] \w+ +{name} ")), 4,
                                 self.sandbox.lines_matching(rf"\] \w+ +{name} "))

    def test_4_a_crashing_service_is_restarted_with_backoff_then_fatal(self):
        def crasher() -> dict:
            state = json.loads(self.sandbox.cantina("status", "--json").stdout)
            return next(child for child in state["children"] if child["name"] == "crasher")

        self.assertTrue(wait_for(lambda: crasher()["state"] == "FATAL", 30, 0.5), crasher())
        self.assertEqual(crasher()["restarts"], 4)
        self.assertIsNone(crasher()["pid"])
        # A service's last output goes out as its pipes close, not after its Logger's
        # unwatched linger (1 s): the fifth start is in the file at once.
        start_lines = r"\] INFO     Crasher +crasher starting$"
        wait_for(lambda: len(self.sandbox.lines_matching(start_lines)) == 5, 0.5)
        starts = [timestamp(line) for line in self.sandbox.lines_matching(start_lines)]
        self.assertEqual(len(starts), 5, starts)
        gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
        for gap, backoff in zip(gaps, [1, 2, 4, 8]):
            self.assertGreaterEqual(gap, backoff * 0.95, gaps)
            self.assertLess(gap, backoff + 1.5, gaps)

        status = self.sandbox.cantina("status")
        self.assertEqual(status.returncode, 0)
        self.assertRegex(status.stdout, r"crasher +FATAL +- +- +4  failed 5 times in a row within 1 s of starting "
                                        r"\(last: exited during start-up \(exit code 3\)\)")
        self.assertRegex(status.stdout, r"looper +RUNNING +\d+ +\d+s +0 ")
        on_bus = subprocess.run([str(BIN_DIR / "cantina-cli"), "wait-status", "--config", str(self.sandbox.config),
                                 "--service", "crasher", "--state", "FATAL", "--timeout", "5"],
                                capture_output=True, text=True, timeout=20)
        self.assertEqual(on_bus.returncode, 0, on_bus.stderr)
        self.assertIn("failed 5 times in a row", on_bus.stdout)
        log = (self.sandbox.state_dir / "supervisor.log").read_text()
        self.assertEqual(re.findall(r"crasher \(pid \d+\) exited during start-up \(exit code 3\); restarting in (\d+) s",
                                    log), ["1", "2", "4", "8"])

    def test_5_down_stops_everything_and_leaves_no_process(self):
        self.assertTrue(self.sandbox.leftover_pids())   # the marker finds the running processes
        down = self.sandbox.cantina("down")
        self.assertEqual(down.returncode, 0, down.stdout + down.stderr)
        left = wait_for(lambda: not self.sandbox.leftover_pids(), 5)
        self.assertTrue(left, self.sandbox.describe(self.sandbox.leftover_pids()))
        status = self.sandbox.cantina("status")
        self.assertEqual(status.returncode, 3)
        self.assertIn("nothing is running", status.stdout)
        # The logging node drained and closed its session: the services' last lines are in it.
        self.wait_for_line(r"\] INFO     Head Servo +Head parked at 0 degrees; stopping$", 1)
        self.wait_for_line(r"Logging Service +session \S+ stopping", 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
