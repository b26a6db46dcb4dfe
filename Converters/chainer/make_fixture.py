# Writes a seeded zoo checkpoint with non-trivial BatchNorm state plus Chainer's outputs for given inputs.
"""Fixture maker: a Chainer checkpoint, inputs ``z_b{b}.npy`` and Chainer outputs ``out_b{b}.npy``.

The model is built with Chainer's default (seeded) initialisers, then made
non-trivial but well-scaled in one calibration forward pass (test mode):

* every bias gets small random values;
* every BatchNormalization gets gamma ~ U(0.5, 1.5), beta ~ N(0, 0.1), an
  integer ``N``, and running statistics near the true statistics of its input
  (``avg_mean = mean + 0.1 * N(0, 1) * std``, ``avg_var = var * U(0.5, 1.5)``),
  layer by layer, so later layers see the already-perturbed earlier ones;
* the last convolution is rescaled so the pre-tanh output has a chosen standard
  deviation (default 0.5), which keeps tanh out of saturation.

Outputs are computed in test mode one sample at a time by default (``--chunk``,
see ``run_test_mode``); ``--chunk 0`` runs each batch in a single forward.

Example::

    Converters/py Converters/chainer/make_fixture.py --arch srresnet-generator \\
        --C 64 --B 16 --U 3 --n 162 --seed 0 --batch 1 --batch 16 --out /tmp/fx \\
        --prefix updater/model:main/

Prints one JSON line summarising what was written (also saved as ``fixture.json``).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import chainer
import chainer.links as L
from chainer.serializers import DictionarySerializer, HDF5Serializer

import moe_zoo

#: Number of leading N(0, 1) noise entries in a generator input; the rest are +-1 tags.
NOISE_LENGTH = 128
#: Probability that a sampled tag is on (+1).
TAG_ON_PROBABILITY = 0.25
#: Standard deviation of the random biases given to Linear / Convolution2D links.
BIAS_STD = 0.05


def sample_z(rng, batch, n):
    """Generator inputs (batch, n) float32: N(0, 1) noise then +-1 tags."""
    z = np.empty((batch, n), dtype=np.float32)
    noise = min(n, NOISE_LENGTH)
    z[:, :noise] = rng.standard_normal((batch, noise))
    z[:, noise:] = np.where(rng.random_sample((batch, n - noise)) < TAG_ON_PROBABILITY, 1.0, -1.0)
    return z


class _Calibrator(chainer.LinkHook):
    """Link hook that perturbs each BatchNormalization around its input statistics
    just before it runs, and records the pre-tanh output of ``out_link``."""

    name = "moekit_bn_calibrator"

    def __init__(self, rng, out_link):
        self.rng = rng
        self.out_link = out_link
        self.pre_tanh = None

    def forward_preprocess(self, args):
        link = args.link
        if not isinstance(link, L.BatchNormalization):
            return
        x = args.args[0]
        x = np.asarray(getattr(x, "array", x), dtype=np.float64)
        axes = (0,) + tuple(range(2, x.ndim))
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        size = mean.shape
        rng = self.rng
        link.gamma.array[...] = rng.uniform(0.5, 1.5, size)
        link.beta.array[...] = rng.normal(0.0, 0.1, size)
        link.avg_mean[...] = mean + 0.1 * rng.standard_normal(size) * np.sqrt(var)
        link.avg_var[...] = var * rng.uniform(0.5, 1.5, size)
        link.N = int(rng.randint(100, 10000))

    def forward_postprocess(self, args):
        if args.link is self.out_link:
            self.pre_tanh = np.array(args.out.array)


def build_model(arch, C, B, U, n, seed):
    """Builds a zoo model with Chainer's default initialisers seeded by ``seed``."""
    np.random.seed(seed)
    return moe_zoo.ARCHITECTURES[arch](C=C, B=B, U=U, n=n)


def calibrate(model, rng, calib_batch, out_std):
    """Randomises biases and BN state (see module doc); returns the final pre-tanh std."""
    for link in model.links():
        if isinstance(link, (L.Linear, L.Convolution2D)) and link.b is not None:
            link.b.array[...] = rng.normal(0.0, BIAS_STD, link.b.shape)
    z = sample_z(rng, calib_batch, model.n)
    hook = _Calibrator(rng, model.out)
    with chainer.using_config("train", False), chainer.no_backprop_mode(), hook:
        model(z)
    scale = out_std / float(hook.pre_tanh.std())
    model.out.W.array *= scale
    model.out.b.array *= scale
    return float(hook.pre_tanh.std() * scale)


def save_checkpoint(model, path, prefix, fmt):
    """Saves like ``chainer.serializers.save_npz`` / ``save_hdf5``, under ``prefix`` if given."""
    if fmt == "npz":
        if prefix:
            serializer = DictionarySerializer(path=prefix)
            serializer.save(model)
            np.savez_compressed(path, **serializer.target)
        else:
            chainer.serializers.save_npz(path, model)
    else:
        import h5py

        with h5py.File(path, "w") as f:
            group = f.require_group(prefix.strip("/")) if prefix else f
            HDF5Serializer(group).save(model)


def run_test_mode(model, z, chunk=0):
    """Chainer's output in test mode, as float32 numpy.

    With ``chunk`` > 0 the batch is run ``chunk`` samples at a time. Test-mode
    BatchNorm makes samples independent, so only float rounding changes (a few
    1e-6 at paper size), while Chainer's CPU im2col convolution runs several
    times faster and in a fraction of the memory (the 9x9 ``out`` layer's
    column buffer is ~340 MB per sample at 128x128).
    """
    step = chunk if chunk > 0 else len(z)
    with chainer.using_config("train", False), chainer.no_backprop_mode():
        parts = [model(z[i:i + step]).array for i in range(0, len(z), step)]
    return np.concatenate(parts).astype(np.float32, copy=False)


def output_stats(y):
    """Summary statistics of an output array (for spotting saturation)."""
    a = np.abs(y)
    return {
        "mean": float(y.mean()),
        "std": float(y.std()),
        "min": float(y.min()),
        "max": float(y.max()),
        "frac_abs_gt_0_9": float((a > 0.9).mean()),
        "frac_abs_gt_0_99": float((a > 0.99).mean()),
    }


def make_fixture(arch, C, B, U, n, seed, batches, out_dir, prefix="", fmt="npz",
                 calib_batch=2, out_std=0.5, chunk=1):
    """Writes the checkpoint, inputs and outputs into ``out_dir``; returns the summary dict."""
    start = time.time()
    os.makedirs(out_dir, exist_ok=True)
    model = build_model(arch, C, B, U, n, seed)
    rng = np.random.RandomState(seed)
    pre_tanh_std = calibrate(model, rng, calib_batch, out_std)

    checkpoint = os.path.join(out_dir, "model." + ("npz" if fmt == "npz" else "h5"))
    save_checkpoint(model, checkpoint, prefix, fmt)

    outputs = []
    for b in batches:
        z = sample_z(rng, b, n)
        y = run_test_mode(model, z, chunk)
        z_path = os.path.join(out_dir, "z_b%d.npy" % b)
        y_path = os.path.join(out_dir, "out_b%d.npy" % b)
        np.save(z_path, z)
        np.save(y_path, y)
        entry = {"batch": b, "z": z_path, "z_shape": list(z.shape),
                 "out": y_path, "out_shape": list(y.shape)}
        entry.update(output_stats(y))
        outputs.append(entry)

    summary = {
        "arch": arch, "C": C, "B": B, "U": U, "n": n, "seed": seed,
        "prefix": prefix, "format": fmt, "checkpoint": checkpoint, "chunk": chunk,
        "bn_eps": moe_zoo.CHAINER_BN_EPS, "pre_tanh_std": pre_tanh_std,
        "outputs": outputs, "seconds": round(time.time() - start, 3),
    }
    with open(os.path.join(out_dir, "fixture.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return summary


def main(argv=None):
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="srresnet-generator", choices=sorted(moe_zoo.ARCHITECTURES))
    p.add_argument("--C", type=int, default=64, help="channel width")
    p.add_argument("--B", type=int, default=16, help="residual blocks")
    p.add_argument("--U", type=int, default=3, help="x2 upsamplings")
    p.add_argument("--n", type=int, default=162, help="input length (128 noise + tags)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, action="append",
                   help="batch size of an input/output pair; repeatable (default: 1 and 16)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--prefix", default="", help="key prefix, e.g. updater/model:main/")
    p.add_argument("--format", default="npz", choices=["npz", "h5"])
    p.add_argument("--calib-batch", type=int, default=2, help="batch used to calibrate BN stats")
    p.add_argument("--out-std", type=float, default=0.5, help="target pre-tanh std")
    p.add_argument("--chunk", type=int, default=1,
                   help="samples per forward when writing outputs (0: whole batch at once)")
    args = p.parse_args(argv)
    if args.prefix and not args.prefix.endswith("/"):
        p.error("--prefix must end with '/'")
    summary = make_fixture(args.arch, args.C, args.B, args.U, args.n, args.seed,
                           args.batch or [1, 16], args.out, args.prefix, args.format,
                           args.calib_batch, args.out_std, args.chunk)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
