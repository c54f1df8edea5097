#!/usr/bin/env python3
"""Block backends and nodes over QMP/HMP, under -accel qtest (no /dev/kvm
needed): -blockdev, blockdev-add/-del, query-named-block-nodes,
query-blockstats, the removable-media commands and their events and what
the ATAPI guest interface sees of them, block_resize, and the error
policies (werror/rerror report, ignore, stop with retry on cont) driven by
blkdebug.  The guest side is a qtest socket doing what a driver would:
ATA PIO and bus-master DMA, ATAPI packets.

    test_blockdev.py KVMPC [TEST...]
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (QMP, HMP, Kvmpc, TestFailure, check, check_eq,  # noqa
                    no_kvm, run_tests, wait_for)
from test_timer_storm import QTest  # noqa: E402

SECTOR = 512
DISK_SECTORS = 256          # 128 KiB disks
CD_BLOCKS = 32              # 64 KiB "ISOs"

# ---- machine and files ------------------------------------------------------


class VM:
    """kvmpc under qtest with QMP and HMP sockets, in a temporary dir."""

    def __init__(self, binary, extra, tmpdir=None):
        self.tmp = tmpdir or tempfile.mkdtemp(prefix="kvmpc-blockdev-")
        qtest_path = os.path.join(self.tmp, "qtest.sock")
        qmp_path = os.path.join(self.tmp, "qmp.sock")
        hmp_path = os.path.join(self.tmp, "hmp.sock")
        self.vm = Kvmpc(binary, [
            "-machine", "pc", "-nodefaults", "-display", "none",
            "-accel", "qtest", "-qtest-log", "none",
            "-qtest", "unix:%s,server=on" % qtest_path,
            "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
            "-monitor", "unix:%s,server=on,wait=off" % hmp_path] + extra,
            tmpdir=self.tmp)
        wait_for(lambda: os.path.exists(qtest_path) or not self.vm.alive(),
                 what="qtest socket")
        check(self.vm.alive(), "kvmpc exited: %s" % self.vm.stderr())
        self.qt = QTest(qtest_path)
        self.vm.wait_socket(qmp_path)
        self.vm.wait_socket(hmp_path)
        self.q = QMP(qmp_path)
        self.h = HMP.unix(hmp_path)
        self.h.read_until(HMP.PROMPT)

    def close(self):
        self.q.close()
        self.vm.close()

    # qtest
    def outb(self, port, v):
        self.qt.cmd("outb 0x%x 0x%x" % (port, v))

    def outw(self, port, v):
        self.qt.cmd("outw 0x%x 0x%x" % (port, v))

    def outl(self, port, v):
        self.qt.cmd("outl 0x%x 0x%x" % (port, v))

    def inb(self, port):
        return int(self.qt.cmd("inb 0x%x" % port)[0].split()[1], 16)

    def inw(self, port):
        return int(self.qt.cmd("inw 0x%x" % port)[0].split()[1], 16)

    def memwrite(self, addr, data):
        self.qt.cmd("write 0x%x 0x%x 0x%s" % (addr, len(data), data.hex()))

    def memread(self, addr, size):
        return bytes.fromhex(
            self.qt.cmd("read 0x%x 0x%x" % (addr, size))[0].split()[1][2:])

    def writel(self, addr, v):
        self.qt.cmd("writel 0x%x 0x%x" % (addr, v))


def pattern(n, salt):
    return bytes((i * 13 + i // SECTOR * 7 + salt) & 0xff for i in range(n))


def make_file(tmp, name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def read_file(path, off, n):
    with open(path, "rb") as f:
        f.seek(off)
        return f.read(n)


def blocks(vm):
    return {b["device"] or b.get("qdev"): b for b in vm.q.ret("query-block")}


def event(vm, name):
    return vm.q.wait_event(name)["data"]


def no_event(vm, name):
    """No @name event among what arrived so far (after a round trip)."""
    vm.q.ret("query-status")
    check(all(e["event"] != name for e in vm.q.events),
          "unexpected %s: %r" % (name, vm.q.events))


def status(vm):
    return vm.q.ret("query-status")["status"]


# ---- ATA (primary master) ----------------------------------------------------

ATA = 0x1f0
ATA_ALT = 0x3f6
BM = 0xc000
PRD = 0x10000
BUF = 0x20000
ST_BSY, ST_DRDY, ST_DRQ, ST_ERR = 0x80, 0x40, 0x08, 0x01


def not_busy(vm, alt=ATA_ALT):
    """Wait while the drive is busy: sector I/O is asynchronous, so a
    read, a written block, a flush or a DMA transfer keeps BSY set until
    the disk answered (each poll is a round trip through the main loop,
    which runs the completions; the alternate status leaves the IRQ)."""
    wait_for(lambda: not vm.inb(alt) & ST_BSY, what="drive not busy")


def ata_setup(vm, lba, count):
    vm.outb(ATA + 6, 0xe0 | ((lba >> 24) & 0xf))
    vm.outb(ATA + 2, count)
    vm.outb(ATA + 3, lba & 0xff)
    vm.outb(ATA + 4, (lba >> 8) & 0xff)
    vm.outb(ATA + 5, (lba >> 16) & 0xff)


def pio_read(vm, lba, count):
    ata_setup(vm, lba, count)
    vm.outb(ATA + 7, 0x20)
    out = b""
    for _ in range(count):
        not_busy(vm)
        st = vm.inb(ATA_ALT)
        if not st & ST_DRQ:
            break
        for _ in range(SECTOR // 2):
            w = vm.inw(ATA)
            out += bytes([w & 0xff, w >> 8])
    return out


def pio_write(vm, lba, data):
    count = len(data) // SECTOR
    ata_setup(vm, lba, count)
    vm.outb(ATA + 7, 0x30)
    for i in range(count):
        not_busy(vm)
        if not vm.inb(ATA_ALT) & ST_DRQ:
            return False
        for j in range(0, SECTOR, 2):
            k = i * SECTOR + j
            vm.outw(ATA, data[k] | data[k + 1] << 8)
    not_busy(vm)
    return True


def bm_enable(vm):
    vm.outl(0xcf8, 0x80000000 | 0x09 << 8 | 0x20)
    vm.outl(0xcfc, BM)
    vm.outl(0xcf8, 0x80000000 | 0x09 << 8 | 0x04)
    vm.outw(0xcfc, 0x05)


def dma_write(vm, lba, data):
    """Start a WRITE DMA of @data from one PRD; returns the bus master
    status (the write is asynchronous: wait for BSY to go)."""
    vm.memwrite(BUF, data)
    vm.writel(PRD, BUF)
    vm.writel(PRD + 4, len(data) | 0x80000000)
    vm.outb(BM, 0)
    vm.outb(BM + 2, 0x06)
    vm.outl(BM + 4, PRD)
    ata_setup(vm, lba, len(data) // SECTOR)
    vm.outb(ATA + 7, 0xca)
    vm.outb(BM, 0x01)
    return vm.inb(BM + 2)


# ---- ATAPI (secondary master) ---------------------------------------------------

CD = 0x170
CD_ALT = 0x376


def cd_packet(vm, cdb, bcl=0xfffe):
    """Run a packet in PIO; returns (status, data-in bytes)."""
    vm.outb(CD + 6, 0xa0)
    vm.outb(CD + 1, 0)
    vm.outb(CD + 4, bcl & 0xff)
    vm.outb(CD + 5, bcl >> 8)
    vm.outb(CD + 7, 0xa0)
    cdb = bytes(cdb) + bytes(12 - len(cdb))
    for i in range(0, 12, 2):
        vm.outw(CD, cdb[i] | cdb[i + 1] << 8)
    data = b""
    not_busy(vm, CD_ALT)
    while vm.inb(CD_ALT) & ST_DRQ:
        n = vm.inb(CD + 4) | vm.inb(CD + 5) << 8
        for i in range(0, n, 2):
            w = vm.inw(CD)
            data += bytes([w & 0xff, w >> 8])[:n - i]
        not_busy(vm, CD_ALT)
    return vm.inb(CD + 7), data


def cd_sense(vm):
    st, d = cd_packet(vm, [0x03, 0, 0, 0, 18])
    check_eq(st & ST_ERR, 0, "REQUEST SENSE status")
    return d[2] & 0xf, d[12]


def cd_tur(vm):
    """TEST UNIT READY: (sense key, asc) of its CHECK CONDITION, or None."""
    st, _ = cd_packet(vm, [0x00])
    if not st & ST_ERR:
        return None
    return cd_sense(vm)


def cd_gesn(vm):
    st, d = cd_packet(vm, [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8])
    check_eq(len(d), 8, "GESN length")
    return d[4], d[5]       # event code, media status


def cd_read(vm, lba, count):
    st, d = cd_packet(vm, [0x28, 0, lba >> 24, (lba >> 16) & 0xff,
                           (lba >> 8) & 0xff, lba & 0xff, 0, 0, count])
    check_eq(st & ST_ERR, 0, "READ(10)")
    return d


# ---- -blockdev and blockdev-add ------------------------------------------------


def have_qemu_img():
    return shutil.which("qemu-img") is not None


@no_kvm
def test_blockdev_add_del(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    raw = make_file(tmp, "a.raw", pattern(64 << 10, 1))
    vm = VM(binary, [], tmp)
    try:
        q = vm.q
        # nested definition and a reference
        q.ret("blockdev-add", {"driver": "file", "node-name": "proto",
                               "filename": raw})
        q.ret("blockdev-add", {"driver": "raw", "node-name": "fmt",
                               "file": "proto", "cache": {"direct": False},
                               "detect-zeroes": "on"})
        q.ret("blockdev-add", {"driver": "raw", "node-name": "nested",
                               "read-only": True,
                               "file": {"driver": "file", "filename": raw}})
        nodes = {n["node-name"]: n for n in
                 q.ret("query-named-block-nodes")}
        check_eq(nodes["fmt"]["drv"], "raw", "fmt drv")
        check_eq(nodes["fmt"]["detect_zeroes"], "on", "detect_zeroes")
        check_eq(nodes["fmt"]["image"]["virtual-size"], 64 << 10, "size")
        check_eq(nodes["nested"]["ro"], True, "nested read-only")
        check(any(n["node-name"].startswith("#block") and n["drv"] == "file"
                  and n["ro"] for n in nodes.values()),
              "the nested file node is read-only and auto-named: %r" % nodes)

        def err(args, text, cls="GenericError"):
            e = q.error("blockdev-add", args)
            check_eq(e["class"], cls, "class for %r" % args)
            check(text in e["desc"], "%r: want %r, got %r" %
                  (args, text, e["desc"]))

        err({"driver": "raw", "node-name": "fmt", "file": "proto"},
            "Duplicate nodes with node-name='fmt'")
        err({"driver": "raw", "node-name": "x", "file": "nosuch"},
            "Cannot find device='nosuch' nor node-name='nosuch'")
        err({"driver": "raw", "node-name": "x"},
            'A block device must be specified for "file"')
        err({"driver": "file", "node-name": "x", "filename": raw,
             "bogus": 1}, "Parameter 'bogus' is unexpected")
        err({"driver": "raw", "node-name": "x",
             "file": {"driver": "file", "filename": raw, "frob": "1"}},
            "Parameter 'file.frob' is unexpected")
        err({"driver": "nosuch", "node-name": "x"},
            "Parameter 'driver' does not accept value 'nosuch'")
        err({"node-name": "x"}, "Parameter 'driver' is missing")
        err({"driver": "file", "filename": raw},
            "'node-name' must be specified for the root node")
        err({"driver": "file", "node-name": "1x", "filename": raw},
            "Invalid node-name: '1x'")
        err({"driver": "file", "node-name": "x",
             "filename": os.path.join(tmp, "missing")}, "missing")
        err({"driver": "raw", "node-name": "x", "file": "nested"},
            "Block node is read-only")
        check("x" not in {n["node-name"] for n in
                          q.ret("query-named-block-nodes")},
              "failed adds leave no node behind")

        # blockdev-del: in use, not owned, unknown, then in order
        e = q.error("blockdev-del", {"node-name": "proto"})
        check_eq(e["desc"], "Node proto is in use", "del in use")
        e = q.error("blockdev-del", {"node-name": "nosuch"})
        check_eq(e["desc"], "Failed to find node with node-name='nosuch'",
                 "del unknown")
        auto = [n["node-name"] for n in q.ret("query-named-block-nodes")
                if n["node-name"].startswith("#")][0]
        e = q.error("blockdev-del", {"node-name": auto})
        check("is not owned by the monitor" in e["desc"], e["desc"])
        q.ret("blockdev-del", {"node-name": "fmt"})
        q.ret("blockdev-del", {"node-name": "proto"})
        q.ret("blockdev-del", {"node-name": "nested"})
        check_eq(q.ret("query-named-block-nodes"), [], "all nodes gone")

        if have_qemu_img():
            base = os.path.join(tmp, "base.qcow2")
            top = os.path.join(tmp, "top.qcow2")
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", base,
                            "1M"], check=True)
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F",
                            "qcow2", "-b", base, top], check=True)
            q.ret("blockdev-add", {"driver": "qcow2", "node-name": "top",
                                   "file": {"driver": "file",
                                            "filename": top}})
            n = {x["node-name"]: x for x in
                 q.ret("query-named-block-nodes")}["top"]
            check_eq(n["backing_file_depth"], 1, "backing opened by name")
            check_eq(n["image"]["backing-image"]["filename"], base,
                     "backing-image")
            flat = {x["node-name"]: x for x in
                    q.ret("query-named-block-nodes", {"flat": True})}["top"]
            check("backing-image" not in flat["image"], "flat")
            # the same image again: only read-only with force-share,
            # as in QEMU (top holds its write lock)
            e = q.error("blockdev-add", {"driver": "qcow2",
                                         "node-name": "top2",
                                         "file": {"driver": "file",
                                                  "filename": top}})
            check(e["desc"].startswith('Failed to get "write" lock'),
                  e["desc"])
            q.ret("blockdev-add", {"driver": "qcow2", "node-name": "top2",
                                   "backing": None, "read-only": True,
                                   "force-share": True,
                                   "file": {"driver": "file",
                                            "filename": top}})
            n = {x["node-name"]: x for x in
                 q.ret("query-named-block-nodes")}["top2"]
            check_eq(n["backing_file_depth"], 0, "backing: null")
        else:
            print("SKIP qcow2 backing part: qemu-img not installed")
        check(vm.vm.alive(), "kvmpc died")
    finally:
        vm.close()


@no_kvm
def test_cli_blockdev(binary):
    """-blockdev (dotted and JSON) and -device ide-hd,drive=<node>."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    raw = make_file(tmp, "d.raw", pattern(DISK_SECTORS * SECTOR, 5))
    iso = make_file(tmp, "cd.iso", pattern(CD_BLOCKS * 2048, 9))
    vm = VM(binary, [
        "-blockdev", "driver=file,node-name=f0,filename=%s" % raw,
        "-blockdev", '{"driver": "raw", "node-name": "disk0", "file": "f0"}',
        "-blockdev", "driver=raw,node-name=cd0,read-only=on,"
                     "file.driver=file,file.filename=%s" % iso,
        "-device", "ide-hd,drive=disk0,bus=ide.0,unit=0,id=hd",
        "-device", "ide-cd,drive=cd0,bus=ide.1,unit=0,id=cd"], tmp)
    try:
        b = blocks(vm)
        check_eq(b["hd"]["device"], "", "anonymous backend")
        check_eq(b["hd"]["qdev"], "hd", "qdev")
        check_eq(b["hd"]["inserted"]["node-name"], "disk0", "node-name")
        check_eq(b["hd"]["io-status"], "ok", "io-status")
        check_eq(b["cd"]["inserted"]["node-name"], "cd0", "cd node")
        check_eq(b["cd"]["removable"], True, "cd removable")
        # the guest reads the node's content
        check_eq(pio_read(vm, 3, 2), pattern(DISK_SECTORS * SECTOR, 5)
                 [3 * SECTOR:5 * SECTOR], "disk content")
        check_eq(cd_read(vm, 2, 1), pattern(CD_BLOCKS * 2048, 9)
                 [2 * 2048:3 * 2048], "cd content")
        # a node in use cannot go
        e = vm.q.error("blockdev-del", {"node-name": "disk0"})
        check_eq(e["desc"], "Node disk0 is in use", "del of a used node")
        info = vm.h.command("info block")
        check("(disk0)" in info, "info block names the node: %r" % info)
        check(vm.vm.alive(), "kvmpc died")
    finally:
        vm.close()


# ---- removable media ------------------------------------------------------------


@no_kvm
def test_media_commands(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    iso1 = make_file(tmp, "one.iso", pattern(CD_BLOCKS * 2048, 1))
    iso2 = make_file(tmp, "two.iso", pattern(2 * CD_BLOCKS * 2048, 2))
    disk = make_file(tmp, "d.raw", pattern(DISK_SECTORS * SECTOR, 3))
    vm = VM(binary, [
        "-drive", "file=%s,if=none,id=d0,format=raw" % disk,
        "-device", "ide-hd,drive=d0,bus=ide.0,unit=0,id=hd",
        "-drive", "file=%s,if=none,id=cd0,media=cdrom" % iso1,
        "-device", "ide-cd,drive=cd0,bus=ide.1,unit=0,id=cd"], tmp)
    q = vm.q
    try:
        check_eq(cd_tur(vm), None, "medium ready")

        # argument errors (QEMU's texts and classes)
        e = q.error("eject", {"device": "nosuch"})
        check_eq((e["class"], e["desc"]),
                 ("DeviceNotFound", "Device 'nosuch' not found"), "eject ?")
        e = q.error("eject", {"id": "nosuch"})
        check_eq(e["class"], "DeviceNotFound", "eject by bad id")
        e = q.error("eject", {})
        check_eq(e["desc"], "Either 'device' or 'id' must be specified", "")
        e = q.error("eject", {"device": "cd0", "id": "cd"})
        check_eq(e["desc"], "Cannot specify both 'device' and 'id'", "")
        e = q.error("eject", {"device": "d0"})
        check_eq(e["desc"], "Device 'd0' is not removable", "hd eject")
        e = q.error("blockdev-remove-medium", {"id": "cd"})
        check_eq(e["desc"], "Tray of device 'cd' is not open", "remove")

        # the guest locks the tray: eject is refused and the guest is asked
        st, _ = cd_packet(vm, [0x1e, 0, 0, 0, 1])
        e = q.error("eject", {"device": "cd0"})
        check_eq(e["desc"], "Device 'cd0' is locked and force was not "
                 "specified, wait for tray to open and try again", "locked")
        check_eq(cd_gesn(vm)[0], 1, "GESN EjectRequest")
        check_eq(blocks(vm)["cd0"]["tray_open"], False, "still closed")
        no_event(vm, "DEVICE_TRAY_MOVED")
        # force: unlocked, tray opens, medium out
        q.ret("eject", {"device": "cd0", "force": True})
        check_eq(event(vm, "DEVICE_TRAY_MOVED"),
                 {"device": "cd0", "id": "cd", "tray-open": True}, "event")
        b = blocks(vm)["cd0"]
        check_eq((b["tray_open"], b["locked"], "inserted" in b),
                 (True, False, False), "ejected")
        check_eq(cd_tur(vm), (2, 0x3a), "NOT READY, no medium")

        # blockdev-change-medium: tray closes on the new medium
        q.ret("blockdev-change-medium", {"id": "cd", "filename": iso2,
                                         "format": "raw"})
        check_eq(event(vm, "DEVICE_TRAY_MOVED")["tray-open"], False, "closed")
        b = blocks(vm)["cd0"]
        check_eq(b["inserted"]["file"], iso2, "new medium")
        check_eq(b["inserted"]["ro"], True, "retain: read-only")
        # what a guest sees: NewMedia, then the old medium gone, then the
        # new one (NOT READY 3Ah once, UNIT ATTENTION 28h once)
        check_eq(cd_gesn(vm), (2, 2), "GESN NewMedia, present")
        check_eq(cd_tur(vm), (2, 0x3a), "first: medium not present")
        check_eq(cd_tur(vm), (6, 0x28), "then: medium may have changed")
        check_eq(cd_tur(vm), None, "then ready")
        st, cap = cd_packet(vm, [0x25])
        check_eq(int.from_bytes(cap[:4], "big"), 2 * CD_BLOCKS - 1,
                 "READ CAPACITY of the new medium")
        check_eq(cd_read(vm, 40, 1), pattern(2 * CD_BLOCKS * 2048, 2)
                 [40 * 2048:41 * 2048], "reads the new medium")

        # a bad file leaves the drive as it was
        e = q.error("blockdev-change-medium", {"device": "cd0",
                                               "filename": tmp + "/none"})
        check("none" in e["desc"], e["desc"])
        check_eq(blocks(vm)["cd0"]["inserted"]["file"], iso2, "unchanged")

        # the step-by-step commands by id
        q.ret("blockdev-open-tray", {"id": "cd"})
        check_eq(event(vm, "DEVICE_TRAY_MOVED")["tray-open"], True, "open")
        q.ret("blockdev-open-tray", {"id": "cd"})       # already open
        no_event(vm, "DEVICE_TRAY_MOVED")
        q.ret("blockdev-add", {"driver": "raw", "node-name": "new",
                               "read-only": True,
                               "file": {"driver": "file",
                                        "filename": iso1}})
        e = q.error("blockdev-insert-medium", {"id": "cd",
                                               "node-name": "new"})
        check_eq(e["desc"], "There already is a medium in device 'cd'", "")
        q.ret("blockdev-remove-medium", {"id": "cd"})
        check("inserted" not in blocks(vm)["cd0"], "removed")
        e = q.error("blockdev-insert-medium", {"id": "cd",
                                               "node-name": "nosuch"})
        check_eq(e["desc"], "Node 'nosuch' not found", "")
        q.ret("blockdev-insert-medium", {"id": "cd", "node-name": "new"})
        e = q.error("blockdev-del", {"node-name": "new"})
        check_eq(e["desc"], "Node new is in use", "inserted node in use")
        q.ret("blockdev-close-tray", {"id": "cd"})
        check_eq(event(vm, "DEVICE_TRAY_MOVED")["tray-open"], False, "")
        e = q.error("blockdev-insert-medium", {"id": "cd",
                                               "node-name": "new"})
        check_eq(e["desc"], "Node 'new' is already in use", "")
        q.ret("blockdev-add", {"driver": "raw", "node-name": "other",
                               "read-only": True,
                               "file": {"driver": "file",
                                        "filename": iso2}})
        e = q.error("blockdev-insert-medium", {"id": "cd",
                                               "node-name": "other"})
        check_eq(e["desc"], "Tray of device 'cd' is not open", "")
        check_eq(cd_tur(vm), (2, 0x3a), "change seen: not present first")
        check_eq(cd_tur(vm), (6, 0x28), "then unit attention")
        check_eq(cd_read(vm, 1, 1), pattern(CD_BLOCKS * 2048, 1)
                 [2048:4096], "reads the inserted node")

        # the guest opens the tray itself: an event too
        cd_packet(vm, [0x1b, 0, 0, 0, 2])
        check_eq(event(vm, "DEVICE_TRAY_MOVED"),
                 {"device": "cd0", "id": "cd", "tray-open": True}, "guest")

        # HMP eject and change
        check_eq(vm.h.command("eject cd0"), "", "hmp eject")
        check("cd0: [not inserted]" in vm.h.command("info block"), "")
        check_eq(vm.h.command("change cd0 %s raw" % iso1), "", "hmp change")
        check(re.search(r"cd0 \(#block\d+\): %s \(raw, read-only\)" %
                        re.escape(iso1), vm.h.command("info block")), "")
        check_eq((cd_tur(vm), cd_tur(vm)), ((2, 0x3a), (6, 0x28)), "")
        cd_packet(vm, [0x1e, 0, 0, 0, 1])
        out = vm.h.command("eject cd0")
        check("Error: Device 'cd0' is locked" in out, out)
        check_eq(vm.h.command("eject -f cd0"), "", "hmp eject -f")
        check(vm.vm.alive(), "kvmpc died")
    finally:
        vm.close()


@no_kvm
def test_empty_cd_by_id(binary):
    """An ide-cd without a drive gets a medium by its id."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    iso = make_file(tmp, "x.iso", pattern(CD_BLOCKS * 2048, 4))
    vm = VM(binary, ["-device", "ide-cd,bus=ide.1,unit=0,id=cd"], tmp)
    try:
        b = blocks(vm)["cd"]
        check_eq((b["device"], "inserted" in b), ("", False), "empty")
        check_eq(cd_tur(vm), (2, 0x3a), "no medium")
        vm.q.ret("blockdev-change-medium", {"id": "cd", "filename": iso})
        check_eq(blocks(vm)["cd"]["inserted"]["file"], iso, "inserted")
        check_eq(cd_tur(vm), (2, 0x3a), "NOT READY first")
        check_eq(cd_tur(vm), (6, 0x28), "UNIT ATTENTION")
        check_eq(cd_read(vm, 0, 1), pattern(CD_BLOCKS * 2048, 4)[:2048], "")
    finally:
        vm.close()


# ---- floppy media ---------------------------------------------------------------

FDC = 0x3f0


def fdc_sense_drive_status(vm):
    """SENSE DRIVE STATUS on drive 0: ST3 (bit 6 write-protected)."""
    for b in (0x04, 0x00):
        wait_for(lambda: vm.inb(FDC + 4) & 0xc0 == 0x80, what="FDC RQM")
        vm.outb(FDC + 5, b)
    wait_for(lambda: vm.inb(FDC + 4) & 0xc0 == 0xc0, what="FDC result")
    return vm.inb(FDC + 5)


@no_kvm
def test_floppy_media(binary):
    """Floppies are removable: change/eject reach the drive (disk-change
    line, write protection), as for QEMU's floppy."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    img = make_file(tmp, "f.img", pattern(1474560, 5))
    vm = VM(binary, ["-drive", "if=floppy,index=0"], tmp)
    try:
        vm.outb(FDC + 2, 0x1c)              # DOR: motor A, DMA, out of reset
        b = blocks(vm)["floppy0"]
        check_eq((b["removable"], "inserted" in b), (True, False), "empty")
        check(vm.inb(FDC + 7) & 0x80, "empty drive: disk-change line up")
        check_eq(vm.h.command("change floppy0 %s raw" % img), "", "change")
        check_eq(blocks(vm)["floppy0"]["inserted"]["file"], img, "changed")
        check(vm.inb(FDC + 7) & 0x80, "new disk: disk-change line up")
        check_eq(fdc_sense_drive_status(vm) & 0x40, 0, "writable disk")
        vm.q.ret("blockdev-change-medium", {"device": "floppy0",
                                            "filename": img,
                                            "read-only-mode": "read-only"})
        check_eq(fdc_sense_drive_status(vm) & 0x40, 0x40, "read-only disk")
        vm.q.ret("eject", {"device": "floppy0"})
        check("inserted" not in blocks(vm)["floppy0"], "ejected")
        check_eq(fdc_sense_drive_status(vm) & 0x40, 0, "no disk, no WP")
    finally:
        vm.close()


# ---- block_resize ----------------------------------------------------------------


def identify_sectors(vm):
    vm.outb(ATA + 6, 0xa0)
    vm.outb(ATA + 7, 0xec)
    w = [vm.inw(ATA) for _ in range(256)]
    return w[100] | w[101] << 16 | w[102] << 32


@no_kvm
def test_block_resize(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    disk = make_file(tmp, "d.raw", pattern(DISK_SECTORS * SECTOR, 3))
    vm = VM(binary, [
        "-drive", "file=%s,if=none,id=d0,format=raw" % disk,
        "-device", "ide-hd,drive=d0,bus=ide.0,unit=0"], tmp)
    q = vm.q
    try:
        check_eq(identify_sectors(vm), DISK_SECTORS, "before")
        q.ret("block_resize", {"device": "d0", "size": 2 << 20})
        check_eq(identify_sectors(vm), (2 << 20) // SECTOR, "guest sees it")
        check_eq(os.path.getsize(disk), 2 << 20, "file grew")
        node = blocks(vm)["d0"]["inserted"]["node-name"]
        q.ret("block_resize", {"node-name": node, "size": 1 << 20})
        check_eq(identify_sectors(vm), (1 << 20) // SECTOR, "by node-name")
        check_eq(blocks(vm)["d0"]["inserted"]["image"]["virtual-size"],
                 1 << 20, "query-block")
        e = q.error("block_resize", {"device": "nosuch", "size": 1 << 20})
        check_eq(e["desc"], "Cannot find device='nosuch' nor node-name=''",
                 "bad device")
        e = q.error("block_resize", {"device": "d0", "size": -1})
        check_eq(e["desc"], "Parameter 'size' expects a >0 size", "")
    finally:
        vm.close()


# ---- error policies with blkdebug --------------------------------------------------


def blkdebug_drive(path, event, errno, policy_key, policy, extra=""):
    node = ("driver=raw,node-name=dbg,file.driver=blkdebug,"
            "file.inject-error.0.event=%s,file.inject-error.0.errno=%d,"
            "file.inject-error.0.once=on,file.image.driver=file,"
            "file.image.filename=%s%s" % (event, errno, path, extra))
    return ["-blockdev", node, "-device",
            "ide-hd,drive=dbg,bus=ide.0,unit=0,id=hd,%s=%s" %
            (policy_key, policy)]


@no_kvm
def test_werror_stop_dma_retry(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    disk = make_file(tmp, "d.raw", bytes(DISK_SECTORS * SECTOR))
    vm = VM(binary, blkdebug_drive(disk, "write_aio", 28, "werror", "stop"),
            tmp)
    q = vm.q
    try:
        bm_enable(vm)
        data = pattern(8 * SECTOR, 0x42)
        dma_write(vm, 16, data)
        ev = event(vm, "BLOCK_IO_ERROR")
        check_eq(ev, {"device": "", "node-name": "dbg", "operation": "write",
                      "action": "stop", "nospace": True,
                      "reason": os.strerror(28)}, "BLOCK_IO_ERROR")
        q.wait_event("STOP")
        check_eq(status(vm), "io-error", "run state")
        check_eq(blocks(vm)["hd"]["io-status"], "nospace", "io-status")
        check(vm.inb(ATA_ALT) & ST_BSY, "drive busy while stopped")
        check(vm.inb(BM + 2) & 1, "bus master still active")
        check_eq(read_file(disk, 16 * SECTOR, len(data)), bytes(len(data)),
                 "nothing written yet")
        q.ret("cont")
        q.wait_event("RESUME")
        wait_for(lambda: not vm.inb(ATA_ALT) & ST_BSY, what="retry")
        check_eq(vm.inb(ATA + 7) & (ST_ERR | ST_DRDY), ST_DRDY, "done")
        check_eq(vm.inb(BM + 2) & 7, 4, "bus master: interrupt, inactive")
        check_eq(read_file(disk, 16 * SECTOR, len(data)), data,
                 "the retried write landed")
        check_eq(status(vm), "running", "running again")
        check_eq(blocks(vm)["hd"]["io-status"], "ok", "io-status reset")
        st = vm.q.ret("query-blockstats")[0]["stats"]
        check_eq((st["wr_operations"], st["failed_wr_operations"],
                  st["wr_bytes"]), (1, 1, len(data)), "write counters")
        check_eq(st["wr_highest_offset"], 24 * SECTOR, "wr_highest_offset")
    finally:
        vm.close()


@no_kvm
def test_rerror_stop_pio_retry(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    content = pattern(DISK_SECTORS * SECTOR, 7)
    disk = make_file(tmp, "d.raw", content)
    vm = VM(binary, blkdebug_drive(disk, "read_aio", 5, "rerror", "stop",
                                   ",file.inject-error.0.sector=10"), tmp)
    q = vm.q
    try:
        # a read elsewhere is fine: the rule names sector 10
        check_eq(pio_read(vm, 2, 1), content[2 * SECTOR:3 * SECTOR], "")
        ata_setup(vm, 10, 1)
        vm.outb(ATA + 7, 0x20)
        ev = event(vm, "BLOCK_IO_ERROR")
        check_eq((ev["operation"], ev["action"], ev["nospace"]),
                 ("read", "stop", False), "read error event")
        q.wait_event("STOP")
        check_eq(blocks(vm)["hd"]["io-status"], "failed", "io-status")
        check(vm.inb(ATA_ALT) & ST_BSY, "busy")
        out = vm.h.command("info block")
        check("I/O status:       failed" in out, out)
        q.ret("cont")
        wait_for(lambda: vm.inb(ATA_ALT) & ST_DRQ, what="retried read")
        got = b""
        for _ in range(SECTOR // 2):
            w = vm.inw(ATA)
            got += bytes([w & 0xff, w >> 8])
        check_eq(got, content[10 * SECTOR:11 * SECTOR], "retried data")
    finally:
        vm.close()


@no_kvm
def test_error_report_and_ignore(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    disk = make_file(tmp, "d.raw", bytes(DISK_SECTORS * SECTOR))
    # report (the default for EIO with werror=enospc): the command fails
    vm = VM(binary, blkdebug_drive(disk, "write_aio", 5, "werror", "enospc"),
            tmp)
    try:
        check(pio_write(vm, 4, pattern(SECTOR, 1)), "data phase")
        ev = event(vm, "BLOCK_IO_ERROR")
        check_eq((ev["action"], ev["operation"], ev["nospace"]),
                 ("report", "write", False), "report event")
        check_eq(vm.inb(ATA + 7) & (ST_ERR | ST_BSY), ST_ERR, "ERR")
        check_eq(vm.inb(ATA + 1), 0x04, "ABRT")
        check_eq(status(vm), "running", "no stop")
        check_eq(blocks(vm)["hd"]["io-status"], "ok", "report keeps ok")
        no_event(vm, "STOP")
        # once=on: the next write works
        check(pio_write(vm, 4, pattern(SECTOR, 2)), "second write")
        check_eq(vm.inb(ATA + 7) & ST_ERR, 0, "no error")
        check_eq(read_file(disk, 4 * SECTOR, SECTOR), pattern(SECTOR, 2), "")
    finally:
        vm.close()
    # ignore: the command completes, the data is lost
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    disk = make_file(tmp, "d.raw", bytes(DISK_SECTORS * SECTOR))
    vm = VM(binary, blkdebug_drive(disk, "write_aio", 5, "werror", "ignore"),
            tmp)
    try:
        check(pio_write(vm, 4, pattern(SECTOR, 1)), "data phase")
        ev = event(vm, "BLOCK_IO_ERROR")
        check_eq(ev["action"], "ignore", "ignore event")
        check_eq(vm.inb(ATA + 7) & (ST_ERR | ST_BSY | ST_DRDY), ST_DRDY,
                 "completed without error")
        check_eq(read_file(disk, 4 * SECTOR, SECTOR), bytes(SECTOR),
                 "not written")
        check_eq(status(vm), "running", "no stop")
    finally:
        vm.close()
    # rerror=report on a flush error (flush counts as a write: werror)
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    disk = make_file(tmp, "d.raw", bytes(DISK_SECTORS * SECTOR))
    vm = VM(binary, blkdebug_drive(disk, "flush_to_disk", 5, "werror",
                                   "report"), tmp)
    try:
        vm.outb(ATA + 6, 0xa0)
        vm.outb(ATA + 7, 0xe7)
        not_busy(vm)
        check_eq(vm.inb(ATA + 7) & ST_ERR, ST_ERR, "FLUSH CACHE fails")
        ev = event(vm, "BLOCK_IO_ERROR")
        check_eq((ev["operation"], ev["action"]), ("write", "report"), "")
        st = vm.q.ret("query-blockstats")[0]["stats"]
        check_eq(st["failed_flush_operations"], 1, "failed flush counted")
    finally:
        vm.close()


@no_kvm
def test_blockstats(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    content = pattern(DISK_SECTORS * SECTOR, 11)
    disk = make_file(tmp, "d.raw", content)
    vm = VM(binary, ["-drive", "file=%s,if=none,id=d0,format=raw" % disk,
                     "-device", "ide-hd,drive=d0,bus=ide.0,unit=0,id=hd",
                     "-drive", "if=none,id=empty,media=cdrom"], tmp)
    q = vm.q
    try:
        st = {s["device"]: s for s in q.ret("query-blockstats")}
        check_eq(sorted(st), ["d0", "empty"], "devices")
        s0 = st["d0"]["stats"]
        check_eq((s0["rd_operations"], s0["wr_operations"]), (0, 0), "zero")
        check("idle_time_ns" not in s0, "no idle time before any I/O")
        check_eq(st["d0"]["qdev"], "hd", "qdev")
        pio_read(vm, 0, 3)              # three 1-sector reads
        pio_write(vm, 8, pattern(2 * SECTOR, 1))   # two 1-sector writes
        vm.outb(ATA + 7, 0xe7)          # FLUSH CACHE
        not_busy(vm)
        s0 = {s["device"]: s for s in q.ret("query-blockstats")}["d0"]
        check_eq(s0["node-name"], blocks(vm)["d0"]["inserted"]["node-name"],
                 "node-name")
        s = s0["stats"]
        check_eq((s["rd_operations"], s["rd_bytes"]), (3, 3 * SECTOR), "rd")
        check_eq((s["wr_operations"], s["wr_bytes"]), (2, 2 * SECTOR), "wr")
        check_eq(s["flush_operations"], 1, "flush")
        check_eq(s["wr_highest_offset"], 10 * SECTOR, "highest")
        check(s["rd_total_time_ns"] > 0 and s["wr_total_time_ns"] > 0,
              "times: %r" % s)
        check("idle_time_ns" in s, "idle time after I/O")
        check_eq((s["failed_rd_operations"], s["account_failed"]),
                 (0, True), "")
        nodes = q.ret("query-blockstats", {"query-nodes": True})
        check(any(n["node-name"] == s0["node-name"] and "parent" in n
                  for n in nodes), "query-nodes: %r" % nodes)
        out = vm.h.command("info blockstats")
        check(re.search(r"^d0: rd_bytes=1536 wr_bytes=1024 rd_operations=3 "
                        r"wr_operations=2 flush_operations=1 "
                        r"wr_total_time_ns=\d+ rd_total_time_ns=\d+ "
                        r"flush_total_time_ns=\d+ rd_merged=0 wr_merged=0 "
                        r"idle_time_ns=\d+\r$", out, re.M), out)
        check("empty: rd_bytes=0" in out, out)
    finally:
        vm.close()


# ---- command-line errors --------------------------------------------------------


@no_kvm
def test_null_drivers(binary):
    """null-co/null-aio over QMP and -drive null-co:// (their latency is
    what virtio-blk-test's stop-drains cases hold a request with)."""
    vm = VM(binary, ["-drive", "file=null-co://,if=none,id=d0,format=raw"])
    try:
        q = vm.q
        q.ret("blockdev-add", {"driver": "null-aio", "node-name": "n1",
                               "size": 1 << 20, "read-zeroes": True,
                               "latency-ns": 200000000})
        nodes = {n["node-name"]: n for n in q.ret("query-named-block-nodes")}
        check_eq(nodes["n1"]["drv"], "null-aio", "drv")
        check_eq(nodes["n1"]["image"]["virtual-size"], 1 << 20, "size")
        blocks = {b["device"]: b for b in q.ret("query-block")}
        check_eq(blocks["d0"]["inserted"]["image"]["virtual-size"], 1 << 30,
                 "null-co:// default size")
        # a format node over it, and deleting both
        q.ret("blockdev-add", {"driver": "raw", "node-name": "r1",
                               "file": "n1"})
        q.ret("blockdev-del", {"node-name": "r1"})
        q.ret("blockdev-del", {"node-name": "n1"})
    finally:
        vm.close()


@no_kvm
def test_cli_errors(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    raw = make_file(tmp, "a.raw", bytes(4096))
    cases = [
        (["-blockdev", "driver=file,node-name=a,filename=%s,bogus=1" % raw],
         "Parameter 'bogus' is unexpected"),
        (["-blockdev", "driver=file,node-name=a,filename=%s" % raw,
          "-blockdev", "driver=file,node-name=a,filename=%s" % raw],
         "Duplicate nodes with node-name='a'"),
        (["-blockdev", "driver=raw,node-name=a,file=nosuch"],
         "Cannot find device='nosuch' nor node-name='nosuch'"),
        (["-blockdev", "driver=raw,node-name=a"],
         'A block device must be specified for "file"'),
        (["-blockdev", "driver=blkdebug,node-name=a,image.driver=file,"
          "image.filename=%s,inject-error.0.event=nosuch" % raw],
         "Parameter 'inject-error[0].event' does not accept value 'nosuch'"),
        (["-blockdev", '{"driver": "file", "node-name": "a"'],
         "JSON parse error"),
        (["-blockdev", "driver=file,node-name=a,filename=%s,read-only=maybe"
          % raw], "Parameter 'read-only' expects 'on' or 'off'"),
        (["-drive", "file=%s,if=none,id=d,werror=sometimes" % raw],
         "'sometimes' invalid write error action"),
        (["-drive", "file=%s,if=none,id=d,rerror=enospc" % raw],
         "'enospc' invalid read error action"),
        (["-device", "ide-hd,drive=nosuchnode"], "nosuchnode"),
        (["-blockdev", "driver=null-co,node-name=n,latency-ns=-1"],
         "null-co: latency-ns is invalid"),
        (["-blockdev", "driver=null-aio,node-name=n,size=-5"],
         "null-aio: 'size' must not be negative"),
        (["-blockdev", "driver=null-co,node-name=n,read-zeroes=sure"],
         "Parameter 'read-zeroes' expects 'on' or 'off'"),
        (["-blockdev", "driver=null-co,node-name=n,bogus=1"],
         "Parameter 'bogus' is unexpected"),
        (["-drive", "file=null-co://x,if=none,id=d,format=raw"],
         "the file name must be 'null-co://'"),
        (["-drive", "file=%s,if=none,id=d,format=raw,node-name=1x" % raw],
         "Invalid node-name: '1x'"),
        (["-blockdev", "driver=file,node-name=a,filename=%s" % raw,
          "-drive", "file=%s,if=none,id=d,format=raw,node-name=a" % raw],
         "Duplicate nodes with node-name='a'"),
    ]
    for args, text in cases:
        p = subprocess.run([binary, "-machine", "pc", "-nodefaults",
                            "-display", "none", "-accel", "qtest"] + args,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
        err = p.stderr.decode()
        check_eq(p.returncode, 1, "exit status for %r (%s)" % (args, err))
        lines = err.strip().splitlines()
        check(len(lines) == 1 and lines[0].startswith("kvmpc: ") and
              text in lines[0], "%r: want one line with %r, got %r" %
              (args, text, err))


@no_kvm
def test_blockdev_reopen(binary):
    """blockdev-reopen (QEMU 7.2's rules and replies, compared live):
    read-only and back (the image lock follows), a new backing node and
    none, detect-zeroes; refusals change nothing, all or none."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-blockdev-")
    imgs = {}
    for name, size in (("t", "1M"), ("b", "1M"), ("d", "128K")):
        imgs[name] = os.path.join(tmp, name + ".qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2",
                        imgs[name], size], check=True)
    vm = VM(binary, ["-drive", "file=%s,if=ide,id=drive0,format=qcow2,"
                     "node-name=dnode" % imgs["d"]], tmp)
    q = vm.q

    def reopen(*opts):
        return q.cmd("blockdev-reopen", {"options": list(opts)})

    def t(**kw):
        return dict({"driver": "qcow2", "node-name": "t", "file": "tf"}, **kw)

    def nodes():
        return {n["node-name"]: n for n in q.ret("query-named-block-nodes")}

    def foreign_read_ok():
        # a reader that lets nobody write: refused while kvmpc writes
        r = subprocess.run(["qemu-io", "-r", "-f", "qcow2", "-c",
                            "read 0 512", imgs["t"]], capture_output=True,
                           text=True)
        return r.returncode == 0 and "lock" not in r.stderr
    try:
        for name in ("t", "b"):
            q.ret("blockdev-add", {"driver": "file", "node-name": name + "f",
                                   "filename": imgs[name]})
            q.ret("blockdev-add", {"driver": "qcow2", "node-name": name,
                                   "file": name + "f"})
        check(not foreign_read_ok(), "the image is locked while writable")
        check_eq(reopen(t(**{"read-only": True})), {"return": {}}, "ro")
        check_eq((nodes()["t"]["ro"], nodes()["tf"]["ro"]), (True, True),
                 "read-only after reopen")
        check(foreign_read_ok(), "the write lock is gone")
        check_eq(reopen(t()), {"return": {}}, "rw again (the default)")
        check_eq(nodes()["t"]["ro"], False, "writable again")
        check(not foreign_read_ok(), "locked again")
        check_eq(reopen(t(backing="b")), {"return": {}}, "new backing")
        check_eq(nodes()["t"]["backing_file_depth"], 1, "backing linked")
        check_eq(reopen(t(backing=None)), {"return": {}}, "no backing")
        check_eq(nodes()["t"]["backing_file_depth"], 0, "backing gone")
        check_eq(reopen(t(**{"detect-zeroes": "on"})), {"return": {}},
                 "detect-zeroes")
        check_eq(nodes()["t"]["detect_zeroes"], "on", "detect-zeroes on")
        check_eq(reopen(), {"return": {}}, "nothing to reopen")
        errors = [
            ([{"driver": "qcow2", "file": "tf"}], "node-name not specified"),
            ([t(**{"node-name": "nosuch"})],
             "Failed to find node with node-name='nosuch'"),
            ([t(driver="raw")], "Cannot change the option 'driver'"),
            ([t(backing="t")],
             "Making 't' a backing child of 't' would create a cycle"),
            ([t(backing="nosuch")],
             "Cannot find device='' nor node-name='nosuch'"),
            ([t(file={"driver": "file", "filename": imgs["t"]})],
             "Cannot change the option 'file.driver'"),
            ([t(cache={"direct": True})],
             "Cannot change the option 'cache.direct'"),
            ([{"driver": "file", "node-name": "bf", "filename": "/x"}],
             "Cannot change the option 'filename'"),
            ([t(**{"detect-zeroes": "unmap"})],
             "setting detect-zeroes to unmap is not allowed without "
             "setting discard operation to unmap"),
            ([t(bogus=1)], "Parameter 'options[0].bogus' is unexpected"),
            ([t(**{"read-only": True}), t(**{"node-name": "nosuch"})],
             "Failed to find node with node-name='nosuch'"),
        ]
        for opts, want in errors:
            e = q.error("blockdev-reopen", {"options": opts})
            check_eq(e["desc"], want, "reopen %r" % opts)
        # the device's node cannot go read-only under the device
        dnode = "dnode"         # -drive node-name=
        check_eq([b["inserted"]["node-name"] for b in q.ret("query-block")
                  if b["device"] == "drive0"], [dnode], "-drive node-name")
        dfile = [n for n in nodes().values() if n["drv"] == "file" and
                 n["file"] == imgs["d"]][0]["node-name"]
        e = q.error("blockdev-reopen", {"options": [
            {"driver": "qcow2", "node-name": dnode, "file": dfile,
             "read-only": True}]})
        check_eq(e["desc"], "Read-only block node '%s' cannot support "
                 "read-write users" % dnode, "under a device")
        e = q.error("blockdev-reopen", {"options": [
            {"driver": "file", "node-name": "tf", "filename": imgs["t"],
             "read-only": True}]})
        check_eq(e["desc"], "Read-only block node 'tf' cannot support "
                 "read-write users", "under a writable parent")
        e = q.error("blockdev-reopen", {"options": "x"})
        check_eq(e["desc"], "Invalid parameter type for 'options', "
                 "expected: array", "not a list")
        check_eq((nodes()["t"]["ro"], nodes()[dnode]["ro"]),
                 (False, False), "nothing changed by the refusals")
        check(vm.vm.alive(), "kvmpc died")
    finally:
        vm.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_blockdev_add_del, test_blockdev_reopen, test_cli_blockdev, test_media_commands,
               test_empty_cd_by_id, test_floppy_media, test_block_resize,
               test_werror_stop_dma_retry, test_rerror_stop_pio_retry,
               test_error_report_and_ignore, test_blockstats,
               test_null_drivers, test_cli_errors])
