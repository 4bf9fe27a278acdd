#!/usr/bin/env python3
"""timeline.py - render the record of a run as one self-contained HTML page.

    timeline.py EVENTS [-o OUT.html] [--log TEST.log] [--trace TEST.trace]
    timeline.py --sim RAFTSIM-OUTPUT [-o OUT.html]
    timeline.py --raftsim BIN --seed N [raftsim options] [-o OUT.html]
    timeline.py --mr EVENTS [-o OUT.html]

EVENTS is the file a graded test binary writes to $LAB_TIMELINE when a test
fails (labs/timeline/timeline.h); run-lab.py and stress.py call this for
every failing test and print "timeline: PATH". --log adds the test's output
(the porcupine page it names becomes a link), --trace the LABLOG debug log
(its lines appear in their peer's lane). --sim reads the output of
`raftsim --seed N --verbose` (or runs it with --raftsim) and shows the
simulator's trace in the same viewer. --mr reads the record of a lab 1
test that test-scripts/test-mr.sh keeps (mr-proc.sh, mr-watch.py): a lane
per process (coordinator, worker K) with its start, pid, run and exit
status or signal, lanes of the files that appeared in the test directory,
and the failed check; test-mr.sh calls it itself and prints "timeline: PATH".

The page is labs/timeline/viewer.{html,css,js} with the data inlined as
JSON: no network access, no build step. Python 3 standard library only.
"""

import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIEWER = os.path.join(ROOT, "labs", "timeline")

# Event kinds (labs/timeline/timeline.h).
RPC_SEND, RPC_NOSERVER, RPC_DROP_REQ, RPC_REPLY, RPC_DROP_REPLY, RPC_DEAD = range(1, 7)
APPLY, OP = 7, 8
(END_NEW, END_OWNER, END_CONNECT, END_ENABLE, SERVER_UP, SERVER_DOWN, STATE,
 START, NET, NOTE, FAIL) = range(32, 43)

# RPC outcomes, as the viewer knows them (viewer.js OUTCOMES).
OK, LOST_REQ, LOST_REPLY, NO_REPLY, NO_SERVER, PENDING = range(6)

MAX_LOG_LINES = 20000


def ms(t_us):
    # 0.1 ms is finer than any zoom draws, and keeps big pages small.
    return round(t_us / 1000.0, 1)


class Builder:
    """Collects lanes, RPCs, marks and bands in the viewer's format."""

    def __init__(self):
        self.lanes = []
        self.lane_ix = {}
        self.methods = []
        self.method_ix = {}
        self.rpcs = []    # [t0, t1, from, to, method, outcome, label]
        self.marks = []   # [t, lane, kind, index, term, text]
        self.bands = []   # [lane, t0, t1, kind, label]
        self.notes = []   # [t, text]

    def lane(self, name):
        if name not in self.lane_ix:
            self.lane_ix[name] = len(self.lanes)
            self.lanes.append(name)
        return self.lane_ix[name]

    def method(self, name):
        name = name or "?"
        if name not in self.method_ix:
            self.method_ix[name] = len(self.methods)
            self.methods.append(name)
        return self.method_ix[name]

    def data(self, **kw):
        for r in self.rpcs:  # an empty label need not travel
            if r[-1] == "":
                r.pop()
        d = dict(lanes=[label(n) for n in self.lanes], methods=self.methods,
                 rpcs=self.rpcs, marks=self.marks, bands=self.bands,
                 notes=self.notes)
        d.update(kw)
        return d


def band_kind(reach):
    return "disc" if reach == "disconnected" else "cut"


def label(name):
    return "S" + name if name.isdigit() else name


def read_events(path):
    head = {"test": "", "seed": "", "fail": "", "lanes": {}, "rings": {}}
    events = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if not (line[0].isdigit() or line[0] == "-"):
                key, _, rest = line.partition(" ")
                if key == "lane":
                    i, _, name = rest.partition(" ")
                    head["lanes"][int(i)] = name
                elif key == "ring":
                    name, nxt, first = rest.split()
                    head["rings"][name] = (int(nxt), int(first))
                else:
                    head[key] = rest
                continue
            parts = line.split(" ", 6)
            if len(parts) < 6:
                continue
            t, kind, lane, a, b, c = (int(x) for x in parts[:6])
            events.append((t, kind, lane, a, b, c, parts[6] if len(parts) > 6 else ""))
    events.sort(key=lambda e: e[0])
    return head, events


def lab_data(events_path, log_path=None, trace_path=None, out_dir=None):
    head, events = read_events(events_path)
    lanes = head["lanes"]
    B = Builder()
    for i in sorted(lanes):
        if lanes[i] != "clients":
            B.lane(lanes[i])

    def lane_of(i):
        return B.lane(lanes.get(i, "?%d" % i))

    end_name = {}      # end id -> name
    owner = {}         # end name -> lane name
    target = {}        # end id -> lane name
    enabled = {}       # end id -> bool
    pair_end = {}      # (owner, target) -> latest end id between servers
    calls = {}         # call id -> index in B.rpcs
    t_fail = None
    t_first = events[0][0] if events else 0
    t_last = events[-1][0] if events else 0

    # Connectivity per server lane: which peers its newest ends reach.
    reach_state = {}   # lane -> (label, since)
    peers_of = {}      # lane -> set of peer lanes

    def update_reach(L, t):
        peers = peers_of.get(L, set())
        if not peers:
            return
        r = sorted(M for M in peers if enabled.get(pair_end.get((L, M)), False))
        if len(r) == len(peers):
            lab = ""
        elif not r:
            lab = "disconnected"
        else:
            lab = "reaches " + ",".join(label(M) for M in r)
        old = reach_state.get(L)
        if old and old[0] == lab:
            return
        if old and old[0]:
            B.bands.append([B.lane(L), ms(old[1]), ms(t), band_kind(old[0]), old[0]])
        reach_state[L] = (lab, t)

    down_since = {}
    leader_since = {}  # lane -> (t, term)

    def end_leader(L, t):
        if L in leader_since:
            t0, term = leader_since.pop(L)
            B.bands.append([B.lane(L), ms(t0), ms(t), "leader", "leader T%d" % term])

    last_term = {}
    atext = {}         # index -> the first applied command's text
    for (t, kind, lane, a, b, c, text) in events:
        if kind == END_NEW:
            end_name[a] = text
        elif kind == END_OWNER:
            owner[text] = lanes.get(lane, "?")
        elif kind == END_CONNECT:
            tl = lanes.get(lane, "?")
            target[a] = tl
            o = owner.get(end_name.get(a))
            if o is not None:
                pair_end[(o, tl)] = a
                peers_of.setdefault(o, set()).add(tl)
                update_reach(o, t)
        elif kind == END_ENABLE:
            enabled[a] = bool(b)
            o = owner.get(end_name.get(a))
            if o is not None and a in target and pair_end.get((o, target[a])) == a:
                update_reach(o, t)
        elif kind == SERVER_DOWN:
            L = lanes.get(lane, "?")
            down_since.setdefault(L, t)
            end_leader(L, t)
        elif kind == SERVER_UP:
            L = lanes.get(lane, "?")
            if L in down_since:
                t0 = down_since.pop(L)
                if t - t0 > 1000:  # a restart's own crash1: not a band
                    B.bands.append([B.lane(L), ms(t0), ms(t), "down", "crashed"])
                B.marks.append([ms(t), B.lane(L), "up", 0, 0, "server up"])
        elif kind == STATE:
            L = lanes.get(lane, "?")
            if last_term.get(L) != a and a >= 0:
                B.marks.append([ms(t), B.lane(L), "term", 0, a, "T%d" % a])
                last_term[L] = a
            if b:
                if L not in leader_since or leader_since[L][1] != a:
                    end_leader(L, t)
                    leader_since[L] = (t, a)
            else:
                end_leader(L, t)
        elif kind == START:
            B.marks.append([ms(t), lane_of(lane), "start" if c else "nostart",
                            a if c else 0, b, text])
            # raft_start's answer is a role report too: only a leader
            # accepts (some tests never call raft_get_state).
            L = lanes.get(lane, "?")
            if c and (L not in leader_since or leader_since[L][1] != b):
                end_leader(L, t)
                leader_since[L] = (t, b)
            elif not c:
                end_leader(L, t)
        elif kind == APPLY:
            # Each peer applies the same command at an index: the page
            # keeps its text once (atext; viewer.js), and a differing one
            # on its own mark.
            if atext.setdefault(a, text) == text:
                B.marks.append([ms(t), lane_of(lane), "apply", a, b])
            else:
                B.marks.append([ms(t), lane_of(lane), "apply", a, b, text])
        elif kind == OP:
            B.marks.append([ms(t), B.lane("clients"), "op", c, a / 1000.0, text])
        elif kind == NET:
            mode = ["reliable" if a else "unreliable"]
            if b:
                mode.append("long reordering")
            if c:
                mode.append("long delays")
            B.notes.append([ms(t), "network: " + ", ".join(mode)])
        elif kind == NOTE:
            B.notes.append([ms(t), text])
        elif kind == FAIL:
            t_fail = t
        elif kind in (RPC_SEND, RPC_NOSERVER, RPC_DROP_REQ):
            src = owner.get(end_name.get(a), "clients")
            dst = target.get(a, "?")
            m = B.method(text)
            if kind == RPC_SEND:
                calls[b] = len(B.rpcs)
                B.rpcs.append([ms(t), None, B.lane(src), B.lane(dst), m, PENDING, ""])
            elif kind == RPC_DROP_REQ:
                B.rpcs.append([ms(t), ms(t) + 0.5, B.lane(src), B.lane(dst), m,
                               LOST_REQ, ""])
            else:
                B.rpcs.append([ms(t), ms(t + c * 1000), B.lane(src), B.lane(dst),
                               m, NO_SERVER, ""])
        elif kind in (RPC_REPLY, RPC_DROP_REPLY, RPC_DEAD):
            k = calls.pop(b, None)
            if k is None:
                continue  # its send fell off the ring
            r = B.rpcs[k]
            r[1] = ms(t)
            r[5] = {RPC_REPLY: OK, RPC_DROP_REPLY: LOST_REPLY, RPC_DEAD: NO_REPLY}[kind]
            if kind == RPC_REPLY and c:
                r[6] = "reply delayed %d ms" % c
    t_end = t_fail if t_fail is not None else t_last
    for r in B.rpcs:
        if r[1] is None:
            r[1] = ms(t_end)
    for L, (lab, t0) in reach_state.items():
        if lab:
            B.bands.append([B.lane(L), ms(t0), ms(t_end), band_kind(lab), lab])
    for L, t0 in down_since.items():
        B.bands.append([B.lane(L), ms(t0), ms(t_end), "down", "crashed"])
    for L in list(leader_since):
        end_leader(L, t_end)

    truncated = ""
    nxt, first = head["rings"].get("bulk", (0, 0))
    cfirst = head["rings"].get("ctrl", (0, 0))[1]
    if first or cfirst:
        bulk_t = min((e[0] for e in events if e[1] < END_NEW), default=t_first)
        truncated = ("recording truncated: the %d oldest RPC/apply events and %d "
                     "oldest control events were dropped (bounded ring); detail "
                     "starts at %.1f s" % (first, cfirst, bulk_t / 1e6))

    porcupine, replay = None, ""
    if log_path and os.path.exists(log_path):
        with open(log_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = re.search(r"wrote history visualization to (\S+)", line)
                if m:
                    porcupine = m.group(1)
                m = re.search(r"replay: (.*)$", line)
                if m:
                    replay = m.group(1).strip()
    if porcupine and out_dir:
        porcupine = os.path.relpath(os.path.abspath(porcupine), os.path.abspath(out_dir))

    if trace_path and os.path.exists(trace_path):
        add_lablog(B, trace_path, lanes)

    fail_msg = head.get("fail", "")
    return B.data(kind="lab", title=head.get("test", ""), seed=head.get("seed", ""),
                  fail={"t": ms(t_end), "msg": fail_msg} if t_fail is not None else None,
                  porcupine=porcupine, replay=replay, truncated=truncated,
                  t0=ms(t_first), t1=ms(t_end), atext=atext)


def add_lablog(B, path, lanes):
    """LABLOG lines "<ms> <TOPIC> S<id> text" into their peer's lane."""
    names = set(lanes.values())
    rows = []
    recent = {}  # peer -> its last few rows: a loop's repeats are folded
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"(\d+) (\S+) S(\S+) (.*)", line)
            if not m:
                continue
            peer = m.group(3)
            if peer not in names:
                continue
            text = m.group(2) + " " + m.group(4)[:200]
            last = recent.setdefault(peer, [])
            t = float(m.group(1))
            # Fold a loop's repeats, but show it again every 250 ms.
            same = next((r for r in last if r[3] == text and t - r[0] < 250), None)
            if same:
                same[4] += 1
                continue
            row = [t, peer, m.group(2), text, 1]
            rows.append(row)
            last.append(row)
            if len(last) > 4:
                last.pop(0)
    for t, peer, topic, text, n in rows[-MAX_LOG_LINES:]:
        B.marks.append([t, B.lane(peer), "log", 0, 0,
                        text + (" (×%d)" % n if n > 1 else "")])


# ---- raftsim ------------------------------------------------------------------

SIM_LINE = re.compile(r"^\s+(\d+) ms #(\d+)\s+(.*)$")


def sim_data(text):
    B = Builder()
    fail, title, replay = None, "raftsim", ""
    in_report = False
    seen = set()
    leader_since = {}
    down_since = {}
    cut = None  # (t, label) of the current partition
    t_last = 0.0
    m = re.search(r"^seed (\d+)$", text, re.M)
    if m:
        title = "raftsim seed " + m.group(1)
    m = re.search(r"^profile: (\d+) peers", text, re.M)
    npeers = int(m.group(1)) if m else 0
    for i in range(npeers):
        B.lane(str(i))

    def lane(p):
        return B.lane(p)

    def end_leader(p, t):
        if p in leader_since:
            t0, term = leader_since.pop(p)
            B.bands.append([lane(p), t0, t, "leader", "leader T%d" % term])

    for line in text.splitlines():
        if line.startswith("=== VIOLATION"):
            in_report = True
            fail = {"msg": line.strip("= ")}
            continue
        if in_report:
            m = re.match(r"seed (\d+), step \d+, t=(\d+) ms .*?: (.*)", line)
            if m and "t" not in fail:
                fail["t"] = float(m.group(2))
                fail["msg"] += ": " + m.group(3)
            m = re.match(r"replay: (.*)", line)
            if m:
                replay = m.group(1)
        m = SIM_LINE.match(line)
        if not m:
            continue
        key = (int(m.group(2)), m.group(3))
        if key in seen:  # the report repeats the last events
            continue
        seen.add(key)
        t, ev = float(m.group(1)), m.group(3)
        t_last = max(t_last, t)
        if (mm := re.match(r"S(\d+) <- S(\d+) (\w+) (.*)", ev)):
            lost = "REJECT" in ev or "denied" in ev
            B.rpcs.append([t, t + 0.3, lane(mm.group(2)), lane(mm.group(1)),
                           B.method(mm.group(3)), OK, mm.group(4) +
                           (" (refused)" if lost else "")])
        elif (mm := re.match(r"S(\d+) got reply from S(\d+) to (\w+) (.*)", ev)):
            B.rpcs.append([t, t + 0.3, lane(mm.group(2)), lane(mm.group(1)),
                           B.method(mm.group(3) + " reply"), OK, mm.group(4)])
        elif (mm := re.match(r"S(\d+) send_failed (\w+) T\d+ to S(\d+)", ev)):
            B.rpcs.append([t, t + 0.3, lane(mm.group(1)), lane(mm.group(3)),
                           B.method(mm.group(2)), NO_REPLY, "send_failed"])
        elif (mm := re.match(r"S(\d+) never gets (\w+) T\d+ from S(\d+) \((.*)\)", ev)):
            B.rpcs.append([t, t + 0.3, lane(mm.group(3)), lane(mm.group(1)),
                           B.method(mm.group(2)),
                           LOST_REPLY if "reply" in mm.group(4) else LOST_REQ,
                           mm.group(4)])
        elif (mm := re.match(r"S(\d+) propose cmd (\d+) -> index (\d+) T(\d+)", ev)):
            B.marks.append([t, lane(mm.group(1)), "start", int(mm.group(3)),
                            int(mm.group(4)), "cmd " + mm.group(2)])
        elif (mm := re.match(r"S(\d+) tick \((\w+), T(\d+)\)", ev)):
            p, role, term = mm.group(1), mm.group(2), int(mm.group(3))
            if role != "leader":
                end_leader(p, t)
        elif (mm := re.match(r"S(\d+) is LEADER of T(\d+)", ev)):
            end_leader(mm.group(1), t)
            leader_since[mm.group(1)] = (t, int(mm.group(2)))
            B.marks.append([t, lane(mm.group(1)), "term", 0, int(mm.group(2)),
                            "leader T" + mm.group(2)])
        elif (mm := re.match(r"S(\d+) CRASH", ev)):
            end_leader(mm.group(1), t)
            down_since[mm.group(1)] = t
        elif (mm := re.match(r"S(\d+) restart", ev)):
            p = mm.group(1)
            if p in down_since:
                B.bands.append([lane(p), down_since.pop(p), t, "down", "crashed"])
            B.marks.append([t, lane(p), "up", 0, 0, ev[len(p) + 2:]])
        elif ev.startswith(("PARTITION", "CUT", "HEAL")):
            B.notes.append([t, ev])
            if cut:
                for i in range(npeers):
                    B.bands.append([lane(str(i)), cut[0], t, "cut", cut[1]])
                cut = None
            if ev.startswith("PARTITION"):
                cut = (t, ev[len("PARTITION "):])
        elif (mm := re.match(r"S(\d+) service (.*)", ev)):
            B.marks.append([t, lane(mm.group(1)), "apply", 0, 0, mm.group(2)])
        elif ev.startswith("S"):
            mm = re.match(r"S(\d+) (.*)", ev)
            if mm:
                B.marks.append([t, lane(mm.group(1)), "log", 0, 0, mm.group(2)])
        else:
            B.notes.append([t, ev])
    t_end = fail["t"] if fail and "t" in fail else t_last
    if fail and "t" not in fail:
        fail["t"] = t_end
    for p in list(leader_since):
        end_leader(p, t_end)
    for p, t0 in down_since.items():
        B.bands.append([lane(p), t0, t_end, "down", "crashed"])
    if cut:
        for i in range(npeers):
            B.bands.append([lane(str(i)), cut[0], t_end, "cut", cut[1]])
    return B.data(kind="sim", title=title, seed="", fail=fail, porcupine=None,
                  replay=replay, truncated="", t0=0, t1=t_end)


# ---- lab 1 (test-mr.sh) -------------------------------------------------------

def mr_data(path):
    """The lines "<unix us> <kind> <lane> <text>" of mr-proc.sh/mr-watch.py."""
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"(\d+) (\w+) (worker \d+|\S+) ?(.*)$", line.rstrip("\n"))
            if m:
                rows.append((int(m.group(1)), m.group(2), m.group(3), m.group(4)))
    rows.sort(key=lambda r: r[0])
    B = Builder()
    t_base = rows[0][0] if rows else 0
    procs = sorted({r[2] for r in rows if r[1] in ("start", "exit")},
                   key=lambda n: (n != "coordinator", int(n.split()[1]) if n.startswith("worker ") else 0))
    for n in procs:
        B.lane(n)
    for n in ("intermediate", "outputs", "other-files"):
        if any(r[2] == n for r in rows):
            B.lane(n)
    title, fail = "lab 1", None
    running = {}   # lane -> (t, pid text)
    crashed = {}   # lane -> (t, how)
    t_last = 0.0
    for t_us, kind, lane, text in rows:
        t = ms(t_us - t_base)
        t_last = max(t_last, t)
        if kind == "begin":
            title = "lab 1: " + text
            B.notes.append([t, text + " begins"])
        elif kind == "start":
            if lane in crashed:
                t0, how = crashed.pop(lane)
                B.bands.append([B.lane(lane), t0, t, "down", how])
            running[lane] = (t, text.split(" ", 2)[1] if text.startswith("pid ") else "")
            B.marks.append([t, B.lane(lane), "up", 0, 0, text])
        elif kind == "exit":
            t0, pid = running.pop(lane, (None, ""))
            if t0 is not None:
                B.bands.append([B.lane(lane), t0, t, "run", "pid " + pid])
            bad = text != "exit 0"
            B.marks.append([t, B.lane(lane), "crash" if bad else "exit", 0, 0, text])
            if bad:
                crashed[lane] = (t, "pid %s: %s" % (pid, text))
        elif kind in ("file", "gone"):
            B.marks.append([t, B.lane(lane), kind, 0, 0, text])
        elif kind == "fail":
            fail = {"t": t, "msg": text}
    t_end = fail["t"] if fail else t_last
    for lane, (t0, pid) in running.items():
        B.bands.append([B.lane(lane), t0, t_end, "run", "pid %s (running)" % pid])
    for lane, (t0, how) in crashed.items():
        B.bands.append([B.lane(lane), t0, t_end, "down", how])
    return B.data(kind="mr", title=title, seed="", fail=fail, porcupine=None,
                  replay="", truncated="", t0=0, t1=t_end)


# ---- the page -------------------------------------------------------------------

def render(data, out_path):
    def read(name):
        with open(os.path.join(VIEWER, name), encoding="utf-8") as f:
            return f.read()
    page = read("viewer.html")
    # "</" would end the <script> element early: JSON allows "<\/".
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    for marker, content in (("@@CSS@@", read("viewer.css")),
                            ("@@JS@@", read("viewer.js")),
                            ("@@TITLE@@", html_escape(data.get("title") or "timeline")),
                            ("@@DATA@@", blob)):
        head, sep, tail = page.partition(marker)
        if not sep:
            raise RuntimeError("viewer.html lacks " + marker)
        page = head + content + tail
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, out_path)
    return out_path


def html_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_lab(events_path, out_path, log_path=None, trace_path=None):
    """For run-lab.py and stress.py: returns the page's path or None."""
    if not events_path or not os.path.exists(events_path):
        return None
    try:
        data = lab_data(events_path, log_path, trace_path,
                        os.path.dirname(os.path.abspath(out_path)))
        return render(data, out_path)
    except (OSError, ValueError, RuntimeError) as e:
        print(f"timeline: cannot render {events_path}: {e}", file=sys.stderr)
        return None


def main():
    ap = argparse.ArgumentParser(
        description="Render a run's record as a self-contained HTML timeline.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("events", nargs="?", help="record written via $LAB_TIMELINE")
    ap.add_argument("-o", "--out", help="output page (default: EVENTS.html)")
    ap.add_argument("--log", help="the test's output (porcupine link, replay line)")
    ap.add_argument("--trace", help="the LABLOG debug log of the run")
    ap.add_argument("--sim", help="output of raftsim --seed N --verbose")
    ap.add_argument("--raftsim", help="run this raftsim binary (with --seed)")
    ap.add_argument("--seed", help="raftsim seed")
    ap.add_argument("--mr", help="a lab 1 test's record (test-mr.sh)")
    args, extra = ap.parse_known_args()
    if args.raftsim:
        if not args.seed:
            ap.error("--raftsim needs --seed")
        cmd = [args.raftsim, "--seed", args.seed, "--verbose"] + extra
        try:
            text = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=300).stdout
        except (OSError, subprocess.SubprocessError) as e:
            sys.exit(f"timeline: cannot run {args.raftsim}: {e}")
        data = sim_data(text)
        out = args.out or f"raftsim-seed{args.seed}.html"
    elif args.mr:
        try:
            data = mr_data(args.mr)
        except OSError as e:
            sys.exit(f"timeline: {args.mr}: {e.strerror}")
        out = args.out or re.sub(r"\.events$", "", args.mr) + ".html"
    elif args.sim:
        try:
            with open(args.sim, encoding="utf-8", errors="replace") as f:
                data = sim_data(f.read())
        except OSError as e:
            sys.exit(f"timeline: {args.sim}: {e.strerror}")
        out = args.out or args.sim + ".html"
    elif args.events:
        if extra:
            ap.error("unexpected arguments: " + " ".join(extra))
        try:
            data = lab_data(args.events, args.log, args.trace,
                            os.path.dirname(os.path.abspath(args.out or args.events)))
        except OSError as e:
            sys.exit(f"timeline: {args.events}: {e.strerror}")
        out = args.out or re.sub(r"\.events$", "", args.events) + ".timeline.html"
    else:
        ap.error("give an EVENTS file, --sim FILE, --raftsim BIN --seed N or --mr EVENTS")
    render(data, out)
    print(f"timeline: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
