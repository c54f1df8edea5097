#!/usr/bin/env python3
"""Durability: what FLUSH CACHE acknowledged survives SIGKILL.

  test-durability.py KVMPC KVMPC_IMG KVMPC_IO

kvmpc (-accel qtest) with an IDE disk, cache=writeback, for raw and qcow2
images and aio=threads and aio=io_uring.  The test writes with ATA WRITE
DMA (overlapping ranges, new clusters and overwrites), issues FLUSH
CACHE, and as soon as the flush has completed kills kvmpc with SIGKILL
(so nothing in kvmpc runs after it: no cache write-back, no close).
Every write the flush covered must be in the image, and the qcow2 image
must pass `qemu-img check` (Debian's, the peer).  Also snapshot=on: the
image is unchanged after SIGKILL and no overlay file is left in $TMPDIR.
TAP; qcow2 cases SKIP without qemu-img, io_uring cases when the kernel
refuses io_uring.
"""
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blocklib import (CMD_READ_DMA, CMD_WRITE_DMA, ST_DRDY, ST_ERR,  # noqa
                      QTest, Skip, run, run_cases)

KVMPC, KIMG, KIO = (os.path.abspath(a) for a in sys.argv[1:4])
SECTORS = 16384                 # an 8 MiB disk
cases = []


def make_image(d, fmt):
    path = os.path.join(d, f"disk.{fmt}")
    if fmt == "qcow2":
        if not shutil.which("qemu-img"):
            raise Skip("qemu-img not installed (qemu-utils)")
        # small clusters: many L2 and refcount updates to lose
        run("qemu-img", "create", "-q", "-f", "qcow2", "-o",
            "cluster_size=4k", path, str(SECTORS * 512))
    else:
        with open(path, "wb") as f:
            f.truncate(SECTORS * 512)
    return path


def image_content(path, fmt, d):
    if fmt == "raw":
        with open(path, "rb") as f:
            return f.read()
    out = os.path.join(d, "content.raw")
    run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", path, out)
    with open(out, "rb") as f:
        data = f.read()
    os.unlink(out)
    return data


def qemu_check_clean(path):
    p = run("qemu-img", "check", "--output=json", path, check=False)
    r = json.loads(p.stdout) if p.stdout.strip() else {}
    # a leak is allowed (the worst a crash may leave); corruption is not
    if p.returncode not in (0, 3) or r.get("corruptions") or \
            r.get("check-errors"):
        raise AssertionError(f"qemu-img check: rc={p.returncode} "
                             f"{p.stdout.strip()} {p.stderr.strip()}")


def start(path, fmt, aio, extra="", args=()):
    env = dict(os.environ)
    qt = QTest(KVMPC, list(args) +
               ["-drive", f"file={path},format={fmt},if=ide,bus=0,"
                f"unit=0,cache=writeback,aio={aio}{extra}"], env=env)
    try:
        qt.ide_setup()
    except AssertionError as e:
        if "refused io_uring_setup" in str(e):
            raise Skip("the kernel refuses io_uring here: " + str(e))
        raise
    return qt


def durability(fmt, aio):
    def fn():
        rnd = random.Random(f"{fmt}-{aio}")
        with tempfile.TemporaryDirectory(prefix="test-durability-") as d:
            path = make_image(d, fmt)
            model = bytearray(SECTORS * 512)
            qt = start(path, fmt, aio)
            if aio == "io_uring":
                fds = f"/proc/{qt.proc.pid}/fd"
                links = [os.readlink(os.path.join(fds, f))
                         for f in os.listdir(fds)]
                assert any("io_uring" in ln for ln in links), links
            for rounds in range(3):
                for _ in range(40):
                    n = rnd.choice([1, 8, 9, 64, 128])
                    lba = rnd.randrange(0, SECTORS - n)
                    data = rnd.randbytes(n * 512)
                    st, _ = qt.ata_dma(CMD_WRITE_DMA, lba, data=data)
                    assert not st & ST_ERR, hex(st)
                    model[lba * 512:(lba + n) * 512] = data
                assert qt.ata_flush() == ST_DRDY | 0x10, "FLUSH CACHE"
            # the flush has completed: kill kvmpc now
            qt.kill()
            got = image_content(path, fmt, d)
            if got != bytes(model):
                bad = next(i for i in range(len(model))
                           if got[i] != model[i])
                raise AssertionError(f"flushed data lost at byte {bad} "
                                     f"(sector {bad // 512})")
            if fmt == "qcow2":
                qemu_check_clean(path)
    return fn


for fmt in ("raw", "qcow2"):
    for aio in ("threads", "io_uring"):
        cases.append((f"flush-then-sigkill/{fmt}/{aio}", durability(fmt, aio)))


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def snapshot(fmt, readonly, global_option=False):
    """snapshot=on, or (global_option) QEMU's -snapshot, which gives it to
    every -drive that does not say otherwise."""
    def fn():
        with tempfile.TemporaryDirectory(prefix="test-snapshot-") as d:
            tmp = os.path.join(d, "tmp")
            os.mkdir(tmp)
            path = make_image(d, fmt)
            run(KIO, "-f", fmt, path, "write", "0", "1M", "0x61")
            before = digest(path)
            os.environ["TMPDIR"] = tmp
            try:
                qt = start(path, fmt, "threads",
                           ("" if global_option else ",snapshot=on") +
                           (",readonly=on" if readonly else ""),
                           args=["-snapshot"] if global_option else [])
            finally:
                del os.environ["TMPDIR"]
            # the overlay is unlinked as soon as it is open
            assert os.listdir(tmp) == [], os.listdir(tmp)
            data = bytes([0x62]) * 16 * 512
            st, _ = qt.ata_dma(CMD_WRITE_DMA, 100, data=data)
            if readonly:
                assert st & ST_ERR, "a write to a read-only drive worked"
            else:
                assert not st & ST_ERR, hex(st)
                assert qt.ata_flush() == ST_DRDY | 0x10
                st, got = qt.ata_dma(CMD_READ_DMA, 100, nsect=16)
                assert got == data, "the overlay lost a write"
            st, got = qt.ata_dma(CMD_READ_DMA, 0, nsect=8)
            assert got == b"\x61" * 4096, "the image shows through"
            qt.kill()
            assert digest(path) == before, "snapshot=on wrote the image"
            assert os.listdir(tmp) == [], os.listdir(tmp)
            if fmt == "qcow2":
                qemu_check_clean(path)
    return fn


cases.append(("snapshot-sigkill/raw", snapshot("raw", False)))
cases.append(("snapshot-sigkill/qcow2", snapshot("qcow2", False)))
cases.append(("snapshot-readonly/raw", snapshot("raw", True)))
cases.append(("snapshot-option/qcow2", snapshot("qcow2", False, True)))


def snapshot_option_off():
    """-snapshot leaves a drive with snapshot=off writing its image."""
    with tempfile.TemporaryDirectory(prefix="test-snapshot-") as d:
        path = make_image(d, "raw")
        before = digest(path)
        qt = start(path, "raw", "threads", ",snapshot=off",
                   args=["-snapshot"])
        st, _ = qt.ata_dma(CMD_WRITE_DMA, 100, data=b"\x63" * 512)
        assert not st & ST_ERR, hex(st)
        assert qt.ata_flush() == ST_DRDY | 0x10
        qt.kill()
        assert digest(path) != before, "snapshot=off under -snapshot"


cases.append(("snapshot-option-off/raw", snapshot_option_off))

if __name__ == "__main__":
    sys.exit(run_cases(cases))
