"""keras-inspect side by side with Keras/TensorFlow and h5py, on the same files and inputs, in one run.

    make compare                                  # builds, makes the models, runs this
    python Benchmarks/compare.py [--models DIR] [--bench PATH] [--json OUT]

Needs Benchmarks/requirements.txt (TensorFlow 2.21, Keras 3.15, h5py) and the models from
Benchmarks/models.py. It runs keras-inspect-bench --json, then times the Python side of each case:

  summary / check   a fresh `python` process that imports Keras, loads the file and prints the
                    summary (what a CI job would otherwise run), against the whole keras-inspect process
  load              a fresh process that reads every weight dataset of large.h5 into NumPy with h5py,
                    against keras-inspect-bench's load (also a fresh process); peak RSS of each
  forward           TensorFlow's eager `model(x)` on the model loaded by Keras (the issue's yardstick),
                    and the same model as a compiled tf.function (graph mode), against the native pass,
                    the two sides taking turns over three rounds
  applications      ResNet50, DenseNet121, MobileNetV2, EfficientNetB0, InceptionV3 at batch 1:
                    `keras-inspect bench` (in-process forward, weights bound first) against both
                    TensorFlow modes, the two sides taking turns over three rounds; its peak RSS against the stored weights plus the two largest
                    activations plus 50 MB; `--profile` for the GFLOP/s of ResNet50's 3×3
                    convolutions against the cores' FMA peak; whole-process `summary` of each (and
                    DenseNet121's against the worked example's, the two taking turns), and
                    `verify --bundle` of ResNet50 against a Python process that loads and predicts

Each row prints both medians and the ratio (how many times faster keras-inspect is; above 1 is
faster), then the issue's target and whether it is met.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

WORKED_EXAMPLE = "Fixtures/keras3/lstm_worked_example.h5"

# Forward passes: TensorFlow and keras-inspect take turns over this many rounds, so that the
# shared host's load changing between the two sides does not land on one side alone.
ROUNDS = 3

SUMMARY_SNIPPET = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
keras.models.load_model(sys.argv[1], compile=False).summary()
"""

H5PY_SNIPPET = """
import sys, time
import h5py, numpy as np
start = time.perf_counter()
arrays = []
with h5py.File(sys.argv[1], "r") as f:
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "f":
            arrays.append(obj[()])
    f["model_weights"].visititems(visit)
elapsed = time.perf_counter() - start
print(elapsed, sum(a.nbytes for a in arrays))
"""


def run_child(argv, capture=False):
    """Runs argv; returns (wall seconds, peak RSS bytes, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE if capture else subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = proc.stdout.read().decode() if capture else ""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)} failed with status {status}")
    return elapsed, usage.ru_maxrss * 1024, out


def warm(path):
    with open(path, "rb") as f:
        while f.read(16 << 20):
            pass


def evict(path):
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)


def timed_processes(argv, runs, path, cold=False):
    warm(path)
    run_child(argv)
    times, peaks = [], []
    for _ in range(runs):
        if cold:
            evict(path)
        t, peak, _ = run_child(argv)
        times.append(t)
        peaks.append(peak)
    return statistics.median(times), max(peaks)


def interleaved_processes(argvs, runs):
    """Runs each of argvs once per round, in turn, for `runs` rounds after a warm-up round; returns
    each one's median wall seconds. Taking turns puts the shared host's changing load on every
    command alike, for ratios between them."""
    times = [[] for _ in argvs]
    for round_index in range(runs + 1):
        for i, argv in enumerate(argvs):
            t, _, _ = run_child(argv)
            if round_index:
                times[i].append(t)
    return [statistics.median(t) for t in times]


def timed(call, budget):
    call()
    times, spent = [], 0.0
    while len(times) < 5 or (spent < budget and len(times) < 2000):
        start = time.perf_counter()
        call()
        t = time.perf_counter() - start
        times.append(t)
        spent += t
    return statistics.median(times)


def tensorflow_calls(model_path, npz_path):
    """Keras's eager `model(x)` and the same model as a compiled tf.function (graph mode, oneDNN
    kernels: TensorFlow's fastest path on CPU), as two calls on the reference input."""
    import numpy as np
    import keras
    import tensorflow as tf
    model = keras.models.load_model(model_path, compile=False)
    data = np.load(npz_path)
    x, expected = data["input_0"], data["output_0"]
    y = np.asarray(model(x))
    assert np.allclose(y, expected, atol=1e-4, rtol=1e-4), f"Keras's output for {model_path} changed"
    graph = tf.function(model)
    tx = tf.constant(x)
    return (lambda: model(x)), (lambda: graph(tx).numpy())


PREDICT_SNIPPET = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
model = keras.models.load_model(sys.argv[1], compile=False)
model.predict(np.load(sys.argv[2])["input_0"], verbose=0)
"""


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def fma_peak_gflops(kernels, cores):
    """The cores' FMA peak: measured by Benchmarks/fma_peak.c (independent FMA chains on every
    core, at whatever clock the cores really run: a VM's /proc/cpuinfo shows a nominal one),
    compiled here with the system's C compiler. Falls back to the nominal clock's arithmetic,
    two FMA units per core, when no compiler is at hand. Returns (GFLOP/s, how it was found)."""
    lanes = 16 if kernels == "AVX-512" else 8 if kernels == "AVX2/FMA" else 1
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fma_peak.c")
    binary = os.path.join(os.environ.get("TMPDIR", "/tmp"), "keras-inspect-fma-peak")
    if lanes > 1:
        try:
            subprocess.run(["cc", "-O2", "-pthread", "-o", binary, source], check=True, capture_output=True)
            out = subprocess.run([binary, "avx512" if lanes == 16 else "avx2", str(cores)], check=True,
                                 capture_output=True, text=True).stdout
            rate = float(out.strip())
            ghz = rate / (cores * 2 * lanes * 2)
            return rate, f"measured: {cores} cores × 2 FMA × {kernels}, as at {ghz:.2f} GHz"
        except (OSError, subprocess.CalledProcessError, ValueError):
            pass
    mhz = max(float(line.split(":")[1]) for line in open("/proc/cpuinfo") if line.startswith("cpu MHz"))
    return cores * 2 * lanes * 2 * mhz / 1e3, f"{cores} cores × 2 FMA × {kernels} × {mhz / 1e3:.2f} GHz nominal"


def largest_activations(binary, model, count=2):
    """Bytes of the `count` largest layer outputs at batch 1 (float32), from the summary JSON."""
    out = subprocess.run([binary, "summary", model, "--format", "json"], check=True, capture_output=True, text=True).stdout
    sizes = []
    for layer in json.loads(out)["layers"]:
        shapes = layer.get("output_shape") or []
        for shape in (shapes if shapes and isinstance(shapes[0], list) else [shapes]):
            n = 4
            for d in shape[1:]:
                n *= d if isinstance(d, int) else 1
            sizes.append(n)
    return sum(sorted(sizes)[-count:])


def bench_json(binary, model, npz, runs, profile=False):
    argv = [binary, "bench", model, "--input", npz + ":input_0", "--runs", str(runs), "--format", "json"] + (["--profile"] if profile else [])
    # The peak the process reports itself: a child forked from this Python process would count
    # Python's own pages until it execs.
    _, _, out = run_child(argv, capture=True)
    report = json.loads(out)
    return report, report["peak_rss_bytes"]


def fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=".bench")
    parser.add_argument("--bench", default=".build/release/keras-inspect-bench")
    parser.add_argument("--binary", default=".build/release/keras-inspect")
    parser.add_argument("--only-apps", action="store_true", help="only the applications cases")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    runs = 3 if args.quick else 5
    budget = 0.5 if args.quick else 2.0

    rows = []  # (case, ours, theirs, who, ratio, target, met)

    def add(case, ours_s, theirs_s, who, target=None, met=None, note=""):
        rows.append({"case": case, "keras_inspect_s": ours_s, "other_s": theirs_s, "other": who,
                     "ratio": theirs_s / ours_s, "target": target or "", "met": met, "note": note})

    manifest = json.load(open(os.path.join(args.models, "manifest.json")))
    ours = {}
    if not args.only_apps:
        # The forward cases run below, taking turns with TensorFlow's.
        bench = subprocess.run([args.bench, "--json", "--models", args.models] + (["--quick"] if args.quick else [])
                               + ["load", "inspect"], check=True, capture_output=True, text=True)
        ours = {(r["group"], r["name"], r["detail"]): r for r in json.loads(bench.stdout)["results"]}
        manifest = json.load(open(os.path.join(args.models, "manifest.json")))
        large = os.path.join(args.models, manifest["large"]["model"])
        weight_bytes = manifest["large"]["bytes"]
        # The kernels the forward cases ran on (the 150 GFLOP/s target is AVX-512's).
        first = os.path.join(args.models, manifest["cases"][0]["model"])
        probe = subprocess.run([args.binary, "bench", first, "--runs", "1", "--format", "json"],
                               check=True, capture_output=True, text=True)
        avx512 = json.loads(probe.stdout)["kernels"] == "AVX-512"

        def find(group, name, detail=None):
            for (g, n, d), r in ours.items():
                if g == group and n == name and (detail is None or d == detail):
                    return r
            sys.exit(f"keras-inspect-bench printed no {group}/{name}/{detail}")

        py = [sys.executable, "-c", SUMMARY_SNIPPET]
        t_sum, _ = timed_processes(py + [WORKED_EXAMPLE], runs, WORKED_EXAMPLE)
        r = find("inspect", "summary worked example")
        ratio = t_sum / r["median_seconds"]
        add("summary, worked example (process)", r["median_seconds"], t_sum, "python: import keras, load, summary()",
            "≥300× and <10 ms", ratio >= 300 and r["median_seconds"] < 0.010)
        r = find("inspect", "check worked example", "all checks, warm cache")
        add("all checks, worked example (process)", r["median_seconds"], t_sum, "python: import keras, load, summary()")
        t_large, _ = timed_processes(py + [large], max(3, runs // 2), large)
        r = find("inspect", "summary large")
        add("summary, 486 MB model (process)", r["median_seconds"], t_large, "python: import keras, load, summary()")
        r = find("inspect", "check large", "all checks, warm cache")
        add("all checks + forward, 486 MB model (process)", r["median_seconds"], t_large, "python: import keras, load, summary()")

        h5 = [sys.executable, "-c", H5PY_SNIPPET, large]
        loads = []
        for cold in (False, True):
            times, peaks = [], []
            warm(large)
            for _ in range(runs):
                if cold:
                    evict(large)
                _, peak, out = run_child(h5, capture=True)
                elapsed, nbytes = out.split()
                assert int(nbytes) == weight_bytes, f"h5py read {nbytes} bytes, expected {weight_bytes}"
                times.append(float(elapsed))
                peaks.append(peak)
            loads.append((statistics.median(times), max(peaks)))
        for (t_h5, peak_h5), label in zip(loads, ("warm", "cold")):
            r = find("load", f"large ({label} cache)")
            gbs = weight_bytes / r["median_seconds"] / 1e9
            limit = 1.1 * weight_bytes + 30e6
            ok = r["median_seconds"] <= t_h5 and r["peak_bytes"] <= limit and (label == "cold" or gbs >= 2)
            target = "≥2 GB/s, ≥ h5py, peak ≤1.1×+30 MB" if label == "warm" else "≥ h5py, peak ≤1.1×+30 MB"
            add(f"load 486 MB of weights, {label} cache", r["median_seconds"], t_h5, "h5py into NumPy", target, ok,
                f"{gbs:.2f} vs {weight_bytes / t_h5 / 1e9:.2f} GB/s; peak {r['peak_bytes'] / 1e6:.0f} vs {peak_h5 / 1e6:.0f} MB")

        # Against eager TensorFlow (the first speed issue's targets) and against tf.function
        # (the convolution-speed issue's: small ≥ 100×, medium ≥ 10×, large ≥ 1×).
        targets = {"small": 100, "medium": 20, "large": 1}
        graph_targets = {"small": 100, "medium": 10, "large": 1}
        for case in manifest["cases"]:
            # As for the applications below: three rounds, each side's figure the median of its
            # rounds' medians (keras-inspect-bench's quick budget per round).
            eager, graph = tensorflow_calls(os.path.join(args.models, case["model"]),
                                            os.path.join(args.models, case["input"]))
            eager_s, graph_s, ours_rounds = [], [], []
            for _ in range(ROUNDS):
                eager_s.append(timed(eager, budget / ROUNDS))
                graph_s.append(timed(graph, budget / ROUNDS))
                out = subprocess.run([args.bench, "--json", "--models", args.models, "--quick", case["name"]],
                                     check=True, capture_output=True, text=True).stdout
                rounds = [r for r in json.loads(out)["results"] if r["group"] == "forward" and r["name"] == case["name"]]
                if not rounds:
                    sys.exit(f"keras-inspect-bench printed no forward/{case['name']}")
                ours_rounds.append(rounds[0]["median_seconds"])
            t_eager, t_graph, ours_s = (statistics.median(v) for v in (eager_s, graph_s, ours_rounds))
            need = targets[case["size"]]
            gflops = case["flops"] / ours_s / 1e9
            add(f"forward {case['name']}", ours_s, t_eager, "TensorFlow eager model(x)", f"≥{need}×",
                t_eager / ours_s >= need,
                f"{gflops:.1f} vs {case['flops'] / t_eager / 1e9:.1f} GFLOP/s")
            need = graph_targets[case["size"]]
            add(f"forward {case['name']}", ours_s, t_graph, "TensorFlow tf.function(model)", f"≥{need}×",
                t_graph / ours_s >= need, f"{gflops:.1f} vs {case['flops'] / t_graph / 1e9:.1f} GFLOP/s")
            if case["name"] == "lstm_large" and avx512:
                rows.append({"case": "GFLOP/s, lstm_large (AVX-512)", "keras_inspect_s": None, "other_s": None, "other": "",
                             "ratio": None, "target": "≥150 GFLOP/s", "met": gflops >= 150, "note": f"{gflops:.1f} GFLOP/s"})

    binary = args.binary
    for app in manifest.get("apps", []):
        model, npz = os.path.join(args.models, app["model"]), os.path.join(args.models, app["input"])
        # Taking turns (ROUNDS), a third of each side's runs per round; each side's figure is the
        # median of its rounds' medians.
        eager, graph = tensorflow_calls(model, npz)
        eager_s, graph_s, ours_rounds, peak = [], [], [], 0
        for _ in range(ROUNDS):
            eager_s.append(timed(eager, budget / ROUNDS))
            graph_s.append(timed(graph, budget / ROUNDS))
            report, round_peak = bench_json(binary, model, npz, (10 if args.quick else 21) // ROUNDS)
            ours_rounds.append(report["median_s"])
            peak = max(peak, round_peak)
        t_eager, t_graph, ours_s = (statistics.median(v) for v in (eager_s, graph_s, ours_rounds))
        gflops = report["flops"] / ours_s / 1e9
        weights = 4 * app["params"]
        limit = weights + largest_activations(binary, model) + 50e6
        eager_need = 3 if app["name"] == "ResNet50" else None
        add(f"forward {app['name']} {app['size']}×{app['size']} b1", ours_s, t_eager, "TensorFlow eager model(x)",
            f"≥{eager_need}×" if eager_need else None, t_eager / ours_s >= eager_need if eager_need else None,
            f"{gflops:.1f} GFLOP/s")
        add(f"forward {app['name']} {app['size']}×{app['size']} b1", ours_s, t_graph, "TensorFlow tf.function(model)",
            "≥1×", t_graph / ours_s >= 1, f"{gflops:.1f} vs {report['flops'] / t_graph / 1e9:.1f} GFLOP/s")
        rows.append({"case": f"peak RSS, {app['name']} bench", "keras_inspect_s": None, "other_s": None, "other": "",
                     "ratio": None, "target": "≤ weights + 2 largest activations + 50 MB", "met": peak <= limit,
                     "note": f"{peak / 1e6:.0f} MB vs limit {limit / 1e6:.0f} MB (weights {weights / 1e6:.0f} MB)"})
        t_summary, _ = timed_processes([binary, "summary", model], runs * 2, model)
        rows.append({"case": f"summary {app['name']} ({app['layers']} layers, process)", "keras_inspect_s": t_summary,
                     "other_s": None, "other": "", "ratio": None,
                     "target": "≤15 ms" if app["name"] == "DenseNet121" else "≤20 ms",
                     "met": t_summary <= (0.015 if app["name"] == "DenseNet121" else 0.020), "note": ""})
        if app["name"] == "DenseNet121":
            # The linear-time target: within 2× of the worked example's summary, both
            # timed by this harness, taking turns.
            t_big, t_small = interleaved_processes([[binary, "summary", model], [binary, "summary", WORKED_EXAMPLE]], runs * 2)
            rows.append({"case": "summary DenseNet121 ÷ summary worked example (process, taking turns)",
                         "keras_inspect_s": t_big, "other_s": t_small, "other": "keras-inspect summary, worked example",
                         "ratio": None, "target": "≤2×", "met": t_big <= 2 * t_small,
                         "note": f"{t_big / t_small:.2f}× the worked example's time"})
        if app["name"] == "ResNet50":
            profile, _ = bench_json(binary, model, npz, 10, profile=True)
            threes = [l for l in profile["layers"] if l["class_name"] == "Conv2D" and l["name"].endswith("_2_conv")]
            rate = sum(l["flops"] for l in threes) / sum(l["median_s"] for l in threes) / 1e9
            peak_rate, how = fma_peak_gflops(profile["kernels"], profile["cores"])
            rows.append({"case": "Conv2D 3×3 of ResNet50 (16 layers)", "keras_inspect_s": None, "other_s": None, "other": "",
                         "ratio": None, "target": "≥60% of FMA peak", "met": rate >= 0.6 * peak_rate,
                         "note": f"{rate:.0f} GFLOP/s = {100 * rate / peak_rate:.0f}% of {peak_rate:.0f} ({how})"})
            t_verify, _ = timed_processes([binary, "verify", model, "--bundle", npz, "--atol", "1e-4", "--rtol", "1e-3"], runs, model)
            t_python, _ = timed_processes([sys.executable, "-c", PREDICT_SNIPPET, model, npz], max(3, runs // 2), model)
            add("verify --bundle ResNet50 (process)", t_verify, t_python, "python: import keras, load, predict",
                "≤0.5 s and ≥10×", t_verify <= 0.5 and t_python / t_verify >= 10)

    import tensorflow as tf
    print(f"{cpu_name()}\n")
    print(f"keras-inspect vs Keras {__import__('keras').__version__} / TensorFlow {tf.__version__} / "
          f"h5py {__import__('h5py').__version__}, {os.cpu_count()} cores, medians\n")
    print("| case | keras-inspect | other | other side | × faster | target | met | rates |")
    print("|---|---:|---:|---|---:|---|---|---|")
    for row in rows:
        met = "" if row["met"] is None else ("yes" if row["met"] else "**no**")
        mine = fmt(row["keras_inspect_s"]) if row["keras_inspect_s"] is not None else ""
        theirs = fmt(row["other_s"]) if row["other_s"] is not None else ""
        ratio = f"{row['ratio']:.1f}" if row["ratio"] is not None else ""
        print(f"| {row['case']} | {mine} | {theirs} | {row['other']} | {ratio} | {row['target']} | {met} | {row['note']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "keras_inspect": list(ours.values())}, f, indent=1)


if __name__ == "__main__":
    main()
