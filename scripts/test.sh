#!/bin/sh
# Builds and runs every test: the release build (unit, integration through real nginx, and a
# benchmark smoke run) and clang-tidy over wshub's sources, the whole suite under ASan+UBSan, the
# multi-threaded suites under TSan, and a short run of every fuzz target (clang, libFuzzer) over
# its seed corpus.
set -eu
cd "$(dirname "$0")/.."

for preset in release asan tsan; do
  echo "=== $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset"
  if [ "$preset" = release ]; then
    echo "=== clang-tidy"
    scripts/tidy.sh build/release
  fi
done

echo "=== fuzz"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
fuzz/run.sh build/fuzz "${WSHUB_FUZZ_SECONDS:-10}"
