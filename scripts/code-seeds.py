"""Writes each marshalled code object of Fixtures/python/code-*.json as a file of raw bytes: seeds
for `make fuzz`, whose target also reads every input as a Lambda's marshalled function.

    python3 scripts/code-seeds.py Fixtures/python Fuzz/seeds-python
"""
import base64
import glob
import json
import os
import sys

source, target = sys.argv[1], sys.argv[2]
os.makedirs(target, exist_ok=True)
for path in sorted(glob.glob(os.path.join(source, "code-*.json"))):
    version = os.path.basename(path)[len("code-"):-len(".json")]
    with open(path) as f:
        functions = json.load(f)["functions"]
    for name, entry in sorted(functions.items()):
        with open(os.path.join(target, "%s-%s.bin" % (version, name)), "wb") as out:
            out.write(base64.b64decode(entry["base64"]))
