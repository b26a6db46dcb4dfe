"""Speed of the paper generator in MoeKit native, real Chainer and ONNX Runtime, measured side by side in one run.

Usage: bench_speed.py --moe .build/release/moe --model demo-out/paper/model.npz [--batches 1,16] [--runs 5] [--rounds 3]
                      [--threads 2] [--busy]

MoeKit is timed by ``moe bench --json`` (median of ``--runs`` after a warm-up); Chainer 7.8.1 (NumPy's BLAS) and ONNX
Runtime (CPU, on MoeKit's ONNX export of the same checkpoint) are timed here the same way, on the same inputs,
in alternating rounds. Prints a Markdown table with each runtime's ms/image and the ratio to MoeKit (> 1: MoeKit is
faster), then one JSON line. ONNX Runtime runs with its default session options but for the thread count.
With --busy, a second process keeps one core busy (a spinning loop, as another program on a shared machine would)
during every measurement. A benchmark, not a test: nothing is asserted.
"""
import argparse
import atexit
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
    # Warm-up of at least 3 runs and 0.25 s, as `moe bench` and the web runner do (one run is enough once a second has
    # passed: Chainer at batch 16 takes tens of seconds a run).
    start, warm = time.perf_counter(), 0
    while warm < 1 or time.perf_counter() - start < 0.25 or (warm < 3 and time.perf_counter() - start < 1.0):
        fn()
        warm += 1
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
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--busy", action="store_true", help="keep one core busy with another process while measuring")
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
    batches = [int(b) for b in a.batches.split(",")]
    rng = np.random.default_rng(0)
    inputs = {batch: rng.standard_normal((batch, hyper["n"])).astype(np.float32) for batch in batches}

    def run_chainer(z):
        with chainer.using_config("train", False), chainer.no_backprop_mode():
            model(z)

    # Rounds alternate the runtimes so that a slow spell of a shared machine hits all of them; each figure is the
    # median over rounds of per-round medians.
    busy = None
    if a.busy:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
        atexit.register(busy.kill)
    samples = {(rt, batch): [] for rt in ("moekit", "chainer", "onnxruntime") for batch in batches}
    extra = {}
    for k in range(a.rounds):
        for batch in batches:
            cmd = [a.moe, "bench", a.model, "--batch", str(batch), "--runs", str(a.runs), "--threads", str(a.threads), "--json"]
            print("+ round %d: %s" % (k + 1, " ".join(cmd)), file=sys.stderr, flush=True)
            m = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL).stdout.splitlines()[-1])
            samples[("moekit", batch)].append(m["ms_per_image"])
            extra[batch] = m
            print("+ round %d: chainer, onnxruntime batch %d" % (k + 1, batch), file=sys.stderr, flush=True)
            z = inputs[batch]
            samples[("chainer", batch)].append(median_ms(lambda: run_chainer(z), a.runs) / batch)
            samples[("onnxruntime", batch)].append(median_ms(lambda: session.run(None, {session.get_inputs()[0].name: z}), a.runs) / batch)
    if busy is not None:
        busy.kill()
        busy.wait()
    rows = []
    for batch in batches:
        r = dict(batch=batch, peak_bytes=extra[batch]["peak_bytes"], peak_resident_bytes=extra[batch].get("peak_resident_bytes"))
        for rt in ("moekit", "chainer", "onnxruntime"):
            r[rt + "_ms"] = statistics.median(samples[(rt, batch)])
            r[rt + "_rounds"] = samples[(rt, batch)]
        # moe bench's GFLOP/s of its last round, rescaled to the median time.
        r["gflops"] = extra[batch]["gflops"] * extra[batch]["ms_per_image"] / r["moekit_ms"]
        r["chainer_ratio"] = r["chainer_ms"] / r["moekit_ms"]
        r["onnxruntime_ratio"] = r["onnxruntime_ms"] / r["moekit_ms"]
        rows.append(r)
    print("srresnet-generator C=%d B=%d U=%d n=%d, %d thread(s), %d rounds of %d runs (median of round medians)%s"
          % (hyper["C"], hyper["B"], hyper["U"], hyper["n"], a.threads, a.rounds, a.runs,
             ", one core kept busy by another process (--busy)" if a.busy else ""))
    print()
    print("| batch | MoeKit native ms/image | GFLOP/s | Chainer %s ms/image | ONNX Runtime %s ms/image | Chainer ÷ MoeKit | ORT ÷ MoeKit |" % (chainer.__version__, ort.__version__))
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %d | %.1f | %.1f | %.1f | %.1f | %.2f× | %.2f× |" % (r["batch"], r["moekit_ms"], r["gflops"], r["chainer_ms"], r["onnxruntime_ms"],
                                                               r["chainer_ratio"], r["onnxruntime_ratio"]))
    print()
    for r in rows:
        print("batch %d: MoeKit's memory plan peaks at %.1f MiB (activations, weights excluded); the moe process at %.1f MiB resident"
              % (r["batch"], r["peak_bytes"] / 2 ** 20, (r["peak_resident_bytes"] or 0) / 2 ** 20))
    print()
    print(json.dumps({"model": a.model, "hyper": hyper, "threads": a.threads, "rounds": a.rounds, "runs": a.runs,
                      "busy": a.busy, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
