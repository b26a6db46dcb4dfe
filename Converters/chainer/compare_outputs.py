# Output comparison for the checking scripts: the largest |got − want|, with NaN and shape mismatches infinitely far.
"""``max_abs_difference``: what check_roundtrip.py and check_onnx.py compare with their tolerance.

``np.abs(a - b).max()`` is NaN when an output holds a NaN, and ``NaN > atol`` is False, so a check written as
``if d > atol: fail`` passes a NaN output; Python's ``max(worst, nan)`` also keeps ``worst``. Here any non-finite
difference (NaN, or an infinity on one side only) and any shape mismatch count as infinitely far, and callers
test ``not d <= atol``.
"""

import math

import numpy as np


def max_abs_difference(got, want):
    """Largest |got − want| as a float; ``inf`` when the shapes differ or any difference is not finite."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return math.inf
    if got.size == 0:
        return 0.0
    d = np.abs(got - want)
    if not np.all(np.isfinite(d)):
        return math.inf
    return float(d.max())


def within(difference, atol):
    """True only for a difference that is a number no larger than ``atol`` (NaN is never within)."""
    return difference <= atol
