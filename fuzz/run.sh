#!/usr/bin/env bash
# Runs each fuzz target for SECONDS over its seed corpus; exits non-zero if any of them crashes,
# leaks, times out or is missing. New inputs are kept in a scratch directory, so the committed
# seeds stay as they are; crash inputs are written to BUILD_DIR/fuzz-artifacts/.
#
#   cmake --preset fuzz && cmake --build --preset fuzz && fuzz/run.sh build/fuzz 60
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$1
seconds=$2
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
    echo "SECONDS must be a positive whole number" >&2
    exit 2
fi

if [[ ! -d $build ]]; then
    echo "no build directory $build" >&2
    exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
targets=(fuzz_route fuzz_jwt fuzz_origin fuzz_frames fuzz_publish fuzz_bus)
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for t in "${targets[@]}"; do
    # In the whole tree's build the targets are under fuzz/; in fuzz/'s own build, at the top.
    bin="$build/fuzz/$t"
    [[ -x $bin ]] || bin="$build/$t"
    if [[ ! -x $bin ]]; then
        echo "$t: not built in $build (build the 'fuzzers' target)" >&2
        failed+=("$t")
        continue
    fi
    mkdir -p "$work/$t"
    echo "== $t: ${seconds}s"
    # libFuzzer stops itself after max_total_time; the outer timeout only guards against a hang.
    if timeout --kill-after=10 $((seconds + 120)) "$bin" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
        "$work/$t" "$here/corpus/$t" >"$work/$t.log" 2>&1; then
        grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "$work/$t.log" | sed 's/^/   /' || true
        echo "   corpus: $(find "$work/$t" "$here/corpus/$t" -type f | wc -l) inputs"
    else
        echo "$t FAILED (exit $?); last lines of its log:" >&2
        tail -n 60 "$work/$t.log" >&2
        failed+=("$t")
    fi
done

if ((${#failed[@]})); then
    echo "fuzzing failed: ${failed[*]} (inputs in $artifacts)" >&2
    exit 1
fi
echo "fuzzing passed: ${targets[*]}, ${seconds}s each"
