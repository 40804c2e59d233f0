#!/usr/bin/env bash
# dockerd.sh: a private Docker engine for the tests.
#   dockerd.sh start DIR   install docker.io, busybox-static and docker-compose if missing, start
#                          dockerd on DIR/docker.sock (data root DIR/data, exec root DIR/exec, no
#                          bridge, no iptables) and on a TLS port of 127.0.0.1 (certificates made
#                          in DIR/tls), wait for /_ping, import the image localhost/bb from a
#                          busybox-static rootfs; write DIR/env (DOCKER_HOST=..., and
#                          DSB_DOCKER_TLS_HOST, DSB_DOCKER_CERT_PATH for the TLS endpoint)
#   dockerd.sh stop DIR    stop it by its pid file and wait for it to exit
#   dockerd.sh env DIR     print the environment to use it (export DOCKER_HOST=...)
# The host's own dockerd, /var/run/docker.sock and its networking are never touched.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/deps.sh"

usage() {
	echo "usage: $0 start|stop|env DIR" >&2
	exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sock="$dir/docker.sock"
# a unix socket path has at most 107 bytes: a deep build directory gets a short one in /tmp
if [ ${#sock} -gt 100 ]; then
	sock="/tmp/dsb-dockerd-$(printf %s "$dir" | sha256sum | cut -c1-12).sock"
fi
pidfile="$dir/dockerd.pid"
export DOCKER_HOST="unix://$sock"

ping_ok() {
	curl -sf --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1
}

# the rootfs tarball of localhost/bb: /bin/busybox and a link to it for every applet
make_rootfs() {
	local root="$dir/bb-rootfs" applet
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/data"
	cp /bin/busybox "$root/bin/busybox"
	for applet in $("$root/bin/busybox" --list); do
		[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
	done
	echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
	echo 'root:x:0:' >"$root/etc/group"
	tar -C "$root" -cf "$dir/bb-rootfs.tar" .
	rm -rf "$root"
}

# a CA, a server certificate for 127.0.0.1 and a client certificate, as dockerd --tlsverify wants
make_tls() {
	local t="$dir/tls"
	[ -f "$t/key.pem" ] && return 0
	mkdir -p "$t"
	(
		cd "$t"
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 30 \
		    -subj /CN=dsbackup-test-ca
		openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /CN=127.0.0.1
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
		    -out server-cert.pem -days 30 -extfile server.ext
		openssl req -newkey rsa:2048 -nodes -keyout key.pem -out client.csr -subj /CN=client
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
		    -out cert.pem -days 30 -extfile client.ext
	) >"$dir/tls.log" 2>&1 || { cat "$dir/tls.log" >&2; exit 1; }
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
	local i port
	if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && ping_ok; then
		echo "dockerd already running (pid $(cat "$pidfile"))"
	else
		dsb_install_packages docker.io busybox-static docker-compose
		mkdir -p "$dir/data" "$dir/exec"
		rm -f "$sock" "$pidfile"
		make_tls
		port=$(free_port)
		echo "tcp://127.0.0.1:$port" >"$dir/tls-host"
		# setsid: not in the caller's process group, so a test's ^C does not reach it
		setsid dockerd --data-root "$dir/data" --exec-root "$dir/exec" -H "unix://$sock" \
		    -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$dir/tls/ca.pem" \
		    --tlscert "$dir/tls/server-cert.pem" --tlskey "$dir/tls/server-key.pem" \
		    --pidfile "$pidfile" --bridge=none --iptables=false --ip6tables=false \
		    </dev/null >"$dir/dockerd.log" 2>&1 &
		for i in $(seq 1 300); do
			ping_ok && break
			sleep 0.1
		done
		if ! ping_ok; then
			echo "dockerd did not answer on $sock; its log:" >&2
			tail -n 30 "$dir/dockerd.log" >&2
			exit 1
		fi
	fi
	if ! docker image inspect localhost/bb >/dev/null 2>&1; then
		make_rootfs
		docker import "$dir/bb-rootfs.tar" localhost/bb >/dev/null
	fi
	write_env >"$dir/env"
	echo "dockerd running on $sock (pid $(cat "$pidfile"))"
}

write_env() {
	printf 'export DOCKER_HOST=%q\n' "$DOCKER_HOST"
	if [ -f "$dir/tls-host" ]; then
		printf 'export DSB_DOCKER_TLS_HOST=%q\n' "$(cat "$dir/tls-host")"
		printf 'export DSB_DOCKER_CERT_PATH=%q\n' "$dir/tls"
	fi
}

stop() {
	local pid i
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		# containers left by a test would hold the data root busy
		docker ps -q 2>/dev/null | xargs -r docker kill >/dev/null 2>&1 || true
		kill -TERM "$pid"
		for i in $(seq 1 300); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "dockerd (pid $pid) did not stop in 30 s; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pidfile" "$dir/env"
}

case "$cmd" in
start) start ;;
stop) stop ;;
env) write_env ;;
*) usage ;;
esac
