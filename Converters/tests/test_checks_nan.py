# Tests that the checking scripts (check_roundtrip.py, check_onnx.py) fail on NaN outputs instead of passing them.
"""A NaN in a model's output must fail the check: ``np.abs(d).max()`` is NaN and ``NaN > atol`` is False."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import make_fixture
from compare_outputs import max_abs_difference, within

CONVERTERS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECK_ROUNDTRIP = os.path.join(CONVERTERS, "chainer", "check_roundtrip.py")
CHECK_ONNX = os.path.join(CONVERTERS, "onnx", "check_onnx.py")


def run(script, *args):
    return subprocess.run([sys.executable, script, *map(str, args)], capture_output=True, text=True, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("position", [0, 5, -1])
def test_max_abs_difference_counts_nan_as_infinitely_far(position):
    want = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    got = want.copy()
    got.flat[position] = np.nan
    assert max_abs_difference(got, want) == math.inf
    assert not within(max_abs_difference(got, want), 1e-3)
    got.flat[position] = np.inf
    assert max_abs_difference(got, want) == math.inf


def test_max_abs_difference_shapes_and_finite_values():
    a = np.arange(6, dtype=np.float32)
    assert max_abs_difference(a.reshape(2, 3), a.reshape(3, 2)) == math.inf  # would broadcast or raise in numpy
    assert max_abs_difference(a, a + np.float32(0.25) * (a == 4)) == 0.25
    assert within(max_abs_difference(a, a), 0.0)


def test_check_roundtrip_fails_on_a_nan_output(tmp_path):
    fx = make_fixture.make_fixture("dcgan-generator", str(tmp_path / "fx"), batches=(2,), C=16, n=20)
    ckpt = os.path.join(fx["dir"], fx["checkpoint"])
    p = run(CHECK_ROUNDTRIP, "--fixture", fx["dir"], "--checkpoint", ckpt, "--atol", "1e-6")
    assert p.returncode == 0, p.stdout + p.stderr
    # One bias of the last deconvolution set to NaN: every pixel of that output channel is NaN after tanh.
    with np.load(ckpt) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["d4/b"] = arrays["d4/b"].copy()
    arrays["d4/b"][1] = np.nan
    bad = str(tmp_path / "nan.npz")
    np.savez_compressed(bad, **arrays)
    p = run(CHECK_ROUNDTRIP, "--fixture", fx["dir"], "--checkpoint", bad, "--atol", "1e-6")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "differs" in p.stdout and "inf" in p.stdout, p.stdout


def write_onnx_case(tmp_path, bias):
    """A one-node model y = x + bias and a fixture whose recorded output is NumPy's x + [0, 0.5, 1]."""
    x = np.linspace(-2, 2, 6, dtype=np.float32).reshape(2, 3)
    node = helper.make_node("Add", ["x", "bias"], ["y"], name="add")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
                              [numpy_helper.from_array(np.asarray(bias, np.float32), "bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = str(tmp_path / "m.onnx")
    onnx.save(model, path)
    np.save(tmp_path / "x_b2.npy", x)
    np.save(tmp_path / "y_b2.npy", x + np.float32([0, 0.5, 1]))
    fixture = {"batches": [{"batch": 2, "inputs": [{"name": "x", "file": "x_b2.npy"}],
                            "outputs": [{"name": "y", "file": "y_b2.npy"}]}]}
    (tmp_path / "fixture.json").write_text(json.dumps(fixture))
    return path


def test_check_onnx_passes_equal_outputs_and_fails_on_nan(tmp_path):
    good = write_onnx_case(tmp_path, [0, 0.5, 1])
    p = run(CHECK_ONNX, "--model", good, "--fixture", tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    bad = write_onnx_case(tmp_path, [0, np.nan, 1])  # NaN in the second column only: not the first element
    p = run(CHECK_ONNX, "--model", bad, "--fixture", tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "output y" in p.stdout and "differs" in p.stdout, p.stdout
