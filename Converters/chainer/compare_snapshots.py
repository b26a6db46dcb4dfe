# Compares two trainer snapshots tensor by tensor: relative error max|a − b| / max(max|b|, 1e-12) per key.
"""    python compare_snapshots.py OURS.npz REFERENCE.npz [--prefix updater/]

Prints one JSON object: {"compared": n, "worst": {"key", "error"}, "missing": [...], "errors": {key: error}}.
Integer entries must be equal (error 0 or inf); a NaN anywhere is an infinite error.
"""

import argparse
import json

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("reference")
    ap.add_argument("--prefix", default="updater/")
    ap.add_argument("--noise", default="", help="comma-separated model:key parameters whose exact gradient is 0 (a bias "
                    "right before batch normalization): their gradients must be rounding noise (Adam m, v below "
                    "--noise-bound in both) and the parameters may differ by at most 2·K·alpha")
    ap.add_argument("--noise-bound", type=float, default=1e-5)
    ap.add_argument("--max-step", type=float, default=0.0, help="2·K·alpha for --noise parameters")
    ap.add_argument("--noise-keys", default="", help="comma-separated full keys whose exact value is 0 (gradients of biases "
                    "right before batch normalization): both sides must be below --noise-relative × the largest value "
                    "of all compared keys")
    ap.add_argument("--noise-relative", type=float, default=1e-5)
    args = ap.parse_args()
    noise = {}
    for item in filter(None, args.noise.split(",")):
        model, key = item.split(":", 1)
        noise["updater/model:%s/%s" % (model, key)] = "param"
        for s in ("m", "v"):
            noise["updater/optimizer:%s/%s/%s" % (model, key, s)] = "moment"
    noise_report = {}
    noise_keys = set(filter(None, args.noise_keys.split(",")))
    reference = np.load(args.reference)
    largest = max((float(np.abs(reference[k]).max()) for k in reference.keys() if k.startswith(args.prefix) and
                   reference[k].size and np.issubdtype(reference[k].dtype, np.floating)), default=0.0)
    a, b = np.load(args.ours), np.load(args.reference)
    errors, missing = {}, []
    for key in sorted(k for k in b.keys() if k.startswith(args.prefix)):
        if key not in a:
            missing.append(key)
            continue
        x, y = a[key].astype(np.float64), b[key].astype(np.float64)
        if x.shape != y.shape:
            errors[key] = float("inf")
            continue
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            errors[key] = float("inf")
            continue
        if key in noise_keys:
            ok = max(np.abs(x).max(), np.abs(y).max()) <= args.noise_relative * largest
            noise_report[key] = {"ours": float(np.abs(x).max()), "chainer": float(np.abs(y).max()), "bound": args.noise_relative * largest,
                                 "ok": bool(ok)}
            continue
        if key in noise:
            if noise[key] == "moment":
                ok = np.abs(x).max() <= args.noise_bound and np.abs(y).max() <= args.noise_bound
                noise_report[key] = {"ours": float(np.abs(x).max()), "chainer": float(np.abs(y).max()), "ok": bool(ok)}
            else:
                ok = np.abs(x - y).max() <= args.max_step
                noise_report[key] = {"difference": float(np.abs(x - y).max()), "ok": bool(ok)}
            continue
        scale = max(float(np.abs(y).max()) if y.size else 0.0, 1e-12)
        errors[key] = float(np.abs(x - y).max() / scale) if y.size else 0.0
    worst = max(errors.items(), key=lambda kv: kv[1]) if errors else ("", 0.0)
    print(json.dumps({"compared": len(errors), "worst": {"key": worst[0], "error": worst[1]}, "missing": missing,
                      "errors": errors, "noise": noise_report}))


if __name__ == "__main__":
    main()
