"""Writes keras-inspect's fixtures with real Keras, and what Keras reported about each.

Run with `make fixtures` (never in CI). It needs the pinned Python packages in
Fixtures/requirements.txt. For every model it writes, under Fixtures/keras2 (tf_keras, the
Keras 2 API) and Fixtures/keras3 (Keras 3):

  NAME.h5            the model, saved with model.save(..., legacy HDF5 format)
  NAME.summary.txt   what model.summary() printed for the model loaded back from NAME.h5
  NAME.json          Keras's per-layer output shapes and parameter counts, and the totals

and a few hand-made damaged copies under Fixtures/broken.
"""

import json
import os
import shutil
import struct
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Keras 3 clamps its summary to the terminal width minus 4; a wide virtual terminal gives
# the default line length (88, or 108 with a "Connected to" column), as on a normal console.
os.environ["COLUMNS"] = "200"

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


# The names a Lambda's function uses, as users import them: `K` for the Keras 2 backend
# (`from keras import backend as K`), `ops` for keras.ops, `tf` and `np`. They are this module's
# globals, set by lambda_builders, so the marshalled code loads them as globals (LOAD_GLOBAL),
# not as closure cells, and tf_keras finds them again in `__main__` when it loads the model.
K = ops = tf = None


def soft_clip(x):
    """A user's helper that a Lambda calls: keras-inspect must report the call, never run it."""
    return x / (1.0 + abs(x))


def lambda_builders(keras_module):
    """The Lambda-layer fixtures: Python functions in the config as marshalled code objects."""
    global K, ops, tf
    import tensorflow as tf
    keras3 = hasattr(keras_module, "ops")
    if keras3:
        ops = keras_module.ops
    else:
        K = keras_module.backend
    L = keras_module.layers
    Input, Model, Lambda, Dense = keras_module.Input, keras_module.Model, L.Lambda, L.Dense

    def lambda_normalize():
        # The behavioural-cloning form: pixels to [-1, 1] before the convolutions.
        return keras_module.Sequential([Input((8, 8, 3)), Lambda(lambda x: x / 127.5 - 1.0), L.Conv2D(2, 3), L.Flatten(), Dense(2)],
                                       name="lambda_normalize")

    def lambda_last_step():
        i = Input((6, 4), name="x")
        h = L.LSTM(5, return_sequences=True, name="lstm")(i)
        last = Dense(2, name="head")(Lambda(lambda x: x[:, -1, :], name="last_step")(h))
        first = Lambda(lambda x: x[..., 0], name="first_feature")(h)
        window = Lambda(lambda x: x[:, None, 1:3], name="new_axis_slice")(h)
        every = Lambda(lambda x: x[:, ::2], name="every_other_step")(h)
        return Model(i, [last, first, window, every], name="lambda_last_step")

    def lambda_reductions():
        x = Input((4, 6), name="x")
        d = Dense(6, name="d")(x)
        if keras3:
            fs = {
                "mean": lambda x: ops.mean(x, axis=1),
                "sum_keepdims": lambda x: ops.sum(x, axis=-1, keepdims=True),
                "max": lambda x: ops.max(x, 1),
                "reshape": lambda x: ops.reshape(x, (-1, 8, 3)),
                "permute": lambda x: ops.transpose(x, (0, 2, 1)),
                "l2_normalize": lambda x: ops.normalize(x, axis=-1),
                "softmax": lambda x: ops.softmax(x, axis=1),
                "clip": lambda x: ops.clip(x, -0.5, 0.5),
                "cast_compare": lambda x: ops.cast(x > 0, "float32") * x,
                "repeat": lambda x: ops.repeat(x, 2, axis=1),
                "tile": lambda x: ops.tile(x, (1, 2, 1)),
                "unary": lambda x: ops.sqrt(ops.abs(x)) + ops.square(x) - ops.exp(x) * ops.log(ops.abs(x) + 1.0),
                "activations": lambda x: ops.sigmoid(x) + ops.tanh(x) + ops.relu(x),
                "variance": lambda x: ops.mean(ops.square(x - ops.mean(x, axis=1, keepdims=True)), axis=1),
            }
            on_mean = lambda x: ops.expand_dims(x, 1)
            on_sum = lambda x: ops.squeeze(x, -1)
        else:
            fs = {
                "mean": lambda x: K.mean(x, axis=1),
                "sum_keepdims": lambda x: K.sum(x, axis=-1, keepdims=True),
                "max": lambda x: K.max(x, 1),
                "reshape": lambda x: K.reshape(x, (-1, 8, 3)),
                "permute": lambda x: K.permute_dimensions(x, (0, 2, 1)),
                "l2_normalize": lambda x: K.l2_normalize(x, axis=-1),
                "softmax": lambda x: K.softmax(x, axis=1),
                "clip": lambda x: K.clip(x, -0.5, 0.5),
                "cast_compare": lambda x: K.cast(x > 0, "float32") * x,
                "repeat": lambda x: K.repeat_elements(x, 2, axis=1),
                "tile": lambda x: K.tile(x, (1, 2, 1)),
                "unary": lambda x: K.sqrt(K.abs(x)) + K.square(x) - K.exp(x) * K.log(K.abs(x) + 1.0),
                "activations": lambda x: K.sigmoid(x) + K.tanh(x) + K.relu(x),
                "variance": lambda x: K.mean(K.square(x - K.mean(x, axis=1, keepdims=True)), axis=1),
            }
            on_mean = lambda x: K.expand_dims(x, 1)
            on_sum = lambda x: K.squeeze(x, -1)
        outs = {name: Lambda(f, name=name)(d) for name, f in fs.items()}
        outs["expand_dims"] = Lambda(on_mean, name="expand_dims")(outs["mean"])
        outs["squeeze"] = Lambda(on_sum, name="squeeze")(outs["sum_keepdims"])
        return Model(x, list(outs.values()), name="lambda_reductions")

    def lambda_tf():
        # TensorFlow called directly: Keras 3 on the TensorFlow backend runs these in a Lambda too.
        x = Input((2, 6), name="x")
        d = Dense(6, name="d")(x)
        e = Dense(6, name="e")(x)
        y = Input((4, 6), name="y")
        f = Dense(6, name="f")(y)
        reduced = Lambda(lambda x: tf.reduce_mean(x, axis=1, keepdims=True), name="reduce_mean")(d)
        math = Lambda(lambda x: tf.math.square(x) + tf.nn.relu(x), name="square_relu")(e)
        flat = Lambda(lambda x: tf.reshape(x, [-1, 12]), name="reshape")(d)
        joined = Lambda(lambda t: tf.concat([t[0], t[1]], 1), name="concat")([d, f])
        product = Lambda(lambda t: tf.matmul(t[0], t[1], transpose_b=True), name="matmul")([d, f])
        return Model([x, y], [reduced, math, flat, joined, product], name="lambda_tf")

    def lambda_multi_input():
        a = Input((3, 4), name="a")
        b = Input((3, 4), name="b")
        da = Dense(4, name="da")(a)
        db = Dense(4, name="db")(b)
        mixed = Lambda(lambda t: t[0] * t[1] + t[0], name="mixed")([da, db])
        if keras3:
            joined = Lambda(lambda t: ops.concatenate(t, axis=-1), name="concatenate")([da, db])
            stacked = Lambda(lambda t: ops.stack([t[0], t[1]], axis=1), name="stack")([da, db])
            dot = Lambda(lambda t: ops.matmul(t[0], ops.transpose(t[1], (0, 2, 1))), name="batch_dot")([da, db])
        else:
            joined = Lambda(lambda t: K.concatenate(t), name="concatenate")([da, db])
            stacked = Lambda(lambda t: K.stack([t[0], t[1]], axis=1), name="stack")([da, db])
            dot = Lambda(lambda t: K.batch_dot(t[0], t[1], axes=(2, 2)), name="batch_dot")([da, db])
        head = Dense(2, name="head")(L.Flatten(name="flatten")(mixed))
        return Model([a, b], [head, joined, stacked, dot], name="lambda_multi_input")

    def lambda_arguments():
        # arguments= passed to the function, a default, and a closure over a local float.
        x = Input((5,), name="x")
        d = Dense(4, name="d")(x)
        s = 3.0
        scaled = Lambda(lambda x, scale: x * scale, arguments={"scale": 0.5}, name="scaled")(d)
        powered = Lambda(lambda x, c=2.0: x ** c, name="powered")(d)
        closed = Lambda(lambda x: x * s, name="closure")(d)
        return Model(x, [scaled, powered, closed], name="lambda_arguments")

    def lambda_output_shape():
        # An output_shape tuple (without the batch size), and one computed by a lambda.
        x = Input((3, 4), name="x")
        d = Dense(4, name="d")(x)
        if keras3:
            summed = Lambda(lambda x: ops.sum(x, axis=1), output_shape=(4,), name="summed")(d)
            peak = Lambda(lambda x: ops.max(x, axis=2), output_shape=lambda s: (s[0], s[1]), name="peak")(d)
        else:
            summed = Lambda(lambda x: K.sum(x, axis=1), output_shape=(4,), name="summed")(d)
            peak = Lambda(lambda x: K.max(x, axis=2), output_shape=lambda s: (s[0], s[1]), name="peak")(d)
        return Model(x, [Dense(2, name="head")(summed), peak], name="lambda_output_shape")

    def lambda_unrecognised():
        x = Input((6,), name="x")
        d = Dense(4, name="d")(x)
        h = Lambda(lambda x: soft_clip(x), output_shape=(4,), name="helper")(d)
        return Model(x, Dense(2, name="head")(h), name="lambda_unrecognised")

    return {
        "lambda_normalize": lambda_normalize,
        "lambda_last_step": lambda_last_step,
        "lambda_reductions": lambda_reductions,
        "lambda_tf": lambda_tf,
        "lambda_multi_input": lambda_multi_input,
        "lambda_arguments": lambda_arguments,
        "lambda_output_shape": lambda_output_shape,
        "lambda_unrecognised": lambda_unrecognised,
    }


def lambda_layers(model):
    """The model's Lambda layers, nested models' included."""
    found = []
    for layer in model.layers:
        if layer.__class__.__name__ == "Lambda":
            found.append(layer)
        elif hasattr(layer, "layers"):
            found.extend(lambda_layers(layer))
    return found


def relocate_lambda_code(model):
    """Python records a script's absolute path in its code objects (co_filename), and Keras saves
    a Lambda's function as marshalled code: name the file relative to the repository instead, so
    no fixture holds this machine's paths."""
    import types

    def relative(code):
        consts = tuple(relative(c) if isinstance(c, types.CodeType) else c for c in code.co_consts)
        return code.replace(co_filename="Fixtures/generate.py", co_consts=consts)

    for layer in lambda_layers(model):
        for fn in (layer.function, getattr(layer, "_output_shape", None)):
            if isinstance(fn, types.FunctionType):
                fn.__code__ = relative(fn.__code__)


def builders(K):
    """Every fixture model, built with the Keras module K (tf_keras or keras)."""
    L = K.layers

    def seq(*layers, name=None):
        return K.Sequential(list(layers), name=name)

    def functional_merge(merge_cls):
        a = K.Input((6,), name="a")
        b = K.Input((6,), name="b")
        x = L.Dense(4, name="da")(a)
        y = L.Dense(4, name="db")(b)
        m = merge_cls()([x, y])
        out = L.Dense(2, name="head")(m)
        return K.Model([a, b], out, name="merge_" + merge_cls.__name__.lower())

    def bidi(mode):
        def build():
            return seq(K.Input((7, 3)), L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode=mode), L.Dense(2))
        return build

    def bidi_none():
        inp = K.Input((7, 3))
        f, b = L.Bidirectional(L.GRU(4), merge_mode=None)(inp)
        return K.Model(inp, [f, b], name="bidi_none")

    def multi_io():
        seq_in = K.Input((9, 4), name="sequence")
        aux_in = K.Input((3,), name="aux")
        enc = L.LSTM(6, name="enc")(seq_in)
        aux = L.Dense(5, activation="relu", name="aux_dense")(aux_in)
        merged = L.Concatenate(name="merged")([enc, aux])
        out1 = L.Dense(1, name="score")(merged)
        out2 = L.Dense(3, activation="softmax", name="klass")(merged)
        return K.Model([seq_in, aux_in], [out1, out2], name="multi_io")

    def shared():
        left = K.Input((5, 3), name="left")
        right = K.Input((5, 3), name="right")
        enc = L.GRU(4, name="shared_gru")
        d = L.Subtract(name="diff")([enc(left), enc(right)])
        out = L.Dense(1, activation="sigmoid", name="out")(d)
        return K.Model([left, right], out, name="siamese")

    def nested_seq():
        inner = seq(K.Input((8,)), L.Dense(6, activation="relu"), L.Dense(4), name="inner")
        return seq(K.Input((8,)), inner, L.Dense(2), name="outer")

    def nested_functional():
        i = K.Input((10, 3))
        h = L.LSTM(5)(i)
        inner = K.Model(i, h, name="encoder")
        o = K.Input((10, 3), name="outer_in")
        x = inner(o)
        x = L.Dense(2)(x)
        return K.Model(o, x, name="wrapper")

    def frozen():
        d1 = L.Dense(8, activation="relu")
        d1.trainable = False
        return seq(K.Input((4,)), d1, L.BatchNormalization(), L.Dense(3))

    def linear_functional():
        i = K.Input((13, 5))
        x = L.LSTM(10, return_sequences=True)(i)
        x = L.LSTM(10)(x)
        return K.Model(i, L.Dense(1)(x), name="stacked")

    def many_layers():
        # Long layer names push `layer_names` over HDF5's 64 KiB attribute limit, so Keras
        # splits it into layer_names0, layer_names1, ...
        layers = [K.Input((1,))]
        for i in range(70):
            layers.append(L.Dense(1, name=f"layer_{i:03d}_" + "x" * 930))
        return seq(*layers, name="many_layers")

    def activations():
        names = ["linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "hard_sigmoid", "elu", "selu",
                 "softplus", "softsign", "swish", "silu", "gelu", "exponential", "leaky_relu", "relu6", "mish",
                 "hard_silu", "hard_swish", "celu", "hard_tanh", "log_sigmoid", "sparse_plus", "squareplus",
                 "tanh_shrink", "soft_shrink", "hard_shrink", "sparse_sigmoid", "sparsemax"]
        inp = K.Input((6,), name="x")
        branches = []
        for name in names:
            try:
                K.activations.get(name)
            except Exception:
                continue  # this Keras has no such activation
            branches.append(L.Dense(3, activation=name, name="dense_" + name)(inp))
        return K.Model(inp, L.Concatenate(name="all")(branches), name="activations")

    def recurrent_states():
        inp = K.Input((6, 3), name="x")
        seq_out, h, c = L.LSTM(4, return_sequences=True, return_state=True, name="lstm")(inp)
        g_out, g_h = L.GRU(3, return_state=True, name="gru")(seq_out)
        return K.Model(inp, [L.Dense(2, name="head")(g_out), h, c, g_h], name="recurrent_states")

    def attention_self():
        # A transformer block: self-attention, residual, layer normalization.
        i = K.Input((6, 8), name="x")
        a = L.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(i, i)
        x = L.LayerNormalization(name="norm")(L.Add(name="residual")([i, a]))
        return K.Model(i, L.GlobalAveragePooling1D(name="pool")(x), name="attention_self")

    def attention_cross():
        # Cross-attention with a separate key, value_dim and output_shape, and a causal mask.
        q = K.Input((5, 8), name="q")
        v = K.Input((7, 6), name="v")
        k = K.Input((7, 3), name="k")
        a = L.MultiHeadAttention(num_heads=3, key_dim=4, value_dim=5, output_shape=9, name="cross")(q, v, key=k, use_causal_mask=True)
        return K.Model([q, v, k], a, name="attention_cross")

    def has(*names):
        return all(hasattr(L, n) for n in names)

    def conv3d():
        return seq(K.Input((6, 6, 5, 2)), L.Conv3D(3, 2, activation="relu"), L.MaxPooling3D(2, padding="same"),
                   L.Conv3DTranspose(2, 2, strides=2), L.AveragePooling3D((1, 2, 2)), L.ZeroPadding3D(1),
                   L.Cropping3D(((1, 0), (0, 1), (1, 1))), L.UpSampling3D((1, 2, 1)), L.GlobalAveragePooling3D())

    def normalizations():
        return seq(K.Input((4, 6)), L.GroupNormalization(groups=2), L.UnitNormalization(),
                   # Keras 3.15 cannot load back a legacy .h5 with a multi-axis LayerNormalization (its gamma is rebuilt 1-D).
                   L.LayerNormalization(axis=[1, 2] if K.__name__ == "tf_keras" else -1),
                   L.BatchNormalization(axis=1), L.GroupNormalization(groups=2, axis=1, center=False), L.Flatten(), L.Dense(3))

    def activation_layers():
        inp = K.Input((5, 4, 3), name="x")
        x = L.PReLU(shared_axes=[1, 2], name="prelu_shared")(inp)
        x = L.PReLU(name="prelu")(x)
        x = L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2)(x)
        x = L.LeakyReLU(0.2)(x)
        x = L.ELU(0.7)(x)
        if has("ThresholdedReLU"):
            x = L.ThresholdedReLU(0.1)(x)
        x = L.Softmax(axis=1)(x)
        return K.Model(inp, L.Flatten()(x), name="activation_layers")

    def preprocessing():
        inp = K.Input((7, 8, 3), name="image")
        x = L.Rescaling(1 / 127.5, offset=-1)(inp)
        x = L.Normalization(mean=[0.1, -0.2, 0.3], variance=[1.5, 0.5, 2.0])(x)
        x = L.Normalization(axis=-1)(x)
        x = L.CenterCrop(5, 6)(x)
        x = L.Resizing(9, 7)(x)
        x = L.Resizing(4, 3, interpolation="nearest", crop_to_aspect_ratio=True)(x)
        if hasattr(K, "ops"):
            x = L.Resizing(6, 3, pad_to_aspect_ratio=True, fill_value=0.25)(x)
            x = L.Resizing(3, 7, pad_to_aspect_ratio=True)(x)
        x = L.Normalization(axis=-1, invert=True, mean=[0.5, 0.5, 0.5], variance=[4.0, 4.0, 4.0])(x)
        return K.Model(inp, L.Dense(2)(L.Flatten()(x)), name="preprocessing")

    def identities():
        layers = [K.Input((6, 4)), L.GaussianNoise(0.1), L.GaussianDropout(0.2), L.AlphaDropout(0.1), L.SpatialDropout1D(0.2),
                  L.ActivityRegularization(0.01)]
        if has("Identity"):
            layers.append(L.Identity())
        return seq(*layers, L.Reshape((6, 2, 2)), L.SpatialDropout2D(0.3), L.Reshape((6, 2, 2, 1)), L.SpatialDropout3D(0.3), L.Flatten(), L.Dense(2))

    def op_arithmetic():
        # Python operators on Keras tensors: tf.keras records TFOpLambda layers (tf.__operators__.add,
        # tf.math.multiply, ...), Keras 3 op nodes (Add, Multiply, Maximum, ...) with a number operand.
        inp = K.Input((6,), name="x")
        d = L.Dense(4, name="d")(inp)
        a = d + 3.0
        if hasattr(K, "ops"):
            r = L.ReLU(6.0, name="relu6")(a)
            m = K.ops.maximum(r, 0.5)
            s = L.Activation("sigmoid", name="sig")(d)
        else:
            import tensorflow as tf
            r = tf.nn.relu6(a)
            m = tf.math.maximum(r, 0.5)
            s = tf.math.sigmoid(d)
        h = m * (1.0 / 6.0)
        out = (h + s) - 1.0
        if not hasattr(K, "ops"):
            out = out / 2.0
        return K.Model(inp, L.Dense(2, name="head")(out * d), name="op_arithmetic")

    def nested_sequential_branch():
        # A nested Sequential in a functional graph: "Connected to" names its call's node.
        inp = K.Input((6,), name="x")
        inner = seq(K.Input((6,)), L.Dense(4, name="inner_dense"), name="inner")
        out = L.Add(name="sum")([inner(inp), L.Dense(4, name="side")(inp)])
        return K.Model(inp, L.Dense(2, name="head")(out), name="nested_sequential_branch")

    def encodings():
        inp = K.Input((4,), name="x")
        bins = L.Discretization(bin_boundaries=[-1.0, 0.0, 0.5, 1.0], name="bins")(inp)
        count = L.CategoryEncoding(5, output_mode="count", name="count")(bins)
        multi = L.CategoryEncoding(5, output_mode="multi_hot", name="multi")(bins)
        # tf_keras one-hot encodes inputs of rank 2 at most: (batch, 1) here.
        single = K.Input((1,), name="single")
        one = L.CategoryEncoding(5, output_mode="one_hot", name="one")(L.Discretization(bin_boundaries=[-0.5, 0.5], name="bins1")(single))
        lookup = L.IntegerLookup(vocabulary=[3, 1, 4], mask_token=0, name="lookup")(bins)
        back = L.IntegerLookup(vocabulary=[7, 9, 11, 13], invert=True, name="back")(bins)
        codes = L.Concatenate(name="codes")([L.Dense(2, name="lookup_dense")(lookup), L.Dense(2, name="back_dense")(back)])
        return K.Model([inp, single], L.Dense(2, name="head")(L.Concatenate(name="all")([count, multi, one, codes])), name="encodings")

    def channels_first():
        # TensorFlow has no channels-first convolution on the CPU: this one is made by Keras 3 on JAX
        # (KERAS_BACKEND=jax ONLY=channels_first make fixtures).
        if not hasattr(K, "ops") or K.backend.backend() != "jax":
            return None
        cf = {"data_format": "channels_first"}
        image = K.Input((3, 9, 8), name="image")
        x = L.Conv2D(4, 3, padding="same", **cf)(image)
        x = L.BatchNormalization(axis=1)(x)
        x = L.DepthwiseConv2D(2, depth_multiplier=2, **cf)(x)
        x = L.SeparableConv2D(3, 3, padding="same", **cf)(x)
        x = L.MaxPooling2D(2, **cf)(x)
        x = L.Conv2DTranspose(2, 3, strides=2, **cf)(x)
        x = L.UpSampling2D(2, interpolation="bilinear", **cf)(x)
        x = L.ZeroPadding2D(((1, 0), (0, 2)), **cf)(x)
        x = L.Cropping2D(((0, 1), (2, 0)), **cf)(x)
        x = L.AveragePooling2D(2, padding="same", **cf)(x)
        a = L.Flatten(**cf)(x)
        b = L.Flatten()(L.GlobalAveragePooling2D(keepdims=True, **cf)(x))
        seq_in = K.Input((3, 10), name="sequence")
        y = L.Conv1D(4, 3, **cf)(seq_in)
        y = L.UpSampling1D(2)(L.Permute((2, 1))(y))
        c = L.GlobalMaxPooling1D(**cf)(L.Permute((2, 1))(y))
        return K.Model([image, seq_in], L.Dense(2)(L.Concatenate()([a, b, c])), name="channels_first")

    def keras3_norms():
        # rms_scaling and RMSNormalization are Keras 3's; tf_keras has neither.
        if not has("RMSNormalization"):
            return None
        return seq(K.Input((5, 6)), L.LayerNormalization(rms_scaling=True), L.LayerNormalization(center=False, scale=False, epsilon=0.01),
                   L.RMSNormalization(), L.Dense(2))

    def masking_bidirectional():
        return seq(K.Input((8, 3)), L.Masking(0.0), L.Bidirectional(L.GRU(4, return_sequences=True)), L.GRU(2, go_backwards=True))

    vision = {
        "depthwise_separable": lambda: seq(K.Input((12, 13, 3)), L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu6"),
                                           L.SeparableConv2D(4, 3, strides=2, depth_multiplier=2), L.DepthwiseConv2D((2, 3), dilation_rate=2, use_bias=False),
                                           L.GlobalAveragePooling2D(keepdims=True), L.Flatten()),
        "depthwise_separable_1d": lambda: seq(K.Input((12, 3)), L.DepthwiseConv1D(3, depth_multiplier=2, padding="same"),
                                              L.SeparableConv1D(4, 3, padding="same", dilation_rate=2, activation="tanh"), L.GlobalMaxPooling1D()),
        "conv2d_transpose": lambda: seq(K.Input((5, 6, 3)), L.Conv2DTranspose(4, 3, strides=2, padding="same"),
                                        L.Conv2DTranspose(2, (2, 3), strides=(2, 1), output_padding=(1, 0)), 
                                        # TensorFlow's CPU kernel under Keras 3 has no dilated transposed convolution.
                                        L.Conv2DTranspose(2, 3, dilation_rate=2 if K.__name__ == "tf_keras" else 1, activation="relu")),
        "conv1d_transpose": lambda: seq(K.Input((6, 2)), L.Conv1DTranspose(3, 2), L.Conv1DTranspose(2, 3, strides=2, padding="same", output_padding=1),
                                        L.Conv1DTranspose(2, 4, strides=3), L.Dense(1)),
        "conv3d": conv3d,
        "upsampling2d": lambda: seq(K.Input((4, 5, 3)), L.UpSampling2D(2), L.Conv2D(2, 1), L.UpSampling2D((2, 3), interpolation="bilinear"),
                                    L.MaxPooling2D(3, strides=2, padding="same"), L.AveragePooling2D((2, 3), strides=(1, 2)), L.GlobalMaxPooling2D(keepdims=True), L.Flatten()),
        "grouped_conv": lambda: seq(K.Input((8, 8, 4)), L.Conv2D(6, 3, groups=2), L.Reshape((36, 6)), L.Conv1D(4, 3, groups=2, padding="causal")),
        "normalizations": normalizations,
        "activation_layers": activation_layers,
        "preprocessing": preprocessing,
        "identities": identities,
        "keras3_norms": keras3_norms,
        "op_arithmetic": op_arithmetic,
        "nested_sequential_branch": nested_sequential_branch,
        "encodings": encodings,
        # axis=None: one scalar mean and variance (adapted weights of shape ()), and one from the config.
        "normalization_scalar": lambda: seq(K.Input((3, 2)), L.Normalization(axis=None), L.Normalization(axis=None, mean=0.5, variance=2.0), L.Flatten()),
        # A whole keras.applications network in CI (the rest run in `make apps-check`): the smallest
        # MobileNet, its weights randomised like every fixture's (ReLU6 keeps activations bounded), logits
        # out (a saturated softmax would compare numbers too small to tell).
        "app_mobilenet": lambda: K.applications.MobileNet(weights=None, alpha=0.25, input_shape=(32, 32, 3), classes=10, classifier_activation=None),
        "locally_connected": lambda: None if hasattr(K, "ops") else seq(
            K.Input((7, 6, 2)), L.LocallyConnected2D(3, (2, 3), strides=(2, 1), activation="relu"), L.Reshape((12, 3)),
            L.LocallyConnected1D(2, 3, strides=2, use_bias=False), L.Flatten()),
        # Implementations 2 (dense masked kernel) and 3 (sparse), `same` padding, channels first.
        "locally_connected_implementations": lambda: None if hasattr(K, "ops") else seq(
            K.Input((6, 5, 2)), L.LocallyConnected2D(3, (3, 2), strides=(2, 1), padding="same", implementation=2, activation="tanh"),
            L.LocallyConnected2D(2, 2, implementation=3), L.LocallyConnected2D(2, (2, 1), data_format="channels_first"),
            L.LocallyConnected2D(3, (1, 2), strides=(1, 2), data_format="channels_first", implementation=2, padding="same"),
            L.LocallyConnected2D(2, (2, 1), data_format="channels_first", implementation=3), L.Reshape((4, 1)),
            L.LocallyConnected1D(3, 2, implementation=2, padding="same"), L.LocallyConnected1D(2, 2, implementation=3, strides=2),
            L.LocallyConnected1D(2, 1, data_format="channels_first", implementation=2), L.Flatten()),
        "channels_first": channels_first,
        # Keras 3.15 cannot write RandomBrightness to a legacy .h5 (its config holds a module).
        "augmentation": lambda: seq(K.Input((8, 8, 3)), L.RandomFlip(), L.RandomRotation(0.2), L.RandomZoom(0.1), L.RandomContrast(0.3),
                                    L.RandomTranslation(0.1, 0.1), *([L.RandomBrightness(0.2)] if not hasattr(K, "ops") else []),
                                    L.Conv2D(2, 3), L.GlobalAveragePooling2D()),
        # Every interpolation each Keras resizes with, up and down (tf.image.resize's kernels).
        "resizing_interpolations": lambda: seq(
            K.Input((7, 6, 3)), L.Resizing(9, 11, interpolation="bicubic"), L.Resizing(5, 4, interpolation="bicubic"),
            L.Resizing(11, 9, interpolation="area"), L.Resizing(4, 5, interpolation="area"),
            L.Resizing(9, 8, interpolation="lanczos3"), L.Resizing(6, 5, interpolation="lanczos3"),
            L.Resizing(10, 9, interpolation="lanczos5"), L.Resizing(7, 6, interpolation="lanczos5"),
            *([] if hasattr(K, "ops") else [L.Resizing(9, 10, interpolation="gaussian"), L.Resizing(5, 6, interpolation="gaussian"),
                                            L.Resizing(8, 9, interpolation="mitchellcubic"), L.Resizing(4, 5, interpolation="mitchellcubic")]),
            *([L.Resizing(9, 8, interpolation="bilinear", antialias=True), L.Resizing(5, 3, interpolation="bilinear", antialias=True),
               L.Resizing(4, 2, interpolation="bicubic", antialias=True), L.Resizing(9, 8, interpolation="lanczos3", antialias=True),
               L.Resizing(3, 4, interpolation="lanczos5", antialias=True)] if hasattr(K, "ops") else []),
            L.UpSampling2D((2, 1), interpolation="bicubic"), L.UpSampling2D(2, interpolation="lanczos3"),
            *([] if hasattr(K, "ops") else [L.UpSampling2D((1, 2), interpolation="area"), L.UpSampling2D((2, 1), interpolation="gaussian")]),
            L.Conv2D(2, 3), L.GlobalAveragePooling2D()),
        # Keras 3's other augmentation layers: each returns its input unchanged at inference.
        "augmentation_keras3": lambda: None if not hasattr(K, "ops") else seq(
            K.Input((8, 8, 3)), L.RandomGrayscale(), L.RandomHue(0.2, value_range=(0, 1)),
            L.RandomColorJitter(value_range=(0, 1), brightness_factor=0.1, contrast_factor=0.1),
            L.RandomInvert(value_range=(0, 1)), L.RandomErasing(), L.RandomGaussianBlur(), L.RandomElasticTransform(),
            L.RandomPerspective(), L.MixUp(), L.CutMix(), L.AugMix(value_range=(0, 1)), L.RandAugment(value_range=(0, 1)),
            L.MaxNumBoundingBoxes(3),
            L.Conv2D(2, 3), L.GlobalAveragePooling2D()),
        # Those Keras 3.15 cannot write to a legacy .h5: a .keras archive only.
        "augmentation_keras3_archive": lambda: None if not hasattr(K, "ops") else seq(
            K.Input((8, 8, 3)), L.RandomSaturation(0.3), L.RandomSharpness(0.2), L.RandomColorDegeneration(0.3),
            L.RandomPosterization(4, value_range=(0, 1)), L.Solarization(0.2, value_range=(0, 1)), L.Conv2D(2, 3), L.GlobalAveragePooling2D()),
        # AutoContrast is active at inference: each image's channels stretched over value_range.
        "auto_contrast": lambda: None if not hasattr(K, "ops") else seq(
            K.Input((5, 4, 3)), L.AutoContrast(value_range=(-1, 2)), L.Conv2D(2, 2), L.AutoContrast(), L.Flatten()),
        # RandomCrop at inference: tf_keras centre-crops to the aspect ratio and resizes; Keras 3
        # returns the input unchanged (its summary still shows the target size).
        "random_crop": lambda: seq(K.Input((9, 7, 3)), L.RandomCrop(5, 4), L.Conv2D(2, 3), L.GlobalAveragePooling2D()),
        # tf_keras's RandomHeight / RandomWidth: unchanged at inference, the axis unknown in the summary.
        "random_height_width": lambda: None if hasattr(K, "ops") else seq(
            K.Input((6, 5, 3)), L.RandomHeight(0.2), L.RandomWidth((-0.2, 0.1)), L.Conv2D(2, 3), L.GlobalMaxPooling2D()),
    }
    def attention_luong():
        # Attention: dot scores with a learned scale and a separate key, concat scores, causal.
        q = K.Input((5, 4), name="q")
        v = K.Input((6, 3), name="v")
        k = K.Input((6, 4), name="k")
        a = L.Attention(use_scale=True, name="scaled")([q, v, k])
        b = L.Attention(score_mode="concat", use_scale=True, name="concat")([q, k])
        c = L.Attention(score_mode="concat", name="concat_causal")([q, q], use_causal_mask=True)
        d = L.Attention(name="causal")([q, k], use_causal_mask=True)
        x = L.Concatenate(name="join")([a, b, c, d])
        return K.Model([q, v, k], L.Dense(2, name="head")(x), name="attention_luong")

    def attention_additive():
        # AdditiveAttention with query and value masks (Embedding mask_zero), scaled and not, causal.
        t = K.Input((7,), name="tokens")
        e = L.Embedding(20, 4, mask_zero=True, name="embed")(t)
        u = L.Embedding(20, 4, mask_zero=True, name="embed_value")(t)
        a = L.AdditiveAttention(name="additive")([e, u])
        b = L.AdditiveAttention(use_scale=False, name="unscaled_causal")([e, e], use_causal_mask=True)
        c = L.Attention(name="dot_masked")([e, u])
        # Keras 3 converts the causal and padding masks with a ConvertToTensor op node.
        d = L.Attention(score_mode="concat", use_scale=True, name="concat_causal_masked")([e, e], use_causal_mask=True)
        x = L.Concatenate(name="join")([a, b, c, d])
        return K.Model(t, L.Dense(2, name="head")(x), name="attention_additive")

    def dot_products():
        a = K.Input((4,), name="a")
        b = K.Input((4,), name="b")
        s = K.Input((5, 3), name="s")
        r = K.Input((6, 3), name="r")
        u = K.Input((5, 2), name="u")
        ab = L.Dot(axes=1, name="vector")([a, b])
        cos = L.Dot(axes=-1, normalize=True, name="cosine")([a, b])
        sr = L.Dot(axes=(2, 2), name="sequences")([s, r])
        su = L.Dot(axes=1, normalize=True, name="over_time")([s, u])
        sa = L.Dot(axes=(1, 1), name="mixed")([L.Dense(5, name="proj")(a), s])
        out = [L.Concatenate(name="pair")([ab, cos]), sr, su, sa]
        return K.Model([a, b, s, r, u], out, name="dot_products")

    def einsum_dense():
        x = K.Input((5, 6), name="x")
        y = L.EinsumDense("abc,cd->abd", output_shape=(None, 4), bias_axes="d", name="per_step")(x)
        z = L.EinsumDense("...b,bc->...c", output_shape=3, bias_axes="c", activation="relu", name="ellipsis")(y)
        # Keras 3 keeps an output_shape None as None (its compute_output_shape); tf_keras shows
        # the size the einsum gives.
        w = L.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de", name="heads")(z)
        m = L.EinsumDense("abc,bd->adc", output_shape=(2, 6), name="mix_steps")(x)
        r = L.EinsumDense("ab...,bc->ac...", output_shape=4, bias_axes="c", name="right")(L.Reshape((5, 3, 2), name="split")(x))
        f = L.EinsumDense("ab,bc->ac", output_shape=2, bias_axes="c", name="flat")(L.Flatten(name="flatten")(m))
        return K.Model(x, [w, f, r], name="einsum_dense")

    def mha_axes():
        # Attention over two axes of an image-like input, over one of them, and the default (all).
        x = K.Input((3, 4, 6), name="x")
        a = L.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=(1, 2), name="both")(x, x)
        b = L.MultiHeadAttention(num_heads=2, key_dim=2, value_dim=3, attention_axes=(2,), name="rows")(a, x)
        c = L.MultiHeadAttention(num_heads=1, key_dim=4, name="default", use_bias=False)(b, b)
        # An output_shape of two sizes: the output projection maps to two trailing axes.
        d = L.MultiHeadAttention(num_heads=2, key_dim=2, output_shape=(2, 3), name="two_axes")(L.Reshape((12, 6), name="seq")(x), L.Reshape((12, 6), name="seq_v")(c))
        return K.Model(x, [L.GlobalAveragePooling2D(name="pool")(c), d], name="mha_axes")

    def grouped_query_attention():
        if not hasattr(L, "GroupQueryAttention"):
            return None  # Keras 3 only, exported as GroupQueryAttention
        q = K.Input((5, 8), name="q")
        v = K.Input((6, 8), name="v")
        a = L.GroupQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2, name="gqa")(q, v)
        b = L.GroupQueryAttention(head_dim=2, num_query_heads=3, num_key_value_heads=1, use_bias=False, name="causal")(a, a, use_causal_mask=True)
        c = L.GroupQueryAttention(head_dim=2, num_query_heads=2, num_key_value_heads=2, use_gate=True, sliding_window=2, name="gated_window")(b, b)
        return K.Model([q, v], c, name="grouped_query_attention")

    def attention_masked():
        # The masks a transformer passes: an explicit attention_mask (B, T, S) of bools, with a
        # causal mask and a key's own padding mask; scores returned under a mask (Keras 3 zeroes a
        # row whose keys are all masked); masks over two attention axes and over one of several.
        x = K.Input((6, 8), name="x")
        m = K.Input((6, 6), name="pair_mask", dtype="bool")
        k = K.Input((6, 5), name="k")
        padded = L.Masking(name="key_padding")(k)
        a = L.MultiHeadAttention(num_heads=2, key_dim=4, name="explicit")(x, x, attention_mask=m)
        b = L.MultiHeadAttention(num_heads=2, key_dim=3, name="keyed_causal")(a, a, key=padded, attention_mask=m, use_causal_mask=True)
        c, scores = L.MultiHeadAttention(num_heads=2, key_dim=2, name="scored")(b, x, attention_mask=m, return_attention_scores=True)
        g = K.Input((3, 4, 6), name="grid")
        gm = K.Input((3, 4, 3, 4), name="grid_mask")
        rm = K.Input((3, 4, 4), name="row_mask")
        d = L.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=(1, 2), name="both_axes")(g, g, attention_mask=gm)
        e = L.MultiHeadAttention(num_heads=2, key_dim=2, attention_axes=(2,), name="rows")(d, g, attention_mask=rm)
        return K.Model([x, m, k, g, gm, rm], [c, scores, e], name="attention_masked")

    def attention_gated():
        # Keras 3.15's MultiHeadAttention options (use_gate, sliding_window) and grouped-query
        # attention under an explicit mask with its scores returned.
        import inspect
        if "use_gate" not in inspect.signature(L.MultiHeadAttention.__init__).parameters:
            return None
        x = K.Input((7, 6), name="x")
        m = K.Input((7, 7), name="pair_mask")
        a = L.MultiHeadAttention(num_heads=2, key_dim=3, use_gate=True, name="gated")(x, x)
        b = L.MultiHeadAttention(num_heads=2, key_dim=3, sliding_window=2, name="window")(a, a, use_causal_mask=True)
        c = L.MultiHeadAttention(num_heads=1, key_dim=4, value_dim=2, use_gate=True, use_bias=False, sliding_window=3, name="gated_window")(b, x)
        d, scores = L.GroupQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=2, name="gqa_scored")(
            c, x, attention_mask=m, return_attention_scores=True)
        return K.Model([x, m], [d, scores], name="attention_gated")

    def recurrent_initial_states():
        # Initial states given to a Bidirectional layer (first half forward, second half backward)
        # and to a ConvLSTM2D (h and c of its output's shape).
        x = K.Input((5, 3), name="x")
        states = [K.Input((4,), name=f"state_{i}") for i in range(4)]
        y = L.Bidirectional(L.LSTM(4, return_sequences=True), name="bi_lstm")(x, initial_state=states)
        g = L.Bidirectional(L.GRU(4), merge_mode="sum", name="bi_gru")(x, initial_state=[states[0], states[3]])
        frames = K.Input((3, 5, 5, 2), name="frames")
        h = K.Input((5, 5, 4), name="frame_h")
        c = K.Input((5, 5, 4), name="frame_c")
        z = L.ConvLSTM2D(4, 3, padding="same", return_sequences=True, name="conv_lstm")(frames, initial_state=[h, c])
        return K.Model([x] + states + [frames, h, c], [y, g, z], name="recurrent_initial_states")

    def bidirectional_conv_lstm():
        # Bidirectional around convolutional LSTMs: sequences concatenated, last states summed.
        frames = K.Input((4, 5, 5, 2), name="frames")
        a = L.Bidirectional(L.ConvLSTM2D(3, 3, padding="same", return_sequences=True), name="bi_conv2d")(frames)
        strips = K.Input((4, 6, 2), name="strips")
        b = L.Bidirectional(L.ConvLSTM1D(2, 2), merge_mode="sum", name="bi_conv1d")(strips)
        return K.Model([frames, strips], [a, b], name="bidirectional_conv_lstm")

    def attention_mask_list():
        # Attention given its masks explicitly, mask=[query_mask, value_mask], as bool inputs.
        q = K.Input((5, 4), name="q")
        v = K.Input((6, 4), name="v")
        qm = K.Input((5,), name="q_mask", dtype="bool")
        vm = K.Input((6,), name="v_mask", dtype="bool")
        a = L.Attention(name="dot")([q, v], mask=[qm, vm])
        b = L.AdditiveAttention(name="additive")([q, v, v], mask=[None, vm])
        return K.Model([q, v, qm, vm], [a, b], name="attention_mask_list")

    def masked_concat():
        # Two padded token sequences (Embedding mask_zero) concatenated along time and along the
        # features: Keras concatenates the masks, or keeps a step any input keeps.
        a = K.Input((5,), name="a")
        b = K.Input((5,), name="b")
        ea = L.Embedding(20, 4, mask_zero=True, name="embed_a")(a)
        eb = L.Embedding(20, 4, mask_zero=True, name="embed_b")(b)
        time = L.LSTM(3, name="over_time")(L.Concatenate(axis=1, name="join_time")([ea, eb]))
        features = L.LSTM(3, name="over_features")(L.Concatenate(name="join_features")([ea, eb]))
        attended = L.GlobalAveragePooling1D(name="pool")(L.MultiHeadAttention(num_heads=1, key_dim=2, name="mha")(
            L.Concatenate(axis=1, name="join_keys")([ea, eb]), L.Concatenate(axis=1, name="join_values")([ea, eb])))
        return K.Model([a, b], [time, features, attended], name="masked_concat")

    def transformer_encoder():
        # A transformer encoder block on token embeddings with a padding mask, as Keras's examples build it.
        t = K.Input((8,), name="tokens")
        e = L.Embedding(30, 8, mask_zero=True, name="embed")(t)
        a = L.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(e, e)
        x = L.LayerNormalization(epsilon=1e-6, name="norm1")(L.Add(name="res1")([e, L.Dropout(0.1, name="drop1")(a)]))
        f = L.Dense(8, name="ffn_out")(L.Dense(16, activation="relu", name="ffn_in")(x))
        x = L.LayerNormalization(epsilon=1e-6, name="norm2")(L.Add(name="res2")([x, f]))
        return K.Model(t, L.Dense(3, name="head")(L.GlobalAveragePooling1D(name="pool")(x)), name="transformer_encoder")

    def seq2seq_attention():
        # Encoder-decoder with Luong attention: the decoder starts from the encoder's states.
        src = K.Input((7, 3), name="source")
        tgt = K.Input((5, 2), name="target")
        enc, h, c = L.LSTM(6, return_sequences=True, return_state=True, name="encoder")(src)
        dec = L.LSTM(6, return_sequences=True, name="decoder")(tgt, initial_state=[h, c])
        ctx = L.Attention(name="attention")([dec, enc])
        x = L.Concatenate(name="join")([dec, ctx])
        return K.Model([src, tgt], L.TimeDistributed(L.Dense(4, activation="softmax"), name="vocab")(x), name="seq2seq_attention")

    def video_cnn_lstm():
        # A TimeDistributed CNN over frames, then an LSTM over time.
        v = K.Input((4, 10, 9, 3), name="frames")
        x = L.TimeDistributed(L.Conv2D(4, 3, activation="relu"), name="conv")(v)
        x = L.TimeDistributed(L.MaxPooling2D(2), name="pool")(x)
        x = L.TimeDistributed(L.BatchNormalization(), name="norm")(x)
        x = L.TimeDistributed(L.Flatten(), name="flatten")(x)
        return K.Model(v, L.Dense(2, name="head")(L.LSTM(5, name="lstm")(x)), name="video_cnn_lstm")

    def tf_ops_elementwise():
        # tf.keras's TFOpLambda layers for element-wise functions, a number first (3.0 - d), a
        # keyword tensor (maximum(d, e)), comparisons cast to float and tf.where.
        if hasattr(K, "ops"):
            return None
        import tensorflow as tf
        x = K.Input((4, 6), name="x")
        d = L.Dense(6, name="d")(x)
        e = L.Dense(6, name="e")(x)
        a = (3.0 - d) / 2 + (-e) ** 2
        b = tf.math.exp(tf.clip_by_value(d, -2.0, 2.0)) + tf.math.log(tf.math.abs(e) + 1.0)
        c = tf.math.sqrt(tf.math.square(d) + 1.0) * tf.math.rsqrt(tf.math.square(e) + 2.0)
        g = tf.nn.gelu(d) + tf.nn.gelu(e, approximate=True) + tf.math.erf(d) - tf.math.softplus(e)
        h = tf.nn.softmax(d, axis=1) + tf.nn.log_softmax(e) + tf.nn.sigmoid(d) * tf.math.tanh(e)
        w = tf.where(d > 0.0, d, 0.0) + tf.cast(e > 0.25, tf.float32) - tf.cast(tf.math.less_equal(d, e), "float32")
        m = tf.math.maximum(d, e) - tf.math.minimum(d, 0.5) + tf.math.squared_difference(d, e)
        f = tf.math.floordiv(d, 0.3) + tf.math.floormod(e, 0.4) + tf.math.sign(d) + tf.math.round(e * 3.0)
        return K.Model(x, [a + b, c, g, h, w, m, f], name="tf_ops_elementwise")

    def tf_ops_shapes():
        # tf.keras's shape functions, subscripts (SlicingOpLambda) and reductions.
        if hasattr(K, "ops"):
            return None
        import tensorflow as tf
        x = K.Input((4, 6), name="x")
        d = L.Dense(6, name="d")(x)
        r = tf.transpose(tf.reshape(d, [-1, 8, 3]), perm=[0, 2, 1])
        q = tf.squeeze(tf.expand_dims(d, 1), axis=1)
        j = tf.concat([d, q], axis=-1)
        st = tf.stack([d, x], axis=1)
        last = d[:, -1, :]
        mid = d[:, 1:3] + d[:, ::-1][:, :2]
        # TF 2.13 cannot write an Ellipsis to a .keras archive: the same slice, spelled out.
        first = (d[:, :, 0] if K.__version__.startswith("2.13") else d[..., 0]) + tf.reduce_mean(d, axis=-1)
        every = d[:, None, ::2]
        red = tf.reduce_sum(d, axis=1, keepdims=True) + tf.reduce_max(d, axis=[1, 2], keepdims=True) - tf.reduce_min(d, 1, True)
        mm = tf.linalg.matmul(d, x, transpose_b=True) + d @ tf.transpose(x, perm=[0, 2, 1])
        t = tf.tile(d, [1, 2, 1])
        p1, p2 = tf.split(d, 2, axis=-1)
        rep = tf.repeat(d, 2, axis=1)
        return K.Model(x, [r, j, st, last, mid, first, every, red, mm, t, p1 * p2, rep], name="tf_ops_shapes")

    def op_constant_arrays():
        # Constant arrays as op operands, broadcast against a tensor and first: Keras 3 keeps
        # them as __numpy__ objects, tf.keras as nested lists in the TFOpLambda node.
        x = K.Input((4, 3), name="x")
        row = np.array([1.0, -2.0, 0.5], dtype="float32")
        column = np.array([[0.5], [1.0], [2.0], [-1.0]], dtype="float32")
        if hasattr(K, "ops"):
            y = K.ops.multiply(K.ops.add(x, row), column)
            z = K.ops.subtract(np.array([3.0, 2.0, 1.0], dtype="float32"), y)
        else:
            import tensorflow as tf
            y = tf.math.multiply(x + [1.0, -2.0, 0.5], [[0.5], [1.0], [2.0], [-1.0]])
            z = tf.math.subtract([3.0, 2.0, 1.0], y)
        return K.Model(x, L.Dense(2, name="head")(z), name="op_constant_arrays")

    def keras_ops_elementwise():
        # Keras 3's keras.ops nodes for element-wise functions, a number first and Python operators.
        if not hasattr(K, "ops"):
            return None
        O = K.ops
        x = K.Input((4, 6), name="x")
        d = L.Dense(6, name="d")(x)
        e = L.Dense(6, name="e")(x)
        a = (3.0 - d) / 2 + (-e) ** 2
        b = O.exp(O.clip(d, -2.0, 2.0)) + O.log(O.abs(e) + 1.0)
        c = O.sqrt(O.square(d) + 1.0) * O.rsqrt(O.square(e) + 2.0)
        g = O.gelu(d) + O.gelu(e, approximate=False) + O.erf(d) - O.softplus(e)
        h = O.softmax(d, axis=1) + O.log_softmax(e) + O.sigmoid(d) * O.tanh(e) + O.relu(d) + O.silu(e)
        w = O.where(O.greater(d, 0.0), d, 0.0) + O.cast(e > 0.25, "float32") - O.cast(O.less_equal(d, e), "float32")
        m = O.maximum(d, e) - O.minimum(d, 0.5) + O.subtract(O.multiply(d, e), O.divide(d, 2.0))
        f = O.floor_divide(d, 0.3) + O.mod(e, 0.4) + O.sign(d) + O.round(e * 3.0) + O.negative(O.power(d, 2))
        return K.Model(x, [a + b, c, g, h, w, m, f], name="keras_ops_elementwise")

    def keras_ops_shapes():
        # Keras 3's shape ops, GetItem subscripts and reductions.
        if not hasattr(K, "ops"):
            return None
        O = K.ops
        x = K.Input((4, 6), name="x")
        d = L.Dense(6, name="d")(x)
        r = O.transpose(O.reshape(d, (-1, 8, 3)), axes=(0, 2, 1))
        q = O.squeeze(O.expand_dims(d, 1), axis=1)
        j = O.concatenate([d, q], axis=-1)
        st = O.stack([d, x], axis=1)
        last = d[:, -1, :]
        mid = d[:, 1:3] + d[:, 2:0:-1]
        first = d[..., 0] + O.mean(d, axis=-1)
        every = d[:, None, ::2]
        red = O.sum(d, axis=1, keepdims=True) + O.max(d, axis=(1, 2), keepdims=True) - O.min(d, axis=1, keepdims=True)
        mm = O.matmul(d, O.transpose(x, axes=(0, 2, 1))) + d @ O.transpose(x, axes=(0, 2, 1))
        t = O.tile(d, (1, 2, 1))
        p1, p2 = O.split(d, 2, axis=-1)
        rep = O.repeat(d, 2, axis=1)
        return K.Model(x, [r, j, st, last, mid, first, every, red, mm, t, p1 * p2, rep], name="keras_ops_shapes")

    def rnn_cells():
        # RNN around each cell class, stacked cells (a list and StackedRNNCells), states returned.
        x = K.Input((6, 3), name="x")
        a = L.RNN(L.LSTMCell(4), return_sequences=True, name="lstm_cell_rnn")(x)
        b = L.RNN(L.GRUCell(3), go_backwards=True, name="gru_cell_rnn")(a)
        # Stacked cells return their states per cell: [output, h1, [h2, c2]].
        c, *states = L.RNN([L.SimpleRNNCell(3), L.LSTMCell(2)], return_sequences=True, return_state=True, name="stacked_list")(x)
        flat = [t for s in states for t in (s if isinstance(s, (list, tuple)) else [s])]
        d = L.RNN(L.StackedRNNCells([L.GRUCell(2, reset_after=False), L.SimpleRNNCell(2, activation="relu")]), name="stacked")(c)
        return K.Model(x, [b, c] + flat + [d], name="rnn_cells")

    def rnn_cells_masked():
        # Masked steps through stacked cells read backwards; Bidirectional around RNN(cell).
        x = K.Input((7, 3), name="x")
        m = L.Masking(0.0, name="mask")(x)
        s = L.RNN([L.GRUCell(3), L.LSTMCell(2)], go_backwards=True, return_sequences=True, name="stacked_backwards")(m)
        b = L.Bidirectional(L.RNN(L.LSTMCell(3), return_sequences=True), name="bidi_cell")(m)
        return K.Model(x, [s, L.GlobalAveragePooling1D(name="pool")(b)], name="rnn_cells_masked")

    def bidirectional_states():
        # Bidirectional with return_state: the merged output, then forward and backward states.
        x = K.Input((6, 3), name="x")
        y, fh, fc, bh, bc = L.Bidirectional(L.LSTM(3, return_state=True), name="bilstm")(x)
        z, gf, gb = L.Bidirectional(L.GRU(2, return_sequences=True, return_state=True), merge_mode="sum", name="bigru")(x)
        w = L.Bidirectional(L.RNN(L.SimpleRNNCell(2), return_state=True), merge_mode="ave", name="birnn")(x)
        return K.Model(x, [y, fh, fc, bh, bc, z, gf, gb] + list(w), name="bidirectional_states")

    def conv_lstm():
        # ConvLSTM1D/2D/3D: same and valid padding, strides, dilation, go_backwards, states.
        v = K.Input((4, 6, 5, 2), name="frames")
        a = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, name="same")(v)
        b, h, c = L.ConvLSTM2D(2, (2, 3), strides=(2, 1), return_state=True, go_backwards=True, name="strided")(a)
        s = K.Input((5, 7, 2), name="signal")
        d = L.ConvLSTM1D(3, 3, dilation_rate=2, return_sequences=True, activation="relu", name="dilated")(s)
        u = K.Input((3, 4, 4, 3, 1), name="volume")
        e = L.ConvLSTM3D(2, 2, use_bias=False, name="volumetric")(u)
        return K.Model([v, s, u], [b, h, c, d, e], name="conv_lstm")

    def time_distributed_nested():
        # TimeDistributed over a whole model: a frame encoder (Sequential) applied to every frame.
        v = K.Input((4, 8, 7, 1), name="frames")
        encoder = K.Sequential([K.Input((8, 7, 1)), L.Conv2D(2, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(),
                                L.Dense(3), L.Dense(3, activation="tanh")], name="frame_encoder")
        x = L.TimeDistributed(encoder, name="per_frame")(v)
        return K.Model(v, L.LSTM(2, name="lstm")(x), name="time_distributed_nested")

    def op_gather_einsum():
        # Constant-index gathers (tf.gather / ops.take) and Keras 3's einsum of two tensors.
        x = K.Input((4, 6), name="x")
        d = L.Dense(6, name="d")(x)
        e = L.Dense(6, name="e")(x)
        if hasattr(K, "ops"):
            O = K.ops
            return K.Model(x, [O.take(d, [0, 2], axis=1), O.take(e, [5, 1, 1], axis=-1), O.einsum("bij,bkj->bik", d, e),
                               O.einsum("bij,bij->bj", d, e), O.normalize(d, axis=-1)], name="op_gather_einsum")
        import tensorflow as tf
        return K.Model(x, [tf.gather(d, [0, 2], axis=1), tf.gather(e, [5, 1, 1], axis=-1), tf.math.l2_normalize(d, axis=-1)],
                       name="op_gather_einsum")

    def attention_pooled():
        # Token padding masks carried through Attention into the pooling (Keras 3 records the
        # masks' NotEqual and ConvertToTensor op nodes).
        t = K.Input((6,), name="tokens")
        e = L.Embedding(9, 4, mask_zero=True, name="embed")(t)
        y = L.Attention(use_scale=True, score_mode="concat", name="attention")([e, e], use_causal_mask=True)
        return K.Model(t, L.GlobalAveragePooling1D(name="pool")(y), name="attention_pooled")

    def attention_scores():
        # return_attention_scores: the probabilities as a second output (self-attention for the
        # multi-head layer: Keras 3's summary gives its scores the query's length for the keys too).
        q = K.Input((5, 4), name="q")
        v = K.Input((6, 4), name="v")
        y, s = L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")(q, q, return_attention_scores=True, use_causal_mask=True)
        a, w = L.Attention(use_scale=True, name="luong")([q, v], return_attention_scores=True)
        b, u = L.AdditiveAttention(name="bahdanau")([q, v, v], return_attention_scores=True)
        return K.Model([q, v], [y, s, a, w, b, u], name="attention_scores")

    sequence = {
        "attention_scores": attention_scores,
        "attention_pooled": attention_pooled,
        "op_gather_einsum": op_gather_einsum,
        "time_distributed_nested": time_distributed_nested,
        "conv_lstm": conv_lstm,
        "rnn_cells": rnn_cells,
        "rnn_cells_masked": rnn_cells_masked,
        "bidirectional_states": bidirectional_states,
        "tf_ops_elementwise": tf_ops_elementwise,
        "tf_ops_shapes": tf_ops_shapes,
        "keras_ops_elementwise": keras_ops_elementwise,
        "op_constant_arrays": op_constant_arrays,
        "keras_ops_shapes": keras_ops_shapes,
        "attention_luong": attention_luong,
        "attention_additive": attention_additive,
        "dot_products": dot_products,
        "einsum_dense": einsum_dense,
        "mha_axes": mha_axes,
        "grouped_query_attention": grouped_query_attention,
        "attention_masked": attention_masked,
        "attention_gated": attention_gated,
        "recurrent_initial_states": recurrent_initial_states,
        "bidirectional_conv_lstm": bidirectional_conv_lstm,
        "attention_mask_list": attention_mask_list,
        "masked_concat": masked_concat,
        "transformer_encoder": transformer_encoder,
        "seq2seq_attention": seq2seq_attention,
        "video_cnn_lstm": video_cnn_lstm,
    }
    return {
        **vision,
        **sequence,
        "attention_self": attention_self,
        "cropping2d": lambda: seq(K.Input((8, 7, 2)), L.Cropping2D(((1, 2), (0, 1))), L.Conv2D(2, 2), L.Cropping2D(1), L.GlobalMaxPooling2D()),
        "attention_cross": attention_cross,
        "lstm_worked_example": lambda: seq(K.Input((13, 5)), L.LSTM(10)),
        "lstm_options": lambda: seq(K.Input((6, 3)), L.LSTM(4, return_sequences=True, go_backwards=True, use_bias=False), L.LSTM(3, activation="relu", recurrent_activation="hard_sigmoid")),
        "gru_reset_after": lambda: seq(K.Input((6, 3)), L.GRU(5)),
        "gru_reset_before": lambda: seq(K.Input((6, 3)), L.GRU(5, reset_after=False, return_sequences=True)),
        "gru_go_backwards": lambda: seq(K.Input((6, 3)), L.GRU(5, go_backwards=True, return_sequences=True), L.SimpleRNN(3, go_backwards=True)),
        "masking_lstm": lambda: seq(K.Input((7, 3)), L.Masking(0.0), L.LSTM(5, return_sequences=True), L.LSTM(3)),
        "masking_bidirectional": masking_bidirectional,
        "activations": activations,
        "recurrent_states": recurrent_states,
        "embedding_masked_average": lambda: seq(K.Input((10,)), L.Embedding(30, 4, mask_zero=True), L.GlobalAveragePooling1D(), L.Dense(2)),
        "time_distributed_conv": lambda: seq(K.Input((4, 10, 3)), L.TimeDistributed(L.Conv1D(2, 3)), L.TimeDistributed(L.GlobalMaxPooling1D()), L.LSTM(2)),
        "simple_rnn": lambda: seq(K.Input((6, 3)), L.SimpleRNN(4, return_sequences=True), L.SimpleRNN(2)),
        "bidirectional_concat": bidi("concat"),
        "bidirectional_sum": bidi("sum"),
        "bidirectional_mul": bidi("mul"),
        "bidirectional_ave": bidi("ave"),
        "bidirectional_none": bidi_none,
        "time_distributed": lambda: seq(K.Input((5, 4)), L.TimeDistributed(L.Dense(3))),
        "embedding_lstm": lambda: seq(K.Input((12,)), L.Embedding(50, 8, mask_zero=True), L.LSTM(6), L.Dense(1)),
        "dense_activation_dropout": lambda: seq(K.Input((10,)), L.Dense(16, activation="relu"), L.Dropout(0.5), L.Dense(4, use_bias=False), L.Activation("softmax")),
        "shape_layers": lambda: seq(K.Input((4, 6)), L.Permute((2, 1)), L.Flatten(), L.RepeatVector(3), L.Reshape((18, 4)), L.Masking(0.0), L.Dense(2)),
        "conv1d": lambda: seq(K.Input((20, 3)), L.Conv1D(8, 3, activation="relu"), L.MaxPooling1D(2), L.Conv1D(4, 5, padding="same", strides=2), L.AveragePooling1D(2, padding="same"), L.Conv1D(4, 2, padding="causal", dilation_rate=2), L.GlobalMaxPooling1D()),
        "conv1d_global_average": lambda: seq(K.Input((16, 2)), L.Conv1D(3, 4, use_bias=False), L.GlobalAveragePooling1D(), L.Dense(1)),
        "conv2d": lambda: seq(K.Input((12, 10, 3)), L.Conv2D(6, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)), L.Conv2D(4, (2, 3), strides=(2, 1), padding="same"), L.AveragePooling2D((2, 2)), L.Flatten(), L.Dense(2)),
        "conv2d_global": lambda: seq(K.Input((9, 9, 2)), L.Conv2D(5, 3, dilation_rate=2), L.GlobalAveragePooling2D()),
        "conv2d_global_max": lambda: seq(K.Input((8, 8, 1)), L.ZeroPadding2D(((1, 2), (0, 1))), L.Conv2D(2, 2), L.GlobalMaxPooling2D()),
        "batch_norm": lambda: seq(K.Input((6,)), L.Dense(4), L.BatchNormalization(), L.Dense(1)),
        "layer_norm": lambda: seq(K.Input((5, 6)), L.LayerNormalization(), L.Dense(3)),
        "padding_cropping_upsampling": lambda: seq(K.Input((10, 3)), L.ZeroPadding1D((1, 2)), L.Cropping1D((2, 1)), L.UpSampling1D(3), L.Conv1D(2, 3)),
        "merge_concatenate": lambda: functional_merge(L.Concatenate),
        "merge_add": lambda: functional_merge(L.Add),
        "merge_subtract": lambda: functional_merge(L.Subtract),
        "merge_multiply": lambda: functional_merge(L.Multiply),
        "merge_average": lambda: functional_merge(L.Average),
        "merge_maximum": lambda: functional_merge(L.Maximum),
        "merge_minimum": lambda: functional_merge(L.Minimum),
        "multi_io": multi_io,
        "shared_layer": shared,
        "nested_sequential": nested_seq,
        "nested_functional": nested_functional,
        "frozen_and_batchnorm": frozen,
        "functional_linear": linear_functional,
        "many_layers": many_layers,
        **lambda_builders(K),
    }


def randomize_weights(model):
    """Non-trivial weights: uniform in [-0.6, 0.6]; variances positive."""
    rng = np.random.default_rng(1)
    for w in model.weights:
        shape = tuple(int(d) for d in w.shape)
        if "variance" in w.name:
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.uniform(-0.6, 0.6, shape)
        dtype = getattr(w.dtype, "name", str(w.dtype))
        w.assign(value.astype("float32") if "bfloat16" in dtype else value.astype(dtype))


def make_inputs(model, name):
    """A batch of 3 for each model input: token ids for Embedding models, with masked steps
    (all-zero time steps) for models with a Masking layer."""
    rng = np.random.default_rng(2)
    inputs = []
    for tensor in model.inputs:
        shape = (3,) + tuple(int(d) for d in tensor.shape[1:])
        if "mask" in tensor.name:
            # An attention mask: random keep/drop, the first query of the first sample masked
            # from every key.
            mask = rng.integers(0, 2, shape)
            mask[0, 0, ...] = 0
            inputs.append(mask.astype(str(getattr(tensor.dtype, "name", tensor.dtype))))
            continue
        vocabulary = next((layer.input_dim for layer in model.layers if layer.__class__.__name__ == "Embedding"), None)
        if vocabulary:
            ids = rng.integers(1, vocabulary, shape).astype("int32")
            ids[0, -4:] = 0  # padding at the end of the first sequence
            ids[1, :2] = 0   # and at the start of the second
            inputs.append(ids)
            continue
        x = rng.normal(0, 1, shape).astype("float32")
        if name.startswith("masking") or name.endswith("_masked"):
            x[0, -2:, :] = 0.0
            x[1, 1, :] = 0.0
            x[2, :3, :] = 0.0
        inputs.append(x)
    return inputs


def shape_list(shape):
    return [None if d is None else int(d) for d in shape]


def normalize_shape(s):
    """A shape (tuple) or a structure of shapes -> list, or list of lists for several outputs."""
    if isinstance(s, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in s):
        return shape_list(s)
    if isinstance(s, dict):
        s = list(s.values())
    # Nested outputs (an RNN's stacked cells return their states per cell) are listed flat, as
    # the node's tensors are numbered.
    flat = []
    for x in s:
        shape = normalize_shape(x)
        nested = isinstance(shape, list) and shape and isinstance(shape[0], list)
        flat.extend(shape if nested else [shape])
    return flat[0] if len(flat) == 1 else flat


def count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def describe(K, model, keras3):
    """What Keras says about each summary row: the oracle the Swift tests compare against."""
    if keras3 and isinstance(model, K.Model) and not isinstance(model, K.Sequential):
        rows = model._operations
    else:
        rows = model.layers
    layers = []
    for layer in rows:
        if keras3:
            nodes = layer._inbound_nodes
            outs = nodes[-1].output_tensors if nodes else []
            shape = normalize_shape([tuple(t.shape) for t in outs]) if outs else None
        else:
            try:
                shape = normalize_shape(layer.output_shape)
            except AttributeError:
                shape = "multiple"
        layers.append({
            "name": layer.name,
            "class_name": layer.__class__.__name__,
            "output_shape": shape,
            # Keras 3 op layers (NotEqual, Any) are Operations without weights.
            "params": int(layer.count_params()) if hasattr(layer, "count_params") else 0,
            "trainable_params": count(getattr(layer, "trainable_weights", [])),
            "non_trainable_params": count(getattr(layer, "non_trainable_weights", [])),
            "weights": [{"name": w.path if keras3 else w.name, "shape": shape_list(w.shape)} for w in getattr(layer, "weights", [])],
        })
    return {
        "keras_version": K.__version__ if hasattr(K, "__version__") else None,
        "model": {"name": model.name, "class_name": model.__class__.__name__},
        "layers": layers,
        "total_params": count(model.weights),
        "trainable_params": count(model.trainable_weights),
        "non_trainable_params": count(model.non_trainable_weights),
    }


def capture_summary(model, keras3):
    lines = []
    if keras3:
        model.summary(print_fn=lambda text, **_: lines.append(text))
        return "".join(lines)
    model.summary(print_fn=lambda text, **_: lines.append(text))
    return "\n".join(lines) + "\n"


def generate(flavour):
    """Fixtures of one Keras: keras2 (tf_keras 2.21), keras3 (Keras 3), or keras213 (the Keras of
    TensorFlow 2.13, whose .keras archives use the early `_layer_checkpoint_dependencies` layout;
    run with tensorflow-cpu==2.13.1 installed instead of the pinned versions)."""
    keras3 = flavour == "keras3"
    early_archive = flavour == "keras213"
    if keras3:
        import keras as K
    elif early_archive:
        import tensorflow
        K = tensorflow.keras
        K.__version__ = tensorflow.__version__
    else:
        import tf_keras as K
    out_dir = os.path.join(HERE, flavour)
    os.makedirs(out_dir, exist_ok=True)
    only = set(filter(None, os.environ.get("ONLY", "").split(",")))
    for name, build in builders(K).items():
        if only and name not in only:
            continue
        K.backend.clear_session()
        np.random.seed(0)
        K.utils.set_random_seed(0)
        model = build()
        if model is None:
            continue  # this Keras does not have the layers
        randomize_weights(model)
        relocate_lambda_code(model)
        # Keras 3 (and TF 2.13's archives) load a Lambda's Python function only with safe_mode=False.
        options = {"safe_mode": False} if lambda_layers(model) else {}
        path = os.path.join(out_dir, name + (".keras" if early_archive else ".h5"))
        try:
            model.save(path)
        except TypeError:
            # Keras 3.15 cannot write some layers to a legacy .h5 (their config holds a module):
            # such a model is a .keras archive only, as its users can save it.
            if not keras3:
                raise
            os.remove(path)
            path = os.path.join(out_dir, name + ".keras")
        if keras3:
            # The native archive of the same model (weights identical to the .h5 twin).
            model.save(os.path.join(out_dir, name + ".keras"))

        def reference(loaded):
            """The summary and outputs of the loaded model, as Keras gives them."""
            with open(os.path.join(out_dir, name + ".summary.txt"), "w") as f:
                f.write(capture_summary(loaded, keras3))
            inputs = make_inputs(loaded, name)
            return inputs, loaded.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)

        try:
            try:
                loaded = K.models.load_model(path, compile=False, **options)
            except (ValueError, TypeError):
                # Keras 3.15 cannot load legacy .h5 files whose op nodes take a number (`x + 3.0`),
                # nor Attention's from .h5 (its score_mode "dot" comes back as the function `dot`);
                # the archive of the same model it can.
                if not keras3:
                    raise
                loaded = K.models.load_model(os.path.join(out_dir, name + ".keras"), compile=False, **options)
            inputs, outputs = reference(loaded)
        except (NotImplementedError, NameError, TypeError):
            # Keras 3.15 loads a Lambda's function with the globals of its own module (so `ops`,
            # `tf`, `np` or a user's helper are undefined names: "could not infer the shape" when
            # it builds the layer, a NameError when it runs) and its defaults as a list, which
            # Python refuses ("defaults must be None or tuple"). Such a model's summary, numbers
            # and outputs are those of the model as built, before saving (the files hold it).
            if not (keras3 and options):
                raise
            print(flavour, name, "cannot be loaded back by this Keras: reference from the model as built")
            loaded = model
            inputs, outputs = reference(loaded)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        arrays = {f"input_{i}": x for i, x in enumerate(inputs)}
        arrays.update({f"output_{i}": np.asarray(y, dtype="float32") for i, y in enumerate(outputs)})
        np.savez(os.path.join(out_dir, name + ".npz"), **arrays)
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(describe(K, loaded, keras3), f, indent=1)
            f.write("\n")
        print(flavour, name, loaded.count_params())


WEIGHTS_ONLY = ["lstm_worked_example", "multi_io", "nested_sequential", "bidirectional_concat", "batch_norm", "time_distributed"]


def keras3_ops():
    """A Keras 3 model whose functional graph holds op layers (`ops.not_equal`, `ops.any`) that
    build a mask passed as `mask=`, as masking code written against Keras 3 leaves them. Keras 3.15
    cannot load such a file back ("Unknown layer: 'NotEqual'"), so the summary, numbers and outputs
    are those of the model as built, before saving."""
    import keras as K
    L = K.layers
    out_dir = os.path.join(HERE, "keras3ops")
    os.makedirs(out_dir, exist_ok=True)
    K.backend.clear_session()
    K.utils.set_random_seed(0)
    i = K.Input((6, 3), name="x")
    mask = K.ops.any(K.ops.not_equal(i, 0.0), axis=-1)
    h = L.LSTM(4, return_sequences=True, name="lstm")(i, mask=mask)
    model = K.Model(i, L.GRU(2, name="gru")(h, mask=mask), name="op_mask")
    randomize_weights(model)
    name = "op_mask"
    model.save(os.path.join(out_dir, name + ".h5"))
    with open(os.path.join(out_dir, name + ".summary.txt"), "w") as f:
        f.write(capture_summary(model, True))
    x = np.random.default_rng(3).uniform(-1, 1, (3, 6, 3)).astype("float32")
    x[0, 4:] = 0.0  # trailing padding
    x[1, 2] = 0.0   # a gap
    y = np.asarray(model(x), dtype="float32")
    np.savez(os.path.join(out_dir, name + ".npz"), input_0=x, output_0=y)
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(describe(K, model, True), f, indent=1)
        f.write("\n")
    print("keras3ops", name, model.count_params())


def keras1_layout():
    """Keras 1.2-style files made from Keras 2 fixtures, for the Keras 1 readers (no Keras 1 installs
    here): the same weights as per-gate arrays (`lstm_1_W_i`, `lstm_1_U_i`, `lstm_1_b_i`, ... in
    Keras 1's i, c, f, o listing order) under a Keras 1 config (`output_dim`, `inner_activation`),
    `keras_version` 1.2.2. Keras 2 computed the reference outputs for these very weights, so the
    fixture's .npz is the Keras 2 one."""
    import h5py
    out_dir = os.path.join(HERE, "keras1")
    os.makedirs(out_dir, exist_ok=True)
    for name, gates in [("lstm_worked_example", "ifco"), ("gru_reset_before", "zrh")]:
        source = os.path.join(HERE, "keras2", name + ".h5")
        if not os.path.exists(source):
            continue
        with h5py.File(source) as f:
            config = json.loads(f.attrs["model_config"])
            layer = config["config"]["layers"][-1]
            group = layer["config"]["name"]
            names = [n.decode() if isinstance(n, bytes) else n for n in f["model_weights"][group].attrs["weight_names"]]
            kernel, recurrent, bias = (f["model_weights"][group][n][()] for n in names)
            batch_shape = config["config"]["layers"][0]["config"].get("batch_input_shape") or config["config"]["layers"][0]["config"]["batch_shape"]
        units = kernel.shape[1] // len(gates)
        c = layer["config"]
        keras1 = {"name": group, "output_dim": units, "activation": c["activation"],
                  "inner_activation": c["recurrent_activation"], "return_sequences": c["return_sequences"],
                  "go_backwards": c["go_backwards"], "batch_input_shape": batch_shape, "init": "glorot_uniform",
                  "inner_init": "orthogonal", "W_regularizer": None, "dropout_W": 0.0, "dropout_U": 0.0, "consume_less": "cpu"}
        model_config = {"class_name": "Sequential", "config": [{"class_name": layer["class_name"], "config": keras1}]}
        listing = "icfo" if gates == "ifco" else gates  # Keras 1 listed an LSTM's gates i, c, f, o
        path = os.path.join(out_dir, name + ".h5")
        with h5py.File(path, "w") as f:
            f.attrs["keras_version"] = b"1.2.2"
            f.attrs["model_config"] = json.dumps(model_config).encode()
            weights = f.create_group("model_weights")
            weights.attrs["layer_names"] = [group.encode()]
            g = weights.create_group(group)
            names = []
            for gate in listing:
                i = gates.index(gate)
                for kind, array in (("W", kernel), ("U", recurrent), ("b", bias)):
                    dataset = f"{group}_{kind}_{gate}"
                    g.create_dataset(dataset, data=array[..., i * units:(i + 1) * units])
                    names.append(dataset.encode())
            g.attrs["weight_names"] = names
        shutil.copy(os.path.join(HERE, "keras2", name + ".npz"), os.path.join(out_dir, name + ".npz"))
        print("keras1", name)
    # Keras 1 convolutions: a Convolution1D with its 4-D kernel (length, 1, in, filters), and an
    # AtrousConvolution2D in `th` ordering, kernel (filters, in, rows, cols), on channels-first input,
    # its kernel flipped as Theano (Keras 1's backend for `th`) stored it.
    def write_keras1(name, layers, arrays, inputs_from, transpose_input=None):
        path = os.path.join(out_dir, name + ".h5")
        with h5py.File(path, "w") as f:
            f.attrs["keras_version"] = b"1.2.2"
            f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": layers}).encode()
            weights = f.create_group("model_weights")
            groups = [g for g, _ in arrays]
            weights.attrs["layer_names"] = [g.encode() for g in dict.fromkeys(groups)]
            for group in dict.fromkeys(groups):
                g = weights.create_group(group)
                names = []
                for owner, (dataset, array) in [(o, a) for o, a in arrays if o == group]:
                    g.create_dataset(dataset, data=array)
                    names.append(dataset.encode())
                g.attrs["weight_names"] = names
        data = dict(np.load(os.path.join(HERE, "keras2", inputs_from + ".npz")))
        if transpose_input:
            data["input_0"] = np.ascontiguousarray(np.transpose(data["input_0"], transpose_input))
        np.savez(os.path.join(out_dir, name + ".npz"), **data)
        print("keras1", name)

    with h5py.File(os.path.join(HERE, "keras2", "conv1d_global_average.h5")) as f:
        w = f["model_weights"]
        kernel = w["conv1d/conv1d/kernel:0"][()]
        dense_w, dense_b = w["dense/dense/kernel:0"][()], w["dense/dense/bias:0"][()]
    write_keras1("conv1d_keras1", [
        {"class_name": "Convolution1D", "config": {"name": "convolution1d_1", "nb_filter": 3, "filter_length": 4, "subsample_length": 1,
                                                  "border_mode": "valid", "activation": "linear", "bias": False, "batch_input_shape": [None, 16, 2]}},
        {"class_name": "GlobalAveragePooling1D", "config": {"name": "globalaveragepooling1d_1"}},
        {"class_name": "Dense", "config": {"name": "dense_1", "output_dim": 1, "activation": "linear", "bias": True}},
    ], [("convolution1d_1", ("convolution1d_1_W", kernel[:, None, :, :])),
        ("dense_1", ("dense_1_W", dense_w)), ("dense_1", ("dense_1_b", dense_b))], "conv1d_global_average")

    with h5py.File(os.path.join(HERE, "keras2", "conv2d_global.h5")) as f:
        w = f["model_weights"]
        kernel, bias = w["conv2d/conv2d/kernel:0"][()], w["conv2d/conv2d/bias:0"][()]
    write_keras1("conv2d_th_keras1", [
        {"class_name": "AtrousConvolution2D", "config": {"name": "atrousconvolution2d_1", "nb_filter": 5, "nb_row": 3, "nb_col": 3,
                                                        "atrous_rate": [2, 2], "subsample": [1, 1], "border_mode": "valid", "dim_ordering": "th",
                                                        "activation": "linear", "bias": True, "batch_input_shape": [None, 2, 9, 9]}},
        {"class_name": "GlobalAveragePooling2D", "config": {"name": "globalaveragepooling2d_1", "dim_ordering": "th"}},
    ], [("atrousconvolution2d_1", ("atrousconvolution2d_1_W", np.transpose(kernel[::-1, ::-1], (3, 2, 0, 1)))),
        ("atrousconvolution2d_1", ("atrousconvolution2d_1_b", bias))], "conv2d_global", transpose_input=(0, 3, 1, 2))

    # Keras 2.0-2.3 quirks on a Keras 2 fixture: weight-name prefixes that differ from the layer's
    # group (`embedding` holding `embedding_2/embeddings:0`, as a re-created layer got them) and a
    # name without the `:0` suffix.
    path = os.path.join(out_dir, "renamed_prefixes.h5")
    shutil.copy(os.path.join(HERE, "keras2", "embedding_lstm.h5"), path)
    with h5py.File(path, "r+") as f:
        weights = f["model_weights"]
        for layer in ["embedding", "lstm", "dense"]:
            group = weights[layer]
            old = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
            new = []
            for name in old:
                parts = name.split("/")
                parts = [p + "_2" if i < len(parts) - 1 else p for i, p in enumerate(parts)]
                renamed = "/".join(parts)
                if layer == "dense":
                    renamed = renamed.replace(":0", "")
                group.move(name, renamed)
                new.append(renamed.encode())
            group.attrs["weight_names"] = new
    shutil.copy(os.path.join(HERE, "keras2", "embedding_lstm.npz"), os.path.join(out_dir, "renamed_prefixes.npz"))
    print("keras1", "renamed_prefixes")

    # A Keras 2 convolution model as the Theano backend saved it: `backend` "theano" and each
    # convolution kernel flipped (Theano convolves). Read as Keras 2.0-2.3 did, it computes what
    # Keras (TensorFlow) computed for the unflipped kernels.
    for name in ["conv1d", "conv2d"]:
        source = os.path.join(HERE, "keras2", name + ".h5")
        path = os.path.join(out_dir, name + "_theano.h5")
        shutil.copy(source, path)
        with h5py.File(path, "r+") as f:
            f.attrs["backend"] = b"theano"
            config = json.loads(f.attrs["model_config"])
            for layer in config["config"]["layers"]:
                if layer["class_name"] in ("Conv1D", "Conv2D"):
                    group = f["model_weights"][layer["config"]["name"]]
                    names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
                    kernel = group[names[0]][()]
                    group[names[0]][...] = kernel[tuple([slice(None, None, -1)] * (kernel.ndim - 2))]
        shutil.copy(os.path.join(HERE, "keras2", name + ".npz"), os.path.join(out_dir, name + "_theano.npz"))
        print("keras1", name + "_theano")


def cudnn_layout():
    """CuDNNLSTM and CuDNNGRU files (Keras 2.0-2.3, tf.keras 1.x; no Keras here can write or run
    them) made from Keras 2 fixtures: the class renamed and each weight in cuDNN's layout, as
    Keras 2's `_convert_rnn_weights` converts plain weights to it: each gate's input kernel
    transposed and laid out in C order, each recurrent kernel transposed, the LSTM's bias split
    into an input and a recurrent half (the recurrent half non-zero), the GRU's two rows
    flattened. They compute what the plain twin computes, so the fixture's .npz is the twin's."""
    import h5py
    out_dir = os.path.join(HERE, "cudnn")
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(7)

    def to_cudnn(kernel, recurrent, bias, gates):
        u = recurrent.shape[0]
        k = np.hstack([g.T.reshape(g.shape, order="C") for g in np.hsplit(kernel, gates)])
        r = np.hstack([g.T for g in np.hsplit(recurrent, gates)])
        if gates == 4:
            recurrent_half = rng.uniform(-0.3, 0.3, bias.shape).astype(bias.dtype)
            b = np.concatenate([bias - recurrent_half, recurrent_half])
        else:
            b = bias.reshape(-1)
        assert k.shape == kernel.shape and r.shape == (u, gates * u)
        return k, r, b

    def cudnn_config(layer):
        c = layer["config"]
        return {"class_name": "CuDNN" + layer["class_name"], "config": {
            "name": c["name"], "trainable": True, "dtype": "float32", "units": c["units"],
            "return_sequences": c["return_sequences"], "return_state": c["return_state"],
            "go_backwards": c["go_backwards"], "stateful": c["stateful"], "time_major": False,
            "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            **({"unit_forget_bias": True} if layer["class_name"] == "LSTM" else {})}}

    for name, out in [("lstm_worked_example", "cudnn_lstm"), ("gru_reset_after", "cudnn_gru"), ("bidirectional_concat", "bidirectional_cudnn_lstm")]:
        source = os.path.join(HERE, "keras2", name + ".h5")
        path = os.path.join(out_dir, out + ".h5")
        shutil.copy(source, path)
        with h5py.File(path, "r+") as f:
            f.attrs["keras_version"] = b"2.3.1"
            f.attrs["backend"] = b"tensorflow"
            config = json.loads(f.attrs["model_config"])
            for layer in config["config"]["layers"]:
                wrapper = layer["class_name"] == "Bidirectional"
                inner = layer["config"]["layer"] if wrapper else layer
                if inner["class_name"] not in ("LSTM", "GRU"):
                    continue
                gates = 4 if inner["class_name"] == "LSTM" else 3
                converted = cudnn_config(inner)
                if wrapper:
                    layer["config"]["layer"] = converted
                else:
                    layer["class_name"], layer["config"] = converted["class_name"], converted["config"]
                group = f["model_weights"][layer["config"]["name"]]
                names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
                for start in range(0, len(names), 3):
                    k, r, b = (group[n][()] for n in names[start:start + 3])
                    for n, array in zip(names[start:start + 3], to_cudnn(k, r, b, gates)):
                        del group[n]
                        group.create_dataset(n, data=array)
            f.attrs["model_config"] = json.dumps(config).encode()
        shutil.copy(os.path.join(HERE, "keras2", name + ".npz"), os.path.join(out_dir, out + ".npz"))
        print("cudnn", out)


def windows_archives():
    """`.keras` archives as tf.keras 2.13-2.15 wrote them on Windows (no Windows here): the same
    archives as Fixtures/keras213, with each layer's variables in one root group whose name joins
    the path with backslashes (`_layer_checkpoint_dependencies\\dense`, holding `vars`), as
    `os.path.join` made them. Same weights, so the twin's summary and outputs apply."""
    import h5py
    import zipfile
    out_dir = os.path.join(HERE, "windows")
    os.makedirs(out_dir, exist_ok=True)
    for name in ["bidirectional_concat", "nested_sequential", "attention_self", "rnn_cells"]:
        source = os.path.join(HERE, "keras213", name + ".keras")
        if not os.path.exists(source):
            continue
        with zipfile.ZipFile(source) as z:
            entries = {info.filename: z.read(info.filename) for info in z.infolist()}
        with tempfile.TemporaryDirectory() as tmp:
            original = os.path.join(tmp, "original.h5")
            rewritten = os.path.join(tmp, "windows.h5")
            with open(original, "wb") as f:
                f.write(entries["model.weights.h5"])
            with h5py.File(original) as src, h5py.File(rewritten, "w") as dst:
                def copy(path, obj):
                    if isinstance(obj, h5py.Group) and path.endswith("/vars") or path == "vars":
                        inner = path[:-len("/vars")] if path != "vars" else ""
                        target = dst.require_group(inner.replace("/", "\\")) if inner else dst
                        src.copy(obj, target, name="vars")
                src.visititems(copy)
            with open(rewritten, "rb") as f:
                entries["model.weights.h5"] = f.read()
        with zipfile.ZipFile(os.path.join(out_dir, name + ".keras"), "w") as z:
            for filename, data in entries.items():
                z.writestr(filename, data)
        for suffix in [".npz", ".summary.txt"]:
            shutil.copy(os.path.join(HERE, "keras213", name + suffix), os.path.join(out_dir, name + suffix))
        print("windows", name)


def keras3_widths():
    """Keras 3's summary as it prints to a narrower console: rich narrows the table to
    `shutil.get_terminal_size()` minus 4, and that is COLUMNS when set, else the terminal's
    width, else 80 (a pipe, a CI log). For three Keras 3 fixtures: `.summary.cols60.txt`
    (COLUMNS=60) and `.summary.cols80.txt` (80, what a pipe gets)."""
    import keras as K
    for name in ["lstm_worked_example", "multi_io", "attention_cross"]:
        model = K.models.load_model(os.path.join(HERE, "keras3", name + ".keras"), compile=False)
        for columns in ["60", "80"]:
            os.environ["COLUMNS"] = columns
            with open(os.path.join(HERE, "keras3", f"{name}.summary.cols{columns}.txt"), "w") as f:
                f.write(capture_summary(model, True))
        print("widths", name)
    os.environ["COLUMNS"] = "200"


SUMMARY_OPTION_MODELS = ["frozen_and_batchnorm", "multi_io", "nested_functional", "op_arithmetic"]
NESTED_SUMMARY_MODELS = ["nested_sequential", "nested_functional", "nested_sequential_branch", "time_distributed_nested"]


def summary_options(flavour):
    """`model.summary(show_trainable=True)` and `model.summary(layer_range=[first, last])` as each
    Keras prints them, for a few fixtures of `flavour` (keras2: tf_keras from the .h5; keras3:
    Keras 3 from the .keras): `.summary.trainable.txt`, `.summary.range.txt`, and the range used
    in `.summary.range.json` (from the second row to the second-to-last)."""
    keras3 = flavour == "keras3"
    if keras3:
        import keras as K
    else:
        import tf_keras as K
    for name in SUMMARY_OPTION_MODELS:
        path = os.path.join(HERE, flavour, name + (".keras" if keras3 else ".h5"))
        model = K.models.load_model(path, compile=False)
        rows = model._operations if keras3 and not isinstance(model, K.Sequential) else model.layers
        first, last = rows[1].name, rows[-2].name
        for suffix, kwargs in [("trainable", {"show_trainable": True}), ("range", {"layer_range": [first, last]})]:
            lines = []
            model.summary(print_fn=lambda text, **_: lines.append(text), **kwargs)
            with open(os.path.join(HERE, flavour, f"{name}.summary.{suffix}.txt"), "w") as f:
                f.write("".join(lines) if keras3 else "\n".join(lines) + "\n")
        with open(os.path.join(HERE, flavour, f"{name}.summary.range.json"), "w") as f:
            json.dump({"layer_range": [first, last]}, f)
            f.write("\n")
        print("summary options", flavour, name)
    # expand_nested=True (with show_trainable, as people ask for both), on the nested fixtures.
    for name in NESTED_SUMMARY_MODELS:
        path = os.path.join(HERE, flavour, name + (".keras" if keras3 else ".h5"))
        model = K.models.load_model(path, compile=False)
        for suffix, kwargs in [("nested", {"expand_nested": True}), ("nested.trainable", {"expand_nested": True, "show_trainable": True})]:
            lines = []
            model.summary(print_fn=lambda text, **_: lines.append(text), **kwargs)
            with open(os.path.join(HERE, flavour, f"{name}.summary.{suffix}.txt"), "w") as f:
                f.write("".join(lines) if keras3 else "\n".join(lines) + "\n")
        print("summary nested", flavour, name)


def weights_only(flavour):
    """save_weights files (legacy HDF5 for Keras 2, `.weights.h5` for Keras 3) with the model's JSON
    beside them, and a .keras archive whose weights are an .npz (Keras 3)."""
    keras3 = flavour == "keras3"
    if keras3:
        import keras as K
    else:
        import tf_keras as K
    out_dir = os.path.join(HERE, "weights", flavour)
    os.makedirs(out_dir, exist_ok=True)
    for name in WEIGHTS_ONLY:
        model = K.models.load_model(os.path.join(HERE, flavour, name + ".h5"), compile=False)
        suffix = ".weights.h5" if keras3 else ".h5"
        model.save_weights(os.path.join(out_dir, name + suffix))
        with open(os.path.join(out_dir, name + ".model.json"), "w") as f:
            f.write(model.to_json())
        if keras3:
            from keras.src.saving import saving_lib  # the public save_model does not expose weights_format
            saving_lib.save_model(model, os.path.join(out_dir, name + ".npz-weights.keras"), weights_format="npz")
        print("weights", flavour, name)


DTYPE_MODELS = {
    "float16": lambda K: K.Sequential([K.Input((6, 3)), K.layers.LSTM(4, dtype="float16"), K.layers.Dense(2, dtype="float16")], name="float16"),
    "float64": lambda K: K.Sequential([K.Input((6, 3)), K.layers.GRU(4, dtype="float64"), K.layers.Dense(2, dtype="float64")], name="float64"),
    "bfloat16": lambda K: K.Sequential([K.Input((6, 3)), K.layers.Dense(5, dtype="bfloat16"), K.layers.Dense(2, dtype="bfloat16")], name="bfloat16"),
}


def dtypes(flavour):
    """Weights stored as float16, float64 and bfloat16, and a mixed_float16 model."""
    keras3 = flavour == "keras3"
    if keras3:
        import keras as K
    else:
        import tf_keras as K
    out_dir = os.path.join(HERE, "dtypes", flavour)
    os.makedirs(out_dir, exist_ok=True)
    builders_ = dict(DTYPE_MODELS)
    builders_["mixed_float16"] = None
    for name, build in builders_.items():
        K.backend.clear_session()
        try:
            if build is None:
                K.mixed_precision.set_global_policy("mixed_float16")
                model = K.Sequential([K.Input((6, 3)), K.layers.LSTM(4), K.layers.Dense(2)], name="mixed")
            else:
                model = build(K)
            randomize_weights(model)
            path = os.path.join(out_dir, name + ".h5")
            if name == "bfloat16":
                # h5py cannot write bfloat16; Keras 3's own format stores it as uint16 marked bfloat16.
                if not keras3:
                    raise ValueError("Keras 2 cannot save bfloat16 weights")
                path = os.path.join(out_dir, name + ".keras")
                model.save(path)
            else:
                model.save(path)
                if keras3:
                    model.save(os.path.join(out_dir, name + ".keras"))
            loaded = K.models.load_model(path, compile=False)
        except Exception as error:  # this Keras cannot save this dtype to HDF5
            print("skip", flavour, name, type(error).__name__, str(error)[:120])
            for leftover in (name + ".h5", name + ".keras"):
                if os.path.exists(os.path.join(out_dir, leftover)):
                    os.remove(os.path.join(out_dir, leftover))
            continue
        finally:
            K.mixed_precision.set_global_policy("float32")
        with open(os.path.join(out_dir, name + ".summary.txt"), "w") as f:
            f.write(capture_summary(loaded, keras3))
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(describe(K, loaded, keras3), f, indent=1)
            f.write("\n")
        x = make_inputs(loaded, name)[0]
        y = loaded.predict(x, verbose=0)
        np.savez(os.path.join(out_dir, name + ".npz"), input_0=x, output_0=np.asarray(y, dtype="float32"))
        print("dtype", flavour, name)


def hdf5_repacks():
    """Compressed and fixed-length-string variants of fixtures, as other tools and older Keras write them."""
    import subprocess
    import h5py
    out_dir = os.path.join(HERE, "hdf5")
    os.makedirs(out_dir, exist_ok=True)
    for flavour, name in [("keras2", "lstm_worked_example"), ("keras3", "multi_io"), ("keras2", "conv2d")]:
        src = os.path.join(HERE, flavour, name + ".h5")
        dst = os.path.join(out_dir, f"{flavour}_{name}.gzip.h5")
        subprocess.run(["h5repack", "-f", "SHUF", "-f", "GZIP=6", "-l", "CHUNK=4x4", src, dst], check=True)
    # Keras 2.0-2.2 wrote layer_names and weight_names as fixed-length byte strings.
    src = os.path.join(HERE, "keras2", "multi_io.h5")
    dst = os.path.join(out_dir, "keras2_multi_io.fixedlen.h5")
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        def fix(obj, key):
            values = [v.decode() if isinstance(v, bytes) else v for v in obj.attrs[key]]
            width = max([len(v) for v in values] + [1])
            obj.attrs[key] = np.array([v.encode() for v in values], dtype=f"S{width}")
        fix(f["model_weights"], "layer_names")
        for layer in f["model_weights"].attrs["layer_names"]:
            fix(f["model_weights"][layer.decode()], "weight_names")
        f.attrs["model_config"] = np.bytes_(f.attrs["model_config"].encode() if isinstance(f.attrs["model_config"], str) else f.attrs["model_config"])


def corrupt():
    """The bad-file corpus: damaged and hostile variants of good fixtures, with what keras-inspect
    must answer for each (`expected.json`: exit code and a part of the message, or `null` where the
    damage may land in weight data and any non-signal answer is right)."""
    import h5py
    import zipfile
    out_dir = os.path.join(HERE, "corrupt")
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    expected = {}
    src = os.path.join(HERE, "keras2", "lstm_worked_example.h5")
    good = open(src, "rb").read()

    def write(name, data, code, message):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        expected[name] = {"exit": code, "message": message}

    write("empty.h5", b"", 2, "not an HDF5 file")
    write("text.h5", b"model_config = not really\n", 2, "not an HDF5 file")
    write("hdf5_signature_only.h5", good[:8], 2, "")
    for cut in [8, 48, 96, 512, 1024, 2048, 4096, len(good) // 2, len(good) - 1]:
        write(f"truncated_at_{cut}.h5", good[:cut], 2, "")
    # Bit flips across the file: some land in metadata (an error or a failed check), some in
    # weight values (still a valid model); none may crash or hang.
    step = max(1, len(good) // 48)
    for offset in range(0, len(good), step):
        data = bytearray(good)
        data[offset] ^= 0xFF
        write(f"flipped_at_{offset}.h5", bytes(data), None, "")

    def variant(name, code, message, edit):
        dst = os.path.join(out_dir, name)
        shutil.copy(src, dst)
        with h5py.File(dst, "r+") as f:
            edit(f)
        expected[name] = {"exit": code, "message": message}

    def set_config(text):
        return lambda f: f.attrs.__setitem__("model_config", text)

    config = json.loads(h5py.File(src)["/"].attrs["model_config"])
    variant("config_not_json.h5", 2, "model config is not valid JSON", set_config("{this is not json"))
    variant("config_wrong_types.h5", 2, "has no layers list", set_config(json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": 5}})))
    bad_units = json.loads(json.dumps(config))
    bad_units["config"]["layers"][-1]["config"]["units"] = "ten"
    variant("config_units_not_integer.h5", 1, "has units that is not an integer", set_config(json.dumps(bad_units)))
    variant("config_nested_deep.h5", 2, "model config is not valid JSON", set_config('{"a": ' * 5000 + "1" + "}" * 5000))
    deep_models = {"class_name": "Sequential", "config": {"name": "m", "layers": []}}
    cursor = deep_models
    for _ in range(100):
        inner = {"class_name": "Sequential", "config": {"name": "m", "layers": []}}
        cursor["config"]["layers"].append(inner)
        cursor = inner
    variant("config_models_nested_deep.h5", 2, "nested more than 32 models deep", set_config(json.dumps(deep_models)))
    unknown = json.loads(json.dumps(config))
    unknown["config"]["layers"][-1]["class_name"] = "FancyAttention"
    variant("config_unknown_layer.h5", 0, "", set_config(json.dumps(unknown)))  # flagged and skipped, not failed
    variant("layer_names_missing_group.h5", 2, "has no group ghost",
        lambda f: f["model_weights"].attrs.__setitem__("layer_names", np.array([b"lstm", b"ghost"])))
    variant("weight_names_missing_dataset.h5", 2, "has no dataset",
        lambda f: f["model_weights"]["lstm"].attrs.__setitem__("weight_names", np.array([b"lstm/lstm_cell/kernel:0", b"lstm/lstm_cell/nothing:0"])))

    def replace_kernel(shape, **kwargs):
        def edit(f):
            group = f["model_weights"]["lstm"]
            name = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]][0]
            del group[name]
            group.create_dataset(name, shape=shape, dtype="float32", **kwargs)
        return edit

    variant("dataset_1e12_elements.h5", 1, "", replace_kernel((1000000, 1000000), chunks=(1, 1)))
    variant("dataset_zero_dimension.h5", 1, "has shape (0, 40)", replace_kernel((0, 40)))
    variant("dataset_huge_dimension.h5", 1, "", replace_kernel((2 ** 40, 40), chunks=(1, 40)))
    variant("dataset_1e9_elements_fill.h5", 1, "", replace_kernel((5, 200000000), chunks=(1, 1000)))

    # Archives: a zip bomb (1 GiB of zeros, deflated), one whose entry lies about its size,
    # a zip that is not a Keras archive.
    archive = os.path.join(HERE, "keras3", "lstm_worked_example.keras")
    with zipfile.ZipFile(archive) as z:
        config_json, metadata = z.read("config.json"), z.read("metadata.json")
    bomb = os.path.join(out_dir, "zip_bomb.keras")
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("metadata.json", metadata)
        z.writestr("config.json", config_json)
        with z.open("model.weights.h5", "w", force_zip64=True) as w:
            chunk = bytes(1 << 20)
            for _ in range(1024):
                w.write(chunk)
    expected["zip_bomb.keras"] = {"exit": 2, "message": "model.weights.h5"}
    with zipfile.ZipFile(os.path.join(out_dir, "zip_not_keras.keras"), "w") as z:
        z.writestr("hello.txt", "not a model")
    expected["zip_not_keras.keras"] = {"exit": 2, "message": "not a Keras .keras archive"}
    data = bytearray(open(archive, "rb").read())
    write("zip_truncated.keras", bytes(data[: len(data) // 2]), 2, "")
    # One flipped bit inside the stored weights entry: only the zip's CRC-32 can tell.
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("model.weights.h5")
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    flipped = bytearray(data)
    flipped[start + info.file_size // 2] ^= 0x10
    write("zip_weights_crc.keras", bytes(flipped), 2, "is corrupt: CRC-32")
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    print("corpus", len(expected), "files")

    # Input arrays for `predict` on the worked example (13 steps × 5 features).
    npy_dir = os.path.join(out_dir, "npy")
    os.makedirs(npy_dir)
    arrays = {}
    good_x = np.zeros((2, 13, 5), dtype="float32")

    def npy(name, data, code, message):
        with open(os.path.join(npy_dir, name), "wb") as f:
            f.write(data)
        arrays[name] = {"exit": code, "message": message}

    def saved(array):
        import io
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue()

    npy("bad_magic.npy", b"NUMPY" + saved(good_x)[6:], 2, "not a .npy file (bad magic)")
    npy("empty.npy", b"", 2, "not a .npy file")
    npy("header_truncated.npy", saved(good_x)[:40], 2, "truncated .npy header")
    npy("fortran_order.npy", saved(np.asfortranarray(np.zeros((2, 13, 5), dtype="float32"))), 2, "Fortran-order arrays are not supported")
    npy("big_endian.npy", saved(good_x.astype(">f4")), 2, "dtype >f4 is not supported")
    npy("complex.npy", saved(good_x.astype("complex64")), 2, "dtype <c8 is not supported")
    npy("data_short.npy", saved(good_x)[:-100], 2, "data ends early")
    npy("huge_shape.npy", saved(good_x).replace(b"(2, 13, 5)", b"(9999999999999, 13, 5)"), 2, "too large")
    npy("wrong_shape.npy", saved(np.zeros((2, 6, 3), dtype="float32")), 64, "has shape (2, 6, 3), the model expects (None, 13, 5)")
    with open(os.path.join(npy_dir, "expected.json"), "w") as f:
        json.dump(arrays, f, indent=1, sort_keys=True)
        f.write("\n")


STATS_MODELS = [("keras2", "lstm_worked_example"), ("keras3", "gru_reset_after"), ("keras2", "batch_norm"), ("keras3", "bidirectional_concat")]


# A value no fixture contains: the outside files hold it, and no output may ever show it.
OUTSIDE_MARKER = 31337.25


def outside():
    """Files that would make a reader read *other* files (`Fixtures/outside`, with
    `expected.json`): external raw storage, external links (a weight, a whole layer group), a
    virtual dataset, the same inside a `.keras` archive's weights; a filter only a plugin decodes;
    soft links that loop or dangle; a hard-link cycle; zips with duplicate and escaping entries.
    The outside files (`outside.h5`, `outside-secret.bin`) hold OUTSIDE_MARKER; the tests run
    from this folder, where relative names would find them."""
    import h5py
    import zipfile
    out_dir = os.path.join(HERE, "outside")
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    expected = {}
    src = os.path.join(HERE, "keras2", "lstm_worked_example.h5")
    kernel_path = "model_weights/lstm/lstm/lstm_cell/kernel:0"
    with h5py.File(src) as f:
        shape = f[kernel_path].shape
    secret = np.full(shape, OUTSIDE_MARKER, dtype="<f4")
    secret.tofile(os.path.join(out_dir, "outside-secret.bin"))
    with h5py.File(os.path.join(out_dir, "outside.h5"), "w") as f:
        f.create_dataset("k", data=secret)
        g = f.create_group("lstm").create_group("lstm").create_group("lstm_cell")
        with h5py.File(src) as s:
            for name in ["kernel:0", "recurrent_kernel:0", "bias:0"]:
                g.create_dataset(name, data=np.full(s["model_weights/lstm/lstm/lstm_cell/" + name].shape, OUTSIDE_MARKER, dtype="f4"))

    def variant(name, code, message, edit, base=src):
        dst = os.path.join(out_dir, name)
        shutil.copy(base, dst)
        with h5py.File(dst, "r+") as f:
            edit(f)
        expected[name] = {"exit": code, "message": message}

    def external_storage(f):
        del f[kernel_path]
        f[kernel_path.rsplit("/", 1)[0]].create_dataset("kernel:0", shape=shape, dtype="<f4", external=[("outside-secret.bin", 0, secret.nbytes)])
    variant("external_storage.h5", 2, "stores its data in another file (external storage: outside-secret.bin)", external_storage)

    def external_weight(f):
        del f[kernel_path]
        f[kernel_path] = h5py.ExternalLink("outside.h5", "/k")
    variant("external_link_weight.h5", 2, "is an external link to outside.h5:/k", external_weight)

    def external_group(f):
        del f["model_weights/lstm/lstm"]
        f["model_weights/lstm/lstm"] = h5py.ExternalLink("outside.h5", "/lstm/lstm")
    variant("external_link_group.h5", 2, "is an external link to outside.h5:/lstm/lstm", external_group)

    def virtual(f):
        del f[kernel_path]
        layout = h5py.VirtualLayout(shape=shape, dtype="f4")
        layout[...] = h5py.VirtualSource("outside.h5", "k", shape=shape)
        f[kernel_path.rsplit("/", 1)[0]].create_virtual_dataset("kernel:0", layout)
    variant("virtual_dataset.h5", 2, "is a virtual dataset", virtual)

    import hdf5plugin
    def plugin_filter(f):
        data = f[kernel_path][()]
        del f[kernel_path]
        f[kernel_path.rsplit("/", 1)[0]].create_dataset("kernel:0", data=data, chunks=data.shape, **hdf5plugin.Blosc())
    variant("plugin_filter.h5", 2, "is compressed with filter 32001", plugin_filter)

    def soft_loop(f):
        del f["model_weights/lstm"]
        f["model_weights/lstm"] = h5py.SoftLink("/model_weights/lstm")
    variant("soft_link_loop.h5", 2, "/model_weights/lstm: is a soft link that loops or leads nowhere", soft_loop)

    def soft_dangling(f):
        del f[kernel_path]
        f[kernel_path] = h5py.SoftLink("/nowhere/kernel")
    variant("soft_link_dangling.h5", 2, "is a soft link that loops or leads nowhere", soft_dangling)

    # A Keras 3 archive whose weights file links out, or whose groups form a hard-link cycle.
    archive = os.path.join(HERE, "keras3", "lstm_worked_example.keras")

    def rewrite_archive(name, code, message, edit, extra=()):
        with zipfile.ZipFile(archive) as z:
            entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "w.h5")
            with open(path, "wb") as f:
                f.write(dict(entries)["model.weights.h5"])
            if edit:
                with h5py.File(path, "r+") as f:
                    edit(f)
            data = open(path, "rb").read()
        entries = [(n, data if n == "model.weights.h5" else d) for n, d in entries] + list(extra)
        with zipfile.ZipFile(os.path.join(out_dir, name), "w") as z:
            for n, d in entries:
                z.writestr(zipfile.ZipInfo(n), d)
        expected[name] = {"exit": code, "message": message}

    def archive_link(f):
        del f["layers/lstm/cell/vars/0"]
        f["layers/lstm/cell/vars/0"] = h5py.ExternalLink("outside.h5", "/k")
    rewrite_archive("archive_external_link.keras", 2, "is an external link to outside.h5:/k", archive_link)

    def archive_cycle(f):
        f["layers/lstm/cell/loop"] = f["layers"]
        f["layers/lstm/cell/loop2"] = f["layers"]
    rewrite_archive("archive_hard_link_cycle.keras", 2, "hard-link cycle", archive_cycle)

    with zipfile.ZipFile(archive) as z:
        config = z.read("config.json")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name, which is the point
        rewrite_archive("archive_duplicate_entry.keras", 2, "has two entries named config.json", None, extra=[("config.json", config)])
    rewrite_archive("archive_escaping_entries.keras", 0, "", None,
                    extra=[("../escape.txt", b"x"), ("/etc/absolute.txt", b"x"), ("assets/../../up.txt", b"x")])

    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    print("outside", len(expected))


def weight_stats():
    """What NumPy says about stored weights (min, max, mean, population std, NaN/Inf counts, and
    per-gate slices for LSTM/GRU), for `keras-inspect weights` to agree with."""
    import h5py
    report = {}
    for flavour, name in STATS_MODELS + [("broken", "lstm_nan_weight_keras2")]:
        path = os.path.join(HERE, flavour, name + ".h5")
        entries = []
        with h5py.File(path) as f:
            weights = f["model_weights"]
            for layer in weights.attrs["layer_names"]:
                layer = layer.decode() if isinstance(layer, bytes) else layer
                group = weights[layer]
                for weight in group.attrs["weight_names"]:
                    weight = weight.decode() if isinstance(weight, bytes) else weight
                    values = group[weight][()].astype("float64")
                    def stats(v):
                        finite = v[np.isfinite(v)]
                        return {"min": float(finite.min()), "max": float(finite.max()), "mean": float(finite.mean()),
                                "std": float(finite.std()), "nan": int(np.isnan(v).sum()), "inf": int(np.isinf(v).sum())}
                    entry = {"layer": layer, "name": weight, **stats(values)}
                    gates = {"lstm": "ifco", "gru": "zrh"}.get(layer.split("_")[0]) or ({"bidirectional": "ifco"}.get(layer))
                    if gates and values.shape[-1] % len(gates) == 0:
                        units = values.shape[-1] // len(gates)
                        entry["gates"] = [{"gate": g, **stats(values[..., i * units:(i + 1) * units])} for i, g in enumerate(gates)]
                    entries.append(entry)
        report[f"{flavour}/{name}"] = entries
    with open(os.path.join(HERE, "weight_stats.json"), "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
        f.write("\n")


def broken():
    """Damaged copies of good fixtures, for the checks that must fail."""
    import h5py
    out_dir = os.path.join(HERE, "broken")
    os.makedirs(out_dir, exist_ok=True)
    def edit_lstm(flavour, name, edit):
        """A copy of the worked example with its LSTM's weights edited: edit(group, weight_names)."""
        dst = os.path.join(out_dir, name)
        shutil.copy(os.path.join(HERE, flavour, "lstm_worked_example.h5"), dst)
        with h5py.File(dst, "r+") as f:
            group = f["model_weights"]["lstm"]
            edit(group, [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]])

    def wrong_kernel(group, names):
        del group[names[0]]
        group.create_dataset(names[0], data=np.zeros((6, 40), dtype="float32"))

    def change_value(index, delta):
        def edit(group, names):
            data = group[names[index[0]]][()]
            data[index[1:]] += delta
            group[names[index[0]]][...] = data
        return edit

    for flavour in ("keras2", "keras3"):
        edit_lstm(flavour, f"lstm_wrong_kernel_shape_{flavour}.h5", wrong_kernel)
    # A valid model that differs from the worked example in one value of one tensor (for diff).
    edit_lstm("keras2", "lstm_one_weight_changed_keras2.h5", change_value((1, 2, 7), 0.25))

    def nan_and_inf(group, names):
        change_value((2, 3), np.nan)(group, names)
        change_value((2, 7), np.inf)(group, names)

    edit_lstm("keras2", "lstm_nan_weight_keras2.h5", nan_and_inf)
    unsupported_layer()
    # .keras archives with entries missing or broken.
    import zipfile
    src = os.path.join(HERE, "keras3", "lstm_worked_example.keras")
    with zipfile.ZipFile(src) as z:
        config, metadata = z.read("config.json"), z.read("metadata.json")
    with zipfile.ZipFile(os.path.join(out_dir, "keras_missing_weights.keras"), "w") as z:
        z.writestr("metadata.json", metadata)
        z.writestr("config.json", config)
    with zipfile.ZipFile(os.path.join(out_dir, "keras_bad_config.keras"), "w") as z:
        z.writestr("metadata.json", metadata)
        z.writestr("config.json", b'{"class_name": "Sequential", "config": ')
    with h5py.File(os.path.join(out_dir, "not_keras.h5"), "w") as f:
        f.create_dataset("x", data=np.arange(4, dtype="float32"))
        f.attrs["note"] = "an HDF5 file with no Keras model in it"
    with open(os.path.join(out_dir, "text_file.h5"), "w") as f:
        f.write("this is not an HDF5 file\n")


def unsupported_layer():
    """A model with a layer the native runtime cannot run (a stateful LSTM: its state outlives a
    call), and an input for it."""
    import keras as K3
    out_dir = os.path.join(HERE, "broken")
    K3.backend.clear_session()
    model = K3.Sequential([K3.Input(batch_shape=(1, 4, 6)), K3.layers.LSTM(3, stateful=True, name="stateful"), K3.layers.Dense(1)])
    model.save(os.path.join(out_dir, "unsupported_layer_keras3.h5"))
    np.save(os.path.join(out_dir, "unsupported_layer_input.npy"), np.ones((1, 4, 6), dtype="float32"))


def hdf5_variety():
    """HDF5 features the reader must handle, written by h5py: dtypes, string kinds, filters."""
    import h5py
    out_dir = os.path.join(HERE, "hdf5")
    os.makedirs(out_dir, exist_ok=True)
    values = np.arange(-6, 6, dtype="float64").reshape(3, 4) / 4
    with h5py.File(os.path.join(out_dir, "variety.h5"), "w") as f:
        f.create_dataset("float16", data=values.astype("float16"))
        f.create_dataset("float32", data=values.astype("float32"))
        f.create_dataset("float64", data=values)
        f.create_dataset("int32", data=np.arange(12, dtype="int32").reshape(3, 4))
        f.create_dataset("uint8", data=np.arange(12, dtype="uint8"))
        # bfloat16 as Keras 3 stores it: the top 16 bits of float32, as uint16, marked by an attribute.
        bf = f.create_dataset("bfloat16", data=(values.astype("float32").view("uint32") >> 16).astype("uint16"))
        bf.attrs["dtype"] = "bfloat16"
        f.create_dataset("gzip_shuffle", data=np.tile(values.astype("float32"), (50, 1)), chunks=(10, 4), compression="gzip", shuffle=True)
        f.attrs["fixed_ascii"] = np.array([b"dense_1", b"lstm_12"], dtype="S12")
        f.attrs["fixed_scalar"] = np.bytes_(b"keras")
        f.attrs["vlen_utf8"] = "modèle ✓"
        f.attrs["vlen_list"] = ["a", "bb", "ccc"]
        f.attrs["int_scalar"] = np.int64(42)
        f.attrs["float_list"] = np.array([0.5, 1.5])


def hdf5_storage():
    """The storage layouts float32 data comes in, in a file with a user block (so the data's file
    offsets are not libhdf5's addresses): contiguous little- and big-endian, compact, chunked,
    never written (fill value), and a larger contiguous one."""
    import h5py
    out_dir = os.path.join(HERE, "hdf5")
    values = (np.arange(-6, 6, dtype="float32").reshape(3, 4) / 4)
    with h5py.File(os.path.join(out_dir, "storage.h5"), "w", userblock_size=512) as f:
        f.create_dataset("contiguous", data=values)
        f.create_dataset("big_endian", data=values.astype(">f4"))
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        compact = h5py.h5d.create(f.id, b"compact", h5py.h5t.IEEE_F32LE, h5py.h5s.create_simple((3, 4)), dcpl=dcpl)
        compact.write(h5py.h5s.ALL, h5py.h5s.ALL, values)
        f.create_dataset("chunked", data=values, chunks=(1, 4))
        f.create_dataset("unwritten", shape=(3, 4), dtype="float32", fillvalue=1.5)
        # 256 KiB: i / 1024 is exact in float32 for every i here.
        f.create_dataset("large", data=np.arange(65536, dtype="float32").reshape(64, 1024) / 1024)


if __name__ == "__main__":
    what = sys.argv[1:] or ["keras2", "keras3", "keras1", "cudnn", "windows", "outside", "widths", "summary-options", "keras3ops", "broken", "hdf5", "weights", "dtypes", "repacks", "corrupt", "stats"]
    for flavour in what:
        if flavour == "stats":
            weight_stats()
        elif flavour == "corrupt":
            corrupt()
        elif flavour == "keras1":
            keras1_layout()
        elif flavour == "keras3ops":
            keras3_ops()
        elif flavour == "weights":
            weights_only("keras2")
            weights_only("keras3")
        elif flavour == "dtypes":
            dtypes("keras2")
            dtypes("keras3")
        elif flavour == "repacks":
            hdf5_repacks()
        elif flavour == "hdf5":
            hdf5_variety()
            hdf5_storage()
        elif flavour == "broken":
            broken()
        elif flavour == "unsupported":
            unsupported_layer()
        elif flavour == "cudnn":
            cudnn_layout()
        elif flavour == "windows":
            windows_archives()
        elif flavour == "outside":
            outside()
        elif flavour == "widths":
            keras3_widths()
        elif flavour == "summary-options":
            summary_options("keras2")
            summary_options("keras3")
        else:
            generate(flavour)
