# The tagger's training step in real Chainer: the reference `moe train-tagger`'s ClassifierTrainer must match.
"""K Adam steps of a tagger-cnn checkpoint on one batch in Chainer 7.8.1, written for compare_snapshots.py.

    python tagger_step.py MODEL.npz --widths 8,16 --size 64 --tags T --x X.npy --t T.npy [--steps K] --out OUT.npz
        [--model-out TRAINED.npz]

X.npy: images (N, 3, S, S) in [-1, 1]; T.npy: tags (N, T) in {0, 1}. Each step: logits = model(x) (features unused),
loss = F.sigmoid_cross_entropy(logits, t) (the mean over N×T of softplus(s) − s·t), then
chainer.optimizers.Adam(alpha 1e-3, beta1 0.9, beta2 0.999, eps 1e-8) — ``moe train-tagger``'s settings.
OUT.npz: ``model/KEY`` (the parameters after K steps, Chainer keys), ``optimizer/KEY/m`` and ``optimizer/KEY/v``
(Adam's moments: 0.1·g and 0.001·g² after one step, so they check the gradients themselves) and ``loss/k``.
``--model-out`` also saves the trained model alone (``chainer.serializers.save_npz``), as ``moe train-tagger -o`` does.
"""

import argparse
import os
import sys

import numpy as np

os.environ.setdefault("CHAINER_WARN_VERSION_MISMATCH", "0")
import chainer  # noqa: E402
import chainer.functions as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moe_zoo  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--widths", type=moe_zoo.int_list, required=True)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--tags", type=int, required=True)
    ap.add_argument("--x", required=True)
    ap.add_argument("--t", required=True)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--model-out")
    ap.add_argument("--alpha", type=float, default=1e-3)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.999)
    args = ap.parse_args()
    model = moe_zoo.TaggerCNN(widths=args.widths, size=args.size, tags=args.tags)
    chainer.serializers.load_npz(args.model, model)
    x, t = np.load(args.x).astype(np.float32), np.load(args.t)
    if x.shape[0] != t.shape[0] or t.shape[1] != args.tags:
        raise SystemExit("%s: tags of shape %s do not fit %d images and %d tags" % (args.t, t.shape, x.shape[0], args.tags))
    opt = chainer.optimizers.Adam(alpha=args.alpha, beta1=args.beta1, beta2=args.beta2)
    opt.setup(model)
    out = {}
    for k in range(args.steps):
        logits, _ = model(x)
        loss = F.sigmoid_cross_entropy(logits, t.astype(np.int32))
        model.cleargrads()
        loss.backward()
        opt.update()
        out["loss/%d" % k] = np.float64(loss.array)
    for name, p in model.namedparams():
        key = name[1:]
        out["model/" + key] = p.array
        state = p.update_rule.state
        out["optimizer/%s/m" % key], out["optimizer/%s/v" % key] = state["m"], state["v"]
    np.savez(args.out, **out)
    if args.model_out:
        chainer.serializers.save_npz(args.model_out, model)


if __name__ == "__main__":
    main()
