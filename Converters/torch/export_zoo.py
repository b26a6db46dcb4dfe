"""Export small random-init PyTorch image models to ONNX (dynamic batch axis) as MoeKit's PyTorch fixtures.

Usage: Converters/py Converters/torch/export_zoo.py --out DIR [--only NAME ...] [--dynamo NAME ...] [--external NAME ...]
                                                   [--dynamo-external NAME ...]

Each family of issue 12's acceptance line 1 at a small width (files of a few KB to a few tens of KB): the weights
are seeded random and every BatchNorm gets random running statistics and affine parameters, so BN matters.
Writes NAME.onnx (TorchScript exporter, `dynamo=False`, opset 17) for every family (or those of --only);
NAME.dynamo.onnx for the --dynamo families (torch.export-based exporter, PyTorch 2.x's default, asked for opset 17;
needs onnxscript); for the --external families NAME.external.onnx + NAME.external.onnx.data (the TorchScript export
re-saved by onnx with every initializer in the data file); for the --dynamo-external families
NAME.dynamo.external.onnx + NAME.dynamo.external.onnx.data exactly as the default exporter writes them with its
defaults (`torch.onnx.export(m, (x,), path, dynamo=True, external_data=True)`: its default opset, its graph
optimizations, the initializers in the data file). Prints one line per file written.
"""
import argparse
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(i, o, k=3, s=1, p=1):
    return nn.Sequential(nn.Conv2d(i, o, k, s, p, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class BasicBlock(nn.Module):
    def __init__(self, i, o, s):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o)
        self.c2, self.b2 = nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o)
        self.down = None if s == 1 and i == o else nn.Sequential(nn.Conv2d(i, o, 1, s, bias=False), nn.BatchNorm2d(o))

    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(y + (x if self.down is None else self.down(x)))


class ResNet18(nn.Module):
    """torchvision's ResNet-18 layout (7×7 stem, MaxPool, 4 stages of 2 basic blocks, GAP, FC) at width w."""

    def __init__(self, w=2, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, w, 7, 2, 3, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        chans, layers, i = [w, 2 * w, 4 * w, 8 * w], [], w
        for k, o in enumerate(chans):
            layers += [BasicBlock(i, o, 1 if k == 0 else 2), BasicBlock(o, o, 1)]
            i = o
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * w, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


class VGG(nn.Module):
    """VGG-style: conv-BN-ReLU stacks, MaxPool, x.view(x.size(0), -1), Linear-ReLU-Dropout classifier."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(conv_bn(3, 4), nn.MaxPool2d(2), conv_bn(4, 8), conv_bn(8, 8), nn.MaxPool2d(2),
                                      conv_bn(8, 8), nn.MaxPool2d(2, ceil_mode=True))
        self.classifier = nn.Sequential(nn.Linear(8 * 4 * 4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 10))

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.view(x.size(0), -1))


class Fire(nn.Module):
    def __init__(self, i, s, e):
        super().__init__()
        self.squeeze = nn.Conv2d(i, s, 1)
        self.e1, self.e3 = nn.Conv2d(s, e, 1), nn.Conv2d(s, e, 3, padding=1)

    def forward(self, x):
        x = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.e1(x)), F.relu(self.e3(x))], 1)


class SqueezeNet(nn.Module):
    """SqueezeNet-style: fire modules (Concat), ceil-mode MaxPool, Dropout, 1×1 conv head, GlobalAveragePool, Softmax."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, 2), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True),
                                      Fire(8, 2, 4), Fire(8, 2, 4), nn.MaxPool2d(3, 2, ceil_mode=True), Fire(8, 4, 8))
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(16, 10, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return torch.softmax(torch.flatten(self.head(self.features(x)), 1), dim=1)


class Inception(nn.Module):
    """GoogLeNet-style stem with LRN and an inception block (1×1, 3×3, 5×5, pool branches; AveragePool)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1), nn.LocalResponseNorm(5, 1e-3))
        self.b1 = nn.Conv2d(8, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
        self.b3 = nn.Sequential(nn.Conv2d(8, 2, 1), nn.ReLU(), nn.Conv2d(2, 4, 5, padding=2))
        self.b4 = nn.Sequential(nn.AvgPool2d(3, 1, 1), nn.Conv2d(8, 4, 1))
        self.tail = nn.Sequential(nn.AvgPool2d(2, 2, count_include_pad=False), nn.AvgPool2d(3, 2, 1, count_include_pad=False))
        self.fc = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = self.stem(x)
        x = F.relu(torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1))
        return self.fc(torch.flatten(self.tail(x), 1))


class DenseNet(nn.Module):
    """DenseNet-style: a dense block (BN-ReLU-Conv1×1-BN-ReLU-Conv3×3, Concat growth) and a transition."""

    def __init__(self, growth=4, layers=4):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.dense = nn.ModuleList()
        c = 8
        for _ in range(layers):
            self.dense.append(nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, 2 * growth, 1, bias=False),
                                            nn.BatchNorm2d(2 * growth), nn.ReLU(), nn.Conv2d(2 * growth, growth, 3, 1, 1, bias=False)))
            c += growth
        self.transition = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c // 2, 1, bias=False), nn.AvgPool2d(2))
        self.fc = nn.Linear(c // 2, 10)

    def forward(self, x):
        feats = [self.stem(x)]
        for layer in self.dense:
            feats.append(layer(torch.cat(feats, 1)))
        x = self.transition(torch.cat(feats, 1))
        return self.fc(F.adaptive_avg_pool2d(x, 1).view(x.size(0), -1))


def channel_shuffle(x, groups):
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(b, -1, h, w)


class ShuffleNet(nn.Module):
    """ShuffleNet-V2-style units: channel split (Slice), branch, Concat, channel shuffle (Reshape/Transpose/Reshape)."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 8, 3, 2, 1)
        self.branch = nn.Sequential(conv_bn(4, 4, 1, 1, 0), nn.Conv2d(4, 4, 3, 1, 1, groups=4, bias=False),
                                    nn.BatchNorm2d(4), conv_bn(4, 4, 1, 1, 0))
        self.down = nn.Sequential(nn.Conv2d(8, 8, 3, 2, 1, groups=8, bias=False), nn.BatchNorm2d(8), conv_bn(8, 8, 1, 1, 0))
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.stem(x)
        a, b = x.chunk(2, dim=1)
        x = channel_shuffle(torch.cat([a, self.branch(b)], 1), 2)
        x = channel_shuffle(self.down(x), 4)
        return self.fc(x.mean([2, 3]))


class DCGAN(nn.Module):
    """DCGAN generator: z (N, 16, 1, 1) → ConvTranspose-BN-ReLU ×3 → ConvTranspose → Tanh, 16×16 RGB."""

    def __init__(self, z=16, w=4):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z, 4 * w, 4, 1, 0, bias=False), nn.BatchNorm2d(4 * w), nn.ReLU(True),
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(True),
            nn.ConvTranspose2d(2 * w, 3, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.net(z)


class SRGAN(nn.Module):
    """SRGAN generator: Conv-PReLU, residual blocks (Conv-BN-PReLU-Conv-BN), skip, PixelShuffle ×2 with PReLU."""

    def __init__(self, c=6, blocks=2):
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(3, c, 9, 1, 4), nn.PReLU())
        self.blocks = nn.ModuleList(nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c), nn.PReLU(),
                                                  nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c)) for _ in range(blocks))
        self.mid = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c))
        self.up = nn.Sequential(nn.Conv2d(c, 4 * c, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(c))
        self.tail = nn.Conv2d(c, 3, 9, 1, 4)

    def forward(self, x):
        h = self.head(x)
        y = h
        for b in self.blocks:
            y = y + b(y)
        return torch.tanh(self.tail(self.up(h + self.mid(y))))


class RDB(nn.Module):
    def __init__(self, c, g):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c + k * g, g if k < 2 else c, 3, 1, 1) for k in range(3))

    def forward(self, x):
        feats = [x]
        for k, conv in enumerate(self.convs):
            y = conv(torch.cat(feats, 1))
            if k < 2:
                feats.append(F.leaky_relu(y, 0.2))
        return x + 0.2 * y


class ESRGAN(nn.Module):
    """ESRGAN-style: one RRDB (three residual dense blocks, residual scaling 0.2), nearest Resize ×2, LeakyReLU."""

    def __init__(self, c=8, g=4):
        super().__init__()
        self.head = nn.Conv2d(3, c, 3, 1, 1)
        self.rrdb = nn.Sequential(RDB(c, g), RDB(c, g), RDB(c, g))
        self.body = nn.Conv2d(c, c, 3, 1, 1)
        self.up = nn.Conv2d(c, c, 3, 1, 1)
        self.tail = nn.Conv2d(c, 3, 3, 1, 1)

    def forward(self, x):
        h = self.head(x)
        h = h + self.body(h + 0.2 * self.rrdb(h))
        h = F.leaky_relu(self.up(F.interpolate(h, scale_factor=2, mode="nearest")), 0.2)
        return self.tail(h)


class UNet(nn.Module):
    """U-Net: double conv-BN-ReLU, MaxPool down, bilinear Resize up (align_corners=False), skip Concat."""

    def __init__(self, c=4):
        super().__init__()
        def double(i, o):
            return nn.Sequential(conv_bn(i, o), conv_bn(o, o))
        self.d1, self.d2, self.d3 = double(3, c), double(c, 2 * c), double(2 * c, 4 * c)
        self.u2, self.u1 = double(6 * c, 2 * c), double(3 * c, c)
        self.out = nn.Conv2d(c, 1, 1)

    def forward(self, x):
        a = self.d1(x)
        b = self.d2(F.max_pool2d(a, 2))
        c = self.d3(F.max_pool2d(b, 2))
        b = self.u2(torch.cat([F.interpolate(c, scale_factor=2, mode="bilinear", align_corners=False), b], 1))
        return self.out(self.u1(torch.cat([F.interpolate(b, scale_factor=2, mode="bilinear", align_corners=False), a], 1)))


class Pix2Pix(nn.Module):
    """pix2pix U-Net generator: stride-2 Conv-InstanceNorm-LeakyReLU down, ConvTranspose-InstanceNorm-Dropout-ReLU up
    with skip Concat, Tanh."""

    def __init__(self, c=4):
        super().__init__()
        norm = nn.InstanceNorm2d
        self.d1 = nn.Conv2d(3, c, 4, 2, 1)
        self.d2 = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), norm(2 * c))
        self.d3 = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(2 * c, 4 * c, 4, 2, 1, bias=False))
        self.u3 = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1, bias=False), norm(2 * c), nn.Dropout(0.5))
        self.u2 = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(4 * c, c, 4, 2, 1, bias=False), norm(c, affine=True))
        self.u1 = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(2 * c, 3, 4, 2, 1), nn.Tanh())

    def forward(self, x):
        a = self.d1(x)
        b = self.d2(a)
        c = self.d3(b)
        y = torch.cat([self.u3(c), b], 1)
        return self.u1(torch.cat([self.u2(y), a], 1))


class CycleGAN(nn.Module):
    """CycleGAN ResNet generator: ReflectionPad-Conv7-InstanceNorm-ReLU, stride-2 downs, residual blocks with
    ReflectionPad and Dropout, ConvTranspose ups, ReflectionPad-Conv7-Tanh."""

    def __init__(self, c=4, blocks=2):
        super().__init__()
        norm = nn.InstanceNorm2d
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, c, 7), norm(c), nn.ReLU(True),
                  nn.Conv2d(c, 2 * c, 3, 2, 1), norm(2 * c), nn.ReLU(True)]
        self.down = nn.Sequential(*layers)
        self.blocks = nn.ModuleList(nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(2 * c, 2 * c, 3), norm(2 * c), nn.ReLU(True),
                                                  nn.Dropout(0.5), nn.ReflectionPad2d(1), nn.Conv2d(2 * c, 2 * c, 3), norm(2 * c))
                                    for _ in range(blocks))
        self.up = nn.Sequential(nn.ConvTranspose2d(2 * c, c, 3, 2, 1, output_padding=1), norm(c), nn.ReLU(True),
                                nn.ReflectionPad2d(3), nn.Conv2d(c, 3, 7), nn.Tanh())

    def forward(self, x):
        x = self.down(x)
        for b in self.blocks:
            x = x + b(x)
        return self.up(x)


# name → (constructor, input shape without the batch)
ZOO = {
    "resnet18": (ResNet18, (3, 32, 32)),
    "vgg": (VGG, (3, 32, 32)),
    "squeezenet": (SqueezeNet, (3, 32, 32)),
    "inception": (Inception, (3, 16, 16)),
    "densenet": (DenseNet, (3, 16, 16)),
    "shufflenet": (ShuffleNet, (3, 16, 16)),
    "dcgan": (DCGAN, (16, 1, 1)),
    "srgan": (SRGAN, (3, 8, 8)),
    "esrgan": (ESRGAN, (3, 8, 8)),
    "unet": (UNet, (3, 16, 16)),
    "pix2pix": (Pix2Pix, (3, 16, 16)),
    "cyclegan": (CycleGAN, (3, 16, 16)),
}


def build(name, seed=0):
    """The model `name`, seeded; BatchNorm running statistics and affine parameters randomized; eval mode."""
    torch.manual_seed(seed)
    make, shape = ZOO[name]
    m = make()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.normal_(0, 0.3)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.normal_(0, 0.2)
            elif isinstance(mod, nn.PReLU):
                mod.weight.uniform_(0.05, 0.4)
    return m.eval(), shape


def export(name, path, dynamo=False, external=False):
    m, shape = build(name)
    x = torch.randn(2, *shape)
    kwargs = dict(input_names=["x"], output_names=["y"])
    if dynamo:
        # dynamic_shapes as a tuple matching the inputs, not a dict: a dict's keys must be forward()'s argument
        # names, and the DCGAN's is `z` (keyed by "x", torch.export refuses it in step 1).
        batch = torch.export.Dim("batch", min=1, max=1024)
        opset = {} if external else dict(opset_version=17)  # dynamo+external: the exporter's default opset
        torch.onnx.export(m, (x,), path, dynamo=True, dynamic_shapes=({0: batch},), external_data=external,
                          **kwargs, **opset)
    else:
        torch.onnx.export(m, (x,), path, dynamo=False, dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
                          opset_version=17, **kwargs)
        if external:
            import onnx
            model = onnx.load(path)
            onnx.save(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                      location=os.path.basename(path) + ".data", size_threshold=0)
    print(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", nargs="*", default=None, help="families to export (default: all)")
    ap.add_argument("--dynamo", nargs="*", default=[], help="families also exported with the dynamo exporter")
    ap.add_argument("--external", nargs="*", default=[], help="families also exported and re-saved with external data")
    ap.add_argument("--dynamo-external", nargs="*", default=[],
                    help="families also exported by the dynamo exporter with its defaults and external data")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name in a.only or ZOO:
        export(name, os.path.join(a.out, f"{name}.onnx"))
    jobs = [(n, ".dynamo", True, False) for n in a.dynamo] + [(n, ".external", False, True) for n in a.external]
    jobs += [(n, ".dynamo.external", True, True) for n in a.dynamo_external]
    failed = 0
    for name, suffix, dynamo, external in jobs:
        try:
            export(name, os.path.join(a.out, f"{name}{suffix}.onnx"), dynamo=dynamo, external=external)
        except Exception as e:  # noqa: BLE001 — report every family, then fail
            failed += 1
            print(f"{name}{suffix}: export failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                  file=sys.stderr)
    print(f"torch {torch.__version__}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
