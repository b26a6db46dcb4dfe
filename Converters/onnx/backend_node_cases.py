"""Writes the ONNX backend node test cases of MoeKit's supported ops (from the installed onnx wheel) into a folder.

Usage: backend_node_cases.py --out DIR [--ops Conv,Gemm,...]

ONNXBackendNodeTests passes ``--ops`` with every op type the importer supports; an op whose generator module is its
lowercased name (``Mish`` -> ``mish.py``, as for every unary function of the op schema) needs no entry in MODULES.

The onnx wheel ships the case generators (``onnx/backend/test/case/node/*.py``) but not their data. Importing one
generator module runs its ``export*`` methods, which call ``expect`` and record TestCases (model + inputs + expected
outputs), exactly what ``onnx/backend/test/cmd_tools.py generate-data`` writes as .pb files. For each case of the
requested ops this writes ``DIR/CASE/model.onnx``, ``in_K.npy`` and ``out_K.npy``, and ``DIR/manifest.json``:

    {"onnx": "1.23.2", "cases": [{"name", "op", "model", "rtol", "atol", "bound": [...],
                                  "inputs": [{"name", "file", "dtype"}], "outputs": [...]}]}

Static shapes are MoeKit's model: where a case feeds an int64 shape/axes/starts tensor as a *graph input*
(Reshape ``shape``, Slice ``starts/ends/axes/steps``, Unsqueeze/Squeeze/Reduce* ``axes``, Expand ``shape``,
ConstantOfShape ``input``, Split ``split``, Gather ``indices``), that given test input is bound as
an initializer before import and listed under ``bound``; likewise DequantizeLinear's x, x_scale and x_zero_point
(MoeKit imports DequantizeLinear for weights, which are initializers), and the inputs MoeKit reads as attributes
(Clip min/max, Pad pads/constant_value/axes, Resize roi/scales/sizes, Upsample scales, Dropout ratio/training_mode). Nothing else is changed; every case is written, including
those MoeKit must refuse (other dtypes, training mode, 1-D/3-D convolutions and pooling) so the Swift test can count them.
"""
import argparse
import importlib
import importlib.util
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

# Generator module of each op in onnx/backend/test/case/node/ (default: the lowercased op type, see module_of).
MODULES = {
    "Conv": "conv", "ConvTranspose": "convtranspose", "BatchNormalization": "batch_normalization", "Gemm": "gemm",
    "MatMul": "matmul", "Add": "add", "Sub": "sub", "Mul": "mul", "Relu": "relu", "LeakyRelu": "leakyrelu",
    "Tanh": "tanh", "Sigmoid": "sigmoid", "Softplus": "softplus", "Reshape": "reshape", "Flatten": "flatten",
    "Transpose": "transpose", "DepthToSpace": "depthtospace", "Concat": "concat", "Slice": "slice",
    "Identity": "identity", "Unsqueeze": "unsqueeze", "Squeeze": "squeeze", "Constant": "constant",
    "DequantizeLinear": "dequantizelinear",
    # The newer op set.
    "Div": "div", "Pow": "pow", "Max": "max", "Min": "min", "Sum": "sum", "Mean": "mean", "Sqrt": "sqrt", "Exp": "exp",
    "Log": "log", "Neg": "neg", "Abs": "abs", "Reciprocal": "reciprocal", "Sign": "sign", "Erf": "erf", "Greater": "greater",
    "Less": "less", "Equal": "equal", "Where": "where", "Cast": "cast", "CastLike": "castlike", "Clip": "clip", "PRelu": "prelu",
    "Softmax": "softmax", "LogSoftmax": "logsoftmax", "InstanceNormalization": "instance_normalization", "LRN": "lrn",
    "Dropout": "dropout", "Shape": "shape", "Expand": "expand", "Pad": "pad", "MaxPool": "maxpool",
    "AveragePool": "averagepool", "GlobalAveragePool": "globalaveragepool", "GlobalMaxPool": "globalmaxpool",
    "Resize": "resize", "Upsample": "upsample", "SpaceToDepth": "spacetodepth", "ReduceSum": "reducesum",
    "ReduceMean": "reducemean", "ReduceMax": "reducemax", "ReduceMin": "reducemin", "HardSigmoid": "hardsigmoid",
    "HardSwish": "hardswish", "Elu": "elu", "Selu": "selu", "GroupNormalization": "groupnormalization",
    "LayerNormalization": "layernormalization",
    # Shape arithmetic folded at import time, and Split.
    "Gather": "gather", "ConstantOfShape": "constantofshape", "Range": "rangeop", "If": "if_", "Size": "size",
    "Split": "split",
}
# Inputs (by position) that MoeKit needs as static int64 values.
STATIC_INPUTS = {"Reshape": {1}, "Slice": {1, 2, 3, 4}, "Unsqueeze": {1}, "Squeeze": {1}, "ReduceSum": {1},
                 "ReduceMean": {1}, "ReduceMax": {1}, "ReduceMin": {1}, "Expand": {1}, "ConstantOfShape": {0},
                 "Range": {0, 1, 2}, "Split": {1}, "Gather": {1}}
# Inputs (by position) bound whatever their dtype: MoeKit imports DequantizeLinear for weights, whose x, x_scale and
# x_zero_point are initializers.
WEIGHT_INPUTS = {"DequantizeLinear": {0, 1, 2}}
# Inputs MoeKit takes as attributes (Clip bounds, Pad pads/value/axes, Resize roi/scales/sizes, Upsample scales,
# Dropout ratio/training_mode): in exported models they are initializers or Constants; bound the same way.
WEIGHT_INPUTS.update({"Clip": {1, 2}, "Pad": {1, 2, 3}, "Resize": {1, 2, 3}, "Upsample": {1}, "Dropout": {1, 2}})


def module_of(op):
    """The generator module of ``op`` in onnx.backend.test.case.node, or None when the onnx wheel has none."""
    name = "onnx.backend.test.case.node." + MODULES.get(op, op.lower())
    return name if importlib.util.find_spec(name) is not None else None


def collect(ops):
    """The TestCases of `ops` (op type → list of cases), generated by importing the ops' generator modules."""
    import onnx.backend.test.case.node as node
    node._TargetOpType = None
    for op in ops:
        importlib.import_module(module_of(op))
    by_op = {op: [] for op in ops}
    for case in node._NodeTestCases:
        g = case.model.graph
        if case.name.endswith("_expanded") or "_expanded_ver" in case.name:
            # A function body expanded into other ops: the test of an op's decomposition, kept under that op.
            base = case.name.split("_expanded")[0]
            op = next((c.model.graph.node[0].op_type for c in node._NodeTestCases if c.name == base), None)
        else:
            op = g.node[0].op_type if len(g.node) == 1 else None
        if op in by_op:
            by_op[op].append(case)
    return by_op


def as_array(v):
    return numpy_helper.to_array(v) if isinstance(v, onnx.TensorProto) else np.asarray(v)


def write_case(case, op, out):
    d = os.path.join(out, case.name)
    os.makedirs(d, exist_ok=True)
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    g = model.graph
    (inputs, outputs), = case.data_sets
    node_inputs = list(g.node[0].input) if len(g.node) == 1 else []
    entry = {"name": case.name, "op": op, "model": os.path.join(case.name, "model.onnx"), "rtol": case.rtol,
             "atol": case.atol, "bound": [], "inputs": [], "outputs": []}
    keep = []
    for k, (vi, value) in enumerate(zip(list(g.input), inputs)):
        a = as_array(value)
        position = node_inputs.index(vi.name) if vi.name in node_inputs else -1
        if (a.dtype == np.int64 and position in STATIC_INPUTS.get(op, ())) or position in WEIGHT_INPUTS.get(op, ()):
            g.initializer.append(numpy_helper.from_array(a, vi.name))
            entry["bound"].append(vi.name)
            continue
        keep.append(vi)
        f = os.path.join(case.name, "in_%d.npy" % k)
        np.save(os.path.join(out, f), a)
        entry["inputs"].append({"name": vi.name, "file": f, "dtype": str(a.dtype)})
    del g.input[:]
    g.input.extend(keep)
    for k, (vi, value) in enumerate(zip(g.output, outputs)):
        a = as_array(value)
        f = os.path.join(case.name, "out_%d.npy" % k)
        np.save(os.path.join(out, f), a)
        entry["outputs"].append({"name": vi.name, "file": f, "dtype": str(a.dtype)})
    onnx.save(model, os.path.join(out, entry["model"]))
    return entry


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--ops", default=",".join(MODULES), help="comma-separated op types (default: all supported)")
    a = p.parse_args(argv)
    ops = [o for o in a.ops.split(",") if o]
    unknown = [o for o in ops if module_of(o) is None]
    if unknown:
        print("backend_node_cases: no generator known for %s" % ", ".join(unknown), file=sys.stderr)
        return 2
    os.makedirs(a.out, exist_ok=True)
    by_op = collect(ops)
    cases = [write_case(c, op, a.out) for op in ops for c in by_op[op]]
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump({"onnx": onnx.__version__, "cases": cases}, f, indent=1)
    print("backend_node_cases: %d cases of %d ops in %s" % (len(cases), len(ops), a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
