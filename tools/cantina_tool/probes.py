"""Readiness probes: how the supervisor tells that one start of a child is ready (its bus
endpoints accept connections, a command such as `cantina-cli wait-status` exits 0, or it
stayed up long enough)."""

import os
import socket
import subprocess
import time
from pathlib import Path

from .constants import ROOT
from .errors import StartupError
from .messages import describe_exit
from .processes import die_with_parent


class Probe:
    """A readiness check for one start of a child: poll() turns True once the child is ready."""

    def poll(self) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        """Releases whatever the probe holds."""


LOOPBACK_FOR_WILDCARD = {"*": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


class EndpointsProbe(Probe):
    """Ready when every ZeroMQ bind endpoint accepts a connection (tcp:// or ipc://)."""

    def __init__(self, endpoints: list[str], cwd: Path):
        self.targets = []
        for endpoint in endpoints:
            transport, _, address = endpoint.partition("://")
            if transport == "ipc":   # connecting (not just stat) also rules out a stale socket file
                self.targets.append(("ipc", "\0" + address[1:] if address.startswith("@")
                                     else str(cwd / address)))
            elif transport == "tcp":
                host, _, port = address.rpartition(":")
                host = host.strip("[]")
                self.targets.append(("tcp", (LOOPBACK_FOR_WILDCARD.get(host, host), int(port))))

    def poll(self) -> bool:
        for transport, address in self.targets:
            try:
                if transport == "ipc":
                    with socket.socket(socket.AF_UNIX) as unix_socket:
                        unix_socket.settimeout(0.5)
                        unix_socket.connect(address)
                else:
                    socket.create_connection(address, timeout=0.5).close()
            except OSError:
                return False
        return True


class CommandProbe(Probe):
    """Ready when a command exits 0, keeping its first output line; a non-zero exit is a StartupError."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.output = ""
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, start_new_session=True,
                                        preexec_fn=die_with_parent(os.getpid()))

    def poll(self) -> bool:
        if self.process.poll() is None:
            return False
        stdout, stderr = self.process.communicate()
        if self.process.returncode != 0:
            raise StartupError(f"`{Path(self.process.args[0]).name} {self.process.args[1]}` failed "
                               f"({describe_exit(self.process.returncode)}): {(stderr or stdout).strip()}")
        self.output = (stdout.strip().splitlines() or [""])[0]
        return True

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class UptimeProbe(Probe):
    """Ready once `seconds` have passed (the supervisor checks that the child is still up)."""

    def __init__(self, seconds: float):
        self.ready_at = time.monotonic() + seconds

    def poll(self) -> bool:
        return time.monotonic() >= self.ready_at
