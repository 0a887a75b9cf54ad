"""The config file, read through cantina-cli: check-config validates it (naming file, line
and key of a problem), show-config returns the settled config as JSON."""

import json
import subprocess
from pathlib import Path

from .constants import BIN_DIR
from .errors import CantinaError


def load_config(config_path: Path) -> dict:
    """Validates the config with `cantina-cli check-config`, then returns `show-config`'s JSON."""
    cli = BIN_DIR / "cantina-cli"
    if not cli.exists():
        raise CantinaError(f"{cli} not found (run tools/cantina build)")
    check = subprocess.run([cli, "check-config", "--config", config_path], capture_output=True, text=True)
    if check.returncode != 0:
        problem = check.stderr.strip() or check.stdout.strip() or f"{config_path}: invalid"
        raise CantinaError(f"{problem}\ncantina: invalid configuration; nothing was started")
    shown = subprocess.run([cli, "show-config", "--config", config_path], capture_output=True, text=True)
    try:
        if shown.returncode != 0:
            raise ValueError(shown.stderr.strip())
        return json.loads(shown.stdout)
    except ValueError as error:
        raise CantinaError(f"cantina-cli show-config failed: {error}") from None
