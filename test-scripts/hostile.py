#!/usr/bin/env python3
"""hostile.py - hostile clients for test-hostile.sh, speaking raw
msgpack-rpc over TCP (python3-msgpack) to a running daemon.

  hostile.py idle HOST:PORT N SECS        open N idle connections, hold SECS;
                                          prints how many the server closed
  hostile.py trickle HOST:PORT SECS       send a request 1 byte/s; prints
                                          "closed AFTER" or "open"
  hostile.py partial HOST:PORT N MIB SECS N connections each send a MIB MiB
                                          message minus its last byte, hold
  hostile.py pipeline HOST:PORT N         N Gets in one write on one
                                          connection; prints error counts
  hostile.py vote HOST:PORT TERM          forged Raft.RequestVote; prints the
                                          reply's error or result
  hostile.py append HOST:PORT TERM        forged AppendEntries planting one
                                          entry at index 1 (leader 0)
  hostile.py call HOST:PORT METHOD JSON   one call; prints error or result
"""
import json
import socket
import sys
import time

import msgpack


def conn(addr, timeout=10.0):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    return s


def call(addr, method, args, msgid=1, timeout=10.0):
    s = conn(addr, timeout)
    s.sendall(msgpack.packb([0, msgid, method, [args]], use_bin_type=True))
    u = msgpack.Unpacker(raw=False)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return "closed", None
            u.feed(d)
            for m in u:
                return m[2], m[3]
    except socket.timeout:
        return "timeout", None
    finally:
        s.close()


def closed_by_peer(s):
    """True if the server closed (EOF/reset) without blocking."""
    s.setblocking(False)
    try:
        d = s.recv(1)
        return d == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)


def cmd_idle(addr, n, secs):
    socks = []
    for _ in range(int(n)):
        try:
            socks.append(conn(addr))
        except OSError:
            break
    print("opened", len(socks), flush=True)
    time.sleep(float(secs))
    print("closed-by-server", sum(1 for s in socks if closed_by_peer(s)))


def cmd_trickle(addr, secs):
    msg = msgpack.packb([0, 1, "KVServer.Get", [{"k": "x" * 64, "c": 1, "s": 1}]])
    s = conn(addr)
    t0 = time.time()
    i = 0
    while time.time() - t0 < float(secs) and i < len(msg) - 1:
        try:
            s.sendall(msg[i:i + 1])
        except OSError:
            break
        i += 1
        time.sleep(1.0)
        if closed_by_peer(s):
            print("closed %.0f" % (time.time() - t0))
            return
    print("open" if not closed_by_peer(s) else "closed %.0f" % (time.time() - t0))


def cmd_partial(addr, n, mib, secs):
    size = int(float(mib) * (1 << 20))
    # [0, 1, "KVServer.Put", [{"k": "k", "v": bin(size)}]] minus the last byte
    body = (b"\x94\x00\x01\xacKVServer.Put\x91\x82\xa1k\xa1k\xa1v\xc6" +
            size.to_bytes(4, "big"))
    socks = []
    chunk = b"\0" * (1 << 20)
    for _ in range(int(n)):
        s = conn(addr, timeout=60)
        try:
            s.sendall(body)
            left = size - 1
            while left > 0:
                k = min(left, len(chunk))
                s.sendall(chunk[:k])
                left -= k
        except OSError:
            pass
        socks.append(s)
    print("sent", len(socks), flush=True)
    time.sleep(float(secs))
    print("closed-by-server", sum(1 for s in socks if closed_by_peer(s)))


def cmd_pipeline(addr, n):
    n = int(n)
    buf = b"".join(msgpack.packb([0, i, "KVServer.Get",
                                  [{"k": "k%d" % (i % 7), "c": 777, "s": i + 1}]])
                   for i in range(n))
    s = conn(addr, timeout=120)
    s.sendall(buf)
    u = msgpack.Unpacker(raw=False)
    counts = {}
    got = 0
    while got < n:
        d = s.recv(1 << 16)
        if not d:
            break
        u.feed(d)
        for m in u:
            got += 1
            e = m[2] if m[2] is not None else "OK"
            counts[e] = counts.get(e, 0) + 1
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())),
          "replies=%d" % got)


def cmd_vote(addr, term):
    err, res = call(addr, "Raft.RequestVote",
                    {"t": int(term), "f": 1, "li": 0, "lt": 0})
    print(err if err is not None else "OK %s" % json.dumps(res))


def cmd_append(addr, term):
    err, res = call(addr, "Raft.AppendEntries",
                    {"t": int(term), "f": 0, "pi": 0, "pt": 0, "c": 0,
                     "e": [[int(term), b"forged"]]})
    print(err if err is not None else "OK %s" % json.dumps(res))


def cmd_call(addr, method, args):
    err, res = call(addr, method, json.loads(args))
    print(err if err is not None else "OK %s" % json.dumps(res, default=repr))


CMDS = {"idle": cmd_idle, "trickle": cmd_trickle, "partial": cmd_partial,
        "pipeline": cmd_pipeline, "vote": cmd_vote, "append": cmd_append,
        "call": cmd_call}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in CMDS:
        sys.stderr.write(__doc__)
        sys.exit(2)
    CMDS[sys.argv[1]](*sys.argv[2:])
