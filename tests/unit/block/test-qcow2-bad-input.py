#!/usr/bin/env python3
"""Hostile qcow2 images: every case must give one clear error line naming
the image (`kvmpc-img: '<image>': ...`), a non-zero exit, no crash, and
leave the image byte-for-byte unchanged.

  test-qcow2-bad-input.py KVMPC_IMG KVMPC_IO

Images are made by qemu-img/qemu-io (skip, 77, without them) and then
damaged field by field (qcow2.txt offsets).  TAP output.
"""
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile

KIMG, KIO = (os.path.abspath(a) for a in sys.argv[1:3])
CS = 65536


def run(*cmd, check=True):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    if check and p.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr.strip()}")
    return p


def poke(path, off, fmt, value):
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(struct.pack(fmt, value))


def peek(path, off, fmt):
    with open(path, "rb") as f:
        f.seek(off)
        return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]


def l2_entry_offset(path):
    """File offset of the first L2 entry of the first L2 table."""
    l1 = peek(path, 40, ">Q")
    return peek(path, l1, ">Q") & 0x00fffffffffffe00


def with_bitmap(damage):
    """Add a bitmap with qemu-img (its table and directory after the
    data), then damage it: @damage(path, ext, dir) gets the file offsets
    of the bitmaps extension's data and of the directory."""
    def f(p):
        run("qemu-img", "bitmap", "--add", p, "b0")
        with open(p, "rb") as fh:
            hdr = fh.read(CS)
        ext = hdr.index(struct.pack(">I", 0x23852875)) + 8
        damage(p, ext, peek(p, ext + 16, ">Q"))
    return f


def truncate(n):
    def f(p):
        with open(p, "r+b") as fh:
            fh.truncate(n)
    return f


# (name, damage(path), commands that must fail)
INFO, READ, CHECK, WRITE = "info", "read", "check", "write"
# Commands that change metadata: like WRITE, they may set the corrupt bit.
SNAP, SHRINK = "snapshot", "shrink"
MODIFYING = (WRITE, SNAP, SHRINK)
CASES = [
    ("bad magic", lambda p: poke(p, 0, ">I", 0x514649fa), [INFO, READ]),
    ("version 1", lambda p: poke(p, 4, ">I", 1), [INFO, READ]),
    ("version 4", lambda p: poke(p, 4, ">I", 4), [INFO, READ]),
    ("cluster_bits 8", lambda p: poke(p, 20, ">I", 8), [INFO, READ]),
    ("cluster_bits 22", lambda p: poke(p, 20, ">I", 22), [INFO, READ]),
    ("huge size, small L1", lambda p: poke(p, 24, ">Q", 1 << 62),
     [INFO, READ]),
    ("size above 2^63", lambda p: poke(p, 24, ">Q", (1 << 64) - 512),
     [INFO, READ]),
    ("L1 of 2^28 entries", lambda p: poke(p, 36, ">I", 1 << 28),
     [INFO, READ]),
    ("L1 offset unaligned", lambda p: poke(p, 40, ">Q", 3 * CS + 8),
     [INFO, READ]),
    ("L1 in the header", lambda p: poke(p, 40, ">Q", 0), [INFO, READ]),
    ("L1 past the end", lambda p: poke(p, 40, ">Q", 1 << 40), [INFO, READ]),
    ("refcount table past the end", lambda p: poke(p, 48, ">Q", 1 << 45),
     [INFO, READ]),
    ("refcount table unaligned", lambda p: poke(p, 48, ">Q", CS + 512),
     [INFO, READ]),
    ("refcount table of 0 clusters", lambda p: poke(p, 56, ">I", 0),
     [INFO, READ]),
    ("refcount table of 2^31 clusters", lambda p: poke(p, 56, ">I", 1 << 31),
     [INFO, READ]),
    ("refcount table overlaps L1",
     lambda p: poke(p, 48, ">Q", peek(p, 40, ">Q")), [INFO, READ]),
    ("2^32-1 snapshots", lambda p: poke(p, 60, ">I", 0xffffffff),
     [INFO, READ]),
    ("snapshot table past the end",
     lambda p: (poke(p, 60, ">I", 1), poke(p, 64, ">Q", 1 << 40)),
     [INFO, READ]),
    ("encrypted", lambda p: poke(p, 32, ">I", 1), [INFO, READ]),
    ("unknown incompatible bit", lambda p: poke(p, 72, ">Q", 1 << 40),
     [INFO, READ]),
    ("external data file bit", lambda p: poke(p, 72, ">Q", 4), [INFO, READ]),
    ("compression bit without type", lambda p: poke(p, 72, ">Q", 8),
     [INFO, READ]),
    ("header_length 50", lambda p: poke(p, 100, ">I", 50), [INFO, READ]),
    ("header_length past the cluster", lambda p: poke(p, 100, ">I", CS * 2),
     [INFO, READ]),
    ("refcount_order 7", lambda p: poke(p, 96, ">I", 7), [INFO, READ]),
    ("backing name past the first cluster",
     lambda p: (poke(p, 8, ">Q", CS - 4), poke(p, 16, ">I", 100)),
     [INFO, READ]),
    ("backing name of 5000 bytes",
     lambda p: (poke(p, 8, ">Q", 512), poke(p, 16, ">I", 5000)),
     [INFO, READ]),
    ("header extension longer than the cluster",
     lambda p: (poke(p, 112, ">I", 0x12345678), poke(p, 116, ">I", 1 << 30)),
     [INFO, READ]),
    ("truncated to 50 bytes", truncate(50), [INFO, READ]),
    ("truncated inside the refcount table", truncate(CS + 100),
     [INFO, READ]),
    ("truncated before the L1 table", truncate(3 * CS), [INFO, READ]),
    ("L2 table offset unaligned",
     lambda p: poke(p, peek(p, 40, ">Q"), ">Q", (1 << 63) | (5 * CS + 512)),
     [READ, WRITE]),
    ("L2 table in the header",
     lambda p: poke(p, peek(p, 40, ">Q"), ">Q", (1 << 63) | 512),
     [READ, WRITE, SNAP, SHRINK]),
    ("data cluster unaligned",
     lambda p: poke(p, l2_entry_offset(p), ">Q", (1 << 63) | (9 * CS + 512)),
     [READ, WRITE]),
    ("data cluster in the header",
     lambda p: poke(p, l2_entry_offset(p), ">Q", (1 << 63) | 512),
     [READ, WRITE]),
    ("compressed cluster in the header",
     lambda p: poke(p, l2_entry_offset(p), ">Q", (1 << 62) | 100),
     [READ, WRITE]),
    ("compressed cluster of garbage",
     lambda p: poke(p, l2_entry_offset(p), ">Q", (1 << 62) | CS),
     [READ]),
    ("data cluster past the end of the file",
     lambda p: poke(p, l2_entry_offset(p), ">Q", (1 << 63) | (1 << 40)),
     [SNAP]),
    ("L2 table past the end of the file",
     lambda p: poke(p, peek(p, 40, ">Q"), ">Q", (1 << 63) | (1 << 40)),
     [SNAP, SHRINK]),
    ("snapshot L1 past the end of the file",
     lambda p: (run("qemu-img", "snapshot", "-c", "s", p),
                poke(p, peek(p, 64, ">Q"), ">Q", 1 << 40)),
     [INFO, READ, SNAP]),
    # the bitmaps extension (qcow2.txt "Bitmaps extension")
    ("bitmaps extension with 0 bitmaps",
     with_bitmap(lambda p, e, d: poke(p, e, ">I", 0)), [INFO, READ]),
    ("bitmap directory unaligned",
     with_bitmap(lambda p, e, d: poke(p, e + 16, ">Q", d + 8)),
     [INFO, READ]),
    ("bitmap directory past the end",
     with_bitmap(lambda p, e, d: poke(p, e + 16, ">Q", 1 << 40)),
     [INFO, READ]),
    ("bitmap directory of 1 GiB",
     with_bitmap(lambda p, e, d: poke(p, e + 8, ">Q", 1 << 30)),
     [INFO, READ]),
    ("bitmap directory over the L1 table",
     with_bitmap(lambda p, e, d: poke(p, e + 16, ">Q", peek(p, 40, ">Q"))),
     [INFO, READ]),
    ("bitmap granularity bits 40",
     with_bitmap(lambda p, e, d: poke(p, d + 17, ">B", 40)), [INFO, READ]),
    ("bitmap reserved flag",
     with_bitmap(lambda p, e, d: poke(p, d + 12, ">I", 0x102)),
     [INFO, READ]),
    ("bitmap name of 0 bytes",
     with_bitmap(lambda p, e, d: poke(p, d + 18, ">H", 0)), [INFO, READ]),
    ("bitmap table past the end",
     with_bitmap(lambda p, e, d: poke(p, d, ">Q", 1 << 40)), [INFO, READ]),
    ("bitmap table of 0 entries",
     with_bitmap(lambda p, e, d: poke(p, d + 8, ">I", 0)), [INFO, READ]),
    ("bitmap table over the refcount table",
     with_bitmap(lambda p, e, d: poke(p, d, ">Q", peek(p, 48, ">Q"))),
     [INFO, READ]),
    ("bitmap data cluster unaligned",
     with_bitmap(lambda p, e, d: poke(p, peek(p, d, ">Q"), ">Q",
                                      5 * CS + 8)), [INFO, READ]),
    ("refcount block unaligned",
     lambda p: poke(p, peek(p, 48, ">Q"), ">Q", 2 * CS + 8), [WRITE]),
]


def commands(img):
    out = os.path.join(os.path.dirname(img), "out.raw")
    return {
        INFO: [KIMG, "info", "-f", "qcow2", img],
        READ: [KIMG, "convert", "-f", "qcow2", "-O", "raw", img, out],
        CHECK: [KIMG, "check", "-f", "qcow2", img],
        # overwrites the first cluster and allocates at 1M
        WRITE: [KIO, "-f", "qcow2", img, "write", "0", "64k", "1",
                "write", "1M", "64k", "2"],
        SNAP: [KIMG, "snapshot", "-f", "qcow2", "-c", "new", img],
        SHRINK: [KIMG, "resize", "-f", "qcow2", "--shrink", img, "0"],
    }


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def one_line_error(p, img, what):
    err = p.stderr.strip()
    if p.returncode == 0:
        return f"{what}: succeeded"
    if p.returncode < 0 or "Sanitizer" in err or "assert" in err.lower():
        return f"{what}: crashed ({p.returncode}): {err[-300:]}"
    if "\n" in err or img not in err:
        return f"{what}: want one line naming {img}, got: {err!r}"
    return None


def check_case(tmp, base, name, damage, cmds):
    img = os.path.join(tmp, "bad.qcow2")
    shutil.copy(base, img)
    damage(img)
    before = digest(img)
    problems = []
    for what in cmds:
        if what in MODIFYING:       # each on the damaged image itself, not
            shutil.copy(base, img)  # on one an earlier command marked
            damage(img)             # corrupt
            before = digest(img)
        p = run(*commands(img)[what], check=False)
        problem = one_line_error(p, img, what)
        if problem:
            problems.append(problem)
        # Reads never write; a write may only set the corrupt bit
        # (qcow2.txt), and only on a version 3 image.
        if what not in MODIFYING and digest(img) != before:
            problems.append(f"{what}: the image was modified")
    # check must not crash either, whatever it finds
    p = run(*commands(img)[CHECK], check=False)
    if p.returncode < 0 or "Sanitizer" in p.stderr:
        problems.append(f"check crashed: {p.stderr[-300:]}")
    if CHECK not in cmds and not set(MODIFYING) & set(cmds) and \
            digest(img) != before:
        problems.append("check modified the image")
    return problems


def loop_cases(tmp):
    """Backing-file loops: a -> b -> a, and an image that backs itself."""
    a, b = os.path.join(tmp, "a.qcow2"), os.path.join(tmp, "b.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", a, "1M")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "a.qcow2",
        "-F", "qcow2", b, "1M")
    run("qemu-img", "rebase", "-q", "-u", "-b", "b.qcow2", "-F", "qcow2", a)
    problems = []
    for img in (a, b):
        before = digest(img)
        p = run(KIMG, "convert", "-O", "raw", img,
                os.path.join(tmp, "o.raw"), check=False)
        pr = one_line_error(p, img, "loop")
        if pr or "loop" not in p.stderr:
            problems.append(pr or p.stderr)
        if digest(img) != before:
            problems.append("loop: image modified")
    run("qemu-img", "rebase", "-q", "-u", "-b", "a.qcow2", "-F", "qcow2", a)
    p = run(KIMG, "info", "--backing-chain", a, check=False)
    if one_line_error(p, a, "self loop") or "loop" not in p.stderr:
        problems.append(f"self loop: {p.stderr!r}")
    return problems


def main():
    if not shutil.which("qemu-img") or not shutil.which("qemu-io"):
        print("1..0 # SKIP qemu-img/qemu-io not installed (qemu-utils)")
        return 77
    print(f"1..{len(CASES) + 1}")
    failed = 0
    with tempfile.TemporaryDirectory(prefix="kvmpc-bad-") as tmp:
        base = os.path.join(tmp, "base.qcow2")
        run("qemu-img", "create", "-q", "-f", "qcow2", base, "4M")
        run("qemu-io", "-c", "write -P 7 0 256k", base)
        for i, (name, damage, cmds) in enumerate(CASES, 1):
            problems = check_case(tmp, base, name, damage, cmds)
            failed += bool(problems)
            print(f"{'not ok' if problems else 'ok'} {i} - {name}")
            for pr in problems:
                print(f"# {pr}")
        problems = loop_cases(tmp)
        failed += bool(problems)
        print(f"{'not ok' if problems else 'ok'} {len(CASES) + 1} - "
              "backing file loops")
        for pr in problems:
            print(f"# {pr}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
