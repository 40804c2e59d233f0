#!/usr/bin/env bash
# test_write_only.sh: write-only key slots (issue 6).  A write-only host
# backs up twice (dedup visible in bytes added), cannot read back (exit 12
# with the message), while the officer's identity and the password restore
# bit for bit and check --read-data is clean.
. "$(dirname "$0")/lib.sh"

init_repo
mkdir -p "$T/src"
random_file "$T/src/signing.key" 500000
expect_rc 0 dsb key generate --identity "$T/o.id"
expect_rc 0 dsb key add --recipient "$(cat "$OUT")"
printf 'host-secret' >"$T/wo.pw"
expect_rc 0 dsb key add --write-only --new-password-file "$T/wo.pw"
expect_out "write-only"

wo() {
	DSBACKUP_PASSWORD=host-secret XDG_CACHE_HOME="$T/wocache" "$@"
}

step "the write-only host backs up twice; the second adds little"
wo backup_json "$T/src"
first=$(summary bytes_added)
[ "$first" -ge 500000 ] || fail "first backup added only $first bytes"
echo "x" >>"$T/src/small"
wo backup_json "$T/src"
second=$(summary bytes_added)
[ "$second" -lt 100000 ] || fail "second backup added $second bytes: no dedup"

step "the write-only host cannot read: exit 12 with the message"
wo expect_rc 12 dsb restore latest --target "$T/bad"
expect_err "write-only: it can add snapshots but not read them"
wo expect_rc 12 dsb check --read-data
wo expect_rc 12 dsb ls latest

step "the officer's identity and the password restore bit for bit"
(unset DSBACKUP_PASSWORD; expect_rc 0 dsb --identity "$T/o.id" restore latest --target "$T/ri")
cmp "$T/src/signing.key" "$T/ri$T/src/signing.key" || fail "identity restore differs"
expect_rc 0 dsb restore latest --target "$T/rp"
cmp "$T/src/signing.key" "$T/rp$T/src/signing.key" || fail "password restore differs"
expect_rc 0 dsb check --read-data
