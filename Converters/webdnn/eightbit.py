"""WebDNN 1.2's ``eightbit`` constant encoder, written from its published description, and a `.moe` checker.

WebDNN (mil-tokyo/webdnn, ``webdnn/encoder/constant_encoder_eightbit.py``) encodes *every* constant allocation of
a graph (weights and biases alike) as one record each::

    int32 offset | int32 len(body) | float32 scale | int32 0 | body = zlib.compress(codes, 9)

with ``scale = max(max|x|, 1e-20)`` and ``code = searchsorted(thresholds, |x| / scale) + 128 * (x < 0)``; the 127
float32 thresholds are 1.5e-6, the midpoints of consecutive entries of Dettmers' 126-value table, and 0.995703.
This module is an independent NumPy re-implementation used as the oracle for MoeKit's Swift codec.

Usage: eightbit.py --float F32.moe --eightbit EIGHTBIT.moe
  Re-encodes every tensor of the float32 bundle with this encoder (offset 0, one record per tensor, as a lone
  allocation) and checks that the eightbit bundle stores exactly those bytes for every tensor — biases included.
  Prints one line per mismatch and exits 1 on any; prints a summary and exits 0 otherwise.
"""
import argparse
import json
import struct
import sys
import zlib

import numpy as np

# Dettmers' 8-bit approximation table (clusterNet), as WebDNN ships it: codes 1…126; 0 → 0.0, 127 → 1.0.
TABLE = np.array([
    2.750000021e-06, 7.249999726e-06, 1.875000089e-05, 3.624999954e-05, 5.874999624e-05, 8.624999464e-05,
    1.437500032e-04, 2.312500001e-04, 3.187500115e-04, 4.062500084e-04, 5.187499919e-04, 6.562499912e-04,
    7.937499322e-04, 9.312499315e-04, 1.218750025e-03, 1.656249980e-03, 2.093750052e-03, 2.531250007e-03,
    2.968749963e-03, 3.406249918e-03, 3.843750106e-03, 4.281249829e-03, 4.843750037e-03, 5.531250034e-03,
    6.218749564e-03, 6.906249560e-03, 7.593749557e-03, 8.281249553e-03, 8.968749084e-03, 9.656248614e-03,
    1.109374966e-02, 1.328125037e-02, 1.546875015e-02, 1.765624993e-02, 1.984374970e-02, 2.203124948e-02,
    2.421874925e-02, 2.640625089e-02, 2.859375067e-02, 3.078125045e-02, 3.296874836e-02, 3.515625000e-02,
    3.734375164e-02, 3.953124955e-02, 4.171875119e-02, 4.390624911e-02, 4.671875015e-02, 5.015625060e-02,
    5.359374732e-02, 5.703124776e-02, 6.046874821e-02, 6.390624493e-02, 6.734374911e-02, 7.078124583e-02,
    7.421874255e-02, 7.765624672e-02, 8.109374344e-02, 8.453124017e-02, 8.796874434e-02, 9.140624106e-02,
    9.484373778e-02, 9.828124195e-02, 1.054687500e-01, 1.164062470e-01, 1.273437440e-01, 1.382812560e-01,
    1.492187530e-01, 1.601562500e-01, 1.710937470e-01, 1.820312440e-01, 1.929687560e-01, 2.039062530e-01,
    2.148437500e-01, 2.257812470e-01, 2.367187440e-01, 2.476562560e-01, 2.585937381e-01, 2.695312500e-01,
    2.804687619e-01, 2.914062440e-01, 3.023437560e-01, 3.132812381e-01, 3.242187500e-01, 3.351562619e-01,
    3.460937440e-01, 3.570312560e-01, 3.679687381e-01, 3.789062500e-01, 3.898437619e-01, 4.007812440e-01,
    4.117187560e-01, 4.226562381e-01, 4.335937500e-01, 4.445312619e-01, 4.585937560e-01, 4.757812321e-01,
    4.929687381e-01, 5.101562142e-01, 5.273437500e-01, 5.445312262e-01, 5.617187023e-01, 5.789062381e-01,
    5.960937142e-01, 6.132812500e-01, 6.304687262e-01, 6.476562023e-01, 6.648437381e-01, 6.820312142e-01,
    6.992186904e-01, 7.164062262e-01, 7.335937023e-01, 7.507811785e-01, 7.679687142e-01, 7.851561904e-01,
    8.023436666e-01, 8.195312023e-01, 8.367186785e-01, 8.539061546e-01, 8.710936904e-01, 8.882811666e-01,
    9.054686427e-01, 9.226561785e-01, 9.398436546e-01, 9.570311308e-01, 9.742186666e-01, 9.914061427e-01])


def thresholds():
    """The 127 float32 decision thresholds: 1.5e-6, midpoints of consecutive table entries, 0.995703."""
    mids = (TABLE[1:] + TABLE[:-1]) / 2.0  # float64 sums, rounded to float32 below (as WebDNN's Python list)
    return np.concatenate([[1.5e-6], mids, [0.995703]]).astype(np.float32)


def encode_record(values, offset=0):
    """One WebDNN eightbit record of a float32 constant (any shape), starting at element ``offset``."""
    x = np.asarray(values, dtype=np.float32).ravel()
    scale = np.float32(max(np.abs(x).max() if x.size else np.float32(0), np.float32(1e-20)))
    codes = np.searchsorted(thresholds(), np.abs(x) / scale, side="left").astype(np.int64)
    codes += 128 * (x < 0)
    body = zlib.compress(codes.astype(np.uint8).tobytes(), 9)
    return struct.pack("<ii", offset, len(body)) + struct.pack("<f", scale) + struct.pack("<i", 0) + body


def decode_records(payload):
    """The float32 values of a sequence of records (WebDNN's weight_decoder_eightbit)."""
    out, at = [], 0
    magnitudes = np.concatenate([[0.0], TABLE, [1.0]])
    while at < len(payload):
        _, size = struct.unpack_from("<ii", payload, at)
        (scale,) = struct.unpack_from("<f", payload, at + 8)
        codes = np.frombuffer(zlib.decompress(payload[at + 16:at + 16 + size]), dtype=np.uint8)
        sign = np.where(codes >= 128, -1.0, 1.0)
        out.append((magnitudes[codes & 0x7F] * float(scale) * sign).astype(np.float32))
        at += 16 + size
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def read_bundle(path):
    """A `.moe` bundle's manifest and each tensor's stored payload bytes (Formats/bundle.md)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89MOE\r\n\x1a\n":
        raise SystemExit("%s: not a .moe bundle" % path)
    json_offset, json_length = struct.unpack_from("<QQ", data, 16)
    manifest = json.loads(data[json_offset:json_offset + json_length])
    payloads = {t["name"]: (t, data[t["offset"]:t["offset"] + t["length"]]) for t in manifest["tensors"]}
    return manifest, payloads


def float_tensor(entry, payload):
    """The values of an f32 tensor entry (undeflated or zlib)."""
    raw = zlib.decompress(payload) if entry["deflate"] else payload
    if entry["encoding"] != "f32":
        raise SystemExit("tensor %s: expected f32 in the float bundle, found %s" % (entry["name"], entry["encoding"]))
    return np.frombuffer(raw, dtype="<f4")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--float", required=True, help="the model converted without quantization (.moe)")
    p.add_argument("--eightbit", required=True, help="the same model converted with --quantize eightbit (.moe)")
    a = p.parse_args(argv)
    _, floats = read_bundle(a.float)
    _, eight = read_bundle(a.eightbit)
    bad = 0
    if sorted(floats) != sorted(eight):
        print("tensor names differ: %s" % sorted(set(floats) ^ set(eight)))
        bad += 1
    total = 0
    for name in sorted(set(floats) & set(eight)):
        entry, stored = eight[name]
        ours = encode_record(float_tensor(*floats[name]))
        if entry["encoding"] != "eightbit" or entry["deflate"]:
            print("%s (shape %s): stored as %s%s, WebDNN encodes every constant as eightbit"
                  % (name, entry["shape"], entry["encoding"], " (deflated)" if entry["deflate"] else ""))
            bad += 1
        elif stored != ours:
            print("%s (shape %s): %d stored bytes differ from WebDNN's %d" % (name, entry["shape"], len(stored), len(ours)))
            bad += 1
        total += len(ours)
    if bad:
        return 1
    print("%d tensors, %d bytes: identical to WebDNN's eightbit records" % (len(eight), total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
