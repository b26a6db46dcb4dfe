"""Writes a TinyUNet checkpoint, inputs and Chainer's outputs (for the traced-architecture tests).

Usage: make_unet_fixture.py --out DIR [--ch 4] [--size 16] [--seed 0] [--batch 1 --batch 4]

Writes ``DIR/model.npz`` (``chainer.serializers.save_npz``; BatchNorm statistics randomised so BN is not an
identity; the lazily-initialised ``gate`` initialised by one forward), ``DIR/x_b{B}.npy`` and ``DIR/out_b{B}.npy``
(Chainer's test-mode output).
"""
import argparse
import os
import sys

import chainer
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from tiny_unet import TinyUNet  # noqa: E402
from make_fixture import run_test_mode  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--ch", type=int, default=4)
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, action="append")
    a = p.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    np.random.seed(a.seed)
    rng = np.random.RandomState(a.seed)
    model = TinyUNet(ch=a.ch)
    run_test_mode(model, rng.standard_normal((1, 3, a.size, a.size)).astype(np.float32))  # initialises gate/W
    for _, link in model.namedlinks():
        if isinstance(link, chainer.links.BatchNormalization):
            c = link.avg_mean.shape[0]
            link.gamma.array[...] = rng.uniform(0.5, 1.5, c)
            link.beta.array[...] = rng.normal(0, 0.1, c)
            link.avg_mean[...] = rng.normal(0, 0.3, c)
            link.avg_var[...] = rng.uniform(0.3, 2.0, c)
    chainer.serializers.save_npz(os.path.join(a.out, "model.npz"), model)
    for b in a.batch or [1, 4]:
        x = rng.standard_normal((b, 3, a.size, a.size)).astype(np.float32)
        np.save(os.path.join(a.out, "x_b%d.npy" % b), x)
        np.save(os.path.join(a.out, "out_b%d.npy" % b), run_test_mode(model, x, chunk=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
