# The op conformance corpus: one small IR graph per op and attribute form, seeded inputs, and expected outputs
# computed independently (NumPy in float64, or ONNX Runtime on the equivalent onnx.helper model).
"""Writes ``DIR/cases.json`` and, per case, ``NAME.moeir``, ``NAME.inputs.npz`` and ``NAME.expected.npz``.

Every runtime (MoeKit native, moe.js + kernels.wasm) runs each graph on the inputs and must match the expected
outputs to a relative error of 1e-5 (|a - b| / max(|b|, 1)). NaN must match NaN.

    python op_cases.py OUT_DIR [--only SUBSTRING]
"""

import argparse
import itertools
import json
import math
import os
import sys

import numpy as np

RNG = np.random.default_rng(20261130)


def rand(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, size=shape).astype(np.float32)


def ints(v):
    return "[" + ",".join(str(int(i)) for i in v) + "]"


def floats(v):
    return "[" + ",".join(repr(float(np.float32(f))) for f in v) + "]"


def attr_text(attrs):
    if not attrs:
        return ""
    parts = []
    for k, v in attrs:
        if isinstance(v, bool):
            v = "1" if v else "0"
        elif isinstance(v, (list, tuple)):
            v = floats(v) if any(isinstance(i, float) for i in v) else ints(v)
        elif isinstance(v, float):
            v = repr(float(np.float32(v)))
        parts.append("%s=%s" % (k, v))
    return " {" + ", ".join(parts) + "}"


def dtype_name(a):
    return {np.dtype(np.float32): "f32", np.dtype(np.bool_): "bool"}[a.dtype]


class Corpus:
    def __init__(self, out, only):
        self.out, self.only, self.cases = out, only, []

    def add(self, name, op, inputs, expected, attrs=(), outputs=None):
        """One single-node graph: ``inputs`` is a list of (name, array); ``expected`` a list of arrays."""
        if self.only and self.only not in name:
            return
        outputs = outputs or ["y%d" % i for i in range(len(expected))] if len(expected) > 1 else (outputs or ["y"])
        lines = ["moeir 1", 'graph "%s"' % name]
        for n, a in inputs:
            lines.append("input %%%s : %s%s" % (n, dtype_name(a), ints(a.shape)))
        lines.append('node "%s" %s = %s(%s)%s' % (
            op, ", ".join("%" + o for o in outputs), op, ", ".join("%" + n for n, _ in inputs), attr_text(attrs)))
        for o in outputs:
            lines.append("output %" + o)
        base = os.path.join(self.out, name)
        with open(base + ".moeir", "w") as f:
            f.write("\n".join(lines) + "\n")
        np.savez(base + ".inputs.npz", **{n: a for n, a in inputs})
        exp = {}
        for o, e in zip(outputs, expected):
            e = np.asarray(e)
            exp[o] = e.astype(np.float32) if e.dtype != np.bool_ else e
        np.savez(base + ".expected.npz", **exp)
        self.cases.append({"name": name, "op": op, "outputs": outputs})


def f32(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32)


# ---- ONNX Runtime as the reference for pooling, resize and space-to-depth ---------------------------------------

def ort_run(op_type, x, attrs, extra_inputs=(), opset=19):
    import onnx
    from onnx import TensorProto, helper
    import onnxruntime as ort

    inits, names = [], ["x"]
    for i, (n, arr) in enumerate(extra_inputs):
        if arr is None:
            names.append("")
            continue
        inits.append(helper.make_tensor(n, TensorProto.FLOAT if arr.dtype == np.float32 else TensorProto.INT64,
                                        arr.shape, arr.flatten().tolist()))
        names.append(n)
    node = helper.make_node(op_type, names, ["y"], **attrs)
    graph = helper.make_graph([node], "case", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 9
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


# ---- the cases ------------------------------------------------------------------------------------------------

UNARY = {
    "relu": (lambda x: np.maximum(x, 0), (-3, 3)),
    "tanh": (np.tanh, (-4, 4)),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), (-8, 8)),
    "softplus": (lambda x: np.log1p(np.exp(x)), (-8, 8)),
    "neg": (np.negative, (-3, 3)),
    "exp": (np.exp, (-5, 5)),
    "log": (np.log, (0.05, 20)),
    "sqrt": (np.sqrt, (0, 20)),
    "reciprocal": (np.reciprocal, (0.2, 5)),
    "abs": (np.abs, (-3, 3)),
    "square": (np.square, (-3, 3)),
    "sign": (np.sign, (-3, 3)),
    "erf": (np.vectorize(math.erf), (-4.5, 4.5)),
    "mish": (lambda x: x * np.tanh(np.logaddexp(0, x)), (-10, 10)),
}

BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "max": np.maximum, "min": np.minimum, "greater": np.greater, "less": np.less, "equal": np.equal,
}

BROADCAST_PAIRS = [
    ((2, 3, 4, 5), (2, 3, 4, 5)), ((2, 3, 4, 5), (3, 1, 1)), ((1,), (2, 3, 4)), ((2, 3, 4), (1,)),
    ((2, 1, 4, 1), (1, 3, 1, 5)), ((3, 1), (4,)), ((5,), (2, 1, 5)), ((), (2, 2)), ((2, 3, 1, 1), (2, 3, 4, 5)),
]


def elementwise(c):
    for name, (f, (lo, hi)) in UNARY.items():
        x = rand(2, 3, 4, 5, lo=lo, hi=hi)
        if name == "sign":
            x[0, 0, 0, :2] = 0
        c.add("unary_" + name, name, [("x", x)], [f32(f(x.astype(np.float64)))])
    for name, f in BINARY.items():
        for k, (sa, sb) in enumerate(BROADCAST_PAIRS):
            lo = 0.2 if name in ("pow", "div") else -2
            a, b = rand(*sa, lo=lo), rand(*sb, lo=lo)
            if name in ("equal", "greater", "less", "max", "min"):  # small integers: ties are common
                a, b = np.round(a).astype(np.float32), np.round(b).astype(np.float32)
            r = f(a.astype(np.float64), b.astype(np.float64))
            c.add("binary_%s_%d" % (name, k), name, [("a", a), ("b", b)], [r if r.dtype == np.bool_ else f32(r)])
    x = rand(2, 3, 4, 5, lo=-3, hi=3)
    c.add("leaky_relu", "leaky_relu", [("x", x)], [f32(np.where(x >= 0, x, 0.2 * x))], [("alpha", 0.2)])
    c.add("clip", "clip", [("x", x)], [f32(np.clip(x, -1.5, 0.75))], [("min", -1.5), ("max", 0.75)])
    for k, slope_shape in enumerate([(3, 1, 1), (1,), (2, 3, 4, 5)]):
        s = rand(*slope_shape, lo=0, hi=0.5)
        c.add("prelu_%d" % k, "prelu", [("x", x), ("slope", s)], [f32(np.where(x >= 0, x, x * s))])
    for k, (sc, sa, sb) in enumerate([((2, 3, 4, 5),) * 3, ((3, 1, 1), (2, 3, 4, 5), (1,)), ((4, 1), (3, 1, 5), (5,))]):
        cond = RNG.uniform(size=sc) < 0.5
        a, b = rand(*sa), rand(*sb)
        c.add("where_%d" % k, "where", [("cond", cond), ("a", a), ("b", b)], [f32(np.where(cond, a, b))])
    y = rand(2, 3, 4, 5, lo=-3, hi=3)
    y[0, 0, 0, :3] = [1.7, -2.9, 0.0]
    c.add("cast_bool", "cast", [("x", y)], [y != 0], [("to", "bool")])
    c.add("cast_i64", "cast", [("x", y)], [f32(np.trunc(y))], [("to", "i64")])


def reductions(c):
    x = rand(2, 3, 4, 5)
    funcs = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}
    for name, f in funcs.items():
        for r in range(0, 5):
            for axes in itertools.combinations(range(4), r):
                for keep in (False, True):
                    want = f(x.astype(np.float64), axis=axes if axes else None, keepdims=keep)
                    tag = "".join(map(str, axes)) or "all"
                    c.add("reduce_%s_%s_%s" % (name, tag, "k" if keep else "d"), "reduce_" + name, [("x", x)],
                          [f32(want)], [("axes", list(axes)), ("keepdims", keep)])
    # Negative axes.
    c.add("reduce_sum_neg", "reduce_sum", [("x", x)], [f32(x.astype(np.float64).sum(axis=(-1, -3)))],
          [("axes", [-1, -3]), ("keepdims", False)])
    # sum_to: the adjoint of broadcasting; broadcast_to: broadcasting.
    for k, (xs, ls) in enumerate([((2, 3, 4, 5), (3, 1, 1)), ((2, 3, 4, 5), (1, 3, 1, 5)), ((2, 3, 4, 5), (5,)),
                                  ((2, 3, 4, 5), (2, 3, 4, 5)), ((4, 1, 6), (1, 6)), ((2, 3), ())]):
        a, like = rand(*xs), rand(*ls)
        lead = len(xs) - len(ls)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(ls) if n == 1 and xs[lead + i] != 1)
        want = a.astype(np.float64).sum(axis=axes, keepdims=True).reshape(ls) if axes else a
        c.add("sum_to_%d" % k, "sum_to", [("x", a), ("like", like)], [f32(want)])
        small = rand(*ls)
        c.add("broadcast_to_%d" % k, "broadcast_to", [("x", small), ("like", a)], [np.broadcast_to(small, xs)])
    for k, axis in enumerate([1, -1, 0, 3]):
        z = rand(2, 3, 4, 5, lo=-6, hi=6)
        z64 = z.astype(np.float64)
        e = np.exp(z64 - z64.max(axis=axis, keepdims=True))
        sm = e / e.sum(axis=axis, keepdims=True)
        c.add("softmax_%d" % k, "softmax", [("x", z)], [f32(sm)], [("axis", axis)])
        c.add("log_softmax_%d" % k, "log_softmax", [("x", z)], [f32(np.log(sm))], [("axis", axis)])
    # Global pools.
    g = rand(2, 3, 5, 7)
    c.add("global_average_pool", "global_average_pool", [("x", g)], [f32(g.astype(np.float64).mean(axis=(2, 3), keepdims=True))])
    c.add("global_max_pool", "global_max_pool", [("x", g)], [g.max(axis=(2, 3), keepdims=True)])


def norms(c):
    for k, shape in enumerate([(2, 4, 5, 6), (3, 6, 7), (1, 8, 2, 3)]):
        x = rand(*shape) * 3 + 1
        ch = shape[1]
        scale, bias = rand(ch), rand(ch)
        bshape = (1, ch) + (1,) * (len(shape) - 2)
        x64 = x.astype(np.float64)
        axes = tuple(range(2, len(shape)))
        m, v = x64.mean(axis=axes, keepdims=True), x64.var(axis=axes, keepdims=True)
        want = (x64 - m) / np.sqrt(v + 1e-5) * scale.reshape(bshape) + bias.reshape(bshape)
        c.add("instance_norm_%d" % k, "instance_norm", [("x", x), ("scale", scale), ("bias", bias)], [f32(want)],
              [("eps", 1e-5)])
        for groups in (1, 2, ch):
            xg = x64.reshape((shape[0], groups, -1))
            mg, vg = xg.mean(axis=2, keepdims=True), xg.var(axis=2, keepdims=True)
            want = ((xg - mg) / np.sqrt(vg + 1e-5)).reshape(shape) * scale.reshape(bshape) + bias.reshape(bshape)
            c.add("group_norm_%d_g%d" % (k, groups), "group_norm", [("x", x), ("scale", scale), ("bias", bias)],
                  [f32(want)], [("groups", groups), ("eps", 1e-5)])
        baxes = (0,) + axes
        bm, bv = x64.mean(axis=baxes), x64.var(axis=baxes)
        gamma, beta = rand(ch), rand(ch)
        y = (x64 - bm.reshape(bshape)) / np.sqrt(bv.reshape(bshape) + 2e-5) * gamma.reshape(bshape) + beta.reshape(bshape)
        c.add("batch_norm_training_%d" % k, "batch_norm_training", [("x", x), ("gamma", gamma), ("beta", beta)],
              [f32(y), f32(bm), f32(bv)], [("eps", 2e-5)], outputs=["y", "mean", "var"])


def spatial(c):
    x = rand(2, 3, 5, 6)
    for mode in ("constant", "reflect", "edge"):
        for k, pads in enumerate([[0, 0, 1, 2, 0, 0, 2, 1], [0, 1, 2, 0, 0, 0, 0, 3], [1, 0, 0, 1, 0, 2, 1, 0]]):
            width = [(pads[i], pads[i + 4]) for i in range(4)]
            if mode == "constant":
                want = np.pad(x, width, mode="constant", constant_values=0.5)
            else:
                want = np.pad(x, width, mode="reflect" if mode == "reflect" else "edge")
            c.add("pad_%s_%d" % (mode, k), "pad", [("x", x)], [want], [("mode", mode), ("pads", pads), ("value", 0.5)])
    s = rand(2, 3, 4, 6)
    c.add("space_to_depth", "space_to_depth", [("x", s)], [ort_run("SpaceToDepth", s, {"blocksize": 2})], [("block_size", 2)])
    p = rand(2, 3, 9, 8)
    pools = [
        dict(kernel=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0], dilations=[1, 1], ceil=False, cip=False),
        dict(kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], dilations=[1, 1], ceil=False, cip=False),
        dict(kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], dilations=[1, 1], ceil=False, cip=True),
        dict(kernel=[3, 2], strides=[2, 3], pads=[0, 1, 1, 0], dilations=[1, 1], ceil=True, cip=False),
        dict(kernel=[3, 3], strides=[2, 2], pads=[1, 0, 0, 1], dilations=[1, 1], ceil=True, cip=True),
        dict(kernel=[2, 3], strides=[1, 1], pads=[0, 0, 0, 0], dilations=[2, 2], ceil=False, cip=False),
        dict(kernel=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], dilations=[1, 1], ceil=False, cip=False),
    ]
    for k, a in enumerate(pools):
        onnx_attrs = dict(kernel_shape=a["kernel"], strides=a["strides"], pads=a["pads"], dilations=a["dilations"],
                          ceil_mode=int(a["ceil"]))
        ir = [("kernel", a["kernel"]), ("strides", a["strides"]), ("pads", a["pads"]), ("dilations", a["dilations"]),
              ("ceil_mode", a["ceil"])]
        c.add("max_pool_%d" % k, "max_pool", [("x", p)], [ort_run("MaxPool", p, onnx_attrs)], ir)
        avg = dict(onnx_attrs, count_include_pad=int(a["cip"]))
        c.add("average_pool_%d" % k, "average_pool", [("x", p)], [ort_run("AveragePool", p, avg)],
              ir + [("count_include_pad", a["cip"])])
    r = rand(2, 3, 5, 4)
    for mode in ("nearest", "linear"):
        for coord in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"):
            nearest_modes = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil") if mode == "nearest" else ("round_prefer_floor",)
            for nm in nearest_modes:
                for k, scales in enumerate([[2.0, 2.0], [1.5, 3.0], [0.5, 0.75]]):
                    attrs = {"mode": mode, "coordinate_transformation_mode": coord}
                    if mode == "nearest":
                        attrs["nearest_mode"] = nm
                    want = ort_run("Resize", r, attrs, [("roi", None), ("scales", np.array([1, 1] + scales, np.float32))])
                    c.add("resize_%s_%s_%s_%d" % (mode, coord, nm, k), "resize", [("x", r)], [want],
                          [("mode", mode), ("coordinates", coord), ("nearest", nm), ("scales", scales)])


def conv_out(n, k, s, pb, pe, d):
    return (n + pb + pe - d * (k - 1) - 1) // s + 1


def filter_grad(c):
    """conv2d_filter_grad: dW[o, c, i, j] = sum over n, h, w of gy[n, o, h, w] · xpad[n, c, h·s + i·d, w·s + j·d]."""
    forms = [
        dict(x=(2, 3, 6, 7), o=4, k=(3, 3), strides=[1, 1], pads=[1, 1, 1, 1], dil=[1, 1], groups=1),
        dict(x=(2, 4, 8, 8), o=6, k=(4, 4), strides=[2, 2], pads=[1, 1, 1, 1], dil=[1, 1], groups=1),
        dict(x=(1, 4, 7, 6), o=4, k=(3, 2), strides=[2, 1], pads=[0, 1, 2, 0], dil=[2, 1], groups=2),
        dict(x=(3, 2, 5, 5), o=3, k=(1, 1), strides=[1, 1], pads=[0, 0, 0, 0], dil=[1, 1], groups=1),
        dict(x=(2, 16, 6, 6), o=2, k=(3, 3), strides=[1, 1], pads=[1, 1, 1, 1], dil=[1, 1], groups=1),
    ]
    for k_, f in enumerate(forms):
        n, ch, h, w = f["x"]
        (kh, kw), (sh, sw), (dh, dw), g = f["k"], f["strides"], f["dil"], f["groups"]
        pt, pl, pb, pr = f["pads"]
        oh, ow = conv_out(h, kh, sh, pt, pb, dh), conv_out(w, kw, sw, pl, pr, dw)
        x, gy, like = rand(n, ch, h, w), rand(n, f["o"], oh, ow), rand(f["o"], ch // g, kh, kw)
        xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pt, pb), (pl, pr)))
        dw_ = np.zeros(like.shape)
        og, cg = f["o"] // g, ch // g
        for o in range(f["o"]):
            grp = o // og
            for i in range(kh):
                for j in range(kw):
                    patch = xp[:, grp * cg:(grp + 1) * cg, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
                    dw_[o, :, i, j] = np.einsum("nhw,nchw->c", gy[:, o].astype(np.float64), patch)
        c.add("conv2d_filter_grad_%d" % k_, "conv2d_filter_grad", [("x", x), ("gy", gy), ("like", like)], [f32(dw_)],
              [("strides", f["strides"]), ("pads", f["pads"]), ("dilations", f["dil"]), ("groups", g)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    c = Corpus(args.out, args.only)
    for part in (elementwise, reductions, norms, spatial, filter_grad):
        part(c)
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump({"tolerance": 1e-5, "cases": c.cases}, f, indent=1)
    print("op_cases: %d cases in %s" % (len(c.cases), args.out))


if __name__ == "__main__":
    sys.exit(main())
