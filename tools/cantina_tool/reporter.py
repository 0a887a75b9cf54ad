"""The supervisor's voice on the bus: the children's ServiceStatus and the services' captured
output, published through the bus library's C ABI (cantina_logging)."""

import sys
import time
from pathlib import Path

import cantina_logging   # tools/python (see constants): the bus through its C ABI

from .children import Child
from .constants import LIB_PATH
from .messages import say


class BusReporter:
    """Publishes the children's ServiceStatus and the services' captured output on the bus.

    Goes through the bus library's C ABI (cantina_logging); without the library (not built,
    or fake binaries in tests) the supervisor still runs, and says once why nothing is
    published.
    """

    def __init__(self, config_path: Path):
        self.config_path = config_path  # the bus's endpoints and, in LAN mode, CURVE keys
        self.library = None
        self.status = None
        self.loggers: dict[str, object] = {}
        self.problem = ""
        try:
            self.library = cantina_logging.BusLibrary.load(LIB_PATH)
            self.status = cantina_logging.StatusPublisher(self.library, None, config=self.config_path)
        except cantina_logging.BusError as error:
            self.problem = str(error)

    def publish(self, child: Child) -> None:
        """Publishes the child's current state (never blocks)."""
        if self.status is not None:
            pid = child.process.pid if child.process and child.process.returncode is None else 0
            self.status.publish(child.spec.name, child.state, child.message, pid, int(child.since * 1e9))

    def logger_for(self, service: str):
        """The BusLogger that publishes `service`'s captured output (created once), or None."""
        if self.library is None:
            return None
        if service not in self.loggers:
            try:
                # Every captured line goes out (the logging node applies its own threshold). No
                # level control: a service's own Logger answers `tools/cantina level` for it.
                self.loggers[service] = cantina_logging.BusLogger(
                    self.library, service, None, None, cantina_logging.DEBUG, config=self.config_path,
                    level_control=False)
            except cantina_logging.BusError as error:
                say(f"cantina: {service}: output not published on the bus: {error}", sys.stderr)
                self.loggers[service] = None
        return self.loggers[service]

    def dropped(self, service: str) -> int:
        """Captured lines of `service` the bus did not take (queue full or no subscriber)."""
        logger = self.loggers.get(service)
        return logger.counters()["dropped"] if logger else 0

    def close_loggers(self, timeout: float) -> None:
        """Publishes what the output loggers still hold (at most `timeout` s in all) and closes them."""
        deadline = time.monotonic() + timeout
        for logger in filter(None, self.loggers.values()):
            logger.flush(max(0.0, deadline - time.monotonic()))
            logger.close()
        self.loggers.clear()

    def close_status(self) -> None:
        if self.status is not None:
            self.status.close()
            self.status = None
