"""Imports PyTorch and safetensors or exits with one line saying how to get them (tests fail, never skip, without them)."""
import sys

try:
    import torch  # noqa: F401
    import safetensors.torch  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.exit("PyTorch tests need the %r package, which this venv lacks: put a CPU wheel torch-*cpu*.whl under /opt/wheels "
             "and run Converters/setup_venv.sh, or pip install torch safetensors (%s)" % (e.name, e))
