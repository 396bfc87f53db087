#!/bin/sh
# Rebuilds the training kernels from the C sources in lib/backends/wasm-training/c:
#   training-kernels.wasm          plain SIMD128, clang 14 (apt-get install clang lld)
#   training-kernels-relaxed.wasm  the same sources with relaxed SIMD (f4_madd becomes a fused
#                                  multiply-add), clang 16 (apt-get install clang-16 lld-16)
# Usage: scripts/build-wasm-kernels.sh                      both, in place (the committed files)
#        scripts/build-wasm-kernels.sh baseline|relaxed [output.wasm]
# Each module is position independent and imports the TensorFlow.js wasm memory, so it
# works in place on tensor data; it must own no static data and use no stack in linear
# memory (lib/backends/wasm-training/kernel-module.ts refuses either).
set -eu
export LC_ALL=C # a fixed order for the *.c glob, so the output is reproducible
here=$(cd "$(dirname "$0")/.." && pwd)
src="$here/lib/backends/wasm-training/c"

# The first of the given compilers that exists (clang-14 may be installed as plain clang).
pick() {
  for candidate in "$@"; do
    if command -v "$candidate" >/dev/null 2>&1; then echo "$candidate"; return; fi
  done
  echo "none of $* is installed" >&2
  exit 1
}

build() { # variant output
  case $1 in
    baseline) cc=$(pick clang-14 clang); flags="-msimd128" ;;
    # Its own wasm-ld: clang-16 would otherwise take whichever wasm-ld sits next to it in /usr/bin.
    relaxed) cc=$(pick clang-16); flags="-msimd128 -mrelaxed-simd -Wno-unused-command-line-argument --ld-path=$(command -v wasm-ld-16)" ;;
    *) echo "unknown variant $1 (baseline or relaxed)" >&2; exit 1 ;;
  esac
  # shellcheck disable=SC2086 # $flags is a list
  "$cc" --target=wasm32 $flags -O3 -nostdlib -fPIC -fno-builtin \
    -ffile-prefix-map="$here"=. \
    -Wall -Wextra -Werror \
    -Wl,--no-entry -Wl,--experimental-pic -Wl,-shared -Wl,--strip-debug \
    -o "$2" "$src"/*.c
}

if [ $# -eq 0 ]; then
  build baseline "$here/lib/backends/wasm-training/training-kernels.wasm"
  build relaxed "$here/lib/backends/wasm-training/training-kernels-relaxed.wasm"
else
  build "$1" "${2:-$here/lib/backends/wasm-training/training-kernels$([ "$1" = relaxed ] && echo -relaxed).wasm}"
fi
