#!/usr/bin/env bash
# Fuzz/make_seeds.sh OUT MOE: seed corpora for the fuzz targets, small valid files of each kind, in OUT/<reader>/.
# NPY/NPZ/HDF5 from NumPy, h5py and real Chainer fixtures; ONNX, .moe bundles and IR text written by `moe convert`.
set -euo pipefail
out=${1:?usage: make_seeds.sh OUT MOE}
moe=${2:?usage: make_seeds.sh OUT MOE}
here=$(cd "$(dirname "$0")/.." && pwd)
py="$here/Converters/py"
rm -rf "$out"
mkdir -p "$out"/{npy,npz,hdf5,onnx,bundle,irtext}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$py" "$here/Converters/chainer/make_fixture.py" --arch dcgan-generator --C 8 --n 4 --batch 1 --out "$work/dcgan" >/dev/null
"$py" "$here/Converters/chainer/make_fixture.py" --arch srresnet-generator --C 8 --B 1 --U 1 --n 6 --batch 1 --format h5 \
  --out "$work/srresnet" >/dev/null
cp "$work/dcgan/model.npz" "$out/npz/dcgan.npz"
cp "$work/srresnet/model.h5" "$out/hdf5/srresnet.h5"

"$py" - "$out" <<'PY'
import sys, numpy as np, h5py, onnx
from onnx import helper, TensorProto
out = sys.argv[1]
rng = np.random.default_rng(0)
arrays = {"f32": rng.standard_normal((2, 3)).astype(np.float32), "f64": rng.standard_normal(4),
          "f16": np.arange(6, dtype=np.float16).reshape(3, 2), "i64": np.arange(5, dtype=np.int64),
          "scalar": np.float32(1.5), "fortran": np.asfortranarray(rng.standard_normal((3, 2)).astype(np.float32)),
          "empty": np.zeros((0, 3), np.float32), "bool": np.array([True, False])}
for k, a in arrays.items():
    np.save("%s/npy/%s.npy" % (out, k), a)
np.savez("%s/npz/plain.npz" % out, **{"a/W": arrays["f32"], "a/b": arrays["i64"]})
np.savez_compressed("%s/npz/compressed.npz" % out, **{"x": arrays["f16"], "y": arrays["fortran"]})
with h5py.File("%s/hdf5/groups.h5" % out, "w") as f:
    f.create_dataset("l1/W", data=arrays["f32"])
    f.create_dataset("l1/b", data=arrays["f64"].astype(np.float32), chunks=True, compression="gzip")
    f.create_dataset("scalar", data=np.float32(2))
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])
w = helper.make_tensor("W", TensorProto.FLOAT, [3, 2], rng.standard_normal(6).astype(np.float32).tolist())
nodes = [helper.make_node("MatMul", ["x", "W"], ["m"]), helper.make_node("Relu", ["m"], ["y"])]
model = helper.make_model(helper.make_graph(nodes, "tiny", [x], [y], [w]), opset_imports=[helper.make_opsetid("", 17)])
onnx.save(model, "%s/onnx/matmul_relu.onnx" % out)
PY

m="$out/npz/dcgan.npz"
"$moe" convert "$m" -o "$out/onnx/dcgan.onnx" >/dev/null
"$moe" convert "$work/srresnet/model.h5" -o "$out/onnx/srresnet.onnx" >/dev/null
for q in none int8 eightbit palette16-pc f16; do "$moe" convert "$m" -o "$out/bundle/dcgan-$q.moe" --quantize "$q" >/dev/null; done
"$moe" convert "$m" -o "$out/bundle/dcgan-int4-deflate.moe" --quantize int4-g32 --deflate >/dev/null
"$moe" convert "$m" -o "$work/dcgan.moeir" >/dev/null
"$moe" convert "$work/srresnet/model.h5" -o "$work/srresnet.moeir" >/dev/null
cp "$work/dcgan.moeir" "$work/srresnet.moeir" "$out/irtext/"
for d in "$out"/*; do echo "seeds: $(ls "$d" | wc -l) in $d"; done
