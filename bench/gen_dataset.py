#!/usr/bin/env python3
"""Deterministic data sets for the dsbackup benchmark (python3 standard library only).

    gen_dataset.py generate DIR [--variant docker|small-files|large-file] [--scale S] [--seed N]
    gen_dataset.py modify   DIR [--fraction F] [--seed N]
    gen_dataset.py describe DIR

The same arguments always produce the same bytes (names, sizes and contents; not timestamps).
See bench/README.md for the shape of each variant.
"""

import argparse
import json
import os
import random
import struct
import sys

MIB = 1024 * 1024
PAGE = 8192

# ---------------------------------------------------------------------------------------------
# Database pages: PostgreSQL-like heap pages. A 24-byte page header, 4-byte line pointers
# growing up, tuples growing down from the end, free space (zeros) in between. Each tuple has a
# 24-byte header (xmin, ctid, infomask...) and a row of an "orders" table: sequential id,
# increasing timestamp, a user id, a status from a small enum, an e-mail address, an amount,
# a few words of description and a random 16-byte token. zstd -3 gets about 2-3x on these.
# ---------------------------------------------------------------------------------------------

WORDS = ("""alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november
oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu order invoice
payment refund shipment customer account balance credit debit transfer pending complete
cancelled returned priority standard express warehouse region north south east west central
product item quantity discount coupon voucher tax vat gross net total subtotal currency euro
dollar pound yen franc krona zloty forint lira rand peso real rupee yuan won baht dong ringgit
red green blue black white silver gold large small medium extra bundle pack box crate pallet
monday tuesday wednesday thursday friday saturday sunday january february march april may june
july august september october november december morning evening night weekly monthly yearly
""".split())
STATUSES = (b"active", b"pending", b"shipped", b"delivered", b"cancelled", b"returned", b"on_hold")
DOMAINS = (b"example.com", b"example.org", b"mail.test", b"corp.example", b"shop.example")
NAMES = tuple(w.encode() for w in WORDS[:64])
WORDS_B = tuple(w.encode() for w in WORDS)


def varlena(b):
    """PostgreSQL short varlena: 1-byte header (length << 1 | 1) then the bytes."""
    return bytes(((len(b) + 1) << 1 | 1,)) + b


def make_page(rng, pageno, rowid, ts, lsn):
    """One 8 KiB heap page. Returns (page bytes, next row id, next timestamp)."""
    fill = rng.randint(70, 100) * PAGE // 100  # fillfactor-like: some pages have free space
    tuples = []
    used = 24
    while True:
        rowid += 1
        ts += rng.randint(1, 5_000_000)  # microseconds
        desc = b" ".join(rng.choice(WORDS_B) for _ in range(rng.randint(2, 7)))
        email = b"%s.%s%d@%s" % (rng.choice(NAMES), rng.choice(NAMES), rng.randint(0, 999),
                                 rng.choice(DOMAINS))
        row = (struct.pack("<iqiq", rowid, ts, rng.randint(1, 200_000), rng.randint(0, 5_000_000))
               + varlena(rng.choice(STATUSES)) + varlena(email) + varlena(desc)
               + rng.randbytes(16))
        hdr = struct.pack("<IIIHHHHHBx", (lsn >> 8) & 0xFFFFFFFF, 0, 0, pageno >> 16,
                          pageno & 0xFFFF, len(tuples) + 1, 9, 0x0902, 24)
        tup = hdr + row
        tup += b"\0" * (-len(tup) % 8)  # MAXALIGN
        if used + 4 + len(tup) > fill and tuples:
            rowid -= 1
            break
        tuples.append(tup)
        used += 4 + len(tup)
    # Layout: header, line pointers, zeros, tuples (first tuple at the end of the page).
    upper = PAGE
    lps = []
    for t in tuples:
        upper -= len(t)
        lps.append(struct.pack("<I", upper | (1 << 15) | (len(t) << 17)))
    lower = 24 + 4 * len(tuples)
    header = struct.pack("<QHHHHHHI", lsn, 0, 0, lower, upper, PAGE, PAGE | 4, 0)
    body = b"".join(reversed(tuples))
    page = header + b"".join(lps) + b"\0" * (upper - lower) + body
    assert len(page) == PAGE
    return page, rowid, ts


SEGMENT_PAGES = 8192  # 64 MiB: the unit of parallel generation (each has its own seed)


def write_db_segment(path, rel, seg, npages, seed):
    """Pages [seg * SEGMENT_PAGES, + npages) of one database file, written in place."""
    rng = random.Random("%d:db:%s:%d" % (seed, rel, seg))
    first = seg * SEGMENT_PAGES
    rowid = first * 60
    ts = 1_700_000_000_000_000 + first * 100_000_000
    lsn = 0x1000000 + first * 10_000
    with open(path, "r+b", buffering=0) as f:
        f.seek(first * PAGE)
        buf = []
        for p in range(first, first + npages):
            lsn += rng.randint(100, 10_000)
            page, rowid, ts = make_page(rng, p, rowid, ts, lsn)
            buf.append(page)
            if len(buf) == 256:
                f.write(b"".join(buf))
                buf = []
        if buf:
            f.write(b"".join(buf))
    return npages * PAGE


# ---------------------------------------------------------------------------------------------
# Small files: container configs (JSON) and application logs, a few hundred bytes to a few KiB.
# ---------------------------------------------------------------------------------------------

LEVELS = ("DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR")
COMPONENTS = ("api", "worker", "scheduler", "db", "cache", "auth", "proxy", "mailer")
MESSAGES = ("request handled", "connection opened", "connection closed", "job finished",
            "cache miss", "retrying after timeout", "user logged in", "token refreshed",
            "slow query", "payload validated", "queue drained", "checkpoint written")


def small_size(rng):
    # log-uniform between ~200 B and ~6 KiB (median ~1.1 KiB)
    return int(200 * (30 ** rng.random()))


def log_line(rng, t):
    return ("%s.%03dZ %-5s [%s] %s req_id=%016x latency_ms=%d status=%d\n" % (
        "2024-%02d-%02dT%02d:%02d:%02d" % (1 + t // 2678400 % 12, 1 + t // 86400 % 28,
                                           t // 3600 % 24, t // 60 % 60, t % 60),
        rng.randint(0, 999), rng.choice(LEVELS), rng.choice(COMPONENTS), rng.choice(MESSAGES),
        rng.getrandbits(64), rng.randint(0, 2000), rng.choice((200, 200, 200, 201, 204, 404, 500))))


def make_log(rng, size):
    t = rng.randint(0, 30_000_000)
    out = []
    n = 0
    while n < size:
        t += rng.randint(0, 30)
        line = log_line(rng, t)
        out.append(line)
        n += len(line)
    return "".join(out).encode()


def make_json(rng, size):
    doc = {
        "Id": "%064x" % rng.getrandbits(256),
        "Created": "2024-%02d-%02dT%02d:%02d:%02d.%09dZ" % (
            rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59),
            rng.randint(0, 59), rng.randint(0, 999_999_999)),
        "Name": "/%s-%s-%d" % (rng.choice(WORDS), rng.choice(WORDS), rng.randint(1, 9)),
        "RestartCount": rng.randint(0, 3),
        "Config": {"Image": "registry.example/%s:%d.%d" % (rng.choice(WORDS), rng.randint(1, 9),
                                                         rng.randint(0, 20)),
                   "Env": [], "Labels": {}},
        "State": {"Status": rng.choice(("running", "exited", "paused")), "Pid": rng.randint(1, 65535)},
    }
    i = 0
    while len(json.dumps(doc, indent=2)) < size:
        i += 1
        if i % 2:
            doc["Config"]["Env"].append("%s_%s=%s" % (rng.choice(WORDS).upper(), i,
                                                      "%x" % rng.getrandbits(48)))
        else:
            doc["Config"]["Labels"]["com.example.%s.%d" % (rng.choice(WORDS), i)] = rng.choice(WORDS)
    return (json.dumps(doc, indent=2) + "\n").encode()


def write_small_files(root, count, seed, per_dir=100):
    rng = random.Random("%d:small" % seed)
    areas = ("containers", "volumes", "logs", "config")
    total = 0
    ndirs = max(1, (count + per_dir - 1) // per_dir)
    for d in range(ndirs):
        area = areas[d % len(areas)]
        sub = os.path.join(root, area, "g%03d" % (d // 10), "s%02d" % (d % 10))
        os.makedirs(sub, exist_ok=True)
        for i in range(min(per_dir, count - d * per_dir)):
            size = small_size(rng)
            if (d + i) % 3 == 0:
                name, data = "config-%05d.json" % i, make_json(rng, size)
            else:
                name, data = "app-%05d.log" % i, make_log(rng, size)
            with open(os.path.join(sub, name), "wb") as f:
                f.write(data)
            total += len(data)
    return total


# ---------------------------------------------------------------------------------------------
# Media: incompressible random bytes in a handful of files of different sizes.
# ---------------------------------------------------------------------------------------------

def write_media(root, nbytes, seed):
    rng = random.Random("%d:media" % seed)
    os.makedirs(root, exist_ok=True)
    # 2 large "videos" holding half the bytes, the rest in 24 "photos" of varying size
    sizes = [nbytes // 4, nbytes // 4]
    rest = nbytes - sum(sizes)
    weights = [rng.random() + 0.5 for _ in range(24)]
    for w in weights:
        sizes.append(int(rest * w / sum(weights)))
    sizes[-1] += nbytes - sum(sizes)
    total = 0
    for i, sz in enumerate(sizes):
        name = ("video-%02d.mp4" % i) if i < 2 else ("photo-%03d.jpg" % i)
        with open(os.path.join(root, name), "wb", buffering=0) as f:
            left = sz
            while left > 0:
                n = min(left, 4 * MIB)
                f.write(rng.randbytes(n))
                left -= n
        total += sz
    return total


# ---------------------------------------------------------------------------------------------

DB_DIR = os.path.join("db", "pgdata", "base", "16384")


def shape(variant, scale):
    """(number of db files, bytes per db file, number of small files, media bytes)"""
    def sz(n):
        return max(PAGE, int(n * scale) // PAGE * PAGE)
    if variant == "docker":
        return 6, sz(100 * MIB), max(10, int(20_000 * scale)), max(MIB // 16, int(200 * MIB * scale))
    if variant == "small-files":
        return 0, 0, max(10, int(200_000 * scale)), 0
    if variant == "large-file":
        return 1, sz(1024 * MIB), 0, 0
    raise SystemExit("unknown variant %r" % variant)


def _db_job(args):
    return write_db_segment(*args)


def generate(args):
    root = args.dir
    if os.path.exists(root) and os.listdir(root):
        raise SystemExit("%s exists and is not empty" % root)
    os.makedirs(root, exist_ok=True)
    ndb, dbsize, nsmall, media = shape(args.variant, args.scale)
    jobs = []
    if ndb:
        os.makedirs(os.path.join(root, DB_DIR), exist_ok=True)
        for i in range(ndb):
            rel = os.path.join(DB_DIR, str(16385 + i))
            path = os.path.join(root, rel)
            with open(path, "wb") as f:
                f.truncate(dbsize)
            npages = dbsize // PAGE
            for seg in range((npages + SEGMENT_PAGES - 1) // SEGMENT_PAGES):
                jobs.append((path, rel, seg, min(SEGMENT_PAGES, npages - seg * SEGMENT_PAGES),
                             args.seed))
    total = 0

    def rest():
        n = 0
        if nsmall:
            n += write_small_files(os.path.join(root, "small"), nsmall, args.seed)
        if media:
            n += write_media(os.path.join(root, "media"), media, args.seed)
        return n

    # db pages are CPU-bound in Python: generate them in worker processes
    if jobs and args.jobs > 1:
        import multiprocessing
        with multiprocessing.Pool(args.jobs) as pool:
            res = pool.map_async(_db_job, jobs, chunksize=1)
            total += rest()
            total += sum(res.get())
    else:
        total += sum(_db_job(j) for j in jobs) + rest()
    print("generated %s: variant=%s scale=%g seed=%d: %d db files x %d B, %d small files, "
          "%d B media, %d B total" % (root, args.variant, args.scale, args.seed, ndb, dbsize,
                                      nsmall, media, total))


def list_files(root):
    out = []
    for dp, dns, fns in os.walk(root):
        dns.sort()
        for fn in sorted(fns):
            out.append(os.path.join(dp, fn))
    return out


def modify(args):
    """The "1 % modification": append to a fraction of the small files, rewrite the same fraction
    of 8 KiB pages in place inside every database file (new row versions, new LSNs)."""
    root = args.dir
    rng = random.Random("%d:modify:%g" % (args.seed, args.fraction))
    small = list_files(os.path.join(root, "small"))
    dbs = list_files(os.path.join(root, DB_DIR))
    nsmall = max(1, round(len(small) * args.fraction)) if small else 0
    appended = 0
    for path in sorted(rng.sample(small, nsmall)):
        with open(path, "ab") as f:
            data = (log_line(rng, rng.randint(0, 30_000_000)) if path.endswith(".log")
                    else "\n// updated %016x\n" % rng.getrandbits(64)).encode()
            f.write(data)
            appended += len(data)
    pages = 0
    for path in dbs:
        npages = os.path.getsize(path) // PAGE
        k = max(1, round(npages * args.fraction))
        prng = random.Random("%d:modify:%g:%s" % (args.seed, args.fraction, os.path.relpath(path, root)))
        rowid = prng.randint(1 << 30, 1 << 31)
        ts = 1_800_000_000_000_000
        with open(path, "r+b", buffering=0) as f:
            for p in sorted(prng.sample(range(npages), k)):
                page, rowid, ts = make_page(prng, p, rowid, ts, 0x80000000 + p)
                f.seek(p * PAGE)
                f.write(page)
                pages += 1
    print("modified %s: fraction=%g seed=%d: appended %d B to %d of %d small files, rewrote %d pages "
          "in %d db files" % (root, args.fraction, args.seed, appended, nsmall, len(small), pages,
                              len(dbs)))


def describe(args):
    files = list_files(args.dir)
    total = sum(os.path.getsize(p) for p in files)
    print("%d files, %d bytes" % (len(files), total))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp = ap.add_subparsers(dest="cmd", required=True)
    g = sp.add_parser("generate")
    g.add_argument("dir")
    g.add_argument("--variant", default="docker", choices=("docker", "small-files", "large-file"))
    g.add_argument("--small-files", dest="variant", action="store_const", const="small-files")
    g.add_argument("--large-file", dest="variant", action="store_const", const="large-file")
    g.add_argument("--scale", type=float, default=1.0)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--jobs", type=int, default=2)
    m = sp.add_parser("modify")
    m.add_argument("dir")
    m.add_argument("--fraction", type=float, default=0.01)
    m.add_argument("--seed", type=int, default=1)
    d = sp.add_parser("describe")
    d.add_argument("dir")
    args = ap.parse_args()
    {"generate": generate, "modify": modify, "describe": describe}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
