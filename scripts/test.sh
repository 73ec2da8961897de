#!/bin/sh
# Builds and runs every test: the release build (unit, integration through real nginx, and a
# benchmark smoke run), the whole suite under ASan+UBSan, and the multi-threaded suites under TSan.
set -eu
cd "$(dirname "$0")/.."

for preset in release asan tsan; do
  echo "=== $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset"
done
