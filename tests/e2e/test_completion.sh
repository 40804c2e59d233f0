#!/usr/bin/env bash
# test_completion.sh: completions/dsbackup, sourced into bash and called as
# bash calls it (COMP_WORDS, COMP_CWORD): every command of "dsbackup help",
# every long option of a command's help, snapshot ids only when a
# repository and a password are configured (and never a prompt), files and
# directories for paths.
. "$(dirname "$0")/lib.sh"

COMPLETION="${DSB_SRC:?set DSB_SRC to the source tree (ctest does this)}/completions/dsbackup"
[ -f "$COMPLETION" ] || fail "$COMPLETION is missing"
# shellcheck source=/dev/null
. "$COMPLETION"
set +u   # the completion runs as bash runs it, without -u

# complete WORD...: the completions of the last word; sets REPLY_LINE (space-separated, with spaces around)
complete_words() {
	COMP_WORDS=("$DSB" "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_dsbackup </dev/null
	REPLY_LINE=" ${COMPREPLY[*]} "
}
expect_word() {
	[[ $REPLY_LINE == *" $1 "* ]] || fail "completion of [${COMP_WORDS[*]:1}] lacks \"$1\": $REPLY_LINE"
}
expect_no_word() {
	[[ $REPLY_LINE != *" $1 "* ]] || fail "completion of [${COMP_WORDS[*]:1}] offers \"$1\""
}

init_repo
mkdir -p "$T/data/subdir"
printf 'x\n' >"$T/data/file-one"
backup_json "$T/data"

step "every command of dsbackup help"
complete_words ""
expect_rc 0 dsb help
for cmd in $(awk '/^commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 } f && /^$/ { exit }' "$OUT"); do
	expect_word "$cmd"
done
complete_words re
expect_word restore
expect_no_word backup

step "every long option of each command's help"
for cmd in backup restore forget prune mount snapshots; do
	complete_words "$cmd" --
	for opt in $(dsb help "$cmd" | grep -oE -- '--[a-z0-9][a-z0-9-]*[a-z0-9]' | sort -u); do
		expect_word "$opt"
	done
done
complete_words backup --one
[ "$REPLY_LINE" = " --one-file-system " ] || fail "backup --one: $REPLY_LINE"

step "snapshot ids with a repository and a password; none (and no prompt) without"
complete_words restore ""
expect_word "$SNAP"
expect_word latest
complete_words diff latest ""
expect_word "$SNAP"
complete_words backup --parent ""
expect_word "$SNAP"
complete_words restore "${SNAP:0:6}"
[ "$REPLY_LINE" = " $SNAP " ] || fail "restore ${SNAP:0:6}: $REPLY_LINE"
(
	unset DSBACKUP_REPOSITORY
	complete_words restore ""
	[ "$REPLY_LINE" = "  " ] || fail "without a repository: $REPLY_LINE"
	complete_words -r "$REPO" ls ""
	expect_word "$SNAP"
)
(
	unset DSBACKUP_PASSWORD DSBACKUP_PASSWORD_FILE
	complete_words restore ""
	[ "$REPLY_LINE" = "  " ] || fail "without a password: $REPLY_LINE"
)

step "paths: files for backup, directories for mount and --target, values left alone"
complete_words backup "$T/data/fi"
expect_word "$T/data/file-one"
complete_words mount "$T/data/"
expect_word "$T/data/subdir"
expect_no_word "$T/data/file-one"
complete_words restore latest --target "$T/data/"
expect_word "$T/data/subdir"
complete_words backup --tag ""
[ "$REPLY_LINE" = "  " ] || fail "backup --tag offers: $REPLY_LINE"
complete_words backup --source vol
expect_word "volume:"
complete_words key ""
expect_word escrow
complete_words catalog ""
[ "$REPLY_LINE" = " rebuild " ] || fail "catalog: $REPLY_LINE"
complete_words config c
[ "$REPLY_LINE" = " check " ] || fail "config c: $REPLY_LINE"
complete_words help mo
expect_word mount
