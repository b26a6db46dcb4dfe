#!/usr/bin/env bash
# Regenerates Sources/CONNX/{onnx.pb-c.c,include/onnx.pb-c.h} from the official onnx.proto shipped in the
# pinned onnx wheel (.venv), with protoc-c (Debian: protobuf-c-compiler). Usage: Sources/CONNX/regenerate.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
proto_dir="$("$root/Converters/py" -c 'import os, onnx; print(os.path.dirname(onnx.__file__))')"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cp "$proto_dir/onnx.proto" "$tmp/onnx.proto"
(cd "$tmp" && protoc-c --c_out=. onnx.proto)
cp "$tmp/onnx.pb-c.c" "$here/onnx.pb-c.c"
cp "$tmp/onnx.pb-c.h" "$here/include/onnx.pb-c.h"
echo "regenerated from $proto_dir/onnx.proto with $(protoc-c --version | head -1)"
