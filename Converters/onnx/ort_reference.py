"""Seeded inputs and ONNX Runtime outputs for a set of .onnx files (the reference of the PyTorch fixture tests).

Usage: ort_reference.py --out DIR [--batch B ...] MODEL.onnx ...

For every model M and batch B: the model's single float32 input (its symbolic batch axis set to B, other axes as
declared) filled with seeded standard-normal values → DIR/M_bB_in.npy, and ONNX Runtime's first output (CPU,
default session options) → DIR/M_bB_out.npy, where M is the file name without `.onnx`. External data is read by
ONNX Runtime from beside the model. Errors: one line on stderr, exit 1.
"""
import argparse
import os
import sys

import numpy as np
import onnxruntime as ort


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--batch", type=int, action="append", default=[])
    p.add_argument("models", nargs="+")
    a = p.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    try:
        for k, path in enumerate(a.models):
            name = os.path.basename(path)[: -len(".onnx")]
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            (inp,) = sess.get_inputs()
            for b in a.batch or [1]:
                shape = [b if not isinstance(d, int) else d for d in inp.shape]
                x = np.random.default_rng(1000 * k + b).standard_normal(shape).astype(np.float32)
                y = sess.run(None, {inp.name: x})[0]
                np.save(os.path.join(a.out, f"{name}_b{b}_in.npy"), x)
                np.save(os.path.join(a.out, f"{name}_b{b}_out.npy"), np.ascontiguousarray(y, dtype=np.float32))
    except Exception as e:  # noqa: BLE001 — one line for the caller
        print(f"ort_reference: {path}: {type(e).__name__}: {e}".splitlines()[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
