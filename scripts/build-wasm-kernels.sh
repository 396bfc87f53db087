#!/bin/sh
# Rebuilds lib/backends/wasm-training/training-kernels.wasm from the C sources next to it.
# Usage: scripts/build-wasm-kernels.sh [output.wasm]   (needs clang and wasm-ld, e.g. apt-get install clang lld)
# The module is position independent and imports the TensorFlow.js wasm memory, so it
# works in place on tensor data; it must own no static data and use no stack in linear
# memory (lib/backends/wasm-training/kernel-module.ts refuses either).
set -eu
export LC_ALL=C # a fixed order for the *.c glob, so the output is reproducible
here=$(cd "$(dirname "$0")/.." && pwd)
src="$here/lib/backends/wasm-training/c"
out=${1:-"$here/lib/backends/wasm-training/training-kernels.wasm"}
clang --target=wasm32 -msimd128 -O3 -nostdlib -fPIC -fno-builtin \
  -ffile-prefix-map="$here"=. \
  -Wall -Wextra -Werror \
  -Wl,--no-entry -Wl,--experimental-pic -Wl,-shared -Wl,--strip-debug \
  -o "$out" "$src"/*.c
