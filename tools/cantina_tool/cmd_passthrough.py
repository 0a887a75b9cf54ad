"""The pass-through commands (tail, logs, level, log, keygen): the process becomes
`cantina-cli <command> --config FILE ARGS...`, FILE being the --config given, else the running
supervisor's, else the default; cantina-cli names itself as the user typed the tool (its
argv[0]), so its help and errors read `tools/cantina tail ...`."""

import os
import sys

from .building import build, run_setup
from .constants import BIN_DIR
from .errors import CantinaError
from .lock import running_config


def cmd_passthrough(args) -> int:
    """`tail`/`level`/`log`/`keygen`: replaces this process with `cantina-cli <command> --config FILE ARGS...`."""
    config = args.config if args.config_given else (running_config() or args.config)
    cli = BIN_DIR / "cantina-cli"
    if not cli.exists() and not os.environ.get("CANTINA_BIN_DIR"):
        run_setup()
        build()
    sys.stdout.flush()
    try:
        os.execv(cli, [sys.argv[0] or str(cli), args.command, "--config", str(config), *args.rest])
    except OSError as error:
        raise CantinaError(f"cannot run {cli}: {error}") from None
