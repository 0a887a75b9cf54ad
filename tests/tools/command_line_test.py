"""The command line as a user meets it, with the real binaries: every command's --help; tail
with nothing running (it says so within 2 s on stderr and keeps waiting, then follows once the
bus and the logging node come; `-n N --no-follow` exits 1); and, with a supervisor running a
config that is not the default, tail/level/log without --config, one name per service in text
and JSON (history and live alike), and the logging node's counters as readable lines.

Run by ctest as command_line_test (CANTINA_BIN_DIR and CANTINA_LIB point at the build).
"""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import BIN_DIR, TOOL, Sandbox, wait_for  # noqa: E402

OPTIONS = {   # every option each command's --help must list
    "tail": ["-n N", "--no-follow", "--service", "--level", "--grep", "--json", "--topic", "--colour", "--no-colour",
             "--bus", "--query", "--config"],
    "level": ["SERVICE LEVEL", "--timeout", "--config"],
    "log": ["--service", "--level", "--pipe", "--timeout", "--config"],
    "keygen": ["NAME", "--dir"],
    "wait-status": ["--service", "--state", "--timeout", "--config"],
    "check-config": ["--config", "--quiet"],
    "show-config": ["--config"],
}


class Lines:
    """Reads a process's stream in a thread; lines with the time they arrived."""

    def __init__(self, stream):
        self.queue: queue.Queue = queue.Queue()
        threading.Thread(target=self.pump, args=(stream,), daemon=True).start()

    def pump(self, stream) -> None:
        for line in stream:
            self.queue.put((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, text: str, timeout: float) -> tuple[float, str] | None:
        """The first line containing `text` within `timeout` s (earlier lines are consumed)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                arrived, line = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if text in line:
                return arrived, line


class HelpTest(unittest.TestCase):

    def test_every_command_answers_help_with_its_options(self):
        env = dict(os.environ, CANTINA_BIN_DIR=str(BIN_DIR))
        for command, options in OPTIONS.items():
            for argv, program in (([str(TOOL), command], "tools/cantina"),
                                  ([str(BIN_DIR / "cantina-cli"), command], "cantina-cli")):
                if program == "tools/cantina" and command not in ("tail", "level", "log", "keygen"):
                    continue
                with self.subTest(program=program, command=command):
                    result = subprocess.run([*argv, "--help"], env=env, capture_output=True, text=True, timeout=30)
                    self.assertEqual(result.returncode, 0, result.stderr)
                    self.assertRegex(result.stdout, rf"^usage: \S*{program} {command}")
                    for option in options:
                        self.assertIn(option, result.stdout)
        for command in ("setup", "build", "test", "up", "down", "status", "restart", "check", "bench"):
            with self.subTest(program="tools/cantina", command=command):
                result = subprocess.run([str(TOOL), command, "--help"], env=env, capture_output=True, text=True,
                                        timeout=60)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("usage:", result.stdout)
        # the benchmark drivers, also after their mode word (where --help used to be an unknown option)
        for argv in (["cantina-bench-load"], ["cantina-bench-load", "publish"], ["cantina-bench-raw", "pub"],
                     ["cantina-bench-ws"]):
            with self.subTest(program=" ".join(argv)):
                result = subprocess.run([str(BIN_DIR / argv[0]), *argv[1:], "--help"], capture_output=True,
                                        text=True, timeout=30)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertRegex(result.stdout, rf"^usage: {argv[0]} ")
        overview = subprocess.run([str(TOOL), "--help"], env=env, capture_output=True, text=True)
        self.assertIn("print log records live", overview.stdout)
        wrong = subprocess.run([str(TOOL), "tail", "--bogus"], env=env, capture_output=True, text=True)
        self.assertEqual(wrong.returncode, 2)
        self.assertIn(f"{TOOL} tail: unknown option --bogus (see {TOOL} tail --help)", wrong.stderr)


class BenchTest(unittest.TestCase):

    def test_bench_runs_the_binaries_of_the_bin_dir_it_is_given(self):
        # `--bin-dir` was appended after the user's own, so the build/ binaries ran instead
        missing = Path("/nonexistent-cantina-bin")
        result = subprocess.run([str(TOOL), "bench", "throughput", "--runs", "1", "--bin-dir", str(missing)],
                                capture_output=True, text=True, timeout=120)
        self.assertIn(f"{missing}/cantina-busd is missing", result.stdout + result.stderr)
        self.assertNotIn("building build/", result.stdout + result.stderr)

    def test_the_services_linger_is_checked_where_it_is_given(self):
        # --linger-unwatched sets what [bus] logger_linger_unwatched_ms accepts, only for `services`
        for argv, message in ((["services", "--linger-unwatched", "1001"], "--linger-unwatched: 0 to 1000 ms"),
                              (["steady", "--linger-unwatched", "500"],
                               "--linger-unwatched is not used by steady (only by services)")):
            with self.subTest(argv=argv):
                result = subprocess.run([str(TOOL), "bench", *argv, "--bin-dir", str(BIN_DIR)], capture_output=True,
                                        text=True, timeout=60)
                self.assertEqual(result.returncode, 2)
                self.assertIn(message, result.stderr)
        load = subprocess.run([str(BIN_DIR / "cantina-bench-load"), "publish", "--publish", "tcp://127.0.0.1:1",
                               "--linger-unwatched", "-1"], capture_output=True, text=True, timeout=30)
        self.assertEqual(load.returncode, 1)
        self.assertIn("--linger-unwatched must be 0 to 1000 ms", load.stderr)

    def test_bench_raw_measures_what_a_wake_up_costs(self):
        result = subprocess.run([str(BIN_DIR / "cantina-bench-raw"), "wakeups", "--rate", "100", "--seconds", "0.2"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        figures = json.loads(result.stdout.split("result ", 1)[1])
        self.assertEqual(figures["wakes"], 20)
        self.assertGreater(figures["timer_wake_us"], 0)
        self.assertGreater(figures["event_wake_us"], 0)


class NothingRunningTest(unittest.TestCase):

    def setUp(self):
        self.sandbox = Sandbox()
        self.addCleanup(self.sandbox.close)
        self.processes: list[subprocess.Popen] = []

    def tearDown(self):
        for process in reversed(self.processes):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def start(self, *argv: str, **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(list(argv), env=self.sandbox.env, text=True, **kwargs)
        self.processes.append(process)
        return process

    def test_history_without_a_logging_node_exits_non_zero(self):
        result = self.sandbox.cantina("tail", "-n", "5", "--no-follow", timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertIn("no history: the logging node at", result.stderr)

    def test_tail_says_within_2_s_that_nothing_answers_and_follows_once_it_does(self):
        started = time.monotonic()   # cantina-cli itself: Python's start-up under load is not tail's
        tail = self.start(str(BIN_DIR / "cantina-cli"), "tail", "--config", str(self.sandbox.config),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stdout, stderr = Lines(tail.stdout), Lines(tail.stderr)
        said = stderr.wait_for("no bus answers at ipc://", 5)
        self.assertIsNotNone(said, "tail said nothing about the missing bus")
        self.assertLess(said[0] - started, 2.0)
        self.assertIn("still waiting", said[1])
        time.sleep(1)
        self.assertIsNone(tail.poll(), "tail gave up")

        config = ["--config", str(self.sandbox.config)]
        self.start(str(BIN_DIR / "cantina-busd"), *config, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bus_up = time.monotonic()
        self.assertIsNotNone(stderr.wait_for("answers now", 10), "tail did not notice the bus")
        said = stderr.wait_for("no logging node answers", 5)
        self.assertIsNotNone(said, "tail said nothing about the missing logging node")
        self.assertLess(said[0] - bus_up, 3.0)

        self.start(str(BIN_DIR / "cantina-logd"), *config, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.assertIsNotNone(stderr.wait_for("the logging node answers now", 15))
        log = self.sandbox.cantina("log", "--service", "head_servo", "--level", "WARNING", "servo hot")
        self.assertEqual(log.returncode, 0, log.stderr)
        line = stdout.wait_for("servo hot", 10)
        self.assertIsNotNone(line, "tail did not follow once everything ran")
        self.assertRegex(line[1], r"\] WARNING  Head Servo +servo hot$")


class WithSupervisorTest(unittest.TestCase):
    """One supervisor on a config that is not the default, for every check below."""

    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox()
        cls.env = {key: value for key, value in cls.sandbox.env.items() if key != "CANTINA_CONFIG"}
        cls.up = cls.sandbox.cantina("up", "--detach", timeout=120)

    @classmethod
    def tearDownClass(cls):
        cls.sandbox.cantina("down")
        cls.sandbox.close()

    def setUp(self):
        self.assertEqual(self.up.returncode, 0, self.up.stdout + self.up.stderr)

    def cantina(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """tools/cantina without --config and without $CANTINA_CONFIG: as typed in a fresh shell."""
        return subprocess.run([str(TOOL), *args], env=self.env, input=stdin, capture_output=True, text=True,
                              timeout=60)

    def test_log_without_config_reaches_the_running_supervisors_bus(self):
        result = self.cantina("log", "--service", "music_controller", "volume set without --config")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(wait_for(lambda: self.sandbox.lines_matching(
            r"\] INFO     Music Controller +volume set without --config$"), 10))

    def test_one_name_per_service_in_text_and_json_history_and_live(self):
        tails = {form: subprocess.Popen([str(TOOL), "tail", "--service", "deepgram_direct_mic", *extra], env=self.env,
                                        text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                 for form, extra in (("text", []), ("json", ["--json"]))}
        try:
            lines = {form: Lines(tail.stdout) for form, tail in tails.items()}
            time.sleep(1.5)   # the subscriptions reach the bus
            self.assertEqual(self.cantina("log", "--service", "deepgram_direct_mic", "mic gain 7").returncode, 0)
            live_text = lines["text"].wait_for("mic gain 7", 10)
            live_json = lines["json"].wait_for("mic gain 7", 10)
        finally:
            for tail in tails.values():
                tail.terminate()
                tail.wait()
                tail.stdout.close()
        self.assertRegex(live_text[1], r"\] INFO     Voice Input +mic gain 7$")
        live = json.loads(live_json[1])
        history_text = self.cantina("tail", "-n", "50", "--no-follow", "--service", "deepgram_direct_mic")
        history_json = self.cantina("tail", "-n", "50", "--no-follow", "--json", "--service", "deepgram_direct_mic")
        self.assertEqual(history_text.returncode, 0, history_text.stderr)
        self.assertRegex(history_text.stdout, r"\] INFO     Voice Input +mic gain 7\n")
        history = next(json.loads(line) for line in history_json.stdout.splitlines() if "mic gain 7" in line)
        for record in (live, history):
            self.assertEqual((record["service"], record["service_name"]), ("deepgram_direct_mic", "Voice Input"))
            self.assertNotIn("service_id", record)

    def test_the_logging_nodes_counters_read_as_numbers(self):
        def first_lines(*extra: str, count: int = 2) -> list[str]:
            tail = subprocess.Popen([str(TOOL), "tail", "--topic", "/logging/stats", *extra], env=self.env,
                                    text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            try:
                lines = Lines(tail.stdout)
                return [lines.wait_for("", 10)[1] for _ in range(count)]
            finally:
                tail.terminate()
                tail.wait()
                tail.stdout.close()
        for line in first_lines():
            self.assertRegex(line, r"^\[\S+Z\] STATS    received [\d,]+  written [\d,]+  deduplicated [\d,]+  "
                                   r"filtered [\d,]+  lost [\d,]+  dropped [\d,]+  malformed [\d,]+  unwritten [\d,]+  "
                                   r"not streamed [\d,]+  queue [\d,]+  publishers [\d,]+  file [\d,]+ bytes  up \d")
        stats = json.loads(first_lines("--json", count=1)[0])
        self.assertEqual(stats["topic"], "/logging/stats")
        self.assertIsInstance(stats["received"], int)


if __name__ == "__main__":
    unittest.main(verbosity=2)
