#!/usr/bin/env bash
# Side-by-side benchmark: wshub against the reference servers of ../shared/peers, same scenarios,
# one run. Each server is started fresh for each scenario (pinned to SERVER_CPU), waited for via
# /ping, measured with wshub-bench (pinned to BENCH_CPU) and killed. Results: one JSON file per
# run in $OUT, a combined $OUT/summary.json, and tables with ratios relative to wshub on stdout.
#
# usage: bench/compare.sh [WSHUB_BINARY]
# environment (defaults in brackets):
#   WSHUB       wshub binary [build/release/app/wshub/wshub]
#   WSHUB_ARGS  extra wshub flags [--log-level warn --rate-limit 0 --rate-limit-bytes 0]
#   BENCH       wshub-bench binary [build/release/bench/wshub-bench]
#   BENCH_ARGS  extra wshub-bench flags for every run, e.g. --busy-poll []
#   PEERS_OUT   where the reference servers are (built there if missing) [/tmp/wshub-peers]
#   OUT         results directory [/tmp/wshub-compare-DATE]
#   DURATION    seconds measured per run [10]
#   IDLE_N      idle connections [19000]
#   SERVERS     [wshub limit seed-go gorilla-go node-ws]
#   SCENARIOS   [fanout-1000x64 fanout-100x4k fixed-1000 idle slow threads threads-4k]
#               (threads, threads-4k: wshub alone with 1 and 2 threads, both unpinned)
#               wshub alone, through its publish API (not in the default list; each row of their
#               table is a phase of one run, ratios to its first row):
#               publish-batch (1, 10, 100 messages per request, 10 receivers), publish-targeted (one
#               user beside 10 and IDLE_N idle connections; publish-targeted-latency: the same with
#               one request at a time), publish-channel (1000 subscribers of a channel against the
#               all-clients fan-out to the same 1000)
#   SERVER_CPU / BENCH_CPU  [0 / 1]
#   BASE_PORT   first port tried [24100]
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
peers_src=
if [ -d "$root/../shared/peers" ]; then peers_src=$(cd "$root/../shared/peers" && pwd); fi

WSHUB=${1:-${WSHUB:-$root/build/release/app/wshub/wshub}}
# The benchmark publisher is one connection sending far above the per-client default rate limits.
WSHUB_ARGS=${WSHUB_ARGS:---log-level warn --rate-limit 0 --rate-limit-bytes 0}
BENCH=${BENCH:-$root/build/release/bench/wshub-bench}
BENCH_ARGS=${BENCH_ARGS:-}
PEERS_OUT=${PEERS_OUT:-/tmp/wshub-peers}
OUT=${OUT:-/tmp/wshub-compare-$(date +%Y%m%d-%H%M%S)}
DURATION=${DURATION:-10}
IDLE_N=${IDLE_N:-19000}
SERVERS=${SERVERS:-wshub limit seed-go gorilla-go node-ws}
SCENARIOS=${SCENARIOS:-fanout-1000x64 fanout-100x4k fixed-1000 idle slow threads threads-4k}
SERVER_CPU=${SERVER_CPU:-0}
BENCH_CPU=${BENCH_CPU:-1}
port=${BASE_PORT:-24100}

die() { echo "compare.sh: $*" >&2; exit 2; }
note() { echo "compare.sh: $*" >&2; }

[ -x "$BENCH" ] || die "no wshub-bench at $BENCH (build it: cmake --build --preset release --target wshub-bench)"
command -v jq >/dev/null || die "jq is needed for the tables (apt-get install jq)"
mkdir -p "$OUT" || die "cannot create $OUT"

pin_server=() pin_bench=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    pin_server=(taskset -c "$SERVER_CPU")
    pin_bench=(taskset -c "$BENCH_CPU")
else
    note "fewer than 2 CPUs or no taskset: nothing is pinned"
fi

# --- reference servers -------------------------------------------------------------------------
need_build=0
for f in limit seed-go gorilla-go node-ws/server.js; do [ -e "$PEERS_OUT/$f" ] || need_build=1; done
if [ $need_build = 1 ]; then
    if [ -n "$peers_src" ] && [ -x "$peers_src/build.sh" ]; then
        note "building the reference servers into $PEERS_OUT"
        OUT=$PEERS_OUT timeout 900 "$peers_src/build.sh" >"$OUT/peers-build.log" 2>&1 ||
            note "building the reference servers failed (see $OUT/peers-build.log); missing ones are skipped"
    else
        note "no ../shared/peers/build.sh: reference servers that are missing are skipped"
    fi
fi

server_cmd() { # name port -> the command in the array `cmd`
    case $1 in
    wshub | wshub-t1u | wshub-t2)
        local threads=1
        [ "$1" = wshub-t2 ] && threads=2
        [ -x "$WSHUB" ] || return 1
        # shellcheck disable=SC2206
        cmd=("$WSHUB" --port "$2" --threads "$threads" $WSHUB_ARGS "${server_extra[@]}")
        ;;
    limit | seed-go | gorilla-go)
        [ -x "$PEERS_OUT/$1" ] || return 1
        cmd=(env PORT="$2" "$PEERS_OUT/$1")
        ;;
    node-ws)
        [ -e "$PEERS_OUT/node-ws/server.js" ] && command -v node >/dev/null || return 1
        cmd=(env PORT="$2" node "$PEERS_OUT/node-ws/server.js")
        ;;
    *) return 1 ;;
    esac
}

ping_ok() {
    if command -v curl >/dev/null; then
        curl -s -m 1 "http://127.0.0.1:$1/ping" 2>/dev/null | grep -q pong
    else
        timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3 && cat <&3" 2>/dev/null | grep -q pong
    fi
}

port_busy() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

server_extra=()
server_pid=
stop_server() {
    [ -n "$server_pid" ] || return 0
    kill -TERM "$server_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=
}
trap 'stop_server; exit 130' INT TERM
trap 'stop_server' EXIT

start_server() { # name pinned(0/1) log -> server_pid, server_port; 1: did not come up, 2: not available
    local name=$1 pinned=$2 log=$3
    server_cmd "$name" 0 || { echo "not available" >"$log"; return 2; }
    for _ in $(seq 50); do port=$((port + 1)); port_busy "$port" || break; done
    server_cmd "$name" "$port"
    if [ "$pinned" = 1 ]; then
        "${pin_server[@]}" "${cmd[@]}" >"$log" 2>&1 &
    else
        "${cmd[@]}" >"$log" 2>&1 &
    fi
    server_pid=$! server_port=$port
    for _ in $(seq 100); do
        kill -0 "$server_pid" 2>/dev/null || { server_pid=; return 1; }
        ping_ok "$port" && return 0
        sleep 0.1
    done
    stop_server
    return 1
}

# --- runs --------------------------------------------------------------------------------------
scenario_args() { # scenario -> bench arguments in `args`, a time limit in `limit`
    case $1 in
    fanout-1000x64 | threads) args=(fanout --subscribers 1000 --size 64 --window 64) ;;
    fanout-100x4k | threads-4k) args=(fanout --subscribers 100 --size 4096 --window 64) ;;
    fixed-1000) args=(fanout --subscribers 1000 --size 64 --rate 1000) ;;
    idle) args=(idle --connections "$IDLE_N" --duration 2) ;;
    slow) args=(slow --subscribers 100 --size 4096 --rate 1000) ;;
    publish-batch) args=(publish --receivers 10 --http-connections 4 --depth 8 --batch 1,10,100 --route all --rounds 2) ;;
    publish-targeted) args=(publish --receivers 1 --route user --idle "10,$IDLE_N" --http-connections 4 --depth 8 --rounds 2) ;;
    publish-targeted-latency) args=(publish --receivers 1 --route user --idle "10,$IDLE_N" --http-connections 1 --depth 1 --rounds 2) ;;
    publish-channel) args=(publish --receivers 1000 --route all,channel --batch 10 --http-connections 4 --depth 8 --rounds 2) ;;
    esac
    [ "$1" = idle ] || args+=(--duration "$DURATION")
    # the publish API's keep-alive connections are not closed after 100 requests, and the idle
    # connections may pass the default session limit
    server_extra=()
    case $1 in publish-*) server_extra=(--max-requests-per-connection 0 --max-connections 0) ;; esac
    # shellcheck disable=SC2206
    args+=($BENCH_ARGS)
    limit=$((DURATION + 240))
    # a publish run has a phase per row, each with its warm-up and drain
    case $1 in publish-*) limit=$((DURATION * 12 + 400)) ;; esac
}

scenario_servers() {
    if [ "$1" = threads ] || [ "$1" = threads-4k ]; then
        # Both thread counts unpinned, so that they meet the same conditions.
        case " $SERVERS " in *" wshub "*) echo wshub-t1u wshub-t2 ;; esac
    elif [ "${1#publish-}" != "$1" ]; then
        # the reference servers have no publish API
        case " $SERVERS " in *" wshub "*) echo wshub ;; esac
    else
        echo "$SERVERS"
    fi
}

run_one() { # scenario server
    local sc=$1 name=$2 pinned=1 base="$OUT/$1.$2"
    case $name in wshub-t1u | wshub-t2) pinned=0 ;; esac
    scenario_args "$sc"
    rm -f "$base.json"
    start_server "$name" $pinned "$base.server.log"
    case $? in
    0) ;;
    2)
        note "$sc: $name is not available (binary missing): skipped"
        echo "not available" >"$base.skip"
        return
        ;;
    *)
        note "$sc: $name did not start (see $base.server.log): skipped"
        echo "did not start" >"$base.skip"
        return
        ;;
    esac
    note "$sc: $name on port $server_port (pid $server_pid)"
    timeout $limit "${pin_bench[@]}" "$BENCH" "${args[@]}" --port "$server_port" --pid "$server_pid" -q \
        --json "$base.json" >"$base.txt" 2>"$base.err"
    local rc=$?
    kill -0 "$server_pid" 2>/dev/null || note "$sc: $name exited during the run"
    stop_server
    [ $rc = 0 ] || note "$sc: $name: wshub-bench exited with $rc (see $base.txt, $base.err)"
    [ -s "$base.json" ] || echo "no result (exit $rc)" >"$base.skip"
}

echo "# wshub compare: DURATION=$DURATION IDLE_N=$IDLE_N, server on CPU $SERVER_CPU, generator on CPU $BENCH_CPU"
echo "# results in $OUT"
for sc in $SCENARIOS; do
    for name in $(scenario_servers "$sc"); do run_one "$sc" "$name"; done
done

# --- tables ------------------------------------------------------------------------------------
label() {
    case $1 in
    wshub) echo "wshub (1 thread)" ;;
    wshub-t1u) echo "wshub (1 thread, unpinned)" ;;
    wshub-t2) echo "wshub (2 threads, unpinned)" ;;
    *) echo "$1" ;;
    esac
}

# a field of a result file; nothing for null or a missing field (false stays false)
value() { [ -s "$1" ] && jq -r "$2 | if . == null then empty else . end" "$1" 2>/dev/null; }

ratio() { # value base -> "1.23x"
    if [ -z "$1" ] || [ -z "$2" ]; then
        echo -
        return
    fi
    awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2fx", a / b }'
}

fmt_si() { [ -n "$1" ] && awk -v v="$1" 'BEGIN { if (v >= 1e6) printf "%.2fM", v / 1e6; else if (v >= 1e3) printf "%.1fk", v / 1e3; else printf "%.0f", v }' || echo -; }
fmt_num() { [ -n "$1" ] && awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }' || echo -; }
us_to_ms() { [ -n "$1" ] && awk -v v="$1" 'BEGIN { printf "%.2f", v / 1000 }' || echo -; }
kib_to_mib() { [ -n "$1" ] && awk -v v="$1" 'BEGIN { printf "%.1f", v / 1024 }' || echo -; }

notes() { # json -> short flags
    local f=$1 n=""
    [ "$(value "$f" .generator_bound)" = true ] && n+=" generator-bound"
    local other
    other=$(value "$f" .cpu.other_processes_pct)
    [ -n "$other" ] && awk -v o="$other" 'BEGIN { exit !(o > 15) }' && n+=" noisy(other $(fmt_num "$other")%)"
    local closed
    closed=$(value "$f" .subscribers_closed)
    [ -n "$closed" ] && [ "$closed" != 0 ] && n+=" $closed-subs-closed"
    [ "$(value "$f" .publisher_closed)" != "" ] && n+=" publisher-closed"
    [ "$(value "$f" .drain_complete)" = false ] && n+=" drain-timeout"
    echo "${n# }"
}

table_fanout() { # scenario title (deliveries/s ratio to wshub)
    local sc=$1 base="$OUT/$1.wshub.json"
    case $sc in threads | threads-4k) base="$OUT/$sc.wshub-t1u.json" ;; esac
    local b
    b=$(value "$base" .deliveries_per_s)
    echo
    echo "## $2"
    printf '%-28s %10s %8s %10s %10s %10s %14s %8s %12s %8s  %s\n' server deliveries/s "x wshub" p50_ms p99_ms p999_ms lost/dup/ooo srv_cpu deliv/cpu-s gen_cpu notes
    local servers
    servers=$(scenario_servers "$sc")
    local threads_sc=$sc
    case $sc in
    threads) servers="wshub wshub-t1u wshub-t2" && sc=fanout-1000x64 ;;
    threads-4k) servers="wshub wshub-t1u wshub-t2" && sc=fanout-100x4k ;;
    esac
    for name in $servers; do
        local f="$OUT/$sc.$name.json"
        case $name in wshub-t1u | wshub-t2) f="$OUT/$threads_sc.$name.json" ;; esac
        if [ ! -s "$f" ]; then
            printf '%-28s %s\n' "$(label "$name")" "$(cat "${f%.json}.skip" 2>/dev/null || echo 'not run')"
            continue
        fi
        local d
        d=$(value "$f" .deliveries_per_s)
        printf '%-28s %10s %8s %10s %10s %10s %14s %8s %12s %8s  %s\n' "$(label "$name")" "$(fmt_si "$d")" "$(ratio "$d" "$b")" \
            "$(us_to_ms "$(value "$f" .latency_us.p50)")" "$(us_to_ms "$(value "$f" .latency_us.p99)")" \
            "$(us_to_ms "$(value "$f" .latency_us.p999)")" \
            "$(value "$f" .lost)/$(value "$f" .duplicated)/$(value "$f" .out_of_order)" \
            "$(fmt_num "$(value "$f" .server_cpu_pct)")%" "$(fmt_si "$(value "$f" .deliveries_per_server_cpu_s)")" \
            "$(fmt_num "$(value "$f" .generator_cpu_pct)")%" "$(notes "$f")"
    done
}

table_idle() {
    local b_rss b_reach
    b_rss=$(value "$OUT/idle.wshub.json" .rss_bytes_per_connection)
    b_reach=$(value "$OUT/idle.wshub.json" .broadcast_reach_ms)
    echo
    echo "## idle: $IDLE_N connections (RSS per connection and broadcast reach time; lower is better)"
    printf '%-28s %8s %8s %12s %8s %10s %8s  %s\n' server opened failed rss_B/conn "x wshub" reach_ms "x wshub" notes
    for name in $(scenario_servers idle); do
        local f="$OUT/idle.$name.json"
        if [ ! -s "$f" ]; then
            printf '%-28s %s\n' "$(label "$name")" "$(cat "$OUT/idle.$name.skip" 2>/dev/null || echo 'not run')"
            continue
        fi
        local rss reach n=""
        rss=$(value "$f" .rss_bytes_per_connection)
        reach=$(value "$f" .broadcast_reach_ms)
        [ "$(value "$f" '.broadcast_rounds | map(select(.complete)) | length')" = 0 ] && n="broadcast incomplete"
        printf '%-28s %8s %8s %12s %8s %10s %8s  %s\n' "$(label "$name")" "$(value "$f" .connections.opened)" \
            "$(value "$f" .connections.failed)" "$(fmt_num "$rss")" "$(ratio "$rss" "$b_rss")" "$(fmt_num "$reach" 1)" \
            "$(ratio "$reach" "$b_reach")" "$n"
    done
}

table_slow() {
    local b
    b=$(value "$OUT/slow.wshub.json" .deliveries_per_s)
    echo
    echo "## slow: one stuck subscriber among 100, 1000 msg/s of 4 KiB (healthy subscribers)"
    printf '%-28s %10s %8s %10s %14s %20s %10s  %s\n' server deliveries/s "x wshub" p99_ms lost/dup/ooo "rss_start->end_MiB" rss_KiB/s "stuck client"
    for name in $(scenario_servers slow); do
        local f="$OUT/slow.$name.json"
        if [ ! -s "$f" ]; then
            printf '%-28s %s\n' "$(label "$name")" "$(cat "$OUT/slow.$name.skip" 2>/dev/null || echo 'not run')"
            continue
        fi
        local d stuck
        d=$(value "$f" .deliveries_per_s)
        if [ "$(value "$f" .stuck.closed_by_server)" = true ]; then
            stuck="closed ($(value "$f" .stuck.evidence))"
        else
            stuck="kept open, $(value "$f" .stuck.messages_drained) msgs queued"
        fi
        printf '%-28s %10s %8s %10s %14s %20s %10s  %s\n' "$(label "$name")" "$(fmt_si "$d")" "$(ratio "$d" "$b")" \
            "$(us_to_ms "$(value "$f" .latency_us.p99)")" \
            "$(value "$f" .lost)/$(value "$f" .duplicated)/$(value "$f" .out_of_order)" \
            "$(kib_to_mib "$(value "$f" .server_rss_kib.start)")->$(kib_to_mib "$(value "$f" .server_rss_kib.end)")" \
            "$(fmt_num "$(value "$f" .server_rss_growth_kib_per_s)")" "$stuck"
    done
}

table_publish() { # scenario title: wshub-bench's own table (its ratios are to its first row)
    echo
    echo "## $2"
    if [ -s "$OUT/$1.wshub.json" ]; then
        cat "$OUT/$1.wshub.txt"
    else
        echo "wshub: $(cat "$OUT/$1.wshub.skip" 2>/dev/null || echo 'not run')"
    fi
}

echo
echo "# ratios are relative to wshub with 1 thread (x wshub); throughput: higher is better, latency/RSS: lower"
for sc in $SCENARIOS; do
    case $sc in
    fanout-1000x64) table_fanout "$sc" "fan-out: 1000 subscribers x 64 B, max rate, window 64" ;;
    fanout-100x4k) table_fanout "$sc" "fan-out: 100 subscribers x 4 KiB, max rate, window 64" ;;
    fixed-1000) table_fanout "$sc" "fan-out: 1000 subscribers x 64 B at a fixed 1000 msg/s (latency from scheduled send)" ;;
    idle) table_idle ;;
    slow) table_slow ;;
    threads) table_fanout "$sc" "wshub: --threads 2 vs --threads 1, both unpinned (ratios to 1 thread unpinned), 1000 subscribers x 64 B max rate" ;;
    threads-4k) table_fanout "$sc" "wshub: --threads 2 vs --threads 1, both unpinned (ratios to 1 thread unpinned), 100 subscribers x 4 KiB max rate" ;;
    publish-batch) table_publish "$sc" "wshub publish API, 1 thread: 1, 10 and 100 messages per request, 10 receivers" ;;
    publish-targeted) table_publish "$sc" "wshub publish API, 1 thread: a push to one user beside 10 and $IDLE_N idle connections" ;;
    publish-targeted-latency) table_publish "$sc" "wshub publish API, 1 thread: the same, one request at a time" ;;
    publish-channel) table_publish "$sc" "wshub publish API, 1 thread: 1000 subscribers of one channel vs the all-clients fan-out to the same 1000" ;;
    esac
done

# one file with every result
results=()
for f in "$OUT"/*.json; do [ "$f" = "$OUT/summary.json" ] || results+=("$f"); done
for f in "${results[@]}"; do
    b=$(basename "$f" .json)
    jq -c --arg s "${b%%.*}" --arg n "${b#*.}" '{scenario: $s, server: $n, result: .}' "$f"
done 2>/dev/null | jq -s . >"$OUT/summary.json.tmp" && mv "$OUT/summary.json.tmp" "$OUT/summary.json"
echo
echo "# all results: $OUT/summary.json"
