"""Runs a MoeKit-generated PyTorch module (model.py + its safetensors) in eval() on .npy inputs: ``moe verify``'s torch runtime.

Usage: run_torch.py --model model.py [--weights W.safetensors] --out DIR [--expose-all] NAME=X.npy [NAME=X.npy ...]

Writes each output as ``DIR/<k>.npy`` and ``DIR/manifest.json`` listing ``{name, file, shape}`` in order: first the
graph outputs, then (``--expose-all``) every value ``forward`` computes, named by the module's ``GRAPH_VALUES``.
Errors: one line on stderr, exit 1.
"""
import argparse
import importlib.util
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import need_torch  # noqa: E402,F401

import numpy as np  # noqa: E402
import torch  # noqa: E402


def load_module(path, weights=None):
    """The generated ``Model`` class of ``path``, instantiated with its weights (strict) and in eval mode."""
    spec = importlib.util.spec_from_file_location("moekit_generated_%d" % abs(hash(os.path.abspath(path))), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.Model.load(weights)
    model.eval()
    return model


def run(model, feeds, expose_all=False):
    """Outputs (graph name → array) of ``model`` on ``feeds`` (a list in forward's argument order); with ``expose_all``
    also every local variable of forward that is a graph value."""
    captured = {}

    def tracer(frame, event, arg):
        if frame.f_code is type(model).forward.__code__:
            if event == "return":
                captured.update(frame.f_locals)
            return tracer
        return None

    with torch.no_grad():
        old = sys.gettrace()
        if expose_all:
            sys.settrace(tracer)
        try:
            result = model(*[torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) for x in feeds])
        finally:
            sys.settrace(old)
    return result, captured


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--weights")
    p.add_argument("--out", required=True)
    p.add_argument("--expose-all", action="store_true")
    p.add_argument("inputs", nargs="+")
    a = p.parse_args(argv)
    try:
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
        model = load_module(a.model, a.weights)
        names, feeds = [], []
        for spec in a.inputs:
            name, _, file = spec.partition("=")
            names.append(name)
            feeds.append(np.load(file))
        result, local = run(model, feeds, a.expose_all)
        outs = list(result) if isinstance(result, tuple) else [result]
        values = type(model).GRAPH_VALUES
        forward_outputs = list(type(model).OUTPUTS)
        listed, seen = [], set()
        os.makedirs(a.out, exist_ok=True)

        def save(name, tensor):
            k = len(listed)
            y = tensor.detach().cpu().numpy().astype(np.float32)
            np.save(os.path.join(a.out, "%d.npy" % k), y)
            listed.append({"name": name, "file": "%d.npy" % k, "shape": list(y.shape)})
            seen.add(name)

        for name, y in zip(forward_outputs, outs):
            save(name, y)
        for var, value in local.items():
            if var in values and values[var] not in seen and torch.is_tensor(value) and values[var] not in names:
                save(values[var], value)
        with open(os.path.join(a.out, "manifest.json"), "w") as f:
            json.dump({"runtime": "torch %s" % torch.__version__, "outputs": listed}, f)
    except Exception as e:
        print("run_torch: %s: %s" % (a.model, str(e).splitlines()[0] if str(e) else type(e).__name__), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
