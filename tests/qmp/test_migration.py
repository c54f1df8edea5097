#!/usr/bin/env python3
"""Live migration between two kvmpc processes under -accel qtest (no
/dev/kvm needed): RAM patterns and device registers written through the
qtest protocol on the source are read back on the destination, over every
channel (tcp, unix, exec, file, fd); RAM dirtied while precopy runs; 20
hops in a row; faults (destination killed, mismatched configuration,
corrupt stream, cancel, blockers); postcopy (pages pulled through
userfaultfd as qtest reads them) and its recovery after a cut link; the
QMP and HMP commands and events.
See docs/migration.md."""
import base64
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (HMP, QMP, Kvmpc, TestFailure, check, check_eq,  # noqa
                    no_kvm, run_tests, wait_for)
from test_timer_storm import QTest  # noqa: E402

BASE = ["-machine", "pc", "-nodefaults", "-display", "none",
        "-accel", "qtest", "-qtest-log", "none", "-m", "64M",
        "-serial", "null", "-device", "pci-testdev,addr=5,id=td"]

# pci-testdev at 00:05.0: BAR1 (I/O) at 0xc000, its scratch register at
# 0xc0fc (kvmpc's test extension).
TESTDEV_CFG = 0x80000000 | (5 << 11)
TESTDEV_IO = 0xc000
TESTDEV_SCRATCH = TESTDEV_IO + 0xf0 + 12
HPET = 0xfed00000


class VM:
    """A kvmpc with qtest, QMP and HMP sockets in a private directory."""

    def __init__(self, binary, extra=(), pass_fds=(), base=BASE,
                 sandbox=True):
        self.tmpdir = tempfile.mkdtemp(prefix="kvmpc-mig-")
        qtest = os.path.join(self.tmpdir, "qtest.sock")
        qmp = os.path.join(self.tmpdir, "qmp.sock")
        hmp = os.path.join(self.tmpdir, "hmp.sock")
        self.proc = Kvmpc(binary, list(base) + [
            "-qtest", "unix:%s,server=on" % qtest,
            "-qmp", "unix:%s,server=on,wait=off" % qmp,
            "-monitor", "unix:%s,server=on,wait=off" % hmp] + list(extra),
            tmpdir=self.tmpdir, pass_fds=pass_fds, sandbox=sandbox)
        self.proc.wait_socket(qtest)
        self.qt = QTest(qtest)
        self.proc.wait_socket(qmp)
        self.qmp = QMP(qmp)
        self.proc.wait_socket(hmp)
        self.hmp = HMP.unix(hmp)
        self.hmp.read_until(HMP.PROMPT)

    def path(self, name):
        return os.path.join(self.tmpdir, name)

    def q(self, line):
        return self.qt.cmd(line)[0]

    def close(self):
        self.proc.close()


def b64write(vm, addr, data):
    vm.q("b64write 0x%x 0x%x %s" % (addr, len(data),
                                   base64.b64encode(data).decode()))


def b64read(vm, addr, size):
    reply = vm.q("b64read 0x%x 0x%x" % (addr, size))
    return base64.b64decode(reply.split()[1])


def fill_ram(vm, seed, chunks=((0x1000, 4096), (0x100000, 65536),
                               (0x2345000, 8192), (0x3fff000, 4096))):
    """Random data at a few places (the rest of RAM stays zero)."""
    rng = random.Random(seed)
    expect = {}
    for addr, size in chunks:
        data = bytes(rng.getrandbits(8) for _ in range(size))
        b64write(vm, addr, data)
        expect[addr] = data
    return expect


def check_ram(vm, expect):
    for addr, data in expect.items():
        got = b64read(vm, addr, len(data))
        check(got == data, "RAM at 0x%x differs after migration" % addr)


def set_registers(vm, val):
    """Serial scratch, an RTC CMOS byte, PCI config and a device register,
    the HPET main counter and timer 0 comparator."""
    vm.q("outb 0x3ff 0x%x" % (val & 0xff))
    vm.q("outb 0x70 0x34")
    vm.q("outb 0x71 0x%x" % ((val >> 8) & 0xff))
    vm.q("outl 0xcf8 0x%x" % (TESTDEV_CFG | 0x14))
    vm.q("outl 0xcfc 0x%x" % TESTDEV_IO)
    vm.q("outl 0xcf8 0x%x" % (TESTDEV_CFG | 0x04))
    vm.q("outw 0xcfc 0x1")
    vm.q("outl 0x%x 0x%x" % (TESTDEV_SCRATCH, val))
    vm.q("writeq 0x%x 0x%x" % (HPET + 0xf0, val * 3))
    vm.q("writeq 0x%x 0x%x" % (HPET + 0x108, val * 5))


def qval(vm, line):
    return int(vm.q(line).split()[1], 16)


def check_registers(vm, val):
    check_eq(qval(vm, "inb 0x3ff"), val & 0xff, "serial SCR")
    vm.q("outb 0x70 0x34")
    check_eq(qval(vm, "inb 0x71"), (val >> 8) & 0xff, "CMOS byte 0x34")
    vm.q("outl 0xcf8 0x%x" % (TESTDEV_CFG | 0x14))
    check_eq(qval(vm, "inl 0xcfc"), TESTDEV_IO | 1, "PCI BAR1")
    check_eq(qval(vm, "inl 0x%x" % TESTDEV_SCRATCH), val,
             "pci-testdev scratch")
    check_eq(qval(vm, "readq 0x%x" % (HPET + 0xf0)), val * 3,
             "HPET main counter")
    check_eq(qval(vm, "readq 0x%x" % (HPET + 0x108)) & 0xffffffff,
             (val * 5) & 0xffffffff, "HPET comparator")


def wait_status(qmp, want=("completed", "failed", "cancelled"),
                timeout=30):
    end = time.time() + timeout
    while True:
        info = qmp.ret("query-migrate")
        if info.get("status") in want:
            return info
        if time.time() > end:
            raise TestFailure("migration stuck: %r" % info)
        time.sleep(0.02)


def wait_incoming_done(vm, timeout=30):
    wait_for(lambda: vm.qmp.ret("query-status")["status"] != "inmigrate",
             timeout, "the destination to load the stream")


def migrate(src, uri, dst=None):
    src.qmp.ret("migrate", {"uri": uri})
    info = wait_status(src.qmp)
    check_eq(info["status"], "completed",
             "migration to %s (%r)" % (uri, info))
    if dst:
        wait_incoming_done(dst)
    return info


def transport_roundtrip(binary, make_uris):
    """make_uris(src, dst_tmpdir) -> (dest -incoming extra args, uri,
    pass_fds, after_start)."""
    src = VM(binary)
    dst = None
    try:
        expect = fill_ram(src, 1)
        set_registers(src, 0x1234567)
        dst_args, uri, fds, after = make_uris(src)
        dst = VM(binary, dst_args, pass_fds=fds)
        check_eq(dst.qmp.ret("query-status")["status"], "inmigrate",
                 "destination state")
        if after:
            after(src, dst)
        info = migrate(src, uri, dst)
        check(info["ram"]["duplicate"] > 10000, "zero pages detected")
        check(info["ram"]["normal"] >= 20, "normal pages sent")
        check_eq(src.qmp.ret("query-status")["status"], "postmigrate",
                 "source after migration")
        check_eq(dst.qmp.ret("query-status")["status"], "running",
                 "destination after migration")
        check_ram(dst, expect)
        check_registers(dst, 0x1234567)
        check_eq(dst.qmp.ret("query-migrate")["status"], "completed",
                 "destination query-migrate")
    finally:
        src.close()
        if dst:
            dst.close()


@no_kvm
def test_unix(binary):
    d = tempfile.mkdtemp(prefix="kvmpc-mig-sock-")
    sock = os.path.join(d, "mig.sock")
    transport_roundtrip(binary, lambda src: (
        ["-incoming", "unix:" + sock], "unix:" + sock, (),
        lambda s, t: wait_for(lambda: os.path.exists(sock))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port):
    def up():
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            return False
    # a probe connection would be taken as the stream: only check the
    # port is bound, through /proc
    def bound():
        with open("/proc/net/tcp") as f:
            return (":%04X" % port) in f.read()
    wait_for(bound, what="port %d" % port)


@no_kvm
def test_tcp(binary):
    port = free_port()
    uri = "tcp:127.0.0.1:%d" % port
    transport_roundtrip(binary, lambda src: (
        ["-incoming", uri], uri, (), lambda s, t: wait_listening(port)))


@no_kvm
def test_exec(binary):
    d = tempfile.mkdtemp(prefix="kvmpc-mig-exec-")
    f = os.path.join(d, "state")
    # the source's exec writes the file; the destination's exec reads it
    # (never under -sandbox: spawn=deny forbids exec:, in QEMU too)
    src = VM(binary, sandbox=False)
    dst = None
    try:
        expect = fill_ram(src, 2)
        set_registers(src, 0x2345678)
        migrate(src, "exec:cat > %s" % f)
        check(os.path.getsize(f) > 100000, "exec: wrote the stream")
        dst = VM(binary, ["-incoming", "exec:cat %s" % f], sandbox=False)
        wait_incoming_done(dst)
        check_ram(dst, expect)
        check_registers(dst, 0x2345678)
    finally:
        src.close()
        if dst:
            dst.close()


@no_kvm
def test_file_save_restore(binary):
    """migrate file: then -incoming file: (virsh save / restore); the VM
    was paused, so the restored one stays paused."""
    d = tempfile.mkdtemp(prefix="kvmpc-mig-file-")
    f = os.path.join(d, "saved")
    src = VM(binary)
    dst = None
    try:
        expect = fill_ram(src, 3)
        set_registers(src, 0x3456789)
        src.qmp.ret("stop")
        migrate(src, "file:" + f)
        dst = VM(binary, ["-incoming", "file:" + f])
        wait_incoming_done(dst)
        check_eq(dst.qmp.ret("query-status")["status"], "paused",
                 "restored from a paused source")
        check_ram(dst, expect)
        check_registers(dst, 0x3456789)
        dst.qmp.ret("cont")
        check_eq(dst.qmp.ret("query-status")["status"], "running", "cont")
    finally:
        src.close()
        if dst:
            dst.close()


@no_kvm
def test_fd(binary):
    """getfd (SCM_RIGHTS on the QMP socket) on the source, an inherited
    descriptor (-incoming fd:N) on the destination."""
    a, b = socket.socketpair()
    src = VM(binary)
    dst = None
    try:
        expect = fill_ram(src, 4)
        set_registers(src, 0x4567890)
        dst = VM(binary, ["-incoming", "fd:%d" % b.fileno()],
                 pass_fds=(b.fileno(),))
        b.close()
        err = src.qmp.error("getfd", {"fdname": "mig"})
        check("SCM_RIGHTS" in err["desc"], "getfd without an fd: %r" % err)
        req = b'{"execute": "getfd", "arguments": {"fdname": "mig"}}\n'
        socket.send_fds(src.qmp.sock, [req], [a.fileno()])
        check_eq(src.qmp.recv_reply(), {"return": {}}, "getfd")
        a.close()
        migrate(src, "fd:mig", dst)
        check_ram(dst, expect)
        check_registers(dst, 0x4567890)
        err = src.qmp.error("closefd", {"fdname": "mig"})
        check("not found" in err["desc"], "the fd was used: %r" % err)
    finally:
        src.close()
        if dst:
            dst.close()


@no_kvm
def test_defer(binary):
    """-incoming defer, then migrate-incoming."""
    d = tempfile.mkdtemp(prefix="kvmpc-mig-defer-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary)
    dst = VM(binary, ["-incoming", "defer"])
    try:
        expect = fill_ram(src, 5)
        check_eq(dst.qmp.ret("query-status")["status"], "inmigrate",
                 "deferred destination")
        dst.qmp.ret("migrate-incoming", {"uri": "unix:" + sock})
        err = dst.qmp.error("migrate-incoming", {"uri": "unix:" + sock})
        check("already" in err["desc"], "second migrate-incoming: %r" % err)
        wait_for(lambda: os.path.exists(sock))
        migrate(src, "unix:" + sock, dst)
        check_ram(dst, expect)
    finally:
        src.close()
        dst.close()


@no_kvm
def test_autostart(binary):
    """A destination started with -S stays paused; 'cont' while it waits
    makes it run once loaded (QEMU's autostart)."""
    for cont in (False, True):
        d = tempfile.mkdtemp(prefix="kvmpc-mig-S-")
        sock = os.path.join(d, "mig.sock")
        src = VM(binary)
        dst = VM(binary, ["-S", "-incoming", "unix:" + sock])
        try:
            wait_for(lambda: os.path.exists(sock))
            if cont:
                dst.qmp.ret("cont")
                check_eq(dst.qmp.ret("query-status")["status"], "inmigrate",
                         "cont while waiting")
            migrate(src, "unix:" + sock, dst)
            check_eq(dst.qmp.ret("query-status")["status"],
                     "running" if cont else "paused", "-S destination")
        finally:
            src.close()
            dst.close()


@no_kvm
def test_late_block_activate(binary):
    """libvirt's destination: -S, late-block-activate and return-path on.
    Loaded, the paused destination leaves the shared image alone (no
    lock: qemu-img can open it) until 'cont' takes it."""
    qemu_img = shutil.which("qemu-img")
    if not qemu_img:
        print("SKIP test_late_block_activate: qemu-img not installed")
        return
    d = tempfile.mkdtemp(prefix="kvmpc-mig-late-")
    sock = os.path.join(d, "mig.sock")
    img = os.path.join(d, "disk.qcow2")
    subprocess.run([qemu_img, "create", "-q", "-f", "qcow2", img, "16M"],
                   check=True)
    disk = ["-drive", "file=%s,format=qcow2,if=ide" % img]

    def img_free():
        return subprocess.run([qemu_img, "info", img], capture_output=True,
                              text=True).returncode == 0
    src = VM(binary, disk)
    dst = VM(binary, disk + ["-S", "-incoming", "defer"])
    try:
        caps = [{"capability": c, "state": True}
                for c in ("late-block-activate", "return-path")]
        dst.qmp.ret("migrate-set-capabilities", {"capabilities": caps})
        src.qmp.ret("migrate-set-capabilities",
                    {"capabilities": caps[1:]})
        check(not img_free(), "the source holds the image")
        dst.qmp.ret("migrate-incoming", {"uri": "unix:" + sock})
        wait_for(lambda: os.path.exists(sock))
        migrate(src, "unix:" + sock, dst)
        check_eq(dst.qmp.ret("query-status")["status"], "paused",
                 "-S destination")
        check(img_free(), "nobody holds the image before cont")
        dst.qmp.ret("cont")
        check(not img_free(), "the destination took the image at cont")
    finally:
        src.close()
        dst.close()
        shutil.rmtree(d, ignore_errors=True)


@no_kvm
def test_dirty_during_precopy(binary):
    """RAM written while precopy runs is sent again: several passes,
    convergence, and the destination ends up with the last values."""
    d = tempfile.mkdtemp(prefix="kvmpc-mig-dirty-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary)
    dst = VM(binary, ["-incoming", "unix:" + sock])
    try:
        rng = random.Random(7)
        big = bytes(rng.getrandbits(8) for _ in range(4 << 20))
        b64write(src, 0x400000, big)
        src.qmp.ret("migrate-set-parameters", {"max-bandwidth": 8 << 20})
        # pause-before-switchover: qtest writes (which a stopped VM does
        # not stop) end before the last pass, so all of them must arrive
        src.qmp.ret("migrate-set-capabilities", {"capabilities": [
            {"capability": "events", "state": True},
            {"capability": "pause-before-switchover", "state": True}]})
        wait_for(lambda: os.path.exists(sock))
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        expect = {}
        writes = 0
        while True:
            info = src.qmp.ret("query-migrate")
            if info["status"] not in ("setup", "active"):
                break
            # dirty pages across the big area and elsewhere
            addr = 0x400000 + rng.randrange(0, 4 << 20, 4096)
            data = bytes(rng.getrandbits(8) for _ in range(64))
            b64write(src, addr, data)
            expect[addr] = data
            writes += 1
            time.sleep(0.01)
        check_eq(info["status"], "pre-switchover", "status (%r)" % info)
        src.qmp.ret("migrate-continue", {"state": "pre-switchover"})
        info = wait_status(src.qmp)
        check_eq(info["status"], "completed", "status (%r)" % info)
        check(writes >= 5, "qtest wrote while precopy ran (%d)" % writes)
        check(info["ram"]["dirty-sync-count"] >= 3,
              "more than one pass (%r)" % info["ram"])
        passes = [e for e in src.qmp.events
                  if e["event"] == "MIGRATION_PASS"]
        check(len(passes) >= 2, "MIGRATION_PASS events")
        wait_incoming_done(dst)
        whole = bytearray(big)
        for addr, data in expect.items():
            off = addr - 0x400000
            whole[off:off + len(data)] = data
        got = b64read(dst, 0x400000, len(whole))
        check(got == bytes(whole), "RAM equal after dirtying")
        # max-bandwidth held: 4 MiB at 8 MiB/s takes at least ~0.4 s
        check(info["total-time"] >= 350, "rate limit (%r ms)" %
              info["total-time"])
    finally:
        src.close()
        dst.close()


@no_kvm
def test_twenty_hops(binary):
    """The same machine migrates 20 times in a row; the state written at
    the start and a counter bumped at every hop survive."""
    d = tempfile.mkdtemp(prefix="kvmpc-mig-hops-")
    cur = VM(binary)
    try:
        expect = fill_ram(cur, 9)
        set_registers(cur, 0x600d)
        for hop in range(20):
            sock = os.path.join(d, "hop%d.sock" % hop)
            nxt = VM(binary, ["-incoming", "unix:" + sock])
            wait_for(lambda: os.path.exists(sock))
            cur.q("writel 0x8000 0x%x" % hop)
            migrate(cur, "unix:" + sock, nxt)
            cur.close()
            cur = nxt
            check_eq(qval(cur, "readl 0x8000"), hop, "hop counter")
        check_ram(cur, expect)
        check_registers(cur, 0x600d)
    finally:
        cur.close()


@no_kvm
def test_destination_killed(binary):
    """The destination dies mid-stream: the source fails the migration,
    runs on, and its RAM is intact."""
    d = tempfile.mkdtemp(prefix="kvmpc-mig-kill-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary)
    dst = VM(binary, ["-incoming", "unix:" + sock])
    try:
        rng = random.Random(11)
        big = bytes(rng.getrandbits(8) for _ in range(2 << 20))
        b64write(src, 0x400000, big)
        src.qmp.ret("migrate-set-parameters", {"max-bandwidth": 1 << 20})
        wait_for(lambda: os.path.exists(sock))
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        wait_for(lambda: src.qmp.ret("query-migrate")["ram"]["transferred"]
                 > 100000, what="some RAM sent")
        dst.proc.kill()
        info = wait_status(src.qmp)
        check_eq(info["status"], "failed", "status")
        check("error-desc" in info, "error-desc given: %r" % info)
        check_eq(src.qmp.ret("query-status")["status"], "running",
                 "the source resumes")
        check(b64read(src, 0x400000, len(big)) == big, "source RAM intact")
        # and it can migrate again
        src.qmp.ret("migrate-set-parameters", {"max-bandwidth": 1 << 30})
        f = os.path.join(d, "again")
        migrate(src, "file:" + f)
    finally:
        src.close()
        dst.close()


def refused(binary, src_extra, dst_extra, want, base=BASE):
    """The destination refuses the stream with one clear line and exit
    status 1; the source hears it and resumes."""
    d = tempfile.mkdtemp(prefix="kvmpc-mig-cfg-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary, src_extra, base=base)
    dst = VM(binary, ["-incoming", "unix:" + sock] + dst_extra, base=base)
    try:
        wait_for(lambda: os.path.exists(sock))
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        info = wait_status(src.qmp)
        check_eq(info["status"], "failed", "source status")
        check_eq(src.qmp.ret("query-status")["status"], "running",
                 "the source resumes")
        check_eq(dst.proc.wait(), 1, "destination exit status")
        err = dst.proc.stderr()
        lines = [line for line in err.splitlines()
                 if line.startswith("kvmpc: load of migration failed")]
        check_eq(len(lines), 1, "one error line in %r" % err)
        check(want in lines[0], "%r names %r" % (lines[0], want))
        return lines[0]
    finally:
        src.close()
        dst.close()


@no_kvm
def test_config_mismatch(binary):
    refused(binary, [], ["-m", "128M"],
            "RAM size (-m) is 64 MiB on the source, 128 MiB here")
    refused(binary, ["-device", "pci-testdev,addr=6"], [],
            "(pci-testdev) of the source does not exist here")
    refused(binary, [], ["-device", "pci-testdev,addr=6,id=extra"],
            "device '/machine/peripheral/extra' (pci-testdev) here is not "
            "in the source's configuration")


@no_kvm
def test_hotplugged_rom_device(binary):
    """A NIC hot-plugged on the source, cold-plugged on the destination
    (what libvirt does: the destination's command line has it) and
    created there in another order: its ROM is the same RAM block on both
    sides (blocks are matched by name: PCI path and type, as QEMU's),
    and the migration completes."""
    d = tempfile.mkdtemp(prefix="kvmpc-mig-hp-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary, ["-device", "VGA,addr=6,id=vga"])
    dst = None
    try:
        src.qmp.ret("device_add", {"driver": "e1000", "id": "nic",
                                   "addr": "7"})
        expect = fill_ram(src, 4)
        dst = VM(binary, ["-device", "e1000,addr=7,id=nic",
                          "-device", "VGA,addr=6,id=vga",
                          "-incoming", "unix:" + sock])
        wait_for(lambda: os.path.exists(sock))
        migrate(src, "unix:" + sock, dst)
        check_ram(dst, expect)
    finally:
        src.close()
        if dst:
            dst.close()


def run_corrupt(binary, path, want):
    dst = Kvmpc(binary, BASE + ["-incoming", "file:" + path])
    try:
        check_eq(dst.wait(), 1, "exit status for " + want)
        err = dst.stderr()
        lines = [line for line in err.splitlines()
                 if line.startswith("kvmpc: load of migration failed")]
        check_eq(len(lines), 1, "one error line in %r" % err)
        check(want in lines[0], "%r names %r" % (lines[0], want))
    finally:
        dst.close()


@no_kvm
def test_corrupt_stream(binary):
    d = tempfile.mkdtemp(prefix="kvmpc-mig-bad-")
    good = os.path.join(d, "good")
    src = VM(binary)
    try:
        fill_ram(src, 13)
        migrate(src, "file:" + good)
    finally:
        src.close()
    data = open(good, "rb").read()

    def variant(name, blob):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(blob)
        return p
    run_corrupt(binary, variant("magic", b"XXXXXXXX" + data[8:]),
                "bad magic")
    run_corrupt(binary, variant("version", data[:8] + b"\0\0\0\x63" +
                                data[12:]), "version 99")
    run_corrupt(binary, variant("short", data[:len(data) // 2]),
                "ended early")
    run_corrupt(binary, variant("empty", b""), "ended early")
    # a RAM section aimed past its block
    cfg_len = int.from_bytes(data[13:17], "big")
    ram = 17 + cfg_len
    while data[ram] != 0x02:        # skip PASS sections
        ram += 5
    bad = bytearray(data)
    bad[ram + 9:ram + 17] = (0x7fff0000000 | 2).to_bytes(8, "big")
    run_corrupt(binary, variant("page", bytes(bad)), "corrupt migration")
    # an unknown section kind
    bad = bytearray(data)
    bad[ram] = 0x42
    run_corrupt(binary, variant("kind", bytes(bad)), "unknown section 0x42")


@no_kvm
def test_cancel(binary):
    d = tempfile.mkdtemp(prefix="kvmpc-mig-cancel-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary)
    dst = VM(binary, ["-incoming", "unix:" + sock])
    try:
        rng = random.Random(17)
        b64write(src, 0x400000, bytes(rng.getrandbits(8)
                                      for _ in range(2 << 20)))
        src.qmp.ret("migrate-set-parameters", {"max-bandwidth": 1 << 20})
        src.qmp.ret("migrate-set-capabilities", {"capabilities": [
            {"capability": "events", "state": True}]})
        wait_for(lambda: os.path.exists(sock))
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        err = src.qmp.error("migrate", {"uri": "unix:" + sock})
        check("in progress" in err["desc"], "second migrate: %r" % err)
        src.qmp.ret("migrate_cancel")
        info = wait_status(src.qmp)
        check_eq(info["status"], "cancelled", "status")
        src.qmp.wait_event("MIGRATION")
        states = [e["data"]["status"] for e in src.qmp.events
                  if e["event"] == "MIGRATION"]
        check("cancelled" in states, "MIGRATION cancelled event %r" % states)
        check_eq(src.qmp.ret("query-status")["status"], "running",
                 "running after cancel")
        check_eq(dst.proc.wait(), 1, "the destination gives up")
    finally:
        src.close()
        dst.close()


@no_kvm
def test_blocker(binary):
    src = VM(binary, ["-device", "pci-testdev,addr=6,x-migration-blocker="
                      "test device holds host state"])
    try:
        err = src.qmp.error("migrate", {"uri": "file:/dev/null"})
        check_eq(err["desc"], "test device holds host state", "refusal")
        info = src.qmp.ret("query-migrate")
        check_eq(info.get("blocked-reasons"),
                 ["test device holds host state"], "blocked-reasons")
        check_eq(src.qmp.ret("query-status")["status"], "running", "state")
    finally:
        src.close()


@no_kvm
def test_capabilities_and_parameters(binary):
    vm = VM(binary)
    try:
        caps = {c["capability"]: c["state"]
                for c in vm.qmp.ret("query-migrate-capabilities")}
        for name in ("xbzrle", "zero-blocks", "auto-converge", "multifd",
                     "postcopy-ram", "pause-before-switchover", "events",
                     "return-path", "late-block-activate"):
            check_eq(caps.get(name), False, "capability " + name)
        for name in ("zero-blocks", "postcopy-preempt"):
            err = vm.qmp.error("migrate-set-capabilities", {
                "capabilities": [{"capability": name, "state": True}]})
            check("not supported" in err["desc"] and name in err["desc"],
                  "refused %s: %r" % (name, err))
        vm.qmp.ret("migrate-set-capabilities", {"capabilities": [
            {"capability": "events", "state": True},
            {"capability": "pause-before-switchover", "state": True}]})
        caps = {c["capability"]: c["state"]
                for c in vm.qmp.ret("query-migrate-capabilities")}
        check(caps["events"] and caps["pause-before-switchover"], "set")
        p = vm.qmp.ret("query-migrate-parameters")
        check("block-bitmap-mapping" not in p, "no mapping set yet: %r" % p)
        check_eq(p["downtime-limit"], 300, "default downtime-limit")
        check_eq(p["max-bandwidth"], 128 << 20, "default max-bandwidth")
        check_eq(p["multifd-compression"], "none", "multifd-compression")
        vm.qmp.ret("migrate-set-parameters", {
            "downtime-limit": 50, "max-bandwidth": 10 << 20,
            "multifd-channels": 4, "multifd-compression": "zstd",
            "cpu-throttle-initial": 30, "cpu-throttle-increment": 5})
        p = vm.qmp.ret("query-migrate-parameters")
        check_eq((p["downtime-limit"], p["max-bandwidth"],
                  p["multifd-channels"], p["multifd-compression"],
                  p["cpu-throttle-initial"], p["cpu-throttle-increment"]),
                 (50, 10 << 20, 4, "zstd", 30, 5), "parameters")
        # QEMU 7.2 keeps a mapping that was set, [] too (an empty list is
        # not an absent one), and so does a node's empty bitmaps list
        for mapping in ([{"node-name": "n", "alias": "a", "bitmaps": []}],
                        []):
            vm.qmp.ret("migrate-set-parameters",
                       {"block-bitmap-mapping": mapping})
            check_eq(vm.qmp.ret("query-migrate-parameters").get(
                "block-bitmap-mapping"), mapping, "block-bitmap-mapping")
        vm.qmp.ret("migrate-set-parameters", {"downtime-limit": 60})
        check_eq(vm.qmp.ret("query-migrate-parameters").get(
            "block-bitmap-mapping"), [], "the mapping stays when unnamed")
        for bad in ({"downtime-limit": 3000000}, {"cpu-throttle-initial": 0},
                    {"multifd-channels": 0}):
            vm.qmp.error("migrate-set-parameters", bad)
        check_eq(vm.qmp.ret("query-migrate"), {}, "no migration yet")
        err = vm.qmp.error("migrate", {"uri": "ftp:x"})
        check("unknown migration protocol" in err["desc"], "bad uri")
        err = vm.qmp.error("migrate", {"uri": "unix:/nonexistent/x"})
        check("Failed to connect" in err["desc"], "connect error %r" % err)
        err = vm.qmp.error("migrate", {"uri": "file:/x", "blk": True})
        check("block migration" in err["desc"], "blk refused")
        err = vm.qmp.error("migrate-incoming", {"uri": "unix:/tmp/x"})
        check("already" in err["desc"] or "incoming" in err["desc"],
              "migrate-incoming without -incoming defer: %r" % err)
    finally:
        vm.close()


@no_kvm
def test_pause_before_switchover(binary):
    d = tempfile.mkdtemp(prefix="kvmpc-mig-pbs-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary)
    dst = VM(binary, ["-incoming", "unix:" + sock])
    try:
        expect = fill_ram(src, 19)
        src.qmp.ret("migrate-set-capabilities", {"capabilities": [
            {"capability": "events", "state": True},
            {"capability": "pause-before-switchover", "state": True}]})
        wait_for(lambda: os.path.exists(sock))
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        wait_status(src.qmp, ("pre-switchover",))
        check_eq(src.qmp.ret("query-status")["status"], "finish-migrate",
                 "stopped before switchover")
        err = src.qmp.error("migrate-continue", {"state": "active"})
        check("expected state" in err["desc"], "wrong state: %r" % err)
        # RAM written now (qtest, VM stopped) still reaches the destination
        b64write(src, 0x1000, b"late write")
        expect[0x1000] = b"late write" + expect[0x1000][10:]
        src.qmp.ret("migrate-continue", {"state": "pre-switchover"})
        info = wait_status(src.qmp)
        check_eq(info["status"], "completed", "status")
        states = [e["data"]["status"] for e in src.qmp.events
                  if e["event"] == "MIGRATION"]
        check_eq(states, ["setup", "active", "pre-switchover", "device",
                          "completed"], "MIGRATION events")
        check("downtime" in info and "setup-time" in info and
              "total-time" in info, "times in %r" % info)
        wait_incoming_done(dst)
        check_ram(dst, expect)
    finally:
        src.close()
        dst.close()


def set_caps(vm, *names):
    vm.qmp.ret("migrate-set-capabilities", {"capabilities": [
        {"capability": n, "state": True} for n in names]})


def fill_big(vm, seed, addr=0x400000, size=4 << 20):
    """@size random bytes at @addr: enough pages that a slowed-down
    postcopy lasts seconds."""
    data = random.Random(seed).randbytes(size)
    for off in range(0, size, 1 << 20):
        b64write(vm, addr + off, data[off:off + (1 << 20)])
    return {addr: data}


@no_kvm
def test_postcopy_errors(binary):
    """What postcopy refuses, with QEMU's wording where QEMU has one."""
    vm = VM(binary)
    try:
        err = vm.qmp.error("migrate-start-postcopy")
        check("Enable postcopy" in err["desc"], "no capability: %r" % err)
        err = vm.qmp.error("migrate-pause")
        check("postcopy-active" in err["desc"], "pause: %r" % err)
        err = vm.qmp.error("migrate-recover", {"uri": "unix:/tmp/x"})
        check("postcopy is paused" in err["desc"], "recover: %r" % err)
        err = vm.qmp.error("migrate", {"uri": "unix:/tmp/x", "resume": True})
        check("no paused migration" in err["desc"], "resume: %r" % err)
        set_caps(vm, "postcopy-ram")
        err = vm.qmp.error("migrate-start-postcopy")
        check("after migration has been started" in err["desc"],
              "not migrating: %r" % err)
        err = vm.qmp.error("migrate", {"uri": "exec:cat >/dev/null"})
        check("tcp:" in err["desc"] and "socket fd:" in err["desc"],
              "exec refused: %r" % err)
        set_caps(vm, "multifd")
        err = vm.qmp.error("migrate", {"uri": "unix:/tmp/x"})
        check("multifd" in err["desc"], "multifd refused: %r" % err)
        out = vm.hmp.command("migrate_pause")
        check("postcopy-active" in out, "HMP migrate_pause: %r" % out)
        out = vm.hmp.command("migrate_recover unix:/tmp/x")
        check("postcopy is paused" in out, "HMP migrate_recover: %r" % out)
        out = vm.hmp.command("migrate_start_postcopy")
        check("after migration has been started" in out,
              "HMP migrate_start_postcopy: %r" % out)
        check_eq(vm.qmp.ret("query-status")["status"], "running",
                 "the source after the refusals")
    finally:
        vm.close()


@no_kvm
def test_postcopy(binary):
    """migrate-start-postcopy right away, precopy slowed down: the
    destination starts with most pages still on the source and pulls
    each one the qtest reads ask for (through userfaultfd)."""
    d = tempfile.mkdtemp(prefix="kvmpc-mig-pc-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary)
    dst = VM(binary, ["-incoming", "unix:" + sock])
    try:
        expect = fill_ram(src, 41)
        expect.update(fill_big(src, 42))
        set_registers(src, 0x2468ace)
        set_caps(src, "postcopy-ram", "events")
        set_caps(dst, "postcopy-ram")
        # slow both phases: the reads below come before the pages
        src.qmp.ret("migrate-set-parameters", {
            "max-bandwidth": 1 << 20, "max-postcopy-bandwidth": 1 << 20})
        wait_for(lambda: os.path.exists(sock))
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        src.qmp.ret("migrate-start-postcopy")
        wait_incoming_done(dst)
        check_ram(dst, expect)
        check_registers(dst, 0x2468ace)
        info = wait_status(src.qmp)
        check_eq(info["status"], "completed", "status (%r)" % info)
        check(info["ram"]["postcopy-requests"] > 0,
              "the destination asked for pages: %r" % info["ram"])
        check(info["ram"]["postcopy-bytes"] > 2 << 20,
              "most of the 4 MiB went after the switch: %r" % info["ram"])
        states = [e["data"]["status"] for e in src.qmp.events
                  if e["event"] == "MIGRATION"]
        check_eq(states, ["setup", "active", "postcopy-active",
                          "completed"], "MIGRATION events")
        check_eq(src.qmp.ret("query-status")["status"], "postmigrate",
                 "source after postcopy")
        wait_status(dst.qmp, ("completed",))
    finally:
        src.close()
        dst.close()


@no_kvm
def test_postcopy_recover(binary):
    """A postcopy whose link is cut twice (migrate-pause on the source,
    then on the destination): both sides go to postcopy-paused, cannot be
    cancelled, and go on after migrate-recover and migrate "resume"."""
    d = tempfile.mkdtemp(prefix="kvmpc-mig-pcr-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary)
    dst = VM(binary, ["-incoming", "unix:" + sock])
    try:
        expect = fill_big(src, 43)
        set_caps(src, "postcopy-ram")
        src.qmp.ret("migrate-set-parameters", {
            "max-bandwidth": 1 << 20, "max-postcopy-bandwidth": 1 << 20})
        wait_for(lambda: os.path.exists(sock))
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        src.qmp.ret("migrate-start-postcopy")
        for n, who in enumerate((src, dst)):
            wait_status(src.qmp, ("postcopy-active",))
            wait_status(dst.qmp, ("postcopy-active",))
            who.qmp.ret("migrate-pause")
            wait_status(src.qmp, ("postcopy-paused",))
            wait_status(dst.qmp, ("postcopy-paused",))
            err = src.qmp.error("migrate_cancel")
            check("cannot be cancelled" in err["desc"], "cancel: %r" % err)
            err = src.qmp.error("migrate", {"uri": "unix:" + sock})
            check("in progress" in err["desc"], "a new migrate: %r" % err)
            rsock = os.path.join(d, "recover%d.sock" % n)
            dst.qmp.ret("migrate-recover", {"uri": "unix:" + rsock})
            err = dst.qmp.error("migrate-recover", {"uri": "unix:" + rsock})
            check("already" in err["desc"], "second recover: %r" % err)
            src.qmp.ret("migrate", {"uri": "unix:" + rsock, "resume": True})
        info = wait_status(src.qmp, timeout=60)
        check_eq(info["status"], "completed", "status (%r)" % info)
        wait_status(dst.qmp, ("completed",))
        check_ram(dst, expect)
    finally:
        src.close()
        dst.close()


def oob_request(qmp, req):
    qmp.send_raw(json.dumps(req).encode() + b"\n")


@no_kvm
def test_postcopy_recover_oob(binary):
    """exec-oob migrate-recover on a destination whose main thread waits
    for a page still on the source (a qtest readl, the link cut): the
    monitor I/O thread answers it at once, ahead of an in-band command
    queued behind the stuck read; the source resumes and the read returns
    the page.  Before the I/O thread this hung (timeouts fail it)."""
    d = tempfile.mkdtemp(prefix="kvmpc-mig-oob-")
    sock = os.path.join(d, "mig.sock")
    oob_path = os.path.join(d, "oob.sock")
    src = VM(binary)
    dst = VM(binary, ["-incoming", "unix:" + sock,
                      "-qmp", "unix:%s,server=on,wait=off" % oob_path])
    try:
        expect = fill_big(src, 44)
        last = 0x400000 + (4 << 20) - 4096
        want = int.from_bytes(expect[0x400000][-4096:-4092], "little")
        dst.proc.wait_socket(oob_path)
        oob = QMP(oob_path, negotiate=False)
        check_eq(oob.greeting["QMP"]["capabilities"], ["oob"], "greeting")
        oob_request(oob, {"exec-oob": "migrate-pause", "id": 1})
        check_eq(oob.recv_reply()["error"]["desc"],
                 "QMP input member 'exec-oob' is unexpected",
                 "exec-oob before negotiation")
        oob_request(oob, {"execute": "qmp_capabilities",
                          "arguments": {"enable": ["oob"]}})
        check_eq(oob.recv_reply(), {"return": {}}, "oob enabled")
        oob_request(oob, {"exec-oob": "query-status", "id": 2})
        check_eq(oob.recv_reply()["error"]["desc"],
                 "The command query-status does not support OOB",
                 "exec-oob of an in-band command")
        set_caps(src, "postcopy-ram")
        src.qmp.ret("migrate-set-parameters", {
            "max-bandwidth": 1 << 20, "max-postcopy-bandwidth": 1 << 20})
        wait_for(lambda: os.path.exists(sock))
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        src.qmp.ret("migrate-start-postcopy")
        wait_status(src.qmp, ("postcopy-active",))
        wait_status(dst.qmp, ("postcopy-active",))
        src.qmp.ret("migrate-pause")
        wait_status(src.qmp, ("postcopy-paused",))
        wait_status(dst.qmp, ("postcopy-paused",))
        # the destination's main thread now waits on the last page
        got = {}
        reader = threading.Thread(
            target=lambda: got.update(r=dst.q("readl 0x%x" % last)))
        reader.start()
        time.sleep(0.3)
        check(reader.is_alive(), "the read of a missing page returned")
        oob_request(oob, {"execute": "query-status", "id": "in-band"})
        rsock = os.path.join(d, "recover.sock")
        oob_request(oob, {"exec-oob": "migrate-recover", "id": "oob",
                          "arguments": {"uri": "unix:" + rsock}})
        check_eq(oob.recv_reply(timeout=5), {"return": {}, "id": "oob"},
                 "exec-oob migrate-recover while the main thread waits")
        check(reader.is_alive(), "the read returned before the recovery")
        src.qmp.ret("migrate", {"uri": "unix:" + rsock, "resume": True})
        reader.join(30)
        check(not reader.is_alive(), "the read still waits after resume")
        check_eq(got.get("r"), "OK 0x%016x" % want, "the page that arrived")
        rsp = oob.recv_reply(timeout=10)
        check_eq(rsp.get("id"), "in-band", "the in-band reply, after")
        info = wait_status(src.qmp, timeout=60)
        check_eq(info["status"], "completed", "status (%r)" % info)
        wait_status(dst.qmp, ("completed",))
        check_ram(dst, expect)
    finally:
        src.close()
        dst.close()


@no_kvm
def test_ignore_shared(binary):
    """x-ignore-shared: RAM that is a share=on memory-backend-file which
    both sides map stays out of the stream (a few KiB travel instead of
    the written RAM) and arrives all the same; a destination whose RAM is
    not such a file refuses the stream, and the source runs on."""
    d = tempfile.mkdtemp(prefix="kvmpc-mig-ish-")
    sock = os.path.join(d, "mig.sock")
    mem = ["-object", "memory-backend-file,id=ram,size=64M,mem-path=%s,"
           "share=on" % os.path.join(d, "guest-ram")]
    base = ["pc,memory-backend=ram" if a == "pc" else a for a in BASE]
    src = VM(binary, mem, base=base)
    dst = bad = None
    try:
        expect = fill_ram(src, 51)
        expect.update(fill_big(src, 52, size=1 << 20))
        set_registers(src, 0x13579)
        set_caps(src, "x-ignore-shared")
        # a destination with private RAM: refused, nothing lost
        bad = VM(binary, ["-incoming", "unix:" + sock + ".bad"])
        wait_for(lambda: os.path.exists(sock + ".bad"))
        src.qmp.ret("migrate", {"uri": "unix:" + sock + ".bad"})
        info = wait_status(src.qmp)
        check_eq(info["status"], "failed", "private destination RAM")
        check_eq(bad.proc.wait(10), 1, "the destination exits 1")
        check("would be lost" in bad.proc.stderr(),
              "its reason: %r" % bad.proc.stderr()[-400:])
        check_eq(src.qmp.ret("query-status")["status"], "running",
                 "the source after the refusal")
        dst = VM(binary, mem + ["-incoming", "unix:" + sock], base=base)
        wait_for(lambda: os.path.exists(sock))
        info = migrate(src, "unix:" + sock, dst)
        check(info["ram"]["transferred"] < 512 << 10,
              "the shared RAM stayed out of the stream: %r" % info["ram"])
        check(info["ram"]["total"] < 16 << 20,
              "total leaves it out too: %r" % info["ram"])
        check_ram(dst, expect)
        check_registers(dst, 0x13579)
    finally:
        src.close()
        for vm in (bad, dst):
            if vm:
                vm.close()


@no_kvm
def test_hmp(binary):
    d = tempfile.mkdtemp(prefix="kvmpc-mig-hmp-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary)
    dst = VM(binary, ["-incoming", "unix:" + sock])
    try:
        h = src.hmp
        check_eq(h.command("migrate_set_parameter downtime-limit 100"), "",
                 "migrate_set_parameter")
        check_eq(src.qmp.ret("query-migrate-parameters")["downtime-limit"],
                 100, "set through HMP")
        h.command("migrate_set_parameter max-bandwidth 64M")
        check_eq(src.qmp.ret("query-migrate-parameters")["max-bandwidth"],
                 64 << 20, "size suffix")
        check_eq(h.command("migrate_set_capability events on"), "",
                 "migrate_set_capability")
        out = h.command("migrate_set_capability zero-blocks on")
        check("not supported" in out, "refused: %r" % out)
        out = h.command("info migrate_parameters")
        check("downtime-limit: 100 ms" in out, out)
        out = h.command("info migrate_capabilities")
        check("events: on" in out and "xbzrle: off" in out, out)
        fill_ram(src, 23)
        wait_for(lambda: os.path.exists(sock))
        # without -d the monitor waits for the end, showing progress
        out = h.command("migrate unix:" + sock)
        check("transferred ram:" in out and "total ram: 65" in out,
              "progress line: %r" % out)
        info = src.qmp.ret("query-migrate")
        check_eq(info["status"], "completed", "HMP migrate returned at end")
        out = h.command("info migrate")
        check("Migration status: completed" in out, out)
        check("total time:" in out and "downtime:" in out, out)
        check("transferred ram:" in out and "duplicate:" in out, out)
        check_eq(h.command("migrate_cancel"), "", "migrate_cancel")
    finally:
        src.close()
        dst.close()


if __name__ == "__main__":
    run_tests([test_unix, test_tcp, test_exec, test_file_save_restore,
               test_fd, test_defer, test_autostart, test_late_block_activate,
               test_dirty_during_precopy, test_twenty_hops,
               test_destination_killed, test_config_mismatch,
               test_corrupt_stream, test_cancel, test_blocker,
               test_capabilities_and_parameters,
               test_pause_before_switchover, test_postcopy_errors,
               test_postcopy, test_postcopy_recover,
               test_postcopy_recover_oob, test_ignore_shared,
               test_hmp,
               test_hotplugged_rom_device])
