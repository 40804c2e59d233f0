#!/usr/bin/env python3
"""Tables and chart for bench/run.sh: report.py RESULTS.tsv --md OUT.md [--png OUT.png]

Prints the table (step | tool | wall s | cpu s | peak RSS MB | bytes added) and dsbackup's ratio
to each peer per metric, writes the same as Markdown, and a PNG through gnuplot when it is
installed (skipped with a note otherwise).  Rows of an S3 run (run.sh --s3) also carry the
requests the gateway logged: they get a table of their own (MB/s, requests, requests per GB
written, by kind).
"""

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

PEERS = ("restic", "borg")
METRICS = (("wall", "wall s"), ("cpu", "cpu s"), ("rss", "peak RSS"), ("added", "bytes added"))
# issue 8's targets: (step, metric, max ratio to restic)
TARGETS = (("first", "wall", 0.5), ("unchanged", "wall", 0.25), ("modified", "added", 0.5),
           ("restore", "wall", 0.5))
RSS_TARGET = 0.5


def load(path):
    comments, rows = [], []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                comments.append(line[1:].strip())
                continue
            if not line or line.startswith("step\t"):
                continue
            c = line.split("\t")
            rows.append({
                "step": c[0], "tool": c[1], "wall": float(c[2]),
                "cpu": float(c[3]) + float(c[4]), "rss": int(c[5]) / 1024.0,
                "added": int(c[6]), "repo": int(c[7]), "cache": int(c[8]), "rc": c[9],
                "requests": int(c[10]) if len(c) > 10 else None,
                "kinds": c[11] if len(c) > 11 else "",
            })
    return comments, rows


def median_row(rs):
    """One row of several rounds: the median of each figure; the exit codes, all of them."""
    if len(rs) == 1:
        return rs[0]
    out = dict(rs[0])
    for k in ("wall", "cpu", "rss", "added", "repo", "cache", "requests"):
        v = sorted(r[k] for r in rs if r[k] is not None)
        if v:
            out[k] = v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
    out["rc"] = ",".join(sorted(set(r["rc"] for r in rs)))
    return out


def ratio(a, b):
    if a is None or b is None:
        return None
    if b == 0:
        return None if a == 0 else math.inf
    return a / b


def fmt_ratio(r):
    if r is None:
        return "–"
    if math.isinf(r):
        return "∞"
    return "%.2f×" % r


def mb(n):
    return "%.1f" % (n / 1e6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tsv")
    ap.add_argument("--md", required=True)
    ap.add_argument("--png")
    a = ap.parse_args()

    comments, rows = load(a.tsv)
    # cheap in-between snapshots of --rss-growth are kept in the TSV but not reported
    rows = [r for r in rows if "#" not in r["step"]]
    steps = []
    for r in rows:
        if r["step"] not in steps:
            steps.append(r["step"])
    tools = []
    for r in rows:
        if r["tool"] not in tools:
            tools.append(r["tool"])
    tools.sort(key=lambda t: ("dsbackup", "restic", "borg").index(t) if t in ("dsbackup", "restic", "borg") else 9)
    groups = {}  # (step, tool) -> its rows, one a round (run.sh --rounds)
    for r in rows:
        groups.setdefault((r["step"], r["tool"]), []).append(r)
    by = {k: median_row(v) for k, v in groups.items()}
    rounds = max(len(v) for v in groups.values()) if groups else 1
    peers = [p for p in PEERS if p in tools]

    out = []
    out.append("# dsbackup benchmark: %s" % os.path.basename(a.tsv)[:-4])
    out.append("")
    for c in comments:
        out.append("- " + c)
    out.append("")
    out.append("| step | tool | wall s | cpu s | peak RSS MB | bytes added MB | repo MB | cache MB | rc |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for s in steps:
        for t in tools:
            r = by.get((s, t))
            if not r:
                continue
            out.append("| %s | %s | %.2f | %.2f | %.0f | %s | %s | %s | %s |" % (
                s, t, r["wall"], r["cpu"], r["rss"], mb(r["added"]), mb(r["repo"]), mb(r["cache"]),
                r["rc"]))
    out.append("")

    ratios = {}  # (step, metric, peer) -> ratio
    if peers and "dsbackup" in tools:
        out.append("dsbackup's ratio to each peer (below 1 = dsbackup better):")
        out.append("")
        head = "| step |" + "".join(" %s vs %s |" % (m[1], p) for m in METRICS for p in peers)
        out.append(head)
        out.append("|---|" + "---:|" * (len(METRICS) * len(peers)))
        for s in steps:
            d = by.get((s, "dsbackup"))
            cells = []
            for m, _ in METRICS:
                for p in peers:
                    pr = by.get((s, p))
                    r = ratio(d[m] if d else None, pr[m] if pr else None)
                    if m == "added" and d and pr and d["added"] < 1e5 and pr["added"] < 1e5:
                        r = None  # both (next to) nothing: no ratio worth printing
                    ratios[(s, m, p)] = r
                    cells.append(fmt_ratio(r))
            out.append("| %s | %s |" % (s, " | ".join(cells)))
        out.append("")
        if rounds > 1 and "restic" in peers:
            out.append("Wall-time ratio to restic in each of the %d rounds (the figures above are "
                       "medians):" % rounds)
            out.append("")
            out.append("| step | " + " | ".join("round %d" % (i + 1) for i in range(rounds)) + " |")
            out.append("|---|" + "---:|" * rounds)
            for s in steps:
                d, pr = groups.get((s, "dsbackup"), []), groups.get((s, "restic"), [])
                cells = [fmt_ratio(ratio(d[i]["wall"], pr[i]["wall"])) if i < len(d) and i < len(pr)
                         else "–" for i in range(rounds)]
                out.append("| %s | %s |" % (s, " | ".join(cells)))
            out.append("")

    m = next((re.search(r"(\d+) bytes", c) for c in comments if c.startswith("data:")), None)
    if m and any(r["requests"] is not None for r in rows):  # an S3 run
        out.extend(s3_table(steps, tools, by, int(m.group(1))))

    # compression: data bytes / repository bytes after the first backup
    extra = []
    if m and "first" in steps:
        data = int(m.group(1))
        cells = ["%s %.2f×" % (t, data / by[("first", t)]["added"]) for t in tools
                 if ("first", t) in by and by[("first", t)]["added"] > 0]
        out.append("Compression+dedup of the first backup (data bytes / bytes added): " + ", ".join(cells))
        out.append("")
        d, rr = by.get(("first", "dsbackup")), by.get(("first", "restic"))
        if d and rr:
            extra.append(("compression no worse than restic's (first backup: %s vs %s MB)"
                          % (mb(d["added"]), mb(rr["added"])), d["added"] <= rr["added"]))

    s3_run = any(r["requests"] is not None for r in rows)
    if "restic" in peers and "dsbackup" in tools and "first" in steps and not s3_run:
        out.append("Issue 8 targets (ratio to restic, this run):")
        out.append("")
        for s, met, lim in TARGETS:
            r = ratios.get((s, met, "restic"))
            ok = r is not None and r <= lim
            out.append("- %s %s ≤ %.2f×: %s — %s" % (s, met, lim, fmt_ratio(r), "met" if ok else "NOT met"))
        rs = [ratios.get((s, "rss", "restic")) for s in steps]
        rs = [x for x in rs if x is not None]
        if rs:
            worst = max(rs)
            out.append("- peak RSS ≤ %.2f× (worst step): %s — %s" % (RSS_TARGET, fmt_ratio(worst),
                                                                    "met" if worst <= RSS_TARGET else "NOT met"))
        for what, ok in extra:
            out.append("- %s: %s" % (what, "met" if ok else "NOT met"))
        out.append("")

    chart_note = None
    if a.png:
        chart_note = chart(a.png, steps, tools, peers, by, ratios)
        if chart_note is None:
            out.append("![chart](%s)" % os.path.basename(a.png))
        else:
            out.append("(no chart: %s)" % chart_note)
        out.append("")

    text = "\n".join(out)
    with open(a.md, "w") as f:
        f.write(text)
    print(text)
    return 0


def s3_table(steps, tools, by, data):
    """Throughput and requests of an S3 run: MB/s is the data set's size over the wall time."""
    out = ["S3: throughput and the requests the gateway logged on each tool's bucket (LIST: a GET of "
           "the bucket itself):", "",
           "| step | tool | wall s | MB/s | requests | per GB written | by kind |",
           "|---|---|---:|---:|---:|---:|---|"]
    for s in steps:
        for t in tools:
            r = by.get((s, t))
            if not r or r["requests"] is None:
                continue
            per_gb = "%.0f" % (r["requests"] / (r["added"] / 1e9)) if r["added"] > 1e6 else "–"
            out.append("| %s | %s | %.2f | %.1f | %d | %s | %s |" % (
                s, t, r["wall"], data / 1e6 / r["wall"] if r["wall"] > 0 else 0, r["requests"],
                per_gb, r["kinds"]))
    out.append("")
    return out


def chart(png, steps, tools, peers, by, ratios):
    gp = shutil.which("gnuplot")
    if not gp:
        return "gnuplot is not installed"
    growth = any("@" in s or s.startswith("small-") for s in steps)
    with tempfile.TemporaryDirectory() as tmp:
        dat = os.path.join(tmp, "d.dat")
        script = []
        script.append("set terminal pngcairo size 1400,900 noenhanced font ',10'" if _has_cairo(gp)
                      else "set terminal png size 1400,900 noenhanced")
        script.append("set output '%s'" % png.replace("'", "''"))
        script.append("set style data histograms; set style histogram clustered gap 1")
        script.append("set style fill solid 0.8 border -1; set boxwidth 0.9")
        script.append("set grid ytics; set xtics rotate by -30 nomirror; set key top left")
        with open(dat, "w") as f:
            if growth or not peers or "dsbackup" not in tools:
                # absolute values per tool: peak RSS and wall time
                for s in steps:
                    f.write(s + " " + " ".join("%.1f" % by[(s, t)]["rss"] if (s, t) in by else "NaN"
                                               for t in tools) + "\n")
                f.write("\n\n")
                for s in steps:
                    f.write(s + " " + " ".join("%.2f" % by[(s, t)]["wall"] if (s, t) in by else "NaN"
                                               for t in tools) + "\n")
                script.append("set multiplot layout 2,1 title 'dsbackup vs peers (absolute)'")
                for idx, title in ((0, "peak RSS, MB"), (1, "wall time, s")):
                    script.append("set title '%s'; set yrange [0:*]" % title)
                    plots = ["'%s' index %d using %d:xtic(1) title '%s'" % (dat, idx, i + 2, t)
                             for i, t in enumerate(tools)]
                    script.append("plot " + ", ".join(plots))
                script.append("unset multiplot")
            else:
                for mi, (m, label) in enumerate(METRICS):
                    for s in steps:
                        vals = []
                        for p in peers:
                            r = ratios.get((s, m, p))
                            vals.append("NaN" if r is None or math.isinf(r) or r <= 0 else "%.4f" % r)
                        f.write(s + " " + " ".join(vals) + "\n")
                    f.write("\n\n")
                script.append("set multiplot layout 2,2 title \"dsbackup's ratio to each peer "
                              "(log scale, below 1 = dsbackup better)\"")
                script.append("set logscale y 2; set yrange [*:*]")
                for mi, (m, label) in enumerate(METRICS):
                    script.append("set title '%s'" % label)
                    plots = ["'%s' index %d using %d:xtic(1) title 'vs %s'" % (dat, mi, i + 2, p)
                             for i, p in enumerate(peers)]
                    plots.append("1 with lines lc 'black' dt 2 notitle")
                    script.append("plot " + ", ".join(plots))
                script.append("unset multiplot")
        gpf = os.path.join(tmp, "c.gp")
        with open(gpf, "w") as f:
            f.write("\n".join(script) + "\n")
        r = subprocess.run([gp, gpf], capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(png):
            return "gnuplot failed: " + r.stderr.strip()[-300:]
    return None


def _has_cairo(gp):
    r = subprocess.run([gp, "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in (r.stdout + r.stderr)


if __name__ == "__main__":
    sys.exit(main())
