# Tests Converters/onnx scripts: the onnx.mapping stand-in, the onnx-chainer export (vs Chainer in ONNX Runtime), the backend cases,
# the ONNX Runtime case checker.
"""Checks export_onnx_chainer.py and backend_node_cases.py against independent references."""

import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

import make_fixture

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "onnx"))
import backend_node_cases  # noqa: E402
import check_cases_ort  # noqa: E402
import export_onnx_chainer  # noqa: E402


def test_onnx_mapping_stand_in():
    export_onnx_chainer.install_onnx_mapping()
    import onnx.mapping as m
    assert m.NP_TYPE_TO_TENSOR_TYPE[np.dtype(np.float32)] == onnx.TensorProto.FLOAT
    assert m.NP_TYPE_TO_TENSOR_TYPE[np.dtype(np.int64)] == onnx.TensorProto.INT64
    assert m.STORAGE_TENSOR_TYPE_TO_FIELD[onnx.TensorProto.FLOAT] == "float_data"
    assert m.STORAGE_TENSOR_TYPE_TO_FIELD[onnx.TensorProto.INT64] == "int64_data"


def test_onnx_chainer_export_runs_like_chainer(tmp_path):
    fx = make_fixture.make_fixture("dcgan-generator", str(tmp_path), batches=(2,), C=16, n=20)
    out = str(tmp_path / "m.onnx")
    assert export_onnx_chainer.main(["--fixture", str(tmp_path), "--batch", "2", "--out", out]) == 0
    model = onnx.load(out)
    assert model.opset_import[0].version == 11
    onnx.checker.check_model(model)
    batch = fx["batches"][0]
    z = np.load(os.path.join(str(tmp_path), batch["inputs"][0]["file"]))
    y, = ort.InferenceSession(out, providers=["CPUExecutionProvider"]).run(None, {"z": z})
    want = np.load(os.path.join(str(tmp_path), batch["outputs"][0]["file"]))
    assert np.abs(y - want).max() <= 1e-4


def test_backend_cases_bind_static_inputs(tmp_path):
    assert backend_node_cases.main(["--out", str(tmp_path), "--ops", "Reshape,Relu"]) == 0
    with open(tmp_path / "manifest.json") as f:
        cases = json.load(f)["cases"]
    reshape = [c for c in cases if c["op"] == "Reshape"]
    assert reshape and all(c["bound"] == ["shape"] for c in reshape)
    for c in cases:
        m = onnx.load(str(tmp_path / c["model"]))
        assert [i.name for i in m.graph.input] == [x["name"] for x in c["inputs"]]
        assert {t.name for t in m.graph.initializer} == set(c["bound"])
        assert c["rtol"] == 1e-3 and c["atol"] == 1e-7
        for x in c["inputs"] + c["outputs"]:
            assert os.path.exists(tmp_path / x["file"])


def test_check_cases_ort_compares_with_expected(tmp_path):
    from onnx import TensorProto, helper
    x = np.array([[-1.0, 2.0, np.nan]], np.float32)
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(tmp_path / "relu.onnx"))
    np.savez(tmp_path / "in.npz", x=x)
    np.savez(tmp_path / "good.npz", y=np.array([[0.0, 2.0, np.nan]], np.float32))
    np.savez(tmp_path / "bad.npz", y=np.array([[0.0, 2.5, np.nan]], np.float32))
    np.savez(tmp_path / "nan.npz", y=np.array([[0.0, 2.0, 1.0]], np.float32))
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    cases = [{"name": n, "model": m, "inputs": "in.npz", "expected": e, "outputs": ["y"]}
             for n, m, e in [("good", "relu.onnx", "good.npz"), ("bad", "relu.onnx", "bad.npz"),
                             ("nan", "relu.onnx", "nan.npz"), ("broken", "broken.onnx", "good.npz")]]
    with open(tmp_path / "m.json", "w") as f:
        json.dump({"tolerance": 1e-5, "cases": cases}, f)
    assert check_cases_ort.main(["x", str(tmp_path / "m.json"), str(tmp_path / "r.json")]) == 0
    with open(tmp_path / "r.json") as f:
        r = {c["name"]: c for c in json.load(f)["results"]}
    assert r["good"]["ok"] and r["good"]["worst"] == 0
    assert not r["bad"]["ok"] and abs(r["bad"]["worst"] - 0.2) < 1e-6
    assert not r["nan"]["ok"] and r["nan"]["worst"] >= 1e30
    assert not r["broken"]["ok"] and r["broken"]["error"]
