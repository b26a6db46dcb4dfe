"""Writes ONNX models built with onnx.helper for each newer op and attribute/opset form, with ONNX Runtime's outputs.

Usage: import_cases.py OUT_DIR

For each case: ``NAME.onnx`` (checked with full_check), ``NAME.inputs.npz`` (seeded inputs), ``NAME.expected.npz``
(ONNX Runtime's outputs on them) and an entry in ``cases.json``: {"name", "model", "outputs", "refuse"}. ``refuse``
is set for valid models MoeKit must refuse: a phrase of the documented reason (Formats/onnx.md). The Swift test
(Tests/MoeFormatsTests/ONNXImportNewerTests.swift) imports each model and runs it natively against the expected
outputs at relative error 1e-5 (|a - b| / max(|b|, 1)).
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(20261130)
CASES = []
OUT = None


def rand(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, size=shape).astype(np.float32)


def I(name, vals):
    return helper.make_tensor(name, TensorProto.INT64, [len(vals)], vals)


def W(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def case(name, opset, nodes, inputs, outputs, inits=(), refuse=None, out_types=None, batch=None):
    """One model: ``inputs`` is [(name, array)]; ``batch`` names the first dimension of every input symbolically."""
    vis = []
    for n, a in inputs:
        t = TensorProto.BOOL if a.dtype == np.bool_ else TensorProto.FLOAT
        shape = list(a.shape)
        if batch and shape:
            shape[0] = batch
        vis.append(helper.make_tensor_value_info(n, t, shape))
    out_types = out_types or {}
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    feeds = {n: a for n, a in inputs}

    def model_with(out_shapes):
        outs = [helper.make_tensor_value_info(o, out_types.get(o, TensorProto.FLOAT), s) for o, s in zip(outputs, out_shapes)]
        graph = helper.make_graph(nodes, name, vis, outs, initializer=list(inits))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8 if opset <= 18 else (9 if opset <= 20 else 10)
        return model

    # ONNX Runtime runs the model first (output shapes unknown), then the checked file records them.
    session = ort.InferenceSession(model_with([None] * len(outputs)).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    got = session.run(outputs, feeds)
    model = model_with([list(g.shape) for g in got])
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(OUT, name + ".onnx"))
    np.savez(os.path.join(OUT, name + ".inputs.npz"), **feeds)
    np.savez(os.path.join(OUT, name + ".expected.npz"), **dict(zip(outputs, got)))
    CASES.append({"name": name, "model": name + ".onnx", "outputs": outputs, "refuse": refuse})


def node(op, ins, outs=("y",), **attrs):
    return helper.make_node(op, list(ins), list(outs), name=op.lower() + "_node", **attrs)


def elementwise():
    x = rand(2, 3, 4, 5)
    pos = rand(2, 3, 4, 5, lo=0.1, hi=4)
    for opset in (7, 13):
        for op in ("Sqrt", "Log", "Reciprocal"):
            case("%s_%d" % (op.lower(), opset), opset, [node(op, ["x"])], [("x", pos)], ["y"])
        for op in ("Exp", "Neg", "Abs"):
            case("%s_%d" % (op.lower(), opset), opset, [node(op, ["x"])], [("x", x)], ["y"])
        for op in ("Div", "Pow", "Max", "Min"):
            a, b = (pos, rand(3, 1, 5, lo=0.2)) if op in ("Div", "Pow") else (x, rand(3, 1, 5))
            case("%s_%d" % (op.lower(), opset if op not in ("Max", "Min") else max(opset, 8)), max(opset, 8),
                 [node(op, ["a", "b"])], [("a", a), ("b", b)], ["y"])
        r = np.round(x)
        for op in ("Greater", "Less", "Equal"):
            o = max(opset, 11) if op == "Equal" else max(opset, 9)
            case("%s_%d" % (op.lower(), o), o, [node(op, ["a", "b"])], [("a", r), ("b", np.round(rand(4, 1)))], ["y"],
                 out_types={"y": TensorProto.BOOL})
    case("sign_13", 13, [node("Sign", ["x"])], [("x", np.round(x))], ["y"])
    case("pow_int_exponent_13", 13, [node("Pow", ["x", "e"])], [("x", x)], ["y"], [I("e", [3])])
    three = [("a", x), ("b", rand(3, 1, 5)), ("c", rand(5))]
    for op in ("Max", "Min", "Sum", "Mean"):
        for opset in (8, 13):
            case("%s_variadic_%d" % (op.lower(), opset), opset, [node(op, ["a", "b", "c"])], three, ["y"])
        case("%s_single_13" % op.lower(), 13, [node(op, ["a"])], three[:1], ["y"])
    cond = RNG.uniform(size=(3, 4, 1)) < 0.5
    case("where_9", 9, [node("Where", ["c", "a", "b"])], [("c", cond), ("a", rand(3, 4, 5)), ("b", rand(5))], ["y"])
    case("where_greater_16", 16, [node("Greater", ["a", "b"], ["c"]), node("Where", ["c", "a", "b"])],
         [("a", x), ("b", rand(5))], ["y"])
    y = x.copy()
    y[0, 0, 0, :3] = [1.7, -2.9, 0.0]
    case("cast_bool_13", 13, [node("Cast", ["x"], to=TensorProto.BOOL)], [("x", y)], ["y"], out_types={"y": TensorProto.BOOL})
    case("cast_int64_13", 13, [node("Cast", ["x"], to=TensorProto.INT64)], [("x", y)], ["y"], out_types={"y": TensorProto.INT64})
    case("cast_bool_to_float_9", 9, [node("Less", ["a", "b"], ["c"]), node("Cast", ["c"], to=TensorProto.FLOAT)],
         [("a", x), ("b", rand(5))], ["y"])
    case("cast_uint16_refused", 13, [node("Cast", ["x"], to=TensorProto.UINT16)], [("x", np.abs(y))], ["y"],
         out_types={"y": TensorProto.UINT16}, refuse="Cast to UINT16 is not supported")


def reductions():
    x = rand(2, 3, 4, 5)
    for op in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"):
        t = op[6:].lower()
        case("reduce%s_attr_11" % t, 11, [node(op, ["x"], axes=[1, -1], keepdims=0)], [("x", x)], ["y"])
        case("reduce%s_all_11" % t, 11, [node(op, ["x"])], [("x", x)], ["y"])
        case("reduce%s_input_18" % t, 18, [node(op, ["x", "axes"], keepdims=1)], [("x", x)], ["y"], [I("axes", [0, 2])])
        case("reduce%s_noop_18" % t, 18, [node(op, ["x"], noop_with_empty_axes=1)], [("x", x)], ["y"])
    case("reducesum_input_13", 13, [node("ReduceSum", ["x", "axes"], keepdims=0)], [("x", x)], ["y"], [I("axes", [3])])
    case("reducemean_attr_13", 13, [node("ReduceMean", ["x"], axes=[2, 3])], [("x", x)], ["y"])


def activations():
    x = rand(2, 3, 4, 5, lo=-3, hi=3)
    case("clip_attr_7", 7, [node("Clip", ["x"], min=-1.5, max=0.75)], [("x", x)], ["y"])
    case("clip_min_only_7", 7, [node("Clip", ["x"], min=-0.5)], [("x", x)], ["y"])
    case("clip_inputs_11", 11, [node("Clip", ["x", "lo", "hi"])], [("x", x)], ["y"], [W("lo", -1.0), W("hi", 0.5)])
    case("clip_max_constant_13", 13, [helper.make_node("Constant", [], ["hi"], value_float=0.25), node("Clip", ["x", "", "hi"])],
         [("x", x)], ["y"])
    case("clip_none_13", 13, [node("Clip", ["x"])], [("x", x)], ["y"])
    for opset in (9, 16):
        case("prelu_channel_%d" % opset, opset, [node("PRelu", ["x", "s"])], [("x", x)], ["y"], [W("s", rand(3, 1, 1, lo=0, hi=0.5))])
    case("prelu_scalar_16", 16, [node("PRelu", ["x", "s"])], [("x", x)], ["y"], [W("s", rand(1, lo=0, hi=0.5))])
    z = rand(2, 3, 4, 5, lo=-6, hi=6)
    for op in ("Softmax", "LogSoftmax"):
        t = op.lower()
        case("%s_coerced_axis1_11" % t, 11, [node(op, ["x"], axis=1)], [("x", z)], ["y"])
        case("%s_coerced_default_11" % t, 11, [node(op, ["x"])], [("x", z)], ["y"], batch="N")
        case("%s_coerced_axis0_7" % t, 7, [node(op, ["x"], axis=0)], [("x", z)], ["y"])
        case("%s_last_11" % t, 11, [node(op, ["x"], axis=-1)], [("x", z)], ["y"])
        case("%s_2d_9" % t, 9, [node(op, ["x"])], [("x", z.reshape(6, 20))], ["y"])
        case("%s_axis1_13" % t, 13, [node(op, ["x"], axis=1)], [("x", z)], ["y"])
        case("%s_default_13" % t, 13, [node(op, ["x"])], [("x", z)], ["y"])


def norms():
    x = rand(2, 4, 5, 6) * 3 + 1
    for opset in (7, 17):
        case("instancenorm_%d" % opset, opset, [node("InstanceNormalization", ["x", "s", "b"], epsilon=1e-3)], [("x", x)], ["y"],
             [W("s", rand(4)), W("b", rand(4))])
    case("instancenorm_3d_17", 17, [node("InstanceNormalization", ["x", "s", "b"])], [("x", x.reshape(2, 4, 30))], ["y"],
         [W("s", rand(4)), W("b", rand(4))], batch="N")
    v = rand(2, 7, 5, 6, lo=-3, hi=3)
    case("lrn_size3_13", 13, [node("LRN", ["x"], size=3)], [("x", v)], ["y"])
    case("lrn_size5_13", 13, [node("LRN", ["x"], size=5, alpha=0.02, beta=0.6, bias=2.0)], [("x", v)], ["y"], batch="N")
    case("lrn_size1_7", 7, [node("LRN", ["x"], size=1, alpha=0.001, beta=0.9)], [("x", v)], ["y"])
    case("dropout_7", 7, [node("Dropout", ["x"], ratio=0.3)], [("x", v)], ["y"])
    case("dropout_ratio_12", 12, [node("Dropout", ["x", "r"])], [("x", v)], ["y"], [W("r", 0.2)])
    case("dropout_training_false_13", 13, [node("Dropout", ["x", "r", "t"])], [("x", v)], ["y"],
         [W("r", 0.2), helper.make_tensor("t", TensorProto.BOOL, [], [False])])
    case("dropout_mask_refused_13", 13, [node("Dropout", ["x"], ["y", "mask"])], [("x", v)], ["y"],
         refuse="the mask output is not supported")
    case("identity_13", 13, [node("Identity", ["x"])], [("x", v)], ["y"])
    # Composite ops (several IR ops each).
    a = rand(2, 3, 4, 5, lo=-5, hi=5)
    case("hardsigmoid_default_7", 7, [node("HardSigmoid", ["x"])], [("x", a)], ["y"])
    case("hardsigmoid_attrs_13", 13, [node("HardSigmoid", ["x"], alpha=0.3, beta=0.4)], [("x", a)], ["y"], batch="N")
    case("hardswish_14", 14, [node("HardSwish", ["x"])], [("x", a)], ["y"])
    case("elu_default_7", 7, [node("Elu", ["x"])], [("x", a)], ["y"])
    case("elu_alpha_13", 13, [node("Elu", ["x"], alpha=0.5)], [("x", a)], ["y"], batch="N")
    case("selu_default_7", 7, [node("Selu", ["x"])], [("x", a)], ["y"])
    case("selu_attrs_13", 13, [node("Selu", ["x"], alpha=1.5, gamma=1.2)], [("x", a)], ["y"])
    g = rand(2, 6, 4, 5) * 3 + 1
    case("groupnorm_per_channel_21", 21, [node("GroupNormalization", ["x", "s", "b"], num_groups=3, epsilon=1e-3)], [("x", g)],
         ["y"], [W("s", rand(6)), W("b", rand(6))], batch="N")
    case("layernorm_last_17", 17, [node("LayerNormalization", ["x", "s", "b"])], [("x", g)], ["y"], [W("s", rand(5)), W("b", rand(5))],
         batch="N")
    case("layernorm_axis1_17", 17, [node("LayerNormalization", ["x", "s"], axis=1, epsilon=1e-3)], [("x", g)], ["y"],
         [W("s", rand(6, 4, 5))])
    case("layernorm_stats_17", 17, [node("LayerNormalization", ["x", "s"], ["y", "mean", "inv_std"], axis=-2)], [("x", g)],
         ["y", "mean", "inv_std"], [W("s", rand(4, 5))])


def spatial():
    x = rand(2, 3, 5, 6)
    case("pad_attr_7", 7, [node("Pad", ["x"], pads=[0, 0, 1, 2, 0, 0, 2, 1], value=0.5)], [("x", x)], ["y"])
    case("pad_reflect_attr_7", 7, [node("Pad", ["x"], mode="reflect", pads=[0, 0, 1, 2, 0, 0, 2, 1])], [("x", x)], ["y"])
    for mode in ("constant", "reflect", "edge"):
        case("pad_%s_11" % mode, 11, [node("Pad", ["x", "p", "v"] if mode == "constant" else ["x", "p"], mode=mode)], [("x", x)],
             ["y"], [I("p", [0, 1, 2, 0, 0, 0, 0, 3])] + ([W("v", -1.25)] if mode == "constant" else []))
    case("pad_axes_18", 18, [node("Pad", ["x", "p", "", "ax"], mode="edge")], [("x", x)], ["y"],
         [I("p", [1, 2, 3, 1]), I("ax", [-1, 2])], batch="N")
    case("pad_wrap_refused_19", 19, [node("Pad", ["x", "p"], mode="wrap")], [("x", x)], ["y"], [I("p", [0, 0, 1, 1, 0, 0, 1, 1])],
         refuse="mode 'wrap' is not supported")
    p = rand(2, 3, 9, 8)
    case("maxpool_7", 7, [node("MaxPool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])], [("x", p)], ["y"], batch="N")
    case("maxpool_ceil_10", 10, [node("MaxPool", ["x"], kernel_shape=[3, 2], strides=[2, 3], ceil_mode=1)], [("x", p)], ["y"])
    case("maxpool_dilated_12", 12, [node("MaxPool", ["x"], kernel_shape=[2, 3], dilations=[2, 2])], [("x", p)], ["y"])
    for ap in ("SAME_UPPER", "SAME_LOWER", "VALID"):
        case("maxpool_%s_12" % ap.lower(), 12, [node("MaxPool", ["x"], kernel_shape=[2, 3], strides=[2, 2], auto_pad=ap)],
             [("x", p)], ["y"])
        case("averagepool_%s_11" % ap.lower(), 11, [node("AveragePool", ["x"], kernel_shape=[3, 2], strides=[2, 2], auto_pad=ap)],
             [("x", p)], ["y"])
    case("maxpool_indices_refused_12", 12, [node("MaxPool", ["x"], ["y", "idx"], kernel_shape=[2, 2])], [("x", p)], ["y"],
         refuse="the Indices output is not supported")
    case("averagepool_7", 7, [node("AveragePool", ["x"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])], [("x", p)], ["y"])
    case("averagepool_include_pad_7", 7, [node("AveragePool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 0, 1],
                                                 count_include_pad=1)], [("x", p)], ["y"])
    case("averagepool_ceil_10", 10, [node("AveragePool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                          ceil_mode=1)], [("x", p)], ["y"])
    case("averagepool_dilated_19", 19, [node("AveragePool", ["x"], kernel_shape=[2, 3], dilations=[2, 2])], [("x", p)], ["y"])
    case("globalaveragepool_7", 7, [node("GlobalAveragePool", ["x"])], [("x", p)], ["y"], batch="N")
    case("globalmaxpool_7", 7, [node("GlobalMaxPool", ["x"])], [("x", p)], ["y"])
    s = rand(2, 3, 4, 6)
    case("spacetodepth_13", 13, [node("SpaceToDepth", ["x"], blocksize=2)], [("x", s)], ["y"], batch="N")
    r = rand(2, 3, 5, 4)
    case("upsample_nearest_7", 7, [node("Upsample", ["x"], scales=[1.0, 1.0, 2.0, 3.0])], [("x", r)], ["y"])
    case("upsample_linear_7", 7, [node("Upsample", ["x"], mode="linear", scales=[1.0, 1.0, 2.0, 2.0])], [("x", r)], ["y"])
    case("upsample_nearest_9", 9, [node("Upsample", ["x", "s"])], [("x", r)], ["y"], [W("s", [1, 1, 3, 2])])
    case("resize_nearest_10", 10, [node("Resize", ["x", "s"])], [("x", r)], ["y"], [W("s", [1, 1, 2, 2])])
    case("resize_linear_10", 10, [node("Resize", ["x", "s"], mode="linear")], [("x", r)], ["y"], [W("s", [1, 1, 2, 1.5])])
    case("resize_scales_roi_11", 11, [node("Resize", ["x", "roi", "s"], mode="linear", coordinate_transformation_mode="align_corners")],
         [("x", r)], ["y"], [W("roi", np.zeros(0)), W("s", [1, 1, 2, 2])])
    for coord in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"):
        for mode in ("nearest", "linear"):
            case("resize_sizes_%s_%s_13" % (mode, coord), 13,
                 [node("Resize", ["x", "", "", "sz"], mode=mode, coordinate_transformation_mode=coord,
                       **({"nearest_mode": "floor"} if mode == "nearest" else {}))], [("x", r)], ["y"],
                 [I("sz", [2, 3, 7, 9] if mode == "linear" or coord == "align_corners" else [2, 3, 10, 6])])
    case("resize_sizes_inexact_refused_13", 13, [node("Resize", ["x", "", "", "sz"], nearest_mode="floor")], [("x", r)], ["y"],
         [I("sz", [2, 3, 7, 9])], refuse="is not floor(5 · 1.4) in float32")
    case("resize_scales_nearest_ceil_13", 13, [node("Resize", ["x", "", "s"], nearest_mode="ceil")], [("x", r)], ["y"],
         [W("s", [1, 1, 0.6, 1.75])], batch="N")
    case("resize_axes_18", 18, [node("Resize", ["x", "", "s"], axes=[2, 3], mode="linear")], [("x", r)], ["y"], [W("s", [1.5, 2])])
    case("resize_cubic_refused_13", 13, [node("Resize", ["x", "", "s"], mode="cubic")], [("x", r)], ["y"], [W("s", [1, 1, 2, 2])],
         refuse="mode 'cubic' is not supported")
    case("resize_tf_crop_refused_13", 13, [node("Resize", ["x", "roi", "s"], coordinate_transformation_mode="tf_crop_and_resize")],
         [("x", r)], ["y"], [W("roi", [0, 0, 0.1, 0.1, 1, 1, 0.9, 0.9]), W("s", [1, 1, 2, 2])],
         refuse="coordinate_transformation_mode 'tf_crop_and_resize' is not supported")
    # Shape arithmetic the exporter writes: Shape → Expand and Shape → Reshape with a symbolic batch.
    case("shape_expand_13", 13, [node("Shape", ["x"], ["s"]), node("Expand", ["b", "s"])], [("x", x)], ["y"], [W("b", rand(3, 1, 6))],
         batch="N")
    case("expand_constant_13", 13, [node("Expand", ["b", "s"])], [("b", rand(3, 1, 6))], ["y"], [I("s", [2, 1, 4, 1])])
    case("shape_reshape_13", 13, [node("Flatten", ["x"], ["f"], axis=1), node("Shape", ["x"], ["s"]), node("Reshape", ["f", "s"])],
         [("x", x)], ["y"], batch="N")


def main(argv):
    global OUT
    if len(argv) != 2:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    OUT = argv[1]
    os.makedirs(OUT, exist_ok=True)
    for part in (elementwise, reductions, activations, norms, spatial):
        part()
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"tolerance": 1e-5, "cases": CASES}, f, indent=1)
    print("import_cases: %d cases in %s" % (len(CASES), OUT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
