#!/usr/bin/env python3
"""pretty-log.py - show a topic-tagged debug log with one column per peer.

Reads the format of common/log.h (one event per line)

    <ms> <TOPIC> S<id> message        e.g.  001234 VOTE S2 granted vote to S0 (T3)
    <ms> <TOPIC> -- message           (not tied to a peer)

and prints each event in its peer's column, so the peers' views of the same
moment line up side by side, in the spirit of the 6.824 "debugging by pretty
printing" workflow. Lines of any other shape (the tester's own output, such
as "Test (3C): ..." or "--- FAIL: ...") are printed across the whole width.

    LABLOG=debug build/release/tests/lab3 TestFigure83C 2>&1 | pretty-log.py
    pretty-log.py -c 5 -i LEAD,VOTE,TERM run.trace
    pretty-log.py -e HBT,PERS --from 2000 --to 4000 run.trace | less -R

Options:
  -c N          number of peer columns (default: 1 + highest id in the input;
                giving it lets the output stream instead of reading all input)
  -i TOPICS     only these topics (comma-separated, case-insensitive)
  -e TOPICS     hide these topics
  --peers IDS   only these peers' events (comma-separated ids)
  --from MS / --to MS   time window in log milliseconds
  -w WIDTH      total width (default: the terminal's, else 160)
  --color / --no-color  colours per topic (default: when writing to a tty)
  --no-other    drop lines that are not log events
"""

import argparse
import re
import shutil
import sys
import textwrap

LINE = re.compile(r"^(\d+)\s+([A-Za-z0-9_]+)\s+(?:S(\d+)|--)\s?(.*)$")

# Colours (ANSI 256) for the topics the project uses; others get a stable
# colour from their name.
TOPIC_COLORS = {
    "VOTE": 214, "LEAD": 196, "TERM": 201, "TIMR": 245, "TIMER": 245,
    "APND": 39, "HBT": 244, "CMIT": 46, "APLY": 82, "PERS": 141,
    "SNAP": 208, "LOG": 110, "RPC": 250, "NET": 242, "KV": 226,
    "CTRL": 51, "SKV": 177, "MR": 115, "TEST": 15, "INFO": 252,
    "WARN": 220, "ERRO": 160, "DROP": 240,
}
PALETTE = [33, 37, 70, 98, 130, 136, 167, 173, 179, 61, 66, 104, 139, 144]


def topic_color(topic):
    if topic in TOPIC_COLORS:
        return TOPIC_COLORS[topic]
    return PALETTE[sum(map(ord, topic)) % len(PALETTE)]


def csv_set(s, upper=True):
    if not s:
        return None
    items = [x.strip() for x in s.split(",") if x.strip()]
    return {x.upper() for x in items} if upper else set(items)


class Printer:
    def __init__(self, args, ncols):
        self.args = args
        self.ncols = max(1, ncols)
        self.width = args.width or shutil.get_terminal_size((160, 40)).columns
        self.prefix_w = 12  # "001234 VOTE "
        self.col_w = max(12, (self.width - self.prefix_w) // self.ncols)
        self.color = args.color

    def paint(self, text, color):
        if not self.color or color is None:
            return text
        return f"\033[38;5;{color}m{text}\033[0m"

    def header(self):
        cells = "".join(f"S{i}".ljust(self.col_w) for i in range(self.ncols))
        rule = "-" * min(self.width, self.prefix_w + self.col_w * self.ncols)
        out = " " * self.prefix_w + cells
        print(self.paint(out.rstrip(), 250) if self.color else out.rstrip())
        print(rule)

    def event(self, ms, topic, peer, msg):
        color = topic_color(topic)
        prefix = f"{ms:>6} {topic:<5}"[: self.prefix_w - 1].ljust(self.prefix_w)
        if peer is None or peer >= self.ncols:
            # Not tied to one peer (or beyond the columns): the whole row.
            text_w = max(20, self.width - self.prefix_w)
            lines = textwrap.wrap(msg, text_w) or [""]
            if peer is not None:
                lines[0] = f"S{peer}: " + lines[0]
            offset = 0
        else:
            lines = textwrap.wrap(msg, self.col_w - 1) or [""]
            offset = peer * self.col_w
        for k, line in enumerate(lines):
            head = prefix if k == 0 else " " * self.prefix_w
            print(self.paint(head, color) + " " * offset + self.paint(line, color))

    def other(self, line):
        print(self.paint(line, 15) if self.color else line)


def parse(line):
    m = LINE.match(line)
    if not m:
        return None
    ms, topic, peer, msg = m.groups()
    return int(ms), topic.upper(), (int(peer) if peer is not None else None), msg


def main():
    ap = argparse.ArgumentParser(
        description="Pretty-print a topic-tagged log with one column per peer.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("files", nargs="*", help="log files (default: stdin)")
    ap.add_argument("-c", "--columns", type=int, help="number of peer columns")
    ap.add_argument("-i", "--include", help="only these topics")
    ap.add_argument("-e", "--exclude", help="hide these topics")
    ap.add_argument("--peers", help="only these peers (ids)")
    ap.add_argument("--from", dest="t_from", type=int, help="first ms to show")
    ap.add_argument("--to", dest="t_to", type=int, help="last ms to show")
    ap.add_argument("-w", "--width", type=int, help="total width")
    col = ap.add_mutually_exclusive_group()
    col.add_argument("--color", dest="color", action="store_true", default=None)
    col.add_argument("--no-color", dest="color", action="store_false")
    ap.add_argument("--no-other", action="store_true", help="drop non-log lines")
    ap.add_argument("--no-header", action="store_true", help="no column titles")
    args = ap.parse_args()
    if args.color is None:
        args.color = sys.stdout.isatty()

    include = csv_set(args.include)
    exclude = csv_set(args.exclude) or set()
    peers = {int(x) for x in csv_set(args.peers, upper=False)} if args.peers else None

    def lines():
        if not args.files:
            for line in sys.stdin:
                yield line.rstrip("\n")
        for path in args.files:
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    yield line.rstrip("\n")

    def wanted(ev):
        ms, topic, peer, _ = ev
        if include is not None and topic not in include:
            return False
        if topic in exclude:
            return False
        if peers is not None and peer is not None and peer not in peers:
            return False
        if args.t_from is not None and ms < args.t_from:
            return False
        if args.t_to is not None and ms > args.t_to:
            return False
        return True

    source = lines()
    if args.columns:
        ncols = args.columns
    else:
        # Read everything first to find how many peers there are.
        source = list(source)
        top = -1
        for line in source:
            ev = parse(line)
            if ev and ev[2] is not None:
                top = max(top, ev[2])
        ncols = top + 1 if top >= 0 else 1

    pr = Printer(args, ncols)
    if not args.no_header:
        pr.header()
    try:
        for line in source:
            ev = parse(line)
            if ev is None:
                if not args.no_other and line.strip():
                    pr.other(line)
                continue
            if wanted(ev):
                pr.event(*ev)
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
