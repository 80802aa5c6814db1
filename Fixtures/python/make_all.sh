#!/bin/sh
# Writes Fixtures/python/code-MAJOR.MINOR.json with every CPython that pyenv has installed
# (2.7 and 3.6 to 3.13 are the ones the fixtures cover). Never run in CI; the output is committed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(pyenv root)
found=0
for python in "$root"/versions/*/bin/python; do
    [ -x "$python" ] || continue
    "$python" "$here/make_code.py"
    found=$((found + 1))
done
[ "$found" -gt 0 ] || { echo "no pyenv interpreters under $root/versions" >&2; exit 1; }
