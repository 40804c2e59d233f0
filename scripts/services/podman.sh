#!/usr/bin/env bash
# podman.sh: Podman's Docker-compatible API on a private socket, for the
# Podman test (facts: shared/notes/test-services.md).
#
#   podman.sh start DIR   install podman if missing, start
#                         "podman system service --time=0 unix://DIR/podman.sock"
#                         with its storage, run dir and containers.conf below
#                         DIR, wait until /_ping answers, write DIR/env
#   podman.sh stop DIR    stop it by its pid file and wait for it to exit
#   podman.sh env DIR     print DIR/env (export DOCKER_HOST=..., PODMAN_*)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/deps.sh"

[ $# -eq 2 ] || { echo "usage: $0 start|stop|env DIR" >&2; exit 2; }
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
sock="$dir/podman.sock"
pidfile="$dir/podman.pid"

write_env() {
	cat <<EOF
export DOCKER_HOST=unix://$sock
export CONTAINERS_CONF=$dir/containers.conf
export CONTAINERS_STORAGE_CONF=$dir/storage.conf
export PODMAN_SOCK=$sock
EOF
}

ping_ok() {
	curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1
}

start() {
	dsb_install_packages podman runc curl
	if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && ping_ok; then
		echo "podman already running (pid $(cat "$pidfile"))"
		return 0
	fi
	rm -f "$sock" "$pidfile"
	mkdir -p "$dir/storage" "$dir/run" "$dir/tmp"
	# crun refuses this host's hybrid cgroup setup: runc, and explicit ulimits
	cat >"$dir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
tmp_dir = "$dir/tmp"
EOF
	cat >"$dir/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$dir/storage"
runroot = "$dir/run"
EOF
	eval "$(write_env)"
	podman system service --time=0 "unix://$sock" >"$dir/podman.log" 2>&1 &
	echo $! >"$pidfile"
	for _ in $(seq 1 100); do
		ping_ok && break
		kill -0 "$(cat "$pidfile")" 2>/dev/null || { cat "$dir/podman.log" >&2; exit 1; }
		sleep 0.1
	done
	ping_ok || { cat "$dir/podman.log" >&2; echo "podman.sh: no answer on $sock" >&2; exit 1; }
	write_env >"$dir/env"
	echo "podman running on $sock (pid $(cat "$pidfile"))"
}

stop() {
	local pid
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	rm -f "$pidfile" "$sock"
	echo "podman stopped"
}

case $cmd in
start) start ;;
stop) stop ;;
env) cat "$dir/env" ;;
*) echo "usage: $0 start|stop|env DIR" >&2; exit 2 ;;
esac
