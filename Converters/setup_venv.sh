#!/usr/bin/env bash
# Creates/updates the repo-root .venv (or $MOE_VENV, e.g. an installed share/moekit/venv) with the pinned Converters/requirements.txt (idempotent, stamp-checked).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="${MOE_VENV:-$root/.venv}"
req="$here/requirements.txt"
stamp="$venv/.moekit-stamp"
python="${PYTHON:-python3}"

export SETUPTOOLS_USE_DISTUTILS=stdlib
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1

# PyTorch is optional: a CPU wheel file under /opt/wheels (or $MOE_TORCH_WHEELS) is installed when present.
wheels="${MOE_TORCH_WHEELS:-/opt/wheels}"
torch_wheel="$(ls -1 "$wheels"/torch-*cpu*.whl 2>/dev/null | sort | tail -n 1 || true)"
want="$( { sha256sum "$req" | cut -d' ' -f1; echo "torch-wheel: ${torch_wheel:-none}"; } | sha256sum | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "setup_venv: .venv up to date"
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "setup_venv: creating $venv with $("$python" --version 2>&1)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi
case "$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" in
  3.11) ;;
  *) echo "setup_venv: warning: pins are verified on Python 3.11 only" >&2 ;;
esac
rm -f "$stamp"

echo "setup_venv: installing setuptools"
"$venv/bin/python" -m pip install -q "setuptools>=77.0.3,<81" </dev/null
echo "setup_venv: installing $req"
# Lines marked "# no-deps" declare stale dependency pins: install them after the rest, without dependencies.
main_req="$(mktemp)"
trap 'rm -f "$main_req"' EXIT
grep -v '# no-deps' "$req" > "$main_req"
"$venv/bin/python" -m pip install -q --no-build-isolation -r "$main_req" </dev/null
mapfile -t nodeps < <(grep '# no-deps' "$req" | sed 's/#.*//; s/[[:space:]]*$//' | grep -v '^$' || true)
if (( ${#nodeps[@]} )); then
  "$venv/bin/python" -m pip install -q --no-build-isolation --no-deps "${nodeps[@]}" </dev/null
fi

if [[ -n "$torch_wheel" ]]; then
  echo "setup_venv: installing PyTorch from $torch_wheel"
  "$venv/bin/python" -m pip install -q "$torch_wheel" </dev/null
else
  echo "setup_venv: NOTE: no PyTorch CPU wheel (torch-*cpu*.whl) under $wheels; PyTorch is not installed, so the" \
    "PyTorch tests and 'moe verify --runtimes torch' will fail until you install one (pip install torch --index-url https://download.pytorch.org/whl/cpu)"
fi

echo "setup_venv: checking imports"
"$venv/bin/python" -W "ignore:pkg_resources is deprecated" \
  -c "import chainer, h5py, onnx, onnxruntime, numpy, safetensors, importlib.util as u; assert u.find_spec('onnx_chainer')" </dev/null
if [[ -n "$torch_wheel" ]]; then "$venv/bin/python" -c "import torch, safetensors.torch" </dev/null; fi

echo "$want" > "$stamp"
echo "setup_venv: done"
