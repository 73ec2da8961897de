#!/bin/sh
# Runs clang-tidy (checks in .clang-tidy) over wshub's own sources, with the compile commands of
# a configured build directory (default build/release). Prints the findings of any file that has
# some, and fails if one does.
set -eu
cd "$(dirname "$0")/.."
build="${1:-build/release}"
# One process per core; each file takes a few seconds. clang-tidy's "N warnings generated" count
# (diagnostics it filtered out, in Boost's headers) is noise and only shown with a finding.
find lib/src app -name '*.cpp' | sort |
  xargs -P "$(nproc)" -n 1 sh -c 'out=$(clang-tidy -p "$0" --quiet "$1" 2>&1) || { echo "$out"; exit 1; }' "$build"
echo "clang-tidy: no findings"
