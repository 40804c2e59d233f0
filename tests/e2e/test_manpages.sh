#!/usr/bin/env bash
# test_manpages.sh: docs/man/dsbackup.1 and dsbackup.conf.5 format without
# a warning (man --warnings, groff -ww), and dsbackup.1 cannot drift from
# the binary: every command of "dsbackup help" has its section there, every
# long option of "dsbackup help COMMAND" appears in that command's section
# (global options in GLOBAL OPTIONS), and every exit code of the help is
# described.  Exit 77 (skipped) without man or groff.

command -v man >/dev/null 2>&1 || { echo "SKIP: test_manpages: man is not installed (man-db)"; exit 77; }
command -v groff >/dev/null 2>&1 || { echo "SKIP: test_manpages: groff is not installed"; exit 77; }

. "$(dirname "$0")/lib.sh"

MAN="${DSB_SRC:?set DSB_SRC to the source tree (ctest does this)}/docs/man"

step "man --warnings and groff -ww: no warnings"
for page in dsbackup.1 dsbackup.conf.5; do
	[ -f "$MAN/$page" ] || fail "$MAN/$page is missing"
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MAN/$page" >"$T/$page.txt" 2>"$T/$page.warn" ||
	    { cat "$T/$page.warn" >&2; fail "man failed on $page"; }
	groff -ww -z -man "$MAN/$page" 2>>"$T/$page.warn" || fail "groff failed on $page"
	if [ -s "$T/$page.warn" ]; then
		cat "$T/$page.warn" >&2
		fail "$page has formatting warnings"
	fi
	[ "$(wc -l <"$T/$page.txt")" -gt 50 ] || fail "$page renders to almost nothing"
done

# the page's source with "\-" as "-"; section CMD: from '.SS "CMD' to the next .SS or .SH
sed 's/\\-/-/g' "$MAN/dsbackup.1" >"$T/page"
section() {
	awk -v cmd="$1" '
		/^\.S[SH] / { on = index($0, ".SS \"" cmd " ") == 1 || $0 == ".SS \"" cmd "\"" || \
		    index($0, ".SS \"" cmd "\\") == 1 }
		on' "$T/page"
}
global_section() {
	awk '/^\.SH / { on = ($0 == ".SH GLOBAL OPTIONS") } on' "$T/page"
}
long_options() {
	grep -oE -- '--[a-z0-9][a-z0-9-]*[a-z0-9]' | sort -u
}

step "every command and option of the help is in dsbackup.1"
expect_rc 0 dsb help
awk '/^commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 } f && /^$/ { exit }' "$OUT" >"$T/commands"
[ "$(wc -l <"$T/commands")" -ge 15 ] || fail "dsbackup help lists only: $(cat "$T/commands")"
dsb help version | long_options >"$T/globals"
global_section >"$T/global.sec"
while read -r opt; do
	grep -qF -- "$opt" "$T/global.sec" || fail "global option $opt is not in GLOBAL OPTIONS of dsbackup.1"
done <"$T/globals"
n=0
while read -r cmd; do
	section "$cmd" >"$T/sec"
	dsb help "$cmd" >"$T/help.$cmd"
	[ -s "$T/sec" ] || fail "command \"$cmd\" has no section (.SS \"$cmd ...\") in dsbackup.1"
	long_options <"$T/help.$cmd" | comm -23 - "$T/globals" >"$T/opts"
	while read -r opt; do
		# "--keep-*" in a usage line is the family of --keep-* options
		grep -qF -- "$opt" "$T/sec" || fail "option $opt of \"$cmd\" is not in its section of dsbackup.1"
		n=$((n + 1))
	done <"$T/opts"
done <"$T/commands"
note "$(wc -l <"$T/commands") commands, $n command options, $(wc -l <"$T/globals") global options"

step "every exit code and environment variable of the help is in dsbackup.1"
for code in $(grep -oE '\b[0-9]+ (ok|error|usage|some|no repository|locked|wrong)' "$OUT" | cut -d' ' -f1); do
	awk '/^\.SH EXIT STATUS/ { on = 1; next } /^\.SH / { on = 0 } on' "$T/page" |
	    grep -qx "\.B $code" || fail "exit code $code is not in EXIT STATUS"
done
for var in $(grep -oE 'DSBACKUP_[A-Z_]+' "$OUT" | sort -u); do
	awk '/^\.SH ENVIRONMENT/ { on = 1; next } /^\.SH / { on = 0 } on' "$T/page" |
	    grep -qF "$var" || fail "$var is not in ENVIRONMENT"
done

step "a drifted page is caught: a command without its section fails the check"
sed '/^\.SS "mount /,/^\.SS "help/{/^\.SS "help/!d}' "$T/page" >"$T/page.cut"
cp "$T/page" "$T/page.good"
cp "$T/page.cut" "$T/page"
[ -z "$(section mount)" ] || fail "the section check does not notice a missing section"
cp "$T/page.good" "$T/page"
[ -n "$(section mount)" ] || fail "section mount is not found"

step "dsbackup.conf.5 names every key of the example configuration"
sed 's/\\-/-/g' "$MAN/dsbackup.conf.5" >"$T/page5"
for key in $(grep -oE '^[a-z0-9-]+ *=' "$DSB_SRC/docs/dsbackup.conf.example" | tr -d ' =' | sort -u); do
	grep -qF -- "$key" "$T/page5" || fail "key $key is not in dsbackup.conf.5"
done
for sec in global repository job; do
	grep -qF ".SH \"[$sec" "$MAN/dsbackup.conf.5" || fail "no section [$sec] in dsbackup.conf.5"
done
