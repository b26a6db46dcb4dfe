# Writes a seeded zoo checkpoint (optionally with trainer-snapshot quirks) plus Chainer's outputs for given inputs.
"""Fixture maker: a Chainer checkpoint, inputs and Chainer's outputs, described by ``fixture.json``.

Architectures (hyper-parameter options, CONTRACTS.md §3):

* ``srresnet-generator``  ``--C --B --U --n``   input ``z``, output ``out``
* ``acgan-discriminator`` ``--widths --size --tags``   input ``x``, outputs ``adv``, ``cls``
* ``dcgan-generator``     ``--C --n``   input ``z``, output ``out``
* ``tagger-cnn``          ``--widths --size --tags``   input ``x``, outputs ``logits``, ``features``

For each ``--batch b`` it writes ``{input}_b{b}.npy`` and ``{output}_b{b}.npy``
(generator inputs: 128 N(0, 1) noise values then +-1 tags; discriminator
and tagger inputs: U(-1, 1) images). The model is made non-trivial but well-scaled first
(see ``fixture_calibrate``); outputs are computed in test mode, ``--chunk``
samples per forward (``--chunk 0``: a whole batch at once).

Checkpoint quirks:

* ``--format npz|h5`` and ``--prefix P`` (NPZ key prefix / HDF5 group path);
* ``--snapshot``: a real ``chainer.training.Trainer`` snapshot (NPZ) holding
  this model and a small companion of the other role under
  ``updater/model:gen/`` and ``updater/model:dis/``, plus Adam state
  (``updater/optimizer:gen/...``), iterator, triggers and LogReport state;
* ``--lazy KEY`` (repeatable): that parameter is saved uninitialised;
* ``--dtype float64|float16``: every float array is stored in that dtype; for
  float16 the outputs come from the weights rounded to float16.

Example::

    Converters/py Converters/chainer/make_fixture.py --arch acgan-discriminator \\
        --widths 16,32 --size 32 --tags 5 --batch 1 --batch 4 --out /tmp/fx

Prints one JSON line summarising what was written (also saved as ``fixture.json``).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import chainer

import checkpoint_io
import fixture_calibrate
import moe_zoo
import trainer_snapshot

#: Number of leading N(0, 1) noise entries in a generator input; the rest are +-1 tags.
NOISE_LENGTH = 128
#: Probability that a sampled tag is on (+1).
TAG_ON_PROBABILITY = 0.25
#: Samples in the calibration forward, by role (the discriminator's 1-wide head needs more).
DEFAULT_CALIB_BATCH = {"generator": 2, "discriminator": 8, "classifier": 8}
#: Version of the fixture.json layout.
FIXTURE_SCHEMA = 1


def sample_z(rng, batch, n):
    """Generator inputs (batch, n) float32: N(0, 1) noise then +-1 tags."""
    z = np.empty((batch, n), dtype=np.float32)
    noise = min(n, NOISE_LENGTH)
    z[:, :noise] = rng.standard_normal((batch, noise))
    z[:, noise:] = np.where(rng.random_sample((batch, n - noise)) < TAG_ON_PROBABILITY, 1.0, -1.0)
    return z


def sample_inputs(model, role, rng, batch):
    """The model's inputs for ``batch`` samples, as a tuple in forward order."""
    if role == "generator":
        return (sample_z(rng, batch, model.n),)
    size = model.size
    return (rng.uniform(-1.0, 1.0, (batch, 3, size, size)).astype(np.float32),)


def build_model(arch, seed, **hyper):
    """Builds a zoo model with Chainer's default initialisers seeded by ``seed``."""
    np.random.seed(seed)
    return moe_zoo.build(arch, **hyper)


def run_test_mode(model, *inputs, chunk=0):
    """Chainer's test-mode output(s) as float32 numpy (a tuple when the model returns one).

    With ``chunk`` > 0 the batch is run ``chunk`` samples at a time. Test-mode
    BatchNorm makes samples independent, so only float rounding changes (a few
    1e-6 at paper size), while Chainer's CPU im2col convolution runs several
    times faster and in a fraction of the memory (the 9x9 ``out`` layer's
    column buffer is ~340 MB per sample at 128x128).
    """
    total = len(inputs[0])
    step = chunk if chunk > 0 else total
    parts = []
    with chainer.using_config("train", False), chainer.no_backprop_mode():
        for i in range(0, total, step):
            y = model(*(x[i:i + step] for x in inputs))
            parts.append(tuple(v.array for v in y) if isinstance(y, tuple) else (y.array,))
    outs = tuple(np.concatenate(p).astype(np.float32, copy=False) for p in zip(*parts))
    return outs if len(outs) > 1 else outs[0]


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


def write_batch(out_dir, spec, inputs, outputs, batch):
    """Saves one batch's inputs and outputs as ``NAME_b{batch}.npy``; returns its fixture.json entry."""
    entry = {"batch": batch, "inputs": [], "outputs": []}
    for kind, names, arrays in (("inputs", spec.inputs, inputs), ("outputs", spec.outputs, outputs)):
        for name, array in zip(names, arrays):
            file = "%s_b%d.npy" % (name, batch)
            np.save(os.path.join(out_dir, file), array)
            item = {"name": name, "file": file, "shape": list(array.shape)}
            if kind == "outputs":
                item["stats"] = output_stats(array)
            entry[kind].append(item)
    return entry


def symbolic(entries):
    """``[{name, shape}]`` with the batch extent replaced by the symbol ``N``."""
    return [{"name": e["name"], "shape": ["N"] + e["shape"][1:]} for e in entries]


def prepare_checkpoint(model, role, dtype, lazy, trainer, optimizers):
    """Applies the dtype and lazy quirks to the live objects that will be saved."""
    if dtype != "float32":
        if trainer is None:
            checkpoint_io.cast_floats(model, dtype)
        else:
            for opt in optimizers.values():
                checkpoint_io.cast_floats(opt.target, dtype, opt)
    own_optimizer = optimizers.get(trainer_snapshot.role_key(role)) if trainer else None
    for key in lazy:
        checkpoint_io.make_lazy(model, key, own_optimizer)


def make_fixture(arch, out_dir, batches=(1, 16), seed=0, prefix="", fmt="npz", dtype="float32",
                 snapshot=False, lazy=(), calib_batch=None, out_std=0.5, chunk=1, **hyper):
    """Writes the checkpoint, inputs, outputs and ``fixture.json`` into ``out_dir``; returns the summary."""
    start = time.time()
    spec = moe_zoo.ARCHITECTURES[arch]
    if dtype not in checkpoint_io.CHECKPOINT_DTYPES:
        raise ValueError("unknown dtype %r" % dtype)
    if snapshot and (prefix or fmt != "npz"):
        raise ValueError("--snapshot writes an NPZ trainer snapshot; its prefix is fixed")
    if snapshot and spec.role not in ("generator", "discriminator"):
        raise ValueError("--snapshot needs a GAN model (generator or discriminator), not a %s" % spec.role)
    os.makedirs(out_dir, exist_ok=True)
    model = build_model(arch, seed, **hyper)
    checkpoint_io.check_params(model, lazy)
    trainer, optimizers = (trainer_snapshot.train_one_iteration(model, spec.role)
                           if snapshot else (None, {}))
    if snapshot:
        prefix = trainer_snapshot.snapshot_prefix(spec.role)

    rng = np.random.RandomState(seed)
    calib = sample_inputs(model, spec.role, rng, calib_batch or DEFAULT_CALIB_BATCH[spec.role])
    achieved = fixture_calibrate.calibrate(model, rng, calib, spec.role, spec.last, out_std)
    if dtype == "float16":
        checkpoint_io.round_to_float16(model)

    entries = []
    for b in batches:
        inputs = sample_inputs(model, spec.role, rng, b)
        outputs = run_test_mode(model, *inputs, chunk=chunk)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        entries.append(write_batch(out_dir, spec, inputs, outputs, b))

    hyper_used = moe_zoo.hyper_parameters(model)
    prepare_checkpoint(model, spec.role, dtype, lazy, trainer, optimizers)
    name = "snapshot_iter_1.npz" if snapshot else "model." + fmt
    checkpoint_io.save_checkpoint(trainer if snapshot else model,
                                  os.path.join(out_dir, name), "" if snapshot else prefix, fmt)

    summary = {
        "schema": FIXTURE_SCHEMA, "arch": arch, "role": spec.role, "hyper": hyper_used,
        "seed": seed, "dir": os.path.abspath(out_dir), "checkpoint": name, "format": fmt,
        "prefix": prefix, "dtype": dtype, "snapshot": bool(snapshot), "lazy": list(lazy),
        "bn_eps": moe_zoo.CHAINER_BN_EPS, "chunk": chunk, "calibration": achieved,
        "inputs": symbolic(entries[0]["inputs"]) if entries else [],
        "outputs": symbolic(entries[0]["outputs"]) if entries else [],
        "batches": entries, "seconds": round(time.time() - start, 3),
    }
    with open(os.path.join(out_dir, "fixture.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return summary


def hyper_options():
    """``{option name: (HyperParameter, [architectures using it])}`` over the zoo."""
    options = {}
    for arch, spec in sorted(moe_zoo.ARCHITECTURES.items()):
        for h in spec.hyper:
            options.setdefault(h.name, (h, []))[1].append(arch)
    return options


def parse_args(argv):
    """Parses the command line; returns (args, hyper-parameter dict for the chosen arch)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[2:]))
    p.add_argument("--arch", default="srresnet-generator", choices=sorted(moe_zoo.ARCHITECTURES))
    options = hyper_options()
    for name, (h, archs) in options.items():
        p.add_argument("--" + name, type=h.parse, default=None,
                       help="%s (%s)" % (h.help, ", ".join(archs)))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, action="append",
                   help="batch size of an input/output pair; repeatable (default: 1 and 16)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--prefix", default="", help="key prefix / HDF5 group, e.g. updater/model:main/")
    p.add_argument("--format", default="npz", choices=["npz", "h5"])
    p.add_argument("--dtype", default="float32", choices=checkpoint_io.CHECKPOINT_DTYPES,
                   help="dtype of the checkpoint's float arrays")
    p.add_argument("--snapshot", action="store_true",
                   help="write a trainer snapshot (gen + dis + Adam state) instead of a model")
    p.add_argument("--lazy", action="append", default=[], metavar="KEY",
                   help="save parameter KEY (e.g. fc/W) uninitialised; repeatable")
    p.add_argument("--calib-batch", type=int, default=None,
                   help="batch used for calibration (default: 2 generators, 8 discriminator)")
    p.add_argument("--out-std", type=float, default=0.5, help="target pre-tanh std (generators)")
    p.add_argument("--chunk", type=int, default=1,
                   help="samples per forward when writing outputs (0: whole batch at once)")
    args = p.parse_args(argv)
    if args.prefix and not args.prefix.endswith("/"):
        p.error("--prefix must end with '/'")
    if args.snapshot and (args.prefix or args.format != "npz"):
        p.error("--snapshot writes an NPZ trainer snapshot (Chainer cannot write one to HDF5); "
                "its model prefixes are fixed, so --prefix and --format h5 do not apply")
    spec = moe_zoo.ARCHITECTURES[args.arch]
    known = {h.name for h in spec.hyper}
    stray = [n for n in options if getattr(args, n) is not None and n not in known]
    if stray:
        p.error("--%s does not apply to %s" % (", --".join(stray), args.arch))
    hyper = {n: getattr(args, n) for n in known if getattr(args, n) is not None}
    return args, hyper


def main(argv=None):
    """Command-line entry point."""
    args, hyper = parse_args(argv)
    try:
        summary = make_fixture(args.arch, args.out, args.batch or [1, 16], args.seed, args.prefix,
                               args.format, args.dtype, args.snapshot, args.lazy, args.calib_batch,
                               args.out_std, args.chunk, **hyper)
    except (KeyError, ValueError) as e:
        print("make_fixture: %s" % (e.args[0] if e.args else e), file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
