# The op conformance corpus run by the NumPy reader of the IR (moeir_numpy), the third runtime beside native and moe.js.
import json
import os
import subprocess
import sys

import numpy as np

import moeir_numpy as mn

HERE = os.path.dirname(os.path.abspath(__file__))
#: Ops the NumPy reader leaves out on purpose: their reference is ONNX Runtime in op_cases.py itself.
NOT_IN_NUMPY_READER = {"max_pool", "average_pool", "resize"}


def test_numpy_reader_runs_the_corpus(tmp_path):
    subprocess.run([sys.executable, os.path.join(HERE, "op_cases.py"), str(tmp_path)], check=True, capture_output=True)
    with open(tmp_path / "cases.json") as f:
        cases = json.load(f)["cases"]
    assert len(cases) > 300
    failures, skipped = [], set()
    for case in cases:
        with open(tmp_path / (case["name"] + ".moeir")) as f:
            graph = mn.parse(f.read())
        if any(n.op not in mn.OPS for n in graph.nodes):
            skipped.update(n.op for n in graph.nodes if n.op not in mn.OPS)
            continue
        inputs = dict(np.load(tmp_path / (case["name"] + ".inputs.npz")))
        expected = dict(np.load(tmp_path / (case["name"] + ".expected.npz")))
        got = mn.evaluate(graph, {}, inputs, keep=True, dtype=np.float64)
        for out in case["outputs"]:
            a, b = np.asarray(got[out], np.float64), expected[out].astype(np.float64)
            if a.shape != b.shape:
                failures.append("%s: %s shape %s, expected %s" % (case["name"], out, a.shape, b.shape))
                continue
            nan = np.isnan(a) | np.isnan(b)
            if np.any(np.isnan(a) != np.isnan(b)):
                failures.append("%s: %s NaN where the reference has none (or the reverse)" % (case["name"], out))
                continue
            err = np.abs(a - b)[~nan] / np.maximum(np.abs(b)[~nan], 1) if (~nan).any() else np.zeros(1)
            if not err.max() <= 1e-5:
                failures.append("%s: %s relative error %g" % (case["name"], out, err.max()))
    assert skipped == NOT_IN_NUMPY_READER, skipped
    assert len(failures) < len(cases)
    assert not failures, "\n".join(failures[:30])
