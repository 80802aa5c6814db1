#!/usr/bin/env bash
# The library as a dependent sees it (part of `make test`): its DocC documentation builds with
# every symbol link resolved, and Examples/ReadModel, a separate package that depends on this one
# by path, builds and runs on the fixtures: summaries, parameter counts, a forward pass verified
# against the outputs Keras computed, and an unreadable file refused.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT="${SWIFT:-swift}"

"$SWIFT" package generate-documentation --target KerasInspect --warnings-as-errors > /dev/null
test -s .build/plugins/Swift-DocC/outputs/KerasInspect.doccarchive/data/documentation/kerasinspect/gettingstarted.json

"$SWIFT" build --package-path Examples/ReadModel > /dev/null
example="$("$SWIFT" build --package-path Examples/ReadModel --show-bin-path)/read-model"

fail() { echo "check-library: $*" >&2; exit 1; }
expect() {  # expect OUTPUT TEXT: the example's output holds TEXT on one line
  grep -qF -- "$2" <<< "$1" || { printf '%s\n' "$1" >&2; fail "the example's output lacks: $2"; }
}

for keras in keras2 keras3; do
  model="Fixtures/$keras/lstm_worked_example.h5"
  out="$("$example" "$model" "Fixtures/$keras/lstm_worked_example.npz")" || fail "$model: exit $?"
  expect "$out" "Total params: 640 (2.50 KB)"
  expect "$out" "output 0: PASS"
  expect "$out" "verify: passed"
done
# A multi-input model from the bundle Keras wrote, and a .keras archive on the smoke batch.
out="$("$example" Fixtures/keras3/multi_io.keras Fixtures/keras3/multi_io.npz)" || fail "multi_io.keras: exit $?"
expect "$out" "verify: passed"
out="$("$example" Fixtures/keras3/lstm_worked_example.keras)" || fail "lstm_worked_example.keras: exit $?"
expect "$out" "output 0: shape [1, 10]"
# Reference outputs of another model (the same input shape, outputs (3, 1)) fail the check.
status=0
err="$("$example" Fixtures/keras2/lstm_worked_example.h5 Fixtures/keras2/functional_linear.npz 2>&1)" || status=$?
test "$status" = 1 || fail "a wrong reference exited $status, not 1"
expect "$err" "verify: failed"
status=0
err="$("$example" README.md 2>&1)" || status=$?
test "$status" = 2 || fail "a file that is not a model exited $status, not 2"
expect "$err" "README.md: not an HDF5 file or a .keras archive"
echo "check-library: DocC documentation and Examples/ReadModel OK"
