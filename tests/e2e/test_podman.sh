#!/usr/bin/env bash
# test_podman.sh: a volume backup and restore through Podman's
# Docker-compatible API (DOCKER_HOST=unix://.../podman.sock, started by the
# ctest fixture "podman", scripts/services/podman.sh).  Podman answers {}
# and [] where dockerd answers null (Options, Labels, container lists):
# the volume's labels and options come back, its content is restored under
# a new name and, after the volume is removed, under its own.
. "$(dirname "$0")/lib.sh"
[ -n "${DSB_PODMAN_ENV:-}" ] || skip_test "needs the podman fixture (ctest -L podman)"
[ -f "$DSB_PODMAN_ENV" ] || skip_test "podman could not start here: $(cat "${DSB_PODMAN_ENV%/env}/podman.log" 2>/dev/null | tail -1)"
. "$DSB_PODMAN_ENV"
export DSBACKUP_DOCKER_CONFIG_DIR="$T/etc-docker" DSBACKUP_SYSTEMD_DIR="$T/systemd" DSBACKUP_TRUST_USERS=""
V="dsbt-podman-$$"
trap 'rc=$?; podman volume rm -f "$V" "$V-new" >/dev/null 2>&1; (exit $rc); e2e_cleanup' EXIT

step "a podman volume with a label and no options, filled"
podman volume create --label app=db --label tier=2 "$V" >/dev/null
mp=$(podman volume inspect -f '{{.Mountpoint}}' "$V")
mkdir -p "$mp/sub"
random_file "$mp/sub/blob" 300000
echo hello >"$mp/hello"
init_repo

step "backup --source volume:NAME through the podman socket"
expect_rc 0 dsb --json backup --source "volume:$V"
expect_out "volume:$V"
! grep -qi "could not make the snapshot consistent" "$ERR" || fail "the engine was not reached: $(cat "$ERR")"

step "restore under a new name: same labels, same content"
expect_rc 0 dsb restore latest --source "volume:$V" --to-volume "$V-new"
[ "$(podman volume inspect -f '{{.Labels.app}} {{.Labels.tier}}' "$V-new")" = "db 2" ] ||
    fail "labels differ: $(podman volume inspect "$V-new")"
compare_trees "$mp" "$(podman volume inspect -f '{{.Mountpoint}}' "$V-new")"

step "the volume removed: restore recreates it"
cp -a "$mp" "$T/orig"
podman volume rm -f "$V" >/dev/null
expect_rc 0 dsb restore latest --source "volume:$V"
compare_trees "$T/orig" "$(podman volume inspect -f '{{.Mountpoint}}' "$V")"
