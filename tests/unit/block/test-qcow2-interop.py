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
