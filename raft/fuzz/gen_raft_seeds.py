#!/usr/bin/env python3
"""gen_raft_seeds.py DIR - seed corpus for fuzz_raft_wire: one valid
message of every type (byte 0 = type - 1, then the msgpack map)."""
import os
import sys

import msgpack

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
seeds = [
    (1, {"t": 3, "f": 1, "li": 10, "lt": 2}),
    (2, {"t": 3, "g": True}),
    (3, {"t": 3, "f": 0, "pi": 4, "pt": 2, "c": 4,
         "e": [[3, b"put x 1"], [3, b""]]}),
    (3, {"t": 1, "f": 2, "pi": 0, "pt": 0, "c": 0}),
    (4, {"t": 3, "s": False, "xt": 2, "xi": 3, "xl": 5}),
    (5, {"t": 3, "f": 0, "li": 7, "lt": 2, "d": b"\x93\x01\x02\x03"}),
    (6, {"t": 3}),
    (1, {"t": 1 << 60, "f": 1, "li": 0, "lt": 0}),
]
for i, (t, m) in enumerate(seeds):
    with open(os.path.join(out, "seed%02d" % i), "wb") as f:
        f.write(bytes([t - 1]) + msgpack.packb(m, use_bin_type=True))
