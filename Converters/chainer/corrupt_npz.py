# Writes a deliberately broken copy of a Chainer NPZ or HDF5 checkpoint, for importer error-path tests.
"""Corrupt one key of an NPZ or HDF5 file (by extension: ``.h5``/``.hdf5`` is HDF5).

Usage::

    corrupt_npz.py IN.npz OUT.npz --missing KEY
    corrupt_npz.py IN.npz OUT.npz --wrong-shape KEY
    corrupt_npz.py IN.npz OUT.npz --wrong-dtype KEY:int32
    corrupt_npz.py IN.npz OUT.npz --object KEY     # pickled None, like a lazy parameter
    corrupt_npz.py IN.npz OUT.npz --extra KEY

Exactly one corruption per call. NPZ output is written with ``numpy.savez_compressed``
(as ``chainer.serializers.save_npz`` does); HDF5 output with h5py, one dataset per key (as
``save_hdf5`` does), where ``--object`` becomes an empty dataset (``h5py.Empty``, Chainer's None).
"""

import argparse
import sys

import numpy as np


def is_hdf5(path):
    return path.endswith((".h5", ".hdf5"))


def load_all(path):
    """All arrays of an NPZ or HDF5 file as an ordered dict (pickles allowed)."""
    if is_hdf5(path):
        import h5py
        arrays = {}
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: arrays.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        return arrays
    with np.load(path, allow_pickle=True) as f:
        return {k: f[k] for k in f.files}


def save_all(path, arrays):
    """Writes ``arrays`` as NPZ or HDF5 (by extension)."""
    if is_hdf5(path):
        import h5py
        with h5py.File(path, "w") as f:
            for k, a in arrays.items():
                if isinstance(a, np.ndarray) and a.dtype == object:
                    f.create_dataset(k, data=h5py.Empty("f"))
                else:
                    f.create_dataset(k, data=a)
        return
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def _require(arrays, key):
    if key not in arrays:
        raise SystemExit("corrupt_npz: key %r not in input" % key)


def wrong_shape(a):
    """An array of the same dtype whose shape differs from ``a``'s."""
    if a.ndim == 0:
        return np.zeros((2,), dtype=a.dtype)
    shape = list(a.shape)
    shape[0] += 1
    return np.zeros(shape, dtype=a.dtype)


def corrupt(arrays, kind, arg):
    """Applies one corruption to ``arrays`` in place and returns it."""
    if kind == "missing":
        _require(arrays, arg)
        del arrays[arg]
    elif kind == "wrong_shape":
        _require(arrays, arg)
        arrays[arg] = wrong_shape(arrays[arg])
    elif kind == "wrong_dtype":
        key, _, dtype = arg.rpartition(":")
        if not key:
            raise SystemExit("corrupt_npz: --wrong-dtype takes KEY:DTYPE")
        _require(arrays, key)
        arrays[key] = arrays[key].astype(np.dtype(dtype))
    elif kind == "object":
        _require(arrays, arg)
        arrays[arg] = np.array(None, dtype=object)
    elif kind == "extra":
        if arg in arrays:
            raise SystemExit("corrupt_npz: key %r already in input" % arg)
        arrays[arg] = np.zeros((3,), dtype=np.float32)
    return arrays


def main(argv=None):
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("input")
    p.add_argument("output")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--missing", metavar="KEY", help="drop KEY")
    group.add_argument("--wrong-shape", metavar="KEY", help="grow KEY's first dimension by one")
    group.add_argument("--wrong-dtype", metavar="KEY:DTYPE", help="cast KEY to DTYPE")
    group.add_argument("--object", metavar="KEY", help="replace KEY by a pickled None")
    group.add_argument("--extra", metavar="KEY", help="add an unexpected float32 KEY")
    args = p.parse_args(argv)
    kind, arg = next((k, v) for k, v in vars(args).items()
                     if k not in ("input", "output") and v is not None)
    save_all(args.output, corrupt(load_all(args.input), kind, arg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
