# Writes Chainer checkpoints the way Chainer does (NPZ/HDF5, optional prefix) plus dtype and lazy-parameter quirks.
"""Checkpoint writing for the fixture maker.

Everything goes through Chainer's own serializers (``DictionarySerializer`` for
NPZ, ``HDF5Serializer`` for HDF5), so the files hold exactly what
``save_npz``/``save_hdf5`` would write. The quirks operate on the live objects
before saving:

* ``round_to_float16`` rounds every float array of a model through float16 (in
  float32), so outputs computed afterwards match what a float16 checkpoint
  converted back to float32 computes;
* ``cast_floats`` casts every float parameter/persistent array of a link (and
  the state of its optimizer update rules) to a dtype, as a model trained or
  stored in that dtype holds it;
* ``make_lazy`` swaps a parameter for an uninitialised ``chainer.Parameter``,
  which Chainer's serializers write as a pickled ``None`` (NPZ) or an empty
  dataset (HDF5).
"""

import numpy as np

import chainer
from chainer.serializers import DictionarySerializer, HDF5Serializer

#: Dtypes a fixture checkpoint may be written in.
CHECKPOINT_DTYPES = ("float32", "float64", "float16")


def _float_arrays(link):
    """(owner link, attribute name, array) for every float parameter/persistent of ``link``."""
    for sub in link.links():
        for name in sorted(sub._params):
            array = getattr(sub, name).array
            if array is not None and array.dtype.kind == "f":
                yield sub, name, array
        for name in sorted(sub._persistent):
            value = getattr(sub, name)
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                yield sub, name, value


def _set_array(link, name, array):
    """Replaces a parameter's array or a persistent value of ``link``."""
    if name in link._params:
        param = getattr(link, name)
        param.grad = None
        param.array = array
    else:
        setattr(link, name, array)


def round_to_float16(link):
    """Rounds every float array of ``link`` to float16 and back to float32, in place."""
    for sub, name, array in list(_float_arrays(link)):
        array[...] = array.astype(np.float16).astype(array.dtype)


def cast_floats(link, dtype, optimizer=None):
    """Casts every float array of ``link`` (and ``optimizer``'s per-parameter state) to ``dtype``."""
    dtype = np.dtype(dtype)
    for sub, name, array in list(_float_arrays(link)):
        _set_array(sub, name, array.astype(dtype))
    if optimizer is None:
        return
    for _, param in link.namedparams():
        rule = getattr(param, "update_rule", None)
        state = getattr(rule, "state", None) or {}
        for key, value in state.items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                state[key] = value.astype(dtype)


def param_names(link):
    """Parameter keys of ``link`` as ``save_npz`` writes them (``'fc/W'``)."""
    return sorted(name.lstrip("/") for name, _ in link.namedparams())


def check_params(link, keys):
    """Raises KeyError naming the first of ``keys`` that is not a parameter of ``link``."""
    names = param_names(link)
    for key in keys:
        if key not in names:
            raise KeyError("--lazy %s: no such parameter (have: %s)" % (key, ", ".join(names)))


def make_lazy(link, key, optimizer=None):
    """Makes parameter ``key`` (``'fc/W'``) of ``link`` uninitialised, as if never run.

    With ``optimizer``, the parameter gets a fresh update rule from it (state not
    yet initialised), which is what an optimizer set up on a lazy link holds.
    """
    check_params(link, [key])
    owner_path, _, name = key.rpartition("/")
    owner = link
    for part in filter(None, owner_path.split("/")):
        owner = owner[int(part)] if isinstance(owner, chainer.ChainList) else getattr(owner, part)
    lazy = chainer.Parameter(chainer.initializers.LeCunNormal())
    assert lazy.array is None
    if optimizer is not None:
        lazy.update_rule = optimizer.create_update_rule()
    with owner.init_scope():
        setattr(owner, name, lazy)


def save_checkpoint(obj, path, prefix="", fmt="npz"):
    """Saves like ``chainer.serializers.save_npz`` / ``save_hdf5``, under ``prefix`` if given."""
    if fmt == "npz":
        serializer = DictionarySerializer(path=prefix)
        serializer.save(obj)
        with open(path, "wb") as f:
            np.savez_compressed(f, **serializer.target)
    elif fmt == "h5":
        import h5py

        with h5py.File(path, "w") as f:
            group = f.require_group(prefix.strip("/")) if prefix else f
            HDF5Serializer(group).save(obj)
    else:
        raise ValueError("unknown checkpoint format %r" % fmt)
