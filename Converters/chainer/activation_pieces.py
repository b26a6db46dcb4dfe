# Evaluates a Chainer loss on a given linear piece: every ReLU / LeakyReLU takes its slopes from given pre-activations.
"""A network of ReLUs and LeakyReLUs is piecewise smooth; its gradient jumps where a pre-activation crosses 0.
A float32 forward pass rounds pre-activations by ~1e-6 of their scale, so among millions of them a few within
rounding of 0 land on the other side than in float64, and the float32 gradient is then the exact gradient of a
neighbouring piece. ``OnPieces`` makes a (float64) Chainer forward use the slopes another implementation chose,
after checking that the other side's pre-activations are Chainer's own up to rounding and that it chose a
different slope only where Chainer's own pre-activation is within rounding of 0.

The pieces file (NPZ) holds, per activation in call order, ``act/K`` (the pre-activation, any float dtype) and
``slope/K`` (0 for ReLU, the negative slope for LeakyReLU).

    with OnPieces(np.load("pieces.npz")) as pieces:
        loss = model(x); loss.backward()
    pieces.report()  # {"activations", "elements", "flipped", "worst_flip", "worst_value"}
"""

import chainer.functions as F
import numpy as np

#: Largest |pre-activation| (relative to the layer's largest) at which the two sides may pick different slopes.
FLIP_BOUND = 1e-4
#: Largest relative difference max|a − b| / max|b| allowed between the given and Chainer's own pre-activations.
VALUE_BOUND = 1e-4


class PieceMismatch(Exception):
    """The given pieces do not belong to this forward pass (wrong count, shape, values or slope)."""


class OnPieces:
    """Context manager: ``F.relu`` and ``F.leaky_relu`` become multiplications by the given pieces' slopes."""

    def __init__(self, pieces):
        count = len([k for k in pieces.keys() if k.startswith("act/")])
        self.acts = [np.asarray(pieces["act/%03d" % k], np.float64) for k in range(count)]
        self.slopes = [float(pieces["slope/%03d" % k]) for k in range(count)]
        self.used = 0
        self.flipped = []
        self.value_errors = []

    def __enter__(self):
        self.saved = F.relu, F.leaky_relu
        F.relu = lambda x: self._apply(x, 0.0)
        F.leaky_relu = lambda x, slope=0.2: self._apply(x, float(slope))
        return self

    def __exit__(self, *exc):
        F.relu, F.leaky_relu = self.saved
        if exc[0] is None and self.used != len(self.acts):
            raise PieceMismatch("pieces: %d activations given, the forward pass ran %d" % (len(self.acts), self.used))
        return False

    def _apply(self, x, slope):
        k = self.used
        if k >= len(self.acts):
            raise PieceMismatch("pieces: only %d activations given, the forward pass runs more" % len(self.acts))
        given, own = self.acts[k], np.asarray(x.array, np.float64)
        if given.shape != own.shape or abs(self.slopes[k] - slope) > 1e-6:
            raise PieceMismatch("pieces: activation %d is %s slope %g, the forward pass has %s slope %g"
                                % (k, given.shape, self.slopes[k], own.shape, slope))
        scale = max(float(np.abs(own).max()), 1e-30)
        self.value_errors.append(float(np.abs(given - own).max()) / scale)
        theirs = np.where(given > 0, 1.0, slope)
        ours = np.where(own > 0, 1.0, slope)
        differ = theirs != ours
        self.flipped.append((int(differ.sum()), float(np.abs(own[differ]).max()) / scale if differ.any() else 0.0, own.size))
        self.used += 1
        return x * theirs.astype(x.dtype)

    def report(self):
        """Counts of elements on a different piece, and the worst relative value/flip distances (JSON-ready)."""
        return {"activations": self.used, "elements": sum(n for _, _, n in self.flipped),
                "flipped": sum(f for f, _, _ in self.flipped),
                "flipped_per_activation": [f for f, _, _ in self.flipped],
                "worst_flip": max((d for _, d, _ in self.flipped), default=0.0),
                "worst_value": max(self.value_errors, default=0.0),
                "flip_bound": FLIP_BOUND, "value_bound": VALUE_BOUND}
