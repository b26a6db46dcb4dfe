# Reference zoo models in real Chainer, laid out exactly as CONTRACTS.md §3 names their keys.
"""Chainer reference implementations of the MoeKit zoo architectures.

Each model is a ``chainer.Chain`` whose child names reproduce the key paths that
``chainer.serializers.save_npz`` must write (CONTRACTS.md §3), so a checkpoint
saved from here is what the Swift importer has to read.

Implemented: ``srresnet-generator``, ``acgan-discriminator``,
``dcgan-generator`` and ``tagger-cnn``; ``ARCHITECTURES`` maps each CONTRACTS.md name to its class,
role, hyper-parameters (with the command-line defaults of the fixture maker) and
input/output names.
"""

import collections

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




#: Slope of every LeakyReLU in the ACGAN discriminator.
ACGAN_LEAKY_SLOPE = 0.2
#: LeakyReLU slope of the tagger.
TAGGER_LEAKY_SLOPE = 0.2

#: Spatial size of the feature map after ``fc`` in the DCGAN generator.
DCGAN_BASE_SIZE = 4


def _conv_out(size, k, s, p):
    """Output extent of a Chainer convolution (cover_all=False)."""
    return (size + 2 * p - k) // s + 1


class DiscriminatorResBlock(chainer.Chain):
    """``c1`` (3x3) -> LReLU -> ``c2`` (3x3) -> + input -> LReLU (no BatchNorm)."""

    def __init__(self, channels):
        super().__init__()
        with self.init_scope():
            self.c1 = L.Convolution2D(channels, channels, ksize=3, stride=1, pad=1)
            self.c2 = L.Convolution2D(channels, channels, ksize=3, stride=1, pad=1)

    def forward(self, x):
        """Residual block including the skip connection and the final LReLU."""
        h = F.leaky_relu(self.c1(x), ACGAN_LEAKY_SLOPE)
        return F.leaky_relu(self.c2(h) + x, ACGAN_LEAKY_SLOPE)


class ACGANDiscriminator(chainer.Chain):
    """The ACGAN discriminator (``acgan-discriminator``): no BatchNorm, LeakyReLU 0.2.

    Args:
        widths: channel width w_k of each stage k; stage k halves the spatial size.
        size: side S of the square 3 x S x S input.
        tags: number of tag logits of the ``cls`` head.
    """

    def __init__(self, widths=(32, 64, 128, 256, 512), size=128, tags=34):
        super().__init__()
        self.widths, self.size, self.tags = tuple(widths), size, tags
        ins = (3,) + self.widths[:-1]
        last = self.widths[-1]
        with self.init_scope():
            self.downs = chainer.ChainList(*[
                L.Convolution2D(i, w, ksize=4, stride=2, pad=1) for i, w in zip(ins, self.widths)])
            self.stages = chainer.ChainList(*[
                chainer.ChainList(DiscriminatorResBlock(w), DiscriminatorResBlock(w))
                for w in self.widths])
            self.last = L.Convolution2D(last, 2 * last, ksize=3, stride=2, pad=1)
            self.adv = L.Linear(self.flat_size, 1)
            self.cls = L.Linear(self.flat_size, tags)

    @property
    def final_size(self):
        """Side of the feature map after ``last``."""
        s = self.size
        for _ in self.widths:
            s = _conv_out(s, 4, 2, 1)
        return _conv_out(s, 3, 2, 1)

    @property
    def flat_size(self):
        """Length of the flattened features fed to the heads."""
        return 2 * self.widths[-1] * self.final_size ** 2

    def forward(self, x):
        """Maps images (N, 3, S, S) to ``(adv, cls)`` logits of shapes (N, 1) and (N, tags)."""
        h = x
        for down, stage in zip(self.downs, self.stages):
            h = F.leaky_relu(down(h), ACGAN_LEAKY_SLOPE)
            for block in stage:
                h = block(h)
        h = F.leaky_relu(self.last(h), ACGAN_LEAKY_SLOPE)
        h = F.reshape(h, (h.shape[0], -1))
        return self.adv(h), self.cls(h)


class DCGANGenerator(chainer.Chain):
    """The baseline DCGAN generator (``dcgan-generator``); output 3 x 64 x 64, tanh.

    Args:
        C: channels after ``fc`` (halved by each of ``d1``..``d3``; must be divisible by 8).
        n: input length.
    """

    def __init__(self, C=512, n=162):
        super().__init__()
        if C % 8:
            raise ValueError("dcgan-generator: C must be divisible by 8, got %d" % C)
        self.C, self.n = C, n
        base = DCGAN_BASE_SIZE
        with self.init_scope():
            self.fc = L.Linear(n, C * base * base)
            self.bn0 = L.BatchNormalization(C)
            self.d1 = L.Deconvolution2D(C, C // 2, ksize=4, stride=2, pad=1)
            self.b1 = L.BatchNormalization(C // 2)
            self.d2 = L.Deconvolution2D(C // 2, C // 4, ksize=4, stride=2, pad=1)
            self.b2 = L.BatchNormalization(C // 4)
            self.d3 = L.Deconvolution2D(C // 4, C // 8, ksize=4, stride=2, pad=1)
            self.b3 = L.BatchNormalization(C // 8)
            self.d4 = L.Deconvolution2D(C // 8, 3, ksize=4, stride=2, pad=1)

    @property
    def output_size(self):
        """Side length of the square output image (64)."""
        return DCGAN_BASE_SIZE * 2 ** 4

    def forward(self, z):
        """Maps ``z`` of shape (N, n) to images of shape (N, 3, 64, 64) in [-1, 1]."""
        base = DCGAN_BASE_SIZE
        h = self.fc(z)
        h = F.relu(self.bn0(F.reshape(h, (h.shape[0], self.C, base, base))))
        h = F.relu(self.b1(self.d1(h)))
        h = F.relu(self.b2(self.d2(h)))
        h = F.relu(self.b3(self.d3(h)))
        return F.tanh(self.d4(h))


class TaggerCNN(chainer.Chain):
    """The tagger (``tagger-cnn``): one logit per tag for an S x S RGB image in [-1, 1].

    Args:
        widths: channel width of each stride-2 3 x 3 convolution ``convs/k``.
        size: side S of the square 3 x S x S input (MoeKit's graph fixes it; the
            convolutions and the global average pool take any side).
        tags: number of tag logits of ``fc``.
    """

    def __init__(self, widths=(32, 64, 128, 128), size=64, tags=34):
        super().__init__()
        self.widths, self.size, self.tags = tuple(widths), size, tags
        ins = (3,) + self.widths[:-1]
        last = self.widths[-1]
        with self.init_scope():
            self.convs = chainer.ChainList(*[
                L.Convolution2D(i, w, ksize=3, stride=2, pad=1) for i, w in zip(ins, self.widths)])
            self.mix = L.Convolution2D(last, last, ksize=3, stride=1, pad=1)
            self.fc = L.Linear(last, tags)

    def forward(self, x):
        """Maps images (N, 3, S, S) to ``(logits, features)`` of shapes (N, tags) and (N, widths[-1])."""
        h = x
        for conv in self.convs:
            h = F.leaky_relu(conv(h), TAGGER_LEAKY_SLOPE)
        h = F.leaky_relu(self.mix(h), TAGGER_LEAKY_SLOPE)
        features = F.mean(h, axis=(2, 3))
        return self.fc(features), features


def int_list(text):
    """Parses ``"32,64"`` into ``(32, 64)``."""
    values = tuple(int(v) for v in str(text).split(",") if v.strip())
    if not values:
        raise ValueError("expected a comma-separated list of integers, got %r" % text)
    return values


#: One hyper-parameter: its keyword/option name, parser, fixture-maker default and help.
HyperParameter = collections.namedtuple("HyperParameter", "name parse default help")

#: A zoo architecture: ``cls(**hyper)`` builds it; ``role`` is generator/discriminator;
#: ``inputs``/``outputs`` name the forward's arguments/results; ``last`` names the
#: link whose output feeds the final activation (generators) or None.
Architecture = collections.namedtuple("Architecture", "cls role hyper inputs outputs last")

#: Zoo architectures by their CONTRACTS.md name.
ARCHITECTURES = {
    "srresnet-generator": Architecture(
        SRResNetGenerator, "generator",
        (HyperParameter("C", int, 64, "channel width"),
         HyperParameter("B", int, 16, "residual blocks"),
         HyperParameter("U", int, 3, "x2 upsamplings"),
         HyperParameter("n", int, 162, "input length (128 noise + tags)")),
        ("z",), ("out",), "out"),
    "acgan-discriminator": Architecture(
        ACGANDiscriminator, "discriminator",
        (HyperParameter("widths", int_list, (32, 64), "comma-separated stage widths"),
         HyperParameter("size", int, 32, "input side S"),
         HyperParameter("tags", int, 34, "tag logits of the cls head")),
        ("x",), ("adv", "cls"), None),
    "dcgan-generator": Architecture(
        DCGANGenerator, "generator",
        (HyperParameter("C", int, 64, "channels after fc (divisible by 8)"),
         HyperParameter("n", int, 162, "input length")),
        ("z",), ("out",), "d4"),
    "tagger-cnn": Architecture(
        TaggerCNN, "classifier",
        (HyperParameter("widths", int_list, (8, 16), "comma-separated widths of the stride-2 convolutions"),
         HyperParameter("size", int, 64, "input side S (MoeKit reads tagger checkpoints at S = 64)"),
         HyperParameter("tags", int, 34, "tag logits of fc")),
        ("x",), ("logits", "features"), None),
}


def build(arch, **hyper):
    """Builds architecture ``arch``; missing hyper-parameters take the table's defaults."""
    spec = ARCHITECTURES[arch]
    names = {h.name for h in spec.hyper}
    unknown = set(hyper) - names
    if unknown:
        raise ValueError("%s: unknown hyper-parameter(s) %s" % (arch, ", ".join(sorted(unknown))))
    kwargs = {h.name: hyper.get(h.name, h.default) for h in spec.hyper}
    return spec.cls(**kwargs)


def hyper_parameters(model):
    """The hyper-parameters of a zoo model as a JSON-friendly dict."""
    for spec in ARCHITECTURES.values():
        if type(model) is spec.cls:
            return {h.name: (list(v) if isinstance(v, tuple) else v)
                    for h in spec.hyper for v in [getattr(model, h.name)]}
    raise TypeError("not a zoo model: %r" % type(model).__name__)
