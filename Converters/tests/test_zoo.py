# Tests the Chainer reference zoo, the fixture maker and the NPZ corrupter against CONTRACTS.md §3.
"""Checks that the Chainer reference models write exactly the contracted keys and
that fixtures reload and reproduce their recorded outputs."""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

import chainer
from chainer.serializers import HDF5Deserializer

import corrupt_npz
import make_fixture
import moe_zoo

#: Reloaded model vs recorded output, same batching: only the file round trip differs.
REPRODUCE_ATOL = 1e-6
#: Whole-batch forward vs the fixture's chunked forward (float rounding only).
BATCHING_ATOL = 1e-5

SMALL = dict(C=8, B=2, U=1, n=20)


def bn_keys(name, channels):
    """Keys and shapes of one BatchNormalization link."""
    return {name + "/gamma": (channels,), name + "/beta": (channels,),
            name + "/avg_mean": (channels,), name + "/avg_var": (channels,), name + "/N": ()}


def conv_keys(name, cout, cin, k):
    """Keys and shapes of one Convolution2D link (W is out, in, kh, kw)."""
    return {name + "/W": (cout, cin, k, k), name + "/b": (cout,)}


def expected_srresnet_keys(C, B, U, n):
    """The srresnet-generator key layout of CONTRACTS.md §3."""
    keys = {"fc/W": (C * 256, n), "fc/b": (C * 256,)}
    keys.update(bn_keys("bn0", C))
    for i in range(B):
        keys.update(conv_keys("res/%d/c1" % i, C, C, 3))
        keys.update(bn_keys("res/%d/b1" % i, C))
        keys.update(conv_keys("res/%d/c2" % i, C, C, 3))
        keys.update(bn_keys("res/%d/b2" % i, C))
    keys.update(conv_keys("cm", C, C, 3))
    keys.update(bn_keys("bnm", C))
    for j in range(U):
        keys.update(conv_keys("up/%d/c" % j, 4 * C, C, 3))
        keys.update(bn_keys("up/%d/b" % j, C))
    keys.update(conv_keys("out", 3, C, 9))
    return keys


def read_npz(path):
    """All arrays of an NPZ file."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def load_checkpoint(summary):
    """A fresh model loaded from a fixture's checkpoint, honouring its prefix and format."""
    model = moe_zoo.ARCHITECTURES[summary["arch"]](
        C=summary["C"], B=summary["B"], U=summary["U"], n=summary["n"])
    prefix = summary["prefix"]
    if summary["format"] == "npz":
        chainer.serializers.load_npz(summary["checkpoint"], model, path=prefix)
    else:
        with h5py.File(summary["checkpoint"], "r") as f:
            group = f[prefix.strip("/")] if prefix else f
            HDF5Deserializer(group).load(model)
    return model


@pytest.fixture(scope="module")
def small_fixture(tmp_path_factory):
    """A small fixture written through the command line, with a trainer-snapshot prefix."""
    out = tmp_path_factory.mktemp("fixture")
    script = os.path.join(os.path.dirname(moe_zoo.__file__), "make_fixture.py")
    cmd = [sys.executable, script, "--arch", "srresnet-generator", "--C", "8", "--B", "2",
           "--U", "1", "--n", "136", "--seed", "3", "--batch", "1", "--batch", "5",
           "--out", str(out), "--prefix", "updater/model:main/"]
    env = dict(os.environ, SETUPTOOLS_USE_DISTUTILS="stdlib")
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0])


def test_srresnet_keys_and_shapes(tmp_path):
    model = moe_zoo.SRResNetGenerator(**SMALL)
    path = tmp_path / "model.npz"
    chainer.serializers.save_npz(str(path), model)
    arrays = read_npz(path)
    expected = expected_srresnet_keys(**SMALL)
    assert sorted(arrays) == sorted(expected)
    for key, shape in expected.items():
        assert arrays[key].shape == shape, key
        if key.endswith("/N"):
            assert arrays[key].dtype.kind in "iu", key
        else:
            assert arrays[key].dtype == np.float32, key


def test_srresnet_output_shape():
    model = moe_zoo.SRResNetGenerator(C=8, B=1, U=2, n=20)
    z = np.random.RandomState(0).standard_normal((2, 20)).astype(np.float32)
    y = make_fixture.run_test_mode(model, z)
    assert model.output_size == 64
    assert y.shape == (2, 3, 64, 64) and y.dtype == np.float32
    assert np.all(np.abs(y) <= 1)


def test_cli_fixture_reproduces(small_fixture):
    summary = small_fixture
    model = load_checkpoint(summary)
    assert [o["batch"] for o in summary["outputs"]] == [1, 5]
    for entry in summary["outputs"]:
        b = entry["batch"]
        z, y = np.load(entry["z"]), np.load(entry["out"])
        assert z.shape == (b, 136) and z.dtype == np.float32
        assert set(np.unique(z[:, 128:])) <= {-1.0, 1.0}
        assert y.shape == (b, 3, 32, 32) and y.dtype == np.float32
        again = make_fixture.run_test_mode(model, z, summary["chunk"])
        np.testing.assert_allclose(again, y, rtol=0, atol=REPRODUCE_ATOL)
        whole = make_fixture.run_test_mode(model, z, 0)
        np.testing.assert_allclose(whole, y, rtol=0, atol=BATCHING_ATOL)


def test_cli_fixture_keys_under_prefix(small_fixture):
    arrays = read_npz(small_fixture["checkpoint"])
    prefix = "updater/model:main/"
    assert all(k.startswith(prefix) for k in arrays)
    shapes = {k[len(prefix):]: v.shape for k, v in arrays.items()}
    assert shapes == expected_srresnet_keys(C=8, B=2, U=1, n=136)


def test_bn_state_is_not_trivial(small_fixture):
    arrays = read_npz(small_fixture["checkpoint"])
    bn_names = {k.rsplit("/", 1)[0] for k in arrays if k.endswith("/avg_var")}
    assert len(bn_names) == 1 + 2 * 2 + 1 + 1
    for name in bn_names:
        assert not np.allclose(arrays[name + "/avg_var"], 1.0), name
        assert not np.allclose(arrays[name + "/avg_mean"], 0.0), name
        assert not np.allclose(arrays[name + "/gamma"], 1.0), name
        assert not np.allclose(arrays[name + "/beta"], 0.0), name
        assert np.all(arrays[name + "/avg_var"] > 0), name
        assert int(arrays[name + "/N"]) > 0, name


def test_outputs_not_saturated(small_fixture):
    for entry in small_fixture["outputs"]:
        y = np.load(entry["out"])
        assert (np.abs(y) > 0.99).mean() < 0.01
        assert 0.1 < y.std() < 0.8


@pytest.mark.parametrize("prefix,fmt", [("", "npz"), ("predictor/", "h5")])
def test_fixture_formats_and_determinism(tmp_path, prefix, fmt):
    runs = []
    for name in ("a", "b"):
        summary = make_fixture.make_fixture("srresnet-generator", seed=7, batches=[2],
                                            out_dir=str(tmp_path / name), prefix=prefix,
                                            fmt=fmt, **SMALL)
        runs.append(summary)
        model = load_checkpoint(summary)
        entry = summary["outputs"][0]
        again = make_fixture.run_test_mode(model, np.load(entry["z"]), summary["chunk"])
        np.testing.assert_allclose(again, np.load(entry["out"]), rtol=0, atol=REPRODUCE_ATOL)
    ya, yb = (np.load(s["outputs"][0]["out"]) for s in runs)
    np.testing.assert_array_equal(ya, yb)


def test_save_npz_without_prefix_matches_chainer(tmp_path):
    summary = make_fixture.make_fixture("srresnet-generator", seed=1, batches=[1],
                                        out_dir=str(tmp_path), **SMALL)
    assert sorted(read_npz(summary["checkpoint"])) == sorted(expected_srresnet_keys(**SMALL))


def test_corrupt_npz(tmp_path):
    source = tmp_path / "in.npz"
    chainer.serializers.save_npz(str(source), moe_zoo.SRResNetGenerator(**SMALL))
    out = str(tmp_path / "out.npz")
    key = "bn0/gamma"

    def run(*args):
        assert corrupt_npz.main([str(source), out, *args]) == 0
        with np.load(out, allow_pickle=True) as f:
            return {k: f[k] for k in f.files}

    assert key not in run("--missing", key)
    assert run("--wrong-shape", key)[key].shape == (9,)
    assert run("--wrong-dtype", key + ":int32")[key].dtype == np.int32
    obj = run("--object", key)[key]
    assert obj.dtype == object and obj.shape == () and obj.item() is None
    assert run("--extra", "extra/W")["extra/W"].shape == (3,)
    with pytest.raises(SystemExit):
        corrupt_npz.main([str(source), out, "--missing", "no/such/key"])
