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
#               wshub over Redis (not in the default list; needs redis-server and redis-cli; each
#               case with fresh processes, nothing pinned but the generator):
#               bus (max rate), bus-fixed (1000 msg/s): one node without Redis, one node with --redis,
#               two nodes (publisher on A, subscribers on B), and with BUS_NODES more nodes subscribed
#               to the bus without clients; Redis's CPU per million published messages beside them
#   BUS_SUBSCRIBERS  subscribers in bus, bus-fixed [1000]
#   BUS_NODES   node counts above 2 also run in bus, bus-fixed, e.g. "4 8" [4]
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
BUS_SUBSCRIBERS=${BUS_SUBSCRIBERS:-1000}
BUS_NODES=${BUS_NODES:-4}
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
    bus) args=(fanout --subscribers "$BUS_SUBSCRIBERS" --size 64 --window 64) ;;
    bus-fixed) args=(fanout --subscribers "$BUS_SUBSCRIBERS" --size 64 --rate 1000) ;;
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

# --- bus: wshub over Redis ---------------------------------------------------------------------
# One run per case, each with fresh processes: one node without Redis (publisher and subscribers
# on it), one node with --redis (the same, plus the bus round trip), and two or more nodes over one
# redis-server (publisher on node A, subscribers on node B, further nodes subscribed to the bus with
# no clients, so Redis copies every publish to each of them). Nothing is pinned: the nodes and
# Redis share the machine's cores, as they would share a host. Redis's CPU over the measurement
# comes from /proc (wshub-bench --watch-pid), its command counts from INFO commandstats.
bus_pids=()
stop_bus() {
    local p
    for p in "${bus_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${bus_pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    bus_pids=()
}
trap 'stop_server; stop_bus; exit 130' INT TERM
trap 'stop_server; stop_bus' EXIT

free_port() { for _ in $(seq 50); do port=$((port + 1)); port_busy "$port" || break; done; }

ready_ok() { [ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz" 2>/dev/null)" = 200 ]; }

start_redis() { # log -> redis_pid, redis_port
    free_port
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$1" 2>&1 &
    redis_pid=$! redis_port=$port
    bus_pids+=("$redis_pid")
    for _ in $(seq 100); do
        kill -0 "$redis_pid" 2>/dev/null || return 1
        redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.1
    done
    return 1
}

start_node() { # log redis-port-or-empty -> node_pid, node_port (ready: subscribed to the bus if any)
    free_port
    local extra=()
    [ -n "$2" ] && extra=(--redis "redis://127.0.0.1:$2")
    # shellcheck disable=SC2086
    "$WSHUB" --port "$port" --threads 1 $WSHUB_ARGS "${extra[@]}" >"$1" 2>&1 &
    node_pid=$! node_port=$port
    bus_pids+=("$node_pid")
    for _ in $(seq 100); do
        kill -0 "$node_pid" 2>/dev/null || return 1
        ready_ok "$node_port" && return 0
        sleep 0.1
    done
    return 1
}

bus_case_nodes() { # case -> number of wshub nodes (0: one node without Redis)
    case $1 in one) echo 0 ;; one-redis) echo 1 ;; two) echo 2 ;; *) echo "${1#nodes}" ;; esac
}

commandstat() { # field of INFO commandstats, e.g. "eval calls"
    redis-cli -p "$redis_port" info commandstats 2>/dev/null | tr -d '\r' |
        awk -F'[:,=]' -v c="cmdstat_$1" -v k="$2" '$1 == c { for (i = 2; i < NF; i += 2) if ($i == k) print $(i + 1) }'
}

run_bus_case() { # scenario case
    local sc=$1 cs=$2 base="$OUT/$1.$2" nodes pids=() ports=() i
    nodes=$(bus_case_nodes "$cs")
    rm -f "$base.json" "$base.skip"
    redis_pid='' redis_port=''
    if [ "$nodes" -gt 0 ]; then
        command -v redis-server >/dev/null || { echo "no redis-server" >"$base.skip"; return; }
        start_redis "$base.redis.log" || { note "$sc: $cs: redis-server did not start"; echo "redis did not start" >"$base.skip"; stop_bus; return; }
    fi
    for i in $(seq "$((nodes > 0 ? nodes : 1))"); do
        if ! start_node "$base.node$i.log" "$redis_port"; then
            note "$sc: $cs: node $i did not start (see $base.node$i.log)"
            echo "node did not start" >"$base.skip"
            stop_bus
            return
        fi
        pids+=("$node_pid") ports+=("$node_port")
    done
    # publisher on the first node; subscribers on the second when there is one
    local pub_port=${ports[0]} sub_pid=${pids[0]} sub_port=${ports[0]} watch=()
    if [ "$nodes" -ge 2 ]; then sub_pid=${pids[1]} sub_port=${ports[1]}; fi
    [ -n "$redis_pid" ] && watch+=("$redis_pid")
    for i in "${!pids[@]}"; do [ "${pids[$i]}" = "$sub_pid" ] || watch+=("${pids[$i]}"); done
    note "$sc: $cs: publisher on port $pub_port, subscribers on $sub_port${redis_port:+, redis on $redis_port}"
    local evals0 evals1
    # no line for EVAL until its first call
    [ -n "$redis_port" ] && evals0=$(commandstat eval calls) && evals0=${evals0:-0}
    local wargs=()
    [ ${#watch[@]} -gt 0 ] && wargs=(--watch-pid "${watch[@]}")
    timeout $limit "${pin_bench[@]}" "$BENCH" "${args[@]}" --port "$sub_port" --publish-port "$pub_port" \
        --pid "$sub_pid" "${wargs[@]}" -q --json "$base.json" >"$base.txt" 2>"$base.err"
    local rc=$?
    [ -n "$redis_port" ] && evals1=$(commandstat eval calls)
    for i in "${pids[@]}"; do kill -0 "$i" 2>/dev/null || note "$sc: $cs: a node exited during the run"; done
    stop_bus
    [ $rc = 0 ] || note "$sc: $cs: wshub-bench exited with $rc (see $base.txt, $base.err)"
    if [ -s "$base.json" ]; then
        # the batches Redis numbered and published (EVAL calls) over the whole run, warm-up included
        if [ -n "${evals0:-}" ] && [ -n "${evals1:-}" ]; then
            jq --argjson n "$nodes" --argjson e "$((evals1 - evals0))" \
                '. + {bus: {nodes: $n, redis_eval_calls: $e, messages_per_batch: (if $e > 0 then (.written_total / $e) else null end)}}' \
                "$base.json" >"$base.json.tmp" && mv "$base.json.tmp" "$base.json"
        else
            jq --argjson n "$nodes" '. + {bus: {nodes: $n}}' "$base.json" >"$base.json.tmp" && mv "$base.json.tmp" "$base.json"
        fi
    else
        echo "no result (exit $rc)" >"$base.skip"
    fi
}

bus_cases() { echo "one one-redis two $(for n in $BUS_NODES; do [ "$n" -gt 2 ] && echo "nodes$n"; done)"; }

run_bus() { # scenario
    scenario_args "$1"
    local cs
    for cs in $(bus_cases); do run_bus_case "$1" "$cs"; done
}

echo "# wshub compare: DURATION=$DURATION IDLE_N=$IDLE_N, server on CPU $SERVER_CPU, generator on CPU $BENCH_CPU"
echo "# results in $OUT"
for sc in $SCENARIOS; do
    case $sc in
    bus | bus-fixed) run_bus "$sc" ;;
    *) for name in $(scenario_servers "$sc"); do run_one "$sc" "$name"; done ;;
    esac
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

bus_label() {
    case $1 in
    one) echo "one node, no Redis" ;;
    one-redis) echo "one node, --redis" ;;
    two) echo "2 nodes (pub A, subs B)" ;;
    *) echo "$(bus_case_nodes "$1") nodes (pub A, subs B)" ;;
    esac
}

ms_diff() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f", (a - b) / 1000 }' || echo -; }

table_bus() { # scenario title
    local sc=$1 base="$OUT/$1.one.json" b b50 b99
    b=$(value "$base" .deliveries_per_s)
    b50=$(value "$base" .latency_us.p50)
    b99=$(value "$base" .latency_us.p99)
    echo
    echo "## $2"
    printf '%-26s %10s %8s %8s %8s %9s %8s %8s %12s %9s %9s %11s %9s  %s\n' case deliveries/s "x one" p50_ms p99_ms \
        p999_ms +p50_ms +p99_ms lost/dup/ooo nodes_cpu redis_cpu redis_s/Mmsg msg/batch notes
    local cs
    for cs in $(bus_cases); do
        local f="$OUT/$sc.$cs.json"
        if [ ! -s "$f" ]; then
            printf '%-26s %s\n' "$(bus_label "$cs")" "$(cat "$OUT/$sc.$cs.skip" 2>/dev/null || echo 'not run')"
            continue
        fi
        local d p50 p99 nodes_cpu redis_cpu redis_per_m=
        d=$(value "$f" .deliveries_per_s)
        p50=$(value "$f" .latency_us.p50)
        p99=$(value "$f" .latency_us.p99)
        # the subscribers' node (--pid) and the other nodes (watched after Redis when there is one)
        if [ "$cs" = one ]; then
            nodes_cpu=$(value "$f" .server_cpu_pct)
        else
            nodes_cpu=$(value "$f" '[.server_cpu_pct] + (.watched[1:] | map(.cpu_pct)) | add')
            redis_cpu=$(value "$f" '.watched[0].cpu_pct')
            redis_per_m=$(value "$f" '.watched[0].cpu_s_per_million_published')
        fi
        printf '%-26s %10s %8s %8s %8s %9s %8s %8s %12s %9s %9s %11s %9s  %s\n' "$(bus_label "$cs")" "$(fmt_si "$d")" \
            "$(ratio "$d" "$b")" "$(us_to_ms "$p50")" "$(us_to_ms "$p99")" "$(us_to_ms "$(value "$f" .latency_us.p999)")" \
            "$(ms_diff "$p50" "$b50")" "$(ms_diff "$p99" "$b99")" \
            "$(value "$f" .lost)/$(value "$f" .duplicated)/$(value "$f" .out_of_order)" \
            "$(fmt_num "$nodes_cpu")%" "$([ -n "${redis_cpu:-}" ] && echo "$(fmt_num "$redis_cpu")%" || echo -)" \
            "$(fmt_num "$redis_per_m" 2)" "$(fmt_num "$(value "$f" .bus.messages_per_batch)" 1)" "$(notes "$f")"
        redis_cpu=
    done
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
    bus) table_bus "$sc" "wshub over Redis, 1 thread per node, unpinned: $BUS_SUBSCRIBERS subscribers x 64 B, max rate, window 64 (x one, +p50/+p99: to one node without Redis)" ;;
    bus-fixed) table_bus "$sc" "wshub over Redis, 1 thread per node, unpinned: $BUS_SUBSCRIBERS subscribers x 64 B at a fixed 1000 msg/s (latency from scheduled send)" ;;
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
