# Builds a tiny real chainer.training.Trainer (generator + discriminator, two Adams) whose snapshot the fixture maker saves.
"""A real GAN trainer, run for one iteration, for trainer-snapshot fixtures.

``serializers.save_npz(path, trainer)`` (what ``extensions.snapshot()`` does)
then writes keys such as::

    updater/model:gen/fc/W            updater/optimizer:gen/t
    updater/model:dis/downs/0/W       updater/optimizer:gen/fc/W/m  (/v, /t)
    updater/iterator:main/order       updater/iteration
    extensions/LogReport/_log         _snapshot_elapsed_time

The fixture model takes its role (``gen`` or ``dis``); a small companion of the
other role is built so one DCGAN-style step (softplus adversarial losses) runs.
"""

import tempfile

import numpy as np

import chainer
import chainer.functions as F
from chainer import training
from chainer.training import extensions

import moe_zoo

#: Adam hyper-parameters of the snapshot's optimizers (DCGAN-style).
ADAM_ALPHA, ADAM_BETA1 = 2e-4, 0.5
#: Minibatch size and number of "real" images of the snapshot's training run.
TRAIN_BATCH, TRAIN_IMAGES = 2, 4
#: Channel width of the companion models.
COMPANION_WIDTH = 8
#: Generator input entries that are noise; the rest are tags.
NOISE_LENGTH = 128


class GANUpdater(training.updaters.StandardUpdater):
    """One generator and one discriminator step per iteration (optimizers ``gen``, ``dis``)."""

    def __init__(self, iterator, opt_gen, opt_dis, n):
        super().__init__(iterator, {"gen": opt_gen, "dis": opt_dis})
        self.n = n

    def update_core(self):
        """Non-saturating GAN losses through softplus on the ``adv`` head."""
        gen = self.get_optimizer("gen").target
        dis = self.get_optimizer("dis").target
        real = np.stack(self.get_iterator("main").next())
        z = np.random.standard_normal((len(real), self.n)).astype(np.float32)
        fake = gen(z)
        adv_fake, adv_real = dis(fake)[0], dis(real)[0]
        loss_gen = F.mean(F.softplus(-adv_fake))
        loss_dis = F.mean(F.softplus(-adv_real)) + F.mean(F.softplus(adv_fake))
        gen.cleargrads()
        loss_gen.backward()
        self.get_optimizer("gen").update()
        fake.unchain_backward()
        dis.cleargrads()
        loss_dis.backward()
        self.get_optimizer("dis").update()
        chainer.report({"gen/loss": loss_gen, "dis/loss": loss_dis})


def companion(model, role):
    """A small model of the other role that fits ``model``'s image size and tags."""
    if role == "generator":
        size = model.output_size
        return moe_zoo.ACGANDiscriminator(widths=(COMPANION_WIDTH, 2 * COMPANION_WIDTH),
                                          size=size, tags=max(1, model.n - NOISE_LENGTH))
    size, ups = model.size, 0
    while 16 * 2 ** ups < size:
        ups += 1
    if 16 * 2 ** ups != size:
        raise ValueError("--snapshot with a discriminator needs size 16*2^k, got %d" % size)
    return moe_zoo.SRResNetGenerator(C=COMPANION_WIDTH, B=1, U=ups, n=NOISE_LENGTH + model.tags)


def adam(model):
    """An Adam optimizer set up on ``model``."""
    opt = chainer.optimizers.Adam(alpha=ADAM_ALPHA, beta1=ADAM_BETA1)
    opt.setup(model)
    return opt


def train_one_iteration(model, role):
    """Builds the trainer around ``model`` and runs one iteration.

    Returns ``(trainer, optimizers)`` where optimizers maps ``gen``/``dis``.
    BatchNorm running statistics change during the step; calibrate afterwards.
    """
    other = companion(model, role)
    gen, dis = (model, other) if role == "generator" else (other, model)
    size = dis.size
    images = np.random.uniform(-1, 1, (TRAIN_IMAGES, 3, size, size)).astype(np.float32)
    iterator = chainer.iterators.SerialIterator(list(images), TRAIN_BATCH, shuffle=True)
    optimizers = {"gen": adam(gen), "dis": adam(dis)}
    updater = GANUpdater(iterator, optimizers["gen"], optimizers["dis"], gen.n)
    with tempfile.TemporaryDirectory() as out:
        trainer = training.Trainer(updater, (1, "iteration"), out=out)
        trainer.extend(extensions.LogReport(trigger=(1, "iteration")))
        trainer.run()
    return trainer, optimizers


def role_key(role):
    """``gen`` or ``dis``: the updater's name for a model of ``role``."""
    return "gen" if role == "generator" else "dis"


def snapshot_prefix(role):
    """Key prefix of a model of ``role`` inside the trainer snapshot."""
    return "updater/model:%s/" % role_key(role)
