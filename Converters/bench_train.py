# Trainer benchmark: seconds per DRAGAN + ACGAN iteration (D step + G step, Adam) in MoeKit, Chainer and PyTorch, one run.
"""    python bench_train.py --moe .build/release/moe [--size 64 --C 64 --B 16 --batch 32 --iterations 3] [--json OUT]

The same model sizes and objective in each framework (Converters/chainer/dragan_reference.py defines it):
MoeKit (`moe bench-train`), real Chainer 7.8.1 (the reference updater) and, where it is installed, PyTorch on the CPU
(2 threads; the models written here with torch.nn, double backprop through torch.autograd.grad). Random data; one
warm-up iteration, then the median of the timed ones. Ratios > 1 mean MoeKit is faster.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "chainer"))


def widths_for(size):
    w, s, k = [], size, 0
    while s > 4:
        w.append(32 << k)
        s //= 2
        k += 1
    return w


def random_batch(rng, n, size, tags):
    real = rng.uniform(-1, 1, (n, 3, size, size)).astype(np.float32)
    t = (rng.uniform(size=(n, tags)) < 0.3).astype(np.float32)
    zd = rng.standard_normal((n, 128 + tags)).astype(np.float32)
    zg = rng.standard_normal((n, 128 + tags)).astype(np.float32)
    u = rng.uniform(size=(n, 3, size, size)).astype(np.float32)
    return real, t, zd, zg, u


def bench_moekit(args):
    out = subprocess.run([args.moe, "bench-train", "--size", str(args.size), "--C", str(args.C), "--B", str(args.B),
                          "--batch", str(args.batch), "--iterations", str(args.iterations), "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["seconds_per_iteration"]


def bench_chainer(args):
    import chainer
    import dragan_reference
    import moe_zoo
    U = int(np.log2(args.size // 16))
    gen = moe_zoo.SRResNetGenerator(C=args.C, B=args.B, U=U, n=128 + args.tags)
    dis = moe_zoo.ACGANDiscriminator(widths=tuple(widths_for(args.size)), size=args.size, tags=args.tags)
    rng = np.random.default_rng(0)
    ns = argparse.Namespace(alpha=2e-4, beta1=0.5, beta2=0.999, lambda_adv=float(args.tags), lambda_gp=0.5,
                            out=os.path.join("/tmp", "bench-train-chainer"))
    trainer = dragan_reference.make_trainer(gen, dis, ns, lambda: random_batch(rng, args.batch, args.size, args.tags))
    trainer.updater.update()
    times = []
    for _ in range(args.iterations):
        start = time.perf_counter()
        trainer.updater.update()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def bench_torch(args):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.set_num_threads(2)
    C, B, tags, size = args.C, args.B, args.tags, args.size
    U = int(np.log2(size // 16))

    def d2s(x):  # Chainer's depth2space (DCR)
        n, c, h, w = x.shape
        return x.view(n, 2, 2, c // 4, h, w).permute(0, 3, 4, 1, 5, 2).reshape(n, c // 4, h * 2, w * 2)

    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(C, C, 3, 1, 1), nn.BatchNorm2d(C, eps=2e-5, momentum=0.1)
            self.c2, self.b2 = nn.Conv2d(C, C, 3, 1, 1), nn.BatchNorm2d(C, eps=2e-5, momentum=0.1)

        def forward(self, x):
            return x + self.b2(self.c2(F.relu(self.b1(self.c1(x)))))

    class Gen(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.bn0 = nn.Linear(128 + tags, C * 256), nn.BatchNorm2d(C, eps=2e-5, momentum=0.1)
            self.res = nn.ModuleList([Res() for _ in range(B)])
            self.cm, self.bnm = nn.Conv2d(C, C, 3, 1, 1), nn.BatchNorm2d(C, eps=2e-5, momentum=0.1)
            self.upc = nn.ModuleList([nn.Conv2d(C, 4 * C, 3, 1, 1) for _ in range(U)])
            self.upb = nn.ModuleList([nn.BatchNorm2d(C, eps=2e-5, momentum=0.1) for _ in range(U)])
            self.out = nn.Conv2d(C, 3, 9, 1, 4)

        def forward(self, z):
            h = F.relu(self.bn0(self.fc(z).view(-1, C, 16, 16)))
            skip = h
            for r in self.res:
                h = r(h)
            h = F.relu(self.bnm(self.cm(h))) + skip
            for c, b in zip(self.upc, self.upb):
                h = F.relu(b(d2s(c(h))))
            return torch.tanh(self.out(h))

    class DRes(nn.Module):
        def __init__(self, w):
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(w, w, 3, 1, 1), nn.Conv2d(w, w, 3, 1, 1)

        def forward(self, x):
            return F.leaky_relu(self.c2(F.leaky_relu(self.c1(x), 0.2)) + x, 0.2)

    class Dis(nn.Module):
        def __init__(self):
            super().__init__()
            ws = widths_for(size)
            ins = [3] + ws[:-1]
            self.downs = nn.ModuleList([nn.Conv2d(i, w, 4, 2, 1) for i, w in zip(ins, ws)])
            self.stages = nn.ModuleList([nn.Sequential(DRes(w), DRes(w)) for w in ws])
            self.last = nn.Conv2d(ws[-1], 2 * ws[-1], 3, 2, 1)
            flat = 2 * ws[-1] * (size // 2 ** (len(ws) + 1)) ** 2
            self.adv, self.cls = nn.Linear(flat, 1), nn.Linear(flat, tags)

        def forward(self, x):
            h = x
            for d, s in zip(self.downs, self.stages):
                h = s(F.leaky_relu(d(h), 0.2))
            h = F.leaky_relu(self.last(h), 0.2).flatten(1)
            return self.adv(h), self.cls(h)

    gen, dis = Gen(), Dis()
    og = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    od = torch.optim.Adam(dis.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    rng = np.random.default_rng(0)

    def step():
        real, t, zd, zg, u = (torch.from_numpy(a) for a in random_batch(rng, args.batch, size, tags))
        with torch.no_grad():
            fake = gen(zd)
        adv_r, cls_r = dis(real)
        adv_f, _ = dis(fake)
        xp = (real + 0.5 * real.std(unbiased=False) * u).requires_grad_(True)
        adv_p, _ = dis(xp)
        g, = torch.autograd.grad(adv_p.sum(), xp, create_graph=True)
        gp = 0.5 * ((g.pow(2).sum(dim=(1, 2, 3)).sqrt() - 1) ** 2).mean()
        loss_d = tags * (F.softplus(-adv_r).mean() + F.softplus(adv_f).mean()) + F.binary_cross_entropy_with_logits(cls_r, t) + gp
        od.zero_grad()
        loss_d.backward()
        od.step()
        adv, cls = dis(gen(zg))
        loss_g = tags * F.softplus(-adv).mean() + F.binary_cross_entropy_with_logits(cls, (zg[:, 128:] > 0).float())
        og.zero_grad()
        loss_g.backward()
        og.step()

    step()
    times = []
    for _ in range(args.iterations):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), torch.__version__


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moe", required=True)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--C", type=int, default=64)
    ap.add_argument("--B", type=int, default=16)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--tags", type=int, default=34)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    result = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu, "size": args.size, "C": args.C, "B": args.B, "batch": args.batch}
    result["moekit"] = bench_moekit(args)
    result["chainer"] = bench_chainer(args)
    try:
        result["torch"], result["torch_version"] = bench_torch(args)
    except ImportError:
        result["torch"] = None
        print("bench_train: PyTorch is not installed in this Python; its column is empty "
              "(pip install the CPU wheel, e.g. /opt/wheels/torch-*cpu*.whl, to fill it)", file=sys.stderr)
    print("Trainer benchmark %s, %s: srresnet-generator C=%d B=%d + acgan-discriminator at %d², batch %d, 2 threads"
          % (result["date"], cpu, args.C, args.B, args.size, args.batch))
    print("| runtime | s/iteration | MoeKit ÷ runtime |")
    print("|---|---:|---:|")
    for name in ("moekit", "chainer", "torch"):
        v = result.get(name)
        if v is not None:
            print("| %s | %.3f | %.2f× |" % (name, v, result["moekit"] / v))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
