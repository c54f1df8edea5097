#!/usr/bin/env python3
"""Block mirroring under -accel qtest (no /dev/kvm needed): drive-mirror and
blockdev-mirror, the block-job-* and job-* commands, query-block-jobs, the
BLOCK_JOB_* and JOB_STATUS_CHANGE events, with QEMU 7.2's wording.  Guest
writes during the mirror are IDE bus-master DMA writes driven over the
qtest socket, and in one test (with /dev/kvm) a guest's own writes (the
virtio-blk payload, $KVMPC_VIRTIO_BLK_PAYLOAD); qemu-img and qemu-io (the
real ones) check the images.

    test_mirror.py KVMPC [TEST...]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (QMP, Kvmpc, TestFailure, check, check_eq,  # noqa: E402
                    no_kvm, run_tests, wait_for)
from test_blockdev import (VM, ATA, BM, SECTOR, bm_enable,  # noqa: E402
                           dma_write, pattern, read_file)

MiB = 1 << 20
DISK = 4 * MiB


def qemu_img(*args):
    return subprocess.run(["qemu-img"] + list(args), capture_output=True,
                          text=True)


def qemu_io(path, fmt, cmd):
    r = subprocess.run(["qemu-io", "-r", "-U", "-f", fmt, "-c", cmd, path],
                       capture_output=True, text=True)
    ok = r.returncode == 0 and "Pattern verification failed" not in r.stdout + r.stderr
    if not ok:
        print("qemu-io %s: %s%s" % (cmd, r.stdout, r.stderr))
    return ok


def make_source(tmp):
    """A 4 MiB qcow2 with data at 0-1 MiB and 2-2.5 MiB (1.5 MiB)."""
    path = os.path.join(tmp, "src.qcow2")
    check(qemu_img("create", "-q", "-f", "qcow2", path, str(DISK))
          .returncode == 0, "qemu-img create")
    for cmd in ("write -P 0x11 0 1M", "write -P 0x22 2M 512k"):
        subprocess.run(["qemu-io", "-f", "qcow2", "-c", cmd, path],
                       check=True, capture_output=True)
    return path


def start(binary, tmp, extra=()):
    src = make_source(tmp)
    vm = VM(binary, ["-drive", "file=%s,if=ide,id=drive0,format=qcow2" % src]
            + list(extra))
    bm_enable(vm)
    return vm, src


def quit_vm(vm):
    """QMP quit: kvmpc flushes and closes its images (qemu-img may then
    read the qcow2 metadata it had cached)."""
    if getattr(vm, "closed", False):
        return
    vm.closed = True
    if vm.vm.alive():
        vm.q.cmd("quit")
        vm.vm.wait()
    vm.close()


def guest_write(vm, offset, data):
    """A WRITE DMA through the device; waits for its completion."""
    dma_write(vm, offset // SECTOR, data)
    wait_for(lambda: vm.inb(BM + 2) & 0x04, what="DMA completion")
    check(not vm.inb(ATA + 7) & 0x01, "WRITE DMA failed")
    vm.outb(BM, 0)


def job_events(vm, jid):
    """Statuses of @jid from JOB_STATUS_CHANGE events seen so far."""
    vm.q.ret("query-status")
    return [e["data"]["status"] for e in vm.q.events
            if e["event"] == "JOB_STATUS_CHANGE" and e["data"]["id"] == jid]


def block_events(vm):
    vm.q.ret("query-status")
    return [e["event"] for e in vm.q.events
            if e["event"].startswith("BLOCK_JOB_")]


def file_of(vm, device):
    for b in vm.q.ret("query-block"):
        if b["device"] == device:
            return b["inserted"]["file"]
    raise TestFailure("no device " + device)


def compare(a, afmt, b, bfmt):
    r = qemu_img("compare", "-U", "-f", afmt, "-F", bfmt, a, b)
    check(r.returncode == 0, "qemu-img compare %s %s: %s%s"
          % (a, b, r.stdout, r.stderr))


@no_kvm
def test_complete_pivot(binary):
    """drive-mirror full -> READY; guest writes land in the target;
    block-job-complete pivots the device; the images compare equal."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "tgt.qcow2")
    try:
        guest_write(vm, 3 * MiB, pattern(64 * 1024, 0x31))  # before the job
        vm.q.ret("drive-mirror", {"device": "drive0", "target": tgt,
                                  "sync": "full", "format": "qcow2"})
        ev = vm.q.wait_event("BLOCK_JOB_READY")["data"]
        check_eq(ev["type"], "mirror", "READY type")
        check_eq(ev["device"], "drive0", "READY device")
        check_eq(ev["offset"], ev["len"], "READY offset")
        check(ev["len"] >= MiB + 512 * 1024 + 64 * 1024, "READY len %r" % ev)
        # Written during the mirror: copied by the dirty bitmap.
        guest_write(vm, 1 * MiB + 4096, pattern(64 * 1024, 0x42))
        guest_write(vm, 0, pattern(8 * SECTOR, 0x43))
        jobs = vm.q.ret("query-block-jobs")
        check_eq(len(jobs), 1, "query-block-jobs")
        j = jobs[0]
        for k, v in (("type", "mirror"), ("device", "drive0"),
                     ("status", "ready"), ("ready", True), ("paused", False),
                     ("speed", 0), ("io-status", "ok"),
                     ("auto-finalize", True), ("auto-dismiss", True)):
            check_eq(j[k], v, "query-block-jobs " + k)
        check(isinstance(j["busy"], bool) and j["len"] >= j["offset"] > 0,
              "busy/len/offset %r" % j)
        qj = vm.q.ret("query-jobs")
        check_eq((qj[0]["id"], qj[0]["type"], qj[0]["status"]),
                 ("drive0", "mirror", "ready"), "query-jobs")
        # pause/resume of a READY job: standby and back
        vm.q.ret("block-job-pause", {"device": "drive0"})
        j = vm.q.ret("query-block-jobs")[0]
        check_eq((j["status"], j["paused"]), ("standby", True), "paused")
        vm.q.ret("block-job-resume", {"device": "drive0"})
        vm.q.ret("block-job-complete", {"device": "drive0"})
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check("error" not in ev, "COMPLETED error %r" % ev)
        check_eq(ev["offset"], ev["len"], "COMPLETED offset")
        wait_for(lambda: "null" in job_events(vm, "drive0"), what="null")
        check_eq(job_events(vm, "drive0"),
                 ["created", "running", "ready", "standby", "ready",
                  "waiting", "pending", "concluded", "null"], "statuses")
        check("BLOCK_JOB_CANCELLED" not in block_events(vm), "CANCELLED")
        check_eq(vm.q.ret("query-block-jobs"), [], "jobs after complete")
        check_eq(file_of(vm, "drive0"), tgt, "device's image after pivot")
        # The device now writes to the target only.
        guest_write(vm, 2 * MiB, b"\x55" * 4096)
        quit_vm(vm)
        check(qemu_io(tgt, "qcow2", "read -P 0x55 %d 4096" % (2 * MiB)),
              "target lacks the write after the pivot")
        check(qemu_io(src, "qcow2", "read -P 0x22 %d 4096" % (2 * MiB)),
              "the source got a write after the pivot")
        subprocess.run(["qemu-io", "-f", "qcow2", "-c",
                        "write -P 0x55 %d 4096" % (2 * MiB), src],
                       check=True, capture_output=True)
        compare(src, "qcow2", tgt, "qcow2")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_cancel_after_ready(binary):
    """block-job-cancel of a READY mirror: COMPLETED, no pivot, target
    equal to the source (guest writes included); job-dismiss."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "tgt.raw")
    try:
        vm.q.ret("drive-mirror", {"device": "drive0", "target": tgt,
                                  "sync": "full", "format": "raw",
                                  "auto-dismiss": False,
                                  "granularity": 4096, "buf-size": 65536})
        vm.q.wait_event("BLOCK_JOB_READY")
        guest_write(vm, 3 * MiB, pattern(32 * 1024, 0x61))
        vm.q.ret("block-job-cancel", {"device": "drive0"})
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check("error" not in ev, "COMPLETED error %r" % ev)
        wait_for(lambda: "concluded" in job_events(vm, "drive0"),
                 what="concluded")
        check("BLOCK_JOB_CANCELLED" not in block_events(vm),
              "CANCELLED after a soft cancel of a READY job")
        check_eq(file_of(vm, "drive0"), src, "device's image (no pivot)")
        check_eq(vm.q.ret("query-jobs")[0]["status"], "concluded", "status")
        err = vm.q.error("block-job-cancel", {"device": "drive0"})
        check_eq(err["desc"], "Job 'drive0' in state 'concluded' cannot "
                 "accept command verb 'cancel'", "cancel concluded")
        vm.q.ret("job-dismiss", {"id": "drive0"})
        check_eq(vm.q.ret("query-jobs"), [], "dismissed")
        quit_vm(vm)           # the source's metadata reaches its file
        compare(src, "qcow2", tgt, "raw")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_speed_and_cancel_before_ready(binary):
    """speed limits the copy (offset grows slowly); cancel before READY
    is BLOCK_JOB_CANCELLED through 'aborting'."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "tgt.qcow2")
    try:
        speed = 512 * 1024
        vm.q.ret("drive-mirror", {"device": "drive0", "target": tgt,
                                  "sync": "full", "speed": speed,
                                  "granularity": 65536})
        time.sleep(0.3)
        j1 = vm.q.ret("query-block-jobs")[0]
        time.sleep(0.7)
        j2 = vm.q.ret("query-block-jobs")[0]
        check_eq(j1["speed"], speed, "speed")
        check_eq(j1["status"], "running", "status while limited")
        check(0 < j1["offset"] < j2["offset"] < j2["len"],
              "offset growth %r -> %r" % (j1, j2))
        # 512 KiB/s with a 100 ms burst: about 0.6 MiB after 1 s
        check(j2["offset"] <= 0.8 * MiB, "too fast: %r" % j2)
        vm.q.ret("block-job-set-speed", {"device": "drive0", "speed": 1})
        check_eq(vm.q.ret("query-block-jobs")[0]["speed"], 1, "set-speed")
        vm.q.ret("block-job-cancel", {"device": "drive0"})
        ev = vm.q.wait_event("BLOCK_JOB_CANCELLED")["data"]
        check_eq((ev["type"], ev["device"], ev["speed"]),
                 ("mirror", "drive0", 1), "CANCELLED")
        wait_for(lambda: "null" in job_events(vm, "drive0"), what="null")
        check_eq(job_events(vm, "drive0"),
                 ["created", "running", "aborting", "concluded", "null"],
                 "statuses")
        check_eq(file_of(vm, "drive0"), src, "device's image")
        # A READY job cancelled with force: CANCELLED too.
        vm.q.ret("drive-mirror", {"device": "drive0", "target": tgt,
                                  "sync": "full", "job-id": "m2"})
        vm.q.wait_event("BLOCK_JOB_READY")
        vm.q.ret("block-job-cancel", {"device": "m2", "force": True})
        vm.q.wait_event("BLOCK_JOB_CANCELLED")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)

@no_kvm
def test_writes_during_first_pass(binary):
    """Guest writes while the first pass runs (speed-limited, so some land
    in copied ranges and some ahead of the copy) all reach the target."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "tgt.qcow2")
    try:
        vm.q.ret("drive-mirror", {"device": "drive0", "target": tgt,
                                  "sync": "full", "speed": 1 * MiB,
                                  "granularity": 65536})
        for i, off in enumerate((0, MiB - 4096, 2 * MiB, 3 * MiB + 512,
                                 64 * 1024)):
            guest_write(vm, off, pattern(8192, 0x90 + i))
            time.sleep(0.05)
        check_eq(vm.q.ret("query-block-jobs")[0]["status"], "running",
                 "still in the first pass")
        vm.q.ret("block-job-set-speed", {"device": "drive0", "speed": 0})
        vm.q.wait_event("BLOCK_JOB_READY")
        vm.q.ret("block-job-cancel", {"device": "drive0"})
        vm.q.wait_event("BLOCK_JOB_COMPLETED")
        quit_vm(vm)
        compare(src, "qcow2", tgt, "qcow2")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_blockdev_mirror(binary):
    """blockdev-mirror to a node from blockdev-add; auto-finalize off:
    PENDING until block-job-finalize; then the device is on the node."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "node.qcow2")
    check(qemu_img("create", "-q", "-f", "qcow2", tgt, str(DISK))
          .returncode == 0, "qemu-img create")
    try:
        vm.q.ret("blockdev-add", {"driver": "qcow2", "node-name": "tnode",
                                  "file": {"driver": "file",
                                           "filename": tgt}})
        vm.q.ret("blockdev-mirror", {"job-id": "bm", "device": "drive0",
                                     "target": "tnode", "sync": "full",
                                     "auto-finalize": False})
        vm.q.wait_event("BLOCK_JOB_READY")
        guest_write(vm, 2 * MiB + 8192, pattern(8192, 0x71))
        e = vm.q.error("blockdev-del", {"node-name": "tnode"})
        check_eq(e["desc"], "Node 'tnode' is busy: block device is in use "
                 "by block job: mirror", "blockdev-del of the target")
        vm.q.ret("job-complete", {"id": "bm"})
        ev = vm.q.wait_event("BLOCK_JOB_PENDING")["data"]
        check_eq(ev, {"type": "mirror", "id": "bm"}, "PENDING")
        check_eq(vm.q.ret("query-block-jobs")[0]["status"], "pending",
                 "status")
        check("BLOCK_JOB_COMPLETED" not in block_events(vm),
              "COMPLETED before finalize")
        vm.q.ret("block-job-finalize", {"id": "bm"})
        vm.q.wait_event("BLOCK_JOB_COMPLETED")
        check_eq(file_of(vm, "drive0"), tgt, "device's image after pivot")
        quit_vm(vm)
        compare(src, "qcow2", tgt, "qcow2")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_errors(binary):
    """Bad requests get QEMU 7.2's error replies."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    vm, src = start(binary, tmp)
    small = os.path.join(tmp, "small.qcow2")
    check(qemu_img("create", "-q", "-f", "qcow2", small, "1M")
          .returncode == 0, "qemu-img create")
    t = os.path.join(tmp, "t.raw")

    def err(cmd, args, desc, cls="GenericError"):
        e = vm.q.error(cmd, args)
        check_eq((e["class"], e["desc"]), (cls, desc), cmd + " error")

    def mirror(**kw):
        a = {"device": "drive0", "target": t, "sync": "full", "format": "raw"}
        a.update({k.replace("_", "-"): v for k, v in kw.items()})
        return a

    try:
        err("drive-mirror", mirror(device="nope"),
            "Cannot find device='nope' nor node-name='nope'")
        err("drive-mirror", mirror(format="foo"), "Unknown file format 'foo'")
        err("drive-mirror", mirror(format="foo", mode="existing"),
            "Unknown driver 'foo'")
        e = vm.q.error("drive-mirror", mirror(target=src, format="qcow2"))
        check(e["desc"].startswith("Failed to get \"write\" lock: '%s' is "
                                   "in use" % src), "target = source: %r" % e)
        check(qemu_io(src, "qcow2", "read -P 0x11 0 4096"),
              "the source survived")
        err("drive-mirror", mirror(granularity=1000),
            "Parameter 'granularity' expects a power of 2")
        err("drive-mirror", mirror(granularity=256),
            "Parameter 'granularity' expects a value in range [512B, 64MB]")
        err("drive-mirror", mirror(speed=-1),
            "Parameter 'speed' expects a non-negative value")
        err("blockdev-mirror", {"device": "drive0", "target": "nx",
                                "sync": "full"},
            "Cannot find device='' nor node-name='nx'")
        for cmd in ("block-job-cancel", "block-job-pause", "block-job-resume",
                    "block-job-complete"):
            err(cmd, {"device": "drive0"}, "Block job 'drive0' not found",
                "DeviceNotActive")
        err("block-job-set-speed", {"device": "x", "speed": 1},
            "Block job 'x' not found", "DeviceNotActive")
        err("job-cancel", {"id": "drive0"}, "Job not found")
        # target smaller than the source: the job fails as QEMU's does
        vm.q.ret("drive-mirror", {"device": "drive0", "target": small,
                                  "sync": "full", "mode": "existing"})
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check_eq(ev.get("error"), "Source and target image have different "
                 "sizes", "COMPLETED error")
        wait_for(lambda: "null" in job_events(vm, "drive0"), what="null")
        check_eq(job_events(vm, "drive0"),
                 ["created", "running", "aborting", "concluded", "null"],
                 "statuses of the failed job")
        # a job on the device already
        vm.q.ret("drive-mirror", mirror(speed=1))
        err("drive-mirror", mirror(speed=1, job_id="other"),
            "Need a root block node")
        err("block-job-complete", {"device": "drive0"},
            "Job 'drive0' in state 'running' cannot accept command verb "
            "'complete'")
        err("block_resize", {"device": "drive0", "size": 8 * MiB},
            "Node 'drive0' is busy: block device is in use by block job: "
            "mirror")
        err("block-job-dismiss", {"id": "drive0"},
            "Job 'drive0' in state 'running' cannot accept command verb "
            "'dismiss'")
        err("block-job-set-speed", {"device": "drive0", "speed": -5},
            "Parameter 'speed' expects a non-negative value")
        err("block-job-resume", {"device": "drive0"},
            "Can't resume a job that was not paused")
        vm.q.ret("job-pause", {"id": "drive0"})
        err("block-job-pause", {"device": "drive0"}, "Job is already paused")
        check_eq(vm.q.ret("query-block-jobs")[0]["status"], "paused",
                 "paused")
        vm.q.ret("job-resume", {"id": "drive0"})
        vm.q.ret("job-cancel", {"id": "drive0"})
        vm.q.wait_event("BLOCK_JOB_CANCELLED")
        check(vm.vm.alive(), "kvmpc died")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)

@no_kvm
def test_target_error_policies(binary):
    """on-target-error: stop pauses the job (BLOCK_JOB_ERROR, io-status
    nospace) until block-job-resume, which copies the range again; report
    fails the job with the error in BLOCK_JOB_COMPLETED."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    vm, src = start(binary, tmp)
    raw = os.path.join(tmp, "t.raw")
    with open(raw, "wb") as f:
        f.truncate(DISK)

    def add_target(name, once):
        vm.q.ret("blockdev-add", {
            "driver": "raw", "node-name": name,
            "file": {"driver": "blkdebug",
                     "inject-error": [{"event": "write_aio", "errno": 28,
                                       "once": once}],
                     "image": {"driver": "file", "filename": raw}}})

    try:
        add_target("t1", True)
        vm.q.ret("blockdev-mirror", {"device": "drive0", "target": "t1",
                                     "sync": "full",
                                     "on-target-error": "stop"})
        ev = vm.q.wait_event("BLOCK_JOB_ERROR")["data"]
        check_eq(ev, {"device": "drive0", "operation": "write",
                      "action": "stop"}, "BLOCK_JOB_ERROR")
        wait_for(lambda: not vm.q.ret("query-block-jobs")[0]["busy"],
                 what="copies in flight to end")
        j = vm.q.ret("query-block-jobs")[0]
        check_eq((j["status"], j["paused"], j["io-status"]),
                 ("paused", True, "nospace"), "stopped job")
        vm.q.ret("block-job-resume", {"device": "drive0"})
        vm.q.wait_event("BLOCK_JOB_READY")
        check_eq(vm.q.ret("query-block-jobs")[0]["io-status"], "ok",
                 "io-status after resume")
        vm.q.ret("block-job-cancel", {"device": "drive0"})
        vm.q.wait_event("BLOCK_JOB_COMPLETED")
        wait_for(lambda: not vm.q.ret("query-block-jobs"), what="job gone")
        # report (the default): the job ends with the error
        add_target("t2", False)
        vm.q.ret("blockdev-mirror", {"device": "drive0", "target": "t2",
                                     "sync": "full", "job-id": "r"})
        ev = vm.q.wait_event("BLOCK_JOB_ERROR")["data"]
        check_eq(ev["action"], "report", "action")
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check_eq(ev.get("error"), "No space left on device",
                 "COMPLETED error")
        check_eq(file_of(vm, "drive0"), src, "device's image")
        quit_vm(vm)
        compare(src, "qcow2", raw, "raw")   # the stop/resume run copied all
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_write_blocking(binary):
    """copy-mode write-blocking: with the background copy held back (speed
    1: one granule, then nothing for a long time), a guest write is on the
    target when it completes; a background-mode job in the same state only
    marks it for a later copy.  Then, with the guest writing all along,
    the job reaches READY, block-job-complete pivots, and the images are
    equal (qemu-img compare)."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    vm, src = start(binary, tmp)
    bg = os.path.join(tmp, "bg.raw")
    tgt = os.path.join(tmp, "wb.raw")
    try:
        # background: the write waits in the bitmap
        vm.q.ret("drive-mirror", {"device": "drive0", "target": bg,
                                  "sync": "full", "format": "raw",
                                  "speed": 1, "granularity": 65536,
                                  "job-id": "bg"})
        wait_for(lambda: vm.q.ret("query-block-jobs")[0]["offset"] > 0,
                 what="first granule")
        data = pattern(64 * 1024, 0x55)
        guest_write(vm, 3 * MiB, data)
        check(read_file(bg, 3 * MiB, len(data)) != data,
              "background: the write is on the target already")
        vm.q.ret("block-job-cancel", {"device": "bg", "force": True})
        vm.q.wait_event("BLOCK_JOB_CANCELLED")
        wait_for(lambda: not vm.q.ret("query-block-jobs"), what="job gone")

        # write-blocking: the write is copied before it completes
        vm.q.ret("drive-mirror", {"device": "drive0", "target": tgt,
                                  "sync": "full", "format": "raw",
                                  "speed": 1, "granularity": 65536,
                                  "copy-mode": "write-blocking"})
        wait_for(lambda: vm.q.ret("query-block-jobs")[0]["offset"] > 0,
                 what="first granule")
        j = vm.q.ret("query-block-jobs")[0]
        check_eq((j["type"], j["status"], j["ready"]),
                 ("mirror", "running", False), "write-blocking job")
        for off, n, salt in ((3 * MiB, 64 * 1024, 0x56),
                             (3 * MiB + 512, 1024, 0x57),   # unaligned
                             (MiB - 4096, 8192, 0x58)):     # two granules
            data = pattern(n, salt)
            guest_write(vm, off, data)
            check(read_file(tgt, off, n) == data,
                  "write at %#x not on the target when it completed" % off)
        # the guest keeps writing while the job copies and after READY
        vm.q.ret("block-job-set-speed", {"device": "drive0", "speed": 0})
        for i in range(24):
            guest_write(vm, (i * 397 * 4096) % (DISK - 16384),
                        pattern(16384, i))
        vm.q.wait_event("BLOCK_JOB_READY")
        for i in range(8):
            guest_write(vm, (i * 131 * 4096 + 512) % (DISK - 8192),
                        pattern(8192, 0xa0 + i))
        vm.q.ret("block-job-complete", {"device": "drive0"})
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check("error" not in ev and ev["offset"] == ev["len"],
              "COMPLETED %r" % ev)
        check_eq(file_of(vm, "drive0"), tgt, "device's image after pivot")
        guest_write(vm, 2 * MiB, pattern(4096, 0x99))  # on the target now
        quit_vm(vm)
        check(read_file(tgt, 2 * MiB, 4096) == pattern(4096, 0x99),
              "write after the pivot")
        check(qemu_io(src, "qcow2", "read -P 0x22 2M 4k"),
              "the source no longer written")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_write_blocking_target_error(binary):
    """A guest write's copy that fails with on-target-error=report: the
    guest's write succeeds, BLOCK_JOB_ERROR, and the job ends with the
    error (QEMU 7.2's events and numbers, sync none)."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    vm, src = start(binary, tmp)
    raw = os.path.join(tmp, "t.raw")
    with open(raw, "wb") as f:
        f.truncate(DISK)
    try:
        vm.q.ret("blockdev-add", {
            "driver": "raw", "node-name": "t2",
            "file": {"driver": "blkdebug",
                     "inject-error": [{"event": "write_aio", "errno": 28,
                                       "once": False}],
                     "image": {"driver": "file", "filename": raw}}})
        vm.q.ret("blockdev-mirror", {"device": "drive0", "target": "t2",
                                     "sync": "none", "job-id": "r",
                                     "copy-mode": "write-blocking"})
        ev = vm.q.wait_event("BLOCK_JOB_READY")["data"]
        check_eq((ev["len"], ev["offset"]), (0, 0), "READY")
        guest_write(vm, 3 * MiB, pattern(64 * 1024, 0x66))
        ev = vm.q.wait_event("BLOCK_JOB_ERROR")["data"]
        check_eq(ev, {"device": "r", "operation": "write",
                      "action": "report"}, "BLOCK_JOB_ERROR")
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check_eq((ev.get("error"), ev["len"], ev["offset"]),
                 ("No space left on device", 64 * 1024, 0), "COMPLETED")
        wait_for(lambda: "null" in job_events(vm, "r"), what="null")
        check_eq(job_events(vm, "r"), ["created", "running", "ready",
                                       "aborting", "concluded", "null"],
                 "statuses")
        check_eq(file_of(vm, "drive0"), src, "device's image")
        guest_write(vm, 0, pattern(4096, 0x67))  # the hook is gone
        quit_vm(vm)
        check(qemu_io(src, "qcow2", "read -P 0x11 1044480 4k"),
              "the source")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


def test_write_blocking_guest_writes(binary):
    """A real guest (the virtio-blk payload's randwrite bench: 32 random
    4 KiB writes in flight, on vCPU and worker threads at once) writes
    all through a write-blocking mirror: READY while it writes, and after
    stop and cancel the target equals the source (a copy racing a guest
    write would leave stale data under a clean bit)."""
    payload = os.environ.get("KVMPC_VIRTIO_BLK_PAYLOAD")
    if not payload or not os.path.exists(payload):
        print("SKIP test_write_blocking_guest_writes: set "
              "KVMPC_VIRTIO_BLK_PAYLOAD to virtio-blk.elf")
        return
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    disk = os.path.join(tmp, "disk.raw")
    tgt = os.path.join(tmp, "tgt.raw")
    with open(disk, "wb") as f:
        f.write(os.urandom(MiB))  # small: the writes collide often
    qmp_path = os.path.join(tmp, "qmp.sock")
    serial = os.path.join(tmp, "serial.log")
    vm = Kvmpc(binary, ["-nodefaults", "-display", "none", "-m", "256M",
                        "-serial", "file:" + serial,
                        "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                        "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
                        "-drive", "file=%s,if=none,id=vd,format=raw" % disk,
                        "-device", "virtio-blk-pci,drive=vd",
                        "-kernel", payload,
                        "-append", "bench=randwrite bs=4096 qd=32 secs=30"],
               tmpdir=tmp, wait_sockets=[qmp_path])

    def log():
        with open(serial, "rb") as f:
            return f.read().decode(errors="replace")
    q = None
    try:
        q = QMP(qmp_path)
        wait_for(lambda: "virtio-blk-bench: start" in log()
                 or not vm.alive(), what="the guest's writes")
        check(vm.alive(), "kvmpc exited early: %s" % log())
        q.ret("drive-mirror", {"device": "vd", "target": tgt,
                               "sync": "full", "format": "raw",
                               "copy-mode": "write-blocking"})
        q.wait_event("BLOCK_JOB_READY")
        time.sleep(0.3)                 # READY, and the guest writes on
        check("bench: op=" not in log(), "the guest stopped writing")
        q.ret("stop")
        q.ret("block-job-cancel", {"device": "vd"})
        ev = q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check("error" not in ev, "COMPLETED %r" % ev)
        r = qemu_img("compare", "-U", "-f", "raw", "-F", "raw", disk, tgt)
        check(r.returncode == 0, "qemu-img compare: %s%s"
              % (r.stdout, r.stderr))
    finally:
        if q:
            q.close()
        vm.close()
        shutil.rmtree(tmp, ignore_errors=True)


def qemu_io_w(path, *cmds):
    args = ["qemu-io", "-f", "qcow2"]
    for c in cmds:
        args += ["-c", c]
    subprocess.run(args + [path], check=True, capture_output=True)


def top_extents(path):
    """(start, length) of what @path's own layer holds (qemu-img map)."""
    r = qemu_img("map", "-U", "--output=json", path)
    check(r.returncode == 0, "qemu-img map: %s" % r.stderr)
    return [(e["start"], e["length"]) for e in json.loads(r.stdout)
            if e["depth"] == 0 and e["present"]]


@no_kvm
def test_sync_top(binary):
    """sync top over a backing file copies what the top holds (QEMU 7.2's
    len); drive-mirror creates the target over the source's backing file
    (raw: QEMU's error), mode existing keeps the target's own backing."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    base = os.path.join(tmp, "base.qcow2")
    base2 = os.path.join(tmp, "base2.qcow2")
    src = os.path.join(tmp, "top.qcow2")
    exist = os.path.join(tmp, "exist.qcow2")
    tgt = os.path.join(tmp, "new.qcow2")
    check(qemu_img("create", "-q", "-f", "qcow2", base, str(DISK))
          .returncode == 0, "qemu-img create")
    qemu_io_w(base, "write -P 0x11 0 2M")
    shutil.copy(base, base2)
    for top, back in ((src, base), (exist, base2)):
        check(qemu_img("create", "-q", "-f", "qcow2", "-b", back, "-F",
                       "qcow2", top).returncode == 0, "qemu-img create -b")
    # top: zeroes over the base's data, data over it, data past it
    qemu_io_w(src, "write -z 0 64k", "write -P 0x22 1M 64k",
              "write -P 0x33 3M 64k")
    vm = VM(binary, ["-drive", "file=%s,if=ide,id=drive0,format=qcow2"
                     % src])
    bm_enable(vm)
    try:
        raw = os.path.join(tmp, "t.raw")
        e = vm.q.error("drive-mirror", {"device": "drive0", "target": raw,
                                        "sync": "top", "format": "raw"})
        check_eq(e["desc"], "Backing file not supported for file format "
                 "'raw'", "raw target")
        check(not os.path.exists(raw), "the raw target was created")
        # mode existing: the target keeps its backing file
        vm.q.ret("drive-mirror", {"device": "drive0", "target": exist,
                                  "sync": "top", "mode": "existing",
                                  "job-id": "e"})
        ev = vm.q.wait_event("BLOCK_JOB_READY")["data"]
        check_eq((ev["len"], ev["offset"]), (3 * 65536, 3 * 65536),
                 "READY (mode existing)")
        vm.q.ret("block-job-cancel", {"device": "e"})
        vm.q.wait_event("BLOCK_JOB_COMPLETED")
        wait_for(lambda: not vm.q.ret("query-block-jobs"), what="job gone")
        # a new target over the source's backing file
        vm.q.ret("drive-mirror", {"device": "drive0", "target": tgt,
                                  "sync": "top"})
        ev = vm.q.wait_event("BLOCK_JOB_READY")["data"]
        check_eq((ev["len"], ev["offset"]), (3 * 65536, 3 * 65536),
                 "READY")
        guest_write(vm, 2 * MiB + 4096, pattern(8192, 0x44))
        vm.q.ret("block-job-complete", {"device": "drive0"})
        vm.q.wait_event("BLOCK_JOB_COMPLETED")
        check_eq(file_of(vm, "drive0"), tgt, "device's image after pivot")
        quit_vm(vm)
        r = qemu_img("info", "-U", "--output=json", tgt)
        check_eq(json.loads(r.stdout).get("backing-filename"), base,
                 "new target's backing file")
        r = qemu_img("info", "-U", "--output=json", exist)
        check_eq(json.loads(r.stdout).get("backing-filename"), base2,
                 "existing target's backing file")
        top = [(0, 65536), (MiB, 65536), (3 * MiB, 65536)]
        check_eq(top_extents(exist), top, "existing target's own data")
        check_eq(top_extents(tgt), sorted(top + [(2 * MiB, 65536)]),
                 "new target's own data")
        # the existing target as the source was before the guest write
        for cmd in ("read -P 0 0 64k", "read -P 0x11 64k 960k",
                    "read -P 0x22 1M 64k", "read -P 0x11 1088k 960k",
                    "read -P 0 2M 1M", "read -P 0x33 3M 64k"):
            check(qemu_io(exist, "qcow2", cmd), "existing target: " + cmd)
        compare(src, "qcow2", tgt, "qcow2")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_migrate_with_mirror(binary):
    """libvirt's non-shared-storage migration: a READY mirror, migrate,
    then block-job-cancel: COMPLETED, no pivot, target equal."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "tgt.qcow2")
    state = os.path.join(tmp, "state")
    try:
        vm.q.ret("drive-mirror", {"device": "drive0", "target": tgt,
                                  "sync": "full", "format": "qcow2"})
        vm.q.wait_event("BLOCK_JOB_READY")
        guest_write(vm, 3 * MiB, pattern(16384, 0x81))
        vm.q.ret("migrate", {"uri": "file:" + state})
        wait_for(lambda: vm.q.ret("query-migrate").get("status")
                 in ("completed", "failed"), what="migration")
        check_eq(vm.q.ret("query-migrate")["status"], "completed",
                 "migration")
        check_eq(vm.q.ret("query-block-jobs")[0]["status"], "ready",
                 "job after migration")
        vm.q.ret("block-job-cancel", {"device": "drive0"})
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check("error" not in ev, "COMPLETED error %r" % ev)
        check_eq(file_of(vm, "drive0"), src, "device's image")
        quit_vm(vm)
        compare(src, "qcow2", tgt, "qcow2")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)

@no_kvm
def test_hmp(binary):
    """HMP drive_mirror, info block-jobs, block_job_* (QEMU's texts)."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "hmp.qcow2")
    try:
        h = vm.h
        check_eq(h.command("info block-jobs").strip(), "No active jobs",
                 "no jobs")
        check("unsupported option -x" in
              h.command("drive_mirror -x drive0 %s" % tgt), "unknown flag")
        check("missing argument 'target'" in
              h.command("drive_mirror -n drive0"), "no target")
        check("too many arguments" in
              h.command("block_job_pause drive0 extra"), "extra word")
        check_eq(h.command("info block-jobs").strip(), "No active jobs",
                 "nothing started by the refused lines")
        check_eq(h.command("drive_mirror -f drive0 %s" % tgt).strip(), "",
                 "drive_mirror")
        vm.q.wait_event("BLOCK_JOB_READY")
        h.command("block_job_set_speed drive0 1M")
        out = h.command("info block-jobs").strip()
        check_eq(out, "Type mirror, device drive0: Completed 1572864 of "
                 "1572864 bytes, speed limit 1048576 bytes/s", "info")
        check("Block job 'nope' not found" in
              h.command("block_job_complete nope"), "unknown job")
        h.command("block_job_complete drive0")
        vm.q.wait_event("BLOCK_JOB_COMPLETED")
        check_eq(file_of(vm, "drive0"), tgt, "device's image after pivot")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


def named_nodes(vm):
    return {n["node-name"]: n
            for n in vm.q.ret("query-named-block-nodes", {"flat": True})}


@no_kvm
def test_filter_node(binary):
    """The mirror_top filter QEMU 7.2 puts above the source while a
    mirror runs: named blockdev-mirror's filter-node-name, else an
    implicit "#blockN"; gone when the job is; drive-mirror has no
    filter-node-name; guest writes pass it and reach the target."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-mirror-")
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "tgt.qcow2")
    check(qemu_img("create", "-q", "-f", "qcow2", tgt, str(DISK))
          .returncode == 0, "qemu-img create")
    try:
        vm.q.ret("blockdev-add", {"driver": "qcow2", "node-name": "tnode",
                                  "file": {"driver": "file",
                                           "filename": tgt}})
        e = vm.q.error("blockdev-mirror", {"device": "drive0",
                                           "target": "tnode", "sync": "full",
                                           "filter-node-name": "tnode"})
        check_eq(e["desc"], "Duplicate nodes with node-name='tnode'",
                 "a taken name")
        check_eq(vm.q.ret("query-block-jobs"), [], "no job after it")
        vm.q.ret("blockdev-mirror", {"device": "drive0", "target": "tnode",
                                     "sync": "full", "job-id": "m1",
                                     "filter-node-name": "mtop"})
        nodes = named_nodes(vm)
        check("mtop" in nodes, "the filter in query-named-block-nodes: %r"
              % sorted(nodes))
        check_eq((nodes["mtop"]["drv"], nodes["mtop"]["file"]),
                 ("mirror_top", src), "the filter")
        vm.q.wait_event("BLOCK_JOB_READY")
        guest_write(vm, 3 * MiB, b"\x71" * 8192)   # through mtop
        vm.q.ret("block-job-complete", {"device": "m1"})
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check("error" not in ev, "COMPLETED %r" % ev)
        wait_for(lambda: "mtop" not in named_nodes(vm), what="filter gone")
        check_eq(file_of(vm, "drive0"), tgt, "pivoted")
        # unnamed: implicit
        e = vm.q.error("drive-mirror", {"device": "drive0", "sync": "full",
                                        "target": src, "format": "qcow2",
                                        "mode": "existing",
                                        "filter-node-name": "x"})
        check_eq(e["desc"], "Parameter 'filter-node-name' is unexpected",
                 "drive-mirror's")
        vm.q.ret("drive-mirror", {"device": "drive0", "target": src,
                                  "format": "qcow2", "mode": "existing",
                                  "sync": "full", "speed": 1})
        tops = [n for n in vm.q.ret("query-named-block-nodes")
                if n["drv"] == "mirror_top"]
        check(len(tops) == 1 and tops[0]["node-name"].startswith("#block"),
              "implicit filter: %r" % [t["node-name"] for t in tops])
        vm.q.ret("block-job-cancel", {"device": "drive0", "force": True})
        vm.q.wait_event("BLOCK_JOB_CANCELLED")
        wait_for(lambda: not [n for n in vm.q.ret("query-named-block-nodes")
                              if n["drv"] == "mirror_top"],
                 what="implicit filter gone")
        quit_vm(vm)
        check(qemu_io(tgt, "qcow2", "read -P 0x71 3M 8k"),
              "the write through the filter")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if not shutil.which("qemu-img") or not shutil.which("qemu-io"):
        print("SKIP: qemu-img/qemu-io (Debian's qemu-utils) not installed")
        sys.exit(77)
    run_tests([test_complete_pivot, test_cancel_after_ready,
               test_speed_and_cancel_before_ready,
               test_writes_during_first_pass, test_blockdev_mirror,
               test_target_error_policies, test_write_blocking,
               test_write_blocking_target_error,
               test_write_blocking_guest_writes, test_sync_top,
               test_migrate_with_mirror,
               test_errors, test_hmp, test_filter_node])


if __name__ == "__main__":
    main()
