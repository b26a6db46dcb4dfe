"""Speed of PyTorch-exported image models in MoeKit native and ONNX Runtime, on the same .onnx files, in one run.

Usage: Converters/py Converters/bench_onnx_zoo.py --moe .build/release/moe [--runs 20] [--rounds 3] [--threads 2]
                                                   [--only unet srgan pix2pix ...] [--keep DIR]

Exports (torch.onnx.export, TorchScript exporter, opset 17, dynamic batch axis; random init with randomized
BatchNorm statistics, as Converters/torch/export_zoo.py does) a small U-Net, an SRGAN generator and a pix2pix
generator at working sizes, plus the tiny test fixtures of the same families (per-op overhead), then times each
at batch 1: `moe bench X.onnx --json` (median of --runs after a warm-up) and ONNX Runtime (CPU, default session
options but the thread count) on the same file, in alternating rounds. Prints a Markdown table (ratio > 1: MoeKit
is faster) and one JSON line. Needs PyTorch (see Converters/torch/need_torch.py). A benchmark: nothing is asserted.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "torch"))

import need_torch  # noqa: E402,F401  (exits with a clear message without PyTorch)
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

import export_zoo  # noqa: E402
from bench_speed import median_ms  # noqa: E402  (warm-up, then the median of timed runs, as for the paper generator)

# name → (constructor, input shape without the batch, what it is)
MODELS = {
    "unet": (lambda: export_zoo.UNet(c=16), (3, 128, 128), "U-Net c=16 (MaxPool, bilinear Resize, Concat), 128²"),
    "srgan": (lambda: export_zoo.SRGAN(c=64, blocks=8), (3, 48, 48), "SRGAN generator c=64, 8 blocks (PReLU, PixelShuffle), 48² → 96²"),
    "pix2pix": (lambda: export_zoo.Pix2Pix(c=32), (3, 128, 128), "pix2pix generator c=32 (InstanceNorm, ConvTranspose), 128²"),
    "unet-tiny": (export_zoo.UNet, (3, 16, 16), "test fixture U-Net c=4, 16²"),
    "srgan-tiny": (export_zoo.SRGAN, (3, 8, 8), "test fixture SRGAN c=6, 8²"),
    "pix2pix-tiny": (export_zoo.Pix2Pix, (3, 16, 16), "test fixture pix2pix c=4, 16²"),
}


def export(name, path):
    make, shape, _ = MODELS[name]
    torch.manual_seed(0)
    m = make()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.normal_(0, 0.3)
                mod.running_var.uniform_(0.5, 2.0)
            elif isinstance(mod, torch.nn.PReLU):
                mod.weight.uniform_(0.05, 0.4)
    m.eval()
    torch.onnx.export(m, (torch.randn(2, *shape),), path, dynamo=False, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17)
    return shape


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--moe", default=".build/release/moe")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", nargs="*", default=list(MODELS))
    p.add_argument("--keep", help="write the exported .onnx files here (default: a temporary folder)")
    a = p.parse_args(argv)
    tmp = tempfile.TemporaryDirectory()
    folder = a.keep or tmp.name
    os.makedirs(folder, exist_ok=True)
    rows = []
    for name in a.only:
        path = os.path.join(folder, name + ".onnx")
        shape = export(name, path)
        print("+ exported %s %s" % (path, shape), file=sys.stderr, flush=True)
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        session = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        x = np.random.default_rng(0).standard_normal((1,) + shape).astype(np.float32)
        moe, onnxrt = [], []
        for k in range(a.rounds):
            cmd = [a.moe, "bench", path, "--batch", "1", "--runs", str(a.runs), "--threads", str(a.threads), "--json"]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL).stdout
            moe.append(json.loads(out.splitlines()[-1])["ms_per_image"])
            onnxrt.append(median_ms(lambda: session.run(None, {"x": x}), a.runs))
        r = dict(model=name, what=MODELS[name][2], input=list(shape), moekit_ms=statistics.median(moe),
                 onnxruntime_ms=statistics.median(onnxrt), moekit_rounds=moe, onnxruntime_rounds=onnxrt)
        r["onnxruntime_ratio"] = r["onnxruntime_ms"] / r["moekit_ms"]
        rows.append(r)
    print("PyTorch %s exports (opset 17) at batch 1, %d thread(s), %d rounds of %d runs (median of round medians)"
          % (torch.__version__, a.threads, a.rounds, a.runs))
    print()
    print("| model | MoeKit native ms | ONNX Runtime %s ms | ORT ÷ MoeKit |" % ort.__version__)
    print("|---|---:|---:|---:|")
    for r in rows:
        print("| %s | %.3f | %.3f | %.2f× |" % (r["what"], r["moekit_ms"], r["onnxruntime_ms"], r["onnxruntime_ratio"]))
    print()
    print(json.dumps({"threads": a.threads, "rounds": a.rounds, "runs": a.runs, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
