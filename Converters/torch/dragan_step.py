"""K DRAGAN + ACGAN iterations of generated modules in PyTorch on given batches, saved for comparison with Chainer's.

    dragan_step.py --gen gen/model.py --dis dis/model.py --batches batches.npz [--iterations K] --out ours.npz

batches.npz is Converters/chainer/dragan_fixture.py's (data and randomness per iteration). The step is train_ddp.py's
(one process), so comparing ours.npz (parameters and BN statistics under Chainer's snapshot keys,
``updater/model:gen/…``, and Adam's moments ``updater/optimizer:gen/…/m`` and ``…/v``) with the fixture's reference.npz (compare_snapshots.py) checks that recipe against Chainer.
Prints one JSON line: ``noise``, the biases whose exact gradient is 0 (straight into a BatchNorm), for --noise.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import need_torch  # noqa: E402,F401

import numpy as np  # noqa: E402
import torch  # noqa: E402

from run_torch import load_module  # noqa: E402
from train_ddp import ChainerAdam, discriminator_loss, generator_loss  # noqa: E402

CHAINER_NAMES = {"weight": ("W", "gamma"), "bias": ("b", "beta"), "running_mean": ("avg_mean",), "running_var": ("avg_var",),
                 "num_batches_tracked": ("N",)}


def chainer_key(module, name):
    path, _, leaf = name.rpartition(".")
    bn = isinstance(module.get_submodule(path), torch.nn.modules.batchnorm._BatchNorm)
    names = CHAINER_NAMES[leaf]
    return path.replace(".", "/") + "/" + (names[1] if bn and len(names) > 1 else names[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gen", required=True)
    ap.add_argument("--dis", required=True)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--out", required=True, help="the parameters after K iterations, Chainer keys, as NPZ")
    ap.add_argument("--iterations", type=int, default=1)
    ap.add_argument("--lambda-adv", type=float, default=34.0)
    ap.add_argument("--lambda-gp", type=float, default=0.5)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    gen, dis = load_module(a.gen), load_module(a.dis)
    gen.train()
    dis.train()
    opt_g, opt_d = ChainerAdam(gen.parameters()), ChainerAdam(dis.parameters())
    data = np.load(a.batches)
    for k in range(a.iterations):
        real, tags, zd, zg, u = (torch.from_numpy(data["%s_%d" % (n, k)].astype(np.float32)) for n in ("real", "tags", "zd", "zg", "u"))
        loss_d, _ = discriminator_loss(gen, dis, real, tags, zd, u, a.lambda_adv, a.lambda_gp)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g, _ = generator_loss(gen, dis, zg, a.lambda_adv)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    out = {}
    for role, module in (("gen", gen), ("dis", dis)):
        for name, value in module.state_dict().items():
            # num_batches_tracked counts forwards; Chainer's N counts only fine-tuning forwards (0 here): not comparable.
            if not name.endswith("num_batches_tracked"):
                out["updater/model:%s/%s" % (role, chainer_key(module, name))] = value.detach().numpy()
    # Adam's moments (Chainer's snapshot keys): after one step m = (1 − β1)·g, v = (1 − β2)·g², so they check the
    # gradients themselves, which the first step's parameter change (≈ α·sign g) hardly shows.
    for role, module, opt in (("gen", gen, opt_g), ("dis", dis, opt_d)):
        for name, p in module.named_parameters():
            state = opt.state[p]
            for moment in ("m", "v"):
                out["updater/optimizer:%s/%s/%s" % (role, chainer_key(module, name), moment)] = state[moment].numpy()
    np.savez(a.out, **out)
    noise = ["%s:%s" % (role, k) for role, module in (("gen", gen), ("dis", dis)) for k in cancelled_by_batch_norm(module)]
    print(json.dumps({"noise": noise}))


def cancelled_by_batch_norm(module):
    """Chainer keys of biases whose layer output goes straight (and only) into a BatchNorm: their exact gradient is 0."""
    import inspect
    import re

    lines = [ln.strip() for ln in inspect.getsource(type(module).forward).splitlines()]
    calls = [re.match(r"(\w+) = self\.([\w\[\]\.]+)\((\w+)\)$", ln) for ln in lines]
    out = []
    for call in filter(None, calls):
        var, path = call.group(1), re.sub(r"\[(\d+)\]", r".\1", call.group(2))
        users = [c for c in filter(None, calls) if c.group(3) == var]
        others = [ln for ln in lines if re.search(r"\b%s\b" % var, ln) and not ln.startswith(var + " =")]
        layer = module.get_submodule(path)
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.ConvTranspose2d)) and layer.bias is not None \
                and len(users) == 1 and len(others) == 1 and isinstance(
                    module.get_submodule(re.sub(r"\[(\d+)\]", r".\1", users[0].group(2))), torch.nn.modules.batchnorm._BatchNorm):
            out.append(path.replace(".", "/") + "/b")
    return out

if __name__ == "__main__":
    main()
