"""LAN mode end to end, with the real binaries: ZeroMQ CURVE keys made by `cantina-cli keygen`
(what `tools/cantina keygen` runs), a bus host (cantina-busd + cantina-logd) that admits only
authorized client keys, and services that log through the C ABI (tools/python/cantina_logging.py).

- CURVE on loopback: an authorized service's records reach the session file; a service with
  an unknown key and one without CURVE are refused, and busd counts them in a WARNING record
  that itself lands in the session file.
- Two hosts made of network namespaces and a veth pair (skipped, with the reason, where
  `ip netns` is not permitted): services on one, busd and the logging node on the other; the
  link goes down for 5 s and comes back; the service's records after the outage arrive, and
  every record that did not is reported as lost by the logging node (from sequence numbers).

Run by ctest as lan_test (CANTINA_BIN_DIR and CANTINA_LIB point at the build).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import BIN_DIR, LIB, SOURCE_DIR, Sandbox, free_port, wait_for  # noqa: E402

# A service: logs COUNT records "lan record N" at RATE/s through the C ABI with the keys of
# its config, then prints the Logger's counters as JSON.
SERVICE = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    import cantina_logging
    config, service, count, rate = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    library = cantina_logging.BusLibrary.load()
    log = cantina_logging.BusLogger(library, service, None, None, cantina_logging.INFO, None, config=config)
    start = time.monotonic()
    for n in range(1, count + 1):
        delay = start + (n - 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        log.log(cantina_logging.INFO, f"lan record {n}")
    log.flush(10.0)
    print(json.dumps(log.counters()), flush=True)
    log.close()
""")


# A droid host's service that tries to speak for others: "trespass N" records as "droid"
# (its own), then as "music_controller", a status of the logging node, and records as
# "droid" again. Prints the Logger's counters as JSON.
TRESPASSER = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    import cantina_logging
    config = sys.argv[2]
    library = cantina_logging.BusLibrary.load()
    own = cantina_logging.BusLogger(library, "droid", None, None, cantina_logging.INFO, None, config=config)
    other = cantina_logging.BusLogger(library, "music_controller", None, None, cantina_logging.INFO, None,
                                      config=config)
    status = cantina_logging.StatusPublisher(library, None, config=config)
    for n in range(1, 6):
        own.log(cantina_logging.INFO, f"trespass {n}")
    own.flush(10.0)
    for n in range(1, 6):
        other.log(cantina_logging.ERROR, f"forged {n}")
    other.flush(10.0)
    for _ in range(5):
        status.publish("logging_service", "ERROR", "forged status")
        time.sleep(0.1)
    for n in range(6, 11):
        own.log(cantina_logging.INFO, f"trespass {n}")
    own.flush(10.0)
    print(json.dumps({"own": own.counters(), "other": other.counters()}), flush=True)
    for closing in (own, other, status):
        closing.close()
""")


def keygen(folder: Path, name: str) -> None:
    subprocess.run([str(BIN_DIR / "cantina-cli"), "keygen", name, "--dir", str(folder)], check=True,
                   capture_output=True, text=True)


def curve_section(role: str, key: str | None = None) -> str:
    """[bus.curve] for the bus host ("bus"), or for a service host with key `key`. On the bus
    host its own processes (key "bus") may publish anything, the droid host only for "droid"."""
    if role == "bus":
        return textwrap.dedent("""
            [bus.curve]
            enabled = true
            server_public_key = "keys/bus.pub"
            server_secret_key = "keys/bus.key"
            client_key = "keys/bus.key"
            authorized_keys = "keys/authorized"
            [bus.curve.permissions]
            bus = "admin"
            droid = ["droid"]
        """)
    return textwrap.dedent(f"""
        [bus.curve]
        enabled = true
        server_public_key = "keys/bus.pub"
        client_key = "keys/{key}.key"
    """)


class LanHost:
    """A folder with keys and the config files of a bus host and of service hosts."""

    def __init__(self, sandbox: Sandbox, bus_address: str):
        self.dir = sandbox.dir
        self.logs = sandbox.logs
        self.keys = self.dir / "keys"
        for name in ("bus", "droid", "intruder"):
            keygen(self.keys, name)
        (self.keys / "authorized").mkdir()
        shutil.copy(self.keys / "droid.pub", self.keys / "authorized")
        shutil.copy(self.keys / "bus.pub", self.keys / "authorized")  # the bus host's own logd connects too
        self.publish = f"tcp://{bus_address}:{free_port()}"
        self.subscribe = f"tcp://{bus_address}:{free_port()}"
        self.bus_config = self.write("bus.toml", curve_section("bus"))
        self.droid_config = self.write("droid.toml", curve_section("service", "droid"))
        self.intruder_config = self.write("intruder.toml", curve_section("service", "intruder"))
        self.plain_config = self.dir / "plain.toml"  # no CURVE: a loopback address only
        self.plain_config.write_text(f'[bus]\npublish_endpoint = "{self.publish.replace(bus_address, "127.0.0.1")}"\n'
                                     f'subscribe_endpoint = "tcp://127.0.0.1:{free_port()}"\n')

    def write(self, name: str, curve: str) -> Path:
        path = self.dir / name
        path.write_text(textwrap.dedent(f"""
            [bus]
            publish_endpoint = "{self.publish}"
            subscribe_endpoint = "{self.subscribe}"
            logger_hold_ms = 10000
            [logging]
            session_file_path = "{self.logs}"
            query_endpoint = "ipc://{self.dir}/query"
            deduplication_window = 0
            file_flush_interval = 0
        """) + curve)
        return path

    def session_lines(self) -> list[str]:
        lines = []
        for path in sorted(self.logs.glob("cantina-session-*.log")):
            lines += path.read_text(errors="replace").splitlines()
        return lines


def service(config: Path, name: str, count: int, rate: float, prefix: list[str] | None = None,
            env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([*(prefix or []), sys.executable, "-c", SERVICE, str(SOURCE_DIR / "tools" / "python"),
                             str(config), name, str(count), str(rate)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def lost_reported(lines: list[str], service_name: str) -> int:
    """Records the logging node reported lost for `service_name` (its "lost N records from" lines)."""
    total = 0
    for line in lines:
        found = re.search(r"lost (\d+) records from (\S+)", line)
        if found and found.group(2) == service_name:
            total += int(found.group(1))
    return total


def numbers_in(lines: list[str]) -> list[int]:
    return [int(m.group(1)) for line in lines if (m := re.search(r"lan record (\d+)$", line))]


def check_a_service_key_speaks_only_for_its_services(test: unittest.TestCase, lan: LanHost, prefix: list[str],
                                                      env: dict) -> None:
    """The droid key logs for its own service, then for another, publishes a logging node status
    and a level change for the logging node: busd drops the forged ones, counts them and reports
    them as WARNING records naming the key; its own records all arrive."""
    run = subprocess.run([*prefix, sys.executable, "-c", TRESPASSER, str(SOURCE_DIR / "tools" / "python"),
                          str(lan.droid_config)], capture_output=True, text=True, timeout=90, env=env)
    test.assertEqual(run.returncode, 0, run.stderr)
    level = subprocess.run([*prefix, str(BIN_DIR / "cantina-cli"), "level", "--config", str(lan.droid_config),
                            "--timeout", "2", "logging", "CRITICAL"], capture_output=True, text=True, env=env)
    test.assertNotEqual(level.returncode, 0, "the logging node answered a level change from a service key")
    droid_key = lan.keys.joinpath("droid.pub").read_text().split('"')[1]
    reports = wait_for(lambda: [line for line in lan.session_lines()
                                if "that it may not publish" in line and "/control/log_level/" in line], 15)
    lines = lan.session_lines()
    test.assertTrue(reports, "busd did not report the level change it dropped:\n" + "\n".join(lines))
    refused = [line for line in lines if "that it may not publish" in line]
    print("\nbusd reported:\n" + "\n".join(refused), file=sys.stderr)
    for line in refused:
        test.assertIn("WARNING  Cantina Busd", line)
        test.assertIn(f"from CURVE key droid ({droid_key})", line)
        test.assertIn("it may publish the records and status of droid", line)
    test.assertTrue(any("/log/music_controller/batch" in line or "/service/status/logging_service" in line
                        for line in refused), refused)
    counted = sum(int(re.search(r"dropped (\d+) messages", line).group(1)) for line in refused)
    test.assertGreaterEqual(counted, 3, refused)   # the forged records, statuses and level requests
    test.assertEqual([line for line in lines if "forged" in line], [])
    test.assertEqual([line for line in lines if "log level changed" in line.lower()], [])
    test.assertEqual(sorted(int(m.group(1)) for line in lines if (m := re.search(r"trespass (\d+)$", line))),
                     list(range(1, 11)), "the key's own records did not all arrive")


class CurveOnLoopback(unittest.TestCase):
    def setUp(self):
        self.sandbox = Sandbox()
        self.lan = LanHost(self.sandbox, "127.0.0.1")
        env = dict(self.sandbox.env, CANTINA_CONFIG=str(self.lan.bus_config))
        self.busd_output = open(self.sandbox.dir / "busd.out", "w")  # noqa: SIM115 - closed in tearDown
        self.busd = subprocess.Popen([str(BIN_DIR / "cantina-busd"), "--config", str(self.lan.bus_config)],
                                     stdout=self.busd_output, stderr=subprocess.STDOUT, env=env)
        self.logd = subprocess.Popen([str(BIN_DIR / "cantina-logd"), "--config", str(self.lan.bus_config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        self.assertTrue(wait_for(lambda: any("started" in line for line in self.lan.session_lines()), 15),
                        "the logging node did not start a session over CURVE")

    def tearDown(self):
        for process in (self.logd, self.busd):
            if process.poll() is None:
                process.terminate()
                process.wait(20)
        self.busd_output.close()
        self.sandbox.close()

    def test_admits_authorized_keys_and_counts_every_refusal(self):
        droid = service(self.lan.droid_config, "droid", 20, 200, env=self.sandbox.env)
        intruder = service(self.lan.intruder_config, "intruder", 20, 200, env=self.sandbox.env)
        plain = service(self.lan.plain_config, "plain", 20, 200, env=self.sandbox.env)
        outputs = {name: process.communicate(timeout=60) for name, process in
                   (("droid", droid), ("intruder", intruder), ("plain", plain))}
        self.assertEqual(json.loads(outputs["droid"][0])["dropped"], 0, outputs["droid"])
        # Refused: their Logger never sees a subscriber, so it counts every record dropped.
        self.assertEqual(json.loads(outputs["intruder"][0])["published"], 0, outputs["intruder"])
        self.assertEqual(json.loads(outputs["plain"][0])["published"], 0, outputs["plain"])

        refusal = wait_for(lambda: [line for line in self.lan.session_lines()
                                    if "refused without an authorized CURVE key" in line], 15)
        self.assertTrue(refusal, "busd's refusal report did not reach the session file")
        self.assertTrue(wait_for(lambda: len(numbers_in(self.lan.session_lines())) >= 20, 15))
        lines = self.lan.session_lines()
        self.assertEqual(sorted(numbers_in(lines)), list(range(1, 21)), "the authorized service lost records")
        self.assertEqual(len([line for line in lines if "Intruder" in line or "Plain " in line]), 0)
        self.assertIn("WARNING", refusal[0])
        total = max(int(re.search(r"\((\d+) refused since start", line).group(1)) for line in refusal)
        self.assertGreaterEqual(total, 2, refusal)  # the intruder and the plain client at least
        self.assertIn(self.lan.keys.joinpath("intruder.pub").read_text().split('"')[1],
                      "\n".join(refusal), "the report names the unauthorized key")


    def test_a_service_key_publishes_only_for_its_own_services(self):
        check_a_service_key_speaks_only_for_its_services(self, self.lan, [], self.sandbox.env)


class LanExample(unittest.TestCase):
    def test_conf_lan_example_is_valid_on_the_bus_host_and_on_a_droid_host(self):
        sandbox = Sandbox()
        try:
            keys = sandbox.dir / "keys"
            for name in ("bus", "bus-host", "droid1"):
                keygen(keys, name)
            (keys / "authorized").mkdir()
            for name in ("bus-host", "droid1"):   # as the example's set-up says
                shutil.copy(keys / f"{name}.pub", keys / "authorized")
            (sandbox.dir / "conf").mkdir()
            example = (SOURCE_DIR / "conf" / "lan-example.toml").read_text()
            bus_host = sandbox.dir / "conf" / "cantina.toml"
            bus_host.write_text(example)
            droid = sandbox.dir / "conf" / "droid.toml"
            droid.write_text("\n".join(
                line.replace("bus-host.key", "droid1.key") for line in example.splitlines()
                if not line.startswith(("server_secret_key", "authorized_keys"))))
            for config in (bus_host, droid):
                check = subprocess.run([str(BIN_DIR / "cantina-cli"), "check-config", "--config", str(config)],
                                       capture_output=True, text=True)
                self.assertEqual(check.returncode, 0, check.stderr)
            # A key admitted but not listed is a clear error naming the key and what to add.
            keygen(keys, "droid2")
            shutil.copy(keys / "droid2.pub", keys / "authorized")
            check = subprocess.run([str(BIN_DIR / "cantina-cli"), "check-config", "--config", str(bus_host)],
                                   capture_output=True, text=True)
            self.assertNotEqual(check.returncode, 0)
            self.assertIn("bus.curve.permissions: ", check.stderr)
            self.assertIn('droid2.pub has no entry: add droid2 = ["<service id>", ...]', check.stderr)
        finally:
            sandbox.close()


def netns_problem() -> str:
    """Why network namespaces cannot be used here ("" if they can)."""
    if os.geteuid() != 0:
        return "not root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    probe = f"cantina-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` is not permitted: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return ""


class TwoHosts(unittest.TestCase):
    """Hosts "bus" (10.77.0.1) and "droid" (10.77.0.2) joined by a veth pair."""

    def setUp(self):
        problem = netns_problem()
        if problem:
            self.skipTest(f"LAN test skipped: network namespaces are not available ({problem})")
        tag = str(os.getpid() % 100000)
        self.bus_ns, self.droid_ns = f"cantina-bus-{tag}", f"cantina-droid-{tag}"
        self.bus_if, self.droid_if = f"cb{tag}", f"cd{tag}"
        self.sandbox = Sandbox()
        self.processes: list[subprocess.Popen] = []
        for command in ([["ip", "netns", "add", self.bus_ns], ["ip", "netns", "add", self.droid_ns],
                         ["ip", "link", "add", self.bus_if, "type", "veth", "peer", "name", self.droid_if],
                         ["ip", "link", "set", self.bus_if, "netns", self.bus_ns],
                         ["ip", "link", "set", self.droid_if, "netns", self.droid_ns]] +
                        [["ip", "-n", ns, "addr", "add", address, "dev", interface]
                         for ns, address, interface in ((self.bus_ns, "10.77.0.1/24", self.bus_if),
                                                        (self.droid_ns, "10.77.0.2/24", self.droid_if))] +
                        [["ip", "-n", ns, "link", "set", interface, "up"]
                         for ns, interface in ((self.bus_ns, self.bus_if), (self.droid_ns, self.droid_if),
                                               (self.bus_ns, "lo"), (self.droid_ns, "lo"))]):
            subprocess.run(command, check=True, capture_output=True)
        self.lan = LanHost(self.sandbox, "10.77.0.1")

    def tearDown(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
        for ns in (self.bus_ns, self.droid_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.sandbox.close()

    def in_ns(self, ns: str) -> list[str]:
        return ["ip", "netns", "exec", ns]

    def start_bus_host(self) -> None:
        for program in ("cantina-busd", "cantina-logd"):
            self.processes.append(subprocess.Popen([*self.in_ns(self.bus_ns), str(BIN_DIR / program), "--config",
                                                    str(self.lan.bus_config)], stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL, env=self.sandbox.env))
        self.assertTrue(wait_for(lambda: any("started" in line for line in self.lan.session_lines()), 15))

    def test_a_service_key_publishes_only_for_its_own_services(self):
        self.start_bus_host()
        check_a_service_key_speaks_only_for_its_services(self, self.lan, self.in_ns(self.droid_ns),
                                                          self.sandbox.env)

    def test_link_down_for_5_s_then_everything_reconnects_and_loss_is_reported(self):
        env = self.sandbox.env
        busd = subprocess.Popen([*self.in_ns(self.bus_ns), str(BIN_DIR / "cantina-busd"), "--config",
                                 str(self.lan.bus_config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env)
        self.processes.append(busd)
        logd = subprocess.Popen([*self.in_ns(self.bus_ns), str(BIN_DIR / "cantina-logd"), "--config",
                                 str(self.lan.bus_config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env)
        self.processes.append(logd)
        self.assertTrue(wait_for(lambda: any("started" in line for line in self.lan.session_lines()), 15))

        count, rate = 4000, 250.0  # 16 s of records; the link is down from 3 s to 8 s
        droid = service(self.lan.droid_config, "droid", count, rate, prefix=self.in_ns(self.droid_ns), env=env)
        self.processes.append(droid)
        self.assertTrue(wait_for(lambda: len(numbers_in(self.lan.session_lines())) > 0, 15),
                        "nothing arrived from the droid host over CURVE")
        time.sleep(2)
        before = max(numbers_in(self.lan.session_lines()))
        subprocess.run(["ip", "-n", self.droid_ns, "link", "set", self.droid_if, "down"], check=True)
        time.sleep(5)
        subprocess.run(["ip", "-n", self.droid_ns, "link", "set", self.droid_if, "up"], check=True)
        out, err = droid.communicate(timeout=90)
        counters = json.loads(out)
        self.assertTrue(wait_for(lambda: count in numbers_in(self.lan.session_lines()), 60),
                        f"the droid's last record never arrived after the link came back ({counters}, {err})")
        logd.terminate()
        logd.wait(30)

        lines = self.lan.session_lines()
        numbers = numbers_in(lines)
        self.assertEqual(len(numbers), len(set(numbers)), "a record was written twice")
        missing = set(range(1, count + 1)) - set(numbers)
        after = [n for n in numbers if n > before + int(5 * rate)]
        self.assertTrue(after, "nothing arrived after the outage")
        print(f"\nLAN outage: {count} records sent, {len(set(numbers))} written, {len(missing)} missing, "
              f"{lost_reported(lines, 'droid')} reported lost; Logger counters {counters}", file=sys.stderr)
        # Whatever did not arrive is reported, exactly, from sequence numbers.
        self.assertEqual(lost_reported(lines, "droid"), len(missing),
                         f"{len(missing)} records missing, reported: "
                         f"{[line for line in lines if 'lost' in line]}; Logger: {counters}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
