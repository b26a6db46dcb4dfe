"""Runs a Chainer checkpoint of a zoo architecture on .npy inputs: the ``chainer`` runtime of ``moe verify``.

Usage: run_chainer.py --checkpoint F.npz|F.h5 --model "srresnet-generator C=64 B=16 U=3 n=162" --out DIR
                      [--prefix P] [--bn-eps E] [--perturb KEY=DELTA] IN0.npy [IN1.npy ...]

``--model`` is the description MoeKit prints for a zoo model (architecture, then NAME=VALUE hyper-parameters).
Inputs are given in the order of the architecture's forward arguments; outputs are written as ``DIR/0.npy``,
``DIR/1.npy``, … in the order the forward returns them, and ``DIR/manifest.json`` lists their names and shapes.
``--perturb`` adds DELTA to the first element of parameter KEY (relative to the model root) after loading: fault
injection, so a test can prove that a verification catches a wrong weight. Errors: one line on stderr, exit 1.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chainer  # noqa: E402

import moe_zoo  # noqa: E402

#: Names in MoeKit's model descriptions that differ from the Python hyper-parameter names.
ALIASES = {"S": "size"}


def parse_model(text):
    """``"acgan-discriminator widths=32,64 S=32 tags=34"`` → (arch, {hyper-parameters})."""
    words = text.split()
    if not words or words[0] not in moe_zoo.ARCHITECTURES:
        raise ValueError("unknown architecture in %r; known: %s" % (text, ", ".join(moe_zoo.ARCHITECTURES)))
    arch = moe_zoo.ARCHITECTURES[words[0]]
    parsers = {h.name: h.parse for h in arch.hyper}
    hyper = {}
    for w in words[1:]:
        name, _, value = w.partition("=")
        name = ALIASES.get(name, name)
        if name not in parsers:
            raise ValueError("%s: unknown hyper-parameter %r" % (words[0], name))
        hyper[name] = parsers[name](value)
    return words[0], hyper


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--prefix", default="")
    p.add_argument("--bn-eps", type=float, default=None)
    p.add_argument("--perturb", action="append", default=[])
    p.add_argument("inputs", nargs="+")
    a = p.parse_args(argv)
    try:
        name, hyper = parse_model(a.model)
        model = moe_zoo.build(name, **hyper)
        if os.path.splitext(a.checkpoint)[1].lower() in (".h5", ".hdf5"):
            import h5py  # load_hdf5 has no path argument: deserialize the prefix's group
            with h5py.File(a.checkpoint, "r") as f:
                group = f[a.prefix.strip("/")] if a.prefix.strip("/") else f
                chainer.serializers.HDF5Deserializer(group).load(model)
        else:
            chainer.serializers.load_npz(a.checkpoint, model, path=a.prefix)
        if a.bn_eps is not None:
            for link in model.links():
                if isinstance(link, chainer.links.BatchNormalization):
                    link.eps = a.bn_eps
        params = dict(model.namedparams())
        for spec in a.perturb:
            key, _, delta = spec.rpartition("=")
            param = params.get("/" + key.strip("/"))
            if param is None:
                raise ValueError("--perturb: no parameter %r in %s" % (key, name))
            param.array.ravel()[0] += np.float32(delta)
        xs = [np.load(f).astype(np.float32) for f in a.inputs]
        with chainer.using_config("train", False), chainer.no_backprop_mode():
            ys = model(*xs)
        if not isinstance(ys, tuple):
            ys = (ys,)
        os.makedirs(a.out, exist_ok=True)
        names = moe_zoo.ARCHITECTURES[name].outputs
        listed = []
        for i, y in enumerate(ys):
            np.save(os.path.join(a.out, "%d.npy" % i), np.asarray(y.array, dtype=np.float32))
            listed.append({"name": names[i] if i < len(names) else str(i), "file": "%d.npy" % i, "shape": list(y.shape)})
        with open(os.path.join(a.out, "manifest.json"), "w") as f:
            json.dump({"runtime": "chainer %s" % chainer.__version__, "outputs": listed}, f)
    except Exception as e:  # one line for the caller, whatever failed
        print("run_chainer: %s: %s" % (a.checkpoint, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
