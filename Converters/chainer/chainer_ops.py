# Maps recorded Chainer FunctionNode calls to MoeIR ops (attributes, and helper nodes such as constants).
"""Chainer function -> MoeIR op mapping used by ``trace.py``.

``convert(fn, in_data)`` returns a plan: a list of ``Step(op, inputs, attrs,
tag)``. A step input is an ``int`` (that input of the Chainer function) or
``"s<k>"`` (the value of step k of the plan); the last step produces the
function's output. ``Unsupported`` says why a call has no IR form.

Covered: LinearFunction, Convolution2DFunction, Deconvolution2DFunction,
FixedBatchNormalization, ReLU, LeakyReLU, Tanh, Sigmoid, Softplus (beta 1),
Depth2Space (DCR), Reshape (batch axis kept), Transpose, Concat (not over the
batch), Add, Sub, Mul, MultiAdd, AddConstant, SubFromConstant, MulConstant,
Neg, Identity, BroadcastTo (when it does not change the shape).
"""

import collections

import numpy as np

import moeir_text

#: One IR node of a plan.
Step = collections.namedtuple("Step", "op inputs attrs tag")

#: Largest constant (elements) written inline as a tensor literal.
MAX_CONSTANT_ELEMENTS = 4096


class Unsupported(Exception):
    """A Chainer call with no IR form; the message names the function and why."""


def function_name(fn):
    """The class name of a function node (of the wrapped old-style Function if any)."""
    return type(getattr(fn, "_function", fn)).__name__


def describe(fn):
    """``Name`` or ``Name ('label')`` when the label differs from the class name."""
    name, label = function_name(fn), getattr(fn, "label", None)
    return name if not label or label == name else "%s (%r)" % (name, label)


def step(op, inputs, attrs=(), tag=None):
    """A plan step."""
    return Step(op, tuple(inputs), tuple(attrs), tag or op)


def _unsupported(fn, why):
    """An ``Unsupported`` naming ``fn``."""
    return Unsupported("unsupported function %s: %s" % (describe(fn), why))


def _all_inputs(op):
    """Converter mapping every input, in order, to one ``op`` without attributes."""
    return lambda fn, in_data: [step(op, range(len(in_data)))]


def _linear(fn, in_data):
    """LinearFunction -> ``linear`` (F.linear has already flattened x to 2-D)."""
    if in_data[0].ndim != 2:
        raise _unsupported(fn, "input of rank %d (expected 2)" % in_data[0].ndim)
    return [step("linear", range(len(in_data)))]


def _conv_attrs(fn):
    """Strides, symmetric pads and dilations of a (de)convolution call."""
    return [("strides", [fn.sy, fn.sx]), ("pads", [fn.ph, fn.pw, fn.ph, fn.pw]),
            ("dilations", [fn.dy, fn.dx])]


def _convolution(fn, in_data):
    """Convolution2DFunction -> ``conv2d``."""
    if fn.cover_all:
        raise _unsupported(fn, "cover_all=True has no IR form")
    return [step("conv2d", range(len(in_data)), _conv_attrs(fn) + [("groups", int(fn.groups))])]


def _deconvolution(fn, in_data):
    """Deconvolution2DFunction -> ``conv_transpose2d``; output padding from the actual output size."""
    x, w = in_data[0], in_data[1]
    padding = []
    for extent, out, k, s, p, d in ((x.shape[2], fn.outh, w.shape[2], fn.sy, fn.ph, fn.dy),
                                    (x.shape[3], fn.outw, w.shape[3], fn.sx, fn.pw, fn.dx)):
        extra = out - ((extent - 1) * s - 2 * p + d * (k - 1) + 1)
        if not 0 <= extra < max(s, d):
            raise _unsupported(fn, "output size %d needs output padding %d" % (out, extra))
        padding.append(extra)
    attrs = _conv_attrs(fn) + [("output_padding", padding), ("groups", int(fn.groups))]
    return [step("conv_transpose2d", range(len(in_data)), attrs)]


def _fixed_batch_norm(fn, in_data):
    """FixedBatchNormalization (test-mode BN) -> ``batch_norm`` over axis 1."""
    if tuple(getattr(fn, "key_axis", ())) != (1,):
        raise _unsupported(fn, "normalises over axes other than all but 1 (key axis %s)"
                           % (getattr(fn, "key_axis", None),))
    return [step("batch_norm", range(5), [("eps", moeir_text.FloatValue(fn.eps))])]


def _leaky_relu(fn, in_data):
    """LeakyReLU -> ``leaky_relu`` with alpha = slope."""
    return [step("leaky_relu", [0], [("alpha", moeir_text.FloatValue(fn.slope))])]


def _softplus(fn, in_data):
    """Softplus -> ``softplus`` (beta 1 only)."""
    if fn.beta != 1.0:
        raise _unsupported(fn, "beta=%g (only 1 has an IR form)" % fn.beta)
    return [step("softplus", [0])]


def _depth2space(fn, in_data):
    """Depth2Space -> ``depth_to_space`` in DCR order (Chainer's)."""
    return [step("depth_to_space", [0], [("block_size", int(fn.r)),
                                         ("mode", moeir_text.Identifier("DCR"))])]


def _reshape(fn, in_data):
    """Reshape -> ``reshape`` with 0 for the batch extent, so the batch stays symbolic."""
    x = in_data[0]
    out = np.empty(x.shape, dtype=np.bool_).reshape(fn.shape).shape
    if not out or out[0] != x.shape[0]:
        raise _unsupported(fn, "reshape %s -> %s changes the batch axis" % (x.shape, out))
    return [step("reshape", [0], [("shape", [0] + list(out[1:]))])]


def _transpose(fn, in_data):
    """Transpose -> ``transpose``."""
    ndim = in_data[0].ndim
    axes = fn.axes if fn.axes is not None else tuple(reversed(range(ndim)))
    return [step("transpose", [0], [("perm", [a % ndim for a in axes])])]


def _concat(fn, in_data):
    """Concat -> ``concat`` (not over the batch axis)."""
    axis = fn.axis % in_data[0].ndim
    if axis == 0:
        raise _unsupported(fn, "concatenation over the batch axis")
    return [step("concat", range(len(in_data)), [("axis", axis)])]


def _multi_add(fn, in_data):
    """MultiAdd (F.add of 3+ values) -> a chain of ``add``."""
    plan = [step("add", [0, 1])]
    for i in range(2, len(in_data)):
        plan.append(step("add", ["s%d" % (len(plan) - 1), i]))
    return plan


def _constant(fn, op, order):
    """``constant`` then ``op`` with the constant first (``order='cx'``) or second."""
    value = np.asarray(fn.value, dtype=np.float32)
    if value.size > MAX_CONSTANT_ELEMENTS:
        raise _unsupported(fn, "constant of %d elements is too large to inline" % value.size)
    inputs = ["s0", 0] if order == "cx" else [0, "s0"]
    return [step("constant", [], [("value", value)], tag="value"), step(op, inputs)]


def _neg(fn, in_data):
    """Neg -> ``mul`` by a -1 constant."""
    return [step("constant", [], [("value", np.full((), -1.0, dtype=np.float32))], tag="value"),
            step("mul", [0, "s0"])]


def _identity(fn, in_data):
    """Identity -> ``identity``."""
    if len(in_data) != 1:
        raise _unsupported(fn, "identity of %d values" % len(in_data))
    return [step("identity", [0])]


def _broadcast_to(fn, in_data):
    """BroadcastTo -> ``identity`` when the shape is unchanged."""
    if tuple(in_data[0].shape) != tuple(fn._shape):
        raise _unsupported(fn, "broadcast %s -> %s changes the shape"
                           % (tuple(in_data[0].shape), tuple(fn._shape)))
    return [step("identity", [0])]


#: Converters by Chainer function class name.
CONVERTERS = {
    "LinearFunction": _linear,
    "Convolution2DFunction": _convolution,
    "Deconvolution2DFunction": _deconvolution,
    "FixedBatchNormalization": _fixed_batch_norm,
    "ReLU": _all_inputs("relu"),
    "LeakyReLU": _leaky_relu,
    "Tanh": _all_inputs("tanh"),
    "Sigmoid": _all_inputs("sigmoid"),
    "Softplus": _softplus,
    "Depth2Space": _depth2space,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Concat": _concat,
    "Add": _all_inputs("add"),
    "Sub": _all_inputs("sub"),
    "Mul": _all_inputs("mul"),
    "MultiAdd": _multi_add,
    "AddConstant": lambda fn, in_data: _constant(fn, "add", "xc"),
    "SubFromConstant": lambda fn, in_data: _constant(fn, "sub", "cx"),
    "MulConstant": lambda fn, in_data: _constant(fn, "mul", "xc"),
    "Neg": _neg,
    "Identity": _identity,
    "BroadcastTo": _broadcast_to,
}


def convert(fn, in_data):
    """The plan for one recorded call; raises ``Unsupported``."""
    converter = CONVERTERS.get(function_name(fn))
    if converter is None:
        raise _unsupported(fn, "no IR mapping")
    if len(fn.outputs) != 1:
        raise _unsupported(fn, "%d outputs" % len(fn.outputs))
    return converter(fn, in_data)
