# Reference zoo models in real Chainer, laid out exactly as CONTRACTS.md §3 names their keys.
"""Chainer reference implementations of the MoeKit zoo architectures.

Each model is a ``chainer.Chain`` whose child names reproduce the key paths that
``chainer.serializers.save_npz`` must write (CONTRACTS.md §3), so a checkpoint
saved from here is what the Swift importer has to read.

Implemented: ``srresnet-generator``. Planned: ``acgan-discriminator`` and
``dcgan-generator`` (register them in ``ARCHITECTURES`` when added).
"""

import chainer
import chainer.functions as F
import chainer.links as L

#: Chainer's BatchNormalization default eps; it is not stored in checkpoints.
CHAINER_BN_EPS = 2e-5

#: Spatial size of the feature map after ``fc`` in the SRResNet generator.
SRRESNET_BASE_SIZE = 16


class ResidualBlock(chainer.Chain):
    """``c1`` (3x3) -> ``b1`` -> ReLU -> ``c2`` (3x3) -> ``b2``; the caller adds the input."""

    def __init__(self, channels):
        super().__init__()
        with self.init_scope():
            self.c1 = L.Convolution2D(channels, channels, ksize=3, stride=1, pad=1)
            self.b1 = L.BatchNormalization(channels)
            self.c2 = L.Convolution2D(channels, channels, ksize=3, stride=1, pad=1)
            self.b2 = L.BatchNormalization(channels)

    def forward(self, x):
        """Returns the residual branch (without the skip connection)."""
        h = F.relu(self.b1(self.c1(x)))
        return self.b2(self.c2(h))


class UpsampleBlock(chainer.Chain):
    """``c`` (C -> 4C, 3x3) -> depth2space x2 (DCR order) -> ``b`` (BN over C) -> ReLU."""

    def __init__(self, channels):
        super().__init__()
        with self.init_scope():
            self.c = L.Convolution2D(channels, 4 * channels, ksize=3, stride=1, pad=1)
            self.b = L.BatchNormalization(channels)

    def forward(self, x):
        """Doubles the spatial size of ``x``, keeping the channel count."""
        return F.relu(self.b(F.depth2space(self.c(x), 2)))


class SRResNetGenerator(chainer.Chain):
    """The paper generator (``srresnet-generator``).

    Args:
        C: channel width.
        B: number of residual blocks.
        U: number of x2 upsamplings; the output is 3 x S x S with S = 16 * 2**U.
        n: input length (128 noise values followed by n - 128 tags).
    """

    def __init__(self, C=64, B=16, U=3, n=162):
        super().__init__()
        self.C, self.B, self.U, self.n = C, B, U, n
        base = SRRESNET_BASE_SIZE
        with self.init_scope():
            self.fc = L.Linear(n, C * base * base)
            self.bn0 = L.BatchNormalization(C)
            self.res = chainer.ChainList(*[ResidualBlock(C) for _ in range(B)])
            self.cm = L.Convolution2D(C, C, ksize=3, stride=1, pad=1)
            self.bnm = L.BatchNormalization(C)
            self.up = chainer.ChainList(*[UpsampleBlock(C) for _ in range(U)])
            self.out = L.Convolution2D(C, 3, ksize=9, stride=1, pad=4)

    @property
    def output_size(self):
        """Side length S of the square output image."""
        return SRRESNET_BASE_SIZE * 2 ** self.U

    def forward(self, z):
        """Maps ``z`` of shape (N, n) to images of shape (N, 3, S, S) in [-1, 1]."""
        base = SRRESNET_BASE_SIZE
        h = self.fc(z)
        h = F.reshape(h, (h.shape[0], self.C, base, base))
        h = F.relu(self.bn0(h))
        skip = h
        for block in self.res:
            h = h + block(h)
        h = F.relu(self.bnm(self.cm(h))) + skip
        for block in self.up:
            h = block(h)
        return F.tanh(self.out(h))


#: Zoo architectures by their CONTRACTS.md name.
ARCHITECTURES = {
    "srresnet-generator": SRResNetGenerator,
}
