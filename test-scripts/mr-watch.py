#!/usr/bin/env python3
"""mr-watch.py - the file side of a lab 1 test's timeline: polls the test
directory and appends to EVENTS each file that appears (with its size) or
goes away: intermediate files mr-M-R, outputs mr-out-R, workers'
temporaries mr-tmp-*, the coordinator's address file. test-mr.sh starts it
for each test and kills it when the test ends; it also stops by itself
when the process SHELL_PID is gone or after an hour.

    mr-watch.py EVENTS DIR SHELL_PID

EVENTS lines (shared with mr-proc.sh, read by timeline.py --mr):
    <unix time in us> <kind> <lane> <text>
kinds: begin, start, exit, file, gone, fail. Lanes have no spaces except
"worker K".
"""

import os
import re
import sys
import time

POLL_S = 0.1
# The script's own files: references, merged outputs, markers, timelines.
IGNORE = re.compile(r"^(data|mr-correct-.*|mr-.*-all.*|anydone\d*|mr-done|timeline-.*)$")


def lane_of(name):
    if name.startswith("mr-out-"):
        return "outputs"
    if re.match(r"^mr-\d+-\d+$", name):
        return "intermediate"
    return "other-files"


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    events, directory, shell = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seen = {}
    deadline = time.time() + 3600
    with open(events, "a", buffering=1) as out:
        while time.time() < deadline:
            try:
                os.kill(shell, 0)
            except ProcessLookupError:
                return 0
            except PermissionError:
                pass
            now = {}
            try:
                with os.scandir(directory) as it:
                    for e in it:
                        if e.name in seen:  # only new files are stat'ed
                            now[e.name] = seen[e.name]
                        elif not IGNORE.match(e.name):
                            try:
                                now[e.name] = e.stat(follow_symlinks=False).st_size
                            except OSError:
                                continue
            except OSError:
                return 0
            t = int(time.time() * 1e6)
            for name in sorted(now.keys() - seen.keys()):
                out.write("%d file %s %s %d B\n" % (t, lane_of(name), name, now[name]))
            for name in sorted(seen.keys() - now.keys()):
                out.write("%d gone %s %s\n" % (t, lane_of(name), name))
            seen = now
            time.sleep(POLL_S)
    return 0


if __name__ == "__main__":
    sys.exit(main())
