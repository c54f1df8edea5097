#!/usr/bin/env python3
"""qcow2 interoperability with Debian's qemu-img / qemu-io (the real peer).

  test-qcow2-interop.py KVMPC_IMG KVMPC_IO

Reads: a table of images made by qemu-img (cluster sizes 512 B to 2 MiB,
v2 and v3, zlib and zstd compressed, backing chains, internal snapshots)
must read identically through kvmpc (kvmpc-img convert -O raw) and
qemu-img convert -O raw.
Writes: the same requests applied with kvmpc-io and with qemu-io to twin
copies must give the same content, and kvmpc's image must pass
`qemu-img check` (no leaks, no corruption).
Check: kvmpc-img check finds what qemu-img check finds on damaged images,
and `-r all` repairs them so that qemu-img check is clean.
Also: info --output=json and map --output=json agree with qemu-img's.

TAP output; exits 77 (skip) without qemu-img.
"""
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

KIMG, KIO = (os.path.abspath(a) for a in sys.argv[1:3])
results = []


def run(*cmd, check=True):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if check and p.returncode:
        raise RuntimeError(f"{' '.join(cmd)} -> {p.returncode}: "
                           f"{p.stderr.strip()}")
    return p


def case(name):
    def wrap(fn):
        results.append((name, fn))
        return fn
    return wrap


def same_content(img, fmt="qcow2"):
    """kvmpc's raw view of img equals qemu's."""
    d = os.path.dirname(img)
    k, q = os.path.join(d, "k.raw"), os.path.join(d, "q.raw")
    run(KIMG, "convert", "-f", fmt, "-O", "raw", img, k)
    run("qemu-img", "convert", "-f", fmt, "-O", "raw", img, q)
    with open(k, "rb") as a, open(q, "rb") as b:
        if a.read() != b.read():
            raise AssertionError(f"{img}: kvmpc reads differ from qemu's")
    os.unlink(k)
    os.unlink(q)


def qemu_check_clean(img):
    p = run("qemu-img", "check", "--output=json", img, check=False)
    r = json.loads(p.stdout) if p.stdout.strip() else {}
    if p.returncode or r.get("leaks") or r.get("corruptions"):
        raise AssertionError(f"qemu-img check {img}: rc={p.returncode} "
                             f"{p.stdout.strip()} {p.stderr.strip()}")


def make_raw(path, size, seed):
    """Data, holes and zero blocks in a pattern that straddles clusters."""
    rnd = random.Random(seed)
    with open(path, "wb") as f:
        f.truncate(size)
        for _ in range(24):
            off = rnd.randrange(0, size - 70000) & ~511
            n = rnd.choice([512, 4096, 65536, 70000 & ~511])
            f.seek(off)
            kind = rnd.random()
            if kind < 0.2:
                f.write(bytes(n))
            elif kind < 0.5:
                f.write(bytes([rnd.randrange(256)]) * n)   # compressible
            else:
                f.write(rnd.randbytes(n))


@case("read: qemu-img images, cluster sizes x v2/v3 x compression")
def t_read_table(tmp):
    src = os.path.join(tmp, "src.raw")
    make_raw(src, 6 << 20, 1)
    for cs in ("512", "4k", "64k", "2M"):
        for compat in ("0.10", "1.1"):
            kinds = [[], ["-c"]]
            for extra in kinds:
                types = ["zlib"] if compat == "0.10" else ["zlib", "zstd"]
                for ty in types:
                    if not extra and ty == "zstd":
                        continue
                    img = os.path.join(tmp, f"t-{cs}-{compat}-{ty}.qcow2")
                    o = f"cluster_size={cs},compat={compat}"
                    if compat == "1.1":
                        o += f",compression_type={ty}"
                    run("qemu-img", "convert", *extra, "-O", "qcow2", "-o",
                        o, src, img)
                    same_content(img)
                    os.unlink(img)


@case("read: zero clusters, backing chain of three, internal snapshots")
def t_read_chain(tmp):
    base = os.path.join(tmp, "base.qcow2")
    mid = os.path.join(tmp, "mid.qcow2")
    top = os.path.join(tmp, "top.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k",
        base, "3M")
    run("qemu-io", "-c", "write -P 0x11 0 1M", "-c", "write -P 0x12 2M 100k",
        base)
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F",
        "qcow2", mid, "5M")       # larger than its backing file
    run("qemu-io", "-c", "write -P 0x21 512k 1M", "-c", "write -z 0 4k",
        "-c", "write -P 0x22 4M 64k", mid)
    run("qemu-img", "snapshot", "-c", "before", mid)
    run("qemu-io", "-c", "write -P 0x23 600k 8k", "-c", "discard 2M 64k", mid)
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o",
        "cluster_size=512,compat=0.10", "-b", "mid.qcow2", "-F", "qcow2", top)
    run("qemu-io", "-c", "write -P 0x31 1000k 3k", top)
    run("qemu-img", "snapshot", "-c", "s2", top)
    for img in (base, mid, top):
        same_content(img)


@case("write: kvmpc-io vs qemu-io on twins, then qemu-img check")
def t_write_twins(tmp):
    ops = [("write", "0", "64k", "1"), ("write", "1000", "5000", "2"),
           ("write", "130k", "1M", "3"), ("zero", "192k", "128k"),
           ("discard", "512k", "64k"), ("write", "5M", "300k", "4"),
           ("zero", "6000", "100"), ("write", "7M", "1M", "5")]
    qemu_cmds = {"write": "write -P {3} {1} {2}", "zero": "write -z {1} {2}",
                 "discard": "discard {1} {2}"}
    for variant in ("fresh", "v2", "snapshot", "backing", "compressed",
                    "small-clusters"):
        k = os.path.join(tmp, f"w-{variant}.qcow2")
        q = os.path.join(tmp, f"w-{variant}-q.qcow2")
        opts = {"v2": "compat=0.10", "small-clusters": "cluster_size=512"}
        if variant == "backing":
            b = os.path.join(tmp, "wb.qcow2")
            run("qemu-img", "create", "-q", "-f", "qcow2", b, "8M")
            run("qemu-io", "-c", "write -P 9 0 8M", b)
            run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "wb.qcow2",
                "-F", "qcow2", k)
        elif variant == "compressed":
            r = os.path.join(tmp, "wc.raw")
            with open(r, "wb") as f:
                f.write(b"\x07" * (8 << 20))
            run("qemu-img", "convert", "-c", "-O", "qcow2", r, k)
        else:
            o = opts.get(variant, "cluster_size=64k")
            run("qemu-img", "create", "-q", "-f", "qcow2", "-o", o, k, "8M")
        if variant == "snapshot":
            run("qemu-io", "-c", "write -P 8 0 8M", k)
            run("qemu-img", "snapshot", "-c", "s", k)
        shutil.copy(k, q)
        args = [a for op in ops for a in op]
        run(KIO, k, *args)
        run("qemu-io", *sum((["-c", qemu_cmds[op[0]].format(*op)]
                             for op in ops), []), q)
        qemu_check_clean(k)
        kr, qr = os.path.join(tmp, "kr.raw"), os.path.join(tmp, "qr.raw")
        run("qemu-img", "convert", "-O", "raw", k, kr)
        run("qemu-img", "convert", "-O", "raw", q, qr)
        if open(kr, "rb").read() != open(qr, "rb").read():
            raise AssertionError(f"{variant}: content differs from qemu-io's")
        if variant == "snapshot":   # the snapshot itself is untouched
            run("qemu-img", "snapshot", "-a", "s", k)
            run("qemu-io", "-c", "read -P 8 0 8M", k)


@case("write: kvmpc-img create/convert images pass qemu-img check")
def t_kvmpc_images(tmp):
    src = os.path.join(tmp, "src.raw")
    make_raw(src, 6 << 20, 2)
    for o in ("cluster_size=512", "cluster_size=64k", "cluster_size=2M",
              "compat=0.10", "refcount_bits=1", "refcount_bits=64",
              "cluster_size=4k,compression_type=zstd"):
        for extra in ([], ["-c"]):
            img = os.path.join(tmp, "k.qcow2")
            run(KIMG, "convert", "-q", *extra, "-O", "qcow2", "-o", o, src,
                img)
            qemu_check_clean(img)
            run("qemu-img", "compare", "-q", src, img)
    # Enough 512-byte clusters to grow the refcount table several times.
    big = os.path.join(tmp, "big.raw")
    with open(big, "wb") as f:
        f.write(random.Random(3).randbytes(24 << 20))
    img = os.path.join(tmp, "grow.qcow2")
    run(KIMG, "convert", "-q", "-O", "qcow2", "-o", "cluster_size=512", big,
        img)
    qemu_check_clean(img)
    run("qemu-img", "compare", "-q", big, img)
    # create with a backing file: qemu-img sees the chain
    run(KIMG, "create", "-q", "-f", "qcow2", "-b", "grow.qcow2", "-F",
        "qcow2", os.path.join(tmp, "ov.qcow2"))
    info = json.loads(run("qemu-img", "info", "--output=json",
                          os.path.join(tmp, "ov.qcow2")).stdout)
    assert info["backing-filename"] == "grow.qcow2", info
    assert info["virtual-size"] == 24 << 20, info
    qemu_check_clean(os.path.join(tmp, "ov.qcow2"))


def set_refcount(img, cluster, value):
    """Poke a 16-bit refcount (first refcount block) directly."""
    with open(img, "r+b") as f:
        h = f.read(104)
        cbits = struct.unpack(">I", h[20:24])[0]
        rt = struct.unpack(">Q", h[48:56])[0]
        f.seek(rt)
        rb = struct.unpack(">Q", f.read(8))[0]
        f.seek(rb + 2 * cluster)
        f.write(struct.pack(">H", value))
        return 1 << cbits


def check_counts(tool, img):
    p = run(tool, "check", "--output=json", img, check=False)
    r = json.loads(p.stdout)
    return p.returncode, r.get("leaks", 0), r.get("corruptions", 0)


@case("check: same findings as qemu-img on damaged images; -r all repairs")
def t_check_parity(tmp):
    for damage in ("leak", "corruption", "both"):
        img = os.path.join(tmp, f"d-{damage}.qcow2")
        run("qemu-img", "create", "-q", "-f", "qcow2", img, "4M")
        run("qemu-io", "-c", "write -P 1 0 256k", img)
        if damage in ("leak", "both"):
            set_refcount(img, 40, 1)     # past the end: leaked
            set_refcount(img, 1, 2)      # refcount table: leaked once
        if damage in ("corruption", "both"):
            set_refcount(img, 5, 0)      # a data cluster: counted 0
        want = check_counts("qemu-img", img)
        got = check_counts(KIMG, img)
        if want != got:
            raise AssertionError(f"{damage}: qemu-img {want}, kvmpc {got}")
        run(KIMG, "check", "-q", "-r", "all", img, check=False)
        qemu_check_clean(img)


@case("info and map --output=json agree with qemu-img")
def t_info_map(tmp):
    base = os.path.join(tmp, "ib.qcow2")
    top = os.path.join(tmp, "it.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", base, "4M")
    run("qemu-io", "-c", "write -P 1 0 64k", "-c", "write -P 2 1M 128k", base)
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "ib.qcow2", "-F",
        "qcow2", "-o", "compression_type=zstd", top)
    run("qemu-io", "-c", "write -P 3 64k 64k", "-c", "write -z 2M 64k", top)
    run("qemu-img", "snapshot", "-c", "snap", top)
    for img in (base, top):
        k = json.loads(run(KIMG, "info", "--output=json", img).stdout)
        q = json.loads(run("qemu-img", "info", "--output=json", img).stdout)
        for key in ("actual-size",):
            k.pop(key, None)
            q.pop(key, None)
        if k != q:
            raise AssertionError(f"info {img}:\nkvmpc {k}\nqemu  {q}")
        km = json.loads(run(KIMG, "map", "--output=json", img).stdout)
        qm = json.loads(run("qemu-img", "map", "--output=json", img).stdout)
        if km != qm:
            raise AssertionError(f"map {img}:\nkvmpc {km}\nqemu  {qm}")
    hk = run(KIMG, "map", top).stdout
    hq = run("qemu-img", "map", top).stdout
    assert hk == hq, (hk, hq)


def qemu_read(img, pattern, off, length):
    """qemu-io reads pattern at [off, off+length) of img, or raises."""
    p = run("qemu-io", "-c", f"read -P {pattern} {off} {length}", img)
    if "Pattern verification failed" in p.stdout + p.stderr:
        raise AssertionError(f"{img}: {off}+{length} is not {pattern}")


def infos_agree(img):
    """kvmpc-img info --output=json equals qemu-img's (snapshots too),
    and snapshot -l prints what qemu-img snapshot -l prints."""
    k = json.loads(run(KIMG, "info", "--output=json", img).stdout)
    q = json.loads(run("qemu-img", "info", "--output=json", img).stdout)
    k.pop("actual-size", None)
    q.pop("actual-size", None)
    if k != q:
        raise AssertionError(f"info {img}:\nkvmpc {k}\nqemu  {q}")
    kl = run(KIMG, "snapshot", "-l", img).stdout
    ql = run("qemu-img", "snapshot", "-l", img).stdout
    if kl != ql:
        raise AssertionError(f"snapshot -l {img}:\nkvmpc {kl}\nqemu  {ql}")
    return q


def fails_one_line(*cmd):
    p = run(*cmd, check=False)
    lines = p.stderr.strip().splitlines()
    if p.returncode != 1 or len(lines) != 1 or \
            not lines[0].startswith("kvmpc-img: "):
        raise AssertionError(f"{' '.join(cmd)}: rc={p.returncode} "
                             f"stderr={p.stderr!r}")
    return lines[0]


SNAP_VARIANTS = {"v3": "cluster_size=64k", "v2": "compat=0.10",
                 "small": "cluster_size=512", "rc64": "refcount_bits=64"}


@case("snapshot: kvmpc-img -c/-a/-d interoperate with qemu-img's")
def t_snapshots(tmp):
    for variant, o in SNAP_VARIANTS.items():
        img = os.path.join(tmp, f"s-{variant}.qcow2")
        run("qemu-img", "create", "-q", "-f", "qcow2", "-o", o, img, "4M")
        run("qemu-io", "-c", "write -P 1 0 1M", "-c", "write -P 1 3M 64k",
            img)
        run(KIMG, "snapshot", "-c", "k1", img)          # kvmpc makes one
        qemu_check_clean(img)
        run("qemu-io", "-c", "write -P 2 0 512k", "-c", "write -z 3M 64k",
            img)
        run("qemu-img", "snapshot", "-c", "q2", img)    # qemu makes one
        run("qemu-io", "-c", "write -P 3 256k 4k", img)
        run(KIMG, "snapshot", "-c", "k3", img)
        qemu_check_clean(img)
        q = infos_agree(img)
        names = [sn["name"] for sn in q.get("snapshots", [])]
        if names != ["k1", "q2", "k3"]:
            raise AssertionError(f"{variant}: snapshots {names}")
        fails_one_line(KIMG, "snapshot", "-c", "k1", img)   # taken
        # qemu-img reverts to kvmpc's snapshot, kvmpc to qemu's
        run("qemu-img", "snapshot", "-a", "k1", img)
        qemu_read(img, 1, 0, "1M")
        qemu_read(img, 1, "3M", "64k")
        run(KIMG, "snapshot", "-a", "q2", img)
        qemu_check_clean(img)
        qemu_read(img, 2, 0, "512k")
        qemu_read(img, 1, "512k", "512k")
        qemu_read(img, 0, "3M", "64k")
        run(KIMG, "snapshot", "-a", "k3", img)
        qemu_read(img, 3, "256k", "4k")
        qemu_check_clean(img)
        # deleting: kvmpc deletes qemu's and its own, qemu deletes kvmpc's
        run(KIMG, "snapshot", "-d", "q2", img)
        qemu_check_clean(img)
        run("qemu-img", "snapshot", "-d", "k1", img)
        qemu_check_clean(img)
        run(KIMG, "snapshot", "-d", "3", img)            # by id
        qemu_check_clean(img)
        fails_one_line(KIMG, "snapshot", "-d", "k3", img)   # gone
        fails_one_line(KIMG, "snapshot", "-a", "nope", img)
        infos_agree(img)
        qemu_read(img, 3, "256k", "4k")
        # every reference the snapshots took is back: a writable image
        # whose clusters are all COPIED again (kvmpc-img check agrees)
        rc, leaks, corr = check_counts(KIMG, img)
        if rc or leaks or corr:
            raise AssertionError(f"{variant}: kvmpc check {rc} {leaks} "
                                 f"{corr}")


@case("snapshot: compressed, backing file, 1-bit refcounts, writes after")
def t_snapshot_more(tmp):
    r = os.path.join(tmp, "c.raw")
    make_raw(r, 4 << 20, 5)
    img = os.path.join(tmp, "c.qcow2")
    run("qemu-img", "convert", "-c", "-O", "qcow2", "-o", "cluster_size=4k",
        r, img)
    run(KIMG, "snapshot", "-c", "c", img)
    run(KIO, img, "write", "0", "64k", "7", "zero", "1M", "8k")
    qemu_check_clean(img)
    run("qemu-img", "snapshot", "-a", "c", img)
    run("qemu-img", "compare", "-q", r, img)
    run(KIMG, "snapshot", "-d", "c", img)
    qemu_check_clean(img)
    run("qemu-img", "compare", "-q", r, img)
    # over a backing file
    base = os.path.join(tmp, "b.qcow2")
    top = os.path.join(tmp, "t.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", base, "2M")
    run("qemu-io", "-c", "write -P 4 0 2M", base)
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "b.qcow2", "-F",
        "qcow2", top)
    run("qemu-io", "-c", "write -P 5 64k 64k", top)
    run(KIMG, "snapshot", "-c", "t", top)
    run("qemu-io", "-c", "write -P 6 0 2M", top)
    run(KIMG, "snapshot", "-a", "t", top)
    qemu_check_clean(top)
    qemu_read(top, 4, 0, "64k")
    qemu_read(top, 5, "64k", "64k")
    qemu_read(top, 4, "128k", "1920k")
    # 1-bit refcounts cannot count a second reference: a clean refusal,
    # the image unchanged and clean
    one = os.path.join(tmp, "one.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "refcount_bits=1",
        one, "1M")
    run("qemu-io", "-c", "write -P 1 0 128k", one)
    before = open(one, "rb").read()
    fails_one_line(KIMG, "snapshot", "-c", "x", one)
    if open(one, "rb").read() != before:
        raise AssertionError("refused snapshot changed the image")
    qemu_check_clean(one)


def twins(tmp, name, make):
    """Two identical images, k (for kvmpc-img) and q (for qemu-img)."""
    k = os.path.join(tmp, f"{name}-k.qcow2")
    q = os.path.join(tmp, f"{name}-q.qcow2")
    make(k)
    shutil.copy(k, q)
    return k, q


def same_as_twin(k, q):
    qemu_check_clean(k)
    run("qemu-img", "compare", "-q", k, q)
    ki = json.loads(run("qemu-img", "info", "--output=json", k).stdout)
    qi = json.loads(run("qemu-img", "info", "--output=json", q).stdout)
    if ki["virtual-size"] != qi["virtual-size"]:
        raise AssertionError(f"{k}: size {ki['virtual-size']} != "
                             f"{qi['virtual-size']}")
    infos_agree(k)


@case("resize: grow (L1 growth), shrink, refusals; as qemu-img resize")
def t_resize(tmp):
    def make(o):
        def f(path):
            run("qemu-img", "create", "-q", "-f", "qcow2", "-o", o, path,
                "8M")
            run("qemu-io", "-c", "write -P 1 0 8M", path)
        return f
    steps = [(["+56M"], ["+56M"]), (["--shrink", "5000k"], ["--shrink",
             "5000k"]), (["128M"], ["128M"]), (["--shrink", "1M"],
             ["--shrink", "1M"]), (["-512k"], None)]
    for o in ("cluster_size=512", "cluster_size=64k", "compat=0.10"):
        k, q = twins(tmp, "r", make(o))
        run("qemu-io", "-c", "write -P 2 7M 1M", k)
        shutil.copy(k, q)
        for kargs, qargs in steps:
            if qargs is None:
                fails_one_line(KIMG, "resize", k, *kargs)
                continue
            run(KIMG, "resize", "-q", k, *kargs)
            run("qemu-img", "resize", "-q", q, *qargs)
            same_as_twin(k, q)
        # write past the old end after growing, read back through qemu
        run(KIMG, "resize", "-q", k, "+3M")
        run(KIO, k, "write", "3M", "64k", "9")
        qemu_read(k, 9, "3M", "64k")
        qemu_check_clean(k)
    # with a snapshot (v3): grow and shrink, then revert brings back the
    # snapshot's size and data
    k, q = twins(tmp, "rs", make("cluster_size=4k"))
    run("qemu-img", "snapshot", "-c", "s", k)
    run(KIMG, "resize", "-q", k, "64M")
    run(KIMG, "resize", "-q", "--shrink", k, "2M")
    qemu_check_clean(k)
    run(KIMG, "snapshot", "-a", "s", k)
    qemu_check_clean(k)
    if json.loads(run("qemu-img", "info", "--output=json",
                      k).stdout)["virtual-size"] != 8 << 20:
        raise AssertionError("revert did not restore the size")
    qemu_read(k, 1, 0, "8M")
    # v2 with snapshots: refused as qemu-img refuses it
    v2 = os.path.join(tmp, "v2.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", v2,
        "1M")
    run("qemu-img", "snapshot", "-c", "s", v2)
    fails_one_line(KIMG, "resize", v2, "2M")
    # raw
    raw = os.path.join(tmp, "r.raw")
    run(KIMG, "create", "-q", "-f", "raw", raw, "1M")
    run(KIMG, "resize", "-q", "-f", "raw", raw, "+1M")
    assert os.path.getsize(raw) == 2 << 20


def chain_maker(size_top, base_writes, top_writes):
    def f(top):
        d, name = os.path.split(top)
        base = os.path.join(d, "base-" + name)
        run("qemu-img", "create", "-q", "-f", "qcow2", base, "4M")
        run("qemu-io", *sum((["-c", w] for w in base_writes), []), base)
        run("qemu-img", "create", "-q", "-f", "qcow2", "-b",
            os.path.basename(base), "-F", "qcow2", top, size_top)
        run("qemu-io", *sum((["-c", w] for w in top_writes), []), top)
    return f


def base_of(top):
    d, name = os.path.split(top)
    return os.path.join(d, "base-" + name)


@case("commit: into the backing file, as qemu-img commit (and -d)")
def t_commit(tmp):
    make = chain_maker("6M", ["write -P 1 0 4M"],
                       ["write -P 2 64k 100k", "write -z 1M 128k",
                        "write -P 3 5M 64k"])
    for extra in ([], ["-d"]):
        tag = "d" if extra else "e"
        k, q = twins(tmp, "c" + tag, make)
        shutil.copy(base_of(k), base_of(q))
        # the twin must point at its own base
        run("qemu-img", "rebase", "-u", "-b", os.path.basename(base_of(q)),
            "-F", "qcow2", q)
        run(KIMG, "commit", "-q", *extra, k)
        run("qemu-img", "commit", "-q", *extra, q)
        same_as_twin(k, q)
        same_as_twin(base_of(k), base_of(q))
        km = json.loads(run("qemu-img", "map", "--output=json", k).stdout)
        qm = json.loads(run("qemu-img", "map", "--output=json", q).stdout)
        for e in km + qm:
            e.pop("offset", None)
            if e["zero"]:       # a zero range: a zero cluster (qemu) or
                e.pop("present")    # unallocated without backing (kvmpc)
        if km != qm:
            raise AssertionError(f"commit {extra}: map {km} != {qm}")
    nob = os.path.join(tmp, "nob.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", nob, "1M")
    fails_one_line(KIMG, "commit", nob)


@case("rebase: safe, onto nothing, and -u, as qemu-img rebase")
def t_rebase(tmp):
    make = chain_maker("6M", ["write -P 1 0 4M"], ["write -P 2 64k 100k"])
    k, q = twins(tmp, "rb", make)
    for img in (k, q):
        new = os.path.join(tmp, "new-" + os.path.basename(img))
        run("qemu-img", "create", "-q", "-f", "qcow2", new, "2M")
        run("qemu-io", "-c", "write -P 1 0 1M", "-c", "write -P 5 1M 1M",
            new)
    shutil.copy(base_of(k), base_of(q))
    run("qemu-img", "rebase", "-u", "-b", os.path.basename(base_of(q)),
        "-F", "qcow2", q)
    for target in ("new-", ""):
        kb = target and target + os.path.basename(k)
        qb = target and target + os.path.basename(q)
        run(KIMG, "rebase", "-q", "-b", kb, *(["-F", "qcow2"] if kb else []),
            k)
        run("qemu-img", "rebase", "-q", "-b", qb,
            *(["-F", "qcow2"] if qb else []), q)
        same_as_twin(k, q)
        info = json.loads(run("qemu-img", "info", "--output=json", k).stdout)
        if info.get("backing-filename", "") != kb:
            raise AssertionError(f"rebase: backing {info}")
    # unsafe: only the name changes
    data = open(k, "rb").read()
    run(KIMG, "rebase", "-u", "-b", "elsewhere.qcow2", "-F", "qcow2", k)
    info = json.loads(run("qemu-img", "info", "--output=json", k).stdout)
    if info.get("backing-filename") != "elsewhere.qcow2" or \
            info.get("backing-filename-format") != "qcow2":
        raise AssertionError(f"rebase -u: {info}")
    if len(open(k, "rb").read()) != len(data):
        raise AssertionError("rebase -u changed more than the header")
    run(KIMG, "rebase", "-u", "-b", "", k)
    qemu_check_clean(k)
    same_content(k)


@case("convert -m: 1 and 16 requests in flight give the same clean image")
def t_convert_inflight(tmp):
    src = os.path.join(tmp, "m.raw")
    make_raw(src, 24 << 20, 9)
    with open(src, "r+b") as f:       # plus long data runs (2 MiB chunks)
        f.seek(3 << 20)
        f.write(random.Random(9).randbytes(9 << 20))
    for m in ("1", "3", "16"):
        for o in ("cluster_size=64k", "cluster_size=4k"):
            img = os.path.join(tmp, f"m{m}.qcow2")
            run(KIMG, "convert", "-m", m, "-O", "qcow2", "-o", o, src, img)
            qemu_check_clean(img)
            run("qemu-img", "compare", "-q", src, img)
    raw = os.path.join(tmp, "m.out")
    run(KIMG, "convert", "-m", "16", "-O", "raw", src, raw)
    run("qemu-img", "compare", "-q", "-f", "raw", "-F", "raw", src, raw)
    for bad in ("0", "17", "x"):
        fails_one_line(KIMG, "convert", "-m", bad, "-O", "qcow2", src, raw)


@case("check -r all rewrites wrong COPIED flags (L1 and L2), as qemu-img")
def t_check_copied(tmp):
    for variant in ("cleared", "set-on-shared"):
        img = os.path.join(tmp, f"cp-{variant}.qcow2")
        run("qemu-img", "create", "-q", "-f", "qcow2", img, "4M")
        run("qemu-io", "-c", "write -P 1 0 256k", img)
        if variant == "set-on-shared":
            run("qemu-img", "snapshot", "-c", "s", img)
        with open(img, "r+b") as f:
            f.seek(40)
            l1 = struct.unpack(">Q", f.read(8))[0]
            f.seek(l1)
            l1e = struct.unpack(">Q", f.read(8))[0]
            l2 = l1e & 0x00fffffffffffe00
            f.seek(l2 + 8)
            l2e = struct.unpack(">Q", f.read(8))[0]
            flip = 1 << 63
            f.seek(l1)
            f.write(struct.pack(">Q", l1e ^ flip))
            f.seek(l2 + 8)
            f.write(struct.pack(">Q", l2e ^ flip))
        want = check_counts("qemu-img", img)
        got = check_counts(KIMG, img)
        if want != got or not want[2]:
            raise AssertionError(f"{variant}: qemu-img {want}, kvmpc {got}")
        p = run(KIMG, "check", "-r", "all", img, check=False)
        if p.returncode:
            raise AssertionError(f"{variant}: check -r all -> "
                                 f"{p.returncode} {p.stdout} {p.stderr}")
        qemu_check_clean(img)
        qemu_read(img, 1, 0, "256k")
        if variant == "set-on-shared":      # the snapshot is still intact
            run(KIO, img, "write", "0", "64k", "2")
            qemu_check_clean(img)
            run("qemu-img", "snapshot", "-a", "s", img)
            qemu_read(img, 1, 0, "256k")


@case("compare: kvmpc-img compare answers as qemu-img compare")
def t_compare(tmp):
    """The same lines and exit status as Debian's qemu-img for identical
    images of two formats, a differing sector, a zero or non-zero tail of
    a longer image, strict mode, a backing chain, -q, and a missing file
    (2, an error)."""
    run("qemu-img", "create", "-q", "-f", "raw", "a.raw", "4M")
    run("qemu-img", "create", "-q", "-f", "qcow2", "b.qcow2", "4M")
    run("qemu-img", "create", "-q", "-f", "raw", "long.raw", "6M")
    run("qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", "4M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 7 64k 128k", "base.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F",
        "qcow2", "top.qcow2")
    run("qemu-img", "convert", "-O", "raw", "base.qcow2", "flat.raw")
    steps = [
        (None, ["a.raw", "b.qcow2"]),
        (None, ["-f", "raw", "-F", "qcow2", "-s", "a.raw", "b.qcow2"]),
        (None, ["b.qcow2", "long.raw"]),
        (None, ["-s", "b.qcow2", "long.raw"]),
        (None, ["top.qcow2", "flat.raw"]),
        (None, ["top.qcow2", "b.qcow2"]),
        ("write -P 1 1000 10", ["a.raw", "b.qcow2"]),
        ("write -P 1 1000 10", ["-q", "a.raw", "b.qcow2"]),
        ("write -P 2 5M 512", ["b.qcow2", "long.raw"]),
        (None, ["b.qcow2", "missing.raw"]),
    ]
    for write, args in steps:
        if write:
            target = "long.raw" if "5M" in write else "a.raw"
            run("qemu-io", "-f", "raw", "-c", write, target)
        k = run(KIMG, "compare", *args, check=False)
        q = run("qemu-img", "compare", *args, check=False)
        if (k.returncode, k.stdout) != (q.returncode, q.stdout):
            raise AssertionError(f"compare {' '.join(args)}: kvmpc-img "
                                 f"{k.returncode} {k.stdout!r}, qemu-img "
                                 f"{q.returncode} {q.stdout!r}")


@case("measure: kvmpc-img measure answers as qemu-img measure")
def t_measure(tmp):
    """The same numbers, lines and JSON as Debian's qemu-img for a qcow2
    with data and a sub-cluster write, a sparse raw, a backing chain (and
    a new backing file: all clusters counted), persistent bitmaps (made
    by qemu-img bitmap), v2, other cluster sizes and refcount widths,
    --size, raw output, and the two usage errors."""
    run("qemu-img", "create", "-q", "-f", "qcow2", "m1.qcow2", "100M")
    run("qemu-io", "-f", "qcow2", "-c", "write 0 1M", "-c", "write 50M 64k",
        "-c", "write 70001 3", "m1.qcow2")
    run("qemu-img", "create", "-q", "-f", "raw", "m2.raw", "10M")
    run("qemu-io", "-f", "raw", "-c", "write 1M 100k", "m2.raw")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "m1.qcow2", "-F",
        "qcow2", "mt.qcow2")
    run("qemu-io", "-f", "qcow2", "-c", "write 2M 4k", "mt.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "mb.qcow2", "64M")
    run("qemu-img", "bitmap", "--add", "mb.qcow2", "b0")
    run("qemu-img", "bitmap", "--add", "-g", "4096", "mb.qcow2",
        "bitmap-with-a-longer-name")
    cases = [
        ["-O", "qcow2", "m1.qcow2"],
        ["-O", "qcow2", "--output=json", "m1.qcow2"],
        ["-O", "raw", "m1.qcow2"], ["m1.qcow2"],
        ["-O", "qcow2", "m2.raw"],
        ["-O", "qcow2", "-o", "compat=0.10", "m1.qcow2"],
        ["-O", "qcow2", "mt.qcow2"],
        ["-O", "qcow2", "-o", "backing_file=m1.qcow2,backing_fmt=qcow2",
         "mt.qcow2"],
        ["-O", "qcow2", "mb.qcow2"],
        ["-O", "qcow2", "--output=json", "mb.qcow2"],
        ["-O", "qcow2", "-o", "cluster_size=512", "mb.qcow2"],
        ["-O", "qcow2", "--size", "1G"],
        ["-O", "qcow2", "-o", "cluster_size=4k", "--size", "1G"],
        ["-O", "qcow2", "-o", "refcount_bits=1", "--size", "1G"],
        ["-O", "qcow2", "-o", "cluster_size=2M", "--size", "100G"],
        ["-O", "qcow2", "--size", "3T"], ["--size", "1000", "-O", "qcow2"],
        ["--size", "1G", "-O", "raw"],
        [], ["--size", "1G", "m1.qcow2"],
    ]
    for args in cases:
        k = run(KIMG, "measure", *args, check=False)
        q = run("qemu-img", "measure", *args, check=False)
        if (k.returncode, k.stdout) != (q.returncode, q.stdout):
            raise AssertionError(f"measure {' '.join(args)}: kvmpc-img "
                                 f"{k.returncode} {k.stdout!r} "
                                 f"{k.stderr!r}, qemu-img {q.returncode} "
                                 f"{q.stdout!r}")
        if q.returncode and \
                q.stderr.split(": ", 1)[-1] != k.stderr.split(": ", 1)[-1]:
            raise AssertionError(f"measure {' '.join(args)}: {k.stderr!r} "
                                 f"vs {q.stderr!r}")


def same_result(tool_args, k, q):
    """Exit status, stdout and stderr (past the program name) agree."""
    norm = [(p.returncode, p.stdout,
             p.stderr.replace("kvmpc-img", "qemu-img")) for p in (k, q)]
    if norm[0] != norm[1]:
        raise AssertionError(f"{' '.join(tool_args)}:\nkvmpc-img {norm[0]!r}"
                             f"\nqemu-img  {norm[1]!r}")


def snapshot_raw(img, snap, out):
    run("qemu-img", "convert", "-l", snap, "-O", "raw", img, out)
    with open(out, "rb") as f:
        return f.read()


@case("amend: kvmpc-img amend answers and changes images as qemu-img's")
def t_amend(tmp):
    """Twins amended by each tool: the same status and messages (errors,
    -o help), and on success an image qemu-img check finds clean, that
    reads as before (snapshots too) and whose info equals qemu-img's
    result: downgrade with zero clusters (plain, allocated, over a
    backing file, in a snapshot's shared table), zstd, refcount widths
    up and down (and one too narrow for a snapshot's refcount 2), upgrade
    with lazy refcounts, size, backing file, and QEMU's refusals."""
    # (4k clusters: qemu-img 7.2 takes 0.8 s for any refcount width
    # change with 64k clusters)
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k",
        "a.qcow2", "4M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 5 0 128k", "-c",
        "write -z 1M 128k", "-c", "write -P 6 2M 64k", "-c",
        "write -z 2M 64k", "-c", "write -c -P 9 3M 64k", "a.qcow2")
    run("qemu-img", "snapshot", "-c", "s1", "a.qcow2")
    run("qemu-io", "-f", "qcow2", "-c", "write -z 0 64k", "-c",
        "write -P 7 1M 64k", "a.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", "4M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 1 0 4M", "base.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F",
        "qcow2", "top.qcow2")
    run("qemu-io", "-f", "qcow2", "-c", "write -z 0 128k", "-c",
        "write -z -u 1M 64k", "top.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o",
        "compression_type=zstd", "zs.qcow2", "4M")
    run("qemu-io", "-f", "qcow2", "-c", "write -c -P 3 0 64k", "zs.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10",
        "v2.qcow2", "4M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 5 0 128k", "v2.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o",
        "refcount_bits=8,cluster_size=4k", "r8.qcow2", "4M")
    # (each kvmpc-img start costs 0.15 s under ASan: few, dense cases)
    cases = [
        ("a.qcow2", ["-o", "compat=0.10"]),
        ("a.qcow2", ["-o", "refcount_bits=1"]),
        ("a.qcow2", ["-o", "refcount_bits=64", "-o",
                     "size=8M,lazy_refcounts=on"]),
        ("a.qcow2", ["-o", "cluster_size=4k"]),
        ("a.qcow2", ["-o", "help"]),
        ("top.qcow2", ["-q", "-o", "compat=v2"]),
        ("top.qcow2", ["-o", "backing_file=other.qcow2"]),
        ("zs.qcow2", ["-o", "compat=0.10"]),
        ("v2.qcow2", ["-o", "compat=1.1,lazy_refcounts=on"]),
        ("r8.qcow2", ["-o", "compat=0.10"]),
    ]
    for img, args in cases:
        k, q = "k-" + img, "q-" + img
        shutil.copy(img, k)
        shutil.copy(img, q)
        kp = run(KIMG, "amend", *args, k, check=False)
        qp = run("qemu-img", "amend", *args, q, check=False)
        same_result(["amend", *args, img], kp, qp)
        if kp.returncode or "help" in args:
            continue
        qemu_check_clean(k)
        ki = json.loads(run("qemu-img", "info", "--output=json", k).stdout)
        qi = json.loads(run("qemu-img", "info", "--output=json", q).stdout)
        for i in (ki, qi):
            for key in ("actual-size", "filename", "dirty-flag"):
                i.pop(key, None)
        if ki != qi:
            raise AssertionError(f"amend {args} {img}:\n{ki}\n{qi}")
        # the data is the same (QEMU 7.2's own downgrade rewrites a
        # snapshot's shared zero cluster: compare with the original)
        run("qemu-img", "compare", "-q", k, img if "size" not in str(args)
            else q)
        if img == "a.qcow2":
            # (a grown image shows its snapshot at the new size)
            ks, orig = snapshot_raw(k, "s1", "ks.raw"), \
                snapshot_raw(img, "s1", "os.raw")
            if ks[:len(orig)] != orig or any(ks[len(orig):]):
                raise AssertionError(f"amend {args}: snapshot s1 changed")


@case("dd: kvmpc-img dd copies and answers as qemu-img dd")
def t_dd(tmp):
    """The same status and messages for copies with bs/count/skip (size
    suffixes, a count past the end, a skip past the end: a warning and
    an empty image), to raw and qcow2, and for bad operands; the outputs
    have qemu-img's size and content, and qcow2 ones check clean."""
    run("qemu-img", "create", "-q", "-f", "qcow2", "in.qcow2", "1M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 7 0 256k", "-c",
        "write -P 9 512k 4k", "-c", "write -P 3 900k 72k", "in.qcow2")
    cases = [
        [],
        ["-O", "qcow2", "bs=1k", "skip=512"],
        ["bs=256k", "count=3", "skip=1"],
        ["skip=100000"],
        ["bs=abc"],
    ]
    for args in cases:
        for out in ("k.img", "q.img"):
            if os.path.exists(out):
                os.unlink(out)
        kp = run(KIMG, "dd", *args, "if=in.qcow2", "of=k.img", check=False)
        qp = run("qemu-img", "dd", *args, "if=in.qcow2", "of=q.img",
                 check=False)
        kp.stderr = kp.stderr.replace("k.img", "OUT")
        qp.stderr = qp.stderr.replace("q.img", "OUT")
        same_result(["dd", *args], kp, qp)
        if kp.returncode:
            continue
        fmt = "qcow2" if "qcow2" in args else "raw"
        run("qemu-img", "compare", "-q", "-f", fmt, "-F", fmt, "k.img",
            "q.img")
        ksz, qsz = (json.loads(run("qemu-img", "info", "--output=json",
                                   "-f", fmt, x).stdout)["virtual-size"]
                    for x in ("k.img", "q.img"))
        if ksz != qsz:
            raise AssertionError(f"dd {args}: size {ksz} != {qsz}")
        if fmt == "qcow2":
            qemu_check_clean("k.img")


@case("bench: kvmpc-img bench prints qemu-img's lines, writes --pattern")
def t_bench(tmp):
    """A short write run at depth 4 with a step and an offset leaves the
    pattern byte where the requests went (read back by qemu-io) and
    nothing between; the lines have qemu-img bench's shape; option errors
    match qemu-img's."""
    run("qemu-img", "create", "-q", "-f", "qcow2", "b.qcow2", "1M")
    args = ["-w", "-c", "40", "-d", "4", "-s", "4k", "-S", "8k", "-o",
            "64k", "--pattern=0x5a", "--flush-interval=8", "-f", "qcow2"]
    kp = run(KIMG, "bench", *args, "b.qcow2")
    qp = run("qemu-img", "bench", *args, "b.qcow2")
    pat = re.compile(r"in [0-9]+\.[0-9]{3} seconds")
    if pat.sub("", kp.stdout) != pat.sub("", qp.stdout) or \
            len(kp.stdout.splitlines()) != 3:
        raise AssertionError(f"bench lines:\n{kp.stdout}\n{qp.stdout}")
    # 40 requests from 64k, every 8k: 4k of 0x5a, 4k untouched
    run("qemu-io", "-f", "qcow2", "-c", "read -P 0 0 64k", "-c",
        "read -P 0x5a 64k 4k", "-c", "read -P 0 68k 4k", "-c",
        "read -P 0x5a 376k 4k", "-c", "read -P 0 380k 644k", "b.qcow2")
    qemu_check_clean("b.qcow2")
    for bad in (["--pattern=300", "-w"], ["--flush-interval=2"]):
        same_result(["bench", *bad],
                    run(KIMG, "bench", *bad, "-f", "qcow2", "b.qcow2",
                        check=False),
                    run("qemu-img", "bench", *bad, "-f", "qcow2", "b.qcow2",
                        check=False))


@case("bitmap: kvmpc-img bitmap/convert --bitmaps vs qemu-img's; info, check")
def t_bitmap(tmp):
    """The same bitmap commands on twin images: the same exit status and
    error, the same info (human and JSON), both checks clean; measure
    counts the bitmaps as qemu-img does; convert --bitmaps checks and
    copies them as qemu-img's."""
    seq = [["--add", "bm1"], ["--add", "-g", "4096", "--disable", "bm2"],
           ["--add", "bm1"], ["--add", "-g", "1000", "bm3"],
           ["--merge", "bm1", "bm2"], ["--remove", "zz"], ["bm1"],
           ["--clear", "--enable", "bm2"], ["--remove", "-g", "512", "bm2"],
           ["--add", "-F", "qcow2", "bm2"], ["--add", "-b", "x", "bm2"],
           ["--add", "--remove", "bm4"], ["--add", "--disable", "bm5"],
           ["--merge", "bm2", "-b", "src.qcow2", "-F", "qcow2", "bm5"],
           ["--merge", "nope", "-b", "src.qcow2", "bm5"],
           ["--remove", "bm1"], ["--add", "-g", "2G", "huge"]]
    run("qemu-img", "create", "-q", "-f", "qcow2", "src.qcow2", "10M")
    run("qemu-img", "bitmap", "--add", "src.qcow2", "bm2")
    for img in ("k.qcow2", "q.qcow2"):
        run("qemu-img", "create", "-q", "-f", "qcow2", img, "10M")
        run("qemu-io", "-c", "write 0 100k", img)
    for args in seq:
        # the image name goes before the bitmap name
        k = run(KIMG, "bitmap", *args[:-1], "k.qcow2", args[-1], check=False)
        q = run("qemu-img", "bitmap", *args[:-1], "q.qcow2", args[-1],
                check=False)
        if k.returncode != q.returncode or \
                k.stderr.split(": ", 1)[-1] != q.stderr.split(": ", 1)[-1]:
            raise AssertionError(f"bitmap {' '.join(args)}: kvmpc-img "
                                 f"{k.returncode} {k.stderr!r}, qemu-img "
                                 f"{q.returncode} {q.stderr!r}")
    for out in ("human", "json"):
        k = run(KIMG, "info", "--output=" + out, "k.qcow2").stdout
        q = run("qemu-img", "info", "--output=" + out, "q.qcow2").stdout
        strip = [l for l in k.splitlines()
                 if "size" not in l and "k.qcow2" not in l]
        want = [l for l in q.splitlines()
                if "size" not in l and "q.qcow2" not in l]
        if strip != want:
            raise AssertionError(f"info --output={out}:\n{k}\nvs\n{q}")
    if "huge" not in k:
        raise AssertionError("the bitmaps are missing from info")
    qemu_check_clean("k.qcow2")
    # kvmpc-img check counts qemu-img's bitmap clusters (no leaks)
    c = run(KIMG, "check", "--output=json", "q.qcow2", check=False)
    if c.returncode or json.loads(c.stdout).get("leaks"):
        raise AssertionError(f"kvmpc-img check q.qcow2: {c.stdout}")
    k = run(KIMG, "measure", "--output=json", "-O", "qcow2", "q.qcow2")
    q = run("qemu-img", "measure", "--output=json", "-O", "qcow2", "q.qcow2")
    if json.loads(k.stdout) != json.loads(q.stdout):
        raise AssertionError(f"measure: {k.stdout} vs {q.stdout}")
    # convert --bitmaps: its checks, in qemu-img's order and words, and
    # the copies' bitmaps (their bits: qmp-bitmaps hashes them in QEMU)
    run("qemu-img", "create", "-q", "-f", "qcow2", "n.qcow2", "10M")
    run("qemu-img", "create", "-q", "-f", "raw", "r.raw", "1M")
    for args in (["--bitmaps", "-O", "qcow2", "q.qcow2", "OUT1"],
                 ["--bitmaps", "-O", "raw", "q.qcow2", "OUT2"],
                 ["--bitmaps", "-O", "qcow2", "-o", "compat=0.10", "q.qcow2",
                  "OUT3"],
                 ["--bitmaps", "-O", "qcow2", "r.raw", "OUT4"],
                 ["--skip-broken-bitmaps", "-O", "qcow2", "q.qcow2", "OUT5"]):
        k = run(KIMG, "convert", *[a.replace("OUT", "k") for a in args],
                check=False)
        q = run("qemu-img", "convert", *[a.replace("OUT", "q") for a in args],
                check=False)
        if k.returncode != q.returncode or \
                k.stderr.split(": ", 1)[-1] != q.stderr.split(": ", 1)[-1]:
            raise AssertionError(f"convert {' '.join(args)}: kvmpc-img "
                                 f"{k.returncode} {k.stderr!r}, qemu-img "
                                 f"{q.returncode} {q.stderr!r}")
    k = run("qemu-img", "info", "--output=json", "k1").stdout
    q = run("qemu-img", "info", "--output=json", "q1").stdout
    if json.loads(k)["format-specific"] != json.loads(q)["format-specific"]:
        raise AssertionError(f"convert --bitmaps: {k} vs {q}")
    qemu_check_clean("k1")


def main():
    if not shutil.which("qemu-img") or not shutil.which("qemu-io"):
        print("1..0 # SKIP qemu-img/qemu-io not installed (qemu-utils)")
        return 77
    print(f"1..{len(results)}")
    failed = 0
    for i, (name, fn) in enumerate(results, 1):
        with tempfile.TemporaryDirectory(prefix="kvmpc-interop-") as tmp:
            cwd = os.getcwd()
            os.chdir(tmp)
            try:
                fn(tmp)
                print(f"ok {i} - {name}")
            except Exception as e:     # report and go on with the next case
                failed += 1
                print(f"not ok {i} - {name}")
                for line in str(e).splitlines():
                    print(f"# {line}")
            finally:
                os.chdir(cwd)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
