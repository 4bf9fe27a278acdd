#!/usr/bin/python3
"""test_interop.py - prove our RPC wire format is the public msgpack-rpc spec.

A client written only with Debian's python3-msgpack and a plain socket (no
project code) talks to labnet-interop-server:
  request  [0, msgid, "Service.Method", [args]]
  response [1, msgid, error, result]
It checks well-formed calls (named-field maps, types preserved, unknown
fields ignored, missing ones defaulted, error strings, replies matched by
msgid and overtaking each other on one connection), then sends malformed
and hostile input and checks that the server answers with an error or
closes that one connection, stays up, and does not allocate what a peer
declares.

usage: /usr/bin/python3 test_interop.py path/to/labnet-interop-server
"""
import os
import socket
import subprocess
import sys
import time

import msgpack

TIMEOUT = 5.0
checks = 0


def fail(msg):
    print("interop: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    global checks
    if not cond:
        fail(msg)
    checks += 1


class Conn:
    """One msgpack-rpc connection: pack requests, unpack a stream."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, obj):
        self.send_raw(msgpack.packb(obj, use_bin_type=True))

    def recv(self):
        """Next object, or EOF if the server closed the connection."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for obj in self.unpacker:
                return obj
            left = deadline - time.monotonic()
            if left <= 0:
                fail("no reply within %.0f s" % TIMEOUT)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                return EOF
            except socket.timeout:
                fail("no reply within %.0f s" % TIMEOUT)
            if not data:
                return EOF
            self.unpacker.feed(data)

    def call(self, msgid, method, args):
        self.send([0, msgid, method, [args]])
        return self.recv()

    def close(self):
        self.sock.close()


EOF = object()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    srv = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE)
    try:
        run(srv)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()


def run(srv):
    line = srv.stdout.readline().decode().split()
    check(len(line) == 2 and line[0] == "ADDR", "server printed %r" % line)
    host, port = line[1].rsplit(":", 1)
    port = int(port)
    new = lambda: Conn(host, port)

    # --- well-formed calls ---------------------------------------------
    c = new()
    check(c.call(1, "Arith.Add", {"a": 3, "b": 4}) == [1, 1, None, {"sum": 7}],
          "Arith.Add 3+4")
    r = c.call(2, "Arith.Add", {"a": -5, "b": 2 ** 40})
    check(r == [1, 2, None, {"sum": 2 ** 40 - 5}], "Arith.Add big: %r" % (r,))
    r = c.call(3, "Arith.Add", {"a": 5, "zzz": [1, {"x": None}]})
    check(r == [1, 3, None, {"sum": 5}],
          "unknown field ignored, missing field defaults: %r" % (r,))
    r = c.call(4, "Arith.Div", {"a": 17, "b": 5})
    check(r == [1, 4, None, {"q": 3, "r": 2}], "Arith.Div: %r" % (r,))
    r = c.call(5, "Arith.Div", {"a": 1, "b": 0})
    check(r[:3] == [1, 5, "EINVAL"] and r[3] is None,
          "handler error travels as a string code: %r" % (r,))
    r = c.call(6, "Arith.Add", {"a": "three", "b": 4})
    check(r[:3] == [1, 6, "EBADARGS"] and r[3] is None,
          "wrongly typed field: %r" % (r,))
    r = c.call(7, "Arith.Mul", {"a": 1})
    check(r[:3] == [1, 7, "ENOMETHOD"], "unknown method: %r" % (r,))
    r = c.call(8, "Nope.Add", {"a": 1})
    check(r[:3] == [1, 8, "ENOMETHOD"], "unknown service: %r" % (r,))

    args = {"s": "h\u00e9llo w\u00f6rld", "b": bytes(range(256)), "n": -1,
            "u": 2 ** 64 - 1, "f": 2.5, "t": True, "nil": None,
            "arr": [1, "two", [3]], "m": {"k": "v"}}
    r = c.call(9, "Echo.Echo", args)
    check(r == [1, 9, None, args], "Echo.Echo round trip: %r" % (r,))
    check(isinstance(r[3]["b"], bytes) and isinstance(r[3]["s"], str),
          "bin stays bin and str stays str")

    big = "x" * (1 << 20)
    r = c.call(10, "Echo.Echo", {"s": big})
    check(r == [1, 10, None, {"s": big}], "1 MiB string echoed")

    r = c.call(2 ** 32 - 1, "Arith.Add", {"a": 1, "b": 1})
    check(r == [1, 2 ** 32 - 1, None, {"sum": 2}], "msgid 2^32-1: %r" % (r,))

    # Pipelining: a slow call does not hold up a fast one on the same
    # connection, and replies are matched by msgid, not by order.
    t0 = time.monotonic()
    c.send([0, 100, "Slow.Sleep", [{"ms": 300}]])
    c.send([0, 101, "Arith.Add", [{"a": 1, "b": 2}]])
    first, second = c.recv(), c.recv()
    check(first == [1, 101, None, {"sum": 3}],
          "fast reply overtakes the slow one: %r" % (first,))
    check(second == [1, 100, None, {"ms": 300}], "slow reply: %r" % (second,))
    check(time.monotonic() - t0 >= 0.29, "Slow.Sleep slept")

    # Many requests in one write.
    c.send_raw(b"".join(msgpack.packb([0, 200 + i, "Arith.Add",
                                       [{"a": i, "b": i}]])
                        for i in range(50)))
    got = {}
    for _ in range(50):
        r = c.recv()
        check(r is not EOF and r[0] == 1 and r[2] is None, "batched reply")
        got[r[1]] = r[3]["sum"]
    check(got == {200 + i: 2 * i for i in range(50)}, "50 batched replies")
    c.close()

    # --- malformed and hostile input --------------------------------------
    # Each on its own connection: the server must answer with an error
    # reply or close that connection, never crash or hang, and keep
    # serving others.
    def expect_error_or_close(data, what, msgid=None, allow_ignore=False):
        # A valid request follows the bad bytes, so a server that skips
        # the bad message answers it instead of leaving us waiting.
        k = new()
        k.send_raw(data + msgpack.packb([0, 777, "Arith.Add",
                                         [{"a": 1, "b": 1}]]))
        r = k.recv()
        if r is EOF:
            check(True, what)
            outcome = "connection closed"
        elif r == [1, 777, None, {"sum": 2}]:
            check(allow_ignore, "%s: silently ignored" % what)
            outcome = "ignored"
        else:
            outcome = "error reply %r" % (r[2:3] if isinstance(r, list)
                                          else r)
            ok = (isinstance(r, list) and len(r) == 4 and r[0] == 1 and
                  isinstance(r[2], str) and r[3] is None and
                  (msgid is None or r[1] == msgid))
            check(ok, "%s: expected an error reply or close, got %r" %
                  (what, r))
        print("interop: %-32s -> %s" % (what, outcome))
        k.close()
        alive(what)

    def alive(what):
        check(srv.poll() is None, "server died after: " + what)
        k = new()
        r = k.call(1, "Arith.Add", {"a": 20, "b": 22})
        check(r == [1, 1, None, {"sum": 42}],
              "server unusable after %s: %r" % (what, r))
        k.close()

    expect_error_or_close(b"\xc1", "never-used msgpack byte 0xc1")
    expect_error_or_close(msgpack.packb(42), "a bare integer")
    expect_error_or_close(msgpack.packb([0, 1]), "a 2-element array")
    expect_error_or_close(msgpack.packb([0, "id", "Arith.Add", [{}]]),
                          "string msgid")
    expect_error_or_close(msgpack.packb([0, -1, "Arith.Add", [{}]]),
                          "negative msgid")
    expect_error_or_close(msgpack.packb([0, 1, 7, [{}]]), "integer method")
    expect_error_or_close(msgpack.packb([1, 1, None, {}]),
                          "a response sent to the server", allow_ignore=True)
    expect_error_or_close(msgpack.packb([0, 5, "Arith.Add", {"a": 1}]),
                          "params not an array", msgid=5)
    expect_error_or_close(msgpack.packb([0, 6, "Arith.Add", [1]]),
                          "args not a map", msgid=6)
    # Empty params: a generic client calling a method without arguments
    # sends []; treating it as an empty map (every field defaulted) is as
    # valid as refusing it.
    k = new()
    k.send([0, 7, "Arith.Add", []])
    r = k.recv()
    check(r is EOF or r == [1, 7, None, {"sum": 0}] or
          (r[:2] == [1, 7] and isinstance(r[2], str) and r[3] is None),
          "empty params: %r" % (r,))
    k.close()
    alive("empty params")
    expect_error_or_close(msgpack.packb([0, 8, "Add", [{}]]),
                          "method without a service", msgid=8)

    # Declared sizes must not be trusted: headers claiming 4 Gi elements
    # or bytes, followed by a little data, then our side closes.
    rss0 = rss_kib(srv.pid)
    for hdr, what in [(b"\xdd\xff\xff\xff\xff", "array32 of 2^32-1"),
                      (b"\xdf\xff\xff\xff\xff", "map32 of 2^32-1"),
                      (b"\x94\x00\x01\xdb\xff\xff\xff\xff", "str32 of 4 GiB"),
                      (b"\xc6\xff\xff\xff\xff", "bin32 of 4 GiB")]:
        k = new()
        try:
            k.send_raw(hdr + b"\x00" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed on us already: fine
        k.close()
        alive(what)
    rss1 = rss_kib(srv.pid)
    check(rss1 - rss0 < 256 * 1024,
          "declared sizes were trusted: RSS grew %d KiB" % (rss1 - rss0))

    # A truncated request, then the client goes away.
    k = new()
    k.send_raw(msgpack.packb([0, 1, "Arith.Add", [{"a": 1, "b": 2}]])[:7])
    k.close()
    alive("truncated request")

    # A notification [2, method, params] (no reply in the spec): ignored or
    # the connection closed, either way no reply to it and no crash.
    k = new()
    k.send([2, "Arith.Add", [{"a": 1}]])
    r = k.call(9, "Arith.Add", {"a": 2, "b": 2})
    check(r is EOF or r == [1, 9, None, {"sum": 4}],
          "after a notification: %r" % (r,))
    k.close()
    alive("notification")

    # --- clean exit -------------------------------------------------------
    srv.stdin.close()
    try:
        rc = srv.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        fail("server did not exit after stdin closed")
    check(rc == 0, "server exit status %d" % rc)
    print("interop: %d checks passed (msgpack-python %s, server %s)" %
          (checks, ".".join(map(str, msgpack.version)), line[1]))


if __name__ == "__main__":
    main()
