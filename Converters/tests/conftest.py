# pytest setup for the Converters tests: import path for Converters/chainer and a known-noisy warning.
"""Makes the Converters/chainer modules (``moe_zoo``, ``make_fixture``, ``trace``, ...) importable in tests."""

import os
import sys

import pytest

CHAINER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "chainer")
if CHAINER_DIR not in sys.path:
    sys.path.insert(0, CHAINER_DIR)


def pytest_configure(config):
    """Checks the environment Chainer needs and silences its pkg_resources warning.

    chainer 7.8.1 imports numpy.distutils, which only works with the standard
    library's distutils; setuptools decides that when Python starts, so the
    variable cannot be set from here. It also imports pkg_resources, which
    setuptools>=80 flags on every import, and the distutils imports raise
    DeprecationWarnings; none of them is ours to fix.
    """
    if os.environ.get("SETUPTOOLS_USE_DISTUTILS") != "stdlib":
        raise pytest.UsageError(
            "chainer needs SETUPTOOLS_USE_DISTUTILS=stdlib before Python starts; "
            "run: Converters/py -m pytest Converters/tests")
    for spec in ("ignore:pkg_resources is deprecated:UserWarning",
                 "ignore::DeprecationWarning:chainer._environment_check",
                 "ignore::DeprecationWarning:numpy.distutils.*"):
        config.addinivalue_line("filterwarnings", spec)
