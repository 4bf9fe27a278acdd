#!/usr/bin/env python3
"""gen.py - generate the C source of the visualization page from template.html.

The page is easier to edit as plain HTML/CSS/JS; the C file holds it as two
string literals around the '@@DATA@@' marker, where visualize.c writes the
JSON data. The build runs it (labs/porcupine/module.mk):

    python3 labs/porcupine/vis/gen.py OUT.c
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, 'template.html')

HEADER = '''/* vis_template.c - the HTML page of the visualization: CSS, markup and
 * the JS renderer, around the JSON data that visualize.c writes between
 * porcupine_vis_head and porcupine_vis_tail. Self-contained (no external
 * resources), so the file can be opened anywhere, e.g. from a CI artifact.
 *
 * GENERATED at build time by labs/porcupine/vis/gen.py from
 * labs/porcupine/vis/template.html: edit those, never this file.
 *
 * The renderer follows Porcupine's visualization (graded-tests.md §8.3):
 * one lane per client, time warped so every box fits its text and the
 * linearization points inside it, the longest linearizable prefix drawn as
 * joined marks, the illegal next steps in red, hover/click to inspect an op
 * and see the partial linearization that contains it. */
#include "labs/porcupine/porcupine_internal.h"

/* clang-format off */
'''


def literal(name, text):
    out = ['const char %s[] =' % name]
    lines = text.split('\n')
    for i, line in enumerate(lines):
        nl = '\\n' if i < len(lines) - 1 else ''
        if not line and not nl:
            continue
        if '??' in line:
            sys.exit('gen.py: "??" would be a C trigraph: %r' % line)
        esc = line.replace('\\', '\\\\').replace('"', '\\"')
        out.append('    "%s%s"' % (esc, nl))
    out[-1] += ';'
    return '\n'.join(out) + '\n'


def main():
    src = open(SRC, encoding='ascii').read()
    head, tail = src.split('@@DATA@@')
    dst = sys.argv[1]
    with open(dst, 'w') as f:
        f.write(HEADER + literal('porcupine_vis_head', head) + '\n' +
                literal('porcupine_vis_tail', tail) + '/* clang-format on */\n')


if __name__ == '__main__':
    main()
