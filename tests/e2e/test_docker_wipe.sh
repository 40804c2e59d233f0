#!/usr/bin/env bash
# test_docker_wipe.sh: disaster recovery.  backup --docker takes every
# volume and the daemon configuration in one run; after every container and
# volume of the engine is removed, "restore latest --docker" brings every
# volume back with its labels and content, and the daemon configuration;
# --dry-run first prints the plan.  Also: with no engine reachable, volumes
# are read from the data root, with a warning that the snapshot could not
# be made consistent.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker_lib.sh"

step "an engine with three volumes (one in use) and a daemon configuration"
docker ps -aq | xargs -r docker rm -f >/dev/null
docker volume ls -q | xargs -r docker volume rm >/dev/null
for v in one two three; do
	docker volume create --label "name=$v" "$DP-$v" >/dev/null
	mkdir -p "$(mountpoint_of "$DP-$v")/sub"
	echo "content of $v" >"$(mountpoint_of "$DP-$v")/sub/file"
	head -c $((100000 + RANDOM)) /dev/urandom >"$(mountpoint_of "$DP-$v")/random"
	cp -a "$(mountpoint_of "$DP-$v")" "$T/before-$v"
done
sleeper app "$DP-one" --label dsbackup.stop=true
mkdir -p "$DSBACKUP_DOCKER_CONFIG_DIR/certs.d/registry:5000" "$T/tls"
echo "CA" >"$T/tls/ca.pem"
echo "registry CA" >"$DSBACKUP_DOCKER_CONFIG_DIR/certs.d/registry:5000/ca.crt"
printf '{"tlscacert": "%s", "log-level": "warn"}\n' "$T/tls/ca.pem" >"$DSBACKUP_DOCKER_CONFIG_DIR/daemon.json"
init_repo

step "backup --docker: one snapshot per source, one run id"
expect_rc 0 dsb backup --docker
expect_rc 0 dsb snapshots --json
json_get "$OUT" 'sorted(s["source"] for s in j)' >"$T/sources"
want="[\"daemon\", \"volume:$DP-one\", \"volume:$DP-three\", \"volume:$DP-two\"]"
[ "$(cat "$T/sources")" = "$want" ] || fail "sources $(cat "$T/sources"), want $want"
[ "$(json_get "$OUT" 'len(set(s["run_id"] for s in j))')" = 1 ] || fail "the snapshots have several run ids"
json_get "$OUT" '[s for s in j if s["source"] == "daemon"][0]["paths"]' >"$T/daemon-paths"
grep -q "$T/tls/ca.pem" "$T/daemon-paths" || fail "the file daemon.json points to is not in the snapshot"
running app || fail "the container is not running after the backup"

step "wipe the engine and the daemon configuration"
docker ps -aq | xargs -r docker rm -f >/dev/null
docker volume ls -q | xargs -r docker volume rm >/dev/null
[ -z "$(docker volume ls -q)" ] || fail "volumes are left"
rm -rf "$DSBACKUP_DOCKER_CONFIG_DIR" "$T/tls"

step "restore latest --docker --dry-run prints the plan and changes nothing"
expect_rc 0 dsb restore latest --docker --dry-run
for v in one two three; do
	expect_out "volume $DP-$v: create it \\(driver local, 0 option\\(s\\), 1 label\\(s\\)\\)"
done
expect_out "daemon: from snapshot"
[ -z "$(docker volume ls -q)" ] || fail "--dry-run created volumes"

step "restore latest --docker brings every volume back"
expect_rc 0 dsb restore latest --docker
for v in one two three; do
	[ "$(docker volume inspect -f '{{.Labels.name}}' "$DP-$v")" = "$v" ] || fail "volume $v lacks its label"
	compare_trees "$T/before-$v" "$(mountpoint_of "$DP-$v")"
done
[ "$(cat "$DSBACKUP_DOCKER_CONFIG_DIR/certs.d/registry:5000/ca.crt")" = "registry CA" ] ||
    fail "certs.d was not restored"
[ "$(cat "$T/tls/ca.pem")" = CA ] || fail "the CA daemon.json points to was not restored"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$DSBACKUP_DOCKER_CONFIG_DIR/daemon.json" ||
    fail "daemon.json was not restored"

step "a daemon.json that does not parse is not restored"
echo '{"log-level": ' >"$DSBACKUP_DOCKER_CONFIG_DIR/daemon.json"
expect_rc 0 dsb backup --source daemon
expect_err "daemon.json does not parse"
rm -rf "$DSBACKUP_DOCKER_CONFIG_DIR"
expect_rc 1 dsb restore latest --source daemon
expect_err "daemon.json in snapshot [0-9a-f]{8} does not parse"
[ ! -e "$DSBACKUP_DOCKER_CONFIG_DIR" ] || fail "a broken daemon configuration was put in place"

step "no engine reachable: volumes come from the data root, with a warning"
data_root=$(docker info -f '{{.DockerRootDir}}')
mkdir -p "$DSBACKUP_DOCKER_CONFIG_DIR"
printf '{"data-root": "%s"}\n' "$data_root" >"$DSBACKUP_DOCKER_CONFIG_DIR/daemon.json"
DOCKER_HOST="unix://$T/no-engine.sock" expect_rc 0 dsb --json backup --source 'volume:*'
expect_err "the Docker engine is not reachable .*: volume $DP-two is read from $data_root/volumes/$DP-two/_data .*could not be made consistent"
expect_out "\"source\":\"volume:$DP-two\""
