#!/usr/bin/env bash
# test_docker_api.sh: how the engine is reached.  DOCKER_HOST=tcp:// with
# DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (the fixture's dockerd also listens
# on a TLS port with a client-certificate CA) works; a client without a
# certificate, a server certificate from another CA and plain HTTP to the
# TLS port are refused; errors name the endpoint and the daemon's message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker_lib.sh"
[ -n "${DSB_DOCKER_TLS_HOST:-}" ] || fail "the dockerd fixture has no TLS endpoint"

V="$DP-v"
docker volume create --label via=tls "$V" >/dev/null
echo hello >"$(mountpoint_of "$V")/file"
init_repo

tls() {
	DOCKER_HOST="$DSB_DOCKER_TLS_HOST" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$1" "${@:2}"
}

step "tcp:// with TLS and a client certificate"
expect_rc 0 tls "$DSB_DOCKER_CERT_PATH" "$DSB" -v --json backup --source "volume:$V"
expect_err "docker engine at $DSB_DOCKER_TLS_HOST, API 1\\.[0-9]+"
expect_rc 0 dsb snapshots --json --source "volume:$V"
[ "$(json_get "$OUT" 'j[0]["source_meta"]["volume"]["labels"]["via"]')" = tls ] ||
    fail "the volume's labels were not read over TLS"

step "without a client certificate: refused"
mkdir -p "$T/only-ca"
cp "$DSB_DOCKER_CERT_PATH/ca.pem" "$T/only-ca/"
expect_rc 1 tls "$T/only-ca" "$DSB" backup --source "volume:$V"
expect_err "docker GET /version at $DSB_DOCKER_TLS_HOST: .*cert\\.pem"

step "a server certificate from another CA: refused"
mkdir -p "$T/other-ca"
cp "$DSB_DOCKER_CERT_PATH/cert.pem" "$DSB_DOCKER_CERT_PATH/key.pem" "$T/other-ca/"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other-ca/ca-key.pem" -out "$T/other-ca/ca.pem" \
    -days 1 -subj /CN=other >/dev/null 2>&1
expect_rc 1 tls "$T/other-ca" "$DSB" backup --source "volume:$V"
expect_err "docker GET /version at $DSB_DOCKER_TLS_HOST: .*(certificate|SSL)"

step "plain HTTP to the TLS port: the daemon's message is shown"
DOCKER_HOST="$DSB_DOCKER_TLS_HOST" expect_rc 1 dsb backup --source "volume:$V"
expect_err "docker GET /version: HTTP 400: Client sent an HTTP request to an HTTPS server"

step "errors name the endpoint and the daemon's message; unsupported addresses are named"
expect_rc 1 dsb backup --source "volume:$DP-none"
expect_err "docker GET /volumes/$DP-none: HTTP 404: .*no such volume"
DOCKER_HOST="ssh://somewhere" expect_rc 1 dsb backup --source "volume:$V"
expect_err "DOCKER_HOST ssh://somewhere: only unix:// and tcp:// are supported"
expect_rc 2 dsb backup --source "volume:$V" "$T"
expect_err "give either PATHs or --source/--docker"
expect_rc 2 dsb backup --source "volumes:$V"
expect_err "unknown source kind"
