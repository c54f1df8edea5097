#!/usr/bin/env python3
"""query-block and info block for IDE drives (-accel qtest: no /dev/kvm
needed).  The CD-ROM's tray and lock are driven through the ATAPI packet
interface over a qtest socket, as a guest would."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (HMP, QMP, Kvmpc, check, check_eq, no_kvm,  # noqa: E402
                    run_tests, wait_for)
from test_timer_storm import QTest  # noqa: E402


def start(binary, tmpdir, extra):
    qtest_path = os.path.join(tmpdir, "qtest.sock")
    qmp_path = os.path.join(tmpdir, "qmp.sock")
    hmp_path = os.path.join(tmpdir, "hmp.sock")
    vm = Kvmpc(binary, ["-machine", "pc", "-nodefaults", "-display", "none",
                        "-accel", "qtest", "-qtest-log", "none",
                        "-qtest", "unix:%s,server=on" % qtest_path,
                        "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
                        "-monitor", "unix:%s,server=on,wait=off" % hmp_path]
               + extra, tmpdir=tmpdir)
    wait_for(lambda: os.path.exists(qtest_path), what="qtest socket")
    qt = QTest(qtest_path)
    vm.wait_socket(qmp_path)
    vm.wait_socket(hmp_path)
    hmp = HMP.unix(hmp_path)
    hmp.read_until(HMP.PROMPT)          # the banner
    return vm, qt, QMP(qmp_path), hmp


def atapi(qt, cdb):
    """Send a 12-byte packet to the secondary master (no data phase)."""
    qt.cmd("outb 0x176 0xa0")
    qt.cmd("outb 0x177 0xa0")
    cdb = bytes(cdb) + bytes(12 - len(cdb))
    for i in range(0, 12, 2):
        qt.cmd("outw 0x170 0x%x" % (cdb[i] | cdb[i + 1] << 8))


@no_kvm
def test_query_block(binary):
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-block-")
    disk = os.path.join(tmpdir, "disk.raw")
    iso = os.path.join(tmpdir, "cd.iso")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    with open(iso, "wb") as f:
        f.truncate(64 << 10)
    vm, qt, q, h = start(binary, tmpdir, [
        "-drive", "file=%s,format=raw,if=none,id=d0,cache=none" % disk,
        "-device", "ide-hd,drive=d0,bus=ide.0,unit=0,id=disk0",
        "-cdrom", iso,
        "-drive", "if=ide,index=3,media=cdrom"])
    try:
        blocks = {b["device"]: b for b in q.ret("query-block")}
        check_eq(sorted(blocks), ["d0", "ide1-cd0", "ide1-cd1"], "devices")
        d0 = blocks["d0"]
        check_eq(d0["qdev"], "disk0", "qdev")
        check_eq(d0["type"], "unknown", "type")
        check(not d0["removable"] and "tray_open" not in d0, "d0 fixed")
        ins = d0["inserted"]
        check_eq(ins["file"], disk, "file")
        check_eq(ins["drv"], "raw", "drv")
        check_eq(ins["ro"], False, "ro")
        check_eq(ins["image"]["virtual-size"], 1 << 20, "virtual-size")
        check_eq(ins["cache"], {"writeback": True, "direct": True,
                                "no-flush": False}, "cache=none")
        check_eq(ins["detect_zeroes"], "off", "detect_zeroes")
        cd = blocks["ide1-cd0"]
        check(cd["removable"] and cd["tray_open"] is False, "cd tray")
        check_eq(cd["inserted"]["ro"], True, "cd ro")
        check_eq(cd["inserted"]["image"]["virtual-size"], 64 << 10, "cd size")
        check("inserted" not in blocks["ide1-cd1"], "empty drive")

        text = h.command("info block")
        check(re.search(r"d0 \(#block\d+\): %s \(raw\)" % re.escape(disk),
                        text), "info block disk: %r" % text)
        check("Attached to:      disk0" in text, "attached: %r" % text)
        check("Cache mode:       writeback, direct" in text, text)
        check("): %s (raw, read-only)" % iso in text, text)
        check("ide1-cd1: [not inserted]" in text, text)
        check("Removable device: not locked, tray closed" in text, text)

        # The guest locks the tray, then (after unlocking) ejects.
        atapi(qt, [0x1e, 0, 0, 0, 1])
        cd = {b["device"]: b for b in q.ret("query-block")}["ide1-cd0"]
        check_eq(cd["locked"], True, "locked after PREVENT")
        check("Removable device: locked, tray closed" in h.command("info block"),
              "locked in info block")
        atapi(qt, [0x1e, 0, 0, 0, 0])
        atapi(qt, [0x1b, 0, 0, 0, 2])
        cd = {b["device"]: b for b in q.ret("query-block")}["ide1-cd0"]
        check_eq(cd["tray_open"], True, "tray open after eject")
        # As QEMU: the medium stays in the open tray (eject removes it).
        check_eq(cd["inserted"]["file"], iso, "medium in the open tray")
        check(vm.alive(), "kvmpc died")
    finally:
        q.close()
        vm.close()


@no_kvm
def test_drive_io_limits(binary):
    """-drive I/O limits in QEMU's throttling.* keys and its older names,
    shown by query-block; block_set_io_throttle by backend name changes
    them (a group of its own, named after the drive, unless group=);
    configurations QEMU refuses are refused with its words."""
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-block-")
    imgdir = tempfile.mkdtemp(prefix="kvmpc-block-img-")
    img = os.path.join(imgdir, "d.raw")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    drive = "if=none,format=raw,file=" + img
    vm, qt, q, hmp = start(binary, tmpdir, [
        "-drive", drive + ",id=d0,throttling.iops-total=10,"
        "throttling.iops-total-max=100,throttling.iops-total-max-length=3,"
        "throttling.bps-write=4096,throttling.iops-size=8192,"
        "throttling.group=g0",
        "-drive", drive + ",id=d1,readonly=on,iops_rd=7,iops_rd_max=9"])
    try:
        blocks = {b["device"]: b["inserted"] for b in q.ret("query-block")}
        d0, d1 = blocks["d0"], blocks["d1"]
        check_eq((d0["iops"], d0["iops_max"], d0["iops_max_length"],
                  d0["bps_wr"], d0["iops_size"], d0["group"]),
                 (10, 100, 3, 4096, 8192, "g0"), "d0's limits")
        check_eq((d1["iops_rd"], d1["iops_rd_max"], d1["group"]),
                 (7, 9, "d1"), "d1's limits (old names)")
        zero = {k: 0 for k in ("bps", "bps_rd", "bps_wr", "iops",
                               "iops_rd", "iops_wr")}
        q.ret("block_set_io_throttle", dict(zero, device="d1", bps=1000))
        d1 = {b["device"]: b["inserted"]
              for b in q.ret("query-block")}["d1"]
        check_eq((d1["bps"], d1["iops_rd"]), (1000, 0), "d1 replaced")
        q.ret("block_set_io_throttle", dict(zero, device="d1"))
        d1 = {b["device"]: b["inserted"]
              for b in q.ret("query-block")}["d1"]
        check("group" not in d1 and d1["bps"] == 0, "d1 unlimited: %r" % d1)
        e = q.error("block_set_io_throttle", dict(zero, device="nope"))
        check_eq(e["class"], "DeviceNotFound", "unknown device")
    finally:
        q.close()
        vm.close()
    for bad, want in (
            ("throttling.bps-total=100,throttling.bps-read=5",
             "bps and bps_rd/bps_wr cannot be used at the same time"),
            ("iops=5,iops_max=4", "cannot be lower than bps/iops values"),
            ("throttling.iops-total=x",
             "Parameter 'throttling.iops-total' expects a number"),
            ("throttling.iops-totl=1", "Invalid parameter")):
        p = subprocess.run([binary, "-machine", "none", "-accel", "qtest",
                            "-nodefaults", "-display", "none",
                            "-drive", drive + ",id=x," + bad],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 1 and want in p.stderr,
              "%s: rc %d %r" % (bad, p.returncode, p.stderr))
    shutil.rmtree(imgdir, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_query_block, test_drive_io_limits])
