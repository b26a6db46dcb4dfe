"""K training steps of a generated tagger module in PyTorch on one batch, written for compare_snapshots.py.

    tagger_step.py --model tagger/model.py --x X.npy --t T.npy [--steps K] --out OUT.npz

The module is ``moe convert TAGGER.npz -o tagger/model.py``'s (weights from the model.safetensors beside it), in
train() mode. Each step: logits = module(x)[OUTPUTS.index("logits")]; loss = BCEWithLogitsLoss (mean over N×T); Chainer's
Adam (train_ddp.ChainerAdam) with ``moe train-tagger``'s alpha 1e-3, beta1 0.9, beta2 0.999. OUT.npz has the keys of
Converters/chainer/tagger_step.py: ``model/KEY`` (Chainer keys), ``optimizer/KEY/m``, ``optimizer/KEY/v``, ``loss/k``.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import need_torch  # noqa: E402,F401

import numpy as np  # noqa: E402
import torch  # noqa: E402

from dragan_step import chainer_key  # noqa: E402
from run_torch import load_module  # noqa: E402
from train_ddp import ChainerAdam  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--x", required=True)
    ap.add_argument("--t", required=True)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--alpha", type=float, default=1e-3)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.999)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    model = load_module(a.model)
    model.train()
    if "logits" not in model.OUTPUTS:
        raise SystemExit("%s: the module has no 'logits' output (outputs %s); expected a tagger" % (a.model, list(model.OUTPUTS)))
    which = model.OUTPUTS.index("logits")
    x = torch.from_numpy(np.load(a.x).astype(np.float32))
    t = torch.from_numpy(np.load(a.t).astype(np.float32))
    opt = ChainerAdam(model.parameters(), alpha=a.alpha, beta1=a.beta1, beta2=a.beta2)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="mean")
    out = {}
    for k in range(a.steps):
        outputs = model(x)
        logits = outputs[which] if isinstance(outputs, tuple) else outputs
        loss = loss_fn(logits, t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out["loss/%d" % k] = np.float64(loss.item())
    for name, p in model.named_parameters():
        key = chainer_key(model, name)
        out["model/" + key] = p.detach().numpy()
        state = opt.state[p]
        out["optimizer/%s/m" % key], out["optimizer/%s/v" % key] = state["m"].numpy(), state["v"].numpy()
    np.savez(a.out, **out)


if __name__ == "__main__":
    main()
