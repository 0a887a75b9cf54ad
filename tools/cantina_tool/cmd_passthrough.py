"""The pass-through commands (tail, logs, level, log, keygen): the process becomes
`cantina-cli <command> --config FILE ARGS...`."""

import os
import sys

from .building import build, run_setup
from .constants import BIN_DIR
from .errors import CantinaError


def cmd_passthrough(args) -> int:
    """`tail`/`level`/`log`: replaces this process with `cantina-cli <command> --config FILE ARGS...`."""
    cli = BIN_DIR / "cantina-cli"
    if not cli.exists() and not os.environ.get("CANTINA_BIN_DIR"):
        run_setup()
        build()
    sys.stdout.flush()
    try:
        os.execv(cli, [str(cli), args.command, "--config", str(args.config), *args.rest])
    except OSError as error:
        raise CantinaError(f"cannot run {cli}: {error}") from None
