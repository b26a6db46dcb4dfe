"""The WebDNN eightbit re-implementation (Converters/webdnn/eightbit.py) against the encoder's description."""
import os
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "webdnn"))
import eightbit  # noqa: E402


def test_record_layout_and_codes():
    x = np.array([0.0, -0.0, 1e-7, 2.0, -2.0, 0.5, -0.5], dtype=np.float32)
    rec = eightbit.encode_record(x, offset=7)
    offset, size = struct.unpack_from("<ii", rec, 0)
    (scale,) = struct.unpack_from("<f", rec, 8)
    (reserved,) = struct.unpack_from("<i", rec, 12)
    assert (offset, reserved, scale) == (7, 0, 2.0)
    assert size == len(rec) - 16
    codes = list(zlib.decompress(rec[16:]))
    t = eightbit.thresholds()
    expected_half = sum(1 for v in t if v < np.float32(0.25))  # thresholds strictly below |x|/scale
    assert codes[:5] == [0, 0, 0, 127, 255]  # 0, -0 (positive), tiny, +max, -max
    assert codes[5] == expected_half and codes[6] == 128 + expected_half


def test_thresholds_are_midpoints():
    t = eightbit.thresholds()
    assert t.dtype == np.float32 and len(t) == 127
    assert t[0] == np.float32(1.5e-6) and t[-1] == np.float32(0.995703)
    assert t[10] == np.float32((eightbit.TABLE[10] + eightbit.TABLE[9]) / 2)
    assert np.all(np.diff(t) > 0)


def test_decode_is_close_and_zero_tensor_uses_the_floor_scale():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(5000) * 0.05).astype(np.float32)
    y = eightbit.decode_records(eightbit.encode_record(x))
    assert np.abs(y - x).max() <= 0.0087 * np.abs(x).max()
    z = eightbit.encode_record(np.zeros(4, np.float32))
    assert struct.unpack_from("<f", z, 8)[0] == np.float32(1e-20)
    assert list(zlib.decompress(z[16:])) == [0, 0, 0, 0]
