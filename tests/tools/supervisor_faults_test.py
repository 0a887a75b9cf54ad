"""The logging node killed with SIGKILL under the supervisor, under load, as a user runs it:
`tools/cantina up --detach` with two services logging through the real Logger
(cantina-bench-load publish, 1,500 records/s each); cantina-logd is SIGKILLed mid-load; the
supervisor restarts it and a new session file opens. Then, for every publisher:

- no line of either file is torn or interleaved: every line is a whole session-file line and
  every load record has exactly the message it was sent with (the old file ends with a
  whole line, though its writer died mid-stream);
- no record is in both files, nor twice in one;
- the new node, which read where the old one left each publisher (the sequence state file
  beside the sessions), reports exactly what is in neither file: "lost N records from
  <service> while the logging node was not running (sequences A–B)", with A the record
  after the last one of that publisher in the old file and B the one before its first in
  the new file (what the killed node still held, and what was sent while no node ran);
- so the old file, the new file and that report account for every record, each once:
  after B the new file has every record but those it reports lost.

Run by ctest as supervisor_faults_test (CANTINA_BIN_DIR and CANTINA_LIB point at the build).
"""

import json
import os
import re
import signal
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import Sandbox, wait_for  # noqa: E402

PUBLISHERS = 2
COUNT = 30_000          # records per publisher
RATE = 1_500            # records/s per publisher
SIZE = 100              # message bytes
TAG = "kill"

LINE = re.compile(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\] (DEBUG   |INFO    |WARNING |ERROR   |CRITICAL) "
                  r"(.{20}) (.*)$")
RECORD = re.compile(rf"bench {TAG} p(\d+) (?:s(\d+) (x*)|ready)$")
EARLIER = re.compile(r"^(\d+) earlier records from (\S+) are not in this session: publisher ([0-9a-f]{16}) "
                     r"first seen at sequence (\d+)$")
LOST = re.compile(r"^lost (\d+) records from (\S+) \(")
DOWN = re.compile(r"^lost (\d+) records from (\S+) while the logging node was not running \(sequences (\d+)\u2013(\d+)\)$")


def service(k: int) -> str:
    return f"load_{k}"


SERVICES = "".join(f"""
[[service]]
name = "{service(k)}"
command = ["cantina-bench-load", "publish", "--publish", "{{publish}}", "--publisher", "{k}", "--count", "{COUNT}",
           "--rate", "{RATE}", "--size", "{SIZE}", "--tag", "{TAG}", "--service", "{service(k)}"]
capture = false
""" for k in range(PUBLISHERS))


class SessionFile:
    """One session file read back: its load records per publisher and the node's reports."""

    def __init__(self, path: Path):
        self.path = path
        self.data = path.read_bytes()
        self.torn = []                                     # lines that are not whole session-file lines
        self.records = {k: [] for k in range(PUBLISHERS)}  # message sequence numbers, in file order
        self.ready = {k: 0 for k in range(PUBLISHERS)}
        self.earlier = {}                                  # service -> (count, first sequence)
        self.lost = {}                                     # service -> records reported lost
        self.down = {}                                     # service -> (count, first, last) lost while down
        for line in self.data.decode("utf-8").split("\n")[:-1]:
            match = LINE.match(line)
            if not match:
                self.torn.append(line)
                continue
            name, text = match.group(2).strip(), match.group(3)
            if name == "Logging Service":
                if earlier := EARLIER.match(text):
                    self.earlier[earlier.group(2)] = (int(earlier.group(1)), int(earlier.group(4)))
                elif down := DOWN.match(text):
                    self.down[down.group(2)] = (int(down.group(1)), int(down.group(3)), int(down.group(4)))
                elif lost := LOST.match(text):
                    self.lost[lost.group(2)] = self.lost.get(lost.group(2), 0) + int(lost.group(1))
                continue
            record = RECORD.search(text)
            if not record or text != record.group(0):
                self.torn.append(line)
            elif record.group(2) is None:
                self.ready[int(record.group(1))] += 1
            elif len(record.group(0)) != SIZE:
                self.torn.append(line)
            else:
                self.records[int(record.group(1))].append(int(record.group(2)))


class LoggingNodeKilledTest(unittest.TestCase):

    def test_a_killed_logging_node_is_restarted_and_every_record_is_accounted_for(self):
        sandbox = Sandbox()
        self.addCleanup(sandbox.close)
        self.addCleanup(sandbox.cantina, "down")
        sandbox.config.write_text(sandbox.config.read_text()
                                  + SERVICES.replace("{publish}", f"ipc://{sandbox.dir}/publish"))
        up = sandbox.cantina("up", "--detach")
        self.assertEqual(up.returncode, 0, up.stdout + up.stderr)

        def state() -> dict:
            return {c["name"]: c for c in json.loads(sandbox.cantina("status", "--json").stdout)["children"]}

        def load_lines() -> int:
            return len(sandbox.lines_matching(rf"bench {TAG} p\d+ s\d+ "))

        # Mid-load: both publishers are well under way.
        self.assertTrue(wait_for(lambda: load_lines() >= COUNT // 5, 60, 0.2), load_lines())
        logd = state()["cantina-logd"]
        os.kill(logd["pid"], signal.SIGKILL)
        restarted = wait_for(lambda: (lambda c: c["state"] == "RUNNING" and c["starts"] == logd["starts"] + 1
                                      and c)(state()["cantina-logd"]), 30, 0.2)
        self.assertTrue(restarted, state()["cantina-logd"])
        self.assertEqual(restarted["restarts"], logd["restarts"] + 1)
        # The publishers finish (exit 0, so their on-failure policy leaves them STOPPED).
        finished = wait_for(lambda: all(state()[service(k)]["state"] == "STOPPED" for k in range(PUBLISHERS)),
                            COUNT / RATE + 60, 0.5)
        self.assertTrue(finished, state())
        down = sandbox.cantina("down")
        self.assertEqual(down.returncode, 0, down.stdout + down.stderr)

        paths = sorted(sandbox.logs.glob("cantina-session-*.log"))
        self.assertEqual(len(paths), 2, paths)
        old, new = SessionFile(paths[0]), SessionFile(paths[1])
        for file in (old, new):
            self.assertEqual(file.torn, [], f"torn or interleaved lines in {file.path.name}")
            self.assertTrue(file.data.endswith(b"\n"), f"{file.path.name} ends with a partial line")
        self.assertIn(b"Logging Service      session ", new.data.rsplit(b"\n", 2)[-2])   # drained at `down`
        self.assertEqual(old.earlier, {}, "the first node saw every publisher from its first record")

        for k in range(PUBLISHERS):
            with self.subTest(publisher=k):
                name = service(k)
                before, after = old.records[k], new.records[k]
                self.assertEqual(len(set(before)), len(before), "a record twice in the old file")
                self.assertEqual(len(set(after)), len(after), "a record twice in the new file")
                self.assertEqual(set(before) & set(after), set(), "a record in both files")
                self.assertEqual((old.ready[k], new.ready[k]), (1, 0))
                self.assertTrue(before and after, "the kill came mid-load: both files hold records")
                # The new node's report: exactly the records in neither file. The publisher's
                # record "s<n>" has Logger sequence n + 1 (its "ready" record was sequence 1).
                self.assertNotIn(name, new.earlier, "the new node knew where the old one left the publisher")
                first_here = after[0]
                self.assertLess(max(before), first_here)
                gap = first_here - max(before) - 1
                self.assertGreater(gap, 0, "the kill came mid-load: records were lost")
                self.assertIn(name, new.down, f"no report of the records lost while no node ran for {name}")
                self.assertEqual(new.down[name], (gap, max(before) + 2, first_here),
                                 "the report names exactly the records in neither file")
                missing_before = set(range(1, max(before) + 1)) - set(before)
                self.assertEqual(len(missing_before), old.lost.get(name, 0), "losses while the old node ran")
                missing_after = set(range(first_here, COUNT + 1)) - set(after)
                self.assertEqual(len(missing_after), new.lost.get(name, 0), "losses after the restart")
                reported = set(range(max(before) + 1, first_here))
                self.assertEqual(set(before) & reported, set())
                self.assertEqual(set(after) & reported, set())
                accounted = set(before) | set(after) | reported | missing_before
                self.assertEqual(set(range(1, COUNT + 1)) - accounted, missing_after)
                print(f"{name}: old file s1..s{max(before)} ({len(before)} records, "
                      f"{len(missing_before)} reported lost), not in either file s{max(before) + 1}..s{first_here - 1} "
                      f"({gap} records: held by the killed node or sent while none ran; the new node's "
                      f"report), new file s{first_here}..s{COUNT} "
                      f"({len(after)} records, {len(missing_after)} reported lost)")


if __name__ == "__main__":
    unittest.main(verbosity=2)
