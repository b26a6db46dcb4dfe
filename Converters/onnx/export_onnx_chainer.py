"""Exports a zoo checkpoint written by make_fixture.py to ONNX with onnx-chainer 1.6 (real Chainer → ONNX).

Usage: export_onnx_chainer.py --fixture DIR --batch B --out M.onnx [--opset 11]

Loads ``DIR/fixture.json``'s checkpoint into the reference model of Converters/chainer/moe_zoo.py and traces it in
test mode on that fixture's batch-B inputs. onnx-chainer's models have a fixed batch size and list the parameters
as graph inputs too. Prints one JSON line (opset, op types, file).

onnx-chainer 1.6 imports ``onnx.mapping``, which recent onnx removed; a small stand-in holding the two tables it
uses (built from ``onnx.helper``) is registered first.
"""
import argparse
import importlib
import json
import os
import sys
import types

import numpy as np
import onnx
import onnx.helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "chainer"))


def install_onnx_mapping():
    """Registers ``onnx.mapping`` (NP_TYPE_TO_TENSOR_TYPE, STORAGE_TENSOR_TYPE_TO_FIELD) if onnx lacks it."""
    try:
        importlib.import_module("onnx.mapping")
        return
    except ImportError:
        pass
    m = types.ModuleType("onnx.mapping")
    np_to_tensor = {}
    for t in onnx.TensorProto.DataType.values():
        try:
            dt = onnx.helper.tensor_dtype_to_np_dtype(t)
        except (KeyError, ValueError, TypeError):
            continue
        np_to_tensor.setdefault(np.dtype(dt), t)
    m.NP_TYPE_TO_TENSOR_TYPE = np_to_tensor
    m.TENSOR_TYPE_TO_NP_TYPE = {v: k for k, v in np_to_tensor.items()}
    storage = {}
    for t in onnx.TensorProto.DataType.values():
        try:
            storage[t] = onnx.helper.tensor_dtype_to_field(t)
        except (KeyError, ValueError, TypeError):
            continue
    m.STORAGE_TENSOR_TYPE_TO_FIELD = storage
    sys.modules["onnx.mapping"] = m
    onnx.mapping = m


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fixture", required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--opset", type=int, default=11)
    a = p.parse_args(argv)
    install_onnx_mapping()
    import chainer
    import onnx_chainer
    import moe_zoo

    with open(os.path.join(a.fixture, "fixture.json")) as f:
        fx = json.load(f)
    spec = moe_zoo.ARCHITECTURES[fx["arch"]]
    hyper = {h.name: h.parse(",".join(map(str, v)) if isinstance(v, list) else v)
             for h in spec.hyper for v in [fx["hyper"][h.name]]}
    model = moe_zoo.build(fx["arch"], **hyper)
    chainer.serializers.load_npz(os.path.join(a.fixture, fx["checkpoint"]), model, path=fx["prefix"])
    batch = next((b for b in fx["batches"] if b["batch"] == a.batch), None)
    if batch is None:
        print("%s: no batch %d in fixture.json" % (a.fixture, a.batch), file=sys.stderr)
        return 2
    inputs = [np.load(os.path.join(a.fixture, x["file"])) for x in batch["inputs"]]
    with chainer.using_config("train", False), chainer.no_backprop_mode():
        onnx_chainer.export(model, inputs[0] if len(inputs) == 1 else tuple(inputs), filename=a.out,
                            opset_version=a.opset, input_names=list(spec.inputs), output_names=list(spec.outputs))
    m = onnx.load(a.out)
    print(json.dumps({"file": a.out, "opset": m.opset_import[0].version,
                      "ops": sorted({n.op_type for n in m.graph.node}),
                      "inputs": len(m.graph.input), "initializers": len(m.graph.initializer)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
