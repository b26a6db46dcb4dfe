#!/usr/bin/env bash
# build-wasm.sh: compiles Sources/MoeKernels (Embedded Swift) + runtime.c into Sources/MoeWeb/kernels.wasm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${SWIFT_BIN:-$(dirname "$(readlink -f "$(command -v swiftc)")")}"
out="$(realpath -m "${1:-$here/kernels.wasm}")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sources=("$root"/Sources/MoeKernels/*.swift)
cd "$tmp"  # relative object paths: swiftc hashes the output path into the object (.swift_modhash)
"$bin/swiftc" -target wasm32-unknown-none-wasm -enable-experimental-feature Embedded -Xcc -msimd128 \
  -Xfrontend -disable-stack-protector -O -wmo -parse-as-library -module-name MoeKernels \
  -c "${sources[@]}" -o kernels.o
"$bin/clang" --target=wasm32 -O2 -msimd128 -nostdlib -ffreestanding -c "$here/runtime.c" -o runtime.o
exports=$(grep -ho '@_cdecl("[a-z0-9_]*")' "${sources[@]}" | sed 's/@_cdecl("\(.*\)")/--export=\1/' | LC_ALL=C sort -u)
# shellcheck disable=SC2086
"$bin/wasm-ld" --no-entry --strip-all --gc-sections -O2 $exports --export=moe_alloc --export=moe_reset \
  -z stack-size=65536 --initial-memory=1114112 kernels.o runtime.o -o kernels.wasm
mv kernels.wasm "$out"
echo "kernels.wasm: $(wc -c <"$out") bytes ($out)"
