# Tests the Chainer reference zoo (key layouts, shapes, registry) and the NPZ corrupter against CONTRACTS.md §3.
"""Checks that the Chainer reference models write exactly the contracted keys and shapes."""

import numpy as np
import pytest

import chainer

import corrupt_npz
import make_fixture
import moe_zoo
from layouts import LAYOUTS

SMALL = {
    "srresnet-generator": dict(C=8, B=2, U=1, n=20),
    "acgan-discriminator": dict(widths=(8, 16, 32), size=32, tags=5),
    "dcgan-generator": dict(C=16, n=20),
    "tagger-cnn": dict(widths=(8, 16), size=32, tags=5),
}


def read_npz(path):
    """All arrays of an NPZ file."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("arch", sorted(SMALL))
def test_keys_and_shapes(tmp_path, arch):
    hyper = SMALL[arch]
    path = tmp_path / "model.npz"
    chainer.serializers.save_npz(str(path), moe_zoo.build(arch, **hyper))
    arrays = read_npz(path)
    expected = LAYOUTS[arch](**hyper)
    assert sorted(arrays) == sorted(expected)
    for key, shape in expected.items():
        assert arrays[key].shape == shape, key
        if key.endswith("/N"):
            assert arrays[key].dtype.kind in "iu", key
        else:
            assert arrays[key].dtype == np.float32, key


def test_paper_discriminator_layout():
    model = moe_zoo.ACGANDiscriminator()
    assert model.widths == (32, 64, 128, 256, 512) and model.size == 128 and model.tags == 34
    assert model.final_size == 2 and model.flat_size == 4096
    keys = {k.lstrip("/"): p.shape for k, p in model.namedparams()}
    assert keys == {k: v for k, v in LAYOUTS["acgan-discriminator"](model.widths, 128, 34).items()
                    if not k.endswith(("avg_mean", "avg_var", "/N"))}


def test_srresnet_output_shape():
    model = moe_zoo.SRResNetGenerator(C=8, B=1, U=2, n=20)
    z = np.random.RandomState(0).standard_normal((2, 20)).astype(np.float32)
    y = make_fixture.run_test_mode(model, z)
    assert model.output_size == 64
    assert y.shape == (2, 3, 64, 64) and y.dtype == np.float32
    assert np.all(np.abs(y) <= 1)


def test_discriminator_outputs():
    model = moe_zoo.ACGANDiscriminator(**SMALL["acgan-discriminator"])
    x = np.random.RandomState(0).uniform(-1, 1, (3, 3, 32, 32)).astype(np.float32)
    adv, cls = make_fixture.run_test_mode(model, x)
    assert adv.shape == (3, 1) and cls.shape == (3, 5)


def test_dcgan_output_shape():
    model = moe_zoo.DCGANGenerator(**SMALL["dcgan-generator"])
    z = np.random.RandomState(0).standard_normal((2, 20)).astype(np.float32)
    y = make_fixture.run_test_mode(model, z)
    assert model.output_size == 64 and y.shape == (2, 3, 64, 64)
    assert np.all(np.abs(y) <= 1)
    with pytest.raises(ValueError):
        moe_zoo.DCGANGenerator(C=12)


def test_tagger_outputs_and_any_side():
    model = moe_zoo.TaggerCNN(widths=(4, 8), size=64, tags=5)
    for side in (64, 48):
        x = np.random.RandomState(side).uniform(-1, 1, (2, 3, side, side)).astype(np.float32)
        logits, features = make_fixture.run_test_mode(model, x)
        assert logits.shape == (2, 5) and features.shape == (2, 8)
        # features are the global mean of mix's activation; logits an affine map of them
        np.testing.assert_allclose(logits, features @ model.fc.W.array.T + model.fc.b.array, rtol=1e-5, atol=1e-6)


def test_registry_hyper_parameters():
    names = {a: [h.name for h in s.hyper] for a, s in moe_zoo.ARCHITECTURES.items()}
    assert names == {"srresnet-generator": ["C", "B", "U", "n"],
                     "acgan-discriminator": ["widths", "size", "tags"],
                     "dcgan-generator": ["C", "n"],
                     "tagger-cnn": ["widths", "size", "tags"]}
    dis = moe_zoo.build("acgan-discriminator")
    assert (dis.widths, dis.size, dis.tags) == ((32, 64), 32, 34)
    gen = moe_zoo.build("dcgan-generator")
    assert (gen.C, gen.n) == (64, 162)
    assert moe_zoo.hyper_parameters(dis) == {"widths": [32, 64], "size": 32, "tags": 34}
    assert moe_zoo.int_list("16,32") == (16, 32)
    with pytest.raises(ValueError):
        moe_zoo.build("dcgan-generator", B=3)


def test_corrupt_npz(tmp_path):
    source = tmp_path / "in.npz"
    chainer.serializers.save_npz(str(source), moe_zoo.SRResNetGenerator(**SMALL["srresnet-generator"]))
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
