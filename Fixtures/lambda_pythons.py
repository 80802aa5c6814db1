"""Lambda-layer fixtures from other CPythons than the main fixtures' (Fixtures/lambda-pythons/).

A Lambda layer's config holds its function as marshalled CPython bytecode, whose layout and
opcodes change with every Python version. This script builds the same small Lambda models with
whichever Keras is installed, under any Python from 2.7 on (so: no f-strings, no keyword-only
arguments), in a venv of its own (see Fixtures/lambda-pythons/README.md), from the repository root:

    python Fixtures/lambda_pythons.py FLAVOUR TAG

FLAVOUR is the Keras to use: `keras` (standalone Keras 2.x), `tf.keras` (TensorFlow's bundled
Keras 1.x/2.x), `tf_keras` (the tf-keras package) or `keras3` (Keras 3, on $KERAS_BACKEND).
For every model it writes into Fixtures/lambda-pythons/TAG/:

  NAME.h5            the model, model.save(NAME.h5) (legacy HDF5); Keras 3 also NAME.keras
  NAME.json          Keras's per-layer output shapes and parameter counts, and the totals
  NAME.npz           input_0, ... (a batch of 3) and output_0, ... (the model's predict on them)
  NAME.summary.txt   what model.summary() printed

All from the model as built: old Keras cannot always load a Lambda back. Every weight is uniform
in [-0.6, 0.6] from numpy's RandomState(1); the inputs are RandomState(2) standard normals.
"""

from __future__ import print_function

import json
from collections import OrderedDict
import os
import platform
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Keras 3 clamps its summary to the terminal width minus 4: a wide virtual terminal gives the
# default line length, as on a normal console (as Fixtures/generate.py does).
os.environ["COLUMNS"] = "200"

import numpy as np

# The file name the Lambdas' code objects record (co_filename): relative, so no fixture holds this
# machine's paths. The script runs itself as a module compiled under this name (see the end).
RELATIVE_NAME = "Fixtures/lambda_pythons.py"

# The names a Lambda's function uses, as users import them: `K` for the Keras 1/2 backend, `ops`
# for keras.ops, `tf` and `np`. They are module globals (set by main), so the marshalled code
# loads them with LOAD_GLOBAL (LOAD_NAME never, closure cells never).
K = ops = tf = None
KERAS = None


def builders(keras3, old):
    """The fixture models. `old`: a Keras whose Sequential takes input_shape= on its first layer
    (standalone Keras 2.2, tf.keras 1.x)."""
    L = KERAS.layers
    Input, Model, Lambda, Dense = KERAS.Input if hasattr(KERAS, "Input") else L.Input, KERAS.models.Model, L.Lambda, L.Dense

    def lambda_normalize():
        # The behavioural-cloning form: pixels to [-1, 1] before the convolutions.
        f = lambda x: x / 127.5 - 1.0
        if keras3:
            first = [Input((8, 8, 3), name="image"), Lambda(f, name="normalize")]
        elif old:
            first = [Lambda(f, input_shape=(8, 8, 3), name="normalize")]
        else:
            first = [L.InputLayer(input_shape=(8, 8, 3), name="image"), Lambda(f, name="normalize")]
        return KERAS.models.Sequential(first + [L.Conv2D(2, 3, name="conv"), L.Flatten(name="flatten"), Dense(2, name="head")],
                                       name="lambda_normalize")

    def lambda_slices():
        i = Input((6, 4), name="x")
        h = Dense(5, name="d")(i)
        last = Lambda(lambda x: x[:, -1, :], name="last_step")(h)
        first = Lambda(lambda x: x[..., 0], name="first_feature")(h)
        every = Lambda(lambda x: x[:, ::2], name="every_other_step")(h)
        return Model(i, [last, first, every], name="lambda_slices")

    def lambda_backend():
        i = Input((4, 6), name="x")
        d = Dense(6, name="d")(i)
        if keras3:
            fs = [
                ("mean", lambda x: ops.mean(x, axis=1)),
                ("sum_keepdims", lambda x: ops.sum(x, axis=-1, keepdims=True)),
                ("max", lambda x: ops.max(x, 1)),
                ("reshape", lambda x: ops.reshape(x, (-1, 8, 3))),
                ("permute", lambda x: ops.transpose(x, (0, 2, 1))),
                ("softmax", lambda x: ops.softmax(x)),
                ("clip", lambda x: ops.clip(x, -0.5, 0.5)),
                ("cast_compare", lambda x: ops.cast(x > 0, "float32") * x),
                ("unary", lambda x: ops.sqrt(ops.abs(x)) + ops.square(x)),
                ("activations", lambda x: ops.sigmoid(x) + ops.tanh(x) + ops.relu(x)),
                ("expand_dims", lambda x: ops.expand_dims(x, 1)),
            ]
        else:
            fs = [
                ("mean", lambda x: K.mean(x, axis=1)),
                ("sum_keepdims", lambda x: K.sum(x, axis=-1, keepdims=True)),
                ("max", lambda x: K.max(x, 1)),
                ("reshape", lambda x: K.reshape(x, (-1, 8, 3))),
                ("permute", lambda x: K.permute_dimensions(x, (0, 2, 1))),
                ("softmax", lambda x: K.softmax(x)),
                ("clip", lambda x: K.clip(x, -0.5, 0.5)),
                ("cast_compare", lambda x: K.cast(x > 0, "float32") * x),
                ("unary", lambda x: K.sqrt(K.abs(x)) + K.square(x)),
                ("activations", lambda x: K.sigmoid(x) + K.tanh(x) + K.relu(x)),
                ("expand_dims", lambda x: K.expand_dims(x, 1)),
            ]
        return Model(i, [Lambda(f, name=name)(d) for name, f in fs], name="lambda_backend")

    def lambda_multi():
        a = Input((3, 4), name="a")
        b = Input((3, 4), name="b")
        da = Dense(4, name="da")(a)
        db = Dense(4, name="db")(b)
        mixed = Lambda(lambda t: t[0] * t[1] + t[0], name="mixed")([da, db])
        if keras3:
            joined = Lambda(lambda t: ops.concatenate(t, axis=-1), name="concatenate")([da, db])
        else:
            joined = Lambda(lambda t: K.concatenate(t), name="concatenate")([da, db])
        s = 3.0  # a closure cell of this enclosing function
        closed = Lambda(lambda x: x * s, name="closure")(da)
        scaled = Lambda(lambda x, scale: x * scale, arguments={"scale": 0.5}, name="scaled")(db)
        return Model([a, b], [mixed, joined, closed, scaled], name="lambda_multi")

    return [("lambda_normalize", lambda_normalize), ("lambda_slices", lambda_slices),
            ("lambda_backend", lambda_backend), ("lambda_multi", lambda_multi)]


def shape_list(s):
    return [None if d is None else int(d) for d in s]


def normalize_shape(s):
    """A shape (tuple) or a structure of shapes -> list, or list of lists for several outputs
    (an InputLayer's [(None, 6, 4)] of tf.keras 2 is its one shape, as in Fixtures/generate.py)."""
    if hasattr(s, "as_list"):
        s = s.as_list()
    if isinstance(s, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in s):
        return shape_list(s)
    flat = [normalize_shape(x) for x in s]
    return flat[0] if len(flat) == 1 else flat


def count(weights):
    return int(sum(int(np.prod([int(d) for d in w.shape])) for w in weights))


def describe(model, keras3, keras_version):
    """What Keras says about each summary row: the oracle the Swift tests compare against."""
    if keras3 and not isinstance(model, KERAS.Sequential):
        rows = model._operations  # the functional summary's rows, InputLayers included
    else:
        rows = model.layers
    layers = []
    for layer in rows:
        if keras3:
            shape = normalize_shape(layer.output.shape)
        else:
            shape = normalize_shape(layer.output_shape)
        layers.append(OrderedDict([
            ("name", layer.name),
            ("class_name", layer.__class__.__name__),
            ("output_shape", shape),
            ("params", int(layer.count_params())),
            ("weights", [OrderedDict([("name", w.path if keras3 else w.name), ("shape", shape_list(w.shape))]) for w in layer.weights]),
        ]))
    # Ordered for Python 2.7, whose dicts are not.
    return OrderedDict([
        ("keras_version", keras_version),
        ("python", platform.python_version()),
        ("model", OrderedDict([("name", model.name), ("class_name", model.__class__.__name__)])),
        ("layers", layers),
        ("total_params", int(model.count_params())),
        ("trainable_params", count(model.trainable_weights)),
        ("non_trainable_params", count(model.non_trainable_weights)),
    ])


def capture_summary(model, keras3):
    lines = []
    model.summary(print_fn=lambda text, **kw: lines.append(text))
    if keras3:
        # Keras 3 hands print_fn the whole rendered table at once, its newlines in it.
        return "".join(lines)
    return "\n".join(lines) + "\n"


def lambda_function_layout(path):
    """Each Lambda's `function` config in the written .h5, as this Keras laid it out."""
    import h5py
    with h5py.File(path, "r") as f:
        config = f.attrs["model_config"]
    if isinstance(config, bytes):
        config = config.decode("utf-8")
    config = json.loads(config)["config"]
    layers = config["layers"] if isinstance(config, dict) else config
    out = []
    for layer in layers:
        if layer["class_name"] != "Lambda":
            continue
        c = layer["config"]
        fn = c["function"]
        if isinstance(fn, dict):
            inner = fn.get("config", {})
            code = inner.get("code")
            shape = "dict class_name=%s keys=%s code=%s" % (fn.get("class_name"), sorted(inner), type(code).__name__)
        elif isinstance(fn, list):
            code = fn[0]
            shape = "list of %d [%s]" % (len(fn), ", ".join(type(x).__name__ for x in fn))
        else:
            code = fn
            shape = type(fn).__name__
        encoding = "?"
        if isinstance(code, (str, type(u""))):
            if re.match(r"^[A-Za-z0-9+/=\n]*$", code):
                import base64
                raw = bytearray(base64.b64decode(code.encode("ascii")))
                encoding = "base64 (%d bytes, first byte 0x%02x%s)" % (len(raw), raw[0], ", newlines" if "\n" in code else "")
            else:
                encoding = "raw text, not base64 (%d chars)" % len(code)
        out.append("%s: function=%s code %s function_type=%s module=%s output_shape_type=%s arguments=%s" % (
            c["name"], shape, encoding, c.get("function_type"), c.get("module"), c.get("output_shape_type"), c.get("arguments")))
    return out


def main(argv):
    global K, ops, tf, KERAS
    if len(argv) != 3:
        sys.exit("usage: python Fixtures/lambda_pythons.py keras|tf.keras|tf_keras|keras3 TAG")
    flavour, tag = argv[1], argv[2]
    keras3 = flavour == "keras3"
    try:
        import tensorflow as tf
    except ImportError:
        tf = None  # Keras 3 on JAX
    if flavour == "keras":
        import keras as KERAS
        keras_version = KERAS.__version__
    elif flavour == "tf.keras":
        KERAS = tf.keras
        keras_version = tf.keras.__version__
    elif flavour == "tf_keras":
        import tf_keras as KERAS
        keras_version = KERAS.__version__
    elif keras3:
        import keras as KERAS
        keras_version = KERAS.__version__
        ops = KERAS.ops
    else:
        sys.exit("unknown flavour " + flavour)
    if not keras3:
        K = KERAS.backend
    old = flavour == "keras" or (flavour == "tf.keras" and tf.__version__.startswith("1."))
    here = os.path.dirname(os.path.abspath(sys.argv[0]))
    out_dir = os.path.join(here, "lambda-pythons", tag)
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    print("python", platform.python_version(), flavour, "keras", keras_version,
          "tensorflow", tf.__version__ if tf is not None else None,
          "backend", KERAS.backend.backend() if hasattr(KERAS.backend, "backend") else None)
    for name, build in builders(keras3, old):
        KERAS.backend.clear_session()
        model = build()
        rs = np.random.RandomState(1)
        model.set_weights([rs.uniform(-0.6, 0.6, w.shape).astype(w.dtype) for w in model.get_weights()])
        path = os.path.join(out_dir, name + ".h5")
        model.save(path)
        if keras3:
            model.save(os.path.join(out_dir, name + ".keras"))
        with open(os.path.join(out_dir, name + ".summary.txt"), "w") as f:
            f.write(capture_summary(model, keras3))
        rs = np.random.RandomState(2)
        shapes = [tuple(int(d) for d in (t.shape[1:] if keras3 else K.int_shape(t)[1:])) for t in model.inputs]
        inputs = [rs.standard_normal((3,) + s).astype("float32") for s in shapes]
        outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], batch_size=3, verbose=0)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        arrays = dict(("input_%d" % i, x) for i, x in enumerate(inputs))
        arrays.update(("output_%d" % i, np.asarray(y, dtype="float32")) for i, y in enumerate(outputs))
        np.savez(os.path.join(out_dir, name + ".npz"), **arrays)
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(describe(model, keras3, keras_version), f, indent=1, separators=(",", ": "))
            f.write("\n")
        print(tag, name, model.count_params(), "params,", len(outputs), "outputs")
        for line in lambda_function_layout(path):
            print("   ", line)


if __name__ == "__main__" and not globals().get("_RELOCATED"):
    # Run this file again as a module compiled under its relative name: the Lambdas' code objects
    # then record RELATIVE_NAME as their co_filename (Python 3.9+ makes the script's own path
    # absolute), and their globals are that module's, still named __main__ as a user's script is.
    with open(os.path.abspath(sys.argv[0])) as f:
        source = f.read()
    namespace = {"__name__": "__main__", "__file__": RELATIVE_NAME, "_RELOCATED": True}
    exec(compile(source, RELATIVE_NAME, "exec"), namespace)
    namespace["main"](sys.argv)
