"""Keras's own view of the real-world files in ../shared/wild-models and ../shared/peer-dl4j
(never copied into the project): for each file Keras can load, its summary rows and its outputs
on a deterministic input. Writes Fixtures/wild/expected.json and Fixtures/wild/<case>.npz.

    .venv-fixtures/bin/python Fixtures/wild.py      # tf_keras 2.21 first, then Keras 3.15

Files neither Keras loads are recorded with the loader's error, so the tests can tell "Keras
cannot load this" from "we have not looked".
"""
import json
import os
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared")
OUT = os.path.join(HERE, "wild")


def cases():
    for folder in ("wild-models", "peer-dl4j"):
        root = os.path.join(SHARED, folder)
        if not os.path.isdir(root):
            continue
        for entry in sorted(os.listdir(root)):
            for name in sorted(os.listdir(os.path.join(root, entry))):
                if name.endswith((".h5", ".hdf5")) and name != "inputs_and_outputs.h5":
                    yield folder, entry, name, os.path.join(root, entry, name)


def reason(error, path):
    """The first line of an error, without machine paths or object addresses."""
    import re
    text = str(error).splitlines()[0][:300] if str(error) else ""
    text = text.replace(os.path.abspath(path), "<file>").replace(path, "<file>")
    text = re.sub(r"<[^<>]* object at 0x[0-9a-f]+>", "<file>", text)
    return f"{type(error).__name__}: {text}"


def theano_backend(path):
    import h5py
    with h5py.File(path, "r") as f:
        backend = f.attrs.get("backend")
    backend = backend.decode() if isinstance(backend, bytes) else backend
    return backend == "theano"


def shape_of(tensor_shape):
    return [None if d is None else int(d) for d in tensor_shape]


def embedding_vocabularies(model):
    """Input layer name -> input_dim of an Embedding that reads it directly."""
    config = model.get_config()
    layers = config.get("layers", [])
    names = list(getattr(model, "input_names", []) or [t.name.split(":")[0] for t in model.inputs])
    found = {}
    for i, layer in enumerate(layers):
        if layer.get("class_name") != "Embedding":
            continue
        dim = layer["config"].get("input_dim")
        text = json.dumps(layer.get("inbound_nodes", []))
        sources = [n for n in names if f'"{n}"' in text]
        if not sources and (i == 0 or (i == 1 and layers[0].get("class_name") == "InputLayer")):
            sources = names[:1]  # Sequential: the first layer reads the only input
        for n in sources:
            found[n] = int(dim)
    return names, found


def inputs_for(model):
    """Batch 2; unknown sizes 4; token ids for inputs that feed an Embedding, else smooth values."""
    rng = np.random.default_rng(7)
    names, vocabularies = embedding_vocabularies(model)
    arrays = []
    for i, tensor in enumerate(model.inputs):
        dims = [2] + [4 if d is None else int(d) for d in shape_of(tensor.shape)[1:]]
        vocabulary = vocabularies.get(names[i]) if i < len(names) else None
        if vocabulary:
            arrays.append(rng.integers(0, vocabulary, size=dims).astype("float32"))
        else:
            arrays.append(rng.uniform(-1, 1, size=dims).astype("float32"))
    return arrays


def rows(model):
    out = []
    for layer in model.layers:
        try:
            shape = layer.output_shape if hasattr(layer, "output_shape") else layer.output.shape
        except Exception:
            shape = None
        if isinstance(shape, tuple):
            shape = shape_of(shape)
        elif isinstance(shape, list):
            shape = [shape_of(s) for s in shape]
        elif shape is not None:
            try:
                shape = shape_of(shape)
            except Exception:
                shape = str(shape)
        out.append({"name": layer.name, "class_name": layer.__class__.__name__,
                    "output_shape": shape, "params": int(layer.count_params())})
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    for folder, entry, name, path in cases():
        key = entry if folder == "wild-models" else f"{folder}__{entry}"
        record = {"file": f"{folder}/{entry}/{name}"}
        for loader in ("tf_keras", "keras"):
            try:
                module = __import__(loader)
                model = module.models.load_model(path, compile=False)
            except Exception as error:  # noqa: BLE001 - we record why Keras cannot load it
                record[f"{loader}_error"] = reason(error, path)
                continue
            record["loader"] = f"{loader} {module.__version__}"
            if theano_backend(path):
                # Keras 2.0-2.3 flipped the kernels of Theano-saved convolutions on loading
                # (`convert_kernel`: every axis but the last two reversed); tf_keras no longer does.
                # Flipping here gives the outputs the Theano-era Keras computed.
                for layer in model.layers:
                    if layer.__class__.__name__ in ("Conv1D", "Conv2D", "Conv3D"):
                        w = layer.get_weights()
                        w[0] = np.copy(w[0][tuple([slice(None, None, -1)] * (w[0].ndim - 2) + [slice(None), slice(None)])])
                        layer.set_weights(w)
                        record["theano_kernels_flipped"] = True
            record["layers"] = rows(model)
            record["total_params"] = int(model.count_params())
            try:
                xs = inputs_for(model)
                ys = model(xs if len(xs) > 1 else xs[0])
                ys = ys if isinstance(ys, (list, tuple)) else [ys]
                arrays = {f"input_{i}": x for i, x in enumerate(xs)}
                arrays.update({f"output_{i}": np.asarray(y, dtype="float32") for i, y in enumerate(ys)})
                np.savez(os.path.join(OUT, key + ".npz"), **arrays)
                record["bundle"] = key + ".npz"
            except Exception as error:  # noqa: BLE001
                record["predict_error"] = reason(error, path)
            break
        expected[key] = record
        print(key, record.get("loader", "not loadable"), record.get("predict_error", ""))
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
