"""DRAGAN + ACGAN training of MoeKit-generated PyTorch modules under torchrun (DistributedDataParallel, gloo on CPU).

    moe convert gen.npz -o run/gen/model.py;  moe convert dis.npz -o run/dis/model.py
    torchrun --nproc_per_node 2 Converters/torch/train_ddp.py --gen run/gen/model.py --dis run/dis/model.py \\
        --data DATA.npz --batch 8 --iterations 100 --out run/ [--interval 50] [--seed 0]

The loss is ``moe train``'s (Converters/chainer/dragan_reference.py): per iteration, with real images x in [-1, 1]
(DATA.npz ``images`` uint8 N×3×S×S / 127.5 − 1), their tags t ∈ {0, 1} (``tags`` > 0) and generator inputs z of 128
N(0, 1) noise values then ±1 tags (each on with probability 0.25):
  D step: fake = G(z_d) (train mode, no gradient to G); x_p = x + 0.5·std(x)·u, u ~ U[0, 1);
          L_D = λ_adv·[mean softplus(−D_adv(x)) + mean softplus(D_adv(fake))] + sigmoid_CE(D_cls(x), t)
                + λ_gp·mean((‖∂ΣD_adv(x_p)/∂x_p‖₂ − 1)²)  (double backprop); Adam on D.
  G step: fake = G(z_g); L_G = λ_adv·mean softplus(−D_adv(fake)) + sigmoid_CE(D_cls(fake), tags of z_g); Adam on G.
Adam is Chainer's (alpha 2e-4, beta1 0.5, beta2 0.999, eps 1e-8 added to √v before the bias correction).
Each rank takes its own slice of every global batch (``--batch`` per rank); DDP averages the gradients, so all ranks
hold the same weights after every step (BN running statistics are averaged over the ranks after each step; checked
with ``--check-sync``). Every ``--interval`` iterations and at the end
rank 0 writes ``OUT/gen_iter_K.safetensors`` and ``OUT/dis_iter_K.safetensors`` (state_dicts MoeKit imports:
``moe run OUT/gen_iter_K.safetensors``) and appends the losses to ``OUT/log.jsonl``.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import need_torch  # noqa: E402,F401

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

from run_torch import load_module  # noqa: E402

NOISE_LENGTH = 128
TAG_ON_PROBABILITY = 0.25


class ChainerAdam(torch.optim.Optimizer):
    """Chainer's Adam update: p −= alpha·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + eps)."""

    def __init__(self, params, alpha=2e-4, beta1=0.5, beta2=0.999, eps=1e-8):
        super().__init__(params, dict(alpha=alpha, beta1=beta1, beta2=beta2, eps=eps))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                state["t"] += 1
                t, m, v, g = state["t"], state["m"], state["v"], p.grad
                m.add_((1 - group["beta1"]) * (g - m))
                v.add_((1 - group["beta2"]) * (g * g - v))
                lr = group["alpha"] * (1 - group["beta2"] ** t) ** 0.5 / (1 - group["beta1"] ** t)
                p.sub_(lr * m / (v.sqrt() + group["eps"]))


def sample_z(rng, batch, n):
    z = rng.standard_normal((batch, n)).astype(np.float32)
    z[:, NOISE_LENGTH:] = np.where(rng.random((batch, n - NOISE_LENGTH)) < TAG_ON_PROBABILITY, 1.0, -1.0)
    return torch.from_numpy(z)


def discriminator_loss(gen, dis, real, tags, zd, u, lambda_adv, lambda_gp):
    with torch.no_grad():
        fake = gen(zd)
    adv_real, cls_real = dis(real)
    adv_fake, _ = dis(fake)
    x_p = (real + 0.5 * real.std(unbiased=False) * u).detach().requires_grad_(True)
    adv_p, _ = dis(x_p)
    g, = torch.autograd.grad(adv_p.sum(), x_p, create_graph=True)
    norm = torch.sqrt((g * g).sum(dim=(1, 2, 3)))
    gp = lambda_gp * ((norm - 1) ** 2).mean()
    l_adv = F.softplus(-adv_real).mean() + F.softplus(adv_fake).mean()
    l_cls = F.binary_cross_entropy_with_logits(cls_real, tags)
    return lambda_adv * l_adv + l_cls + gp, {"adv_d": l_adv.item(), "cls_d": l_cls.item(), "gp": gp.item()}


def generator_loss(gen, dis, zg, lambda_adv):
    adv, cls = dis(gen(zg))
    tags = (zg[:, NOISE_LENGTH:] > 0).float()
    l_adv = F.softplus(-adv).mean()
    l_cls = F.binary_cross_entropy_with_logits(cls, tags)
    return lambda_adv * l_adv + l_cls, {"adv_g": l_adv.item(), "cls_g": l_cls.item()}


def average_buffers(module, world):
    """BatchNorm running statistics averaged over the ranks (each rank saw its own slice of the batch)."""
    with torch.no_grad():
        for b in module.buffers():
            if b.is_floating_point():
                dist.all_reduce(b)
                b.div_(world)


def disagreeing(module):
    """Names of the parameters and buffers in which some rank differs from rank 0 (the same list on every rank)."""
    bad = []
    for name, t in module.state_dict().items():
        ref = t.detach().clone()
        dist.broadcast(ref, 0)
        flag = torch.tensor([0 if torch.equal(ref, t.detach()) else 1])
        dist.all_reduce(flag)
        if flag.item():
            bad.append(name)
    return bad


def save_snapshot(out, k, gen, dis):
    for name, m in (("gen", gen), ("dis", dis)):
        path = os.path.join(out, "%s_iter_%d.safetensors" % (name, k))
        state = {key: v.detach().contiguous() for key, v in m.state_dict().items()}
        save_file(state, path + ".tmp", metadata={"format": "pt", "iteration": str(k)})
        os.replace(path + ".tmp", path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gen", required=True)
    ap.add_argument("--dis", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--batch", type=int, default=8, help="samples per rank and iteration")
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--interval", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lambda-adv", type=float, default=34.0)
    ap.add_argument("--lambda-gp", type=float, default=0.5)
    ap.add_argument("--alpha", type=float, default=2e-4)
    ap.add_argument("--check-sync", action="store_true", help="verify after every step that all ranks agree")
    a = ap.parse_args(argv)

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    gen, dis = load_module(a.gen), load_module(a.dis)
    gen.train()
    dis.train()
    gen_ddp, dis_ddp = DDP(gen), DDP(dis)
    opt_g, opt_d = ChainerAdam(gen.parameters(), alpha=a.alpha), ChainerAdam(dis.parameters(), alpha=a.alpha)
    data = np.load(a.data)
    images, all_tags = data["images"], data["tags"]
    n_in = gen.fc.in_features
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)  # the same on every rank: global batches agree, each rank takes its slice
    for k in range(1, a.iterations + 1):
        order = rng.permutation(len(images))[: a.batch * world]
        mine = np.sort(order[rank * a.batch:(rank + 1) * a.batch])
        zd_all, zg_all = sample_z(rng, a.batch * world, n_in), sample_z(rng, a.batch * world, n_in)
        u_all = torch.from_numpy(rng.random((a.batch * world,) + images.shape[1:]).astype(np.float32))
        part = slice(rank * a.batch, (rank + 1) * a.batch)
        real = torch.from_numpy(images[mine].astype(np.float32) / 127.5 - 1)
        tags = torch.from_numpy((all_tags[mine] > 0).astype(np.float32))
        loss_d, logs = discriminator_loss(gen_ddp, dis_ddp, real, tags, zd_all[part], u_all[part], a.lambda_adv, a.lambda_gp)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g, logs_g = generator_loss(gen_ddp, dis_ddp, zg_all[part], a.lambda_adv)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        average_buffers(gen, world)
        average_buffers(dis, world)
        logs.update(logs_g, iteration=k, loss_d=loss_d.item(), loss_g=loss_g.item(), rank=rank)
        if a.check_sync:
            bad = disagreeing(gen) + disagreeing(dis)
            logs["in_sync"] = not bad
            if bad:
                raise SystemExit("train_ddp: rank %d: after iteration %d the ranks differ in %s" % (rank, k, ", ".join(bad[:6])))
        if rank == 0:
            with open(os.path.join(a.out, "log.jsonl"), "a") as f:
                f.write(json.dumps(logs) + "\n")
            if k == a.iterations or (a.interval and k % a.interval == 0):
                save_snapshot(a.out, k, gen, dis)
        dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
