"""Loads a checkpoint MoeKit wrote back into the fixture's Chainer reference model and compares outputs.

Usage: check_roundtrip.py --fixture DIR --checkpoint FILE.npz|FILE.h5 [--atol 1e-6]

The model is built from ``DIR/fixture.json`` (architecture and hyper-parameters), the checkpoint is loaded
with ``chainer.serializers.load_npz`` or ``load_hdf5`` (strict: every key the model serializes must be
present), and the model's test-mode outputs on the fixture's inputs must equal the fixture's recorded
Chainer outputs within ``atol`` (a NaN or a shape mismatch is never within). Exit 0 on success, 1 with one line naming the worst output otherwise.
"""
import argparse
import json
import os
import sys

import chainer
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moe_zoo  # noqa: E402
from compare_outputs import max_abs_difference, within  # noqa: E402
from make_fixture import run_test_mode  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fixture", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--atol", type=float, default=1e-6)
    a = p.parse_args(argv)
    with open(os.path.join(a.fixture, "fixture.json")) as f:
        fx = json.load(f)
    hyper = {k: (tuple(v) if isinstance(v, list) else v) for k, v in fx["hyper"].items()}
    model = moe_zoo.build(fx["arch"], **hyper)
    if a.checkpoint.endswith(".npz"):
        chainer.serializers.load_npz(a.checkpoint, model)
    else:
        chainer.serializers.load_hdf5(a.checkpoint, model)
    worst = (0.0, None)
    for b in fx["batches"]:
        inputs = [np.load(os.path.join(a.fixture, i["file"])) for i in b["inputs"]]
        outs = run_test_mode(model, *inputs, chunk=1)
        outs = outs if isinstance(outs, tuple) else (outs,)
        for o, y in zip(b["outputs"], outs):
            d = max_abs_difference(y, np.load(os.path.join(a.fixture, o["file"])))
            if d >= worst[0]:
                worst = (d, "%s batch %d" % (o["name"], b["batch"]))
    if not within(worst[0], a.atol):
        print("%s: %s differs from Chainer's original output by %.3g > %g" % (a.checkpoint, worst[1], worst[0], a.atol))
        return 1
    print("%s: loads into %s, max-abs %.3g" % (a.checkpoint, fx["arch"], worst[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
