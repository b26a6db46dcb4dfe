# Loads what `moe train` wrote into real Chainer: the generator file into the reference model, the trainer snapshot
# into a real Trainer (load_npz, strict), and runs the generator on given inputs.
"""    python check_train_run.py RUN K --z Z.npy --out OUT.npy

Reads RUN/config.json for the architectures (srresnet-generator or dcgan-generator, acgan-discriminator). Writes Chainer's generator output (test mode: BN running averages)
on Z.npy, and prints one JSON line with the key counts loaded.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chainer  # noqa: E402
import moe_zoo  # noqa: E402
import dragan_reference  # noqa: E402


def spec(s):
    parts = s.split(":", 1)
    return dict(kv.split("=", 1) for kv in parts[1].split(",")) if len(parts) > 1 else {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("k", type=int)
    ap.add_argument("--z", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(os.path.join(args.run, "config.json")) as f:
        config = json.load(f)
    size = config["size"]
    data = np.load(config["data"])
    tags = data["tags"].shape[1]
    g, d = spec(config["generator"]), spec(config["discriminator"])

    def make_generator():
        if config["generator"].split(":", 1)[0] == "dcgan-generator":
            return moe_zoo.DCGANGenerator(C=int(g.get("C", 64)), n=128 + tags)
        U = int(g.get("U", int(np.log2(size // 16))))
        return moe_zoo.SRResNetGenerator(C=int(g.get("C", 64)), B=int(g.get("B", 16)), U=U, n=128 + tags)

    gen = make_generator()
    widths = [int(w) for w in d["widths"].split(".")] if "widths" in d else [32 << k for k in range(int(np.log2(size)) - 2)]
    dis = moe_zoo.ACGANDiscriminator(widths=tuple(widths), size=size, tags=tags)
    chainer.serializers.load_npz(os.path.join(args.run, "gen_iter_%d.npz" % args.k), gen)
    # The trainer snapshot into a real Trainer of the same updater: every key must be present (strict load).
    ns = argparse.Namespace(alpha=config["alpha"], beta1=config["beta1"], beta2=config["beta2"], lambda_adv=float(tags),
                            lambda_gp=config["lambdaGradientPenalty"], out=os.path.join(args.run, "chainer-check"))
    gen2 = make_generator()
    gen2(np.zeros((2, gen.n), np.float32))
    dis(np.zeros((2, 3, size, size), np.float32))
    trainer = dragan_reference.make_trainer(gen2, dis, ns)
    chainer.serializers.load_npz(os.path.join(args.run, "snapshot_iter_%d.npz" % args.k), trainer)
    same = all(np.array_equal(a.array, b.array) for (_, a), (_, b) in zip(sorted(gen.namedparams()), sorted(gen2.namedparams())))
    with chainer.using_config("train", False), chainer.no_backprop_mode():
        y = gen(np.load(args.z).astype(np.float32)).array
    np.save(args.out, y)
    print(json.dumps({"iteration": int(trainer.updater.iteration), "gen_t": int(trainer.updater.get_optimizer("gen").t),
                      "same_gen_weights": bool(same)}))


if __name__ == "__main__":
    main()
