# Makes a freshly initialised zoo model non-trivial but well-scaled: random biases, perturbed BN state, rescaled layers.
"""Calibration of fixture models in one test-mode forward pass.

* every Linear / Convolution2D / Deconvolution2D bias gets small random values;
* every BatchNormalization gets gamma ~ U(0.5, 1.5), beta ~ N(0, 0.1), an
  integer ``N``, and running statistics near the true statistics of its input
  (``avg_mean = mean + 0.1 * N(0, 1) * std``, ``avg_var = var * U(0.5, 1.5)``),
  layer by layer, so later layers see the already-perturbed earlier ones;
* chosen links are rescaled (W and b by one factor) so that their output has a
  target standard deviation: the last layer of a generator (keeps tanh out of
  saturation) and, in the BN-free discriminator, every layer (keeps the
  activations and logits of order one).
"""

import numpy as np

import chainer
import chainer.links as L

#: Standard deviation of the random biases given to Linear / (De)Convolution2D links.
BIAS_STD = 0.05
#: Target output std of discriminator convolutions and heads.
DIS_LAYER_STD = 1.0
#: Target output std of the second convolution of a discriminator residual block
#: (added to the block input, so kept smaller).
DIS_RESIDUAL_STD = 0.5

_BIASED = (L.Linear, L.Convolution2D, L.Deconvolution2D)


class Calibrator(chainer.LinkHook):
    """Link hook: perturbs each BatchNormalization around its input statistics
    just before it runs, and rescales the links of ``targets`` (link -> std)
    right after they run (their output is rescaled in place too)."""

    name = "moekit_calibrator"

    def __init__(self, rng, targets):
        self.rng = rng
        self.targets = targets
        self.achieved = {}

    def forward_preprocess(self, args):
        """Sets the BN state from the statistics of the BN input."""
        link = args.link
        if isinstance(link, L.BatchNormalization):
            perturb_batch_norm(link, args.args[0], self.rng)

    def forward_postprocess(self, args):
        """Rescales a target link so its output has the target std."""
        target = self.targets.get(id(args.link))
        if target is None:
            return
        link, std = target
        out = args.out.array
        scale = std / float(out.std())
        link.W.array *= scale
        if link.b is not None:
            link.b.array *= scale
        out *= scale
        self.achieved[id(link)] = float(out.std())


def perturb_batch_norm(link, x, rng):
    """Gives ``link`` random gamma/beta/N and running stats near those of ``x``."""
    x = np.asarray(getattr(x, "array", x), dtype=np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    size = mean.shape
    link.gamma.array[...] = rng.uniform(0.5, 1.5, size)
    link.beta.array[...] = rng.normal(0.0, 0.1, size)
    link.avg_mean[...] = mean + 0.1 * rng.standard_normal(size) * np.sqrt(var)
    link.avg_var[...] = var * rng.uniform(0.5, 1.5, size)
    link.N = int(rng.randint(100, 10000))


def randomise_biases(model, rng):
    """Small random biases for every Linear / (De)Convolution2D link."""
    for link in model.links():
        if isinstance(link, _BIASED) and link.b is not None:
            link.b.array[...] = rng.normal(0.0, BIAS_STD, link.b.shape)


def scale_targets(model, role, last, out_std):
    """``{name: (link, std)}`` of the links to rescale for a model of ``role``."""
    if role == "generator":
        return {last: (getattr(model, last), out_std)}
    targets = {}
    for name, link in model.namedlinks(skipself=True):
        if isinstance(link, _BIASED):
            std = DIS_RESIDUAL_STD if name.endswith("/c2") else DIS_LAYER_STD
            targets[name.lstrip("/")] = (link, std)
    return targets


def calibrate(model, rng, inputs, role, last=None, out_std=0.5):
    """Calibrates ``model`` on ``inputs`` (see module doc); returns {link name: achieved std}."""
    randomise_biases(model, rng)
    named = scale_targets(model, role, last, out_std)
    hook = Calibrator(rng, {id(link): (link, std) for link, std in named.values()})
    with chainer.using_config("train", False), chainer.no_backprop_mode(), hook:
        model(*inputs)
    return {name: hook.achieved[id(link)] for name, (link, _) in sorted(named.items())}
