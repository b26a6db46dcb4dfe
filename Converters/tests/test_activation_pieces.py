# Tests activation_pieces.OnPieces: gradients on given linear pieces against hand-written NumPy, and its checks.
"""A tiny two-layer net y = sum(W2 · act(W1 · x)) has the gradient ∂y/∂W1 = (W2ᵀ ⊙ slope(W1 x)) xᵀ, written here
in NumPy with the slopes chosen explicitly; OnPieces must give that gradient for whatever slopes it is handed."""

import numpy as np
import pytest

import chainer
import chainer.functions as F

from activation_pieces import FLIP_BOUND, OnPieces, PieceMismatch

SLOPE = 0.2


def net(w1, w2, x, leaky):
    """sum(W2 · act(W1 x)) in Chainer; returns (loss, pre-activation array)."""
    h = F.matmul(w1, x)
    a = F.leaky_relu(h, SLOPE) if leaky else F.relu(h)
    return F.sum(F.matmul(w2, a)), h.array


def numpy_gradient(w2, x, pre, slope):
    """∂ sum(W2 act(h)) / ∂W1 with act's slope taken from the signs of ``pre``."""
    d = np.where(pre > 0, 1.0, slope)
    return (w2.sum(axis=0)[:, None] * d) @ x.T


@pytest.mark.parametrize("leaky", [False, True])
def test_gradient_follows_the_given_pieces(leaky):
    rng = np.random.default_rng(0)
    w1v, w2v, x = rng.standard_normal((6, 4)), rng.standard_normal((3, 6)), rng.standard_normal((4, 5))
    slope = SLOPE if leaky else 0.0
    _, pre = net(chainer.Variable(w1v), chainer.Variable(w2v), x, leaky)
    given = pre.copy()
    flat = np.argsort(np.abs(pre).ravel())[:2]  # the two inputs nearest 0, nudged across it
    given.ravel()[flat] = -np.sign(pre.ravel()[flat]) * 1e-9
    w1 = chainer.Variable(w1v)
    with OnPieces({"act/000": given, "slope/000": np.float32(slope)}) as pieces:
        loss, _ = net(w1, chainer.Variable(w2v), x, leaky)
        loss.backward()
    np.testing.assert_allclose(w1.grad, numpy_gradient(w2v, x, given, slope), rtol=1e-12, atol=1e-12)
    assert not np.allclose(w1.grad, numpy_gradient(w2v, x, pre, slope))
    report = pieces.report()
    assert report["activations"] == 1 and report["flipped"] == 2 and report["elements"] == pre.size
    assert report["worst_flip"] == pytest.approx(np.abs(pre.ravel()[flat]).max() / np.abs(pre).max())
    assert report["worst_value"] == pytest.approx(np.abs(given - pre).max() / np.abs(pre).max())
    assert F.relu is not None and F.relu.__module__ == "chainer.functions.activation.relu"


def test_far_flip_is_reported_beyond_the_bound():
    rng = np.random.default_rng(1)
    w1v, w2v, x = rng.standard_normal((6, 4)), rng.standard_normal((3, 6)), rng.standard_normal((4, 5))
    _, pre = net(chainer.Variable(w1v), chainer.Variable(w2v), x, False)
    with OnPieces({"act/000": -pre, "slope/000": np.float32(0)}) as pieces:
        net(chainer.Variable(w1v), chainer.Variable(w2v), x, False)
    assert pieces.report()["flipped"] == pre.size
    assert pieces.report()["worst_flip"] > FLIP_BOUND


def test_mismatched_pieces_are_rejected():
    x = np.ones((4, 5))
    w1, w2 = chainer.Variable(np.ones((6, 4))), chainer.Variable(np.ones((3, 6)))
    with pytest.raises(PieceMismatch, match="activation 0 is"):
        with OnPieces({"act/000": np.ones((6, 4)), "slope/000": np.float32(0)}):
            net(w1, w2, x, False)
    with pytest.raises(PieceMismatch, match="slope"):
        with OnPieces({"act/000": np.ones((6, 5)), "slope/000": np.float32(0)}):
            net(w1, w2, x, True)
    with pytest.raises(PieceMismatch, match="2 activations given, the forward pass ran 1"):
        with OnPieces({"act/000": np.ones((6, 5)), "slope/000": np.float32(0),
                       "act/001": np.ones((6, 5)), "slope/001": np.float32(0)}):
            net(w1, w2, x, False)
