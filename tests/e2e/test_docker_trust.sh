#!/usr/bin/env bash
# test_docker_trust.sh: "trust" backs up ~/.docker/trust of the users named
# in DSBACKUP_TRUST_USERS (a user made for the test, home below $T), and a
# restore puts the keys back to the owner's home with their owner and
# permissions (never looser), ~/.docker included when it had gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker_lib.sh"
have useradd && have userdel || skip_test "useradd and userdel are needed"
[ "$(id -u)" = 0 ] || skip_test "needs root (makes a user)"

U=dsbtrusttest
userdel "$U" >/dev/null 2>&1 || true
useradd -d "$T/home/$U" -M -s /bin/false "$U" || fail "cannot make the user $U"
trap 'rc=$?; set +e; [ "$BASHPID" = "$E2E_MAIN_PID" ] && userdel "$U" >/dev/null 2>&1; (exit $rc); e2e_cleanup' EXIT
H="$T/home/$U"
mkdir -p "$H/.docker/trust/private" "$H/.docker/trust/tuf/registry/app/metadata"
head -c 200 /dev/urandom >"$H/.docker/trust/private/0123abcd.key"
echo '{"signed": {}}' >"$H/.docker/trust/tuf/registry/app/metadata/root.json"
chmod 755 "$H" "$H/.docker" "$H/.docker/trust"
chmod 700 "$H/.docker/trust/private"
chmod 600 "$H/.docker/trust/private/0123abcd.key"
chown -R "$U:$U" "$H"
cp -a "$H/.docker/trust" "$T/trust-before"
export DSBACKUP_TRUST_USERS="$U"
init_repo

step "backup --source trust"
expect_rc 0 dsb --json backup --source trust
expect_rc 0 dsb snapshots --json --source trust
[ "$(json_get "$OUT" 'j[0]["paths"]')" = "[\"$H/.docker/trust\"]" ] || fail "paths $(json_get "$OUT" 'j[0]["paths"]')"
[ "$(json_get "$OUT" 'j[0]["source_meta"]["trust"]["homes"][0]["user"]')" = "$U" ] || fail "source_meta lacks the user"

step "restore after ~/.docker is gone: owner and permissions as they were"
rm -rf "$H/.docker"
expect_rc 0 dsb restore latest --source trust
compare_trees "$T/trust-before" "$H/.docker/trust"
[ "$(stat -c %U "$H/.docker")" = "$U" ] || fail "~/.docker was made for root, not for $U"
[ "$(stat -c %a "$H/.docker/trust/private/0123abcd.key")" = 600 ] || fail "the key's mode changed"

step "restore --target DIR keeps owners and modes too"
expect_rc 0 dsb restore latest --source trust --target "$T/elsewhere"
compare_trees "$T/trust-before" "$T/elsewhere$H/.docker/trust"
