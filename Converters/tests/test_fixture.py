# Tests the fixture maker: every arch reloads and reproduces, fixture.json schema, snapshot/lazy/dtype quirks.
"""Fixtures written by ``make_fixture.py`` reload with Chainer's own loaders and
reproduce their recorded outputs; the checkpoint quirks look like Chainer's."""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

import chainer
from chainer.serializers import HDF5Deserializer

import make_fixture
import moe_zoo
from layouts import LAYOUTS

#: Reloaded model vs recorded output, same batching: only the file round trip differs.
REPRODUCE_ATOL = 1e-6
#: Whole-batch forward vs the fixture's chunked forward (float rounding only).
BATCHING_ATOL = 1e-5
#: A float16 checkpoint converted to float32 vs the recorded outputs.
FLOAT16_ATOL = 1e-4

#: Small command lines per architecture (hyper-parameter options).
ARCH_ARGS = {
    "srresnet-generator": ["--C", "8", "--B", "2", "--U", "1", "--n", "136"],
    "acgan-discriminator": ["--widths", "16,32", "--size", "32", "--tags", "5"],
    "dcgan-generator": ["--C", "32", "--n", "20"],
    "tagger-cnn": ["--widths", "8,16", "--size", "32", "--tags", "7"],
}
SCRIPT = os.path.join(os.path.dirname(moe_zoo.__file__), "make_fixture.py")


def run_cli(out, *args):
    """Runs make_fixture.py; returns the JSON summary it prints."""
    cmd = [sys.executable, SCRIPT, "--out", str(out), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0])


def read_npz(path):
    """All arrays of an NPZ file (pickles allowed, for lazy parameters)."""
    with np.load(path, allow_pickle=True) as f:
        return {k: f[k] for k in f.files}


def read_h5(path):
    """All datasets of an HDF5 file by path."""
    arrays = {}

    def visit(name, item):
        if isinstance(item, h5py.Dataset):
            arrays[name] = item[()]

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return arrays


def checkpoint_path(summary):
    """Absolute path of a fixture's checkpoint."""
    return os.path.join(summary["dir"], summary["checkpoint"])


def load_checkpoint(summary):
    """A fresh float32 model loaded from a fixture's checkpoint, honouring prefix and format."""
    model = moe_zoo.build(summary["arch"], **summary["hyper"])
    prefix, path = summary["prefix"], checkpoint_path(summary)
    if summary["format"] == "npz":
        chainer.serializers.load_npz(path, model, path=prefix)
    else:
        with h5py.File(path, "r") as f:
            HDF5Deserializer(f[prefix.strip("/")] if prefix else f).load(model)
    return model


def batch_arrays(summary, entry, kind):
    """The arrays of one batch entry's inputs or outputs, in order."""
    return [np.load(os.path.join(summary["dir"], item["file"])) for item in entry[kind]]


def assert_reproduces(summary, atol=REPRODUCE_ATOL, chunk=None):
    """Reloads the checkpoint and checks every recorded output of every batch."""
    model = load_checkpoint(summary)
    for entry in summary["batches"]:
        inputs = batch_arrays(summary, entry, "inputs")
        again = make_fixture.run_test_mode(
            model, *inputs, chunk=summary["chunk"] if chunk is None else chunk)
        again = again if isinstance(again, tuple) else (again,)
        for item, want, got in zip(entry["outputs"], batch_arrays(summary, entry, "outputs"), again):
            assert want.dtype == np.float32 and list(want.shape) == item["shape"]
            np.testing.assert_allclose(got, want, rtol=0, atol=atol, err_msg=item["name"])


@pytest.fixture(scope="module")
def cli_fixtures(tmp_path_factory):
    """One CLI fixture per architecture, batches 1 and 3, under a trainer-style prefix."""
    out = {}
    for arch, args in ARCH_ARGS.items():
        d = tmp_path_factory.mktemp(arch)
        out[arch] = run_cli(d, "--arch", arch, *args, "--seed", "3", "--batch", "1",
                            "--batch", "3", "--prefix", "updater/model:main/")
    return out


@pytest.mark.parametrize("arch", sorted(ARCH_ARGS))
def test_cli_fixture_reproduces(cli_fixtures, arch):
    summary = cli_fixtures[arch]
    assert [e["batch"] for e in summary["batches"]] == [1, 3]
    assert_reproduces(summary)
    assert_reproduces(summary, atol=BATCHING_ATOL, chunk=0)


@pytest.mark.parametrize("arch", sorted(ARCH_ARGS))
def test_fixture_json_schema(cli_fixtures, arch):
    summary = cli_fixtures[arch]
    with open(os.path.join(summary["dir"], "fixture.json")) as f:
        assert json.load(f) == summary
    spec = moe_zoo.ARCHITECTURES[arch]
    assert summary["schema"] == 1 and summary["role"] == spec.role
    assert [i["name"] for i in summary["inputs"]] == list(spec.inputs)
    assert [o["name"] for o in summary["outputs"]] == list(spec.outputs)
    assert all(v["shape"][0] == "N" for v in summary["inputs"] + summary["outputs"])
    for entry in summary["batches"]:
        b = entry["batch"]
        for kind in ("inputs", "outputs"):
            for item, symbolic in zip(entry[kind], summary[kind]):
                assert item["file"] == "%s_b%d.npy" % (item["name"], b)
                assert item["shape"] == [b] + symbolic["shape"][1:]
                assert np.load(os.path.join(summary["dir"], item["file"])).shape == tuple(item["shape"])


@pytest.mark.parametrize("arch", sorted(ARCH_ARGS))
def test_keys_under_prefix(cli_fixtures, arch):
    summary = cli_fixtures[arch]
    arrays = read_npz(checkpoint_path(summary))
    prefix = "updater/model:main/"
    assert all(k.startswith(prefix) for k in arrays)
    shapes = {k[len(prefix):]: v.shape for k, v in arrays.items()}
    hyper = dict(summary["hyper"])
    if "widths" in hyper:
        hyper["widths"] = tuple(hyper["widths"])
    assert shapes == LAYOUTS[arch](**hyper)


def test_inputs(cli_fixtures):
    z = np.load(os.path.join(cli_fixtures["srresnet-generator"]["dir"], "z_b3.npy"))
    assert z.shape == (3, 136) and z.dtype == np.float32
    assert set(np.unique(z[:, 128:])) <= {-1.0, 1.0}
    x = np.load(os.path.join(cli_fixtures["acgan-discriminator"]["dir"], "x_b3.npy"))
    assert x.shape == (3, 3, 32, 32) and x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("arch", ["srresnet-generator", "dcgan-generator"])
def test_generator_state_is_not_trivial(cli_fixtures, arch):
    arrays = read_npz(checkpoint_path(cli_fixtures[arch]))
    bn_names = {k.rsplit("/", 1)[0] for k in arrays if k.endswith("/avg_var")}
    assert bn_names
    for name in bn_names:
        assert not np.allclose(arrays[name + "/avg_var"], 1.0), name
        assert not np.allclose(arrays[name + "/avg_mean"], 0.0), name
        assert not np.allclose(arrays[name + "/gamma"], 1.0), name
        assert not np.allclose(arrays[name + "/beta"], 0.0), name
        assert np.all(arrays[name + "/avg_var"] > 0), name
        assert int(arrays[name + "/N"]) > 0, name
    for entry in cli_fixtures[arch]["batches"]:
        y = np.load(os.path.join(cli_fixtures[arch]["dir"], entry["outputs"][0]["file"]))
        assert (np.abs(y) > 0.99).mean() < 0.01
        assert 0.1 < y.std() < 0.8


def test_discriminator_is_well_scaled(cli_fixtures):
    summary = cli_fixtures["acgan-discriminator"]
    assert all(0.4 < std < 1.1 for std in summary["calibration"].values())
    for item in summary["batches"][1]["outputs"]:
        stats = item["stats"]
        assert 0.2 < stats["std"] < 5 and max(abs(stats["min"]), abs(stats["max"])) < 20, item


@pytest.mark.parametrize("arch,prefix,fmt", [("srresnet-generator", "", "npz"),
                                             ("acgan-discriminator", "predictor/", "h5"),
                                             ("dcgan-generator", "gen/", "h5")])
def test_formats_and_determinism(tmp_path, arch, prefix, fmt):
    hyper = {"srresnet-generator": dict(C=8, B=1, U=1, n=20),
             "acgan-discriminator": dict(widths=(8, 16), size=32, tags=3),
             "dcgan-generator": dict(C=16, n=20)}[arch]
    runs = [make_fixture.make_fixture(arch, str(tmp_path / name), batches=[2], seed=7, prefix=prefix,
                                      fmt=fmt, **hyper) for name in ("a", "b")]
    for summary in runs:
        assert summary["checkpoint"] == "model." + fmt
        assert_reproduces(summary)
    if fmt == "h5":
        with h5py.File(checkpoint_path(runs[0]), "r") as f:
            assert set(f.keys()) == {prefix.strip("/")}
    for a, b in zip(*(batch_arrays(s, s["batches"][0], "outputs") for s in runs)):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def snapshot_fixture(tmp_path_factory):
    """A trainer snapshot of a DCGAN generator (with its companion discriminator)."""
    return run_cli(tmp_path_factory.mktemp("snap"), "--arch", "dcgan-generator", "--C", "16",
                   "--n", "20", "--batch", "2", "--snapshot")


def test_snapshot_layout(snapshot_fixture):
    summary = snapshot_fixture
    assert summary["checkpoint"] == "snapshot_iter_1.npz" and summary["prefix"] == "updater/model:gen/"
    arrays = read_npz(checkpoint_path(summary))
    gen = {k[len("updater/model:gen/"):]: v.shape for k, v in arrays.items()
           if k.startswith("updater/model:gen/")}
    assert gen == LAYOUTS["dcgan-generator"](C=16, n=20)
    dis = {k[len("updater/model:dis/"):] for k in arrays if k.startswith("updater/model:dis/")}
    assert {"downs/0/W", "stages/0/1/c2/W", "last/W", "adv/W", "cls/b"} <= dis
    for role in ("gen", "dis"):
        opt = "updater/optimizer:%s/" % role
        assert int(arrays[opt + "t"]) == 1 and int(arrays[opt + "epoch"]) == 0
    for param in ("fc/W", "bn0/gamma", "d4/b"):
        key = "updater/optimizer:gen/" + param
        assert arrays[key + "/m"].shape == gen[param] and arrays[key + "/v"].shape == gen[param]
        assert int(arrays[key + "/t"]) == 1
    assert np.any(arrays["updater/optimizer:gen/fc/W/v"] > 0)
    for key in ("updater/iteration", "updater/iterator:main/order", "stop_trigger/previous_iteration",
                "extensions/LogReport/_log", "_snapshot_elapsed_time"):
        assert key in arrays, key
    assert int(arrays["updater/iteration"]) == 1


def test_snapshot_reproduces(snapshot_fixture):
    assert_reproduces(snapshot_fixture)


def test_snapshot_of_discriminator(tmp_path):
    summary = make_fixture.make_fixture("acgan-discriminator", str(tmp_path), batches=[2], snapshot=True,
                                        widths=(8, 16), size=32, tags=3)
    assert summary["prefix"] == "updater/model:dis/"
    arrays = read_npz(checkpoint_path(summary))
    assert "updater/model:gen/fc/W" in arrays and "updater/optimizer:dis/downs/0/W/m" in arrays
    assert_reproduces(summary)


def test_lazy_parameter_npz_and_h5(tmp_path):
    hyper = dict(C=16, n=20)
    npz = make_fixture.make_fixture("dcgan-generator", str(tmp_path / "n"), batches=[1],
                                    prefix="predictor/", lazy=["fc/W", "d2/b"], **hyper)
    arrays = read_npz(checkpoint_path(npz))
    for key in ("predictor/fc/W", "predictor/d2/b"):
        assert arrays[key].dtype == object and arrays[key].shape == () and arrays[key].item() is None
    assert arrays["predictor/fc/b"].shape == (256,)
    h5 = make_fixture.make_fixture("dcgan-generator", str(tmp_path / "h"), batches=[1], fmt="h5",
                                   prefix="predictor/", lazy=["fc/W"], **hyper)
    with h5py.File(checkpoint_path(h5), "r") as f:
        assert f["predictor/fc/W"].shape is None and f["predictor/fc/b"].shape == (256,)
    assert npz["lazy"] == ["fc/W", "d2/b"]


def test_lazy_in_snapshot_has_no_optimizer_state(tmp_path):
    summary = make_fixture.make_fixture("dcgan-generator", str(tmp_path), batches=[1], snapshot=True,
                                        lazy=["fc/W"], C=16, n=20)
    arrays = read_npz(checkpoint_path(summary))
    assert arrays["updater/model:gen/fc/W"].item() is None
    assert "updater/optimizer:gen/fc/W/t" in arrays
    assert "updater/optimizer:gen/fc/W/m" not in arrays and "updater/optimizer:gen/fc/b/m" in arrays


def test_unknown_lazy_key_fails_cleanly(tmp_path):
    cmd = [sys.executable, SCRIPT, "--arch", "dcgan-generator", "--C", "16", "--n", "20",
           "--out", str(tmp_path), "--lazy", "no/such"]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1 and "no/such" in proc.stderr and proc.stderr.count("\n") == 1
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize("dtype,atol", [("float64", REPRODUCE_ATOL), ("float16", FLOAT16_ATOL)])
@pytest.mark.parametrize("fmt", ["npz", "h5"])
def test_dtype(tmp_path, dtype, atol, fmt):
    summary = make_fixture.make_fixture("srresnet-generator", str(tmp_path), batches=[2], fmt=fmt,
                                        dtype=dtype, C=8, B=1, U=1, n=20)
    if fmt == "npz":
        arrays = read_npz(checkpoint_path(summary))
    else:
        arrays = read_h5(checkpoint_path(summary))
    floats = {k: v for k, v in arrays.items() if not k.endswith("/N")}
    assert floats and all(v.dtype == np.dtype(dtype) for v in floats.values())
    assert_reproduces(summary, atol=atol)


def test_dtype_snapshot_casts_optimizer_state(tmp_path):
    summary = make_fixture.make_fixture("dcgan-generator", str(tmp_path), batches=[1], snapshot=True,
                                        dtype="float16", C=16, n=20)
    arrays = read_npz(checkpoint_path(summary))
    assert arrays["updater/model:dis/adv/W"].dtype == np.float16
    assert arrays["updater/optimizer:gen/fc/W/m"].dtype == np.float16
    assert arrays["updater/optimizer:gen/t"].dtype.kind == "i"
    assert_reproduces(summary, atol=FLOAT16_ATOL)


def test_cli_rejects_misplaced_options(tmp_path):
    for args in (["--arch", "acgan-discriminator", "--B", "2"],
                 ["--snapshot", "--format", "h5"], ["--snapshot", "--prefix", "gen/"]):
        proc = subprocess.run([sys.executable, SCRIPT, "--out", str(tmp_path), *args],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert proc.returncode == 2 and "error" in proc.stderr, args
