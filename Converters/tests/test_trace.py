# Tests the Chainer tracer: IR text structure and canonical form, and a NumPy evaluation of it against Chainer.
"""The tracer's IR is checked by an independent parser/evaluator (``moeir_numpy``):
it must be well-formed ``moeir 1`` text whose evaluation reproduces Chainer."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import chainer
import chainer.functions as F
import chainer.links as L
from chainer.functions.array.broadcast import BroadcastTo

import fixture_calibrate
import make_fixture
import moe_zoo
import moeir_numpy
import moeir_text
import trace as tracer

#: NumPy evaluation of the traced IR vs Chainer's float32 forward.
EVAL_ATOL = 1e-5

CHAINER_DIR = os.path.dirname(moe_zoo.__file__)
TINY_UNET = os.path.join(CHAINER_DIR, "examples", "tiny_unet.py")
TRACE_SCRIPT = os.path.join(CHAINER_DIR, "trace.py")


def randomise_state(model, seed=0):
    """Non-trivial biases and BatchNorm state (as the fixture maker does, without a forward)."""
    rng = np.random.RandomState(seed)
    fixture_calibrate.randomise_biases(model, rng)
    for link in model.links():
        if isinstance(link, L.BatchNormalization):
            c = link.avg_mean.shape
            link.gamma.array[...] = rng.uniform(0.5, 1.5, c)
            link.beta.array[...] = rng.normal(0, 0.1, c)
            link.avg_mean[...] = rng.normal(0, 0.3, c)
            link.avg_var[...] = rng.uniform(0.3, 2.0, c)
    return model


def tiny_unet(**kwargs):
    """A TinyUNet with non-trivial state."""
    model = tracer.load_model(TINY_UNET, "TinyUNet", kwargs)
    return randomise_state(model)


def chainer_forward(model, *inputs):
    """Chainer's test-mode outputs as a tuple."""
    y = make_fixture.run_test_mode(model, *inputs)
    return y if isinstance(y, tuple) else (y,)


def evaluate(result, inputs):
    """Parses the traced text and evaluates it with NumPy on ``inputs``."""
    graph = moeir_numpy.parse(result.text)
    out = moeir_numpy.evaluate(graph, result.weights, inputs)
    return [out[name] for name in graph.outputs]


def assert_matches_chainer(model, result, inputs):
    """NumPy evaluation of ``result`` equals Chainer's forward on ``inputs``."""
    want = chainer_forward(model, *inputs.values())
    got = evaluate(result, inputs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=0, atol=EVAL_ATOL)


def example(shape, seed=1):
    return np.random.RandomState(seed).standard_normal(shape).astype(np.float32)


@pytest.fixture(scope="module")
def unet_trace():
    """TinyUNet traced at batch 2."""
    model = tiny_unet()
    result = tracer.trace(model, {"x": example((2, 3, 16, 16))}, ["img"], weights_file="u.weights.npz")
    return model, result


def test_line_kinds_and_metadata(unet_trace):
    _, result = unet_trace
    graph = moeir_numpy.parse(result.text)
    assert re.fullmatch(r"moeir graph (meta )*(input )+(weight )*(node )+(output )+",
                        " ".join(graph.kinds) + " ")
    assert graph.name == "TinyUNet"
    assert graph.meta == {"arch": "traced", "source": "chainer-trace", "weights": "u.weights.npz"}
    meta_lines = [l for l in result.text.splitlines() if l.startswith("meta ")]
    assert meta_lines == sorted(meta_lines)
    assert graph.inputs == [("x", ["N", 3, 16, 16])]
    assert graph.outputs == ["img"]
    assert "\n\n" not in result.text and result.text.endswith("\n")


def test_ssa_and_topological_order(unet_trace):
    _, result = unet_trace
    graph = moeir_numpy.parse(result.text)
    defined = {name for name, _ in graph.inputs + graph.weights}
    assert len(defined) == len(graph.inputs) + len(graph.weights)
    node_names = set()
    for node in graph.nodes:
        assert all(i in defined for i in node.inputs), node
        assert not set(node.outputs) & defined, node
        defined.update(node.outputs)
        assert node.name not in node_names
        node_names.add(node.name)
    assert all(o in defined for o in graph.outputs)


def test_weights_match_namedparams(unet_trace):
    model, result = unet_trace
    graph = moeir_numpy.parse(result.text)
    expected = {k.lstrip("/"): list(p.shape) for k, p in model.namedparams()}
    for path, link in model.namedlinks(skipself=True):
        if isinstance(link, L.BatchNormalization):
            for name in ("avg_mean", "avg_var"):
                expected[path.strip("/") + "/" + name] = list(getattr(link, name).shape)
    assert dict(graph.weights) == expected
    assert list(result.weights) == [name for name, _ in graph.weights]
    params = {k.lstrip("/"): p.array for k, p in model.namedparams()}
    for name, array in result.weights.items():
        assert array.dtype == np.float32
        if name in params:
            np.testing.assert_array_equal(array, params[name])


def test_ops_attributes_and_canonical_form(unet_trace):
    _, result = unet_trace
    graph = moeir_numpy.parse(result.text)
    ops = {n.op for n in graph.nodes}
    assert ops >= {"conv2d", "conv_transpose2d", "batch_norm", "relu", "leaky_relu", "tanh",
                   "sigmoid", "depth_to_space", "reshape", "concat", "add", "mul", "linear", "constant"}
    for node in graph.nodes:
        assert tuple(node.attr_order) == moeir_text.OP_ATTRIBUTES[node.op], node
    by_name = {n.name: n for n in graph.nodes}
    assert by_name["enc1"].attrs == {"strides": [2, 2], "pads": [1, 1, 1, 1], "dilations": [1, 1],
                                     "groups": 1}
    assert by_name["up1"].attrs["output_padding"] == [0, 0]
    assert by_name["bn_e0"].inputs[1:] == ["bn_e0/gamma", "bn_e0/beta", "bn_e0/avg_mean", "bn_e0/avg_var"]
    assert 'batch_norm(' in result.text and "{eps=2e-05}" in result.text
    assert "{alpha=0.1}" in result.text and "{block_size=2, mode=DCR}" in result.text
    reshapes = [n.attrs["shape"] for n in graph.nodes if n.op == "reshape"]
    assert reshapes and all(s[0] == 0 for s in reshapes)
    rebuilt = moeir_text.Graph(graph.name, graph.meta, graph.inputs, graph.weights, [
        moeir_text.Node(n.name, n.op, n.inputs, n.outputs,
                        [(k, _typed(v)) for k, v in n.attrs.items()]) for n in graph.nodes],
        graph.outputs)
    assert moeir_text.render(rebuilt) == result.text


def _typed(value):
    """Parsed attribute back to the printer's types."""
    if isinstance(value, float):
        return moeir_text.FloatValue(value)
    if isinstance(value, str):
        return moeir_text.Identifier(value)
    return value


@pytest.mark.parametrize("batch", [1, 3])
def test_numpy_evaluation_matches_chainer(unet_trace, batch):
    model, result = unet_trace
    assert_matches_chainer(model, result, {"x": example((batch, 3, 16, 16), seed=batch)})


def test_cli_with_checkpoint(tmp_path):
    source = tiny_unet(ch=2)
    chainer_forward(source, example((1, 3, 8, 8)))  # initialises the lazy gate/W
    checkpoint = str(tmp_path / "model.npz")
    chainer.serializers.save_npz(checkpoint, source)
    out = str(tmp_path / "unet.moeir")
    cmd = [sys.executable, TRACE_SCRIPT, "--module", TINY_UNET, "--model", "TinyUNet",
           "--kwargs", '{"ch": 2}', "--input-shape", "x:2,3,8,8", "--output-names", "img",
           "-o", out, "--checkpoint", checkpoint]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    with open(out) as f:
        text = f.read()
    graph = moeir_numpy.parse(text)
    assert graph.meta["weights"] == "unet.weights.npz"
    with np.load(str(tmp_path / graph.meta["weights"])) as f:
        weights = {k: f[k] for k in f.files}
    x = example((3, 3, 8, 8))
    got = moeir_numpy.evaluate(graph, weights, {"x": x})["img"]
    np.testing.assert_allclose(got, chainer_forward(source, x)[0], rtol=0, atol=EVAL_ATOL)


@pytest.mark.parametrize("arch,hyper,inputs,outputs", [
    ("srresnet-generator", dict(C=4, B=1, U=1, n=20), {"z": (2, 20)}, ["img"]),
    ("dcgan-generator", dict(C=16, n=20), {"z": (2, 20)}, ["img"]),
    ("acgan-discriminator", dict(widths=(4, 8), size=16, tags=3), {"x": (2, 3, 16, 16)}, ["adv", "cls"]),
])
def test_zoo_models_trace(arch, hyper, inputs, outputs):
    spec = moe_zoo.ARCHITECTURES[arch]
    model = make_fixture.build_model(arch, 0, **hyper)
    rng = np.random.RandomState(0)
    calib = make_fixture.sample_inputs(model, spec.role, rng, 4)
    fixture_calibrate.calibrate(model, rng, calib, spec.role, spec.last)
    arrays = {k: example(s) for k, s in inputs.items()}
    result = tracer.trace(model, arrays, outputs)
    graph = moeir_numpy.parse(result.text)
    assert graph.outputs == outputs
    params = {k.lstrip("/") for k, _ in model.namedparams()}
    assert params <= set(result.weights)
    batch3 = {k: example((3,) + s[1:], seed=5) for k, s in inputs.items()}
    assert_matches_chainer(model, result, batch3)


class Pooled(chainer.Chain):
    """Uses functions the IR cannot express (F.max_pooling_2d is Chainer's MaxPoolingND)."""

    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.c = L.Convolution2D(3, 4, ksize=3, pad=1)

    def forward(self, x):
        h = F.max_pooling_2d(self.c(x), 2)
        h = F.softplus(F.average_pooling_2d(h, 2), beta=2.0)
        return F.max_pooling_2d(h, 2)


def test_unsupported_functions_listed_at_once():
    with pytest.raises(tracer.TraceError) as info:
        tracer.trace(Pooled(), {"x": example((2, 3, 16, 16))}, ["y"])
    message = str(info.value)
    assert "\n" not in message
    assert "MaxPoolingND" in message and "(x2)" in message
    assert "AveragePooling2D" in message and "beta=2" in message


def test_unsupported_cli_exit_status(tmp_path):
    module = tmp_path / "pooled.py"
    module.write_text("import chainer.functions as F, chainer\n"
                      "class P(chainer.Chain):\n"
                      "    def forward(self, x):\n"
                      "        return F.max_pooling_2d(x, 2)\n")
    out = tmp_path / "p.moeir"
    cmd = [sys.executable, TRACE_SCRIPT, "--module", str(module), "--model", "P",
           "--input-shape", "x:1,3,8,8", "--output-names", "y", "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "MaxPoolingND" in proc.stderr
    assert sorted(os.listdir(str(tmp_path))) == ["pooled.py"]


class Misc(chainer.Chain):
    """Constants, transposes, multi-add, broadcast_to, softplus and a repeated output."""

    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.fc = L.Linear(6, 6)

    def forward(self, x):
        h = self.fc(x)
        t = F.transpose(F.reshape(h, (len(h), 2, 3)), (0, 2, 1))
        t = F.reshape(t, (len(h), 6))
        s = F.add(h, t, BroadcastTo(h.shape).apply((-h,))[0])
        u = 1.5 - F.softplus(s) * 2 + (-t)
        return u, u, F.sigmoid(s)


def test_misc_ops_and_repeated_outputs():
    model = randomise_state(Misc())
    result = tracer.trace(model, {"x": example((2, 6))}, ["a", "b", "c"])
    graph = moeir_numpy.parse(result.text)
    ops = [n.op for n in graph.nodes]
    assert {"transpose", "softplus", "constant", "sub", "identity"} <= set(ops)
    assert ops.count("add") == 3 and ops.count("identity") == 2
    assert graph.outputs == ["a", "b", "c"]
    assert_matches_chainer(model, result, {"x": example((4, 6), seed=9)})


def test_batch_merging_reshape_and_broadcast_are_refused():
    class Bad(chainer.Chain):
        def forward(self, x):
            return F.reshape(x, (-1,)) + F.broadcast_to(F.reshape(x[0:1, 0], (1,)), (x.size,))

    with pytest.raises(tracer.TraceError) as info:
        tracer.trace(Bad(), {"x": example((2, 3))}, ["y"])
    message = str(info.value)
    assert "changes the batch axis" in message and "GetItem" in message
    assert "BroadcastTo" in message


def test_output_count_mismatch():
    with pytest.raises(tracer.TraceError, match="2 output name"):
        tracer.trace(tiny_unet(ch=2), {"x": example((1, 3, 8, 8))}, ["a", "b"])


@pytest.mark.parametrize("value,text", [(2e-5, "2e-05"), (0.2, "0.2"), (1, "1.0"), (1e7, "10000000.0"),
                                        (2e7, "2e+07"), (1e-4, "0.0001"), (1.5e-5, "1.5e-05"),
                                        (float("inf"), "inf"), (-0.5, "-0.5"), (123456.79, "123456.79")])
def test_swift_float_format(value, text):
    assert moeir_text.swift_float(value) == text


def test_value_names_are_quoted_when_needed():
    assert moeir_text.value_ref("res/0/c1") == "%res/0/c1"
    assert moeir_text.value_ref("a b") == '%"a b"'
    assert moeir_text.quote('x"\\\n\t') == '"x\\"\\\\\\n\\t"'
