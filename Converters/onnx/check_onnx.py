"""Checks an ONNX file MoeKit wrote: onnx.checker (full check), then ONNX Runtime against a Chainer fixture.

Usage: check_onnx.py --model M.onnx --fixture DIR [--atol 1e-4] [--chainer-report-only] [--expect-int8] [--save DIR]

Runs the model in ONNX Runtime (CPU) on every batch of ``DIR/fixture.json`` and compares each output with the one
Chainer computed. Prints one line per output; exit 1 (one line naming the output) when any exceeds ``atol``
or is not comparable (a NaN, a shape mismatch).
``--chainer-report-only`` prints the differences without failing (a quantized model is compared elsewhere).
``--expect-int8`` also checks that every Conv / ConvTranspose / Gemm weight is DequantizeLinear of an INT8
initializer with a per-output-channel FLOAT scale (axis 0; 1 for ConvTranspose) and zero points 0.
``--save DIR`` writes ONNX Runtime's outputs as ``DIR/<output>_b<batch>.npy``.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "chainer"))
from compare_outputs import max_abs_difference, within  # noqa: E402


def check_int8(model):
    """Returns an error message, or None when every weight is int8 per output channel through DequantizeLinear."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    dq = {n.output[0]: n for n in g.node if n.op_type == "DequantizeLinear"}
    count = 0
    for n in g.node:
        if n.op_type not in ("Conv", "ConvTranspose", "Gemm"):
            continue
        w = n.input[1]
        if w not in dq:
            return "node %s (%s): weight %s is not produced by DequantizeLinear" % (n.name, n.op_type, w)
        d = dq[w]
        x, scale, zero = (inits.get(i) for i in d.input)
        if x is None or x.data_type != onnx.TensorProto.INT8:
            return "node %s: x of %s is not an INT8 initializer" % (d.name, w)
        axis = next((a.i for a in d.attribute if a.name == "axis"), 1)
        want = 1 if n.op_type == "ConvTranspose" else 0
        s = numpy_helper.to_array(scale)
        if axis != want or s.shape != (x.dims[want],) or scale.data_type != onnx.TensorProto.FLOAT:
            return "node %s: axis %d, scale shape %s; expected axis %d with %d FLOAT scales" % (d.name, axis, s.shape, want, x.dims[want])
        if zero is None or zero.data_type != onnx.TensorProto.INT8 or np.any(numpy_helper.to_array(zero) != 0):
            return "node %s: zero point is not INT8 zeros" % d.name
        count += 1
    print("int8 weights through DequantizeLinear: %d" % count)
    return None if count else "no quantized weights"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--fixture", required=True)
    p.add_argument("--atol", type=float, default=1e-4)
    p.add_argument("--chainer-report-only", action="store_true")
    p.add_argument("--expect-int8", action="store_true")
    p.add_argument("--save")
    a = p.parse_args(argv)
    model = onnx.load(a.model)
    onnx.checker.check_model(model, full_check=True)
    if a.expect_int8:
        err = check_int8(model)
        if err:
            print("%s: %s" % (a.model, err))
            return 1
    session = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    with open(os.path.join(a.fixture, "fixture.json")) as f:
        fx = json.load(f)
    for b in fx["batches"]:
        feeds = {session.get_inputs()[i].name: np.load(os.path.join(a.fixture, x["file"])) for i, x in enumerate(b["inputs"])}
        outs = session.run(None, feeds)
        for o, y in zip(b["outputs"], outs):
            if a.save:
                os.makedirs(a.save, exist_ok=True)
                np.save(os.path.join(a.save, "%s_b%d.npy" % (o["name"], b["batch"])), y)
            d = max_abs_difference(y, np.load(os.path.join(a.fixture, o["file"])))
            print("%s batch %d: max-abs %.3g vs Chainer" % (o["name"], b["batch"], d))
            if not within(d, a.atol) and not a.chainer_report_only:
                print("%s: output %s (ONNX %s) differs from Chainer by %.3g > %g" % (a.model, o["name"], names, d, a.atol))
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
