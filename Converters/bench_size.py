"""Size versus fidelity of a generator (the paper generator, the trained sample): every uniform scheme and `auto` at several targets, next to
WebDNN's `eightbit` (MoeKit's byte-exact reimplementation). Prints a Markdown table (for the README) and JSON.

Usage: bench_size.py --moe .build/release/moe --model demo-out/paper/model.npz [--targets 25,30] [--calibration 8]

Each row is measured by `moe report` (output PSNR over [-1, 1] against the float model on inputs drawn from the
input prior). `auto` is also run at the PSNR that `eightbit` reaches on the same model, the issue's bar being
at most half of eightbit's bytes there.
"""
import argparse
import json
import subprocess
import sys

WEBDNN_EIGHTBIT_PAPER = 3865794  # bytes, the MakeGirls.moe site's trained generator


def report(moe, model, quantize, calibration, target=None, sweep=False):
    cmd = [moe, "report", model, "--quantize", quantize, "--json", "--calibration", str(calibration)]
    if target is not None:
        cmd += ["--target-psnr", "%.3f" % target]
    if not sweep:
        cmd.append("--no-sweep")
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return json.loads(out.stdout)


def psnr(v):
    return float("inf") if v == "inf" else float(v)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--moe", default=".build/release/moe")
    p.add_argument("--model", required=True)
    p.add_argument("--targets", default="25,30")
    p.add_argument("--calibration", type=int, default=8)
    p.add_argument("--paper", action="store_true", help="the model is the paper generator: compare eightbit with WebDNN's file")
    a = p.parse_args(argv)
    first = report(a.moe, a.model, "int8", a.calibration, sweep=True)
    rows = [(s["scheme"], s["bytes"], psnr(s["psnr"])) for s in first["schemes"]]
    eightbit = next(r for r in rows if r[0] == "eightbit")
    targets = [float(t) for t in a.targets.split(",")] + [eightbit[2]]
    autos = []
    for t in targets:
        r = report(a.moe, a.model, "auto", a.calibration, target=t)
        autos.append(("auto ≥ %.1f dB" % t, r["encoded_bytes"], psnr(r["output"]["psnr"])))
    f32 = first["raw_bytes"]
    print("%s (%s)" % (a.model, first["model"]))
    print()
    print("| encoding | weight bytes | vs float32 | vs eightbit | output PSNR (dB) |")
    print("|---|---:|---:|---:|---:|")
    print("| float32 | %d | 1.00× | %.2f× | ∞ |" % (f32, f32 / eightbit[1]))
    for name, b, q in rows + autos:
        print("| %s | %d | %.3f× | %.2f× | %.1f |" % (name, b, b / f32, b / eightbit[1], q))
    at = autos[-1]
    print()
    if a.paper:
        print("eightbit: %d B (WebDNN on the trained site model: %d B, %+.2f%%)"
              % (eightbit[1], WEBDNN_EIGHTBIT_PAPER, 100.0 * (eightbit[1] - WEBDNN_EIGHTBIT_PAPER) / WEBDNN_EIGHTBIT_PAPER))
    print("auto at eightbit's %.1f dB: %d B = %.2f× eightbit (goal ≤ 0.50×)" % (eightbit[2], at[1], at[1] / eightbit[1]))
    json.dump({"schemes": rows, "auto": autos, "float32": f32}, sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
