#!/usr/bin/env python3
"""Regenerate the fuzz-migration seeds (fuzz/corpus/migration/seed-*).

    python3 fuzz/make-migration-seeds.py build/kvmpc [OUTDIR]

Each seed is a real migration stream of fuzz/fuzz-migration.c's machine,
written by the kvmpc given (docs/fuzzing.md "fuzz-migration"): the
machine_args of fuzz-migration.c (read from the source, so they cannot
drift), a -bios of 64 KiB of zeroes, -qtest and -qmp unix sockets; RAM
and registers are written through qtest, then the source migrates:

  seed-fresh      the machine as it starts, `migrate file:`
  seed-registers  device registers set (test_migration.py's
                  set_registers), `migrate file:`
  seed-sparse     six mostly-zero pages at 0x200000 (MIG_PAGE_SPARSE)
  seed-xbzrle     xbzrle on; 16 pages written, sent, rewritten while the
                  source waits before switchover, so the last pass sends
                  them again as XBZRLE deltas
  seed-multifd    multifd with 2 channels to a kvmpc destination through
                  a relay that records the main connection (file: cannot
                  carry multifd); its MULTIFD section follows the
                  configuration
  seed-postcopy   seed-fresh's header and configuration, then
                  POSTCOPY_ADVISE, POSTCOPY_LISTEN with a bitmap for each
                  block of that configuration, and POSTCOPY_RUN (postcopy
                  needs a socket and a live destination; the fuzzer's
                  stream in memory gets as far as the listen's bitmaps)

OUTDIR defaults to fuzz/corpus/migration next to this script.
"""
import os
import random
import re
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "qmp"))
from qmplib import QMP, Kvmpc, TestFailure, wait_for  # noqa: E402
from test_migration import b64write, set_registers  # noqa: E402
from test_timer_storm import QTest  # noqa: E402

BIOS_SIZE = 64 * 1024
PAGE = 4096

# savevm.h section kinds
SEC_CONFIG = 0x01
SEC_POSTCOPY_ADVISE = 0x0a
SEC_POSTCOPY_LISTEN = 0x0b
SEC_POSTCOPY_RUN = 0x0c


def machine_args():
    """fuzz-migration.c's machine_args, without argv[0]."""
    with open(os.path.join(HERE, "fuzz-migration.c")) as f:
        text = f.read()
    m = re.search(r"machine_args\[\]\s*=\s*\{(.*?)\};", text, re.S)
    if not m:
        raise TestFailure("machine_args not found in fuzz-migration.c")
    return re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))[1:]


class VM:
    """fuzz-migration's machine with qtest and QMP sockets."""

    def __init__(self, binary, extra=()):
        self.tmpdir = tempfile.mkdtemp(prefix="kvmpc-migseed-")
        bios = os.path.join(self.tmpdir, "bios.bin")
        with open(bios, "wb") as f:
            f.write(bytes(BIOS_SIZE))
        qtest = os.path.join(self.tmpdir, "qtest.sock")
        qmp = os.path.join(self.tmpdir, "qmp.sock")
        self.proc = Kvmpc(binary, machine_args() + [
            "-bios", bios, "-qtest-log", "none",
            "-qtest", "unix:%s,server=on" % qtest,
            "-qmp", "unix:%s,server=on,wait=off" % qmp] + list(extra),
            tmpdir=self.tmpdir, sandbox=False)
        self.proc.wait_socket(qtest)
        self.qt = QTest(qtest)
        self.proc.wait_socket(qmp)
        self.qmp = QMP(qmp)

    def path(self, name):
        return os.path.join(self.tmpdir, name)

    def q(self, line):
        return self.qt.cmd(line)[0]

    def caps(self, **kw):
        self.qmp.ret("migrate-set-capabilities", {"capabilities": [
            {"capability": k.replace("_", "-"), "state": v}
            for k, v in kw.items()]})

    def close(self):
        self.proc.close()


def wait_status(vm, want=("completed", "failed", "cancelled"), timeout=60):
    end = time.time() + timeout
    while True:
        info = vm.qmp.ret("query-migrate")
        if info.get("status") in want:
            return info
        if time.time() > end:
            raise TestFailure("migration stuck: %r" % info)
        time.sleep(0.02)


def migrate(vm, uri):
    vm.qmp.ret("migrate", {"uri": uri})
    info = wait_status(vm)
    if info["status"] != "completed":
        raise TestFailure("migrate %s: %r" % (uri, info))
    return info


def single_pass_seed(binary, out, prepare):
    vm = VM(binary)
    try:
        prepare(vm)
        migrate(vm, "file:" + out)
    finally:
        vm.close()


def prepare_fresh(vm):
    pass


def prepare_registers(vm):
    set_registers(vm, 0x1234567)


def prepare_sparse(vm):
    """Six pages with a few short runs of data: each is sent as its
    delta against a zero page (under MIG_SPARSE_MAX)."""
    rng = random.Random(6)
    for i in range(6):
        for run in range(3):
            data = bytes(rng.getrandbits(8) | 1 for _ in range(48))
            b64write(vm, 0x200000 + i * PAGE + run * 1024 + 8 * i, data)


def make_xbzrle(binary, out):
    """16 pages sent, then rewritten in part while the source waits
    before switchover: the last pass sends them as XBZRLE deltas."""
    rng = random.Random(3)
    area, pages = 0x400000, 16
    vm = VM(binary)
    try:
        b64write(vm, area, bytes(rng.getrandbits(8)
                                 for _ in range(pages * PAGE)))
        vm.caps(xbzrle=True, pause_before_switchover=True)
        vm.qmp.ret("migrate-set-parameters",
                   {"xbzrle-cache-size": 1 << 20})
        vm.qmp.ret("migrate", {"uri": "file:" + out})
        info = wait_status(vm, ("pre-switchover", "failed", "completed"))
        if info["status"] != "pre-switchover":
            raise TestFailure("xbzrle seed: %r" % info)
        for i in range(pages):
            data = bytes(rng.getrandbits(8) for _ in range(32))
            b64write(vm, area + i * PAGE + 256 + 16 * (i % 8), data)
        vm.qmp.ret("migrate-continue", {"state": "pre-switchover"})
        info = wait_status(vm)
        if info["status"] != "completed":
            raise TestFailure("xbzrle seed: %r" % info)
        cache = info.get("xbzrle-cache", {})
        if cache.get("pages", 0) < pages:
            raise TestFailure("xbzrle seed: pages not sent as deltas "
                              "(%r)" % cache)
    finally:
        vm.close()


class Relay:
    """A unix socket that relays every connection to @target both ways
    and keeps the bytes the first connection sent (the main stream)."""

    def __init__(self, path, target):
        self.target = target
        self.main = bytearray()
        self.main_done = threading.Event()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        self.conns = 0
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                a, _ = self.listener.accept()
            except OSError:
                return
            b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            b.connect(self.target)
            record = self.main if self.conns == 0 else None
            done = self.main_done if self.conns == 0 else None
            self.conns += 1
            threading.Thread(target=self.pump, args=(a, b, record, done),
                             daemon=True).start()
            threading.Thread(target=self.pump, args=(b, a, None, None),
                             daemon=True).start()

    @staticmethod
    def pump(src, dst, record, done):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record is not None:
                    record += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            if done:
                done.set()

    def close(self):
        self.listener.close()


def make_multifd(binary, out):
    src = VM(binary)
    dst = None
    relay = None
    try:
        dsock = src.path("dst.sock")
        dst = VM(binary, ["-incoming", "unix:" + dsock])
        wait_for(lambda: os.path.exists(dsock), what="incoming socket")
        for vm in (src, dst):
            vm.caps(multifd=True)
            vm.qmp.ret("migrate-set-parameters", {"multifd-channels": 2})
        b64write(src, 0x300000, bytes(random.Random(2).getrandbits(8)
                                      for _ in range(8 * PAGE)))
        relay = Relay(src.path("relay.sock"), dsock)
        migrate(src, "unix:" + src.path("relay.sock"))
        if not relay.main_done.wait(30):
            raise TestFailure("multifd seed: main stream did not end")
        if relay.conns != 3:
            raise TestFailure("multifd seed: %d connections, not 3" %
                              relay.conns)
        with open(out, "wb") as f:
            f.write(bytes(relay.main))
    finally:
        if relay:
            relay.close()
        if dst:
            dst.close()
        src.close()


def config_blocks(stream):
    """(header + CONFIG bytes, [pages of each RAM block]) of a stream."""
    if stream[:8] != b"KVMPCMIG" or stream[12] != SEC_CONFIG:
        raise TestFailure("not a kvmpc migration stream")
    (length,) = struct.unpack_from(">I", stream, 13)
    end = 17 + length
    cfg = stream[17:end]
    pos = 0

    def string():
        nonlocal pos
        (n,) = struct.unpack_from(">H", cfg, pos)
        pos += 2 + n
        return cfg[pos - n:pos]

    string()                            # machine type
    pos += 8 + 4                        # RAM size, CPUs
    (nblocks,) = struct.unpack_from(">I", cfg, pos)
    pos += 4
    pages = []
    for _ in range(nblocks):
        string()
        (size,) = struct.unpack_from(">Q", cfg, pos)
        pos += 8
        pages.append(size // PAGE)
    return stream[:end], pages


def make_postcopy(fresh, out):
    """seed-fresh's header and configuration, then ADVISE, LISTEN (every
    other byte of every other bitmap word marked) and RUN."""
    with open(fresh, "rb") as f:
        head, pages = config_blocks(f.read())
    body = bytearray([SEC_POSTCOPY_ADVISE, SEC_POSTCOPY_LISTEN])
    body += struct.pack(">I", len(pages))
    for n in pages:
        body += struct.pack(">Q", n)
        for w in range((n + 63) // 64):
            body += struct.pack(">Q", 0x00ff00ff00ff00ff if w % 2 == 0
                                else 0)
    body += bytes([SEC_POSTCOPY_RUN, 1])
    with open(out, "wb") as f:
        f.write(head + body)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: %s KVMPC [OUTDIR]" % sys.argv[0])
    binary = os.path.abspath(sys.argv[1])
    outdir = (sys.argv[2] if len(sys.argv) == 3
              else os.path.join(HERE, "corpus", "migration"))
    work = tempfile.mkdtemp(prefix="kvmpc-migseeds-")
    try:
        def seed(name):
            return os.path.join(work, name)
        single_pass_seed(binary, seed("seed-fresh"), prepare_fresh)
        single_pass_seed(binary, seed("seed-registers"), prepare_registers)
        single_pass_seed(binary, seed("seed-sparse"), prepare_sparse)
        make_xbzrle(binary, seed("seed-xbzrle"))
        make_multifd(binary, seed("seed-multifd"))
        make_postcopy(seed("seed-fresh"), seed("seed-postcopy"))
        os.makedirs(outdir, exist_ok=True)
        for name in sorted(os.listdir(work)):
            shutil.copyfile(seed(name), os.path.join(outdir, name))
            print("%-16s %7d bytes" % (name, os.path.getsize(seed(name))))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
