#!/usr/bin/env bash
# test_forget_restic.sh: "forget" keeps the snapshots restic keeps.  The same
# made-up snapshot times (40 on one host, 6 on another, some tagged) are
# given to "dsbackup backup --time" and "restic backup --time" (Debian's
# restic package, installed when missing); both run forget --dry-run --json
# with the same policies, and the sets of kept (host, time) pairs must be
# identical.  TZ=UTC for both: restic's buckets use local time, and so do ours.
#
# restic before 0.16 did not yet keep the oldest snapshot of a group while a
# rule still had counts left (restic PR 4366, now documented, and what
# dsbackup does); with such a restic, its choice plus that oldest snapshot
# (where its own counters show counts left) is what must match.
. "$(dirname "$0")/lib.sh"
export TZ=UTC

if ! have restic; then
	if [ -n "${DSB_SRC:-}" ] && [ -f "$DSB_SRC/scripts/lib/deps.sh" ]; then
		# shellcheck source=../../scripts/lib/deps.sh
		. "$DSB_SRC/scripts/lib/deps.sh"
		dsb_install_packages restic >/dev/null 2>&1 || true
	fi
	have restic || skip_test "restic is not installed and could not be installed (apt-get install restic)"
fi
restic_version=$(restic version | awk '{ print $2 }')
note "restic $restic_version"
oldest_rule=$(python3 -c 'import sys
v = [int(x) for x in sys.argv[1].split(".")[:2]]
print(1 if v >= [0, 16] else 0)' "$restic_version")

export RESTIC_PASSWORD="e2e restic password"
export RESTIC_REPOSITORY="$T/restic"
export RESTIC_CACHE_DIR="$T/restic-cache"
restic init -q >/dev/null || fail "restic init failed"
init_repo

mkdir "$T/data"
printf 'the same tiny directory for every snapshot\n' >"$T/data/file"

step "make the snapshot times: clusters within an hour and a day, ISO week and year edges"
python3 - "$T/times" <<'EOF'
import random, sys, datetime as dt
r = random.Random(20240611)
t = set()
fixed = [
    "2021-12-31T23:30:00", "2022-01-01T00:15:00", "2022-01-02T12:00:00",  # Sunday of 2021-W52
    "2022-01-03T08:00:00",                                                # Monday of 2022-W01
    "2024-12-29T18:00:00", "2024-12-30T06:00:00",                         # 2024-12-30 is in 2025-W01
    "2025-06-10T09:05:00", "2025-06-10T09:40:00", "2025-06-10T09:59:59",  # one hour
    "2025-06-10T10:00:00", "2025-06-10T17:00:00", "2025-06-11T00:00:00",
    "2025-06-12T23:59:59", "2025-06-13T00:00:01", "2025-06-13T12:00:00",
]
t.update(fixed)
start = dt.datetime(2022, 1, 5)
while len(t) < 40:
    d = start + dt.timedelta(seconds=r.randrange(0, 3 * 365 * 86400))
    t.add(d.replace(microsecond=0).isoformat())
times = sorted(t)
with open(sys.argv[1], "w") as f:
    for i, x in enumerate(times):
        tag = "x" if i % 7 == 3 else ("y" if i % 11 == 5 else "")
        f.write("h1 %s %s\n" % (x, tag))
    # a second host: its own group
    for x in ["2025-01-01T10:00:00", "2025-01-01T11:00:00", "2025-02-01T10:00:00",
              "2025-05-20T10:00:00", "2025-06-12T10:00:00", "2025-06-12T10:30:00"]:
        f.write("h2 %s \n" % x)
EOF

step "back up the same directory at those times with both programs"
n=0
while read -r host t tag; do
	dargs=(--host "$host" --time "${t}Z")
	rargs=(--host "$host" --time "${t/T/ }")
	if [ -n "$tag" ]; then
		dargs+=(--tag "$tag")
		rargs+=(--tag "$tag")
	fi
	expect_rc 0 dsb -q backup "${dargs[@]}" "$T/data"
	restic backup -q "${rargs[@]}" "$T/data" >/dev/null 2>"$T/restic.err" ||
	    { cat "$T/restic.err" >&2; fail "restic backup --time $t failed"; }
	n=$((n + 1))
done <"$T/times"
note "$n snapshots each"

# kept_pairs FILE [OLDEST]: the kept (host, time) pairs of a forget --json output, one per line,
# sorted.  With OLDEST=1 (restic before 0.16), add each group's oldest snapshot where a count
# rule still had counts left after restic's last kept snapshot (its "counters"), as restic
# 0.16 and later do.
kept_pairs() {
	python3 - "$1" "${2:-0}" <<'EOF'
import json, sys
def t(s):
    # "2024-01-02T10:00:00Z" (restic) and "2024-01-02T10:00:00.000000000Z" (dsbackup)
    return s["time"].split(".")[0].rstrip("Z")
def host(s):
    return s.get("hostname") or s.get("host")
out = set()
for g in json.load(open(sys.argv[1])):
    keep = g.get("keep") or []
    for s in keep:
        out.add("%s %s" % (host(s), t(s)))
    if sys.argv[2] == "1" and keep:
        everything = keep + (g.get("remove") or [])
        oldest = min(everything, key=t)
        reasons = g.get("reasons") or []
        left = reasons and any(v for v in (reasons[-1].get("counters") or {}).values())
        if left:
            out.add("%s %s" % (host(oldest), t(oldest)))
print("\n".join(sorted(out)))
EOF
}

# compare NAME -- POLICY...: forget --dry-run with POLICY in both; the kept sets must match
compare() {
	local name=$1
	shift
	[ "$1" = -- ] && shift
	restic forget --dry-run --json "$@" >"$T/r.json" 2>"$T/r.err" ||
	    { cat "$T/r.err" >&2; fail "restic forget $* failed"; }
	expect_rc 0 dsb --json forget --dry-run "$@"
	cp "$OUT" "$T/d.json"
	kept_pairs "$T/r.json" "$((1 - oldest_rule))" >"$T/r.kept"
	kept_pairs "$T/d.json" >"$T/d.kept"
	if ! diff -u "$T/r.kept" "$T/d.kept" >"$T/kept.diff"; then
		cat "$T/kept.diff" >&2
		fail "$name: kept snapshots differ between restic (-) and dsbackup (+) for: $*"
	fi
	[ -s "$T/d.kept" ] || fail "$name: nothing kept at all"
	if [ "$oldest_rule" = 0 ] && ! cmp -s "$T/r.kept" <(kept_pairs "$T/r.json"); then
		note "$name: restic $restic_version predates the oldest-snapshot rule (0.16): its choice plus the oldest"
	fi
	note "$name: both keep $(wc -l <"$T/d.kept") of $n: $*"
}

step "the same snapshots are kept, policy by policy"
compare last -- --keep-last 3
compare daily-weekly -- --keep-daily 7 --keep-weekly 4
compare monthly-yearly -- --keep-monthly 6 --keep-yearly 2
compare within -- --keep-within 10d
compare hourly-tag -- --keep-hourly 5 --keep-tag x
compare within-calendar -- --keep-within 1y2m3d4h
compare mixed -- --keep-last 2 --keep-weekly 10 --keep-monthly 3 --keep-tag y
compare tag-list -- --keep-tag x,y --keep-tag y --keep-yearly 1
compare ungrouped -- --group-by '' --keep-last 4 --keep-daily 3
compare host-only -- --host h2 --keep-daily 2
compare unexhausted -- --keep-yearly 10 --keep-monthly 40

step "forget without a policy refuses and removes nothing"
expect_rc 2 dsb forget
expect_err 'no policy given'

step "forget for real removes exactly the snapshots the dry run named"
expect_rc 0 dsb --json forget --dry-run --keep-daily 7 --keep-weekly 4
kept_pairs "$OUT" >"$T/want"
expect_rc 0 dsb --json forget --keep-daily 7 --keep-weekly 4
expect_rc 0 dsb --json snapshots
python3 - "$OUT" >"$T/have" <<'EOF'
import json, sys
print("\n".join(sorted("%s %s" % (s["host"], s["time"].split(".")[0].rstrip("Z"))
                       for s in json.load(open(sys.argv[1])))))
EOF
diff -u "$T/want" "$T/have" || fail "the snapshots left are not those the dry run kept"
expect_rc 0 dsb check
