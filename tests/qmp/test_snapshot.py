#!/usr/bin/env python3
"""Internal snapshots under -accel qtest (no /dev/kvm needed): HMP
savevm/loadvm/delvm/info snapshots, the QMP snapshot-save/-load/-delete
jobs with their JOB_STATUS_CHANGE events, -loadvm, QEMU's refusals, and
the images checked with QEMU's own qemu-img (snapshot -l, check).  RAM and
device registers are written through qtest, disk sectors through the IDE
controller's PIO registers.  See docs/migration.md."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import TestFailure, check, check_eq, no_kvm, run_tests  # noqa
from test_migration import (BASE, VM, check_ram, check_registers,  # noqa
                            fill_ram, set_registers)

QEMU_IMG = shutil.which("qemu-img")


def make_qcow2(path, size="16M"):
    tool = QEMU_IMG or os.path.join(os.path.dirname(sys.argv[1]),
                                     "kvmpc-img")
    subprocess.run([tool, "create", "-q", "-f", "qcow2", path, size],
                   check=True)


def qemu_img(*args):
    if not QEMU_IMG:
        return None
    return subprocess.run([QEMU_IMG] + list(args), capture_output=True,
                          text=True)


def disk_vm(binary, img, extra=(), fmt="qcow2"):
    return VM(binary, ["-drive", "file=%s,format=%s,if=ide,index=0"
                       % (img, fmt)] + list(extra))


# ---- the disk through the IDE controller (primary master, PIO) ----------

def ide_wait(vm, mask, want):
    for _ in range(10000):
        st = int(vm.q("inb 0x1f7").split()[1], 16)
        if st & 0x01:
            raise TestFailure("IDE error, status 0x%x" % st)
        if st & mask == want:
            return st
    raise TestFailure("IDE status stuck at 0x%x" % st)


def ide_setup(vm, lba, cmd):
    ide_wait(vm, 0x80, 0)
    vm.q("outb 0x1f6 0x%x" % (0xe0 | (lba >> 24) & 0xf))
    vm.q("outb 0x1f2 0x1")
    vm.q("outb 0x1f3 0x%x" % (lba & 0xff))
    vm.q("outb 0x1f4 0x%x" % (lba >> 8 & 0xff))
    vm.q("outb 0x1f5 0x%x" % (lba >> 16 & 0xff))
    vm.q("outb 0x1f7 0x%x" % cmd)


def write_sector(vm, lba, data):
    assert len(data) == 512
    ide_setup(vm, lba, 0x30)
    ide_wait(vm, 0x88, 0x08)
    for i in range(0, 512, 2):
        vm.q("outw 0x1f0 0x%x" % (data[i] | data[i + 1] << 8))
    ide_wait(vm, 0x88, 0)


def read_sector(vm, lba):
    ide_setup(vm, lba, 0x20)
    ide_wait(vm, 0x88, 0x08)
    out = bytearray()
    for _ in range(256):
        w = int(vm.q("inw 0x1f0").split()[1], 16)
        out += bytes((w & 0xff, w >> 8))
    return bytes(out)


def sector(tag):
    return (tag.encode() * (512 // len(tag) + 1))[:512]


def hmp_ok(vm, line):
    out = vm.hmp.command(line)
    check("Error" not in out, "%s: %r" % (line, out))
    return out


@no_kvm
def test_savevm_loadvm_roundtrip(binary):
    d = tempfile.mkdtemp(prefix="kvmpc-snap-")
    img = os.path.join(d, "disk.qcow2")
    make_qcow2(img)
    vm = disk_vm(binary, img)
    try:
        expect = fill_ram(vm, 5)
        set_registers(vm, 0x1234)
        write_sector(vm, 7, sector("before-savevm"))
        hmp_ok(vm, "savevm snap1")
        check_eq(vm.qmp.ret("query-status")["status"], "running",
                 "runs on after savevm")
        out = hmp_ok(vm, "info snapshots")
        check("List of snapshots present on all disks:" in out, out)
        check("snap1" in out and "--" in out, out)
        # change everything: RAM, registers, the disk
        fill_ram(vm, 99)
        set_registers(vm, 0x5678)
        write_sector(vm, 7, sector("after-savevm"))
        write_sector(vm, 9, sector("new-sector"))
        check_eq(read_sector(vm, 7), sector("after-savevm"), "written")
        hmp_ok(vm, "loadvm snap1")
        check_eq(vm.qmp.ret("query-status")["status"], "running",
                 "runs after loadvm")
        check_ram(vm, expect)
        check_registers(vm, 0x1234)
        check_eq(read_sector(vm, 7), sector("before-savevm"),
                 "disk back to the snapshot")
        check_eq(read_sector(vm, 9), bytes(512), "later sector gone")
        # a second snapshot; overwrite the first by name (HMP replaces)
        hmp_ok(vm, "savevm snap2")
        hmp_ok(vm, "savevm snap1")
        out = hmp_ok(vm, "info snapshots")
        check_eq(out.count("snap1"), 1, "savevm replaced snap1: %r" % out)
        hmp_ok(vm, "delvm snap2")
        out = hmp_ok(vm, "info snapshots")
        check("snap2" not in out and "snap1" in out, out)
        if QEMU_IMG:
            r = qemu_img("snapshot", "-U", "-l", img)
            check(r.returncode == 0 and "snap1" in r.stdout,
                  "qemu-img snapshot -l (running): %r" % (r.stdout +
                                                         r.stderr))
    finally:
        vm.close()
    if QEMU_IMG:
        r = qemu_img("check", img)
        check_eq(r.returncode, 0, "qemu-img check: %s" % (r.stdout +
                                                           r.stderr))
        r = qemu_img("snapshot", "-l", img)
        lines = [ln for ln in r.stdout.splitlines() if "snap1" in ln]
        check_eq(len(lines), 1, "qemu-img lists snap1: %r" % r.stdout)
        check(" 0 B" not in lines[0], "snap1 has a VM state: %r" % lines[0])
    # -loadvm at start: the same state in a new process
    vm = disk_vm(binary, img, ["-loadvm", "snap1"])
    try:
        check_ram(vm, expect)
        check_registers(vm, 0x1234)
        check_eq(read_sector(vm, 7), sector("before-savevm"), "-loadvm disk")
    finally:
        vm.close()
    if QEMU_IMG:
        r = qemu_img("check", img)
        check_eq(r.returncode, 0, "qemu-img check after -loadvm: %s" %
                 (r.stdout + r.stderr))
    shutil.rmtree(d, ignore_errors=True)


def job_events(vm, job):
    seq = []
    while not seq or seq[-1] != "concluded":
        ev = vm.qmp.wait_event("JOB_STATUS_CHANGE")
        check_eq(ev["data"]["id"], job, "event's job")
        seq.append(ev["data"]["status"])
    return seq


def run_job(vm, cmd, args, ok=True):
    vm.qmp.ret(cmd, args)
    seq = job_events(vm, args["job-id"])
    jobs = {j["id"]: j for j in vm.qmp.ret("query-jobs")}
    j = jobs[args["job-id"]]
    check_eq(j["type"], cmd, "job type")
    check_eq(j["status"], "concluded", "job status")
    if ok:
        check_eq(seq, ["created", "running", "waiting", "pending",
                       "concluded"], "status sequence")
        check("error" not in j, "job error: %r" % j)
    else:
        check_eq(seq, ["created", "running", "aborting", "concluded"],
                 "status sequence of a failed job")
    vm.qmp.ret("job-dismiss", {"id": args["job-id"]})
    ev = vm.qmp.wait_event("JOB_STATUS_CHANGE")
    check_eq(ev["data"]["status"], "null", "dismissed")
    check(args["job-id"] not in [x["id"] for x in vm.qmp.ret("query-jobs")],
          "dismissed job gone")
    return j


@no_kvm
def test_snapshot_jobs(binary):
    d = tempfile.mkdtemp(prefix="kvmpc-snap-")
    img = os.path.join(d, "disk.qcow2")
    make_qcow2(img)
    vm = VM(binary, ["-blockdev", "driver=file,filename=%s,node-name=f0"
                     % img, "-blockdev",
                     "driver=qcow2,file=f0,node-name=disk0",
                     "-device", "ide-hd,drive=disk0,bus=ide.0,unit=0"])
    try:
        expect = fill_ram(vm, 11)
        set_registers(vm, 0x4242)
        write_sector(vm, 3, sector("job-before"))
        args = {"job-id": "s1", "tag": "t1", "vmstate": "disk0",
                "devices": ["disk0"]}
        run_job(vm, "snapshot-save", args)
        # the same tag again: refused as QEMU does, as a failed job
        args["job-id"] = "s2"
        j = run_job(vm, "snapshot-save", args, ok=False)
        check_eq(j.get("error"), "Snapshot 't1' already exists in one or "
                 "more devices", "duplicate tag")
        fill_ram(vm, 12)
        set_registers(vm, 0x1111)
        write_sector(vm, 3, sector("job-after"))
        run_job(vm, "snapshot-load", {"job-id": "l1", "tag": "t1",
                                      "vmstate": "disk0",
                                      "devices": ["disk0"]})
        check_ram(vm, expect)
        check_registers(vm, 0x4242)
        check_eq(read_sector(vm, 3), sector("job-before"), "disk reverted")
        j = run_job(vm, "snapshot-load", {"job-id": "l2", "tag": "nope",
                                          "vmstate": "disk0",
                                          "devices": ["disk0"]}, ok=False)
        check_eq(j.get("error"), "Snapshot 'nope' does not exist in one or "
                 "more devices", "missing tag")
        j = run_job(vm, "snapshot-save", {"job-id": "s4", "tag": "t2",
                                          "vmstate": "nosuch",
                                          "devices": ["disk0"]}, ok=False)
        check("nosuch" in j.get("error", ""), "bad vmstate: %r" % j)
        run_job(vm, "snapshot-delete", {"job-id": "d1", "tag": "t1",
                                        "devices": ["disk0"]})
        check("t1" not in vm.hmp.command("info snapshots"), "deleted")
        # the job id must be unique while the job exists
        vm.qmp.ret("snapshot-delete", {"job-id": "dup", "tag": "zz",
                                       "devices": ["disk0"]})
        err = vm.qmp.error("snapshot-delete", {"job-id": "dup", "tag": "z",
                                               "devices": ["disk0"]})
        check_eq(err["desc"], "Job ID 'dup' already in use", "dup job id")
        job_events(vm, "dup")
        err = vm.qmp.error("job-dismiss", {"id": "nosuch"})
        check_eq(err["desc"], "Job not found", "dismiss unknown")
    finally:
        vm.close()
    shutil.rmtree(d, ignore_errors=True)


@no_kvm
def test_refusals(binary):
    d = tempfile.mkdtemp(prefix="kvmpc-snap-")
    raw = os.path.join(d, "disk.raw")
    with open(raw, "wb") as f:
        f.truncate(1 << 20)
    vm = disk_vm(binary, raw, fmt="raw")
    try:
        out = vm.hmp.command("savevm s")
        check("Error: Device 'ide0-hd0' is writable but does not support "
              "snapshots" in out, out)
        check_eq(vm.qmp.ret("query-status")["status"], "running", "state")
    finally:
        vm.close()
    vm = VM(binary)             # no disk at all
    try:
        out = vm.hmp.command("savevm s")
        check("Error: No block device can accept snapshots" in out, out)
        out = vm.hmp.command("info snapshots")
        check("No available block device supports snapshots" in out, out)
    finally:
        vm.close()
    img = os.path.join(d, "disk.qcow2")
    make_qcow2(img)
    vm = disk_vm(binary, img, ["-device", "pci-testdev,addr=6,"
                               "x-migration-blocker=holds host state"])
    try:
        out = vm.hmp.command("savevm s")
        check("Error: holds host state" in out, out)
        out = vm.hmp.command("info snapshots")
        check("There is no snapshot available." in out, out)
    finally:
        vm.close()
    # a disk-only snapshot (qemu-img snapshot -c) is refused by loadvm
    tool = QEMU_IMG or os.path.join(os.path.dirname(binary), "kvmpc-img")
    subprocess.run([tool, "snapshot", "-c", "diskonly", img], check=True)
    vm = disk_vm(binary, img)
    try:
        out = vm.hmp.command("loadvm diskonly")
        check("Error: This is a disk-only snapshot. Revert to it offline "
              "using qemu-img" in out, out)
        out = vm.hmp.command("loadvm missing")
        check("Error: Snapshot 'missing' does not exist in one or more "
              "devices" in out, out)
        check_eq(vm.hmp.command("delvm missing"), "", "delvm of nothing")
    finally:
        vm.close()
    r = subprocess.run([binary] + BASE + ["-drive", "file=%s,format=qcow2,"
                       "if=ide" % img, "-loadvm", "missing"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode != 0 and "Snapshot 'missing' does not exist" in
          r.stderr, "-loadvm of a missing tag: %r" % r.stderr)
    shutil.rmtree(d, ignore_errors=True)


@no_kvm
def test_quoted_names(binary):
    """HMP takes QEMU's quoted strings: libvirt sends savevm "NAME"."""
    d = tempfile.mkdtemp(prefix="kvmpc-snap-")
    img = os.path.join(d, "disk.qcow2")
    make_qcow2(img)
    vm = disk_vm(binary, img)
    try:
        expect = fill_ram(vm, 7)
        hmp_ok(vm, 'savevm "snap one"')
        hmp_ok(vm, r'savevm "q\"uote\\d"')
        out = hmp_ok(vm, "info snapshots")
        check("snap one" in out and '"snap one"' not in out,
              "the tag without its quotes: %r" % out)
        check(r'q"uote\d' in out, "escapes: %r" % out)
        fill_ram(vm, 8)
        hmp_ok(vm, 'loadvm "snap one"')
        check_ram(vm, expect)
        if QEMU_IMG:
            r = qemu_img("snapshot", "-U", "-l", img)
            check("snap one" in r.stdout and '"snap' not in r.stdout,
                  "qemu-img snapshot -l: %r" % r.stdout)
        hmp_ok(vm, 'delvm "snap one"')
        hmp_ok(vm, r'delvm "q\"uote\\d"')
        check("snap one" not in hmp_ok(vm, "info snapshots"), "deleted")
        for line, err in (('savevm "open', "unterminated string"),
                          (r'savevm "a\x"', "unsupported escape"),
                          ('savevm "a"b', "after a quoted string"),
                          ("savevm a b", "extraneous characters"),
                          ('loadvm "snap', "unterminated string")):
            out = vm.hmp.command(line)
            check(err in out, "%s: %r" % (line, out))
        out = hmp_ok(vm, "info snapshots")
        check("open" not in out and " a " not in out,
              "nothing saved by refused lines: %r" % out)
    finally:
        vm.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_savevm_loadvm_roundtrip, test_snapshot_jobs,
               test_refusals, test_quoted_names])
