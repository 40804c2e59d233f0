#!/usr/bin/env bash
# Progress of backup, restore, check and prune: redrawn in place on a
# terminal (script(1) provides one), JSON status lines with --json, and
# nothing when stderr is not a terminal or with -q.
. "$(dirname "$0")/lib.sh"

have script || skip_test "script (util-linux) is not installed"

D="$T/data"
mkdir -p "$D/sub"
for i in $(seq 1 30); do
	random_file "$D/sub/file$i" 1500000
done
init_repo

# on_tty CMD: run CMD (a shell command line) with a terminal as stdin,
# stdout and stderr; what the terminal showed goes to $T/tty.
on_tty() {
	script -q -e -c "$1" "$T/tty" >/dev/null </dev/null
}

# redrawn WHAT: the terminal showed lines redrawn in place, with counts and the rate
redrawn() {
	python3 - "$T/tty" "$1" <<'EOF' || fail "no progress redrawn in place for $1: $(tr '\r\033' '|^' <"$T/tty" | head -c 2000)"
import re, sys
text = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
draws = re.findall(r"\r\x1b\[K(\[[0-9:]+\][^\r\n]*)", text)
assert draws, "no redraw"
assert all(re.search(r" files .*/s", d) for d in draws), draws
EOF
}

step "backup on a terminal: one line redrawn in place, cleared at the end"
on_tty "\"$DSB\" backup \"$D\""
redrawn backup
grep -q "snapshot" "$T/tty" || fail "no summary after the progress"

step "stderr not a terminal, or -q: no progress"
echo "more" >"$D/sub/more"
expect_rc 0 dsb backup "$D"
if grep -q $'\r' "$ERR" "$OUT"; then
	fail "progress written although stderr is not a terminal"
fi
on_tty "\"$DSB\" -q backup \"$D\""
if grep -q $'\r\033\\[K\\[' "$T/tty"; then
	fail "progress shown with -q"
fi

step "restore on a terminal: percent and ETA (the total is known)"
on_tty "\"$DSB\" restore latest --target \"$T/r1\""
redrawn restore
python3 - "$T/tty" <<'EOF' || fail "restore progress has no percent: $(tr '\r\033' '|^' <"$T/tty" | head -c 2000)"
import re, sys
text = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
draws = re.findall(r"\r\x1b\[K(\[[0-9:]+\][^\r\n]*)", text)
assert any(re.search(r"[0-9.]+% +[0-9]+/[0-9]+ files", d) for d in draws), draws
EOF
diff -r "$D" "$T/r1$D" >/dev/null || fail "restore differs"

step "--json: status lines each second on stdout, then the summary"
on_tty "\"$DSB\" --json restore latest --target \"$T/r2\" >\"$T/status.json\""
python3 - "$T/status.json" <<'EOF' || fail "bad --json progress: $(head -c 3000 "$T/status.json")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
status = [l for l in lines if l["message_type"] == "status"]
assert lines[-1]["message_type"] == "summary", lines[-1]
assert status, "no status line"
for s in status:
    for k in ("percent_done", "files_done", "bytes_done", "total_files", "total_bytes", "current_files",
              "seconds_elapsed"):
        assert k in s, (k, s)
    assert 0 <= s["percent_done"] <= 1 and s["total_files"] == 31 and s["bytes_done"] <= s["total_bytes"], s
assert lines[-1]["files"] == 31, lines[-1]
EOF

step "check --read-data and prune on a terminal"
on_tty "\"$DSB\" check --read-data"
redrawn check
expect_rc 0 dsb forget --keep-last 1
on_tty "\"$DSB\" prune --repack-below 100"
grep -q "pruned for" "$T/tty" || fail "prune did not finish: $(cat "$T/tty")"
