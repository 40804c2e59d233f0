#!/usr/bin/env bash
# test_time_tags.sh: --time, --tag and --host are recorded in the snapshot;
# snapshots filters by host and tag; "latest" is the newest by snapshot time
# (not by creation order); ids resolve from a full id or a unique prefix of
# 8 or more hex digits.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/a" "$T/b" "$T/c"
printf 'tree a\n' >"$T/a/marker"
printf 'tree b\n' >"$T/b/marker"
printf 'tree c\n' >"$T/c/marker"
init_repo

step "backup with --time (nanoseconds), two --tag and --host"
backup_json --time 2099-01-02T03:04:05.123456789Z --tag daily --tag with-space\ tag --host alpha "$T/a"
A=$SNAP
step "an older --time with a zone offset, created later"
backup_json --time 2020-06-15T12:00:00+02:00 --host beta "$T/b"
B=$SNAP
step "no --time: the current time; default host"
backup_json "$T/c"
C=$SNAP

step "a tag or host that is not UTF-8 is refused before anything is stored (exit 2)"
expect_rc 2 dsb backup --tag "$(printf 'bad\xfftag')" "$T/a"
expect_err "tag .*UTF-8"
expect_rc 2 dsb backup --host "$(printf 'bad\xfehost')" "$T/a"
expect_err "host .*UTF-8"

step "snapshots --json records time, tags, host and paths"
expect_rc 0 dsb --json snapshots
cp "$OUT" "$T/snaps.json"
python3 - "$T/snaps.json" "$A" "$B" "$C" "$T" "$(hostname)" <<'EOF' || fail "snapshots --json does not record --time/--tag/--host"
import json, sys, datetime
snaps = {s["id"]: s for s in json.load(open(sys.argv[1]))}
a, b, c, t, host = sys.argv[2:7]
assert set(snaps) == {a, b, c}, snaps.keys()
sa, sb, sc = snaps[a], snaps[b], snaps[c]
assert sa["time"] == "2099-01-02T03:04:05.123456789Z", sa["time"]
assert sa["tags"] == ["daily", "with-space tag"], sa["tags"]
assert sa["host"] == "alpha" and sa["paths"] == [t + "/a"], (sa["host"], sa["paths"])
assert sb["time"].startswith("2020-06-15T10:00:00"), sb["time"]
assert sb["host"] == "beta" and sb["tags"] == [], (sb["host"], sb["tags"])
assert sc["host"] == host, (sc["host"], host)
now = datetime.datetime.now(datetime.timezone.utc)
tc = datetime.datetime.strptime(sc["time"][:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
assert abs((now - tc).total_seconds()) < 600, (sc["time"], now)
EOF

step "snapshots --host and --tag filter"
expect_rc 0 dsb --json snapshots --host alpha
[ "$(json_get "$OUT" '[s["id"] for s in j]')" = "[\"$A\"]" ] || fail "--host alpha: $(cat "$OUT")"
expect_rc 0 dsb --json snapshots --tag daily
[ "$(json_get "$OUT" '[s["id"] for s in j]')" = "[\"$A\"]" ] || fail "--tag daily: $(cat "$OUT")"
expect_rc 0 dsb --json snapshots --tag none-such
[ "$(json_get "$OUT" 'len(j)')" = 0 ] || fail "--tag none-such lists snapshots"
expect_rc 0 dsb snapshots
expect_out "^${A:0:8} .*alpha .*daily,with-space tag"

step "latest is the newest by time (2099), though created first"
expect_rc 0 dsb --json restore latest --target "$T/latest"
[ "$(json_get "$OUT" 'j["snapshot_id"]')" = "$A" ] || fail "latest resolved to $(json_get "$OUT" 'j["snapshot_id"]'), not $A"
cmp -s "$T/a/marker" "$T/latest$T/a/marker" || fail "latest did not restore tree a"
expect_rc 0 dsb ls latest
expect_out "^$T/a/marker\$"

step "ids: full, 8-digit prefix, longer prefix, upper case"
for name in "$B" "${B:0:8}" "${B:0:13}" "$(printf '%s' "${B:0:8}" | tr a-f A-F)"; do
	expect_rc 0 dsb ls "$name"
	expect_out "^$T/b/marker\$"
	if grep -q "/a/marker" "$OUT"; then
		fail "ls $name lists another snapshot"
	fi
done
step "prefix errors: 7 digits (usage, 2), no match (1), not hex (2)"
expect_rc 2 dsb ls "${B:0:7}"
expect_err "8 hex"
for nomatch in 00000000 11111111 22222222 33333333; do
	case "$A $B $C" in *"$nomatch"*) ;; *) break ;; esac
done
expect_rc 1 dsb ls "$nomatch"
expect_err "$nomatch"
expect_rc 2 dsb ls "zzzzzzzz"

step "--parent picks the snapshot to compare against"
backup_json --parent "$C" "$T/c"
[ "$(summary files_unchanged)" = 1 ] || fail "--parent $C: files_unchanged = $(summary files_unchanged)"
expect_rc 0 dsb --json snapshots
[ "$(json_get "$OUT" "[s.get('parent') for s in j if s['id'] == '$SNAP'][0]")" = "$C" ] ||
    fail "the snapshot does not record --parent"
