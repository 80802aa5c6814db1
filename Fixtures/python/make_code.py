"""Writes code-MAJOR.MINOR.json: the marshalled code objects of Lambda-layer functions as Keras
serialises them, made by the CPython running this script (2.7, or 3.6 to 3.13; standard library
only). Run every installed interpreter with make_all.sh. Nothing here is ever called: the names
K, tf, np, ops, keras and helper inside the functions are free globals that need not exist.

Each entry of "functions" holds:

  base64              marshal.dumps(code) as tf_keras 2.x / Keras 3 func_dump writes it:
                      codecs.encode(raw, "base64").decode("ascii") (a newline every 76 characters)
  raw_unicode_escape  the Keras 1.2 / 2.0 form, raw.decode("raw_unicode_escape") (null if the
                      bytes do not decode: a backslash-u not followed by four hex digits)
  raw_unicode_escape_round_trips
                      whether .encode("raw_unicode_escape") gives the marshalled bytes back
  defaults            the function's __defaults__ as a list, or null
  closure             the contents of its closure cells (in co_freevars order), or null
  arguments           what Keras's Lambda(arguments=...) would pass (only where the layer needs it)
  recognisable        false for the functions a reader must report rather than interpret
  source              the function's text; enclosing: the code around it, for closures
  version_info        sys.version_info[:3] of the interpreter

Each function is compiled on its own from its text with the file name "make_code.py", so the
marshalled bytes name no machine's paths and do not depend on where the script is run from.
"""
from __future__ import print_function

import codecs
import json
import marshal
import os
import sys

FILENAME = "make_code.py"

# (name, source, options). Options: "enclosing" (a template whose {} is the source, defining a
# function make() that returns the function), "arguments", "recognisable" (default True),
# "min_version" (the oldest (major, minor) that compiles the source; older ones skip it).
FUNCTIONS = [
    # Arithmetic and subscripts.
    ("normalize", "lambda x: x / 127.5 - 1.0", {}),
    ("negate", "lambda x: -x", {}),
    ("scale_shift", "lambda x: (x - 0.5) * 2 + 1", {}),
    ("power", "lambda x: x ** 2", {}),
    ("floor_mod", "lambda x: x // 0.3 + x % 0.4", {}),
    ("last_step", "lambda x: x[:, -1, :]", {}),
    ("ellipsis_index", "lambda x: x[..., 0]", {}),
    ("new_axis_slice", "lambda x: x[:, None, 1:3]", {}),
    ("step_slice", "lambda x: x[:, ::2]", {}),
    ("list_inputs", "lambda t: t[0] * t[1] + t[0]", {}),
    # The Keras backend (from keras import backend as K).
    ("k_mean", "lambda x: K.mean(x, axis=1)", {}),
    ("k_sum_keepdims", "lambda x: K.sum(x, axis=-1, keepdims=True)", {}),
    ("k_max", "lambda x: K.max(x, 1)", {}),
    ("k_expand_dims", "lambda x: K.expand_dims(x, 1)", {}),
    ("k_squeeze", "lambda x: K.squeeze(x, -1)", {}),
    ("k_reshape", "lambda x: K.reshape(x, (-1, 4, 3))", {}),
    ("k_permute", "lambda x: K.permute_dimensions(x, (0, 2, 1))", {}),
    ("k_concatenate", "lambda t: K.concatenate([t[0], t[1]], axis=-1)", {}),
    ("k_concatenate_list_arg", "lambda t: K.concatenate(t)", {}),
    ("k_stack", "lambda t: K.stack([t[0], t[1]], axis=1)", {}),
    ("k_unary", "lambda x: K.sqrt(K.abs(x)) + K.square(x) - K.exp(x) * K.log(K.abs(x) + 1.0)", {}),
    ("k_clip", "lambda x: K.clip(x, -0.5, 0.5)", {}),
    ("k_activations", "lambda x: K.sigmoid(x) + K.tanh(x) + K.relu(x)", {}),
    ("k_softmax", "lambda x: K.softmax(x, axis=1)", {}),
    ("k_l2_normalize", "lambda x: K.l2_normalize(x, axis=-1)", {}),
    ("k_cast_compare", 'lambda x: K.cast(x > 0, "float32") * x', {}),
    ("k_repeat_elements", "lambda x: K.repeat_elements(x, 2, axis=1)", {}),
    ("k_tile", "lambda x: K.tile(x, (1, 2, 1))", {}),
    ("k_batch_dot", "lambda t: K.batch_dot(t[0], t[1], axes=(2, 2))", {}),
    ("keras_backend_path", "lambda x: keras.backend.mean(x, axis=1)", {}),
    # TensorFlow.
    ("tf_reduce", "lambda x: tf.reduce_mean(x, axis=1, keepdims=True)", {}),
    ("tf_math", "lambda x: tf.math.square(x) + tf.nn.relu(x)", {}),
    ("tf_reshape", "lambda x: tf.reshape(x, [-1, 12])", {}),
    ("tf_concat", "lambda t: tf.concat([t[0], t[1]], 1)", {}),
    ("tf_matmul", "lambda t: tf.matmul(t[0], t[1], transpose_b=True)", {}),
    # keras.ops (Keras 3) and NumPy.
    ("ops_mean", "lambda x: ops.mean(x, axis=1)", {}),
    ("ops_expand", "lambda x: ops.expand_dims(x, axis=-1)", {}),
    ("ops_sum_keepdims", "lambda x: ops.sum(x, axis=-1, keepdims=True)", {}),
    ("ops_transpose", "lambda x: ops.transpose(x, (0, 2, 1))", {}),
    ("ops_concatenate", "lambda t: ops.concatenate(t, axis=-1)", {}),
    ("ops_matmul", "lambda t: ops.matmul(t[0], ops.transpose(t[1], (0, 2, 1)))", {}),
    ("ops_cast_compare", 'lambda x: ops.cast(x > 0, "float32") * x', {}),
    ("ops_repeat", "lambda x: ops.repeat(x, 2, axis=1)", {}),
    ("np_expand", "lambda x: np.expand_dims(x, 1)", {}),
    # Closures, defaults, arguments.
    ("closure_scale", "lambda x: x * s", {"enclosing": "def make():\n    s = 3.0\n    return {}\n"}),
    ("closure_two", "lambda x: x * s + b", {"enclosing": "def make():\n    s = 3.0\n    b = -1\n    return {}\n"}),
    ("default_power", "lambda x, c=2.0: x ** c", {}),
    ("default_two", "lambda x, a=1.5, b=-2: x * a + b", {}),
    ("arguments_scale", "lambda x, scale: x * scale", {"arguments": {"scale": 0.5}}),
    ("nested_calls", "lambda x: K.mean(K.square(x - K.mean(x, axis=1, keepdims=True)), axis=1)", {}),
    # A named function: Keras 2 dumps any Python function's code the same way.
    ("def_function", "def standardize(x):\n    return (x - 1.0) / 2.0\n", {}),
    # Not interpretable on purpose: a reader must report these, never run them.
    ("user_call", "lambda x: helper(x)", {"recognisable": False}),
    ("method_numpy", "lambda x: x.numpy()", {"recognisable": False}),
    ("conditional", "lambda x: x if x is not None else 0", {"recognisable": False}),
    ("comprehension", "lambda t: sum([a for a in t])", {"recognisable": False}),
    ("shape_call", "lambda x: K.reshape(x, (-1, K.int_shape(x)[1] * 2))", {"recognisable": False}),
    ("attribute_shape", "lambda x: x.shape[1]", {"recognisable": False}),
    ("string_format", 'lambda x: "%s" % x', {"recognisable": False}),
    ("kwargs_call", 'lambda x: K.mean(x, **{"axis": 1})', {"recognisable": False}),
]


def build(source, options):
    """The function a source defines, compiled on its own."""
    if "enclosing" in options:
        text = options["enclosing"].format(source) + "f = make()\n"
    elif source.startswith("def "):
        name = source[4:source.index("(")]
        text = source + "f = " + name + "\n"
    else:
        text = "f = " + source + "\n"
    scope = {}
    exec(compile(text, FILENAME, "exec"), scope)
    return scope["f"]


def entry(function, source, options):
    raw = marshal.dumps(function.__code__)
    try:
        escaped = raw.decode("raw_unicode_escape")
        round_trips = escaped.encode("raw_unicode_escape") == raw
    except UnicodeDecodeError:
        escaped, round_trips = None, False
    closure = function.__closure__
    result = {
        "base64": codecs.encode(raw, "base64").decode("ascii"),
        "raw_unicode_escape": escaped,
        "raw_unicode_escape_round_trips": round_trips,
        "defaults": list(function.__defaults__) if function.__defaults__ is not None else None,
        "closure": [cell.cell_contents for cell in closure] if closure else None,
        "recognisable": options.get("recognisable", True),
        "source": source,
        "version_info": list(sys.version_info[:3]),
    }
    if "enclosing" in options:
        result["enclosing"] = options["enclosing"].format(source)
    if "arguments" in options:
        result["arguments"] = options["arguments"]
    return result


def main():
    functions = {}
    skipped = []
    for name, source, options in FUNCTIONS:
        if tuple(sys.version_info[:2]) < options.get("min_version", (2, 7)):
            skipped.append(name)
            continue
        functions[name] = entry(build(source, options), source, options)
    version = "%d.%d.%d" % tuple(sys.version_info[:3])
    document = {"python": version, "functions": functions}
    text = json.dumps(document, indent=1, sort_keys=True, separators=(",", ": ")) + "\n"
    if not isinstance(text, bytes):
        text = text.encode("ascii")
    here = os.path.dirname(os.path.abspath(__file__))
    name = "code-%d.%d.json" % tuple(sys.version_info[:2])
    with open(os.path.join(here, name), "wb") as f:
        f.write(text)
    print("%s: %d functions%s" % (name, len(functions), (", skipped " + ", ".join(skipped)) if skipped else ""))


if __name__ == "__main__":
    main()
