#!/usr/bin/env bash
# diff between two snapshots (added, removed, modified, metadata only; equal
# subtrees skipped), find across snapshots from the catalog with the
# repository gone, stats, and the message of a locked repository.
. "$(dirname "$0")/lib.sh"

D="$T/data"
mkdir -p "$D/same/deep" "$D/work" "$D/olddir/inner"
for i in 1 2 3; do
	random_file "$D/same/deep/keep$i.bin" 40000
done
# compressible and duplicated: dedup and compression ratios above 1
awk 'BEGIN { for (i = 0; i < 10000; i++) print "a line of text that compresses well" }' \
    >"$D/work/log.txt"
truncate -s 300000 "$D/work/log.txt"
cp "$D/work/log.txt" "$D/work/copy.txt"
echo "to be changed" >"$D/work/mod.txt"
echo "mode changes" >"$D/work/perm.txt"
echo "time changes" >"$D/work/touched.txt"
echo "to be removed" >"$D/work/gone.txt"
echo "in a removed dir" >"$D/olddir/inner/x.conf"
chmod 0644 "$D/work/perm.txt"

init_repo
step "two snapshots with every kind of change in between"
backup_json "$D"
S1=$SNAP
echo "changed!" >"$D/work/mod.txt"
chmod 0600 "$D/work/perm.txt"
touch -d '2001-02-03 04:05:06' "$D/work/touched.txt"
rm "$D/work/gone.txt"
rm -r "$D/olddir"
echo "new" >"$D/work/new.txt"
mkdir "$D/newdir"
echo "nested" >"$D/newdir/n.conf"
backup_json "$D"
S2=$SNAP

step "diff lists +, -, M, U and a summary, and nothing unchanged"
expect_rc 0 dsb diff "$S1" "$S2"
expect_out "^\+ +$D/work/new.txt$"
expect_out "^\+ +$D/newdir/$"
expect_out "^\+ +$D/newdir/n.conf$"
expect_out "^- +$D/work/gone.txt$"
expect_out "^- +$D/olddir/$"
expect_out "^- +$D/olddir/inner/x.conf$"
expect_out "^M +$D/work/mod.txt$"
expect_out "^U +$D/work/perm.txt$"
expect_out "^U +$D/work/touched.txt$"
expect_out "added \(\+\), .* removed \(-\), .* modified \(M\), .* metadata only \(U\)"
if grep -Eq "keep|log.txt|copy.txt" "$OUT"; then
	show_output diff
	fail "diff lists unchanged files"
fi
step "diff --json: one object per change, statistics; the unchanged subtree is skipped by id"
expect_rc 0 dsb --json diff "$S1" "$S2"
python3 - "$OUT" "$D" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
d = sys.argv[2]
changes = {(c["modifier"], c["path"]) for c in lines if c["message_type"] == "change"}
want = {("+", d + "/work/new.txt"), ("-", d + "/work/gone.txt"), ("M", d + "/work/mod.txt"),
        ("U", d + "/work/perm.txt"), ("U", d + "/work/touched.txt"), ("+", d + "/newdir"),
        ("-", d + "/olddir/inner/x.conf")}
assert want <= changes, (want - changes, changes)
stats = lines[-1]
assert stats["message_type"] == "statistics", stats
assert stats["added"] == 3 and stats["removed"] == 4 and stats["modified"] == 1, stats
assert stats["trees_skipped"] >= 1, stats
EOF
expect_rc 0 dsb diff "$S2" "$S2"
expect_out "0 added .* 0 removed .* 0 modified .* 0 metadata"

step "find: base-name and path globs across snapshots, --host, --json"
backup_json --host otherhost "$D/work"
S3=$SNAP
expect_rc 0 dsb find '*.conf'
expect_out "^${S1:0:8} .* $D/olddir/inner/x.conf$"
expect_out "^${S2:0:8} .* $D/newdir/n.conf$"
[ "$(wc -l <"$OUT")" -eq 2 ] || { show_output find; fail "find '*.conf' found other files"; }
expect_rc 0 dsb find "$D/work/m*.txt" --host otherhost
expect_out "^${S3:0:8} .* +9 +$D/work/mod.txt$"
[ "$(wc -l <"$OUT")" -eq 1 ] || { show_output find; fail "find --host found other snapshots"; }
expect_rc 0 dsb --json find 'log.txt'
python3 - "$OUT" "$S1" "$S2" "$S3" <<'EOF'
import json, sys
hits = [json.loads(l) for l in open(sys.argv[1])]
assert sorted(h["snapshot_id"] for h in hits) == sorted(sys.argv[2:5]), hits
assert all(h["size"] == 300000 and h["type"] == "file" for h in hits), hits
EOF

step "find answers from the catalog with the repository gone, and needs no password"
mv "$REPO" "$REPO.away"
expect_rc 10 dsb snapshots
(unset DSBACKUP_PASSWORD; "$DSB" find 'new.txt' >"$OUT" 2>"$ERR") ||
    { show_output find; fail "find failed without the repository"; }
expect_out "^${S2:0:8} .* $D/work/new.txt$"
expect_out "^${S3:0:8} .* $D/work/new.txt$"
expect_rc 0 dsb find 'new.txt' --catalog "$(ls "$DSBACKUP_STATE_DIR"/catalogs/*.db)"
expect_out "$D/work/new.txt"
mv "$REPO.away" "$REPO"
expect_rc 1 env DSBACKUP_STATE_DIR="$T/elsewhere" "$DSB" find x
expect_err "no catalog of repository .* is known on this host"

step "a rebuilt catalog (catalog rebuild, or a new one) has the listings find needs"
expect_rc 0 dsb catalog rebuild
expect_rc 0 dsb find 'n.conf'
expect_out "$D/newdir/n.conf"
expect_rc 0 env DSBACKUP_STATE_DIR="$T/fresh" "$DSB" snapshots
expect_rc 0 env DSBACKUP_STATE_DIR="$T/fresh" "$DSB" find 'x.conf'
expect_out "^${S1:0:8} .* $D/olddir/inner/x.conf$"

step "stats: sizes from the catalog, ratios, per source and host"
expect_rc 0 dsb --json stats
packs=$(find "$REPO/data" -type f ! -name '.tmp-*' -printf '%s\n' | awk '{ s += $1 } END { print s }')
python3 - "$OUT" "$packs" "$D" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
d = sys.argv[3]
assert s["total_size"] == int(sys.argv[2]), (s["total_size"], sys.argv[2])
assert s["snapshots"] == 3 and s["packs"] >= 1 and s["blobs"] >= s["data_blobs"] > 0, s
assert s["dedup_ratio"] > 1.5, s
assert s["compression_ratio"] > 2, s
assert s["logical_size_all"] > s["logical_size_latest"] > 600000, s
src = {(g["host"], g["source"]): g for g in s["sources"]}
assert src[("otherhost", d + "/work")]["snapshots"] == 1, src
mine = [g for (h, p), g in src.items() if p == d and h != "otherhost"]
assert len(mine) == 1 and mine[0]["snapshots"] == 2 and mine[0]["bytes_added"] > 0, src
assert set(s["hosts"]) == {"otherhost", mine[0]["host"]}, s["hosts"]
EOF
expect_rc 0 dsb stats
expect_out "^repository size: "
expect_out "^deduplication: +[0-9.]+x"
expect_out "^  otherhost +$D/work +1 "

step "a locked repository names host, pid and time, and says what to do"
mkdir "$T/big"
for i in $(seq 1 40); do random_file "$T/big/f$i" 1000000; done
"$DSB" backup "$T/big" >"$T/bg.out" 2>&1 &
bg=$!
for _ in $(seq 1 400); do
	[ -n "$(objects locks)" ] && break
	sleep 0.05
done
kill -STOP "$bg"
expect_rc 11 dsb prune
kill -CONT "$bg"
wait "$bg" || fail "the background backup failed: $(cat "$T/bg.out")"
expect_err "repository .* is locked by host $(hostname) pid $bg since [0-9T:.-]+Z .*; if that process is gone run \`dsbackup unlock\`"
