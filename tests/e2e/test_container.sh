#!/usr/bin/env bash
# test_container.sh: the Dockerfile.  Base images made locally
# (scripts/make-base-image.sh), the image built against the test dockerd;
# the container, as its non-root user with the socket's group, the socket
# and the volumes directory mounted read-only and a repository directory
# bind-mounted, backs up a volume (settings from DSBACKUP_* variables, then
# a job of a mounted configuration file); the volume is removed and the
# host binary restores it from that repository, identical.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker_lib.sh"

[ "$(id -u)" -eq 0 ] || skip_test "needs root (debootstrap for the base images)"
IMG=localhost/dsbackup-test
V="$DP-data"

step "base images (cached in the test dockerd when it kept its data root)"
expect_rc 0 bash "$DSB_SRC/scripts/make-base-image.sh"
cat "$OUT"

step "docker build"
# the classic builder: the engine is dockerd 20.10, the client may be newer
DOCKER_BUILDKIT=0 expect_rc 0 docker build -q --network none -t "$IMG" \
    --build-arg BASE=dsbackup-base:bookworm --build-arg BUILD_BASE=dsbackup-build-base:bookworm "$DSB_SRC"
expect_rc 0 docker run --rm --network none --entrypoint /usr/bin/id "$IMG" -u
[ "$(cat "$OUT")" = 10001 ] || fail "the container runs as uid $(cat "$OUT"), not 10001"
expect_rc 0 docker run --rm --network none "$IMG" version
expect_out "dsbackup"
docker run --rm --network none --entrypoint /bin/sh "$IMG" -c 'command -v cc cmake' &&
    fail "the final image holds the build tools"

step "a volume with data"
docker volume create "$V" >/dev/null
docker run --rm --network none -v "$V:/data" localhost/bb sh -c '
	mkdir -p /data/app/conf /data/empty && echo "setting=1" > /data/app/conf/app.ini &&
	head -c 400000 /dev/urandom > /data/app/blob && ln -s conf/app.ini /data/app/link &&
	chown -R 1234:1234 /data/app' || fail "cannot fill the volume"
sock=${DOCKER_HOST#unix://}
droot=$(docker info -f '{{.DockerRootDir}}')
mkdir -p "$T/repo"
chown 10001:10001 "$T/repo"
dsb_container() {
	docker run --rm --network none --group-add "$(stat -c %g "$sock")" \
	    -v "$sock:/var/run/docker.sock:ro" -v "$droot/volumes:$droot/volumes:ro" \
	    -v "$T/repo:/repo" -e DSBACKUP_REPOSITORY=/repo "$@"
}

step "init and back up volume:$V from the container (DSBACKUP_* settings)"
expect_rc 0 dsb_container -e DSBACKUP_PASSWORD "$IMG" init --kdf-log2n 10 --chunk-avg 65536
expect_rc 0 dsb_container -e DSBACKUP_PASSWORD "$IMG" backup --source "volume:$V"
cp -a "$(mountpoint_of "$V")" "$T/before"

step "a job of a mounted configuration file"
cat >"$T/dsbackup.conf" <<CONF
[repository r]
url = /repo
password-file = /run/secrets/dsbackup-password
[job volumes]
sources = volume:$V
repositories = r
tags = from-config
CONF
printf '%s\n' "$DSBACKUP_PASSWORD" >"$T/password"
chown 10001:10001 "$T/password"
chmod 0600 "$T/password"
conf_mounts=(-v "$T/dsbackup.conf:/etc/dsbackup/dsbackup.conf:ro"
    -v "$T/password:/run/secrets/dsbackup-password:ro")
expect_rc 0 dsb_container "${conf_mounts[@]}" "$IMG" config check
expect_rc 0 dsb_container "${conf_mounts[@]}" "$IMG" backup --job volumes
expect_rc 0 dsb --json snapshots
[ "$(json_get "$OUT" 'len(j)')" = 2 ] || fail "expected 2 snapshots: $(cat "$OUT")"
[ "$(json_get "$OUT" 'sorted(t for s in j for t in s["tags"])')" = '["from-config"]' ] ||
    fail "the job's tag is missing: $(cat "$OUT")"

step "remove the volume, restore it with the host binary, compare"
docker volume rm "$V" >/dev/null
expect_rc 0 dsb restore latest --source "volume:$V"
compare_trees "$T/before" "$(mountpoint_of "$V")"
