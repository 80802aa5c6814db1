#!/usr/bin/env python3
"""Renders a `verify --format markdown` report with markdown-it-py (from PyPI) and checks it: the
headline, one table row per file with its six cells, and the status words. Prints each row's
cells (file, status, failed checks) so a test can compare them.

    python3 -m pip install markdown-it-py==3.0.0
    keras-inspect verify DIR --format markdown > r.md && python3 scripts/check-markdown.py r.md
"""
import json
import sys

from markdown_it import MarkdownIt


def main(path):
    text = open(path, encoding="utf-8").read()
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    rows, row, cell, in_header = [], None, None, False
    for token in tokens:
        if token.type == "thead_open":
            in_header = True
        elif token.type == "thead_close":
            in_header = False
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            if not in_header:
                rows.append(row)
        elif token.type in ("td_open", "th_open"):
            cell = ""
        elif token.type == "inline" and cell is not None:
            cell = "".join(child.content for child in token.children or [])
        elif token.type in ("td_close", "th_close"):
            row.append(cell)
            cell = None
    if not any(t.type == "table_open" for t in tokens):
        sys.exit("no table")
    for r in rows:
        if len(r) != 6:
            sys.exit(f"row with {len(r)} cells: {r}")
        if not r[0].split(" ")[-1] in ("passed", "failed", "error"):
            sys.exit(f"bad status {r[0]!r}")
    print(json.dumps([{"status": r[0].split(" ")[-1], "file": r[1], "failed": r[5]} for r in rows]))


if __name__ == "__main__":
    main(sys.argv[1])
