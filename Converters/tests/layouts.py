# Test helper: the key layouts of CONTRACTS.md §3, written out independently of the Chainer models.
"""Expected ``save_npz`` keys and shapes of each zoo architecture (CONTRACTS.md §3)."""


def bn_keys(name, channels):
    """Keys and shapes of one BatchNormalization link."""
    return {name + "/gamma": (channels,), name + "/beta": (channels,),
            name + "/avg_mean": (channels,), name + "/avg_var": (channels,), name + "/N": ()}


def conv_keys(name, cout, cin, k):
    """Keys and shapes of one Convolution2D link (W is out, in, kh, kw)."""
    return {name + "/W": (cout, cin, k, k), name + "/b": (cout,)}


def deconv_keys(name, cin, cout, k):
    """Keys and shapes of one Deconvolution2D link (W is in, out, kh, kw)."""
    return {name + "/W": (cin, cout, k, k), name + "/b": (cout,)}


def linear_keys(name, out, inp):
    """Keys and shapes of one Linear link (W is out, in)."""
    return {name + "/W": (out, inp), name + "/b": (out,)}


def srresnet_keys(C, B, U, n):
    """The srresnet-generator layout."""
    keys = linear_keys("fc", C * 256, n)
    keys.update(bn_keys("bn0", C))
    for i in range(B):
        keys.update(conv_keys("res/%d/c1" % i, C, C, 3))
        keys.update(bn_keys("res/%d/b1" % i, C))
        keys.update(conv_keys("res/%d/c2" % i, C, C, 3))
        keys.update(bn_keys("res/%d/b2" % i, C))
    keys.update(conv_keys("cm", C, C, 3))
    keys.update(bn_keys("bnm", C))
    for j in range(U):
        keys.update(conv_keys("up/%d/c" % j, 4 * C, C, 3))
        keys.update(bn_keys("up/%d/b" % j, C))
    keys.update(conv_keys("out", 3, C, 9))
    return keys


def acgan_keys(widths, size, tags):
    """The acgan-discriminator layout: downs/k, stages/k/r/c{1,2}, last, adv, cls."""
    keys, cin, s = {}, 3, size
    for k, w in enumerate(widths):
        keys.update(conv_keys("downs/%d" % k, w, cin, 4))
        for r in range(2):
            keys.update(conv_keys("stages/%d/%d/c1" % (k, r), w, w, 3))
            keys.update(conv_keys("stages/%d/%d/c2" % (k, r), w, w, 3))
        cin, s = w, s // 2
    last = widths[-1]
    keys.update(conv_keys("last", 2 * last, last, 3))
    flat = 2 * last * ((s + 1) // 2) ** 2
    keys.update(linear_keys("adv", 1, flat))
    keys.update(linear_keys("cls", tags, flat))
    return keys


def dcgan_keys(C, n):
    """The dcgan-generator layout: fc, bn0, d1..d4, b1..b3."""
    keys = linear_keys("fc", C * 16, n)
    keys.update(bn_keys("bn0", C))
    c = C
    for i in (1, 2, 3):
        keys.update(deconv_keys("d%d" % i, c, c // 2, 4))
        keys.update(bn_keys("b%d" % i, c // 2))
        c //= 2
    keys.update(deconv_keys("d4", c, 3, 4))
    return keys


def tagger_keys(widths, size, tags):
    """The tagger-cnn layout: convs/k (3 x 3), mix, fc (no key depends on size)."""
    keys, cin = {}, 3
    for k, w in enumerate(widths):
        keys.update(conv_keys("convs/%d" % k, w, cin, 3))
        cin = w
    keys.update(conv_keys("mix", cin, cin, 3))
    keys.update(linear_keys("fc", tags, cin))
    return keys


#: Layout function by architecture name.
LAYOUTS = {"srresnet-generator": srresnet_keys, "acgan-discriminator": acgan_keys,
           "dcgan-generator": dcgan_keys, "tagger-cnn": tagger_keys}
