#!/usr/bin/env python3
"""tamper_check.py - refuse student objects that reach around the test network.

    tamper_check.py LIB.a|OBJ.o ...        (exit 1 and a report if refused)

The graded tests of labs 2-5 run student code over labnet's fault model,
which lives in the protected libraries (labs/, rpc/, common/) that grade
restores from the skeleton. Restoring files is not enough: student code
linked into the same test binary could switch the fault model off
(rpc_end_set_filter(e, NULL, NULL)), make an unfiltered end to a peer's
address (rpc_end_new(rpc_end_addr(e))), drive labnet directly, open
sockets of its own, or replace a protected function (or malloc, which the
memory tests count) with a definition of its own, which a static link
would take first. So grade lists the symbols the student's libraries
reference and define (nm) and refuses the part if:

  - they reference a symbol in FORBIDDEN_REFS (or starting with one of
    FORBIDDEN_PREFIXES): the fault hooks, end creation/retargeting, the
    test network, raw sockets, dynamic symbol lookup, syscall; or any
    symbol the test harness (labs/) defines;
  - they define a global symbol that a protected object (PROTECTED_OBJS in
    the build tree) or the C library also defines.

This is a check on what the code names, not a sandbox; it catches the ways
the fault model can be switched off through the API.
"""

import os
import subprocess
import sys

FORBIDDEN_REFS = {
    # the fault model's hooks and ways around them
    "rpc_end_set_filter": "removes or replaces the test network's fault filter",
    "rpc_end_filter_ctx": "reads the test network's private filter state",
    "rpc_end_new": "makes an RPC end the test network does not control",
    "rpc_end_set_addr": "retargets an RPC end behind the test network's back",
    "rpc_end_addr": "reads a peer's real address to bypass the test network",
    "rpc_end_set_timeout": "changes the call semantics of the test network",
    "rpc_end_free": "frees an RPC end the test network owns",
    "rpc_server_new": "opens a server the test network does not control",
    "rpc_server_listen": "opens a listening socket of its own",
    # sockets of its own
    "socket": "opens a socket of its own", "socketpair": "opens a socket of its own",
    "connect": "opens a connection of its own", "bind": "binds a socket of its own",
    "listen": "listens on a socket of its own", "accept": "accepts connections of its own",
    "accept4": "accepts connections of its own",
    # ways to hide what it calls
    "dlopen": "loads code at run time", "dlmopen": "loads code at run time",
    "dlsym": "looks symbols up at run time", "dlvsym": "looks symbols up at run time",
    "syscall": "makes raw system calls",
}
FORBIDDEN_PREFIXES = {
    "labnet_": "drives the test network directly",
    "rpc_end_pool_": "makes RPC ends the test network does not control",
}
# Build-tree object directories whose code the student may not replace.
PROTECTED_OBJS = ("obj/common", "obj/rpc", "obj/labs")
DEFINED_TYPES = set("TDBRWVCiGSu")


def nm_symbols(path):
    """[(member, name, type)] of the global symbols of an archive/object."""
    r = subprocess.run(["nm", "-P", "-A", "-g", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"nm {path}: {r.stderr.strip() or 'failed'}")
    out = []
    for line in r.stdout.splitlines():
        head, _, rest = line.partition(": ")
        f = rest.split()
        if len(f) >= 2:
            member = head[head.find("[") + 1:-1] if head.endswith("]") else os.path.basename(head)
            out.append((member, f[0].split("@")[0], f[1]))
    return out


def libc_symbols():
    """Global symbols the C library defines (its dynamic symbol table)."""
    r = subprocess.run(["cc", "-print-file-name=libc.so.6"], capture_output=True, text=True)
    libc = r.stdout.strip()
    if r.returncode != 0 or not os.path.isabs(libc):
        return set()
    r = subprocess.run(["nm", "-D", "--defined-only", "-P", libc], capture_output=True,
                       text=True)
    return {l.split()[0].split("@")[0] for l in r.stdout.splitlines()
            if l.split() and l.split()[1] not in "A"}


def protected_symbols(build_dir, subdirs=PROTECTED_OBJS):
    """Global symbols defined by the protected objects of a build tree."""
    names = set()
    for sub in subdirs:
        root = os.path.join(build_dir, sub)
        for d, _, files in os.walk(root):
            for f in files:
                if f.endswith(".o"):
                    names |= {n for _, n, t in nm_symbols(os.path.join(d, f))
                              if t in DEFINED_TYPES}
    return names


def check(paths, reserved, harness=frozenset()):
    """Problems (one line each) in the given student archives/objects;
    reserved: names student code may not define; harness: names of the
    test harness, which student code may not call."""
    problems = []
    for p in paths:
        for member, name, typ in nm_symbols(p):
            where = f"{os.path.basename(p)}({member})"
            if typ in "Uwv":
                why = FORBIDDEN_REFS.get(name) or next(
                    (w for pre, w in FORBIDDEN_PREFIXES.items() if name.startswith(pre)), None)
                if not why and name in harness:
                    why = "calls into the test harness"
                if why:
                    problems.append(f"{where} calls {name}: {why}")
            elif typ in DEFINED_TYPES and name in reserved:
                problems.append(f"{where} defines {name}, which the given code or the C "
                                "library defines: rename it or make it static")
    return sorted(set(problems))


def check_build(build_dir, paths):
    """check() with the reserved names taken from a build tree (its
    protected objects) and the C library."""
    libc = libc_symbols()
    # The harness may define libc names itself (lab 2 replaces malloc to
    # count the heap): calling those is calling libc.
    return check(paths, libc | protected_symbols(build_dir),
                 protected_symbols(build_dir, ("obj/labs",)) - libc)


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        print("Set TAMPER_BUILD=<build dir> (e.g. build/release) to also refuse\n"
              "definitions of the protected objects' names and calls into labs/.")
        return 0
    build_dir = os.environ.get("TAMPER_BUILD", "")
    problems = (check_build(build_dir, sys.argv[1:]) if build_dir
                else check(sys.argv[1:], libc_symbols()))
    for p in problems:
        print(f"tamper_check: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
