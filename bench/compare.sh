#!/usr/bin/env bash
# Warren against Debian's RabbitMQ under warren-perf's benchmark scenarios, on
# loopback; writes docs/BENCHMARKS.md. `make bench-compare` runs this.
#
#   bench/compare.sh
#
# It builds bin/warren, bin/warren-perf and bin/warren-perf-compare, raises the
# open-file limit for the 1,000-connection scenario, and runs the compare program
# (cmd/warren-perf/compare), which starts Warren on WARREN_PORT and RabbitMQ (through
# conformance/rabbitmq.sh, which installs rabbitmq-server if missing) on
# RABBITMQ_PORT, runs each scenario on each broker in turn, and stops both at the end.
# Scenario 6 also runs, in the same turn, against warren-perf's relay sink on
# SINK_PORT: no broker at all, so the report shows the instrument's own floor.
#
# Settings (environment), with their defaults:
#   BENCH_REPEATS=3       runs per scenario and broker; the median is reported
#   BENCH_DURATION=15s    length of each timed run
#   BENCH_SCENARIOS=      comma-separated scenario numbers (1-8); empty = all
#   BENCH_BACKLOG=1000000 messages in the backlog scenario (8)
#   BENCH_MAX_STEAL=0.05  seconds of hypervisor steal over which a run of scenario 6 is run again:
#                         its p99 is the slowest 1% of a 15 s run, 150 ms of traffic, which one
#                         burst of steal a third that long already moves
#   BENCH_STEAL_RETRIES=3 at most this many times (the report lists each try's steal)
#   BENCH_OUT=docs/BENCHMARKS.md
#   WARREN_PORT=5692 RABBITMQ_PORT=5693 SINK_PORT=5694
#   WARREN_BIN, PERF_BIN  use these binaries instead of building them
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
	PATH="/usr/local/go/bin:$PATH"
fi
GO="${GO:-go}"

# Scenario 7 opens 1,000 connections: 2,000 sockets on loopback, both ends ours.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 65536 ]; then
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null ||
		echo "compare.sh: could not raise ulimit -n above $(ulimit -n); scenario 7 may fail" >&2
fi

mkdir -p bin
if [ -z "${WARREN_BIN:-}" ]; then
	"$GO" build -o bin/warren ./cmd/warren
fi
if [ -z "${PERF_BIN:-}" ]; then
	"$GO" build -o bin/warren-perf ./cmd/warren-perf
fi
"$GO" build -o bin/warren-perf-compare ./cmd/warren-perf/compare
exec bin/warren-perf-compare
