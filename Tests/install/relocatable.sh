#!/usr/bin/env bash
# relocatable.sh: `make install` into a temp PREFIX; the installed moe works from outside the checkout with the checkout's files hidden.
#
# Design (safe with other tests running in parallel on the same checkout): the checkout's Sources/MoeWeb and Converters
# are hidden by bind-mounting an empty folder over them inside a private mount namespace (`unshare -m`)
# that only this script's commands see. Nothing of the shared checkout is renamed, so nothing has to be restored:
# the namespace, and the hiding with it, ends with the commands, also on failure or a crash.
# The binary is the one already built ($MOE_BIN, default .build/release/moe): `make install BIN=…` copies it, no rebuild.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${MOE_BIN:-$root/.build/release/moe}"
[[ -x "$bin" ]] || { echo "relocatable.sh: $bin not built (make build)" >&2; exit 1; }
work="$(mktemp -d /tmp/moe-inst-test-XXXXXX)"
trap 'rm -rf "$work"' EXIT
SECONDS=0

make -C "$root" --no-print-directory install PREFIX="$work/prefix" BIN="$bin" INSTALL_VENV=no >"$work/install.log"
"$root/Converters/py" "$root/Converters/chainer/make_fixture.py" --arch dcgan-generator --C 16 --n 20 --seed 0 \
  --batch 1 --out "$work/fx" >/dev/null
python3 -m venv --without-pip "$work/barepy"   # a Python without chainer, numpy, h5py
mkdir -p "$work/outside" "$work/empty"

ns=(unshare --mount --propagation private)
[[ "$(id -u)" == 0 ]] || ns=(unshare --map-root-user --mount --propagation private)

venv_python="$(readlink -f "$root/.venv")/bin/python"   # the checkout venv, left visible: it must not be picked up
ROOT="$root" WORK="$work" VENV_PYTHON="$venv_python" "${ns[@]}" bash -euo pipefail -c '
  fail() { echo "relocatable.sh: FAIL: $*" >&2; exit 1; }
  mount --bind "$WORK/empty" "$ROOT/Sources/MoeWeb"
  mount --bind "$WORK/empty" "$ROOT/Converters"
  [[ ! -e "$ROOT/Sources/MoeWeb/moe.js" && ! -e "$ROOT/Converters/py" ]] || fail "checkout files still visible"
  unset MOE_WEB_DIR MOE_CONVERTERS_ROOT MOE_PYTHON
  cd "$WORK/outside"
  moe="$WORK/prefix/bin/moe"

  "$moe" convert "$WORK/fx/model.npz" -o m.moe >/dev/null
  "$moe" export-site m.moe -o site >/dev/null || fail "export-site"
  for f in index.html app.js style.css npy.js moe.js kernels.wasm runner.html runner.js model.moe; do
    [[ -s "site/$f" ]] || fail "export-site did not write $f"
  done

  "$moe" serve site --port 0 >serve.out 2>&1 &
  pid=$!
  url=""
  for _ in $(seq 1 100); do
    url="$(grep -o "http://127.0.0.1:[0-9]*/" serve.out || true)"
    [[ -n "$url" ]] && break
    sleep 0.1
  done
  [[ -n "$url" ]] || { kill $pid; fail "serve printed no URL: $(cat serve.out)"; }
  curl -sf --max-time 10 "${url}index.html" -o got-index.html || { kill $pid; fail "GET index.html"; }
  curl -sf --max-time 10 "${url}model.moe" -o got-model.moe || { kill $pid; fail "GET model.moe"; }
  kill $pid; wait $pid || true
  cmp -s got-index.html site/index.html || fail "served index.html differs"
  cmp -s got-model.moe site/model.moe || fail "served model.moe differs"

  "$moe" run m.moe --input "$WORK/fx/z_b1.npy" --runtime wasm -o wasm.npy || fail "run --runtime wasm"
  "$moe" verify m.moe --runtimes native,wasm >verify.out 2>&1 || fail "verify native,wasm: $(cat verify.out)"
  "$moe" bench m.moe --runtime wasm --runs 1 >bench.out 2>&1 || fail "bench --runtime wasm: $(cat bench.out)"

  # No Python with the packages: one line naming exactly what the chainer runtime needs.
  expect="the chainer runtime needs a Python with chainer==7.8.1, numpy<2, h5py"
  if MOE_PYTHON="$WORK/barepy/bin/python" "$moe" verify "$WORK/fx/model.npz" --runtimes native,chainer >bare.out 2>&1; then
    fail "verify chainer passed with a bare Python"
  fi
  grep -qF "$expect; $WORK/barepy/bin/python (from MOE_PYTHON) lacks chainer==7.8.1, numpy<2, h5py" bare.out || fail "bare Python: $(cat bare.out)"
  if "$moe" verify "$WORK/fx/model.npz" --runtimes native,chainer >none.out 2>&1; then fail "verify chainer passed with no Python"; fi
  grep -qF "$expect (none found: set --python or MOE_PYTHON, or run make install)" none.out || fail "no Python: $(cat none.out)"
  # With --python naming a Python that has them, the installed drivers run real Chainer.
  "$moe" verify "$WORK/fx/model.npz" --runtimes native,chainer --python "$VENV_PYTHON" >chainer.out 2>&1 \
    || fail "verify native,chainer --python: $(cat chainer.out)"
'

# The installed tool's wasm output against real Chainer's, outside the namespace (NumPy from the checkout venv).
"$root/Converters/py" -c "
import numpy as np, sys
a = np.load('$work/outside/wasm.npy'); b = np.load('$work/fx/out_b1.npy')
d = float(np.abs(a - b).max()) if a.shape == b.shape else float('inf')
print('relocatable.sh: installed moe run --runtime wasm vs Chainer: max-abs %.2e' % d)
sys.exit(0 if d <= 1e-4 else 1)"
echo "relocatable.sh: ok (install, export-site, serve, run wasm, verify native,wasm, chainer without and with a Python) in ${SECONDS} s"
