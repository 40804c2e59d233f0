# docker_lib.sh: helpers for the Docker tests (tests/e2e/test_docker_*.sh),
# sourced after lib.sh.  They use the private dockerd that the ctest fixture
# "dockerd" starts (scripts/services/dockerd.sh; its env file is
# $DSB_DOCKERD_ENV), never the host's engine, and the image localhost/bb
# (busybox).  The tests share that engine one at a time (RESOURCE_LOCK).
# Containers and volumes a test makes are named $DP-... and removed at exit.

[ -n "${DSB_DOCKERD_ENV:-}" ] || skip_test "needs the dockerd fixture (ctest -L docker)"
[ -f "$DSB_DOCKERD_ENV" ] || fail "the dockerd fixture left no $DSB_DOCKERD_ENV"
. "$DSB_DOCKERD_ENV"
export DOCKER_HOST
docker version >/dev/null 2>&1 || fail "no Docker engine answers at $DOCKER_HOST"

# the host's /etc/docker, systemd units and users' trust keys stay out of the tests
export DSBACKUP_DOCKER_CONFIG_DIR="$T/etc-docker"
export DSBACKUP_SYSTEMD_DIR="$T/systemd"
export DSBACKUP_TRUST_USERS=""
unset DSBACKUP_LABEL_PREFIX DSBACKUP_EXEC_TIMEOUT

DP="dsbt-${TEST_NAME#test_docker_}"

docker_cleanup() {
	docker ps -aq --filter "name=$DP-" | xargs -r docker rm -f >/dev/null 2>&1 || true
	docker volume ls -q --filter "name=$DP-" | xargs -r docker volume rm -f >/dev/null 2>&1 || true
}
docker_cleanup
# shellcheck disable=SC2154
trap 'rc=$?; set +e; [ "$BASHPID" = "$E2E_MAIN_PID" ] && docker_cleanup; (exit $rc); e2e_cleanup' EXIT

# bb NAME [docker run options...] -- COMMAND...: a detached busybox container named $DP-NAME
bb() {
	local name=$1 opts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	docker run -d --network none --name "$DP-$name" "${opts[@]}" localhost/bb "$@" >/dev/null
}

# writer NAME VOLUME [docker run options...]: a container that appends to /data/log without pause
writer() {
	local name=$1 vol=$2
	shift 2
	bb "$name" -v "$vol:/data" "$@" -- sh -c 'trap "exit 0" TERM; while :; do date >> /data/log; done'
}

# sleeper NAME VOLUME [docker run options...]: a container that only waits (stops at once on TERM)
sleeper() {
	local name=$1 vol=$2
	shift 2
	bb "$name" -v "$vol:/data" "$@" -- sh -c 'trap "exit 0" TERM; sleep 1000 & wait'
}

running() {
	[ "$(docker inspect -f '{{.State.Running}}' "$DP-$1")" = true ]
}

paused() {
	[ "$(docker inspect -f '{{.State.Paused}}' "$DP-$1")" = true ]
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s
wait_until() {
	local n=$(($1 * 10))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

# events NAME SINCE: the actions of container $DP-NAME since the unix time SINCE, one a line
events() {
	docker events --since "$2" --until "$(date +%s.%N)" --filter "container=$DP-$1" \
	    --format '{{.Action}}'
}

mountpoint_of() {
	docker volume inspect -f '{{.Mountpoint}}' "$1"
}
