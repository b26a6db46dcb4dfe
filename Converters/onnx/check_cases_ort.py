"""Checks many ONNX models (onnx.checker full_check) and runs each in ONNX Runtime against expected outputs, in one process.

Usage: check_cases_ort.py MANIFEST.json RESULTS.json

MANIFEST: {"cases": [{"name", "model", "inputs": NPZ, "expected": NPZ, "outputs": [names]}]} (paths relative to the
manifest's folder). For each case this writes to RESULTS {"results": [{"name", "ok", "worst", "error"}]}: ``error``
is the checker's or ONNX Runtime's message (or a missing / misshapen output); ``worst`` the largest relative error
|a - b| / max(|b|, 1) over the outputs (NaN must meet NaN, else the error is infinite; bools and int64 compare as
numbers). ``ok`` means no error and worst <= the manifest's ``tolerance`` (default 1e-5).
"""
import json
import math
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def worst_error(got, want):
    got, want = np.asarray(got).astype(np.float64), np.asarray(want).astype(np.float64)
    if got.shape != want.shape:
        raise ValueError("shape %s, expected %s" % (list(got.shape), list(want.shape)))
    nan_got, nan_want = np.isnan(got), np.isnan(want)
    if (nan_got != nan_want).any():
        return math.inf
    keep = ~nan_want
    a, b = got[keep], want[keep]
    if a.size == 0:
        return 0.0
    same = a == b  # equal infinities
    err = np.where(same, 0.0, np.abs(a - b) / np.maximum(np.abs(b), 1.0))
    err = np.where(np.isnan(err), math.inf, err)
    return float(err.max())


def run_case(case, base, tolerance, options):
    path = os.path.join(base, case["model"])
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feeds = dict(np.load(os.path.join(base, case["inputs"])))
    wanted = {i.name for i in session.get_inputs()}
    outs = session.run(case["outputs"], {k: v for k, v in feeds.items() if k in wanted})
    expected = np.load(os.path.join(base, case["expected"]))
    worst = 0.0
    for name, got in zip(case["outputs"], outs):
        worst = max(worst, worst_error(got, expected[name]))
    return worst


def main(argv):
    if len(argv) != 3:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        manifest = json.load(f)
    base = os.path.dirname(os.path.abspath(argv[1]))
    tolerance = manifest.get("tolerance", 1e-5)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    results = []
    for case in manifest["cases"]:
        r = {"name": case["name"], "ok": False, "worst": None, "error": None}
        try:
            r["worst"] = run_case(case, base, tolerance, options)
            r["ok"] = r["worst"] <= tolerance
        except Exception as e:  # the message is the result: one line per case
            r["error"] = ("%s: %s" % (type(e).__name__, e)).splitlines()[0][:400]
        if r["worst"] is not None and not math.isfinite(r["worst"]):
            r["worst"] = 1e30
        results.append(r)
    with open(argv[2], "w") as f:
        json.dump({"results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
