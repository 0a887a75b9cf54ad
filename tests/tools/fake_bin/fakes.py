"""Fake Cantina binaries for the supervisor self-tests (tests/tools/front_door_test.py).

Each executable in this folder (cantina-busd, cantina-logd, cantina-cli, fake-service) is a
two-line script calling one function here. They emulate just enough of the real binaries:
busd listens on the TCP ports of its endpoints, logd writes a `status` file holding its
RUNNING message next to the session file, cli answers check-config / show-config /
wait-status and echoes pass-through commands as JSON.

Knobs for faults, in the test config's [fake] table: busd_exit = N or logd_exit = N makes
that node print an error and exit with N at start-up; logd_delay = S makes logd take S seconds
to report RUNNING, check_delay = S makes check-config take S seconds (a slow start). Every fake records its pid as an
empty file $FAKE_PID_DIR/<name>.<pid>, so tests can check that nothing is left behind.
"""

import argparse
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path


def record_pid(name: str, pid: int | None = None) -> None:
    """Leaves $FAKE_PID_DIR/<name>.<pid> (default: this process) for the test to find."""
    if os.environ.get("FAKE_PID_DIR"):
        Path(os.environ["FAKE_PID_DIR"], f"{name}.{pid or os.getpid()}").touch()


def load_config(argv: list[str]) -> tuple[str, dict]:
    """Returns (path, parsed TOML) of the --config argument."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    path = parser.parse_known_args(argv)[0].config
    with open(path, "rb") as file:
        return path, tomllib.load(file)


def exit_on_sigterm() -> None:
    """Turns SIGTERM into a normal exit (so finally blocks run)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def fail_if_asked(config: dict, knob: str, name: str) -> None:
    """Exits with the code in [fake] <knob>, if set, after printing a start-up error."""
    code = config.get("fake", {}).get(knob)
    if code:
        print(f"{name}: start-up error requested by the test (exit {code})", file=sys.stderr)
        sys.exit(code)


def busd(argv: list[str]) -> None:
    """Listens on both bus endpoints and accepts (and drops) connections until SIGTERM."""
    record_pid("cantina-busd")
    exit_on_sigterm()
    _, config = load_config(argv)
    fail_if_asked(config, "busd_exit", "cantina-busd")
    listeners = []
    for key in ("publish_endpoint", "subscribe_endpoint"):
        host, _, port = config["bus"][key].removeprefix("tcp://").rpartition(":")
        listener = socket.create_server((host, int(port)))
        listeners.append(listener)
    print("cantina-busd: proxying", flush=True)
    while True:
        for listener in select.select(listeners, [], [])[0]:
            listener.accept()[0].close()


def logd(argv: list[str]) -> None:
    """Creates a session file and a status file with its RUNNING message; removes the status on exit."""
    record_pid("cantina-logd")
    exit_on_sigterm()
    _, config = load_config(argv)
    fail_if_asked(config, "logd_exit", "cantina-logd")
    time.sleep(config.get("fake", {}).get("logd_delay", 0))
    folder = Path(config["logging"]["session_file_path"]).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    session_file = folder / f"cantina-session-{stamp}.log"
    session_file.touch()
    status = folder / "status"
    status.write_text(f"session {stamp}: {session_file}\n")
    try:
        while True:
            time.sleep(1)
    finally:
        status.unlink(missing_ok=True)


def cli(argv: list[str]) -> None:
    """check-config (a key named `bogus` is an error), show-config, wait-status; echoes the rest."""
    command, rest = argv[0], argv[1:]
    if command == "check-config":
        path, config = load_config(rest)
        time.sleep(config.get("fake", {}).get("check_delay", 0))
        for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
            if line.lstrip().startswith("bogus"):
                column = len(line) - len(line.lstrip()) + 1
                print(f"{path}:{number}:{column}: bogus: unknown key", file=sys.stderr)
                sys.exit(1)
        print(f"{path}: ok")
    elif command == "show-config":
        path, config = load_config(rest)
        services = [{"name": s["name"],
                     "command": ["/bin/sh", "-c", s["command"]] if isinstance(s["command"], str) else s["command"],
                     "working_directory": s.get("working_directory", ""),
                     "environment": s.get("environment", {}), "restart": s.get("restart", "on-failure"),
                     "start_secs": s.get("start_secs", 1.0), "ready": s.get("ready", "uptime"),
                     "capture": s.get("capture", True)} for s in config.get("service", [])]
        print(json.dumps({"source": path, "bus": config["bus"], "logging": config["logging"],
                          "webbridge": {"listen": "127.0.0.1:0"}, "supervisor": config.get("supervisor", {}),
                          "services": services}))
    elif command == "wait-status":
        _, config = load_config(rest)
        status = Path(config["logging"]["session_file_path"]) / "status"
        deadline = time.monotonic() + float(rest[rest.index("--timeout") + 1])
        while time.monotonic() < deadline:
            if status.exists() and status.read_text().strip():
                print(status.read_text().strip())
                return
            time.sleep(0.02)
        print("cantina-cli wait-status: logging_service did not report RUNNING", file=sys.stderr)
        sys.exit(1)
    else:
        print(json.dumps(argv))


def service(argv: list[str]) -> None:
    """A service: prints a line, optionally starts a grandchild, exits after a delay or on SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--exit-after", type=float)
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument("--say", default="fake-service: up")
    parser.add_argument("--grandchild", action="store_true")
    args = parser.parse_args(argv)
    record_pid(os.environ.get("CANTINA_SERVICE", "fake-service"))
    exit_on_sigterm()
    print(args.say, flush=True)
    if args.grandchild:   # not waited for: the supervisor must stop it with the process group
        grandchild = subprocess.Popen(["sleep", "600"])
        record_pid("grandchild", grandchild.pid)
    time.sleep(args.exit_after if args.exit_after is not None else 600)
    sys.exit(args.exit_code)

