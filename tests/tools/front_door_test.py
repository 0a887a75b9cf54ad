"""Self-tests of tools/cantina: the supervisor run against the fake binaries in fake_bin/,
and the pure functions of its package (tools/cantina_tool/).

Run by ctest as cantina_front_door_test, or with: python3 tests/tools/front_door_test.py
Every test uses its own state dir, ephemeral ports on 127.0.0.1 and a pid dir where each
fake records itself, and checks that no process is left behind.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
FAKE_BIN = HERE / "fake_bin"

sys.path.insert(0, str(HERE))
from support import TOOL, free_port  # noqa: E402

sys.path.insert(0, str(TOOL.parent))   # tools/: the package cantina_tool behind tools/cantina
from cantina_tool import cmd_build  # noqa: E402
from cantina_tool.children import backoff_delay, should_restart  # noqa: E402
from cantina_tool.cli import build_parser, split_config_option  # noqa: E402
from cantina_tool.constants import BUILD_DIR, ROOT  # noqa: E402
from cantina_tool.messages import format_duration  # noqa: E402
from cantina_tool.supervisor import session_file_from_status  # noqa: E402


DAEMONIZE = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        name = f"daemon-{os.environ['CANTINA_SERVICE']}.{os.getpid()}"
        open(os.path.join(os.environ["FAKE_PID_DIR"], name), "w").close()
        os.execve("/bin/sleep", ["sleep", "600"], {} if "--clear" in sys.argv else os.environ)
    os._exit(0)
os.wait()
time.sleep(600)
"""


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
        if self.state():                   # never leak processes (or cgroups), even when a test fails
            subprocess.run([str(TOOL), "down"], env=self.env, capture_output=True, timeout=60)
        state = self.state()
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
        self.assertIn(f"tools/cantina --config {self.config} tail", output)
        stops = [output.index(f"stopped {name} (pid {pid}") for name, pid in children.items()]
        self.assertEqual(stops, sorted(stops, reverse=True), output)
        self.assert_nothing_left()
        self.assertIn("fake-service: up", (self.state_dir / "demo.out").read_text())

    def test_detached_up_returns_when_ready_and_down_stops_everything(self):
        self.write_config(self.demo_service())
        result = self.cantina("up", "--detach")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertRegex(result.stdout, rf"Stop: CANTINA_STATE_DIR=\S+ \S*tools/cantina down\n")
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

    def test_two_ups_at_once_start_one_supervisor_and_the_other_says_which(self):
        other_config = self.dir / "other.toml"
        self.write_config(self.demo_service())
        self.config.rename(other_config)
        self.write_config(self.demo_service())   # the same state dir, other ports
        ups = [subprocess.Popen([str(TOOL), "--config", str(config), "up", "--detach"], env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for config in (self.config, other_config)]
        results = [(up.wait(30), *up.communicate()) for up in ups]
        self.assertEqual(sorted(code for code, _, _ in results), [0, 1], results)
        winner = self.state()
        launcher = next(up.pid for up, (code, _, _) in zip(ups, results) if code == 0)
        loser = next(stderr for code, _, stderr in results if code == 1)
        # The lock's holder is the winning `up` while it starts, then the supervisor it detached.
        self.assertRegex(loser, rf"a supervisor is already running \(pid ({launcher}|{winner['supervisor_pid']}), "
                                rf"config {winner['config']}, since \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d"
                                rf"(; still starting)?\)")
        self.assertEqual(len(list(self.pids.glob("cantina-busd.*"))), 1, "the refused `up` started something")
        down = self.cantina("down")
        self.assertEqual(down.returncode, 0, down.stdout + down.stderr)
        self.assert_nothing_left()

    def test_down_while_up_detach_is_starting_stops_what_started(self):
        self.write_config(self.demo_service(), extra="[fake]\nlogd_delay = 20")
        up = subprocess.Popen([str(TOOL), "--config", str(self.config), "up", "--detach"], env=self.env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertTrue(wait_for(lambda: list(self.pids.glob("cantina-logd.*")), 15), "logd never started")
            status = self.cantina("status")
            self.assertEqual(status.returncode, 0, status.stdout)
            self.assertIn("(still starting)", status.stdout)
            again = self.cantina("up", "--detach")
            self.assertEqual(again.returncode, 1)
            self.assertIn("still starting", again.stderr)
            down = self.cantina("down")
            self.assertEqual(down.returncode, 0, down.stdout + down.stderr)
            self.assertIn("it is still starting", down.stdout)
            self.assertIn("stopped supervisor", down.stdout)
            self.assertNotIn("nothing", down.stdout)
            _, stderr = up.communicate(timeout=15)
        finally:
            up.kill()
        self.assertEqual(up.returncode, 1)
        self.assertIn("the supervisor stopped before it was ready; nothing runs", stderr)
        self.assert_nothing_left()
        self.assertEqual(self.cantina("status").returncode, 3)

    def test_down_while_up_has_not_started_anything_yet_stops_it(self):
        self.write_config(self.demo_service(), extra="[fake]\ncheck_delay = 20")
        up = subprocess.Popen([str(TOOL), "--config", str(self.config), "up", "--detach"], env=self.env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertTrue(wait_for(lambda: "still starting" in self.cantina("status").stdout, 10))
            down = self.cantina("down")
            self.assertEqual(down.returncode, 0, down.stdout + down.stderr)
            self.assertIn(f"stopping the supervisor (pid {up.pid}", down.stdout)
            _, stderr = up.communicate(timeout=15)
        finally:
            up.kill()
        self.assertEqual(up.returncode, 1)
        self.assertIn("received SIGTERM while starting; stopped", stderr)
        self.assert_nothing_left()
        self.assertEqual(self.recorded_pids(), [])

    def test_down_right_after_up_detach_returns_stops_everything(self):
        self.write_config(self.demo_service())
        self.assertEqual(self.cantina("up", "--detach").returncode, 0)
        time.sleep(0.05)
        down = self.cantina("down")
        self.assertEqual(down.returncode, 0)
        self.assertIn("stopped supervisor", down.stdout)
        self.assert_nothing_left()

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

    def test_output_files_are_private_to_owner_and_group_and_rotated_at_a_size(self):
        self.state_dir.mkdir(mode=0o755)
        os.chmod(self.state_dir, 0o755)                      # a looser folder from before is tightened
        (self.state_dir / "counter.out").write_text("old\n")
        os.chmod(self.state_dir / "counter.out", 0o644)
        self.write_config('[[service]]\nname = "counter"\nstart_secs = 0\nrestart = "never"\n'
                          'command = "seq 1 100000; exec sleep 600"\n', extra="[supervisor]\ncapture_max_bytes = 65536")
        self.assertEqual(self.cantina("up", "--detach").returncode, 0)
        output, rotated = self.state_dir / "counter.out", self.state_dir / "counter.out.1"
        self.assertTrue(wait_for(lambda: output.read_bytes().endswith(b"\n100000\n"), 10))
        for path in (output, rotated, self.state_dir / "state.json", self.state_dir / "supervisor.log",
                     self.state_dir / "cantina-busd.out", self.state_dir / "cantina-logd.out"):
            self.assertEqual(oct(path.stat().st_mode & 0o777), oct(0o640), path)
        self.assertEqual(oct(self.state_dir.stat().st_mode & 0o777), oct(0o750))
        self.assertIn("cantina-busd: proxying", (self.state_dir / "cantina-busd.out").read_text())
        # Each file holds whole lines, at most capture_max_bytes; together the newest output.
        newer, older = output.read_text(), rotated.read_text()
        self.assertLessEqual(len(newer), 65536 + 7)          # the rest of a line a read cut in two
        self.assertLessEqual(len(older), 65536 + 7)
        self.assertTrue(older.endswith("\n") and not older.startswith("old"), (older[:30], older[-30:]))
        numbers = [int(line) for line in (older + newer).splitlines()]
        self.assertEqual(numbers, list(range(numbers[0], 100001)))
        self.assertGreater(len(older), 60000)
        self.assertEqual(self.cantina("down").returncode, 0)
        self.assert_nothing_left()

    def test_what_an_exited_service_left_in_its_process_group_is_stopped(self):
        self.write_config(self.demo_service('"--grandchild", "--exit-after", "0.5"', restart="never"))
        self.assertEqual(self.cantina("up", "--detach").returncode, 0)
        self.assertTrue(wait_for(lambda: list(self.pids.glob("grandchild.*")), 5))
        grandchild = [int(path.suffix[1:]) for path in self.pids.glob("grandchild.*")]
        self.assertTrue(wait_for(lambda: self.child("demo")["state"] == "STOPPED", 5))
        self.assertTrue(wait_for(lambda: not alive(grandchild[0]), 5), "the grandchild outlived its service")
        self.assertEqual(self.cantina("down").returncode, 0)
        self.assert_nothing_left()

    def daemon_service(self, name: str = "daemonizer", clear_environment: bool = False) -> str:
        """A service that starts a daemon the classic way (fork, setsid, fork; the middle process
        exits at once), so the daemon has left the service's process group and session."""
        script = self.dir / "daemonize.py"
        script.write_text(DAEMONIZE)
        clear = ', "--clear"' if clear_environment else ""
        return f'[[service]]\nname = "{name}"\ncommand = ["python3", "{script}"{clear}]\nstart_secs = 0.2\n'

    def daemons(self, service: str = "") -> list[int]:
        """The daemons started so far (of one service), alive or not."""
        return [int(path.suffix[1:]) for path in self.pids.glob(f"daemon-{service or '*'}.*")]

    def test_a_daemon_a_service_started_is_stopped_with_it(self):
        for tracking in ("auto", "proc"):   # auto: a cgroup where one can be made (here, as root)
            with self.subTest(tracking=tracking):
                self.env["CANTINA_TRACKING"] = tracking
                self.write_config(self.daemon_service() + self.daemon_service("anonymous", clear_environment=True))
                self.assertEqual(self.cantina("up", "--detach").returncode, 0)
                self.assertTrue(wait_for(lambda: len(self.daemons()) == 2, 10), self.daemons())
                service = self.child("daemonizer")["pid"]
                self.assertTrue(all(os.getsid(daemon) not in (service, os.getsid(0)) for daemon in self.daemons()))
                # A restart stops the daemon of the incarnation it stops, and only that one.
                first = self.daemons("daemonizer")[0]
                self.assertEqual(self.cantina("restart", "daemonizer").returncode, 0)
                self.assertTrue(wait_for(lambda: len(self.daemons("daemonizer")) == 2, 10), self.daemons())
                self.assertTrue(wait_for(lambda: not alive(first), 5), "the old incarnation's daemon runs on")
                self.assertTrue(alive(self.daemons("anonymous")[0]))
                down = self.cantina("down")
                self.assertEqual(down.returncode, 0, down.stdout + down.stderr)
                self.assert_nothing_left()   # the daemons too, the one without an environment included
                for path in self.pids.iterdir():
                    path.unlink()

    def test_a_daemon_outlives_a_killed_supervisor_until_down(self):
        for tracking in ("auto", "proc"):
            with self.subTest(tracking=tracking):
                self.env["CANTINA_TRACKING"] = tracking
                self.write_config(self.daemon_service())
                self.assertEqual(self.cantina("up", "--detach").returncode, 0)
                self.assertTrue(wait_for(lambda: len(self.daemons()) == 1, 10))
                time.sleep(2.5)   # the state file (rewritten every 2 s) has seen the daemon
                os.kill(self.state()["supervisor_pid"], signal.SIGKILL)
                self.assertTrue(wait_for(lambda: not alive(self.child("daemonizer")["pid"]), 5))
                self.assertTrue(alive(self.daemons()[0]), "PR_SET_PDEATHSIG does not reach a daemon")
                down = self.cantina("down")
                self.assertEqual(down.returncode, 0, down.stdout + down.stderr)
                self.assertIn(f"processes the children had started (pids {self.daemons()[0]}", down.stdout)
                self.assert_nothing_left()
                for path in self.pids.iterdir():
                    path.unlink()

    def test_up_prints_commands_that_work_as_printed_and_tail_uses_the_running_config(self):
        self.write_config(self.demo_service())   # not the default config
        result = self.cantina("up", "--detach")
        self.assertEqual(result.returncode, 0, result.stderr)
        watch = re.search(r"Watch live logs: (.*)", result.stdout).group(1)
        stop = re.search(r"Stop: (.*)", result.stdout).group(1)
        # As typed in a shell (where `up` ran), without the state dir in the environment.
        env = {key: value for key, value in self.env.items() if key != "CANTINA_STATE_DIR"}
        watched = subprocess.run(f"{watch} -n 3", shell=True, env=env, capture_output=True, text=True)
        self.assertEqual(json.loads(watched.stdout), ["tail", "--config", str(self.config), "-n", "3"])
        # Without --config, tail, level and log take the running supervisor's.
        for command in (["level", "demo", "DEBUG"], ["log", "--service", "x", "hi"], ["tail"]):
            plain = subprocess.run([str(TOOL), *command], env=self.env, capture_output=True, text=True)
            self.assertEqual(json.loads(plain.stdout), [command[0], "--config", str(self.config), *command[1:]])
        stopped = subprocess.run(stop, shell=True, env=env, capture_output=True, text=True)
        self.assertEqual(stopped.returncode, 0, stopped.stdout + stopped.stderr)
        self.assertIn("stopped supervisor", stopped.stdout)
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

    def test_durations_read_like_a_human_wrote_them(self):
        self.assertEqual([format_duration(s) for s in (0, 59, 61, 3700, 90000)], ["0s", "59s", "1m 1s", "1h 1m", "1d 1h"])

    def test_test_sanitize_builds_and_runs_ctest_in_its_own_folder_without_the_fuzzers(self):
        for sanitize, folder in [("address,undefined", "build-asan"), ("thread", "build-tsan"), (None, "build")]:
            with self.subTest(sanitize=sanitize), mock.patch.object(cmd_build, "run_setup"), \
                    mock.patch.object(cmd_build, "build") as build, \
                    mock.patch.object(cmd_build, "run_fuzzers", return_value=0) as run_fuzzers, \
                    mock.patch.object(cmd_build.subprocess, "run") as run, \
                    mock.patch.object(cmd_build, "say"):
                run.return_value.returncode = 0
                args = build_parser().parse_args(["test", *(["--sanitize", sanitize] if sanitize else [])])
                self.assertEqual(args.run(args), 0)
                if sanitize:
                    build.assert_called_once_with(ROOT / folder, ("-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                                                                  f"-DCANTINA_SANITIZE={sanitize}"))
                else:
                    build.assert_called_once_with()
                    self.assertEqual(BUILD_DIR, ROOT / folder)
                run.assert_called_once_with(["ctest", "--test-dir", ROOT / folder, "--output-on-failure", "-j", "2"])
                self.assertEqual(run_fuzzers.called, sanitize is None)
        with mock.patch("sys.stderr"), self.assertRaises(SystemExit):
            build_parser().parse_args(["test", "--sanitize", "memory"])

    def test_restart_policies(self):
        self.assertTrue(should_restart("always", 0))
        self.assertTrue(should_restart("on-failure", 1) and should_restart("on-failure", -9))
        self.assertFalse(should_restart("on-failure", 0) or should_restart("never", 1))


if __name__ == "__main__":
    unittest.main()
