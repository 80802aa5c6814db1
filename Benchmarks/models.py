"""Makes the benchmark models with real Keras (never committed, never run in CI).

    python Benchmarks/models.py [OUT_DIR]      # default .bench/

Writes, for each of LSTM, GRU and Conv1D at three sizes, `<layer>_<size>.h5` (Keras 3 legacy
HDF5) and `<layer>_<size>.npz` (`input_0`: the input every benchmark feeds it, `output_0`: what
Keras computed for it), plus `large.h5` and `large.keras`, a ~490 MB Dense stack for the load and inspect cases,
and `manifest.json` listing the cases with their FLOPs per forward pass; and the convolution
networks of the speed issue from keras.applications (`apps/<name>.h5`, random weights with
BatchNormalization statistics randomised, at 224×224, 299×299 for InceptionV3, logits without the
classifier's softmax, batch 1), with Keras's output for one input.

Sizes, from the speed issue (batch × steps × features -> units):
  small   1 × 13 × 5     -> 10    (the LSTM worked example)
  medium  1 × 100 × 64   -> 128
  large   32 × 100 × 256 -> 512
Conv1D uses the same input shapes with `units` filters of width 3 ("valid" padding).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import keras

SIZES = {
    "small": (1, 13, 5, 10),
    "medium": (1, 100, 64, 128),
    "large": (32, 100, 256, 512),
}
KERNEL_WIDTH = 3
LARGE_WIDTH = 4096
LARGE_DEPTH = 7


def flops(layer, batch, steps, features, units):
    """Multiply-adds × 2 of one forward pass (matrix products only)."""
    if layer == "lstm":
        return 2 * batch * steps * (features + units) * 4 * units
    if layer == "gru":
        return 2 * batch * steps * (features + units) * 3 * units
    return 2 * batch * (steps - KERNEL_WIDTH + 1) * KERNEL_WIDTH * features * units


def build(layer, steps, features, units):
    inputs = keras.Input(shape=(steps, features), name="x")
    if layer == "lstm":
        y = keras.layers.LSTM(units, name="lstm")(inputs)
    elif layer == "gru":
        y = keras.layers.GRU(units, name="gru")(inputs)
    else:
        y = keras.layers.Conv1D(units, KERNEL_WIDTH, activation="relu", name="conv1d")(inputs)
    return keras.Model(inputs, y, name=f"{layer}_bench")


APPS = [("ResNet50", 224), ("DenseNet121", 224), ("MobileNetV2", 224), ("EfficientNetB0", 224), ("InceptionV3", 299)]


def randomise_batch_norm(model, rng):
    """Moving statistics drawn at random: fresh ones (0 and 1) would make BatchNormalization a no-op."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            ranges = {"gamma": (0.5, 1.5), "beta": (-0.2, 0.2), "moving_mean": (-0.2, 0.2), "moving_variance": (0.5, 1.5)}
            for weight in layer.weights:
                low, high = ranges[weight.name.split("/")[-1].split(":")[0]]
                weight.assign(rng.uniform(low, high, weight.shape).astype("float32"))


def applications(out):
    folder = os.path.join(out, "apps")
    os.makedirs(folder, exist_ok=True)
    cases = []
    for name, size in APPS:
        if os.environ.get("ONLY") and name not in os.environ["ONLY"].split(","):
            continue
        keras.utils.set_random_seed(3)
        model = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3), classifier_activation=None)
        rng = np.random.default_rng(5)
        randomise_batch_norm(model, rng)
        x = rng.uniform(-1, 1, (1, size, size, 3)).astype("float32")
        y = np.asarray(model(x, training=False))
        model.save(os.path.join(folder, name + ".h5"))
        np.savez(os.path.join(folder, name + ".npz"), input_0=x, output_0=y)
        cases.append({"name": name, "model": f"apps/{name}.h5", "input": f"apps/{name}.npz", "size": size,
                      "layers": len(model.layers), "params": model.count_params()})
        print(name, len(model.layers), "layers", model.count_params(), "params")
    return cases


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else ".bench"
    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(7)
    cases = []
    for layer in ("lstm", "gru", "conv1d"):
        for size, (batch, steps, features, units) in SIZES.items():
            name = f"{layer}_{size}"
            model = build(layer, steps, features, units)
            x = np.random.default_rng(1).uniform(-1, 1, (batch, steps, features)).astype("float32")
            y = np.asarray(model(x))
            model.save(os.path.join(out, name + ".h5"))
            np.savez(os.path.join(out, name + ".npz"), input_0=x, output_0=y)
            cases.append({"name": name, "layer": layer, "size": size, "model": name + ".h5", "input": name + ".npz",
                          "shape": [batch, steps, features], "units": units,
                          "flops": flops(layer, batch, steps, features, units)})
            print(name, model.count_params(), "params")
    large = keras.Sequential([keras.Input(shape=(LARGE_WIDTH,), name="x")] +
                             [keras.layers.Dense(LARGE_WIDTH, activation="relu") for _ in range(LARGE_DEPTH)] +
                             [keras.layers.Dense(1000)], name="large")
    large.save(os.path.join(out, "large.h5"))
    large.save(os.path.join(out, "large.keras"))
    params = large.count_params()
    print("large", params, "params", 4 * params, "bytes")
    apps = applications(out)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"cases": cases, "apps": apps, "large": {"model": "large.h5", "archive": "large.keras", "params": params, "bytes": 4 * params}}, f, indent=1)


if __name__ == "__main__":
    main()
