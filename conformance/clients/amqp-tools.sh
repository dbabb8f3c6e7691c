#!/usr/bin/env bash
# Smoke test of a broker with rabbitmq-c's command-line tools (Debian's amqp-tools) on
# their default settings.
#
#   amqp-tools.sh [AMQP_URL]   (default amqp://guest:guest@127.0.0.1:5672/)
#
# Prints one line per check, "ok <name>" or "FAIL <name>: <why>", and exits 1 if any
# check failed. Every tool call is bounded by `timeout` (WAIT seconds).
#
# The tools have no nack/reject, publisher confirms or transactions: those checks are in
# the library scripts. Headers set with amqp-publish -H are read back with pika when
# Debian's python3-pika is installed (a cross-client check), else that check is skipped.
set -uo pipefail

WAIT=10
url="${1:-amqp://guest:guest@127.0.0.1:5672/}"
# rabbitmq-c reads the path "/" of amqp://host:port/ as the vhost "" (RFC 3986, as
# RabbitMQ's URI spec says); the usual way to name the default vhost to it is no path.
[[ "$url" =~ ^amqps?://[^/]*/$ ]] && url="${url%/}"
prefix="clients.tools.$$.$(date +%s)"
work="$(mktemp -d)"
failures=()
bg_pids=()

cleanup() {
	local p
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

ok() { echo "ok $1"; }
fail() {
	echo "FAIL $1: $(echo "$2" | tr '\n' ' ')"
	failures+=("$1")
}

# t runs one tool with the broker URL and a time limit.
t() {
	local tool="$1"
	shift
	timeout "$WAIT" "$tool" -u "$url" "$@"
}

# wait_lines FILE N: waits until FILE has at least N lines, at most WAIT seconds.
wait_lines() {
	local deadline=$((SECONDS + WAIT))
	while [ "$(wc -l <"$1")" -lt "$2" ]; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

durable="$prefix.durable"
# show is the command amqp-consume runs per message: the body and a newline. (A command
# with a dash option, like sh -c, would be taken as one of amqp-consume's options.)
show="$work/show"
printf '#!/bin/sh\ncat\necho\n' >"$show"
chmod +x "$show"

# --- declare ---------------------------------------------------------------------------
if out="$(t amqp-declare-queue -d -q "$durable" 2>&1)" && [ "$out" = "$durable" ]; then
	ok queue-declare-durable
else
	fail queue-declare-durable "output '$out'"
fi

if out="$(t amqp-declare-queue -q "" 2>&1)" && [[ "$out" == amq.gen-* ]]; then
	if del="$(t amqp-delete-queue -q "$out" 2>&1)"; then
		ok queue-declare-server-named
	else
		fail queue-declare-server-named "delete: $del"
	fi
else
	fail queue-declare-server-named "output '$out'"
fi

# --- publish with properties, basic.get ------------------------------------------------
if err="$(t amqp-publish -r "$durable" -p -C application/json -E utf-8 -t reply.q \
	-H "x-trace: abc" -H "tenant: acme" -b '{"a":1}' 2>&1)"; then
	if body="$(t amqp-get -q "$durable" 2>&1)" && [ "$body" = '{"a":1}' ]; then
		ok publish-and-get
	else
		fail publish-and-get "amqp-get printed '$body'"
	fi
else
	fail publish-and-get "amqp-publish: $err"
fi

if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import pika' 2>/dev/null; then
	t amqp-publish -r "$durable" -p -C text/plain -t reply.q -H "x-trace: abc" -H "tenant: acme" -b hdr >/dev/null 2>&1
	if err="$(timeout "$WAIT" /usr/bin/python3 - "$url" "$durable" 2>&1 <<'EOF'
import sys, time, pika
url, q = sys.argv[1], sys.argv[2]
conn = pika.BlockingConnection(pika.URLParameters(url))
ch = conn.channel()
deadline = time.monotonic() + 5
while True:
    m, p, body = ch.basic_get(q, auto_ack=True)
    if m or time.monotonic() > deadline:
        break
    conn.process_data_events(time_limit=0.05)
assert m, "no message"
assert body == b"hdr", body
h = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in (p.headers or {}).items()}
assert h == {"x-trace": "abc", "tenant": "acme"}, h
assert p.delivery_mode == 2 and p.content_type == "text/plain" and p.reply_to == "reply.q", p
conn.close()
EOF
	)"; then
		ok headers-read-by-pika
	else
		fail headers-read-by-pika "$err"
	fi
else
	echo "skip headers-read-by-pika: no /usr/bin/python3 with pika"
fi

if out="$(t amqp-get -q "$durable" 2>&1)"; rc=$?; [ "$rc" -eq 2 ]; then
	ok basic-get-empty
else
	fail basic-get-empty "exit $rc, output '$out' (amqp-get exits 2 on get-empty)"
fi

# --- consume with manual ack and prefetch ----------------------------------------------
for i in 1 2 3 4; do t amqp-publish -r "$durable" -b "m$i" >/dev/null 2>&1; done
if out="$(t amqp-consume -q "$durable" -p 1 -c 3 "$show" 2>&1)" &&
	[ "$out" = "$(printf 'm1\nm2\nm3')" ]; then
	if rest="$(t amqp-get -q "$durable" 2>&1)" && [ "$rest" = m4 ]; then
		ok consume-manual-ack-prefetch
	else
		fail consume-manual-ack-prefetch "after consuming 3 of 4, amqp-get printed '$rest'"
	fi
else
	fail consume-manual-ack-prefetch "amqp-consume printed '$out'"
fi

# --- exclusive server-named queue bound to amq.direct / amq.topic / amq.fanout ---------
# amqp-consume declares, binds and consumes; publish until the binding is in place.
bound_consume() { # name exchange binding-key publish-key
	local name="$1" ex="$2" bkey="$3" pkey="$4" out="$work/$1.out" pid n=0
	: >"$out"
	timeout "$WAIT" amqp-consume -u "$url" -x -e "$ex" -r "$bkey" -c 1 "$show" >"$out" 2>"$out.err" &
	pid=$!
	bg_pids+=("$pid")
	local deadline=$((SECONDS + WAIT))
	while [ ! -s "$out" ] && [ "$SECONDS" -lt "$deadline" ]; do
		n=$((n + 1))
		t amqp-publish -e "$ex" -r "$pkey" -b "$name" >/dev/null 2>&1
		sleep 0.2
	done
	wait "$pid"
	local rc=$?
	if [ "$rc" -eq 0 ] && [ "$(head -n1 "$out")" = "$name" ]; then
		ok "$name"
	else
		fail "$name" "amqp-consume exit $rc, printed '$(cat "$out" "$out.err")' after $n publishes"
	fi
}
bound_consume exclusive-bound-amq.direct amq.direct "$prefix.rk" "$prefix.rk"
bound_consume exclusive-bound-amq.topic amq.topic "$prefix.*.nyse" "$prefix.ibm.nyse"
bound_consume exclusive-bound-amq.fanout amq.fanout "$prefix.ignored" "$prefix.any"

# --- line-buffered publish of many messages ----------------------------------------------
seq 1 500 | t amqp-publish -r "$durable" -l >/dev/null 2>&1
out="$work/lines.out"
# (each body keeps its line's newline, so blank lines are dropped before comparing)
if t amqp-consume -q "$durable" -p 50 -c 500 "$show" >"$out" 2>&1 &&
	[ "$(grep -v '^$' "$out")" = "$(seq 1 500)" ]; then
	ok publish-line-buffered-500
else
	fail publish-line-buffered-500 "consumed $(wc -l <"$out") lines, first: $(head -c 200 "$out")"
fi

# --- channel errors ----------------------------------------------------------------------
if out="$(t amqp-get -q "$prefix.missing" 2>&1)"; then
	fail channel-error-404 "amqp-get of a missing queue succeeded: '$out'"
elif [[ "$out" == *"server channel error 404, message: NOT_FOUND - no queue '$prefix.missing' in vhost '/'"* ]]; then
	ok channel-error-404
else
	fail channel-error-404 "output '$out'"
fi

t amqp-publish -r "$durable" -b keep >/dev/null 2>&1
if out="$(t amqp-delete-queue -q "$durable" --if-empty 2>&1)"; then
	fail precondition-failed-406 "delete --if-empty of a non-empty queue succeeded"
elif [[ "$out" == *"server channel error 406, message: PRECONDITION_FAILED - queue '$durable' in vhost '/' not empty"* ]]; then
	ok precondition-failed-406
else
	fail precondition-failed-406 "output '$out'"
fi
t amqp-get -q "$durable" >/dev/null 2>&1

# --- large message -----------------------------------------------------------------------
head -c $((1 << 20)) /dev/urandom >"$work/big.in"
if err="$(t amqp-publish -r "$durable" <"$work/big.in" 2>&1)"; then
	t amqp-get -q "$durable" >"$work/big.out" 2>"$work/big.err"
	if cmp -s "$work/big.in" "$work/big.out"; then
		ok large-message-1MiB
	else
		fail large-message-1MiB "got $(wc -c <"$work/big.out") bytes: $(cat "$work/big.err")"
	fi
else
	fail large-message-1MiB "amqp-publish: $err"
fi

# --- delete ------------------------------------------------------------------------------
if out="$(t amqp-delete-queue -q "$durable" 2>&1)" && [ "$out" = 0 ]; then
	ok queue-delete
else
	fail queue-delete "output '$out' (want the message count 0)"
fi

if [ "${#failures[@]}" -gt 0 ]; then
	echo "FAIL summary: ${#failures[@]} checks failed: ${failures[*]}"
	exit 1
fi
echo "ok summary: all checks passed"
