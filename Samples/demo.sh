#!/usr/bin/env bash
# make demo's pipeline on the trained sample: fidelity, report, auto quantization, verify, grids, evaluation, site, serve.
#
# Environment: BIN (the moe binary), PY (Converters/py), DEMO_DIR (outputs), DEMO_SERVE=0 (do not serve), DEMO_PORT.
# Serving is skipped when stdin is not a terminal (CI, pipes); every other step always runs and stops the demo on error.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.build/release/moe}
PY=${PY:-Converters/py}
D=${DEMO_DIR:-demo-out}
GEN=Samples/generator.npz
TAGGER=Samples/tagger.npz
mkdir -p "$D"
step() { printf '\n== %s\n' "$*"; }

for f in "$GEN" "$TAGGER"; do
  [ -f "$f" ] || { echo "demo: $f is missing (the trained sample ships in the checkout; see Samples/README.md)" >&2; exit 1; }
done

step "1/9 Chainer fidelity: a paper-size generator written by real Chainer, run by MoeKit"
"$PY" Converters/chainer/make_fixture.py --arch srresnet-generator --C 64 --B 16 --U 3 --n 162 --seed 0 --batch 1 \
  --out "$D/paper" >/dev/null
"$BIN" run "$D/paper/model.npz" --input "$D/paper/z_b1.npy" -o "$D/paper-moe.npy"
"$PY" -c "import numpy as n; a=n.load('$D/paper-moe.npy'); b=n.load('$D/paper/out_b1.npy'); print('moe run vs Chainer (paper size, 128²): max-abs %.2e' % abs(a-b).max())"

step "2/9 The trained sample: $GEN"
"$BIN" inspect "$GEN" | tail -n 4

step "3/9 Size versus fidelity: moe report (every encoding, the auto plan)"
"$BIN" report "$GEN" --html "$D/report.html" | tee "$D/report.txt" | tail -n 12

step "4/9 Automatic mixed precision: --quantize auto --target-psnr 30"
"$BIN" convert "$GEN" --quantize auto --target-psnr 30 --plan "$D/plan.json" -o "$D/generator-auto.moe"
"$BIN" convert "$GEN" -o "$D/generator-f32.moe"
ls -l "$D/generator-f32.moe" "$D/generator-auto.moe" | awk '{print $5, $NF}'

step "5/9 Every runtime computes the same faces: moe verify (native, wasm in node, Chromium, Chainer, ONNX Runtime)"
"$BIN" verify "$GEN" --html "$D/verify.html"
step "     … and the quantized bundle the page loads, native vs wasm vs Chromium"
"$BIN" verify "$D/generator-auto.moe" --runtimes native,wasm,browser --html "$D/verify-auto.html"

step "6/9 Sample grids"
"$BIN" generate "$GEN" --count 64 --seed 7 -o "$D/grid.png"
"$BIN" generate "$GEN" --count 16 --seed 7 --grid fixed-noise -o "$D/grid-fixed-noise.png"
"$BIN" generate "$GEN" --count 16 --seed 7 --grid fixed-tags --tags blonde_hair,twin_tail,blue_eyes,smile -o "$D/grid-fixed-tags.png"
"$BIN" generate "$GEN" --count 8 --seed 3 --grid interpolate --tags pink_hair,long_hair,green_eyes -o "$D/grid-interpolate.png"
for hair in blonde_hair brown_hair black_hair blue_hair pink_hair purple_hair green_hair red_hair silver_hair white_hair orange_hair aqua_hair grey_hair; do
  "$BIN" generate "$GEN" --count 8 --seed 11 --grid fixed-noise --tags "$hair" -o "$D/hair-$hair.png" >/dev/null
done
echo "$D/hair-*.png: 8 faces per hair colour"

step "7/9 Attribute control, measured by the tagger: moe evaluate"
"$BIN" evaluate "$GEN" --tagger "$TAGGER" --count 512 --html "$D/evaluate.html" | tee "$D/evaluate.txt" | head -n 8

step "8/9 The web page: moe export-site (the auto-quantized bundle)"
"$BIN" export-site "$D/generator-auto.moe" -o "$D/site" --force

step "9/9 Outputs"
cat <<EOF
  Chainer fidelity        $D/paper-moe.npy vs $D/paper/out_b1.npy (printed above)
  size report             $D/report.html  $D/report.txt
  auto-quantized bundle   $D/generator-auto.moe (plan: $D/plan.json; float32: $D/generator-f32.moe)
  cross-runtime check     $D/verify.html  $D/verify-auto.html
  grids                   $D/grid.png  $D/grid-fixed-noise.png  $D/grid-fixed-tags.png  $D/grid-interpolate.png  $D/hair-*.png
  attribute control       $D/evaluate.html  $D/evaluate.txt
  web page                $D/site/ (open index.html through a server: moe serve $D/site)
EOF

if [ "${DEMO_SERVE:-1}" = 0 ] || [ ! -t 0 ]; then
  echo "demo: not serving (DEMO_SERVE=0 or not an interactive shell); to see the page: $BIN serve $D/site"
  exit 0
fi
step "Serving the page (Ctrl-C to stop)"
exec "$BIN" serve "$D/site" --port "${DEMO_PORT:-8000}"
