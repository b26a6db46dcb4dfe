"""Speed of the paper generator in MoeKit native, real Chainer and ONNX Runtime, measured side by side in one run.

Usage: bench_speed.py --moe .build/release/moe --model demo-out/paper/model.npz [--batches 1,16] [--runs 5] [--threads 2]

MoeKit is timed by ``moe bench --json`` (median of ``--runs`` after a warm-up); Chainer 7.8.1 (NumPy's BLAS) and ONNX
Runtime (CPU, on MoeKit's ONNX export of the same checkpoint) are timed here the same way, on the same inputs
drawn from the input prior. Prints a Markdown table with each runtime's ms/image and the ratio to MoeKit (> 1: MoeKit is
faster), then one JSON line. A benchmark, not a test: nothing is asserted.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "chainer"))

import chainer  # noqa: E402
import onnxruntime as ort  # noqa: E402

import moe_zoo  # noqa: E402


def infer_hyper(path):
    """C, B, U, n of an srresnet-generator checkpoint, from its shapes."""
    with np.load(path) as z:
        keys = set(z.files)
        w = z["fc/W"]
    blocks = len({k.split("/")[1] for k in keys if k.startswith("res/")})
    ups = len({k.split("/")[1] for k in keys if k.startswith("up/")})
    return dict(C=w.shape[0] // 256, B=blocks, U=ups, n=w.shape[1])


def median_ms(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--moe", default=".build/release/moe")
    p.add_argument("--model", required=True)
    p.add_argument("--batches", default="1,16")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    hyper = infer_hyper(a.model)
    model = moe_zoo.build("srresnet-generator", **hyper)
    chainer.serializers.load_npz(a.model, model)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = os.path.join(tmp, "model.onnx")
        subprocess.run([a.moe, "convert", a.model, "-o", onnx_path], check=True, capture_output=True, stdin=subprocess.DEVNULL)
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        session = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    rows = []
    rng = np.random.default_rng(0)
    for batch in [int(b) for b in a.batches.split(",")]:
        cmd = [a.moe, "bench", a.model, "--batch", str(batch), "--runs", str(a.runs), "--threads", str(a.threads), "--json"]
        print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
        moe = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL).stdout.splitlines()[-1])
        z = rng.standard_normal((batch, hyper["n"])).astype(np.float32)

        def run_chainer():
            with chainer.using_config("train", False), chainer.no_backprop_mode():
                model(z)

        print("+ chainer batch %d" % batch, file=sys.stderr, flush=True)
        chainer_ms = median_ms(run_chainer, a.runs) / batch
        print("+ onnxruntime batch %d" % batch, file=sys.stderr, flush=True)
        ort_ms = median_ms(lambda: session.run(None, {session.get_inputs()[0].name: z}), a.runs) / batch
        rows.append(dict(batch=batch, moekit_ms=moe["ms_per_image"], gflops=moe["gflops"], peak_bytes=moe["peak_bytes"],
                         chainer_ms=chainer_ms, onnxruntime_ms=ort_ms,
                         chainer_ratio=chainer_ms / moe["ms_per_image"], onnxruntime_ratio=ort_ms / moe["ms_per_image"]))
    print("srresnet-generator C=%d B=%d U=%d n=%d, %d thread(s), median of %d runs"
          % (hyper["C"], hyper["B"], hyper["U"], hyper["n"], a.threads, a.runs))
    print()
    print("| batch | MoeKit native ms/image | GFLOP/s | Chainer %s ms/image | ONNX Runtime %s ms/image | Chainer ÷ MoeKit | ORT ÷ MoeKit |" % (chainer.__version__, ort.__version__))
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %d | %.1f | %.1f | %.1f | %.1f | %.2f× | %.2f× |" % (r["batch"], r["moekit_ms"], r["gflops"], r["chainer_ms"], r["onnxruntime_ms"],
                                                               r["chainer_ratio"], r["onnxruntime_ratio"]))
    print()
    print(json.dumps({"model": a.model, "hyper": hyper, "threads": a.threads, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
