"""Runs an ONNX model in ONNX Runtime (CPU) on .npy inputs: the ``onnxruntime`` runtime of ``moe verify``.

Usage: run_onnxruntime.py --model M.onnx --out DIR [--expose NAME ...] [--expose-all] NAME=X.npy [NAME=X.npy ...]

Writes each output as ``DIR/<k>.npy`` and ``DIR/manifest.json`` listing ``{name, file, shape}`` in order: first the
graph outputs, then the exposed intermediate values; the manifest also records the model file ORT loaded and its
SHA-256 (``model``, ``model_sha256``). Without ``--expose``/``--expose-all`` ORT loads the file itself, by its path. ``--expose`` marks named intermediate values as extra
outputs, ``--expose-all`` marks every node output (what ``moe verify --layerwise`` compares). Errors: one line on
stderr, exit 1.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--expose", action="append", default=[])
    p.add_argument("--expose-all", action="store_true")
    p.add_argument("inputs", nargs="+")
    a = p.parse_args(argv)
    try:
        model = onnx.load(a.model)
        graph_outputs = [o.name for o in model.graph.output]
        wanted = list(a.expose)
        if a.expose_all:
            wanted += [o for n in model.graph.node for o in n.output if o]
        extra = [w for w in dict.fromkeys(wanted) if w not in graph_outputs]
        produced = {o for n in model.graph.node for o in n.output}
        missing = [w for w in extra if w not in produced]
        if missing:
            raise ValueError("no node produces %s" % ", ".join(missing))
        for w in extra:
            model.graph.output.append(onnx.helper.make_tensor_value_info(w, onnx.TensorProto.FLOAT, None))
        with open(a.model, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        source = model.SerializeToString() if extra else a.model
        session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
        feeds = {}
        for spec in a.inputs:
            name, _, file = spec.partition("=")
            feeds[name] = np.load(file).astype(np.float32)
        names = graph_outputs + extra
        outs = session.run(names, feeds)
        os.makedirs(a.out, exist_ok=True)
        listed = []
        for i, (name, y) in enumerate(zip(names, outs)):
            np.save(os.path.join(a.out, "%d.npy" % i), np.asarray(y, dtype=np.float32))
            listed.append({"name": name, "file": "%d.npy" % i, "shape": list(y.shape)})
        with open(os.path.join(a.out, "manifest.json"), "w") as f:
            json.dump({"runtime": "onnxruntime %s" % ort.__version__, "outputs": listed,
                       "model": os.path.abspath(a.model), "model_sha256": digest}, f)
    except Exception as e:
        print("run_onnxruntime: %s: %s" % (a.model, str(e).splitlines()[0] if str(e) else type(e).__name__), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
