"""The `safetensors` package as the reference for MoeKit's own safetensors reader and writer.

``write DIR``: writes ``DIR/package.safetensors`` with one tensor of every dtype (numpy API; BF16 through torch) and
each tensor's values as ``DIR/<name>.npy`` (BF16 as float32), plus ``DIR/expected.json`` ({name: [dtype, shape]},
metadata). ``read FILE DIR``: loads FILE with the package (numpy and torch APIs, which validate the header) and writes
every tensor as ``DIR/<name>.npy`` and ``DIR/read.json`` ({tensors: {name: [dtype, shape]}, metadata}).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import need_torch  # noqa: E402,F401

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402
from safetensors.torch import load as torch_load  # noqa: E402
from safetensors.torch import save as torch_save  # noqa: E402


def write(out):
    rng = np.random.default_rng(7)
    arrays = {
        "f64": rng.standard_normal((2, 3)),
        "f32.weight": rng.standard_normal((4, 3, 2, 2)).astype(np.float32),
        "f16": rng.standard_normal(5).astype(np.float16),
        "i64.num_batches_tracked": np.array(17, dtype=np.int64),
        "i32": rng.integers(-2**31, 2**31 - 1, size=(3,), dtype=np.int32),
        "i16": rng.integers(-2**15, 2**15 - 1, size=(2, 2), dtype=np.int16),
        "i8": rng.integers(-128, 127, size=(7,), dtype=np.int8),
        "u8": rng.integers(0, 255, size=(1, 6), dtype=np.uint8),
        "bool": rng.integers(0, 2, size=(4,)).astype(np.bool_),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    os.makedirs(out, exist_ok=True)
    # Saved through torch, whose safetensors API also knows BF16 (numpy has no bfloat16).
    tensors = {k: torch.from_numpy(v.copy()) for k, v in arrays.items()}  # copy(): C order, keeps 0-d
    bf = torch.randn(3, 2, generator=torch.Generator().manual_seed(3)).to(torch.bfloat16)
    tensors["bf16"] = bf
    blob = torch_save(tensors, metadata={"format": "pt", "note": "from the safetensors package"})
    with open(os.path.join(out, "package.safetensors"), "wb") as f:
        f.write(blob)
    expected = {}
    for k, v in arrays.items():
        np.save(os.path.join(out, k + ".npy"), v)
        expected[k] = [str(v.dtype), list(v.shape)]
    np.save(os.path.join(out, "bf16.npy"), bf.float().numpy())
    expected["bf16"] = ["bfloat16", [3, 2]]
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"tensors": expected, "metadata": {"format": "pt", "note": "from the safetensors package"}}, f)


def read(path, out):
    arrays = load_file(path)
    with open(path, "rb") as f:
        torch_load(f.read())  # the torch loader validates too
    with safe_open(path, framework="np") as f:
        metadata = f.metadata() or {}
    os.makedirs(out, exist_ok=True)
    listed = {}
    for k, v in arrays.items():
        np.save(os.path.join(out, k + ".npy"), v)
        listed[k] = [str(v.dtype), list(v.shape)]
    with open(os.path.join(out, "read.json"), "w") as f:
        json.dump({"tensors": listed, "metadata": metadata}, f)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        read(sys.argv[2], sys.argv[3])
