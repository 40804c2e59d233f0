#!/usr/bin/env bash
# test_trust_escrow.sh: key material escrowed to officers (issue 6), without
# Docker.  The "trust" source (~/.docker/trust under $HOME for the user
# running dsbackup) backed up with --escrow-recipient is written under a run
# key wrapped only to the officer: the password cannot restore it (exit 12,
# the message names the escrow), the officer's identity restores it bit for
# bit with its modes (0600 keys), and another source of the same repository
# still restores with the password.
. "$(dirname "$0")/lib.sh"

H="$T/home"
K="$H/.docker/trust/private"
mkdir -p "$K" "$H/.docker/trust/tuf/registry/app/metadata"
head -c 300 /dev/urandom >"$K/0123abcd.key"
head -c 300 /dev/urandom >"$K/4567ef01.key"
echo '{"signed": {}}' >"$H/.docker/trust/tuf/registry/app/metadata/root.json"
chmod 700 "$K"
chmod 600 "$K"/*.key
mkdir -p "$T/src"
random_file "$T/src/data.bin" 200000
export DSBACKUP_TRUST_USERS
DSBACKUP_TRUST_USERS=$(id -un)

init_repo
expect_rc 0 dsb key generate --identity "$T/officer.id"
rcpt=$(cat "$OUT")
expect_rc 0 dsb key generate --identity "$T/other.id"

step "backup of trust escrowed to the officer, and of a path, in one run"
HOME="$H" expect_rc 0 dsb backup --source trust --source "path:$T/src" --escrow-recipient "$rcpt"
expect_err "escrowed to 1 recipient"
expect_rc 0 dsb --json snapshots --source trust
trust_id=$(json_get "$OUT" 'j[0]["id"]')
[ "$(json_get "$OUT" 'j[0]["paths"]')" = "[\"$H/.docker/trust\"]" ] || fail "paths $(json_get "$OUT" 'j[0]["paths"]')"
# only the officer's run-key slot holds the key: none wrapped to the repository key
expect_rc 0 dsb --json key list
runkeys=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    s = json.loads(l)
    if s.get("type") == "run-key": print(s["recipient"])' "$OUT")
[ "$runkeys" = "$rcpt" ] || fail "expected one run-key slot, wrapped to the officer: $runkeys"
# no private key byte is stored in the clear
for f in $(objects data); do
	if grep -qF "$(head -c 32 "$K/0123abcd.key" | od -An -tx1 | tr -d ' \n' | head -c 16)" "$f"; then
		fail "pack $f holds key bytes"
	fi
done

step "the password cannot restore the escrowed snapshot: exit 12 naming the escrow"
expect_rc 12 dsb restore "$trust_id" --target "$T/bad"
expect_err "escrowed key material, wrapped only to the escrow recipient"
expect_err "--identity"
[ ! -e "$T/bad$K/0123abcd.key" ] || fail "a key was written without the identity"

step "another identity cannot either"
expect_rc 0 dsb key add --recipient "$T/other.id"
(unset DSBACKUP_PASSWORD; expect_rc 12 dsb --identity "$T/other.id" restore "$trust_id" --target "$T/bad2")
expect_err "escrow"

step "the officer's identity restores it bit for bit, modes kept"
expect_rc 0 dsb key add --recipient "$rcpt"
(unset DSBACKUP_PASSWORD; expect_rc 0 dsb --identity "$T/officer.id" restore "$trust_id" --target "$T/ri")
compare_trees "$H/.docker/trust" "$T/ri$H/.docker/trust"
[ "$(stat -c %a "$T/ri$K/0123abcd.key")" = 600 ] || fail "the key's mode changed"
[ "$(stat -c %a "$T/ri$K")" = 700 ] || fail "private/ mode changed"

step "the other source restores with the password"
expect_rc 0 dsb restore latest --source "path:$T/src" --target "$T/rp"
cmp "$T/src/data.bin" "$T/rp$T/src/data.bin" || fail "password restore of the path differs"

step "a second escrowed backup: a new run key, the officer still reads both"
echo "new" >"$K/89abcdef.key"
chmod 600 "$K/89abcdef.key"
HOME="$H" expect_rc 0 dsb backup --source trust --escrow-recipient "$rcpt"
expect_rc 0 dsb --json snapshots --source trust
second=$(json_get "$OUT" 'j[-1]["id"]')
(unset DSBACKUP_PASSWORD; expect_rc 0 dsb --identity "$T/officer.id" restore "$second" --target "$T/r2")
compare_trees "$H/.docker/trust" "$T/r2$H/.docker/trust"
expect_rc 12 dsb restore "$second" --target "$T/bad3"
expect_err "escrowed"

step "the same key files backed up as a plain path (same run and a later run): the password restores them"
# Ordinary data never deduplicates against escrowed packs: the holder of the
# password must be able to restore every snapshot that is not escrowed.
HOME="$H" expect_rc 0 dsb backup --source trust --source "path:$H/.docker" --escrow-recipient "$rcpt"
expect_rc 0 dsb restore latest --source "path:$H/.docker" --target "$T/rk1"
compare_trees "$H/.docker/trust" "$T/rk1$H/.docker/trust"
expect_rc 0 dsb backup "$H/.docker"
expect_rc 0 dsb restore latest --target "$T/rk2"
compare_trees "$H/.docker/trust" "$T/rk2$H/.docker/trust"

step "a bad escrow recipient is refused before anything is written"
HOME="$H" expect_rc 2 dsb backup --source trust --escrow-recipient dsbr1abc
expect_err "not a dsbackup recipient"
