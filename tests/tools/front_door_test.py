"""Self-tests of tools/cantina: the supervisor run against the fake binaries in fake_bin/,
and the pure functions of its package (tools/cantina_tool/).

Run by ctest as cantina_front_door_test, or with: python3 tests/tools/front_door_test.py
Every test uses its own state dir, ephemeral ports on 127.0.0.1 and a pid dir where each
fake records itself, and checks that no process is left behind.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAKE_BIN = HERE / "fake_bin"

sys.path.insert(0, str(HERE))
from support import TOOL, free_port  # noqa: E402

sys.path.insert(0, str(TOOL.parent))   # tools/: the package cantina_tool behind tools/cantina
from cantina_tool.capture import line_level  # noqa: E402
from cantina_tool.children import backoff_delay, should_restart  # noqa: E402
from cantina_tool.cli import split_config_option  # noqa: E402
from cantina_tool.messages import format_duration  # noqa: E402
from cantina_tool.supervisor import session_file_from_status  # noqa: E402
from cantina_logging import INFO, LEVEL_NAMES, WARNING  # noqa: E402  (tools/python, put on sys.path by the package)


def alive(pid: int) -> bool:
    """True if pid runs and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in "ZX"
    except OSError:
        return False


def wait_for(condition, timeout: float = 10.0) -> bool:
    """Polls condition until it holds or timeout passes; returns whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class SupervisorTest(unittest.TestCase):

    def setUp(self):
        self.temp = tempfile.TemporaryDirectory(prefix="cantina-test-")
        self.dir = Path(self.temp.name)
        self.pids = self.dir / "pids"
        self.pids.mkdir()
        self.state_dir = self.dir / "state"
        self.logs = self.dir / "logs"
        self.env = dict(os.environ, CANTINA_BIN_DIR=str(FAKE_BIN), CANTINA_STATE_DIR=str(self.state_dir),
                        FAKE_PID_DIR=str(self.pids))
        self.config = self.dir / "cantina.toml"

    def tearDown(self):
        state = self.state()               # never leak processes, even when a test fails
        if state and alive(state["supervisor_pid"]):
            os.kill(state["supervisor_pid"], signal.SIGKILL)
        for pid in self.recorded_pids():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.temp.cleanup()

    def write_config(self, services: str = "", extra: str = "") -> None:
        """Writes a config with fresh ports, the temp session folder and the given [[service]] tables."""
        self.config.write_text(f"""
[bus]
publish_endpoint = "tcp://127.0.0.1:{free_port()}"
subscribe_endpoint = "tcp://127.0.0.1:{free_port()}"
[logging]
session_file_path = "{self.logs}"
{services}
{extra}
""")

    def demo_service(self, args: str = '"--grandchild"', restart: str = "on-failure", start_secs: float = 0.2,
                     name: str = "demo") -> str:
        return (f'[[service]]\nname = "{name}"\ncommand = ["fake-service", {args}]\n'
                f'restart = "{restart}"\nstart_secs = {start_secs}\nenvironment = {{ GREETING = "hi" }}\n')

    def cantina(self, *args, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([str(TOOL), "--config", str(self.config), *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def child(self, name: str) -> dict:
        """The state file's entry for one child."""
        return next(child for child in self.state()["children"] if child["name"] == name)

    def recorded_pids(self) -> list[int]:
        return [int(path.suffix[1:]) for path in self.pids.iterdir()]

    def state(self) -> dict | None:
        try:
            return json.loads((self.state_dir / "state.json").read_text())
        except (OSError, ValueError):
            return None

    def assert_nothing_left(self) -> None:
        self.assertTrue(wait_for(lambda: not any(alive(pid) for pid in self.recorded_pids()), 5),
                        [path.name for path in self.pids.iterdir() if alive(int(path.suffix[1:]))])
        self.assertIsNone(self.state())

    def test_a_bad_config_line_is_shown_and_nothing_starts(self):
        self.write_config(extra="[logging_extra]\n  bogus = 1")
        result = self.cantina("up")
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{self.config}:9:3: bogus: unknown key", result.stderr)
        self.assertEqual(self.recorded_pids(), [])
        self.assertIsNone(self.state())

    def test_foreground_up_runs_everything_and_ctrl_c_stops_it_in_reverse_order(self):
        self.write_config(self.demo_service())
        up = subprocess.Popen([str(TOOL), "--config", str(self.config), "up"], env=self.env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.assertTrue(wait_for(lambda: (self.state() or {}).get("ready")), "never ready")
            children = {child["name"]: child["pid"] for child in self.state()["children"]}
            self.assertEqual(list(children), ["cantina-busd", "cantina-logd", "demo"])
            # Ready means the demo stayed up for start_secs; on a loaded machine its Python may
            # record itself and start its grandchild later.
            self.assertTrue(wait_for(lambda: len(self.recorded_pids()) == 4),   # with the service's grandchild
                            [path.name for path in self.pids.iterdir()])
            self.assertTrue(all(alive(pid) for pid in self.recorded_pids()))
            up.send_signal(signal.SIGINT)
            output = up.communicate(timeout=15)[0]
        finally:
            up.kill()
        self.assertEqual(up.returncode, 0, output)
        session_file = next(self.logs.glob("cantina-session-*.log"))
        self.assertIn(f"Session file: {session_file}", output)
        self.assertIn("Press Ctrl-C to stop", output)
        self.assertIn("tools/cantina tail", output)
        stops = [output.index(f"stopped {name} (pid {pid}") for name, pid in children.items()]
        self.assertEqual(stops, sorted(stops, reverse=True), output)
        self.assert_nothing_left()
        self.assertIn("fake-service: up", (self.state_dir / "demo.out").read_text())

    def test_detached_up_returns_when_ready_and_down_stops_everything(self):
        self.write_config(self.demo_service())
        result = self.cantina("up", "--detach")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("tools/cantina down to stop", result.stdout)
        self.assertIn("Session file: " + str(self.logs), result.stdout)
        state = self.state()
        self.assertTrue(state["ready"] and alive(state["supervisor_pid"]))
        self.assertTrue(all(alive(child["pid"]) for child in state["children"]))

        again = self.cantina("up", "--detach")
        self.assertEqual(again.returncode, 1)
        self.assertIn("already running", again.stderr)

        down = self.cantina("down")
        self.assertEqual(down.returncode, 0, down.stderr)
        self.assertIn("stopped supervisor", down.stdout)
        self.assert_nothing_left()
        self.assertIn("nothing is running", self.cantina("down").stdout)

    def test_a_service_crashing_at_start_up_is_retried_while_the_rest_runs(self):
        self.write_config(self.demo_service('"--exit-after", "0.1", "--exit-code", "7", "--say", "boom"',
                                            start_secs=2) + self.demo_service(name="steady"))
        result = self.cantina("up", "--detach")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertRegex(result.stdout, r"demo +ERROR +exited during start-up \(exit code 7\); restarting in 1 s")
        self.assertIn("| boom", result.stdout)
        self.assertRegex(result.stdout, r"steady +RUNNING")
        self.assertTrue(wait_for(lambda: self.child("demo")["restarts"] >= 1, 5), self.state())
        status = self.cantina("status")
        self.assertEqual(status.returncode, 0, status.stderr)
        self.assertRegex(status.stdout, r"demo +(ERROR|STARTING) +")
        self.assertRegex(status.stdout, r"steady +RUNNING +\d+ +\d+s +0 ")
        self.assertEqual(self.cantina("down").returncode, 0)
        self.assert_nothing_left()

    def test_a_node_failing_at_start_up_is_reported(self):
        self.write_config(self.demo_service(), extra="[fake]\nlogd_exit = 3")
        result = self.cantina("up")
        self.assertEqual(result.returncode, 1)
        self.assertIn("cantina-logd", result.stderr)
        self.assertIn("exit code 3", result.stderr)
        self.assertIn("start-up error requested by the test", result.stderr)
        self.assertFalse(any(path.name.startswith("demo.") for path in self.pids.iterdir()))
        self.assert_nothing_left()

    def test_services_are_restarted_per_their_policy(self):
        self.write_config(self.demo_service('"--exit-after", "0.4", "--exit-code", "3"', name="flaky")
                          + self.demo_service('"--exit-after", "0.4"', restart="never", name="once"))
        self.assertEqual(self.cantina("up", "--detach").returncode, 0)
        first = {child["name"]: child["pid"] for child in self.state()["children"]}
        self.assertTrue(wait_for(lambda: self.child("flaky")["pid"] not in (None, first["flaky"]), 5),
                        "flaky was not restarted")
        self.assertEqual(self.child("flaky")["restarts"], 1)
        self.assertTrue(wait_for(lambda: self.child("once")["state"] == "STOPPED", 5), self.child("once"))
        self.assertEqual(self.child("once")["message"], "exited (exit code 0); restart policy 'never'")
        self.assertIsNone(self.child("once")["pid"])
        self.assertFalse(alive(first["once"]))
        self.assertEqual(self.cantina("down").returncode, 0)
        self.assert_nothing_left()
        log = (self.state_dir / "supervisor.log").read_text()
        self.assertIn("flaky", log)
        self.assertIn("restart policy 'never': not restarting", log)

    def test_children_die_with_a_killed_supervisor_and_down_clears_the_stale_state(self):
        self.write_config(self.demo_service('"--say", "no grandchild"'))
        self.assertEqual(self.cantina("up", "--detach").returncode, 0)
        os.kill(self.state()["supervisor_pid"], signal.SIGKILL)
        self.assertTrue(wait_for(lambda: not any(alive(pid) for pid in self.recorded_pids()), 5))
        down = self.cantina("down")
        self.assertEqual(down.returncode, 0)
        self.assertIn("nothing was running", down.stdout)
        self.assert_nothing_left()

    def test_status_says_clearly_when_nothing_runs(self):
        self.write_config(self.demo_service())
        result = self.cantina("status")
        self.assertEqual(result.returncode, 3)
        self.assertIn("nothing is running", result.stdout)
        self.assertEqual(json.loads(self.cantina("status", "--json").stdout)["running"], False)

    def test_sighup_or_sigterm_to_the_supervisor_stops_everything(self):
        self.write_config(self.demo_service())
        for signum in (signal.SIGHUP, signal.SIGTERM):
            with self.subTest(signal=signum.name):
                self.assertEqual(self.cantina("up", "--detach").returncode, 0)
                supervisor = self.state()["supervisor_pid"]
                os.kill(supervisor, signum)
                self.assertTrue(wait_for(lambda: not alive(supervisor), 15))
                self.assert_nothing_left()
                log = (self.state_dir / "supervisor.log").read_text()
                self.assertIn(f"received {signum.name}; stopping", log)
                self.assertIn("all stopped", log)
                self.assertIn("nothing is running", self.cantina("status").stdout)

    def test_restart_restarts_one_process_and_status_counts_it(self):
        self.write_config(self.demo_service())
        self.assertEqual(self.cantina("up", "--detach").returncode, 0)
        before = self.child("demo")["pid"]
        result = self.cantina("restart", "demo")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        after = self.child("demo")
        self.assertIn(f"restarted demo (pid {after['pid']})", result.stdout)
        self.assertNotEqual(after["pid"], before)
        self.assertFalse(alive(before))
        self.assertEqual((after["state"], after["restarts"]), ("RUNNING", 1))
        self.assertRegex(self.cantina("status").stdout, rf"demo +RUNNING +{after['pid']} +\d+s +1 ")
        unknown = self.cantina("restart", "nobody")
        self.assertEqual(unknown.returncode, 1)
        self.assertIn("no supervised process is named 'nobody' (there are: cantina-busd, cantina-logd, demo)",
                      unknown.stderr)
        self.assertEqual(self.cantina("down").returncode, 0)
        self.assert_nothing_left()
        again = self.cantina("restart", "demo")
        self.assertEqual(again.returncode, 1)
        self.assertIn("nothing is running", again.stderr)

    def test_a_services_stdout_and_stderr_go_to_its_output_file(self):
        self.write_config('[[service]]\nname = "talker"\nstart_secs = 0.1\n'
                          'command = "echo to stdout; echo to stderr >&2; exec sleep 600"\n')
        self.assertEqual(self.cantina("up", "--detach").returncode, 0)
        output = self.state_dir / "talker.out"
        self.assertTrue(wait_for(lambda: "to stderr" in output.read_text(), 5))
        self.assertIn("to stdout", output.read_text())
        self.assertTrue(wait_for(lambda: self.child("talker")["captured_lines"] == 2, 5), self.child("talker"))
        self.assertEqual(self.cantina("down").returncode, 0)

    def test_a_service_printing_fast_is_read_to_the_last_line(self):
        self.write_config('[[service]]\nname = "flood"\nstart_secs = 0\nrestart = "never"\n'
                          'command = "seq 1 200000; printf \'no newline at the end\'"\n')
        self.assertEqual(self.cantina("up", "--detach").returncode, 0)
        self.assertTrue(wait_for(lambda: self.child("flood")["captured_lines"] == 200001, 20), self.child("flood"))
        output = (self.state_dir / "flood.out").read_text()
        self.assertTrue(output.startswith("1\n2\n3\n") and output.endswith("200000\nno newline at the end"))
        self.assertEqual(self.cantina("down").returncode, 0)

    def test_what_an_exited_service_left_in_its_process_group_is_stopped(self):
        self.write_config(self.demo_service('"--grandchild", "--exit-after", "0.5"', restart="never"))
        self.assertEqual(self.cantina("up", "--detach").returncode, 0)
        self.assertTrue(wait_for(lambda: list(self.pids.glob("grandchild.*")), 5))
        grandchild = [int(path.suffix[1:]) for path in self.pids.glob("grandchild.*")]
        self.assertTrue(wait_for(lambda: self.child("demo")["state"] == "STOPPED", 5))
        self.assertTrue(wait_for(lambda: not alive(grandchild[0]), 5), "the grandchild outlived its service")
        self.assertEqual(self.cantina("down").returncode, 0)
        self.assert_nothing_left()

    def test_tail_level_log_pass_their_arguments_through(self):
        self.write_config()
        result = self.cantina("tail", "-n", "3", "--level", "ERROR")
        self.assertEqual(json.loads(result.stdout), ["tail", "--config", str(self.config), "-n", "3", "--level",
                                                     "ERROR"])
        result = subprocess.run([str(TOOL), "log", "--config", str(self.config), "hello --config"], env=self.env,
                                capture_output=True, text=True, cwd=self.dir)
        self.assertEqual(json.loads(result.stdout), ["log", "--config", str(self.config), "hello --config"])
        result = self.cantina("logs", "--session", "-1", "--since", "10 min ago", "--help")
        self.assertEqual(json.loads(result.stdout), ["logs", "--config", str(self.config), "--session", "-1",
                                                     "--since", "10 min ago", "--help"])


class HelpersTest(unittest.TestCase):

    def test_session_file_is_read_from_the_status_message(self):
        self.assertEqual(session_file_from_status("session 20261126-174500: /abs/logs/x.log"), "/abs/logs/x.log")
        self.assertEqual(session_file_from_status("/abs/logs/x.log"), "/abs/logs/x.log")

    def test_config_option_is_taken_from_anywhere_before_a_double_dash(self):
        self.assertEqual(split_config_option(["tail", "--config", "a.toml", "-n", "3"]),
                         ("a.toml", ["tail", "-n", "3"]))
        self.assertEqual(split_config_option(["--config=b.toml", "test", "--", "--config", "x"]),
                         ("b.toml", ["test", "--", "--config", "x"]))

    def test_backoff_doubles_up_to_thirty_seconds(self):
        self.assertEqual([backoff_delay(step) for step in range(7)], [1, 2, 4, 8, 16, 30, 30])
        self.assertEqual(backoff_delay(1000), 30)

    def test_a_captured_line_may_announce_its_level(self):
        level = lambda line: LEVEL_NAMES[line_level(line, INFO)]  # noqa: E731
        for line, expected in [(b"ERROR: disk full", "ERROR"), (b"[warn] slow", "WARNING"), (b"error reading", "ERROR"),
                               (b"  [DEBUG] x", "DEBUG"), (b"INFO:root:hello", "INFO"), (b"Warning - hot", "WARNING"),
                               (b"CRITICAL", "CRITICAL"), (b"fatal: not a git repository", "CRITICAL"),
                               (b"2026-11-26 17:53:20,584 ERROR boom", "ERROR"), (b"<4>kernel says", "WARNING"),
                               (b"E1126 17:53:20.584440  1234 main.cc:10] bad", "ERROR"),
                               (b"Errors: none", "INFO"), (b"Information", "INFO"), (b"I think so", "INFO"),
                               (b"ERR_CONNECTION_REFUSED", "INFO"), (b"the ERROR is later", "INFO")]:
            with self.subTest(line=line):
                self.assertEqual(level(line), expected)
        self.assertEqual(line_level(b"plain", WARNING), WARNING)

    def test_durations_read_like_a_human_wrote_them(self):
        self.assertEqual([format_duration(s) for s in (0, 59, 61, 3700, 90000)], ["0s", "59s", "1m 1s", "1h 1m", "1d 1h"])

    def test_restart_policies(self):
        self.assertTrue(should_restart("always", 0))
        self.assertTrue(should_restart("on-failure", 1) and should_restart("on-failure", -9))
        self.assertFalse(should_restart("on-failure", 0) or should_restart("never", 1))


if __name__ == "__main__":
    unittest.main()
