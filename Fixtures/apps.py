"""Every keras.applications architecture, built by real Keras and checked against keras-inspect.

Run with `make apps-check` (never in CI: it needs PyPI's Keras and TensorFlow, and minutes per
model). For tf_keras 2.21 (`.h5`) and Keras 3 (`.h5` and `.keras`) it builds each architecture with
random weights (`weights=None`, its own initialisers, BatchNormalization statistics randomised),
at the smallest input the architecture accepts, into `.apps/` (not committed). It records Keras's
summary, per-layer numbers and outputs (logits: the classifier's softmax is left off, since over
random weights it saturates) on a fixed batch, then runs the keras-inspect binary on the
file and compares: summary text byte for byte, total / trainable / non-trainable parameters, and
outputs within atol 1e-4, rtol 1e-3. It prints one Markdown row per model and file, and exits 1
when any differs. It also records TensorFlow's own spread (the same samples run one at a time,
and the file run again without oneDNN): a deep network over random weights can amplify float32 rounding until two
correct runs disagree, and an output difference within twice that spread is reported as such,
neither a match nor a failure.

    python Fixtures/apps.py [--all] [--only NAME,NAME] [--binary .build/release/keras-inspect]

Without `--all`, only the smallest member of each family is built.
"""

import argparse
import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "200"

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generate  # noqa: E402  (shares the summary and description code of the fixtures)

# (family, constructor name, input size, smallest of its family, extra keyword arguments)
APPS = [
    ("MobileNet", "MobileNet", 32, True, {"alpha": 0.25}),
    ("MobileNetV2", "MobileNetV2", 32, True, {"alpha": 0.35}),
    ("MobileNetV3", "MobileNetV3Small", 32, True, {}),
    ("MobileNetV3", "MobileNetV3Small", 32, True, {"minimalistic": True}),
    ("MobileNetV3", "MobileNetV3Large", 32, False, {}),
    ("ResNet", "ResNet50", 32, True, {}),
    ("ResNet", "ResNet101", 32, False, {}),
    ("ResNet", "ResNet152", 32, False, {}),
    ("ResNetV2", "ResNet50V2", 32, True, {}),
    ("ResNetV2", "ResNet101V2", 32, False, {}),
    ("ResNetV2", "ResNet152V2", 32, False, {}),
    ("VGG", "VGG16", 32, True, {}),
    ("VGG", "VGG19", 32, False, {}),
    ("DenseNet", "DenseNet121", 32, True, {}),
    ("DenseNet", "DenseNet169", 32, False, {}),
    ("DenseNet", "DenseNet201", 32, False, {}),
    ("Inception", "InceptionV3", 75, True, {}),
    ("InceptionResNet", "InceptionResNetV2", 75, True, {}),
    ("Xception", "Xception", 71, True, {}),
    ("EfficientNet", "EfficientNetB0", 32, True, {}),
    *[("EfficientNet", f"EfficientNetB{i}", 32, False, {}) for i in range(1, 8)],
    ("EfficientNetV2", "EfficientNetV2B0", 32, True, {}),
    *[("EfficientNetV2", f"EfficientNetV2{s}", 32, False, {}) for s in ["B1", "B2", "B3", "S", "M", "L"]],
    ("NASNet", "NASNetMobile", 32, True, {}),
    ("NASNet", "NASNetLarge", 32, False, {}),
    ("ConvNeXt", "ConvNeXtTiny", 32, True, {}),
    *[("ConvNeXt", f"ConvNeXt{s}", 32, False, {}) for s in ["Small", "Base", "Large", "XLarge"]],
]


def label(constructor, kwargs):
    return constructor + "".join(f"_{k}{v}" for k, v in sorted(kwargs.items()))


def randomize_statistics(model):
    """Moving statistics away from 0 and 1, so BatchNormalization is exercised."""
    rng = np.random.default_rng(1)
    for w in model.weights:
        path = getattr(w, "path", None) or w.name
        shape = tuple(int(d) for d in w.shape)
        if "moving_variance" in path:
            w.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif "moving_mean" in path:
            w.assign(rng.normal(0, 0.1, shape).astype("float32"))


def build(flavour, constructor, size, kwargs, out_dir):
    keras3 = flavour == "keras3"
    if keras3:
        import keras as K
    else:
        import tf_keras as K
    K.backend.clear_session()
    K.utils.set_random_seed(0)
    # Logits out: a softmax over random weights saturates, and its outputs would be too small to compare.
    model = getattr(K.applications, constructor)(weights=None, input_shape=(size, size, 3), classes=10, classifier_activation=None, **kwargs)
    randomize_statistics(model)
    name = label(constructor, kwargs)
    paths = [os.path.join(out_dir, name + ".h5")]
    model.save(paths[0])
    if keras3:
        paths.append(os.path.join(out_dir, name + ".keras"))
        model.save(paths[1])
    # The layers keras.applications defines for itself load by name only when given.
    custom = {}
    for module, cls in [("convnext", "LayerScale"), ("inception_resnet_v2", "CustomScaleLayer")]:
        for prefix in ("keras.src.applications.", "tf_keras.src.applications."):
            try:
                custom[cls] = getattr(__import__(prefix + module, fromlist=[cls]), cls)
            except (ImportError, AttributeError):
                pass
    try:
        loaded = K.models.load_model(paths[0], compile=False, custom_objects=custom)
    except Exception as error:
        # Keras 3.15 cannot load some legacy .h5 files it wrote (MobileNetV3's); its own archive it can.
        if not keras3:
            raise
        try:
            loaded = K.models.load_model(paths[1], compile=False, custom_objects=custom)
            print(f"note: Keras could not load its own {name}.h5 ({str(error)[:80]}); reference from the .keras", file=sys.stderr)
        except Exception as again:
            # Nor its archive (ConvNeXt's LayerScale, InceptionResNetV2's CustomScaleLayer in 3.15):
            # the model Keras built is the reference.
            print(f"note: Keras could not load its own {name} files ({str(again)[:80]}); reference from the built model", file=sys.stderr)
            loaded = model
    with open(os.path.join(out_dir, name + ".summary.txt"), "w") as f:
        f.write(generate.capture_summary(loaded, keras3))
    x = np.random.default_rng(2).uniform(0, 255, (2, size, size, 3)).astype("float32")
    y = np.asarray(loaded.predict(x, verbose=0), dtype="float32")
    np.savez(os.path.join(out_dir, name + ".npz"), input_0=x, output_0=y)
    # TensorFlow's own spread: the same samples one at a time, and the same file run without
    # oneDNN (another process: TensorFlow reads the switch at import), take other kernels. Over
    # random weights a deep network can amplify float32 rounding until two correct runs disagree.
    single = np.concatenate([np.asarray(loaded.predict(x[i:i + 1], verbose=0), dtype="float32") for i in range(len(x))])
    spread = float(np.abs(y - single).max())
    plain = subprocess.run([sys.executable, __file__, "--plain-reference", flavour, paths[-1], os.path.join(out_dir, name + ".npz")],
                           env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0"}, capture_output=True, text=True)
    if plain.returncode == 0 and plain.stdout.strip():
        spread = max(spread, float(plain.stdout.split()[-1]))
    np.savez(os.path.join(out_dir, name + ".npz"), input_0=x, output_0=y, spread=np.float32(spread))
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(generate.describe(K, loaded, keras3), f)
    return name, paths


def check(binary, out_dir, name, path):
    """keras-inspect against what Keras recorded: summary text, totals, outputs."""
    problems = []
    expected = open(os.path.join(out_dir, name + ".summary.txt")).read()
    summary = subprocess.run([binary, "summary", path], capture_output=True, text=True)
    if summary.returncode != 0:
        problems.append(f"summary exit {summary.returncode}: {summary.stderr.strip()[:200]}")
    elif summary.stdout != expected:
        ours, theirs = summary.stdout.splitlines(), expected.splitlines()
        first = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
        problems.append(f"summary differs at line {first + 1}: {ours[first][:100] if first < len(ours) else '(end)'!r}")
    keras = json.load(open(os.path.join(out_dir, name + ".json")))
    data = subprocess.run([binary, "summary", path, "--format", "json"], capture_output=True, text=True)
    if data.returncode == 0:
        ours = json.loads(data.stdout)
        for key in ["total_params", "trainable_params", "non_trainable_params"]:
            if ours.get(key) != keras[key]:
                problems.append(f"{key} {ours.get(key)} != Keras {keras[key]}")
    npz = os.path.join(out_dir, name + ".npz")
    verify = subprocess.run([binary, "verify", path, "--input", npz + ":input_0", "--expect", npz + ":output_0",
                             "--atol", "1e-4", "--rtol", "1e-3"], capture_output=True, text=True)
    if verify.returncode != 0:
        lines = [l.strip() for l in verify.stdout.splitlines() + verify.stderr.splitlines() if "FAIL" in l or "error" in l.lower() or "SKIP" in l]
        problems.append("verify: " + ("; ".join(lines[:3]) or f"exit {verify.returncode}"))
    worst = next((l.strip() for l in verify.stdout.splitlines() if "max abs error" in l), "")
    spread = float(np.load(npz)["spread"]) if "spread" in np.load(npz) else 0.0
    if verify.returncode == 1 and worst and len(problems) == 1 and spread > 0:
        error = float(worst.split("max abs error", 1)[1].split()[0])
        if error <= 2 * spread:
            # Not a failure, and not a match either: the file cannot be checked this way.
            return [], f"within TensorFlow's own spread: max abs error {error:.3g}, TensorFlow against itself (one sample at a time, or without oneDNN) {spread:.3g}"
    return problems, worst


def plain_reference(flavour, path, npz):
    """Prints the largest difference between the recorded outputs and this process's (run with
    TF_ENABLE_ONEDNN_OPTS=0 by the caller)."""
    if flavour == "keras3":
        import keras as K
    else:
        import tf_keras as K
    data = np.load(npz)
    model = K.models.load_model(path, compile=False)
    y = np.asarray(model.predict(data["input_0"], verbose=0), dtype="float32")
    print(float(np.abs(y - data["output_0"]).max()))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--plain-reference":
        return plain_reference(*sys.argv[2:])
    parser = argparse.ArgumentParser()
    parser.add_argument("--all", action="store_true", help="every architecture, not only the smallest of each family")
    parser.add_argument("--only", default="", help="comma-separated constructor names")
    parser.add_argument("--flavours", default="keras2,keras3")
    parser.add_argument("--binary", default=".build/release/keras-inspect")
    parser.add_argument("--out", default=".apps")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    failed = 0
    print("| Keras | model | file | params | result |")
    print("|---|---|---|---|---|")
    for flavour in args.flavours.split(","):
        out_dir = os.path.join(args.out, flavour)
        os.makedirs(out_dir, exist_ok=True)
        for family, constructor, size, smallest, kwargs in APPS:
            if only and constructor not in only:
                continue
            if not only and not args.all and not smallest:
                continue
            try:
                name, paths = build(flavour, constructor, size, kwargs, out_dir)
            except Exception as error:  # an architecture this Keras does not have or cannot build
                print(f"| {flavour} | {label(constructor, kwargs)} | - | - | Keras could not build it: {str(error)[:120]} |", flush=True)
                continue
            params = json.load(open(os.path.join(out_dir, name + ".json")))["total_params"]
            for path in paths:
                problems, worst = check(args.binary, out_dir, name, path)
                failed += bool(problems)
                if problems:
                    result = "; ".join(problems)
                elif worst.startswith("within"):
                    result = worst
                else:
                    result = "matches Keras" + (f" ({worst.split(':', 1)[-1].strip()[:60]})" if worst else "")
                print(f"| {flavour} | {name} | {os.path.splitext(path)[1]} | {params:,} | {result} |", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
