"""What the sandbox costs: interleaved runs of the release binary with it and without it
(KERAS_INSPECT_NO_SANDBOX=1), on `summary` of the worked example and on `verify` of every Keras 2
and Keras 3 fixture. Medians; the difference is the sandbox's cost (Landlock ruleset, limits,
no-new-privileges). The file's own self-containment checks cannot be switched off in a release
binary, so they are inside both figures.

    make build && python3 Benchmarks/sandbox_cost.py [--runs N]
"""
import argparse
import os
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BINARY = os.path.join(ROOT, ".build", "release", "keras-inspect")


def timed(arguments, environment):
    start = time.perf_counter()
    subprocess.run([BINARY] + arguments, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def compare(label, arguments, runs):
    on = dict(os.environ)
    on.pop("KERAS_INSPECT_NO_SANDBOX", None)
    off = dict(on, KERAS_INSPECT_NO_SANDBOX="1")
    timed(arguments, on)  # warm the page cache
    with_sandbox, without = [], []
    for _ in range(runs):
        with_sandbox.append(timed(arguments, on))
        without.append(timed(arguments, off))
    a, b = statistics.median(with_sandbox) * 1e3, statistics.median(without) * 1e3
    print(f"{label}: sandbox on {a:.2f} ms, off {b:.2f} ms, cost {a - b:+.2f} ms ({(a - b) / b * 100:+.1f}%), medians of {runs} interleaved runs")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    fixtures = os.path.join(ROOT, "Fixtures")
    compare("summary, worked example", ["summary", os.path.join(fixtures, "keras2", "lstm_worked_example.h5")], args.runs)
    compare("verify, Keras 2 and Keras 3 fixtures", ["verify", os.path.join(fixtures, "keras2"), os.path.join(fixtures, "keras3")], max(10, args.runs // 20))


if __name__ == "__main__":
    main()
