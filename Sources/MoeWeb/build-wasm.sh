#!/usr/bin/env bash
# build-wasm.sh [DIR]: compiles Sources/MoeKernels (Embedded Swift) + runtime.c into DIR (default: Sources/MoeWeb):
#   kernels.wasm         SIMD128, its own memory: every page (moe.js's single-thread path)
#   kernels-mt.wasm      SIMD128 + atomics on an imported shared memory: moe.js's thread pool (cross-origin-isolated pages)
#   kernels-mt-fma.wasm  kernels-mt.wasm with relaxed SIMD: GEMM blocks on f32x4.relaxed_madd (gemm-fma.c)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${SWIFT_BIN:-$(dirname "$(readlink -f "$(command -v swiftc)")")}"
out="$(realpath -m "${1:-$here}")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sources=("$root"/Sources/MoeKernels/*.swift)
exports=$(grep -ho '@_cdecl("[a-z0-9_]*")' "${sources[@]}" | sed 's/@_cdecl("\(.*\)")/--export=\1/' | LC_ALL=C sort -u)
# The thread pool's entry points (Parts.swift) only in the shared-memory builds.
single=$(echo "$exports" | grep -v -e '_part$' -e '_pack$' -e '_parts_scratch$')
# Shared memory: at most 1 GiB (browsers reserve the maximum up front); moe.js creates it with the same limits.
threads=(--shared-memory --import-memory --max-memory=1073741824 --export=__stack_pointer)
cd "$tmp"  # relative object paths: swiftc hashes the output path into the object (.swift_modhash)

# build NAME "CLANG FEATURE FLAGS" "EXTRA SWIFT FLAGS" "EXTRA LINK FLAGS" [EXTRA C SOURCE]
build() {
  local name=$1 features=$2 swiftExtra=$3 linkExtra=$4 extraC=${5:-} xcc="" f objs=(kernels.o runtime.o) names=$exports
  [ -n "$linkExtra" ] || names=$single
  for f in $features; do xcc="$xcc -Xcc $f"; done
  mkdir "$name" && cd "$name"
  # shellcheck disable=SC2086
  "$bin/swiftc" -target wasm32-unknown-none-wasm -enable-experimental-feature Embedded $xcc $swiftExtra \
    -Xfrontend -disable-stack-protector -O -wmo -parse-as-library -module-name MoeKernels \
    -c "${sources[@]}" -o kernels.o
  # shellcheck disable=SC2086
  "$bin/clang" --target=wasm32 -O2 $features -nostdlib -ffreestanding -c "$here/runtime.c" -o runtime.o
  if [ -n "$extraC" ]; then
    # shellcheck disable=SC2086
    "$bin/clang" --target=wasm32 -O2 $features -nostdlib -ffreestanding -c "$here/$extraC" -o extra.o
    objs+=(extra.o)
  fi
  # shellcheck disable=SC2086
  "$bin/wasm-ld" --no-entry --strip-all --gc-sections -O2 $names --export=moe_alloc --export=moe_reset $linkExtra \
    -z stack-size=65536 --initial-memory=1114112 "${objs[@]}" -o "$name"
  mv "$name" "$out/$name"
  echo "$name: $(wc -c <"$out/$name") bytes ($out/$name)"
  cd ..
}

build kernels.wasm "-msimd128" "" ""
build kernels-mt.wasm "-msimd128 -matomics -mbulk-memory" "" "${threads[*]}"
build kernels-mt-fma.wasm "-msimd128 -matomics -mbulk-memory -mrelaxed-simd" \
  "-D MOE_FMA -enable-experimental-feature Extern" "${threads[*]}" gemm-fma.c
