#!/usr/bin/env bash
# Configures (once) and builds moec into build/. Warnings are errors when CI is set.
# With --sanitize, builds everything with ASan and UBSan (MOEC_SANITIZE) into build-sanitize/.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$repo/build"
sanitize=OFF
if [ "${1:-}" = --sanitize ]; then
  build="$repo/build-sanitize"
  sanitize=ON
  # The sanitized build carries line tables, whose compilation directory ccache would
  # otherwise hash: without this, a clone elsewhere (CI) would miss the cache.
  export CCACHE_NOHASHDIR=true
fi
# Paths relative to the checkout, so that ccache hits across clones (CI builds a fresh one).
export CCACHE_BASEDIR="$repo"
werror=OFF
[ -n "${CI:-}" ] && werror=ON
if [ ! -f "$build/build.ninja" ] || ! grep -q "MOEC_WERROR:BOOL=$werror" "$build/CMakeCache.txt"; then
  # clang-22 matches the LLVM we link and brings libFuzzer and the sanitizers.
  mkdir -p "$build"
  echo "build: configuring $build (cmake; its log: $build/configure.log)"
  cmake -G Ninja -S "$repo" -B "$build" -DMOEC_WERROR=$werror -DMOEC_SANITIZE=$sanitize \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log"; exit 1; }
fi
# ninja prints a line per step, [done/total], as it goes.
echo "build: building $build with ninja"
ninja -C "$build"
