#!/usr/bin/env bash
# Smoke test of wshub-bench against wshub: every mode for ~2 s with small numbers, and the fan-out
# across two nodes over a redis-server (publisher on one, subscribers on the other). Fails if a mode
# does not run or if the fan-out and publish runs report any lost, duplicated or reordered message.
# Asserts no timings. Every step is bounded by `timeout`. wshub keeps its default of 100 requests
# per HTTP connection, so the publish runs also go through reconnecting and resending.
#
# usage: bench/smoke.sh WSHUB_BINARY BENCH_BINARY
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 WSHUB_BINARY BENCH_BINARY" >&2
    exit 2
fi
wshub=$1
bench=$2
[ -x "$wshub" ] || { echo "smoke: $wshub is not executable" >&2; exit 2; }
[ -x "$bench" ] || { echo "smoke: $bench is not executable" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wshub-bench-smoke.XXXXXX")
server_pid=
bus_pids=() # redis-server and the two nodes of the bus run
stop_pid() {
    kill -TERM "$1" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
cleanup() {
    [ -n "$server_pid" ] && stop_pid "$server_pid"
    for p in "${bus_pids[@]}"; do stop_pid "$p"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ping_ok() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3 && cat <&3" 2>/dev/null | grep -q pong
}
port_busy() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# a random port below the ephemeral range; another one if it is taken or the server does not come up
port=
for _ in $(seq 20); do
    p=$((20000 + RANDOM % 12000))
    port_busy "$p" && continue
    "$wshub" --port "$p" --threads 2 --log-level warn --rate-limit 0 --rate-limit-bytes 0 >"$tmp/wshub.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 50); do
        kill -0 "$server_pid" 2>/dev/null || break
        if ping_ok "$p"; then port=$p; break; fi
        sleep 0.1
    done
    [ -n "$port" ] && break
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=
done
if [ -z "$port" ]; then
    echo "smoke: wshub did not come up on any port tried" >&2
    cat "$tmp/wshub.log" >&2
    exit 1
fi
echo "smoke: wshub on port $port (pid $server_pid)"
target_port=$port target_pid=$server_pid

failures=0
fail() {
    echo "smoke: FAIL: $*" >&2
    failures=$((failures + 1))
}

# The JSON is compact (no spaces); fields are read with grep so no JSON tool is needed.
field() { grep -o "\"$2\":[^,}]*" "$1" | head -n 1 | cut -d: -f2; }

run() { # name time-limit args...
    local name=$1 limit=$2
    shift 2
    echo "smoke: $name: wshub-bench $*"
    timeout "$limit" "$bench" "$@" --port "$target_port" --pid "$target_pid" -q --json "$tmp/$name.json" >"$tmp/$name.txt" 2>&1
    local rc=$?
    cat "$tmp/$name.txt"
    [ $rc = 0 ] || fail "$name: wshub-bench exited with $rc"
    [ -s "$tmp/$name.json" ] || { fail "$name: no JSON written"; return 1; }
    [ "$(field "$tmp/$name.json" status)" = '"ok"' ] || fail "$name: status $(field "$tmp/$name.json" status)"
}

check_no_loss() { # name
    local f="$tmp/$1.json" key v
    for key in lost duplicated out_of_order corrupt_frames protocol_errors subscribers_closed; do
        v=$(grep -o "\"$key\":[0-9]*" "$f" | cut -d: -f2 | sort -u | tr '\n' ' ')
        [ "$v" = "0 " ] || fail "$1: $key = ${v:-missing}"
    done
    v=$(field "$f" deliveries)
    if ! [ "${v:-0}" -gt 0 ] 2>/dev/null; then fail "$1: no deliveries"; fi
}

run fanout 60 fanout --subscribers 20 --size 64 --window 64 --duration 2 --warmup 0.5 &&
    check_no_loss fanout
run fixed 60 fanout --subscribers 20 --size 256 --rate 2000 --duration 2 --warmup 0.5 &&
    check_no_loss fixed
if run idle 120 idle --connections 200 --sources 4 --duration 1 --rounds 2 --reach-timeout 5; then
    [ "$(field "$tmp/idle.json" opened)" = 200 ] || fail "idle: opened $(field "$tmp/idle.json" opened) of 200"
    grep -q '"complete":true' "$tmp/idle.json" || fail "idle: no broadcast reached every connection"
fi
run slow 60 slow --subscribers 10 --size 4096 --rate 200 --duration 2 --warmup 0.5
# the publish API: one message per request and batches, to everyone, a channel and users
run publish 90 publish --receivers 5 --http-connections 2 --depth 4 --batch 1,10 --route all,channel,user \
    --duration 0.5 --warmup 0.2 --drain 5 && check_no_loss publish
# a targeted push beside more and more idle connections
if run targeted 90 publish --receivers 1 --route user --idle 10,200 --sources 4 --duration 0.5 --warmup 0.2 \
    --drain 5; then
    check_no_loss targeted
    grep -q '"idle":200,' "$tmp/targeted.json" || fail "targeted: no phase with 200 idle connections"
fi

kill -0 "$server_pid" 2>/dev/null || fail "wshub exited during the smoke test"

# Two nodes over Redis: the publisher on node A, the subscribers on node B, so every message crosses
# the bus. A node is ready (/readyz 200) once subscribed to it.
ready_ok() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3 && cat <&3" 2>/dev/null | grep -q '^HTTP/1.1 200'
}
start_bus() { # -> redis_pid, redis_port, node_ports (A B), node_pids; 1 if something did not come up
    local p i
    redis_port='' redis_pid='' node_ports=() node_pids=()
    for _ in $(seq 20); do
        p=$((20000 + RANDOM % 12000))
        port_busy "$p" && continue
        redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
        redis_pid=$!
        bus_pids+=("$redis_pid")
        for _ in $(seq 50); do
            kill -0 "$redis_pid" 2>/dev/null || break
            port_busy "$p" && { redis_port=$p; break; }
            sleep 0.1
        done
        [ -n "$redis_port" ] && break
    done
    [ -n "$redis_port" ] || return 1
    for i in a b; do
        for _ in $(seq 20); do
            p=$((20000 + RANDOM % 12000))
            port_busy "$p" && continue
            "$wshub" --port "$p" --threads 1 --log-level warn --rate-limit 0 --rate-limit-bytes 0 \
                --redis "redis://127.0.0.1:$redis_port" >"$tmp/node-$i.log" 2>&1 &
            local pid=$!
            bus_pids+=("$pid")
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                if ready_ok "$p"; then node_ports+=("$p") node_pids+=("$pid"); break; fi
                sleep 0.1
            done
            [ ${#node_ports[@]} = "$([ $i = a ] && echo 1 || echo 2)" ] && break
        done
    done
    [ ${#node_ports[@]} = 2 ]
}
if ! command -v redis-server >/dev/null; then
    fail "bus: redis-server is not installed (scripts/install-deps.sh --test)"
elif ! start_bus; then
    fail "bus: redis-server or the two nodes did not come up"
    tail -n 5 "$tmp/redis.log" "$tmp"/node-*.log >&2 2>/dev/null
else
    echo "smoke: redis on port $redis_port, nodes on ${node_ports[*]}"
    target_port=${node_ports[1]} target_pid=${node_pids[1]}
    run bus 60 fanout --subscribers 20 --size 64 --window 64 --duration 2 --warmup 0.5 \
        --publish-port "${node_ports[0]}" --watch-pid "$redis_pid" "${node_pids[0]}" && check_no_loss bus
    for p in "${node_pids[@]}"; do kill -0 "$p" 2>/dev/null || fail "bus: a node exited during the run"; done
fi
if [ $failures -gt 0 ]; then
    echo "smoke: $failures failure(s); wshub log:" >&2
    tail -n 20 "$tmp/wshub.log" >&2
    exit 1
fi
echo "smoke: OK"
