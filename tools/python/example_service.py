#!/usr/bin/env python3
"""A CantinaOS-style Python service logging on the Cantina bus.

Run it under the supervisor (a [[service]] table in conf/cantina.toml):

    [[service]]
    name = "music_controller"
    command = ["python3", "tools/python/example_service.py"]

or by hand next to a running bus (`tools/cantina up`):

    python3 tools/python/example_service.py --service music_controller

Then watch it with `tools/cantina tail --service music_controller`, and let its debug
records through with `tools/cantina level music_controller DEBUG`.
"""

import argparse
import logging
import os
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # not needed under tools/cantina up (PYTHONPATH)
import cantina_logging  # noqa: E402

log = logging.getLogger("cantina_os.music")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", help="service id (default $CANTINA_SERVICE, else music_controller)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between tracks (default 1)")
    parser.add_argument("--count", type=int, default=0, help="stop after this many tracks (default: never)")
    args = parser.parse_args()

    # The one call a service needs: INFO and up reach the bus.
    service = args.service or os.environ.get("CANTINA_SERVICE") or "music_controller"
    cantina_logging.setup(service)
    # Optional: DEBUG on the Python side lets the bus threshold (INFO at first, then
    # whatever `tools/cantina level` sets) decide alone, so debug records can be
    # switched on at run time.
    logging.getLogger().setLevel(logging.DEBUG)

    stop = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))
    log.info("Music controller started, %d tracks in the library", len(TRACKS))
    played = 0
    while not stop and (args.count == 0 or played < args.count):
        track = random.choice(TRACKS)
        volume = random.randint(30, 80)
        log.debug("Decoding %s at 44100 Hz", track)
        log.info("Now playing: %s at %d%%", track, volume, extra={"track": track, "volume": volume})
        if random.random() < 0.1:
            try:
                raise ConnectionError("audio device busy")
            except ConnectionError:
                log.exception("Could not open the audio device for %s", track)
        played += 1
        time.sleep(args.interval)
    log.info("Music controller stopping after %d tracks", played)
    return 0  # logging.shutdown() at exit closes the handler, which publishes what is queued


TRACKS = ["Cantina Band", "Binary Sunset", "Duel of the Fates", "The Imperial March", "Jabba's Baroque Recital"]

if __name__ == "__main__":
    sys.exit(main())
