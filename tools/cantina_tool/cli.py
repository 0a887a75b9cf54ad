"""The command line: the argument parser of every command and main(), which turns a
CantinaError into one message and exit status 1."""

import argparse
import sys
from pathlib import Path

from .cmd_bench import cmd_bench
from .cmd_build import cmd_build, cmd_check, cmd_setup, cmd_test
from .cmd_passthrough import cmd_passthrough
from .cmd_supervise import cmd_down, cmd_restart, cmd_status, cmd_up
from .constants import DEFAULT_CONFIG, SANITIZE_DIRS
from .errors import CantinaError
from .messages import error_text, say

PASSTHROUGH_HELP = {   # handed to cantina-cli, which answers their --help
    "tail": "print log records live (and the newest first with -n N)",
    "logs": "read the session files back, like journalctl: logs --since 14:03 --level WARNING",
    "level": "change a service's log level (level SERVICE LEVEL) or show the logging node's (level)",
    "log": "publish log records: log --service S MESSAGE, or --pipe",
    "keygen": "make a CURVE key pair for LAN mode: keygen NAME",
}
PASSTHROUGH_COMMANDS = tuple(PASSTHROUGH_HELP)
RAW_ARGUMENT_COMMANDS = (*PASSTHROUGH_COMMANDS, "bench")  # take their arguments verbatim


def split_config_option(argv: list[str]) -> tuple[str | None, list[str]]:
    """Takes --config FILE / --config=FILE out of argv wherever it is (before `--`); returns (FILE, rest)."""
    config, rest = None, []
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            rest += [token, *tokens]
        elif token == "--config":
            config = next(tokens, None)
        elif token.startswith("--config="):
            config = token.partition("=")[2]
        else:
            rest.append(token)
    return config, rest


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command (tail/level/log take their arguments verbatim)."""
    parser = argparse.ArgumentParser(prog="tools/cantina", description="The front door of Cantina bus.",
                                     epilog="tools/cantina COMMAND --help lists a command's options.")
    parser.add_argument("--config", metavar="FILE", help=f"config file (default {DEFAULT_CONFIG}; tail, level "
                                                         "and log use the running supervisor's)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("setup", help="install the missing Debian packages").set_defaults(run=cmd_setup)
    commands.add_parser("build", help="setup, then build into build/").set_defaults(run=cmd_build)
    test = commands.add_parser("test", help="setup, build, run every test (arguments after -- go to ctest)")
    test.add_argument("--no-fuzz", action="store_true", help="skip the fuzzers (they run only with no ctest arguments)")
    test.add_argument("--sanitize", choices=list(SANITIZE_DIRS), metavar="|".join(SANITIZE_DIRS),
                      help="build with AddressSanitizer and UBSan into build-asan/, or ThreadSanitizer into "
                           "build-tsan/, and run the tests there (no fuzzers; docs/RELIABILITY.md)")
    test.add_argument("ctest_args", nargs="*", help=argparse.SUPPRESS)
    test.set_defaults(run=cmd_test)
    up = commands.add_parser("up", help="setup, build, run busd, logd, the web bridge and the services")
    up.add_argument("--detach", action="store_true", help="run in the background; stop with `down`")
    up.add_argument("--services-only", action="store_true",
                    help="run only the [[service]] entries: a LAN host whose bus and logging node run elsewhere")
    up.add_argument("--supervise-detached", action="store_true", help=argparse.SUPPRESS)
    up.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)
    up.set_defaults(run=cmd_up)
    commands.add_parser("down", help="stop what `up` runs").set_defaults(run=cmd_down)
    status = commands.add_parser("status", help="state, pid, uptime, restarts of every supervised process "
                                                "(exit status 3 if nothing runs)")
    status.add_argument("--json", action="store_true", help="the full state as JSON")
    status.set_defaults(run=cmd_status)
    restart = commands.add_parser("restart", help="restart one supervised process (also a FATAL one)")
    restart.add_argument("name", metavar="NAME", help="a service name, or cantina-busd / cantina-logd / ...")
    restart.set_defaults(run=cmd_restart)
    commands.add_parser("check", help="validate the config file").set_defaults(run=cmd_check)
    for name, what in PASSTHROUGH_HELP.items():
        commands.add_parser(name, help=f"{what} (`{name} --help`: its options)",
                            add_help=False).set_defaults(run=cmd_passthrough)
    commands.add_parser("bench", help="benchmarks: bench SCENARIO|all [--quick] [--json FILE] [--bin-dir DIR] "
                                      "(throughput, latency, steady, dashboard, dedup, search, python, "
                                      "services; soak --minutes M: faults under the supervisor); builds "
                                      "build/ unless --bin-dir is given (`bench --help`: every option)",
                        add_help=False).set_defaults(run=cmd_bench)
    return parser


def main(argv: list[str]) -> int:
    """Parses the command line and runs the command; a CantinaError becomes a message and exit 1."""
    config, argv = split_config_option(argv)
    parser = build_parser()
    command_index = next((i for i, token in enumerate(argv) if not token.startswith("-")), None)
    if command_index is not None and argv[command_index] in RAW_ARGUMENT_COMMANDS:
        args = parser.parse_args(argv[:command_index + 1])
        args.rest = argv[command_index + 1:]
    else:
        args = parser.parse_args(argv)
    args.config = Path(config).resolve() if config else DEFAULT_CONFIG
    args.config_given = config is not None
    try:
        return args.run(args)
    except CantinaError as error:
        say(error_text(error), sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
