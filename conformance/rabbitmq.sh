#!/usr/bin/env bash
# Runs a throwaway RabbitMQ node on loopback for Warren's conformance suite.
#
#   conformance/rabbitmq.sh start   install Debian's rabbitmq-server if missing, start a
#                                   node and wait until it accepts AMQP connections
#   conformance/rabbitmq.sh stop    stop that node and remove its state
#   conformance/rabbitmq.sh run     start, run `go test -race -count=1 ./conformance/`
#                                   against it, stop (always); exits with go test's status
#
# Settings (environment):
#   RABBITMQ_PORT        AMQP port, default 5673; the Erlang distribution port is
#                        RABBITMQ_PORT + 20000
#   WARREN_RABBITMQ_NODE node name, default warren-conformance-<port>@localhost
#   RABBITMQ_WAIT        seconds to wait for the node to come up, default 90
#   GO_TEST_ARGS         extra arguments for go test in `run` (e.g. "-run TestChannel")
#
# Everything listens on 127.0.0.1 only (AMQP, Erlang distribution, epmd) and the
# node keeps all its state (data, logs, config, Erlang cookie) in a fresh temporary
# directory owned by the rabbitmq user, with no plugins. The directory and node are
# remembered in /tmp/warren-rabbitmq-<port>.state so that `stop` finds them. An epmd
# started for the node is left running: other nodes on the machine may use it.
set -euo pipefail

port="${RABBITMQ_PORT:-5673}"
dist_port=$((port + 20000))
node="${WARREN_RABBITMQ_NODE:-warren-conformance-${port}@localhost}"
wait_secs="${RABBITMQ_WAIT:-90}"
state_file="/tmp/warren-rabbitmq-${port}.state"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "${script_dir}/.." && pwd)"
server_bin=/usr/lib/rabbitmq/bin/rabbitmq-server
ctl_bin=/usr/lib/rabbitmq/bin/rabbitmqctl

log() { echo "rabbitmq.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# as_root runs a command as root, through sudo when not root already.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo -n "$@"
	else
		die "need root for: $*"
	fi
}

# install_rabbitmq installs Debian's rabbitmq-server if it is missing. The package's
# own service is kept from starting (policy-rc.d) so that no node listens on all
# interfaces.
install_rabbitmq() {
	[ -x "$server_bin" ] && return 0
	log "installing rabbitmq-server"
	local policy=/usr/sbin/policy-rc.d added_policy=""
	if [ ! -e "$policy" ]; then
		as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
		added_policy=1
	fi
	local rc=0
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
	if [ "$rc" -eq 0 ]; then
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server || rc=$?
	fi
	[ -n "$added_policy" ] && as_root rm -f "$policy"
	[ "$rc" -eq 0 ] || die "apt-get failed ($rc)"
	[ -x "$server_bin" ] || die "rabbitmq-server installed but $server_bin is missing"
}

# as_rabbitmq runs a shell command as the rabbitmq user with the node's environment
# (from $dir/env.sh) and nothing inherited but PATH.
as_rabbitmq() {
	local dir="$1"; shift
	local cmd=". '$dir/env.sh' && $*"
	if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null; then
		runuser -u rabbitmq -- env -i PATH="$PATH" /bin/sh -c "$cmd"
	elif [ "$(id -u)" -eq 0 ]; then
		su -s /bin/sh rabbitmq -c "$cmd"
	else
		sudo -n -u rabbitmq env -i PATH="$PATH" /bin/sh -c "$cmd"
	fi
}

# amqp_ready succeeds when the port answers an AMQP 0-9-1 protocol header with a
# method frame (connection.start).
amqp_ready() {
	timeout 3 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "AMQP\x00\x00\x09\x01" >&3
		first=$(head -c 1 <&3 | od -An -tx1 | tr -d " \n")
		[ "$first" = "01" ]
	' _ "$port" 2>/dev/null
}

# port_in_use succeeds when something listens on 127.0.0.1:$1.
port_in_use() {
	timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# node_pid prints the node's OS pid from its pid file, if the process is alive.
node_pid() {
	local dir="$1" pid
	[ -s "$dir/pid" ] || return 1
	pid="$(tr -dc 0-9 <"$dir/pid")"
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
	local dir node
	if [ -f "$state_file" ]; then
		# shellcheck disable=SC1090
		. "$state_file"
		if node_pid "$dir" >/dev/null; then
			die "a node from this script already runs on port $port (state: $state_file); run stop first"
		fi
		log "removing stale state of a node that is gone: $dir"
		rm -rf "$dir" "$state_file"
	fi
	port_in_use "$port" && die "port $port is already in use"
	port_in_use "$dist_port" && die "distribution port $dist_port is already in use"

	install_rabbitmq

	node="${WARREN_RABBITMQ_NODE:-warren-conformance-${port}@localhost}"
	dir="$(mktemp -d /tmp/warren-rabbitmq-"${port}".XXXXXX)"
	chmod 755 "$dir"
	mkdir -p "$dir/mnesia" "$dir/log"
	echo "[]." >"$dir/enabled_plugins"
	cat >"$dir/rabbitmq.conf" <<-EOF
		listeners.tcp.default = 127.0.0.1:${port}
		loopback_users.guest = true
	EOF
	# Definitions imported at boot: the policies the suite's policy tests rely on. A
	# node that imports definitions creates no default vhost or user, so the file has
	# vhost "/" and user guest too.
	if [ -f "$script_dir/testdata/definitions.json" ]; then
		cp "$script_dir/testdata/definitions.json" "$dir/definitions.json"
		cat >>"$dir/rabbitmq.conf" <<-EOF
			definitions.import_backend = local_filesystem
			definitions.local.path = $dir/definitions.json
		EOF
	fi
	: >"$dir/rabbitmq-env.conf"
	cat >"$dir/env.sh" <<-EOF
		export HOME='$dir'
		export RABBITMQ_NODENAME='$node'
		export RABBITMQ_USE_LONGNAME=false
		export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
		export RABBITMQ_NODE_PORT=$port
		export RABBITMQ_DIST_PORT=$dist_port
		export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
		export ERL_EPMD_ADDRESS=127.0.0.1
		export RABBITMQ_CONF_ENV_FILE='$dir/rabbitmq-env.conf'
		export RABBITMQ_CONFIG_FILE='$dir/rabbitmq'
		export RABBITMQ_ADVANCED_CONFIG_FILE='$dir/advanced.config'
		export RABBITMQ_ENABLED_PLUGINS_FILE='$dir/enabled_plugins'
		export RABBITMQ_MNESIA_BASE='$dir/mnesia'
		export RABBITMQ_LOG_BASE='$dir/log'
		export RABBITMQ_PID_FILE='$dir/pid'
	EOF
	chown -R rabbitmq:rabbitmq "$dir"
	printf 'dir=%q\nnode=%q\n' "$dir" "$node" >"$state_file"

	log "starting $node on 127.0.0.1:$port (state in $dir)"
	# setsid detaches the node from this shell's session; its output goes to a log.
	as_rabbitmq "$dir" "exec setsid $server_bin" >"$dir/log/startup.log" 2>&1 </dev/null &

	local deadline=$((SECONDS + wait_secs))
	until amqp_ready; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "node not ready after ${wait_secs}s; startup log:"
			tail -n 50 "$dir/log/startup.log" >&2 || true
			stop
			exit 1
		fi
		if ! jobs -r %% >/dev/null 2>&1 && ! node_pid "$dir" >/dev/null; then
			log "node exited during startup; startup log:"
			tail -n 50 "$dir/log/startup.log" >&2 || true
			stop
			exit 1
		fi
		sleep 0.5
	done
	log "ready: amqp://guest:guest@127.0.0.1:$port/"
}

stop() {
	if [ ! -f "$state_file" ]; then
		log "no node of this script on port $port"
		return 0
	fi
	local dir node
	# shellcheck disable=SC1090
	. "$state_file"
	local pid=""
	pid="$(node_pid "$dir" || true)"
	if [ -n "$pid" ]; then
		log "stopping $node (pid $pid)"
		as_rabbitmq "$dir" "$ctl_bin -n '$node' stop" >/dev/null 2>&1 || true
		local deadline=$((SECONDS + 30))
		while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "node did not stop; killing pid $pid"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf "$dir" "$state_file"
}

run() {
	start
	trap stop EXIT
	if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
		PATH="/usr/local/go/bin:$PATH"
	fi
	local rc=0
	# shellcheck disable=SC2086
	(cd "$repo_dir" && AMQP_URL="amqp://guest:guest@127.0.0.1:${port}/" go test -race -count=1 ${GO_TEST_ARGS:-} ./conformance/) || rc=$?
	exit "$rc"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
run) run ;;
*)
	echo "usage: $0 start|stop|run" >&2
	exit 2
	;;
esac
