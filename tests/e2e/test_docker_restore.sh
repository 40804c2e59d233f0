#!/usr/bin/env bash
# test_docker_restore.sh: a volume restored under a new name has the same
# driver, labels, driver options and content (owners, modes and times
# included); a volume in use or not empty is not overwritten without
# --force, and with --force its containers are stopped for the restore and
# started after; --dry-run only prints the plan.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker_lib.sh"

A="$DP-a"
O="$DP-opts"
docker volume create --label app=db --label "tier=two words" "$A" >/dev/null
docker volume create --label kind=scratch -o type=tmpfs -o device=tmpfs -o o=size=4m "$O" >/dev/null
# content made inside a container: owners that do not exist on the host, private modes
docker run --rm --network none -v "$A:/data" localhost/bb sh -c '
	mkdir -p /data/pg/base && echo table > /data/pg/base/1 && echo conf > /data/pg/conf &&
	chown -R 999:999 /data/pg && chmod 700 /data/pg && chmod 600 /data/pg/conf &&
	ln -s pg/conf /data/link && mkfifo /data/fifo && head -c 300000 /dev/urandom > /data/big' ||
    fail "cannot fill the volume"
touch -d '2020-01-02 03:04:05' "$(mountpoint_of "$A")"
init_repo

step "back up both volumes"
expect_rc 0 dsb backup --source "volume:$A" --source "volume:$O"
cp -a "$(mountpoint_of "$A")" "$T/a-before"

step "restore --to-volume: same driver, labels, options and content"
expect_rc 0 dsb restore latest --source "volume:$A" --to-volume "$DP-a2"
[ "$(docker volume inspect -f '{{json .Labels}}' "$DP-a2")" = \
    "$(docker volume inspect -f '{{json .Labels}}' "$A")" ] || fail "the labels differ"
[ "$(docker volume inspect -f '{{.Driver}}' "$DP-a2")" = local ] || fail "the driver differs"
compare_trees "$(mountpoint_of "$A")" "$(mountpoint_of "$DP-a2")"
expect_rc 0 dsb restore latest --source "volume:$O" --to-volume "$DP-opts2"
for f in '{{json .Labels}}' '{{json .Options}}' '{{.Driver}}'; do
	[ "$(docker volume inspect -f "$f" "$DP-opts2")" = "$(docker volume inspect -f "$f" "$O")" ] ||
	    fail "$f differs: $(docker volume inspect -f "$f" "$DP-opts2")"
done
[ "$(docker volume inspect -f '{{.Options.o}}' "$DP-opts2")" = size=4m ] || fail "the options were not restored"

step "a volume in use and not empty is not overwritten without --force"
sleeper user "$A"
echo "written after the backup" >"$(mountpoint_of "$A")/new-file"
expect_rc 1 dsb restore latest --source "volume:$A"
expect_err "volume $A exists and is used by $DP-user \\(running\\) and is not empty; use --force"
[ -e "$(mountpoint_of "$A")/new-file" ] || fail "the refused restore changed the volume"

step "--dry-run prints the plan and changes nothing"
expect_rc 0 dsb restore latest --source "volume:$A" --force --dry-run
expect_out "volume $A: exists, used by $DP-user \\(running\\), not empty; --force: stop"
[ -e "$(mountpoint_of "$A")/new-file" ] || fail "--dry-run changed the volume"
running user || fail "--dry-run stopped the container"

step "--force stops the container, replaces the content, starts it again"
since=$(date +%s.%N)
expect_rc 0 dsb restore latest --source "volume:$A" --force
[ ! -e "$(mountpoint_of "$A")/new-file" ] || fail "the file written after the backup is still there"
compare_trees "$T/a-before" "$(mountpoint_of "$A")"
running user || fail "the container is not running after the restore"
events user "$since" >"$T/events"
grep -qx die "$T/events" || fail "the container was not stopped for the restore"

step "restore by snapshot id checks the source; --to-volume needs a volume source"
snap=$(dsb --json snapshots --source "volume:$A" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
expect_rc 2 dsb restore "$snap" --source "volume:$O" --to-volume "$DP-x"
expect_err "is of source volume:$A, not of volume:$O"
expect_rc 2 dsb restore latest --source daemon --to-volume "$DP-x"
expect_err "--to-volume applies to --source volume:NAME"
