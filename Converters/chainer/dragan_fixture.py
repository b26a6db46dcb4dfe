# Fixture for the training-step parity test: Chainer-initialized G and D, random batches, and Chainer's result.
"""Writes G.npz and D.npz (Chainer's default initializers), batches.npz (K iterations of data and randomness)
and reference.npz (dragan_reference.py's trainer snapshot after K iterations).

    python dragan_fixture.py OUT_DIR [--gen-type srresnet-generator|dcgan-generator] [--gen-arch C,B,U,n | C,n]
        [--dis-widths 16,32] [--tags T] [--batch N] [--iterations K] [--gradients] [--float64] [--inputs-only]

The images are 16·2^U square for srresnet-generator, 64 square for dcgan-generator.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chainer  # noqa: E402
import moe_zoo  # noqa: E402
from dragan_reference import build_generator  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--gen-type", default="srresnet-generator", choices=("srresnet-generator", "dcgan-generator"))
    ap.add_argument("--gen-arch", default="16,2,1,162", help="C,B,U,n (srresnet-generator) or C,n (dcgan-generator)")
    ap.add_argument("--dis-widths", default="16,32")
    ap.add_argument("--tags", type=int, default=34)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--iterations", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gradients", action="store_true", help="write gradients.npz (both losses' gradients at the initial "
                    "weights) instead of reference.npz")
    ap.add_argument("--float64", action="store_true", help="the reference computed in float64")
    ap.add_argument("--inputs-only", action="store_true", help="write G.npz, D.npz and batches.npz only (the caller runs "
                    "dragan_reference.py itself, e.g. with --pieces)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    np.random.seed(args.seed)
    gen = build_generator(args.gen_type, args.gen_arch)
    size, n = gen.output_size, gen.n
    if n != 128 + args.tags:
        raise SystemExit("--gen-arch %s: the input length n must be 128 noise values + --tags %d = %d" % (args.gen_arch, args.tags, 128 + args.tags))
    dis = moe_zoo.ACGANDiscriminator(widths=tuple(int(v) for v in args.dis_widths.split(",")), size=size, tags=args.tags)
    chainer.serializers.save_npz(os.path.join(args.out, "G.npz"), gen)
    chainer.serializers.save_npz(os.path.join(args.out, "D.npz"), dis)
    rng = np.random.default_rng(args.seed + 1)
    N, T = args.batch, args.tags
    batches = {}
    for k in range(args.iterations):
        batches["real_%d" % k] = rng.uniform(-1, 1, (N, 3, size, size)).astype(np.float32)
        batches["tags_%d" % k] = (rng.uniform(size=(N, T)) < 0.3).astype(np.float32)
        for z in ("zd", "zg"):
            noise = rng.standard_normal((N, n - T)).astype(np.float32)
            tags = np.where(rng.uniform(size=(N, T)) < 0.3, 1, -1).astype(np.float32)
            batches["%s_%d" % (z, k)] = np.concatenate([noise, tags], axis=1)
        batches["u_%d" % k] = rng.uniform(size=(N, 3, size, size)).astype(np.float32)
    np.savez(os.path.join(args.out, "batches.npz"), **batches)
    if args.inputs_only:
        return
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([sys.executable, os.path.join(here, "dragan_reference.py"), "--gen", os.path.join(args.out, "G.npz"),
                    "--dis", os.path.join(args.out, "D.npz"), "--batches", os.path.join(args.out, "batches.npz"),
                    "--iterations", str(args.iterations), "--out", os.path.join(args.out, "reference.npz"),
                    *(["--gradients", os.path.join(args.out, "gradients.npz")] if args.gradients else []),
                    *(["--float64"] if args.float64 else []),
                    "--gen-type", args.gen_type, "--gen-arch", args.gen_arch, "--dis-widths", args.dis_widths, "--size", str(size), "--tags", str(T),
                    "--lambda-adv", str(float(T))], check=True)


if __name__ == "__main__":
    main()
