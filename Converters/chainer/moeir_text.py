# Writes the canonical MoeIR text form (Formats/ir.md, version 1), matching the Swift printer byte for byte.
"""Canonical printer for MoeIR text (``moeir 1``).

A graph here is plain data: ``Graph(name, meta, inputs, weights, nodes,
outputs)`` with ``inputs``/``weights`` as ``(name, dims)`` pairs (dims are
ints or symbol strings, dtype always ``f32``), ``nodes`` as ``Node`` tuples and
``outputs`` as value names. ``render`` writes it exactly as the Swift
``IRText.print`` does: metadata in key order, attributes in the op table's
order, floats in Swift's shortest ``Float.description`` form.
"""

import collections
import math

import numpy as np

IR_MAGIC, IR_VERSION = "moeir", 1

#: A node: name, op, input value names, output value names, attributes as (key, value) pairs.
Node = collections.namedtuple("Node", "name op inputs outputs attrs")
#: A graph ready to print.
Graph = collections.namedtuple("Graph", "name meta inputs weights nodes outputs")

#: Characters of a value name that can be written bare after ``%``.
BARE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:-")

#: Attribute keys of each op, in the canonical (Formats/ir.md §2 table) order.
OP_ATTRIBUTES = {
    "linear": (), "matmul": (), "add": (), "sub": (), "mul": (), "relu": (), "tanh": (),
    "sigmoid": (), "softplus": (), "identity": (),
    "gemm": ("alpha", "beta", "trans_a", "trans_b"),
    "conv2d": ("strides", "pads", "dilations", "groups"),
    "conv_transpose2d": ("strides", "pads", "dilations", "output_padding", "groups"),
    "batch_norm": ("eps",),
    "leaky_relu": ("alpha",),
    "reshape": ("shape",),
    "flatten": ("axis",),
    "transpose": ("perm",),
    "depth_to_space": ("block_size", "mode"),
    "concat": ("axis",),
    "slice": ("starts", "ends", "axes", "steps"),
    "constant": ("value",),
}

#: Swift prints a Float in exponential form above this magnitude (2^24).
_SWIFT_EXPONENTIAL_ABOVE = float(2 ** 24)


class Identifier(str):
    """An identifier attribute value (``DCR``), printed without quotes."""


class FloatValue(float):
    """A float attribute value, printed like Swift's ``Float.description``."""


def swift_float(value):
    """Shortest text that reads back to the same float32, formatted like Swift's ``Float.description``."""
    f = np.float32(value)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f == 0:
        return "-0.0" if math.copysign(1.0, f) < 0 else "0.0"
    sci = np.format_float_scientific(f, unique=True, trim="-")
    mantissa, exponent = sci.split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "")
    exp10 = int(exponent)
    if exp10 < -4 or abs(float(f)) > _SWIFT_EXPONENTIAL_ABOVE:
        rest = "." + digits[1:] if len(digits) > 1 else ""
        return "%s%s%se%s%02d" % (sign, digits[0], rest, "-" if exp10 < 0 else "+", abs(exp10))
    if exp10 < 0:
        return sign + "0." + "0" * (-exp10 - 1) + digits
    whole, frac = digits[:exp10 + 1], digits[exp10 + 1:]
    whole += "0" * (exp10 + 1 - len(whole))
    return sign + whole + "." + (frac or "0")


def quote(text):
    """A double-quoted string with ``"``, ``\\``, newline and tab escaped."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"')
               .replace("\n", "\\n").replace("\t", "\\t"))
    return '"' + escaped + '"'


def value_ref(name):
    """``%name``, quoted when it has characters outside ``[A-Za-z0-9_./:-]``."""
    if name and all(c in BARE_NAME_CHARS for c in name):
        return "%" + name
    return "%" + quote(name)


def int_list(values):
    """``[1,2]``."""
    return "[" + ",".join(str(int(v)) for v in values) + "]"


def tensor_literal(array):
    """``f32[SHAPE]{v,v,...}``."""
    array = np.asarray(array, dtype=np.float32)
    return "f32" + int_list(array.shape) + "{" + ",".join(swift_float(v) for v in array.ravel()) + "}"


def attribute(value):
    """Text of one attribute value."""
    if isinstance(value, Identifier):
        return str(value)
    if isinstance(value, np.ndarray):
        return tensor_literal(value)
    if isinstance(value, (float, np.floating)):
        return swift_float(value)
    if isinstance(value, (bool, int, np.integer)):
        return str(int(value))
    return int_list(value)


def value_type(dims):
    """``f32[N,3,32,32]``."""
    return "f32[" + ",".join(str(d) for d in dims) + "]"


def node_line(node):
    """One ``node`` line; checks the attribute keys against the op table."""
    expected = OP_ATTRIBUTES[node.op]
    attrs = dict(node.attrs)
    if tuple(attrs) != expected and sorted(attrs) != sorted(expected):
        raise ValueError("node %r (%s): attributes %s, expected %s"
                         % (node.name, node.op, sorted(attrs), list(expected)))
    line = "node %s %s = %s(%s)" % (quote(node.name), ", ".join(value_ref(o) for o in node.outputs),
                                    node.op, ", ".join(value_ref(i) for i in node.inputs))
    if expected:
        line += " {" + ", ".join("%s=%s" % (k, attribute(attrs[k])) for k in expected) + "}"
    return line


def render(graph):
    """The canonical text of ``graph`` (ends with a newline)."""
    lines = ["%s %d" % (IR_MAGIC, IR_VERSION), "graph " + quote(graph.name)]
    lines += ["meta %s %s" % (quote(k), quote(graph.meta[k])) for k in sorted(graph.meta)]
    lines += ["input %s : %s" % (value_ref(n), value_type(d)) for n, d in graph.inputs]
    lines += ["weight %s : %s" % (value_ref(n), value_type(d)) for n, d in graph.weights]
    lines += [node_line(n) for n in graph.nodes]
    lines += ["output " + value_ref(o) for o in graph.outputs]
    return "\n".join(lines) + "\n"
