#!/usr/bin/env python3
"""iSCSI (block/iscsi.c) against Debian's tgt, the real peer.

  test-iscsi.py KVMPC KVMPC_IMG KVMPC_IO

Each case starts tgtd on 127.0.0.1 (a free port, a private control
port) with one target whose LUN 1 is a file the test made, and stops it
by its pid.  Through kvmpc-img (info, convert both ways), kvmpc-io
(unaligned writes, flush, UNMAP with and without thin provisioning, the
open-from-options entry, the target going away and coming back) and
kvmpc itself (-accel qtest, an IDE disk on the LUN driven by ATA READ
DMA / WRITE DMA / FLUSH CACHE), every result is compared with the
backing file.  TAP; every case SKIPs with the reason if tgtd cannot run.
"""
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blocklib import (CMD_READ_DMA, CMD_WRITE_DMA, ST_DRDY, ST_ERR,  # noqa
                      QTest, Skip, Tgtd, run, run_cases, tgt_missing)

KVMPC, KIMG, KIO = (os.path.abspath(a) for a in sys.argv[1:4])
SIZE = 16 << 20
cases = []


def case(fn):
    cases.append((fn.__name__.replace("_", "-"), fn))
    return fn


def pattern(n, seed):
    rnd = random.Random(seed)
    return bytes(rnd.getrandbits(8) for _ in range(n))


class Lun:
    """A backing file with data, served by tgtd."""

    def __init__(self, thin=True):
        why = tgt_missing()
        if why:
            raise Skip(why)
        self.dir = tempfile.TemporaryDirectory(prefix="test-iscsi-")
        self.path = os.path.join(self.dir.name, "lun.img")
        with open(self.path, "wb") as f:
            f.truncate(SIZE)
            f.seek(0)
            f.write(pattern(1 << 20, 1))
        self.tgt = Tgtd(self.path, thin=thin)

    def __enter__(self):
        self.tgt.start()
        return self

    def __exit__(self, *exc):
        self.tgt.stop()
        self.dir.cleanup()

    def content(self, off=0, n=SIZE):
        with open(self.path, "rb") as f:
            f.seek(off)
            return f.read(n)

    def blocks(self):
        return os.stat(self.path).st_blocks * 512


def kio(*args, url=None, check=True, **kw):
    return run(KIO, "-f", "raw", *(args if url is None else (url,) + args),
               check=check, **kw)


@case
def info_and_convert():
    with Lun() as lun:
        p = run(KIMG, "info", lun.tgt.url)
        assert f"virtual size: 16 MiB ({SIZE} bytes)" in p.stdout, p.stdout
        assert "file format: raw" in p.stdout, p.stdout
        # iSCSI -> local qcow2, compared by qemu-img (the peer)
        out = os.path.join(lun.dir.name, "copy.qcow2")
        run(KIMG, "convert", "-O", "qcow2", lun.tgt.url, out)
        run("qemu-img", "compare", "-f", "qcow2", "-F", "raw", out, lun.path)
        # local image -> the LUN (which exists: -n, no create)
        src = os.path.join(lun.dir.name, "src.raw")
        data = pattern(3 << 20, 2)
        with open(src, "wb") as f:
            f.truncate(SIZE)
            f.seek(5 << 20)
            f.write(data)
        run(KIMG, "convert", "-n", "-f", "raw", "-O", "raw", src,
            lun.tgt.url)
        assert lun.content(5 << 20, len(data)) == data
        assert lun.content(0, 1 << 20) == bytes(1 << 20)
        # creating an image on a LUN is not something kvmpc-img does
        p = run(KIMG, "create", "-f", "raw", lun.tgt.url, "1M", check=False)
        assert p.returncode != 0 and p.stderr.count("\n") == 1, p.stderr


@case
def write_flush_verify():
    with Lun() as lun:
        url = lun.tgt.url
        # unaligned offsets and lengths are bounced to 512-byte blocks
        kio("write", "1000", "3000", "0x5a", "flush",
            "write", "8M", "64k", "0xa5", "verify", "1000", "3000", "0x5a",
            url=url)
        assert lun.content(1000, 3000) == b"\x5a" * 3000
        assert lun.content(8 << 20, 65536) == b"\xa5" * 65536
        want = pattern(1 << 20, 1)
        assert lun.content(0, 1000) == want[:1000]
        assert lun.content(4000, 4096) == want[4000:8096]
        # past the end of the LUN
        p = kio("write", str(SIZE - 512), "1024", "1", url=url, check=False)
        assert p.returncode == 1 and "past the end" in p.stderr, p.stderr


@case
def unmap_thin():
    with Lun(thin=True) as lun:
        kio("write", "0", "8M", "0x11", "flush", url=lun.tgt.url)
        full = lun.blocks()
        kio("discard", "1M", "4M", "flush", url=lun.tgt.url)
        assert lun.content(1 << 20, 4 << 20) == bytes(4 << 20)
        assert lun.content(0, 1 << 20) == b"\x11" * (1 << 20)
        assert lun.blocks() <= full - (4 << 20) + (64 << 10), \
            (full, lun.blocks())


@case
def unmap_not_supported():
    with Lun(thin=False) as lun:
        kio("write", "0", "2M", "0x22", "discard", "0", "2M", "flush",
            url=lun.tgt.url)
        # no LBPU on the LUN: discard is a hint that does nothing
        assert lun.content(0, 2 << 20) == b"\x22" * (2 << 20)


@case
def open_from_options():
    with Lun() as lun:
        opts = (f"portal=127.0.0.1:{lun.tgt.port},target={Tgtd.IQN},lun=1,"
                f"transport=tcp,initiator-name=iqn.2024-01.org.kvmpc:test")
        run(KIO, "-f", "raw", "--iscsi", opts, "write", "2M", "4k", "0x33",
            "verify", "2M", "4k", "0x33")
        assert lun.content(2 << 20, 4096) == b"\x33" * 4096
        p = run(KIO, "--iscsi", opts.replace("tcp", "iser"), "flush",
                check=False)
        assert "transport 'iser' is not supported" in p.stderr, p.stderr


@case
def login_errors():
    with Lun() as lun:
        bad = lun.tgt.url.replace(Tgtd.IQN, "iqn.2024-01.org.kvmpc:nosuch")
        p = run(KIMG, "info", bad, check=False)
        assert p.returncode == 1 and "cannot log in to target" in p.stderr \
            and p.stderr.count("\n") == 1, p.stderr
        p = run(KIMG, "info", "iscsi://127.0.0.1/nolun", check=False)
        assert p.returncode == 1 and "invalid iSCSI URL" in p.stderr, p.stderr


def kio_waiting(url, *ops):
    proc = subprocess.Popen([KIO, "-f", "raw", url] + list(ops),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "waiting", proc.stderr.read()
    return proc


@case
def target_goes_away():
    with Lun() as lun:
        proc = kio_waiting(lun.tgt.url, "write", "0", "64k", "0x44", "wait",
                           "write", "64k", "64k", "0x45")
        lun.tgt.stop()
        t0 = time.time()
        out, err = proc.communicate("go\n", timeout=120)
        assert proc.returncode == 1, (proc.returncode, err)
        assert "iSCSI target" in err and err.count("\n") == 1, err
        assert time.time() - t0 < 90


@case
def reconnect():
    with Lun() as lun:
        proc = kio_waiting(lun.tgt.url, "write", "0", "64k", "0x46", "flush",
                           "wait", "write", "64k", "64k", "0x47", "flush",
                           "verify", "0", "64k", "0x46")
        # the target restarts on the same portal while the session is idle
        lun.tgt.stop()
        lun.tgt.start()
        out, err = proc.communicate("go\n", timeout=120)
        assert proc.returncode == 0, err
        assert lun.content(0, 128 << 10) == b"\x46" * 65536 + b"\x47" * 65536


@case
def ide_disk_on_lun():
    with Lun() as lun:
        qt = QTest(KVMPC, ["-drive", f"file={lun.tgt.url},format=raw,if=ide,"
                           "bus=0,unit=0,cache=writeback"])
        try:
            qt.ide_setup()
            st, got = qt.ata_dma(CMD_READ_DMA, 100, nsect=64)
            assert st & ST_ERR == 0, hex(st)
            assert got == lun.content(100 * 512, 64 * 512)
            data = pattern(32 * 512, 3)
            st, _ = qt.ata_dma(CMD_WRITE_DMA, 5000, data=data)
            assert st & ST_ERR == 0, hex(st)
            assert qt.ata_flush() == ST_DRDY | 0x10, "FLUSH CACHE failed"
            assert lun.content(5000 * 512, len(data)) == data
            st, got = qt.ata_dma(CMD_READ_DMA, 5000, nsect=32)
            assert got == data
        finally:
            rc = qt.quit()
        assert rc == 0, qt


@case
def ide_disk_on_blockdev_iscsi():
    """-blockdev driver=iscsi (QEMU's keys) under a raw node, on IDE."""
    with Lun() as lun:
        qt = QTest(KVMPC, [
            "-blockdev", f"driver=iscsi,node-name=lun,transport=tcp,"
            f"portal=127.0.0.1:{lun.tgt.port},target={Tgtd.IQN},lun=1",
            "-blockdev", "driver=raw,node-name=disk,file=lun",
            "-device", "ide-hd,drive=disk,bus=ide.0,unit=0"])
        try:
            qt.ide_setup()
            st, got = qt.ata_dma(CMD_READ_DMA, 300, nsect=16)
            assert st & ST_ERR == 0, hex(st)
            assert got == lun.content(300 * 512, 16 * 512)
            data = pattern(8 * 512, 7)
            st, _ = qt.ata_dma(CMD_WRITE_DMA, 7000, data=data)
            assert st & ST_ERR == 0, hex(st)
            assert qt.ata_flush() == ST_DRDY | 0x10, "FLUSH CACHE failed"
            assert lun.content(7000 * 512, len(data)) == data
        finally:
            rc = qt.quit()
        assert rc == 0, qt
        # bad keys: one line, QEMU's wording where it has one
        for spec, text in [
                ("driver=iscsi,node-name=x,transport=tcp,portal=127.0.0.1:1,"
                 "target=t,lun=999", "invalid lun 999"),
                ("driver=iscsi,node-name=x,transport=tcp,target=t",
                 "portal"),
                ("driver=iscsi,node-name=x,transport=tcp,portal=p,target=t,"
                 "password-secret=s", "go together"),
                ("driver=iscsi,node-name=x,transport=tcp,portal=p,target=t,"
                 "user=u,password-secret=nosuch", "No secret with id")]:
            p = run(KVMPC, "-accel", "qtest", "-nodefaults", "-display",
                    "none", "-blockdev", spec, check=False)
            assert p.returncode == 1 and text in p.stderr, (spec, p.stderr)


def encrypt_secret(master, plaintext):
    """libvirt's way: AES-256-CBC under the master key, base64 (openssl)."""
    import base64
    iv = os.urandom(16)
    p = subprocess.run(["openssl", "enc", "-aes-256-cbc", "-K", master.hex(),
                        "-iv", iv.hex()], input=plaintext,
                       capture_output=True, check=True)
    return (base64.b64encode(p.stdout).decode(),
            base64.b64encode(iv).decode())


def decrypts(master, data, iv):
    """Whether base64 @data under @master has padding kvmpc (and QEMU)
    accept: only the last byte is checked (1..16).  openssl's own check
    looks at every padding byte, so a key openssl refused could still
    start kvmpc, which then ran until the test's timeout."""
    import base64
    p = subprocess.run(["openssl", "enc", "-d", "-nopad", "-aes-256-cbc",
                        "-K", master.hex(), "-iv", base64.b64decode(iv).hex()],
                       input=base64.b64decode(data), capture_output=True,
                       check=True)
    return 1 <= p.stdout[-1] <= 16


@case
def chap_password_from_encrypted_secret():
    """CHAP login with the password in -object secret, encrypted under a
    master key secret (what libvirt passes); a wrong one fails to log in."""
    with Lun() as lun:
        lun.tgt.adm("--mode", "account", "--op", "new", "--user", "kvmpc",
                    "--password", "chap-secret-12")
        lun.tgt.adm("--mode", "account", "--op", "bind", "--tid", "1",
                    "--user", "kvmpc")
        master = os.urandom(32)
        keyfile = os.path.join(lun.dir.name, "master.key")
        with open(keyfile, "wb") as f:
            f.write(master)
        results = []
        for password in (b"chap-secret-12", b"wrong-password"):
            data, iv = encrypt_secret(master, password)
            args = [
                "-object", f"secret,id=masterKey0,format=raw,file={keyfile}",
                "-object", f"secret,id=sec0,data={data},keyid=masterKey0,"
                f"iv={iv},format=base64",
                "-blockdev", f"driver=iscsi,node-name=lun,transport=tcp,"
                f"portal=127.0.0.1:{lun.tgt.port},target={Tgtd.IQN},lun=1,"
                "user=kvmpc,password-secret=sec0",
                "-blockdev", "driver=raw,node-name=disk,file=lun",
                "-device", "ide-hd,drive=disk,bus=ide.0,unit=0"]
            if password == b"wrong-password":
                p = run(KVMPC, "-accel", "qtest", "-nodefaults", "-display",
                        "none", *args, check=False)
                assert p.returncode == 1, p.stderr
                results.append(p.stderr)
                continue
            qt = QTest(KVMPC, args)
            try:
                qt.ide_setup()
                st, got = qt.ata_dma(CMD_READ_DMA, 100, nsect=8)
                assert st & ST_ERR == 0, hex(st)
                assert got == lun.content(100 * 512, 8 * 512)
            finally:
                rc = qt.quit()
            assert rc == 0, qt
        assert "iscsi" in results[0].lower(), results[0]
        # a secret under the wrong key does not decrypt: a start-up error.
        # About 1 in 256 wrong keys still yields valid PKCS#7 padding (the
        # secret is then garbage, as in QEMU, and kvmpc would run on):
        # take one that openssl, too, cannot decrypt under the master key.
        while True:
            data, iv = encrypt_secret(os.urandom(32), b"chap-secret-12")
            if not decrypts(master, data, iv):
                break
        p = run(KVMPC, "-accel", "qtest", "-nodefaults", "-display", "none",
                "-object", f"secret,id=masterKey0,format=raw,file={keyfile}",
                "-object", f"secret,id=sec0,data={data},keyid=masterKey0,"
                f"iv={iv},format=base64", check=False)
        assert p.returncode == 1 and "padding" in p.stderr, p.stderr


if __name__ == "__main__":
    sys.exit(run_cases(cases))
