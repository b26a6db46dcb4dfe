# A small U-Net-like Chainer model that exercises every op the tracer maps; used by the tracer tests.
"""``TinyUNet``: strided-conv encoder, deconv/depth2space decoder, skip concats, a gate.

Input (N, in_ch, S, S) with S divisible by 4; output (N, out_ch, S, S). Uses
Convolution2D (stride 1 and 2), Deconvolution2D, BatchNormalization, Linear
(lazily initialised: its input size is only known at the first forward),
relu, leaky_relu, tanh, sigmoid, depth2space, reshape, concat, add, mul
(broadcast), and the constant forms ``x * c`` and ``x + c``.
"""

import chainer
import chainer.functions as F
import chainer.links as L


class TinyUNet(chainer.Chain):
    """A tiny U-Net.

    Args:
        ch: base channel width.
        in_ch, out_ch: image channels in and out.
    """

    def __init__(self, ch=4, in_ch=3, out_ch=3):
        super().__init__()
        self.ch = ch
        with self.init_scope():
            self.enc0 = L.Convolution2D(in_ch, ch, ksize=3, stride=1, pad=1)
            self.bn_e0 = L.BatchNormalization(ch)
            self.enc1 = L.Convolution2D(ch, 2 * ch, ksize=4, stride=2, pad=1)
            self.bn_e1 = L.BatchNormalization(2 * ch)
            self.enc2 = L.Convolution2D(2 * ch, 4 * ch, ksize=3, stride=2, pad=1, nobias=True)
            self.gate = L.Linear(None, 4 * ch)
            self.up1 = L.Deconvolution2D(4 * ch, 2 * ch, ksize=4, stride=2, pad=1)
            self.bn_u1 = L.BatchNormalization(2 * ch)
            self.up0 = L.Convolution2D(4 * ch, 4 * ch, ksize=3, stride=1, pad=1)
            self.out = L.Convolution2D(2 * ch, out_ch, ksize=3, stride=1, pad=1)
            self.mask = L.Convolution2D(ch, 1, ksize=1)

    def forward(self, x):
        """Maps (N, in_ch, S, S) to (N, out_ch, S, S) in (-1, 1)."""
        n = x.shape[0]
        e0 = F.relu(self.bn_e0(self.enc0(x)))
        e1 = F.leaky_relu(self.bn_e1(self.enc1(e0)), 0.1)
        e2 = F.leaky_relu(self.enc2(e1), 0.2)
        g = F.sigmoid(self.gate(F.reshape(e2, (n, -1))))
        e2 = e2 * F.reshape(g, (n, 4 * self.ch, 1, 1))
        u1 = F.relu(self.bn_u1(self.up1(e2)))
        u1 = F.concat((u1, e1), axis=1)
        u0 = F.depth2space(self.up0(u1), 2) + e0
        y = F.tanh(self.out(F.concat((u0, e0), axis=1)))
        m = F.sigmoid(self.mask(u0)) * 0.5 + 0.5
        return y * m
