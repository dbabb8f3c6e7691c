#!/usr/bin/env bash
# The instrument's own ceiling: warren-perf against its sink (a do-nothing AMQP server)
# on loopback, 16-octet messages unless said otherwise. Figures go in
# cmd/warren-perf/README.md ("The instrument's ceiling").
#
#   bench/ceiling.sh            PERF_BIN=bin/warren-perf, CEILING_TIME=10s
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
	PATH="/usr/local/go/bin:$PATH"
fi
perf="${PERF_BIN:-}"
if [ -z "$perf" ]; then
	go build -o bin/warren-perf ./cmd/warren-perf
	perf=bin/warren-perf
fi
t="${CEILING_TIME:-10s}"
relay=127.0.0.1:${SINK_PORT:-5780}
gen=127.0.0.1:${SINK_GEN_PORT:-5781}
for addr in "$relay" "$gen"; do
	if timeout 1 bash -c "exec 3<>/dev/tcp/${addr%:*}/${addr#*:}" 2>/dev/null; then
		echo "ceiling.sh: something already listens on $addr; set SINK_PORT / SINK_GEN_PORT" >&2
		exit 1
	fi
done

"$perf" sink --listen "$relay" --interval 0 --time 30m >/dev/null &
relay_pid=$!
"$perf" sink --listen "$gen" --generate --interval 0 --time 30m >/dev/null &
gen_pid=$!
trap 'kill "$relay_pid" "$gen_pid" 2>/dev/null || true' EXIT
for addr in "$relay" "$gen"; do
	for _ in $(seq 50); do
		timeout 1 bash -c "exec 3<>/dev/tcp/${addr%:*}/${addr#*:}" 2>/dev/null && break
		sleep 0.1
	done
done
kill -0 "$relay_pid" && kill -0 "$gen_pid" || { echo "ceiling.sh: a sink did not start" >&2; exit 1; }

measure() {
	local what="$1" addr="$2"
	shift 2
	echo "== $what"
	echo "   $perf --uri amqp://guest:guest@$addr/ $*"
	"$perf" --uri "amqp://guest:guest@$addr/" --interval 0 "$@" | grep -E 'published|confirmed|received|latency' | sed 's/^/   /'
}

measure "publish only" "$relay" --producers 1 --consumers 0 --size 16 --time "$t"
measure "publish only, confirms (1,000 in flight)" "$relay" --producers 1 --consumers 0 --size 16 --confirm 1000 --time "$t"
measure "consume only, auto-ack" "$gen" --producers 0 --consumers 1 --auto-ack --time "$t"
measure "consume only, manual ack every 50, prefetch 500" "$gen" --producers 0 --consumers 1 --prefetch 500 --multi-ack 50 --time "$t"
measure "end to end through the relay, auto-ack" "$relay" --producers 1 --consumers 1 --size 16 --auto-ack --time "$t"
measure "end to end, 1 KiB" "$relay" --producers 1 --consumers 1 --size 1024 --auto-ack --time "$t"
measure "latency floor at 10,000 msg/s, 1 KiB" "$relay" --producers 1 --consumers 1 --size 1024 --rate 10000 --auto-ack --time "$t"
measure "latency floor at 10,000 msg/s, 1 KiB, on one core (as scenario 6 runs)" "$relay" --producers 1 --consumers 1 --size 1024 --rate 10000 --auto-ack --procs 1 --time "$t"
measure "latency floor, 1,000 connections at 10 msg/s" "$relay" --producers 1000 --consumers 1000 --connections 1000 --queues 1000 \
	--queue 'c-%d' --rate 10 --size 1024 --auto-ack --time "$t"
