"""Changes a generated module's weights in PyTorch and saves its state_dict with the safetensors package.

Usage: retrain_and_save.py --model model.py --save OUT.safetensors --out DIR [--steps K] [--seed S] NAME=X.npy ...

Loads model.py with its weights (strict), runs K Adam steps in train() mode on a made-up loss (the mean square of every
output, so every parameter and BN statistic moves), then in eval() writes the outputs for the given inputs as
``DIR/<output>.npy`` and the state_dict as OUT.safetensors (``safetensors.torch.save_file``). Prints one JSON line with
the largest weight change, to show the weights did change.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import need_torch  # noqa: E402,F401

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from run_torch import load_module  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--save", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("inputs", nargs="+")
    a = p.parse_args(argv)
    torch.manual_seed(a.seed)
    model = load_module(a.model)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    feeds = [torch.from_numpy(np.load(spec.partition("=")[2]).astype(np.float32)) for spec in a.inputs]
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(a.steps):
        opt.zero_grad()
        outs = model(*feeds)
        outs = outs if isinstance(outs, tuple) else (outs,)
        loss = sum((o ** 2).mean() for o in outs)
        loss.backward()
        opt.step()
    model.eval()
    os.makedirs(a.out, exist_ok=True)
    with torch.no_grad():
        outs = model(*feeds)
    outs = outs if isinstance(outs, tuple) else (outs,)
    for name, y in zip(type(model).OUTPUTS, outs):
        np.save(os.path.join(a.out, "%s.npy" % name), y.numpy().astype(np.float32))
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, a.save, metadata={"format": "pt"})
    changed = max(float((state[k].double() - before[k].double()).abs().max()) for k in state if state[k].numel())
    print(json.dumps({"max_weight_change": changed, "tensors": len(state)}))


if __name__ == "__main__":
    main()
