#!/usr/bin/env bash
# test_keys.sh: key slots, public-key recipients, threshold escrow (issue 6).
# Restore with a recipient identity and no password; K-of-N recovery with
# exactly K shares and failure with K-1; removing the last slot that can
# read is refused; key passwd replaces the passphrase; identity files that
# others can read are refused.
. "$(dirname "$0")/lib.sh"

init_repo
mkdir -p "$T/src/sub"
echo "signing key material" > "$T/src/sub/key.pem"
random_file "$T/src/blob" 300000
expect_rc 0 dsb backup "$T/src"

step "key generate makes 0600 identities and prints their recipients"
for i in 1 2 3; do
	expect_rc 0 dsb key generate --identity "$T/officer$i.id"
	grep -Eq '^dsbr1[0-9a-f]{72}$' "$OUT" || fail "recipient not printed: $(cat "$OUT")"
	cp "$OUT" "$T/officer$i.rcpt"
	[ "$(stat -c %a "$T/officer$i.id")" = 600 ] || fail "identity file is not 0600"
done
expect_rc 1 dsb key generate --identity "$T/officer1.id"
expect_err "exists"

step "key add --recipient: restore with the identity and no password"
expect_rc 0 dsb key add --recipient "$(cat "$T/officer1.rcpt")"
(
	unset DSBACKUP_PASSWORD
	expect_rc 0 dsb --identity "$T/officer1.id" restore latest --target "$T/r1"
	cmp "$T/src/blob" "$T/r1$T/src/blob" || fail "restored content differs"
	# an identity from a file given through the environment works too
	DSBACKUP_IDENTITY_FILE="$T/officer1.id" expect_rc 0 dsb snapshots
	# another identity cannot open it: exit 12
	expect_rc 12 dsb --identity "$T/officer2.id" snapshots
)

step "identity files readable by others are refused"
cp "$T/officer1.id" "$T/loose.id"
chmod 644 "$T/loose.id"
(unset DSBACKUP_PASSWORD; expect_rc 2 dsb --identity "$T/loose.id" snapshots; expect_err "readable by group or others")

step "key escrow 2-of-3: exactly K shares open the repository, K-1 do not"
expect_rc 0 dsb key escrow --threshold 2 --recipient "$T/officer1.id" \
	--recipient "$(cat "$T/officer2.rcpt")" --recipient "$T/officer3.rcpt"
expect_rc 0 dsb --json key list
[ "$(grep -c '"escrow-share"' "$OUT")" -eq 3 ] || fail "expected 3 escrow-share slots"
(
	unset DSBACKUP_PASSWORD
	expect_rc 12 dsb --identity "$T/officer3.id" snapshots
	expect_err "needs 2 shares, have 1"
	expect_rc 0 dsb --identity "$T/officer2.id" --identity "$T/officer3.id" restore latest --target "$T/r2"
	cmp "$T/src/sub/key.pem" "$T/r2$T/src/sub/key.pem" || fail "escrow restore differs"
	# officers decrypt their own shares to files without anyone opening the repository
	expect_rc 0 dsb key share --identity "$T/officer2.id" --out "$T/share2"
	expect_rc 0 dsb key share --identity "$T/officer3.id" --out "$T/share3"
	[ "$(stat -c %a "$T/share2")" = 600 ] || fail "share file is not 0600"
	expect_rc 12 dsb --share "$T/share2" snapshots
	expect_rc 12 dsb --share "$T/share2" --share "$T/share2" snapshots
	echo "recovered password" > "$T/newpw"
	expect_rc 0 dsb --share "$T/share2" --share "$T/share3" key recover --new-password-file "$T/newpw"
	DSBACKUP_PASSWORD_FILE="$T/newpw" expect_rc 0 dsb snapshots
)

step "key passwd replaces the passphrase that opened the repository"
echo "second password" > "$T/pw2"
expect_rc 0 dsb key passwd --new-password-file "$T/pw2"
expect_rc 12 dsb snapshots
DSBACKUP_PASSWORD_FILE="$T/pw2" expect_rc 0 dsb check

step "removing the last slot that can read is refused"
init_repo "$T/lone"
expect_rc 0 dsb -r "$T/lone" --json key list
id=$(json_get "$OUT" 'j["id"]')
expect_rc 2 dsb -r "$T/lone" key remove "${id:0:12}"
expect_err "last one"
expect_rc 0 dsb -r "$T/lone" key add --recipient "$T/officer1.id"
expect_rc 0 dsb -r "$T/lone" key remove "${id:0:12}"
expect_rc 12 dsb -r "$T/lone" snapshots
(unset DSBACKUP_PASSWORD; expect_rc 0 dsb -r "$T/lone" --identity "$T/officer1.id" snapshots)
