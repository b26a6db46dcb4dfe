# Test helper: an independent parser and pure-NumPy evaluator of MoeIR text (Formats/ir.md), the tracer's oracle.
"""Parses ``moeir 1`` text into plain data and runs it with NumPy (float64).

Written from Formats/ir.md alone, without the tracer's printer, so a trace that
evaluates to Chainer's output checks the tracer independently of Swift.
"""

import collections
import re

import numpy as np

import op_cases
import ops_generated

#: Parsed graph: line kinds in file order, metadata, inputs/weights as (name, dims), nodes, outputs.
ParsedGraph = collections.namedtuple("ParsedGraph", "kinds name meta inputs weights nodes outputs")
#: Parsed node; ``attrs`` maps key -> int, float, str (identifier), list of ints or ndarray.
ParsedNode = collections.namedtuple("ParsedNode", "name op inputs outputs attrs attr_order")

_NAME_CHARS = re.compile(r"[A-Za-z0-9_./:-]+")
_WORD = re.compile(r"[^\s,()\[\]{}=\"]+")


class _Scanner:
    """Scans one line."""

    def __init__(self, line):
        self.s, self.i = line, 0

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1

    def peek(self):
        self.ws()
        return self.s[self.i] if self.i < len(self.s) else None

    def expect(self, c):
        if self.peek() != c:
            raise ValueError("expected %r at %d in %r" % (c, self.i, self.s))
        self.i += 1

    def accept(self, c):
        if self.peek() == c:
            self.i += 1
            return True
        return False

    def word(self):
        self.ws()
        m = _WORD.match(self.s, self.i)
        if not m:
            raise ValueError("expected a word at %d in %r" % (self.i, self.s))
        self.i = m.end()
        return m.group()

    def string(self):
        self.expect('"')
        out = []
        while self.s[self.i] != '"':
            c = self.s[self.i]
            if c == "\\":
                self.i += 1
                c = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}[self.s[self.i]]
            out.append(c)
            self.i += 1
        self.i += 1
        return "".join(out)

    def value(self):
        self.expect("%")
        if self.i < len(self.s) and self.s[self.i] == '"':
            return self.string()
        m = _NAME_CHARS.match(self.s, self.i)
        self.i = m.end()
        return m.group()

    def ints(self):
        self.expect("[")
        out = []
        if self.accept("]"):
            return out
        while True:
            w = self.word()
            out.append(int(w) if re.fullmatch(r"-?\d+", w) else float(w))
            if not self.accept(","):
                break
        self.expect("]")
        return out

    def dims(self):
        self.expect("[")
        out = []
        while not self.accept("]"):
            w = self.word()
            out.append(int(w) if re.fullmatch(r"-?\d+", w) else w)
            self.accept(",")
        return out

    def end(self):
        if self.peek() is not None:
            raise ValueError("trailing text in %r" % self.s)


def _attribute(sc):
    if sc.peek() == "[":
        return sc.ints()
    w = sc.word()
    if sc.peek() == "[":
        shape = sc.ints()
        sc.expect("{")
        values = []
        while not sc.accept("}"):
            values.append(float(sc.word()))
            sc.accept(",")
        return np.array(values, dtype=np.float32).reshape(shape)
    if re.fullmatch(r"-?\d+", w):
        return int(w)
    try:
        return float(w)
    except ValueError:
        return w


def _node(sc):
    name = sc.string()
    outputs = [sc.value()]
    while sc.accept(","):
        outputs.append(sc.value())
    sc.expect("=")
    op = sc.word()
    sc.expect("(")
    inputs = []
    if not sc.accept(")"):
        inputs.append(sc.value())
        while sc.accept(","):
            inputs.append(sc.value())
        sc.expect(")")
    attrs, order = {}, []
    if sc.accept("{"):
        while True:
            key = sc.word()
            sc.expect("=")
            attrs[key] = _attribute(sc)
            order.append(key)
            if not sc.accept(","):
                break
        sc.expect("}")
    node = ParsedNode(name, op, inputs, outputs, attrs, order)
    _check_node(node)
    return node


def _check_node(node):
    """Checks the op, its attributes, input and output counts against the op schema (ops_generated.py)."""
    at = "node %r (%s)" % (node.name, node.op)
    if node.op not in ops_generated.ATTRIBUTES:
        raise ValueError("node %r: unknown op %r" % (node.name, node.op))
    own = [a[0] for a in ops_generated.ATTRIBUTES[node.op]]
    allowed = own + ([a[0] for a in ops_generated.EPILOGUE] if node.op in ops_generated.EPILOGUE_OPS else [])
    unknown = sorted(set(node.attrs) - set(allowed))
    if unknown:
        raise ValueError("%s: unknown attribute(s) %s" % (at, ", ".join(unknown)))
    for k in own:
        if k not in node.attrs:
            raise ValueError("%s: missing attribute %r" % (at, k))
    lo, hi = ops_generated.INPUTS[node.op]
    extra = 1 if "residual" in node.attrs else 0
    if len(node.inputs) < lo + extra or (hi is not None and len(node.inputs) > hi + extra):
        raise ValueError("%s: %d inputs, expected %s" % (at, len(node.inputs), lo + extra if lo == hi else "%s..%s" % (lo + extra, hi)))
    if len(node.outputs) != ops_generated.OUTPUTS[node.op]:
        raise ValueError("%s: defines %d values, the op defines %d" % (at, len(node.outputs), ops_generated.OUTPUTS[node.op]))


def parse(text):
    """Parses IR text; raises ValueError on anything malformed."""
    lines = text.split("\n")
    if lines[-1] != "":
        raise ValueError("text must end with a newline")
    kinds, meta, inputs, weights, nodes, outputs, name = [], {}, [], [], [], [], None
    for line in lines[:-1]:
        sc = _Scanner(line)
        kind = sc.word()
        kinds.append(kind)
        if kind == "moeir":
            if sc.word() != "1":
                raise ValueError("unknown version")
        elif kind == "graph":
            name = sc.string()
        elif kind == "meta":
            key = sc.string()
            meta[key] = sc.string()
        elif kind in ("input", "weight"):
            value = sc.value()
            sc.expect(":")
            dtype = sc.word()
            if dtype not in ("f32", "bool", "i64"):
                raise ValueError("dtype %s" % dtype)
            (inputs if kind == "input" else weights).append((value, sc.dims()))
        elif kind == "node":
            nodes.append(_node(sc))
        elif kind == "output":
            outputs.append(sc.value())
        else:
            raise ValueError("unknown line kind %r" % kind)
        sc.end()
    return ParsedGraph(kinds, name, meta, inputs, weights, nodes, outputs)


# ---- evaluation ------------------------------------------------------------------------------

def _conv2d(x, w, b, a):
    (sh, sw), (pt, pl, pb, pr), (dh, dw), g = a["strides"], a["pads"], a["dilations"], a["groups"]
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho, wo = (h - dh * (kh - 1) - 1) // sh + 1, (wd - dw * (kw - 1) - 1) // sw + 1
    og = o // g
    y = np.zeros((n, o, ho, wo))
    for gi in range(g):
        xs, ws = x[:, gi * cg:(gi + 1) * cg], w[gi * og:(gi + 1) * og]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]
                y[:, gi * og:(gi + 1) * og] += np.einsum("nchw,oc->nohw", patch, ws[:, :, i, j])
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def _conv_transpose2d(x, w, b, a):
    (sh, sw), (pt, pl, pb, pr), (dh, dw) = a["strides"], a["pads"], a["dilations"]
    (oh, ow), g = a["output_padding"], a["groups"]
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    cg = c // g
    full_h, full_w = (h - 1) * sh + dh * (kh - 1) + 1 + oh, (wd - 1) * sw + dw * (kw - 1) + 1 + ow
    buf = np.zeros((n, og * g, full_h, full_w))
    for gi in range(g):
        xs, ws = x[:, gi * cg:(gi + 1) * cg], w[gi * cg:(gi + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                contrib = np.einsum("nchw,co->nohw", xs, ws[:, :, i, j])
                buf[:, gi * og:(gi + 1) * og, i * dh:i * dh + sh * (h - 1) + 1:sh,
                    j * dw:j * dw + sw * (wd - 1) + 1:sw] += contrib
    y = buf[:, :, pt:full_h - pb, pl:full_w - pr]
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def _reshape(x, shape):
    target = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(target)


def _depth_to_space(x, b, mode):
    n, c, h, w = x.shape
    if mode == "DCR":
        y = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        y = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return y.reshape(n, c // (b * b), h * b, w * b)


def _batch_norm(x, gamma, beta, mean, var, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    r = lambda v: v.reshape(shape)  # noqa: E731
    return (x - r(mean)) / np.sqrt(r(var) + eps) * r(gamma) + r(beta)


def _linear(x, w, b=None):
    y = x.reshape(len(x), -1) @ w.T
    return y if b is None else y + b


#: Op -> function(list of input arrays, attrs) -> output array.
OPS = {
    "linear": lambda v, a: _linear(*v),
    "matmul": lambda v, a: np.matmul(*v),
    "conv2d": lambda v, a: _conv2d(v[0], v[1], v[2] if len(v) > 2 else None, a),
    "conv_transpose2d": lambda v, a: _conv_transpose2d(v[0], v[1], v[2] if len(v) > 2 else None, a),
    "batch_norm": lambda v, a: _batch_norm(*v, a["eps"]),
    "add": lambda v, a: v[0] + v[1],
    "sub": lambda v, a: v[0] - v[1],
    "mul": lambda v, a: v[0] * v[1],
    "relu": lambda v, a: np.maximum(v[0], 0),
    "leaky_relu": lambda v, a: np.where(v[0] >= 0, v[0], a["alpha"] * v[0]),
    "tanh": lambda v, a: np.tanh(v[0]),
    "sigmoid": lambda v, a: 1 / (1 + np.exp(-v[0])),
    "softplus": lambda v, a: np.logaddexp(0, v[0]),
    "reshape": lambda v, a: _reshape(v[0], a["shape"]),
    "flatten": lambda v, a: v[0].reshape(int(np.prod(v[0].shape[:a["axis"]])), -1),
    "transpose": lambda v, a: v[0].transpose(a["perm"]),
    "depth_to_space": lambda v, a: _depth_to_space(v[0], a["block_size"], a["mode"]),
    "concat": lambda v, a: np.concatenate(v, axis=a["axis"]),
    "identity": lambda v, a: v[0],
    "constant": lambda v, a: a["value"].astype(np.float64),
}


def _reduce(f, x, axes, keep):
    return f(x, axis=tuple(axes) if axes else None, keepdims=bool(keep))


def _sum_to(x, like):
    lead = x.ndim - like.ndim
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(like.shape) if n == 1 and x.shape[lead + i] != 1)
    return x.sum(axis=axes, keepdims=True).reshape(like.shape) if axes else x


def _softmax(x, axis, log):
    z = x - x.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=axis, keepdims=True))
    return z - lse if log else np.exp(z - lse)


def _group_norm(x, scale, bias, groups, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    g = x.reshape(x.shape[0], groups, -1)
    y = ((g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + eps)).reshape(x.shape)
    return y * scale.reshape(shape) + bias.reshape(shape)


def _batch_norm_training(x, gamma, beta, eps):
    axes = (0,) + tuple(range(2, x.ndim))
    m, v = x.mean(axis=axes), x.var(axis=axes)
    return [_batch_norm(x, gamma, beta, m, v, eps), m, v]


def _conv2d_filter_grad(x, gy, like, a):
    (sh, sw), (pt, pl, pb, pr), (dh, dw), g = a["strides"], a["pads"], a["dilations"], a["groups"]
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    o, cg, kh, kw = like.shape
    _, _, ho, wo = gy.shape
    og = o // g
    out = np.zeros(like.shape)
    for gi in range(g):
        xs = xp[:, gi * cg:(gi + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]
                out[gi * og:(gi + 1) * og, :, i, j] = np.einsum("nohw,nchw->oc", gy[:, gi * og:(gi + 1) * og], patch)
    return out


def _gemm(v, a):
    A, B = v[0].T if a["trans_a"] else v[0], v[1].T if a["trans_b"] else v[1]
    y = a["alpha"] * A @ B
    return y + a["beta"] * v[2] if len(v) > 2 else y


def _pad(x, a):
    r = x.ndim
    width = [(a["pads"][i], a["pads"][i + r]) for i in range(r)]
    if a["mode"] == "constant":
        return np.pad(x, width, mode="constant", constant_values=a["value"])
    return np.pad(x, width, mode=a["mode"])


def _slice(x, a):
    idx = [slice(None)] * x.ndim
    for s, e, ax, st in zip(a["starts"], a["ends"], a["axes"], a["steps"]):
        idx[ax] = slice(s, e, st)
    return x[tuple(idx)]


def _space_to_depth(x, b):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4).reshape(n, c * b * b, h // b, w // b)


_UNARY = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "reciprocal": np.reciprocal, "abs": np.abs,
    "square": np.square, "sign": np.sign,
}
# Every other unary function of the schema (erf, …) takes the op corpus's NumPy reference (op_cases.UNARY, float64):
# a new function is written once, there.
_UNARY.update({name: f for name, (f, _) in op_cases.UNARY.items() if name not in _UNARY and name not in OPS})
_BINARY = {
    "div": np.divide, "pow": np.power, "max": np.maximum, "min": np.minimum, "greater": np.greater, "less": np.less,
    "equal": np.equal,
}
_REDUCE = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}
_CAST = {"f32": np.float64, "f64": np.float64, "bool": np.bool_, "i64": np.int64, "i32": np.int64}

OPS.update({name: (lambda f: lambda v, a: f(v[0]))(f) for name, f in _UNARY.items()})
OPS.update({name: (lambda f: lambda v, a: f(v[0], v[1]))(f) for name, f in _BINARY.items()})
OPS.update({"reduce_" + name: (lambda f: lambda v, a: _reduce(f, v[0], a["axes"], a["keepdims"]))(f) for name, f in _REDUCE.items()})
OPS.update({
    "gemm": _gemm,
    "conv2d_filter_grad": lambda v, a: _conv2d_filter_grad(v[0], v[1], v[2], a),
    "batch_norm_training": lambda v, a: _batch_norm_training(*v, a["eps"]),
    "clip": lambda v, a: np.clip(v[0], a["min"], a["max"]),
    "prelu": lambda v, a: np.where(v[0] >= 0, v[0], v[0] * v[1]),
    "where": lambda v, a: np.where(v[0].astype(bool), v[1], v[2]),
    "cast": lambda v, a: (np.trunc(v[0]) if a["to"] in ("i64", "i32") else v[0]).astype(_CAST[a["to"]]),
    "sum_to": lambda v, a: _sum_to(v[0], v[1]),
    "broadcast_to": lambda v, a: np.broadcast_to(v[0], v[1].shape).copy(),
    "softmax": lambda v, a: _softmax(v[0], a["axis"], False),
    "log_softmax": lambda v, a: _softmax(v[0], a["axis"], True),
    "instance_norm": lambda v, a: _group_norm(*v, v[0].shape[1], a["eps"]),
    "group_norm": lambda v, a: _group_norm(*v, a["groups"], a["eps"]),
    "pad": lambda v, a: _pad(v[0], a),
    "slice": lambda v, a: _slice(v[0], a),
    "global_average_pool": lambda v, a: v[0].mean(axis=tuple(range(2, v[0].ndim)), keepdims=True),
    "global_max_pool": lambda v, a: v[0].max(axis=tuple(range(2, v[0].ndim)), keepdims=True),
    "space_to_depth": lambda v, a: _space_to_depth(v[0], a["block_size"]),
})


def _activate(act, y):
    if act is None:
        return y
    if act.startswith("leaky_relu:"):
        return np.where(y >= 0, y, float(act[len("leaky_relu:"):]) * y)
    return OPS[act]([y], {})


def _run(node, values):
    """One node's result(s), with its epilogue (``act``, ``residual`` on the last input; Formats/ir.md §2.1)."""
    residual = node.attrs.get("residual")
    result = OPS[node.op](values[:-1] if residual else values, node.attrs)
    if residual == "before":
        result = result + values[-1]
    result = _activate(node.attrs.get("act"), result)
    return result + values[-1] if residual == "after" else result


def evaluate(graph, weights, inputs, keep=False, dtype=np.float32):
    """Runs a parsed graph; returns {output name: array} (every value when ``keep``), cast to ``dtype``."""
    env = {name: np.asarray(weights[name], dtype=np.float64) for name, _ in graph.weights}
    env.update({name: np.asarray(inputs[name], dtype=np.float64) for name, _ in graph.inputs})
    for node in graph.nodes:
        result = _run(node, [env[i] for i in node.inputs])
        results = result if isinstance(result, list) else [result]
        for name, r in zip(node.outputs, results):
            env[name] = np.asarray(r)
    names = env.keys() if keep else graph.outputs
    return {name: env[name].astype(dtype) if env[name].dtype != np.bool_ else env[name] for name in names}
