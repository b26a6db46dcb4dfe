# Tests of the runtime drivers `moe verify` uses: run_chainer.py against fixture outputs, run_onnxruntime.py against NumPy.
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import run_chainer
from test_fixture import ARCH_ARGS, BATCHING_ATOL, batch_arrays, run_cli

CONVERTERS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_CHAINER = os.path.join(CONVERTERS, "chainer", "run_chainer.py")
RUN_ORT = os.path.join(CONVERTERS, "onnx", "run_onnxruntime.py")


def description(summary):
    """The model description MoeKit prints (and passes to run_chainer.py) for a fixture's architecture."""
    h = summary["hyper"]
    if "widths" in h:  # acgan-discriminator, tagger-cnn
        return "%s widths=%s S=%d tags=%d" % (summary["arch"], ",".join(map(str, h["widths"])), h["size"], h["tags"])
    return summary["arch"] + "".join(" %s=%s" % (k, v) for k, v in h.items())


def run(script, *args):
    return subprocess.run([sys.executable, script, *map(str, args)], capture_output=True, text=True, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("arch", sorted(ARCH_ARGS))
@pytest.mark.parametrize("fmt", ["npz", "h5"])
def test_run_chainer_reproduces_fixture(tmp_path, arch, fmt):
    s = run_cli(tmp_path / "fx", "--arch", arch, *ARCH_ARGS[arch], "--batch", "2", "--prefix", "updater/model:main/", "--format", fmt)
    assert run_chainer.parse_model(description(s)) == (arch, {k: tuple(v) if isinstance(v, list) else v for k, v in s["hyper"].items()})
    entry = s["batches"][0]
    inputs = [os.path.join(s["dir"], i["file"]) for i in entry["inputs"]]
    out = tmp_path / "out"
    p = run(RUN_CHAINER, "--checkpoint", os.path.join(s["dir"], s["checkpoint"]), "--model", description(s), "--prefix", s["prefix"], "--out", out, *inputs)
    assert p.returncode == 0, p.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert [o["name"] for o in manifest["outputs"]] == [o["name"] for o in entry["outputs"]]
    for item, want in zip(manifest["outputs"], batch_arrays(s, entry, "outputs")):
        np.testing.assert_allclose(np.load(out / item["file"]), want, rtol=0, atol=BATCHING_ATOL)
    # Fault injection changes the output; an unknown parameter is one line naming it.
    first = {"srresnet-generator": "out/W", "acgan-discriminator": "adv/W", "dcgan-generator": "d4/W", "tagger-cnn": "fc/W"}[arch]
    p = run(RUN_CHAINER, "--checkpoint", os.path.join(s["dir"], s["checkpoint"]), "--model", description(s), "--prefix", s["prefix"],
            "--out", tmp_path / "bad", "--perturb", first + "=0.5", *inputs)
    assert p.returncode == 0, p.stderr
    diff = max(float(np.abs(np.load(tmp_path / "bad" / o["file"]) - np.load(out / o["file"])).max()) for o in manifest["outputs"])
    assert diff > 1e-3
    p = run(RUN_CHAINER, "--checkpoint", os.path.join(s["dir"], s["checkpoint"]), "--model", description(s), "--prefix", s["prefix"],
            "--out", tmp_path / "bad2", "--perturb", "nope/W=1", *inputs)
    assert p.returncode == 1 and "nope/W" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_run_onnxruntime_exposes_intermediates(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"), helper.make_node("Relu", ["h"], ["r"], name="relu"),
         helper.make_node("Tanh", ["r"], ["y"], name="tanh")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "m.onnx")
    x = rng.standard_normal((4, 5)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    p = run(RUN_ORT, "--model", tmp_path / "m.onnx", "--out", tmp_path / "out", "--expose-all", "x=%s" % (tmp_path / "x.npy"))
    assert p.returncode == 0, p.stderr
    listed = json.loads((tmp_path / "out" / "manifest.json").read_text())["outputs"]
    assert [o["name"] for o in listed] == ["y", "h", "r"]
    want = {"h": x @ w, "r": np.maximum(x @ w, 0), "y": np.tanh(np.maximum(x @ w, 0))}
    for o in listed:
        np.testing.assert_allclose(np.load(tmp_path / "out" / o["file"]), want[o["name"]], rtol=1e-5, atol=1e-6)
    p = run(RUN_ORT, "--model", tmp_path / "m.onnx", "--out", tmp_path / "out2", "--expose", "nothing", "x=%s" % (tmp_path / "x.npy"))
    assert p.returncode == 1 and "nothing" in p.stderr
