# Chainer tracer: runs a live Chainer model once (test mode) and writes its graph as MoeIR text plus a weights NPZ.
"""Trace a Chainer model into MoeIR (Formats/ir.md, ``moeir 1``).

The model runs once in test mode on example inputs with a function hook that
records every FunctionNode call (in execution order, with its raw input
arrays) and a link hook that tracks which link is running. The functions that
the outputs depend on (a backward walk over ``creator_node``) are mapped to IR
ops (see ``chainer_ops``); leaf inputs are identified by array identity as
graph inputs, parameters (named like ``save_npz`` keys, ``enc/0/W``) or
persistent values (BatchNorm ``avg_mean``/``avg_var``).

Usage::

    Converters/py Converters/chainer/trace.py --module Converters/chainer/examples/tiny_unet.py \\
        --model TinyUNet [--kwargs '{"ch": 8}'] --input-shape x:2,3,32,32 \\
        --output-names img -o /tmp/unet.moeir [--checkpoint model.npz [--prefix P]]

writes ``/tmp/unet.moeir`` and ``/tmp/unet.weights.npz`` (float32 arrays keyed by
weight name). The first extent of every input is the batch and becomes the
symbol ``N`` (trace at batch >= 2: at batch 1 a reshape that merges the batch
cannot be told from one that keeps it). Unsupported functions fail the whole trace with one line listing
all of them (exit status 1); nothing is written then.
"""

import argparse
import collections
import importlib.util
import json
import os
import sys
import tempfile

import numpy as np

import chainer

import chainer_ops
import moeir_text

#: The symbol that replaces the batch extent of every input.
BATCH_SYMBOL = "N"

#: Result of a trace: the IR text and the weights it references (name -> float32 array).
TraceResult = collections.namedtuple("TraceResult", "text weights graph")


class TraceError(Exception):
    """A model that cannot be traced; the message is one line."""


class _FunctionRecorder(chainer.FunctionHook):
    """Records (function node, input arrays, link scope) for every call, in order."""

    name = "moekit_trace_functions"

    def __init__(self, scopes):
        self.scopes = scopes
        self.calls = []

    def forward_preprocess(self, function, in_data):
        """Records the call before it runs."""
        self.calls.append((function, tuple(in_data), self.scopes.current()))


class _ScopeTracker(chainer.LinkHook):
    """Tracks the path of the innermost running link of the model."""

    name = "moekit_trace_scopes"

    def __init__(self, paths):
        self.paths = paths
        self.stack = [""]

    def current(self):
        """Path of the innermost running link ('' at the model root)."""
        return self.stack[-1]

    def forward_preprocess(self, args):
        """Enters a link (links outside the model keep the enclosing path)."""
        self.stack.append(self.paths.get(id(args.link), self.stack[-1]))

    def forward_postprocess(self, args):
        """Leaves a link."""
        self.stack.pop()


class _Namer:
    """Hands out unique value/node names (``name``, ``name_1``, ...)."""

    def __init__(self, reserved):
        self.used = set(reserved)

    def fresh(self, base):
        """``base`` if unused, else ``base_1``, ``base_2``, ..."""
        name, k = base, 0
        while name in self.used:
            k += 1
            name = "%s_%d" % (base, k)
        self.used.add(name)
        return name


def link_paths(model):
    """``{id(link): 'enc/0'}`` for every link of ``model`` (the root is ``''``)."""
    return {id(link): path.strip("/") for path, link in model.namedlinks()}


def leaf_arrays(model):
    """``{id(array): (name, array, is_param)}`` for parameters and float persistents."""
    leaves = {}
    for name, param in model.namedparams():
        if param.array is not None:
            leaves[id(param.array)] = (name.lstrip("/"), param.array, True)
    for path, link in model.namedlinks():
        for pname in sorted(link._persistent):
            value = getattr(link, pname)
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                key = (path.strip("/") + "/" + pname).lstrip("/")
                leaves[id(value)] = (key, value, False)
    return leaves


def reachable(outputs):
    """Ids of the function nodes the output variables depend on."""
    seen, todo = set(), [v.creator_node for v in outputs if v.creator_node is not None]
    while todo:
        fn = todo.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        todo.extend(n.creator_node for n in fn.inputs if n.creator_node is not None)
    return seen


def run_model(model, inputs):
    """Runs ``model`` in test mode with the hooks; returns (output variables, recorded calls)."""
    scopes = _ScopeTracker(link_paths(model))
    recorder = _FunctionRecorder(scopes)
    variables = [chainer.Variable(x) for x in inputs.values()]
    with chainer.using_config("train", False), chainer.using_config("enable_backprop", True), \
            scopes, recorder:
        out = model(*variables)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return variables, outs, recorder.calls


class _GraphBuilder:
    """Turns recorded calls into IR nodes; collects every problem before failing."""

    def __init__(self, leaves, input_ids, output_names, namer):
        self.leaves, self.input_ids = leaves, input_ids
        self.output_names, self.namer = output_names, namer
        self.values = {}            # (id(function), output index) -> value name
        self.weights = collections.OrderedDict()
        self.nodes, self.problems = [], []

    def resolve(self, fn, index, array):
        """Value name of input ``index`` of ``fn``; ``None`` (problem recorded) when unknown."""
        vnode = fn.inputs[index]
        creator = vnode.creator_node
        if creator is not None:
            outs = [ref() for ref in creator.outputs]
            return self.values.get((id(creator), outs.index(vnode)))
        if id(array) in self.input_ids:
            return self.input_ids[id(array)]
        if id(array) in self.leaves:
            name, value, _ = self.leaves[id(array)]
            self.weights.setdefault(name, value)
            return name
        self.problems.append("%s: input %d is an array that is neither a model input, "
                             "a parameter nor a persistent value" % (chainer_ops.describe(fn), index))
        return None

    def base_name(self, fn, in_data, scope, op):
        """Link path of the first parameter input, else ``scope/op``."""
        for array in in_data:
            leaf = self.leaves.get(id(array))
            if leaf is not None and leaf[2]:
                return leaf[0].rpartition("/")[0] or op
        return scope + "/" + op if scope else op

    def emit(self, op, inputs, attrs, name, out_name=None):
        """Appends a node; returns its output value name."""
        value = out_name or name
        self.nodes.append(moeir_text.Node(name, op, list(inputs), [value], list(attrs)))
        return value

    def convert(self, fn, in_data, scope, out_name):
        """Converts one call; the value of the plan's last node is the function's output
        (named ``out_name`` when it is a graph output)."""
        names = [self.resolve(fn, i, a) for i, a in enumerate(in_data)]
        try:
            plan = chainer_ops.convert(fn, in_data)
        except chainer_ops.Unsupported as e:
            self.problems.append(str(e))
            return
        if any(n is None for n in names):
            return
        base = self.base_name(fn, in_data, scope, plan[-1].op)
        base = base if base == out_name else self.namer.fresh(base)
        step_values = []
        for k, step in enumerate(plan):
            last = k == len(plan) - 1
            args = [names[i] if isinstance(i, int) else step_values[int(i[1:])]
                    for i in step.inputs]
            node_name = base if last else self.namer.fresh(base + "/" + step.tag)
            step_values.append(self.emit(step.op, args, step.attrs, node_name,
                                         out_name if last else None))
        self.values[(id(fn), 0)] = step_values[-1]


def trace(model, inputs, output_names, graph_name=None, weights_file="weights.npz"):
    """Traces ``model`` on ``inputs`` (ordered name -> array); returns a ``TraceResult``.

    Raises ``TraceError`` naming every unsupported function at once.
    """
    inputs = collections.OrderedDict((k, np.asarray(v, dtype=np.float32)) for k, v in inputs.items())
    variables, outs, calls = run_model(model, inputs)
    if len(outs) != len(output_names):
        raise TraceError("model returned %d output(s), but %d output name(s) were given (%s)"
                         % (len(outs), len(output_names), ", ".join(output_names)))
    leaves = leaf_arrays(model)
    input_ids = {id(v.array): name for name, v in zip(inputs, variables)}
    reserved = list(inputs) + list(output_names) + [n for n, _, _ in leaves.values()]
    builder = _GraphBuilder(leaves, input_ids, list(output_names), _Namer(reserved))
    out_of = output_assignment(outs, output_names, builder)
    live = reachable(outs)
    for fn, in_data, scope in calls:
        if id(fn) in live:
            builder.convert(fn, in_data, scope, out_of.get(id(fn)))
    add_aliases(outs, output_names, out_of, builder)
    if builder.problems:
        raise TraceError(summarise(builder.problems))
    graph = moeir_text.Graph(
        name=graph_name or type(model).__name__,
        meta={"arch": "traced", "source": "chainer-trace", "weights": weights_file},
        inputs=[(n, [BATCH_SYMBOL] + list(a.shape[1:])) for n, a in inputs.items()],
        weights=[(n, list(a.shape)) for n, a in builder.weights.items()],
        nodes=builder.nodes, outputs=list(output_names))
    weights = collections.OrderedDict(
        (n, np.asarray(a, dtype=np.float32)) for n, a in builder.weights.items())
    return TraceResult(moeir_text.render(graph), weights, graph)


def output_assignment(outs, output_names, builder):
    """``{id(creator function): output name}`` for the first output each function produces."""
    out_of = {}
    for var, name in zip(outs, output_names):
        fn = var.creator_node
        if fn is None:
            builder.problems.append("output %r is not computed by any function" % name)
        elif id(fn) not in out_of:
            out_of[id(fn)] = name
    return out_of


def add_aliases(outs, output_names, out_of, builder):
    """``identity`` nodes for outputs that repeat a value already named as another output."""
    for var, name in zip(outs, output_names):
        fn = var.creator_node
        if fn is not None and out_of.get(id(fn)) != name and (id(fn), 0) in builder.values:
            builder.emit("identity", [builder.values[(id(fn), 0)]], [], name)


def summarise(problems):
    """One line listing every distinct problem (with a count when repeated)."""
    counts = collections.Counter(problems)
    items = [p if counts[p] == 1 else "%s (x%d)" % (p, counts[p])
             for p in sorted(counts, key=problems.index)]
    return "cannot trace: " + "; ".join(items)


def load_model(module_path, class_name, kwargs):
    """Imports ``module_path`` and builds ``class_name(**kwargs)``."""
    name = os.path.splitext(os.path.basename(module_path))[0]
    spec = importlib.util.spec_from_file_location(name, module_path)
    if spec is None:
        raise TraceError("cannot import %s" % module_path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(module_path)))
    spec.loader.exec_module(module)
    if not hasattr(module, class_name):
        raise TraceError("%s has no class %r" % (module_path, class_name))
    return getattr(module, class_name)(**kwargs)


def load_checkpoint(model, path, prefix=""):
    """Loads a Chainer NPZ / HDF5 checkpoint (optionally under ``prefix``) into ``model``."""
    if path.endswith((".h5", ".hdf5")):
        import h5py
        from chainer.serializers import HDF5Deserializer

        with h5py.File(path, "r") as f:
            HDF5Deserializer(f[prefix.strip("/")] if prefix else f).load(model)
    else:
        chainer.serializers.load_npz(path, model, path=prefix)


def parse_input_shape(text):
    """``'z:1,162'`` -> ``('z', (1, 162))``."""
    name, sep, dims = text.partition(":")
    try:
        shape = tuple(int(d) for d in dims.split(","))
    except ValueError:
        shape = ()
    if not sep or not name or not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError("expected NAME:D0,D1,... (batch first), got %r" % text)
    return name, shape


def write_atomic(path, write):
    """Calls ``write(file)`` on a temporary file beside ``path``, then renames it into place."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-" + os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def output_paths(out):
    """(``OUT.moeir``, ``OUT.weights.npz``) for ``-o OUT.moeir``."""
    stem = out[:-len(".moeir")] if out.endswith(".moeir") else out
    return stem + ".moeir", stem + ".weights.npz"


def save(result, text_path, weights_path):
    """Writes the weights NPZ, then the IR text, each atomically."""
    write_atomic(weights_path, lambda f: np.savez_compressed(f, **result.weights))
    write_atomic(text_path, lambda f: f.write(result.text.encode("utf-8")))


def parse_args(argv):
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[2:]))
    p.add_argument("--module", required=True, help="Python file defining the model class")
    p.add_argument("--model", required=True, help="model class name")
    p.add_argument("--kwargs", default="{}", help="JSON object of constructor arguments")
    p.add_argument("--input-shape", action="append", type=parse_input_shape, required=True,
                   metavar="NAME:D0,D1,...", help="an input and its example shape; repeatable, in order")
    p.add_argument("--output-names", action="append", required=True, metavar="NAME[,NAME...]",
                   help="names of the model's outputs, in order")
    p.add_argument("-o", "--output", required=True, help="OUT.moeir (weights go to OUT.weights.npz)")
    p.add_argument("--checkpoint", help="Chainer .npz/.h5 checkpoint to load before tracing")
    p.add_argument("--prefix", default="", help="key prefix inside the checkpoint")
    p.add_argument("--seed", type=int, default=0, help="seed of the random example inputs")
    return p.parse_args(argv)


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    args = parse_args(argv)
    outputs = [n for group in args.output_names for n in group.split(",") if n]
    text_path, weights_path = output_paths(args.output)
    try:
        model = load_model(args.module, args.model, json.loads(args.kwargs))
        if args.checkpoint:
            load_checkpoint(model, args.checkpoint, args.prefix)
        rng = np.random.RandomState(args.seed)
        inputs = collections.OrderedDict(
            (name, rng.standard_normal(shape).astype(np.float32)) for name, shape in args.input_shape)
        result = trace(model, inputs, outputs, weights_file=os.path.basename(weights_path))
        save(result, text_path, weights_path)
    except (TraceError, ValueError, KeyError, TypeError, OSError) as e:
        print("trace.py: %s" % (e.args[0] if isinstance(e, KeyError) and e.args else e), file=sys.stderr)
        return 1
    if any(shape[0] == 1 for _, shape in args.input_shape):
        print("trace.py: note: traced at batch 1, where a batch-merging reshape looks batch-preserving; "
              "trace at batch >= 2 to be sure", file=sys.stderr)
    print(json.dumps({"ir": text_path, "weights": weights_path, "nodes": len(result.graph.nodes),
                      "weight_count": len(result.weights)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
