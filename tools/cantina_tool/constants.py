"""Where things are and how long to wait: the paths (from the environment), the timeouts and
the intervals of every layer above, in one table. Importing it puts tools/python on sys.path
(for cantina_logging, the bus through its C ABI)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TOOL = ROOT / "tools" / "cantina"              # the entry script (the detached supervisor runs it again)
PYTHON_DIR = ROOT / "tools" / "python"         # cantina_logging.py, the Python handler of the bus
sys.path.insert(0, str(PYTHON_DIR))

DEFAULT_CONFIG = ROOT / "conf" / "cantina.toml"
BUILD_DIR = ROOT / "build"
BIN_DIR = Path(os.environ.get("CANTINA_BIN_DIR") or BUILD_DIR / "bin").resolve()
LIB_PATH = Path(os.environ.get("CANTINA_LIB") or BIN_DIR.parent / "lib" / "libcantina_bus_c.so").resolve()
STATE_DIR = Path(os.environ.get("CANTINA_STATE_DIR") or ROOT / ".cantina" / "run").resolve()
STATE_FILE = STATE_DIR / "state.json"
FUZZ_DIR = ROOT / "build-fuzz"
SANITIZE_DIRS = {                              # `test --sanitize S`: the build folder of each choice
    "address,undefined": ROOT / "build-asan",
    "thread": ROOT / "build-tsan",
}

BUS_READY_TIMEOUT = 10.0        # s for busd to accept connections on both endpoints
NODE_READY_TIMEOUT = 10.0       # s for logd / the web bridge to report RUNNING (`cantina-cli wait-status`)
STATUS_READY_TIMEOUT = 30.0     # s for a service with ready = "status" to report RUNNING
STOP_TIMEOUT = 10.0             # s from SIGTERM to SIGKILL when the supervisor stops a child
STOP_HURRY = 1.0                # ... after a second stop signal
BACKOFF_FIRST = 1.0             # s before the first restart; doubles with each restart in a row
BACKOFF_MAX = 30.0              # s, the longest wait before a restart
BACKOFF_RESET_AFTER = 60.0      # s a run must last for the next restart to wait BACKOFF_FIRST again
FATAL_AFTER = 5                 # failed starts in a row (each within start_secs) before giving up
TICK = 0.1                      # s between two rounds of the supervisor's state machine
STATUS_REPEAT = 1.0             # s between two publications of every child's status
STATE_REFRESH = 2.0             # s between two writes of the state file without a change
TRACK_INTERVAL = 0.5            # s between two looks for the children's new processes (proc tracking)
CAPTURE_DRAIN_TIMEOUT = 3.0     # s at shutdown for the services' pipes to reach end of file
LOGGER_DRAIN_TIMEOUT = 3.0      # s at shutdown for captured lines to reach the bus
CAPTURE_MAX_BYTES = 10 << 20    # [supervisor] capture_max_bytes when the config does not say (fake binaries)
RESTART_TIMEOUT = STOP_TIMEOUT + STATUS_READY_TIMEOUT + 10   # s `restart` waits for the outcome
DETACH_TIMEOUT = 60.0           # s `up --detach` waits for the detached supervisor to be ready
DOWN_SUPERVISOR_TIMEOUT = 30.0  # s `down` waits for the supervisor to exit
DOWN_CHILD_TIMEOUT = 5.0        # s from SIGTERM to SIGKILL when `down` stops an orphaned child
POLL_INTERVAL = 0.05
