# The DRAGAN + ACGAN training step in real Chainer: the reference MoeKit's trainer must match step for step.
"""One or more training iterations in Chainer 7.8.1 from given weights and given randomness.

    python dragan_reference.py --gen G.npz --dis D.npz --batches B.npz [--iterations K] --out OUT.npz
        [--lambda-adv 34] [--lambda-gp 0.5] [--alpha 2e-4] [--beta1 0.5] [--beta2 0.999]
        [--gen-type srresnet-generator|dcgan-generator] [--gen-arch C,B,U,n | C,n]
        [--dis-widths 16,32 --size S --tags T] [--layout LAYOUT.npz]
        [--gradients GRADS.npz [--float64] [--pieces G_STEP.npz] [--dis-pieces D_STEP.npz] [--own-pieces OWN.npz]]

B.npz holds, per iteration k: ``real_k`` (N,3,S,S) in [-1,1], ``tags_k`` (N,T) in {0,1}, ``zd_k`` and ``zg_k`` (N,n)
generator inputs of the D and G steps, ``u_k`` (N,3,S,S) uniform [0,1) perturbation noise.

One iteration (the updater of ``moe train``):
  D step: fake = G(z_d) (train mode); x_p = real + 0.5·std(real)·u (std over the whole batch);
          L_D = λ_adv·[mean softplus(−D_adv(real)) + mean softplus(D_adv(fake))] + sigmoid_CE(D_cls(real), tags)
                + λ_gp·mean((‖∂ΣD_adv(x_p)/∂x_p‖₂ − 1)²), the gradient taken with double backprop; Adam on D.
  G step: fake = G(z_g); L_G = λ_adv·mean softplus(−D_adv(fake)) + sigmoid_CE(D_cls(fake), tags(z_g)); Adam on G.
BatchNormalization runs in training mode (Chainer updates its running statistics in every forward).

OUT.npz is a trainer snapshot (``chainer.serializers.save_npz(out, trainer)`` of a real Trainer whose
StandardUpdater has optimizers ``gen`` and ``dis``), plus ``losses/*`` per iteration. ``--layout`` writes a
snapshot of a fresh trainer too (its key set is the layout MoeKit must write).
"""

import argparse
import json
import os
import sys

import numpy as np

os.environ.setdefault("CHAINER_WARN_VERSION_MISMATCH", "0")
import chainer  # noqa: E402
import chainer.functions as F  # noqa: E402
from chainer import training  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import activation_pieces  # noqa: E402
import moe_zoo  # noqa: E402


class DraganUpdater(training.StandardUpdater):
    """Alternating D and G steps; each iteration's batch comes from ``self.next_batch()``."""

    def __init__(self, iterator, gen, dis, opt_gen, opt_dis, lambda_adv, lambda_gp, next_batch=None):
        super().__init__(iterator, {"gen": opt_gen, "dis": opt_dis})
        self.gen, self.dis = gen, dis
        self.lambda_adv, self.lambda_gp = lambda_adv, lambda_gp
        self.next_batch = next_batch
        self.losses = []

    def update_core(self):
        real, tags, zd, zg, u = self.next_batch()
        gen, dis, lam = self.gen, self.dis, self.lambda_adv
        xp = np
        # D step.
        fake = gen(zd).array
        adv_real, cls_real = dis(real)
        adv_fake, _ = dis(fake)
        x_p = chainer.Variable((real + 0.5 * real.std() * u).astype(np.float32))
        adv_p, _ = dis(x_p)
        g, = chainer.grad([F.sum(adv_p)], [x_p], enable_double_backprop=True)
        norm = F.sqrt(F.sum(g * g, axis=(1, 2, 3)))
        gp = self.lambda_gp * F.mean((norm - 1) ** 2)
        l_adv_d = F.mean(F.softplus(-adv_real)) + F.mean(F.softplus(adv_fake))
        l_cls_d = F.sigmoid_cross_entropy(cls_real, tags.astype(np.int32))
        loss_d = lam * l_adv_d + l_cls_d + gp
        dis.cleargrads()
        loss_d.backward()
        self.get_optimizer("dis").update()
        # G step.
        fake = gen(zg)
        adv, cls = dis(fake)
        tags_g = (zg[:, 128:] > 0).astype(np.int32)
        l_adv_g = F.mean(F.softplus(-adv))
        l_cls_g = F.sigmoid_cross_entropy(cls, tags_g)
        loss_g = lam * l_adv_g + l_cls_g
        gen.cleargrads()
        loss_g.backward()
        self.get_optimizer("gen").update()
        self.losses.append({
            "loss_d": float(loss_d.array), "adv_d": float(l_adv_d.array), "cls_d": float(l_cls_d.array),
            "gp": float(gp.array), "grad_norm": float(xp.mean(norm.array)),
            "loss_g": float(loss_g.array), "adv_g": float(l_adv_g.array), "cls_g": float(l_cls_g.array)})


def build_generator(gen_type, gen_arch):
    """The generator ``--gen-type``/``--gen-arch`` name: srresnet-generator ``C,B,U,n`` or dcgan-generator ``C,n``."""
    values = tuple(int(v) for v in gen_arch.split(","))
    if gen_type == "dcgan-generator":
        if len(values) != 2:
            raise SystemExit("--gen-arch %s: dcgan-generator expects C,n" % gen_arch)
        return moe_zoo.DCGANGenerator(C=values[0], n=values[1])
    if len(values) != 4:
        raise SystemExit("--gen-arch %s: srresnet-generator expects C,B,U,n" % gen_arch)
    C, B, U, n = values
    return moe_zoo.SRResNetGenerator(C=C, B=B, U=U, n=n)


def build(args):
    gen = build_generator(args.gen_type, args.gen_arch)
    widths = tuple(int(v) for v in args.dis_widths.split(","))
    dis = moe_zoo.ACGANDiscriminator(widths=widths, size=args.size, tags=args.tags)
    return gen, dis


def make_trainer(gen, dis, args, next_batch=None):
    opt_gen = chainer.optimizers.Adam(alpha=args.alpha, beta1=args.beta1, beta2=args.beta2)
    opt_dis = chainer.optimizers.Adam(alpha=args.alpha, beta1=args.beta1, beta2=args.beta2)
    opt_gen.setup(gen)
    opt_dis.setup(dis)
    dummy = chainer.iterators.SerialIterator(np.zeros((4, 1), np.float32), 1, shuffle=False)
    updater = DraganUpdater(dummy, gen, dis, opt_gen, opt_dis, args.lambda_adv, args.lambda_gp, next_batch)
    return training.Trainer(updater, (10 ** 9, "iteration"), out=os.path.dirname(os.path.abspath(args.out)) or ".")


def dis_loss(gen, dis, batch, args):
    """L_D of the first batch (the D step's loss, double backprop through the gradient penalty)."""
    real, tags, zd, _, u = batch
    fake = gen(zd).array
    adv_real, cls_real = dis(real)
    adv_fake, _ = dis(fake)
    x_p = chainer.Variable((real + 0.5 * real.std() * u).astype(real.dtype))
    adv_p, _ = dis(x_p)
    g, = chainer.grad([F.sum(adv_p)], [x_p], enable_double_backprop=True)
    gp = args.lambda_gp * F.mean((F.sqrt(F.sum(g * g, axis=(1, 2, 3))) - 1) ** 2)
    return args.lambda_adv * (F.mean(F.softplus(-adv_real)) + F.mean(F.softplus(adv_fake))) \
        + F.sigmoid_cross_entropy(cls_real, tags.astype(np.int32)) + gp


def gen_loss(gen, dis, batch, args):
    """L_G of the first batch (through the same D)."""
    zg = batch[3]
    adv, cls = dis(gen(zg))
    return args.lambda_adv * F.mean(F.softplus(-adv)) + F.sigmoid_cross_entropy(cls, (zg[:, 128:] > 0).astype(np.int32))


def gradients(model, loss):
    """``{key: ∂loss/∂param}`` of ``model`` (a copy)."""
    model.cleargrads()
    loss.backward()
    return {name[1:]: p.grad.copy() for name, p in model.namedparams()}


def write_gradients(gen, dis, batch, args):
    """--gradients: ∂L_D/∂θ_D as grad/dis/KEY and ∂L_G/∂θ_G as grad/gen/KEY at the initial weights; with --pieces /
    --dis-pieces each loss on the given linear pieces (one JSON check line per step on stdout), and with --own-pieces
    also both on Chainer's own pieces in that file."""
    out, own = {}, {}
    for model, loss, pieces_file in (("dis", dis_loss, args.dis_pieces), ("gen", gen_loss, args.pieces)):
        target = gen if model == "gen" else dis
        if pieces_file:
            with activation_pieces.OnPieces(np.load(pieces_file)) as pieces:
                grads = gradients(target, loss(gen, dis, batch, args))
            report = pieces.report()
            print(json.dumps(dict(step=model, **report)))
            if args.own_pieces:  # the same piece when nothing flipped: no second pass needed
                own_grads = gradients(target, loss(gen, dis, batch, args)) if report["flipped"] else grads
                own.update({"grad/%s/%s" % (model, k): v for k, v in own_grads.items()})
        else:
            grads = gradients(target, loss(gen, dis, batch, args))
        out.update({"grad/%s/%s" % (model, k): v for k, v in grads.items()})
    np.savez(args.gradients, **out)
    if args.own_pieces:
        np.savez(args.own_pieces, **own)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gen", required=True)
    ap.add_argument("--dis", required=True)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--iterations", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--layout")
    ap.add_argument("--gradients", help="instead of training: write grad/dis/KEY (∂L_D) and grad/gen/KEY (∂L_G), both at the "
                    "initial weights (the G loss through the initial D) for the first batch, to this NPZ")
    ap.add_argument("--pieces", help="with --gradients: ∂L_G/∂θ_G on the linear pieces of this NPZ (another "
                    "implementation's ReLU/LeakyReLU inputs in the G loss, see activation_pieces.py); prints the check of "
                    "the given pieces as one JSON line")
    ap.add_argument("--dis-pieces", help="with --gradients: ∂L_D/∂θ_D on the linear pieces of this NPZ (the D loss's "
                    "ReLU/LeakyReLU inputs: G(z_d), D(real), D(fake), D(x_p))")
    ap.add_argument("--own-pieces", help="with --pieces/--dis-pieces: also write those gradients on Chainer's own pieces here")
    ap.add_argument("--gen-type", default="srresnet-generator", choices=("srresnet-generator", "dcgan-generator"))
    ap.add_argument("--gen-arch", default="64,16,3,162", help="C,B,U,n (srresnet-generator) or C,n (dcgan-generator)")
    ap.add_argument("--dis-widths", default="32,64,128,256,512")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--tags", type=int, default=34)
    ap.add_argument("--lambda-adv", type=float, default=34.0)
    ap.add_argument("--lambda-gp", type=float, default=0.5)
    ap.add_argument("--alpha", type=float, default=2e-4)
    ap.add_argument("--beta1", type=float, default=0.5)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--float64", action="store_true", help="compute in float64 (Chainer's global dtype): a reference without "
                    "float32 rounding")
    args = ap.parse_args()
    if args.float64:
        chainer.global_config.dtype = np.dtype(np.float64)

    gen, dis = build(args)
    chainer.serializers.load_npz(args.gen, gen)
    chainer.serializers.load_npz(args.dis, dis)
    data = np.load(args.batches)
    state = {"k": 0}

    def next_batch():
        k = state["k"]
        state["k"] += 1
        dtype = np.float64 if args.float64 else np.float32
        return tuple(data["%s_%d" % (name, k)].astype(dtype) for name in ("real", "tags", "zd", "zg", "u"))

    if args.gradients:
        write_gradients(gen, dis, next_batch(), args)
        return

    trainer = make_trainer(gen, dis, args, next_batch)
    # A Trainer serializes its elapsed time, which exists once it has started; no extension runs here.
    trainer._start_at = trainer._snapshot_elapsed_time = 0.0
    import time
    trainer._start_at = time.time()
    if args.layout:
        chainer.serializers.save_npz(args.layout, trainer)
    for _ in range(args.iterations):
        trainer.updater.update()
    chainer.serializers.save_npz(args.out + ".tmp.npz", trainer)
    snapshot = dict(np.load(args.out + ".tmp.npz"))
    os.remove(args.out + ".tmp.npz")
    for k, losses in enumerate(trainer.updater.losses):
        for name, v in losses.items():
            snapshot["losses/%d/%s" % (k, name)] = np.float64(v)
    np.savez(args.out, **snapshot)


if __name__ == "__main__":
    main()
