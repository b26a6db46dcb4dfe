"""Checks an ONNX file MoeKit wrote: onnx.checker (full check), then ONNX Runtime against a Chainer fixture.

Usage: check_onnx.py --model M.onnx --fixture DIR [--atol 1e-4]

Runs the model in ONNX Runtime (CPU) on every batch of ``DIR/fixture.json`` and compares each output with the one
Chainer computed. Prints one line per output; exit 1 (one line naming the output) when any exceeds ``atol``.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--fixture", required=True)
    p.add_argument("--atol", type=float, default=1e-4)
    a = p.parse_args(argv)
    model = onnx.load(a.model)
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    with open(os.path.join(a.fixture, "fixture.json")) as f:
        fx = json.load(f)
    worst = 0.0
    for b in fx["batches"]:
        feeds = {session.get_inputs()[i].name: np.load(os.path.join(a.fixture, x["file"])) for i, x in enumerate(b["inputs"])}
        outs = session.run(None, feeds)
        for o, y in zip(b["outputs"], outs):
            d = float(np.abs(y - np.load(os.path.join(a.fixture, o["file"]))).max())
            print("%s batch %d: max-abs %.3g vs Chainer" % (o["name"], b["batch"], d))
            worst = max(worst, d)
            if d > a.atol:
                print("%s: output %s (ONNX %s) differs from Chainer by %.3g > %g" % (a.model, o["name"], names, d, a.atol))
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
