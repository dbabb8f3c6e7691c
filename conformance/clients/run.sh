#!/usr/bin/env bash
# Runs every client smoke script in this directory against one broker and prints a
# summary: pika, kombu (Celery's way), php-amqplib, Node's amqplib and rabbitmq-c's
# amqp-tools, each on its library's default settings.
#
#   conformance/clients/run.sh              build Warren, start it on a free loopback
#                                           port with a temporary data dir, run, stop it
#   AMQP_URL=amqp://guest:guest@127.0.0.1:5673/ conformance/clients/run.sh
#                                           run against that broker instead (RabbitMQ)
#
# Installs what is missing first: Debian's python3-pika, python3-kombu, python3-amqp,
# php-cli, php-amqplib, amqp-tools, nodejs and npm (apt-get, as root or through sudo),
# and `npm ci` in node/. Exits 1 if any script failed (or could not run).
# Settings (environment): CLIENTS (space-separated subset of: pika kombu php node
# amqp-tools), KEEP_LOG=1 to print Warren's log at the end.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
clients="${CLIENTS:-pika kombu php node amqp-tools}"

log() { echo "run.sh: $*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		log "need root for: $*"
		return 1
	fi
}

# --- install what is missing ---------------------------------------------------------------
install_missing() {
	local want=(python3-pika python3-kombu python3-amqp php-cli php-amqplib amqp-tools nodejs npm)
	local missing=() p
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	# nodejs/npm from elsewhere (nvm, a tarball) are as good as Debian's
	if command -v node >/dev/null && command -v npm >/dev/null; then
		local m=()
		for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || m+=("$p"); done
		missing=("${m[@]}")
	fi
	if [ "${#missing[@]}" -gt 0 ]; then
		log "installing ${missing[*]}"
		as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
			log "apt-get install failed; the scripts that need ${missing[*]} will fail"
	fi
	if [[ " $clients " == *" node "* ]]; then
		(cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
			log "npm ci failed in node/"
	fi
}
install_missing

# --- the broker ---------------------------------------------------------------------------------
tmp="$(mktemp -d /tmp/warren-clients-run.XXXXXX)"
warren_pid=""
stop_warren() {
	if [ -n "$warren_pid" ]; then
		kill "$warren_pid" 2>/dev/null
		wait "$warren_pid" 2>/dev/null
		warren_pid=""
	fi
}
cleanup() {
	stop_warren
	rm -rf "$tmp"
}
trap cleanup EXIT

# free_port prints a loopback TCP port nobody listens on now.
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT: true once something accepts TCP connections on 127.0.0.1:PORT (≤ 15 s).
wait_port() {
	local deadline=$((SECONDS + 15))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		[ -n "$warren_pid" ] && ! kill -0 "$warren_pid" 2>/dev/null && return 1
		sleep 0.1
	done
	return 1
}

if [ -n "${AMQP_URL:-}" ]; then
	url="$AMQP_URL"
	target="$url"
else
	log "building Warren"
	if ! (cd "$repo" && go build -o "$tmp/warren" ./cmd/warren); then
		log "go build ./cmd/warren failed"
		exit 1
	fi
	port="$(free_port)"
	"$tmp/warren" --listen "127.0.0.1:$port" --data-dir "$tmp/data" >"$tmp/warren.log" 2>&1 &
	warren_pid=$!
	if ! wait_port "$port"; then
		log "Warren did not start on 127.0.0.1:$port; its log:"
		cat "$tmp/warren.log" >&2
		exit 1
	fi
	url="amqp://guest:guest@127.0.0.1:$port/"
	target="Warren at $url"
fi
log "running against $target"

# --- the scripts ------------------------------------------------------------------------------------
# run_client NAME URL runs one client's script.
run_client() {
	case "$1" in
	pika) /usr/bin/python3 "$here/python/pika_smoke.py" "$2" ;;
	kombu) /usr/bin/python3 "$here/python/kombu_smoke.py" "$2" ;;
	php) php "$here/php/amqplib_smoke.php" "$2" ;;
	node) node "$here/node/amqplib_smoke.js" "$2" ;;
	amqp-tools) bash "$here/amqp-tools.sh" "$2" ;;
	*)
		echo "FAIL $1: unknown client (one of: pika kombu php node amqp-tools)"
		return 2
		;;
	esac
}

declare -A result
passed=0
failed=0
for c in $clients; do
	echo "=== $c"
	# each script bounds its own waits; this bounds the script as a whole
	(export -f run_client; export here; timeout 300 bash -c 'run_client "$@"' _ "$c" "$url") 2>&1 | sed "s/^/[$c] /"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 0 ]; then
		result[$c]="ok"
		passed=$((passed + 1))
	else
		result[$c]="FAIL (exit $rc)"
		failed=$((failed + 1))
	fi
done
stop_warren

echo "=== summary against $target"
for c in $clients; do printf '%-12s %s\n' "$c" "${result[$c]}"; done
if [ -f "$tmp/warren.log" ] && { [ "$failed" -gt 0 ] || [ -n "${KEEP_LOG:-}" ]; }; then
	echo "=== Warren's log (last 40 lines)"
	tail -n 40 "$tmp/warren.log"
fi
echo "clients: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
