# Gradient oracle: central finite differences in float64 (NumPy evaluator of the IR) against MoeKit's gradients.
"""Checks the gradients of a scalar loss computed by MoeKit's autodiff transform.

    python grad_check.py CASES.json

CASES.json lists cases, each {"name", "graph": IR text file, "inputs": npz of every graph input,
"loss": output name, "grads": npz of MoeKit's gradient per input name, "directions": K}. For every differentiated
input, K random unit directions v give a central difference (f(x + h v) − f(x − h v)) / 2h in float64, compared with
⟨grad, v⟩; inputs of at most 40 elements are also checked element by element. Prints one JSON object per case:
{"name", "worst": largest relative error |fd − ad| / max(|fd|, |ad|, 1e-3), "where"}.
"""

import json
import sys

import numpy as np

import moeir_numpy as mn

H = 1e-6


def loss_at(graph, inputs, loss):
    return float(mn.evaluate(graph, {}, inputs, dtype=np.float64)[loss].reshape(()))


def check(case):
    with open(case["graph"]) as f:
        graph = mn.parse(f.read())
    inputs = {k: v.astype(np.float64) for k, v in np.load(case["inputs"]).items()}
    grads = dict(np.load(case["grads"]))
    rng = np.random.default_rng(7)
    worst, where = 0.0, ""
    for name, ad in grads.items():
        ad = ad.astype(np.float64)
        x0 = inputs[name]
        dirs = [d / np.linalg.norm(d) for d in (rng.standard_normal(x0.shape) for _ in range(case.get("directions", 3)))]
        if x0.size <= 40:
            for i in range(x0.size):
                e = np.zeros(x0.size)
                e[i] = 1
                dirs.append(e.reshape(x0.shape))
        for k, v in enumerate(dirs):
            plus, minus = dict(inputs), dict(inputs)
            plus[name], minus[name] = x0 + H * v, x0 - H * v
            fd = (loss_at(graph, plus, case["loss"]) - loss_at(graph, minus, case["loss"])) / (2 * H)
            got = float((ad * v).sum())
            err = abs(fd - got) / max(abs(fd), abs(got), 1e-3)
            if not err <= worst:
                worst, where = err, "%s direction %d: fd %.6g, autodiff %.6g" % (name, k, fd, got)
    return {"name": case["name"], "worst": worst, "where": where}


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    for case in cases:
        print(json.dumps(check(case)), flush=True)


if __name__ == "__main__":
    main()
