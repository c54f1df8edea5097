#!/usr/bin/env python3
"""The backup block job under -accel qtest (no /dev/kvm needed):
drive-backup and blockdev-backup with sync full, top and none, compress,
the point in time kept while the guest writes (copy-before-write),
image fleecing read over NBD, and QEMU 7.2's error replies.  Guest
writes are IDE bus-master DMA writes driven over the qtest socket;
qemu-img and qemu-io (the real ones) check the images.

    test_backup.py KVMPC [TEST...]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import TestFailure, check, check_eq, no_kvm, run_tests  # noqa
from test_blockdev import SECTOR, pattern  # noqa: E402
from test_mirror import (MiB, DISK, qemu_img, qemu_io, compare,  # noqa
                         start, quit_vm, guest_write, job_events, wait_for)


def node_of(vm, device):
    for b in vm.q.ret("query-block"):
        if b["device"] == device:
            return b["inserted"]["node-name"]
    raise TestFailure("no device " + device)


def backup_tmp():
    return tempfile.mkdtemp(prefix="kvmpc-backup-")


@no_kvm
def test_full_point_in_time(binary):
    """drive-backup sync=full, held back by its speed after the first
    chunk: guest writes ahead of the copy and behind it leave the target
    equal to the source as it was when the job started."""
    tmp = backup_tmp()
    vm, src = start(binary, tmp)
    pit = os.path.join(tmp, "pit.qcow2")
    tgt = os.path.join(tmp, "tgt.qcow2")
    try:
        shutil.copy(src, pit)       # the point in time, as qemu-img sees it
        vm.q.ret("drive-backup", {"device": "drive0", "target": tgt,
                                  "sync": "full", "format": "qcow2",
                                  "speed": 1})
        wait_for(lambda: vm.q.ret("query-block-jobs")[0]["offset"] > 0,
                 what="the first chunk")
        j = vm.q.ret("query-block-jobs")[0]
        check_eq((j["type"], j["device"], j["len"], j["status"]),
                 ("backup", "drive0", DISK, "running"), "query-block-jobs")
        check(j["offset"] < DISK, "held back by speed: %r" % j)
        # ahead of the copy (old data must reach the target first), one
        # straddling two clusters, and one in the copied first chunk
        guest_write(vm, 2 * MiB + 4096, pattern(64 * 1024, 0x42))
        guest_write(vm, 3 * MiB - 8192, pattern(16 * 1024, 0x43))
        guest_write(vm, 0, pattern(8 * SECTOR, 0x44))
        guest_write(vm, 2 * MiB + 4096, b"\x45" * 4096)  # again
        vm.q.ret("block-job-set-speed", {"device": "drive0", "speed": 0})
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check("error" not in ev, "COMPLETED error %r" % ev)
        check_eq((ev["type"], ev["device"], ev["len"], ev["offset"]),
                 ("backup", "drive0", DISK, DISK), "COMPLETED")
        wait_for(lambda: "null" in job_events(vm, "drive0"), what="null")
        check_eq(job_events(vm, "drive0"),
                 ["created", "running", "waiting", "pending", "concluded",
                  "null"], "statuses")
        quit_vm(vm)
        compare(pit, "qcow2", tgt, "qcow2")
        check(qemu_io(src, "qcow2", "read -P 0x45 %d 4096" % (2 * MiB + 4096)),
              "the guest's write is not in the source")
        r = qemu_img("check", tgt)
        check(r.returncode == 0, "qemu-img check: %s%s" % (r.stdout, r.stderr))
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_top_compressed(binary):
    """blockdev-backup sync=top compress=true to a node from blockdev-add:
    only what the top layer holds (1.5 MiB) is copied, compressed."""
    tmp = backup_tmp()
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "tgt.qcow2")
    check(qemu_img("create", "-q", "-f", "qcow2", tgt, str(DISK))
          .returncode == 0, "qemu-img create")
    try:
        vm.q.ret("blockdev-add", {"driver": "qcow2", "node-name": "tnode",
                                  "file": {"driver": "file",
                                           "filename": tgt}})
        vm.q.ret("blockdev-backup", {"device": "drive0", "target": "tnode",
                                     "sync": "top", "compress": True,
                                     "job-id": "b1", "auto-dismiss": False})
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check_eq((ev["len"], ev["offset"], ev.get("error")),
                 (MiB + 512 * 1024, MiB + 512 * 1024, None), "COMPLETED")
        vm.q.ret("job-dismiss", {"id": "b1"})
        vm.q.ret("blockdev-del", {"node-name": "tnode"})
        quit_vm(vm)
        compare(src, "qcow2", tgt, "qcow2")
        m = json.loads(qemu_img("map", "--output=json", tgt).stdout)
        data = sum(e["length"] for e in m if e["data"])
        check_eq(data, MiB + 512 * 1024, "allocated in the target")
        r = qemu_img("check", "--output=json", tgt)
        info = json.loads(r.stdout)
        check(r.returncode == 0 and info.get("compressed-clusters", 0) > 0,
              "compressed clusters: %s" % r.stdout)
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_none_fleecing(binary):
    """sync=none to an overlay whose backing node is the source, exported
    over NBD: the export reads the point in time while the guest writes;
    block-job-cancel ends it (BLOCK_JOB_CANCELLED)."""
    tmp = backup_tmp()
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "fleece.qcow2")
    sock = os.path.join(tmp, "nbd.sock")
    check(qemu_img("create", "-q", "-f", "qcow2", "-b", src, "-F", "qcow2",
                   tgt).returncode == 0, "qemu-img create")
    try:
        vm.q.ret("blockdev-add", {"driver": "qcow2", "node-name": "fleece",
                                  "file": {"driver": "file",
                                           "filename": tgt},
                                  "backing": node_of(vm, "drive0")})
        vm.q.ret("blockdev-backup", {"device": "drive0", "target": "fleece",
                                     "sync": "none", "job-id": "f"})
        guest_write(vm, 0, pattern(64 * 1024, 0x51))
        guest_write(vm, 3 * MiB, pattern(4096, 0x52))
        vm.q.ret("nbd-server-start", {"addr": {"type": "unix",
                                               "data": {"path": sock}}})
        vm.q.ret("block-export-add", {"type": "nbd", "id": "e",
                                      "node-name": "fleece"})
        url = "nbd+unix:///fleece?socket=" + sock
        for cmd in ("read -P 0x11 0 1M", "read -P 0x22 2M 512k",
                    "read -P 0 3M 64k"):
            check(qemu_io(url, "raw", cmd), "fleecing export: " + cmd)
        j = vm.q.ret("query-block-jobs")[0]
        check_eq((j["status"], j["len"]), ("running", DISK), "job")
        vm.q.ret("block-export-del", {"id": "e"})
        vm.q.ret("nbd-server-stop")
        vm.q.ret("block-job-cancel", {"device": "f"})
        ev = vm.q.wait_event("BLOCK_JOB_CANCELLED")["data"]
        check_eq((ev["type"], ev["device"]), ("backup", "f"), "CANCELLED")
        # no copy-before-write any more
        guest_write(vm, 2 * MiB, b"\x53" * 4096)
        vm.q.ret("blockdev-del", {"node-name": "fleece"})
        quit_vm(vm)
        check(qemu_io(tgt, "qcow2", "read -P 0x53 2M 4k"),
              "after the cancel the overlay reads the source")
        r = qemu_img("check", tgt)
        check(r.returncode == 0, "qemu-img check: %s%s" % (r.stdout, r.stderr))
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_drive_backup_create_modes(binary):
    """drive-backup creates the target as QEMU does: sync=none over the
    source, full as a plain image; mode=existing opens it as it is."""
    tmp = backup_tmp()
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "none.qcow2")
    full = os.path.join(tmp, "full.raw")
    try:
        # HMP drive_backup -c (sync top, created, compressed)
        hmp_tgt = os.path.join(tmp, "hmp.qcow2")
        check_eq(vm.h.command("drive_backup -c drive0 %s" % hmp_tgt).strip(),
                 "", "drive_backup")
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check_eq((ev["type"], ev["len"]), ("backup", MiB + 512 * 1024),
                 "HMP backup")
        check("missing argument 'target'" in
              vm.h.command("drive_backup -n drive0"), "no target")
        vm.q.ret("drive-backup", {"device": "drive0", "target": tgt,
                                  "sync": "none", "job-id": "n"})
        info = json.loads(qemu_img("info", "-U", "--output=json", tgt).stdout)
        check_eq((info["format"], info.get("backing-filename"),
                  info.get("backing-filename-format")),
                 ("qcow2", src, "qcow2"), "sync=none target")
        vm.q.ret("block-job-cancel", {"device": "n"})
        vm.q.wait_event("BLOCK_JOB_CANCELLED")
        check(qemu_img("create", "-q", "-f", "raw", full, str(DISK))
              .returncode == 0, "qemu-img create")
        vm.q.ret("drive-backup", {"device": "drive0", "target": full,
                                  "sync": "full", "format": "raw",
                                  "mode": "existing"})
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check("error" not in ev, "COMPLETED %r" % ev)
        quit_vm(vm)
        compare(src, "qcow2", full, "raw")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_errors(binary):
    """Bad requests get QEMU 7.2's replies (checked against it live)."""
    tmp = backup_tmp()
    vm, src = start(binary, tmp)
    paths = {}
    for name, size in (("tgt", DISK), ("small", 2 * MiB)):
        paths[name] = os.path.join(tmp, name + ".qcow2")
        check(qemu_img("create", "-q", "-f", "qcow2", paths[name], str(size))
              .returncode == 0, "qemu-img create")
        vm.q.ret("blockdev-add", {"driver": "qcow2", "node-name": name,
                                  "file": {"driver": "file",
                                           "filename": paths[name]}})
    raw = os.path.join(tmp, "raw.img")
    check(qemu_img("create", "-q", "-f", "raw", raw, str(DISK))
          .returncode == 0, "qemu-img create")
    vm.q.ret("blockdev-add", {"driver": "raw", "node-name": "raw",
                              "file": {"driver": "file", "filename": raw}})
    cases = [
        ({"target": "small", "sync": "full"},
         "Source and target image have different sizes"),
        ({"target": "tgt", "sync": "incremental"},
         "must provide a valid bitmap name for 'incremental' sync mode"),
        ({"target": "tgt", "sync": "bitmap"},
         "must provide a valid bitmap name for 'bitmap' sync mode"),
        ({"target": "tgt", "sync": "full", "bitmap-mode": "always"},
         "Cannot specify bitmap sync mode without a bitmap"),
        ({"target": "tgt", "sync": "full", "bitmap": "nope",
          "bitmap-mode": "on-success"},
         "Bitmap 'nope' could not be found"),
        ({"target": "tgt", "sync": "incremental", "bitmap": "b",
          "bitmap-mode": "never"},
         "Bitmap sync mode must be 'on-success' when using sync mode "
         "'incremental'"),
        ({"target": "drive0", "sync": "full"},
         "Source and target cannot be the same"),
        ({"target": "nosuch", "sync": "full"},
         "Cannot find device='nosuch' nor node-name='nosuch'"),
        ({"target": "tgt", "sync": "full", "speed": -1},
         "Parameter 'speed' expects a non-negative value"),
        ({"target": "tgt", "sync": "full", "job-id": ""},
         "Invalid job ID ''"),
        ({"target": "raw", "sync": "full", "compress": True},
         "Compression is not supported for this drive raw"),
    ]
    try:
        for args, want in cases:
            args = dict(args, device="drive0")
            e = vm.q.error("blockdev-backup", args)
            check_eq(e["desc"], want, "blockdev-backup %r" % args)
        e = vm.q.error("blockdev-backup", {"device": "raw", "sync": "full",
                                           "target": "tgt"})
        check_eq(e["desc"], "Invalid job ID ''", "a node without a name")
        e = vm.q.error("blockdev-backup", {"device": "nosuch", "sync": "full",
                                           "target": "tgt"})
        check_eq(e["desc"], "Cannot find device='nosuch' nor "
                 "node-name='nosuch'", "unknown source")
        vm.q.ret("blockdev-backup", {"device": "drive0", "target": "tgt",
                                     "sync": "none", "job-id": "j1"})
        e = vm.q.error("block-job-complete", {"device": "j1"})
        check_eq(e["desc"], "Job 'j1' in state 'running' cannot accept "
                 "command verb 'complete'", "complete")
        e = vm.q.error("blockdev-backup", {"device": "drive0", "sync": "full",
                                           "target": "tgt", "job-id": "j2"})
        check_eq(e["desc"], "Node 'tgt' is busy: block device is in use by "
                 "block job: backup", "busy target")
        vm.q.ret("block-job-cancel", {"device": "j1"})
        vm.q.wait_event("BLOCK_JOB_CANCELLED")
        check(vm.vm.alive(), "kvmpc died")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)

def bitmaps(vm, node):
    """The named bitmaps of @node by name (query-named-block-nodes: while
    a backup runs, query-block shows its filter, as QEMU 7.2 does)."""
    for n in vm.q.ret("query-named-block-nodes"):
        if n["node-name"] == node:
            return {m["name"]: m for m in n.get("dirty-bitmaps", [])
                    if "name" in m}
    raise TestFailure("no node " + node)


def data_bytes(path):
    m = json.loads(qemu_img("map", "-U", "--output=json", path).stdout)
    return sum(e["length"] for e in m if e["data"])


def fill(byte, n=4096):
    return bytes([byte]) * n


@no_kvm
def test_incremental(binary):
    """sync=incremental: only what the bitmap marks is copied, at the
    point in time (a marked cluster the guest overwrites during the job
    is copied first); on success the bitmap keeps just the writes made
    during the job.  A transaction adds a bitmap and starts a full backup
    at one point in time, as libvirt's checkpoint does."""
    tmp = backup_tmp()
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "inc.qcow2")
    full = os.path.join(tmp, "full.qcow2")
    pit = os.path.join(tmp, "pit.qcow2")
    for path in (tgt, full):
        check(qemu_img("create", "-q", "-f", "qcow2", path, str(DISK))
              .returncode == 0, "qemu-img create")
    node = node_of(vm, "drive0")
    try:
        for name, path in (("inc", tgt), ("full", full)):
            vm.q.ret("blockdev-add", {"driver": "qcow2", "node-name": name,
                                      "file": {"driver": "file",
                                               "filename": path}})
        # checkpoint: bitmap and full backup in one transaction
        vm.q.ret("transaction", {"actions": [
            {"type": "block-dirty-bitmap-add",
             "data": {"node": node, "name": "ck1"}},
            {"type": "blockdev-backup",
             "data": {"device": "drive0", "target": "full", "sync": "full",
                      "job-id": "f"}}]})
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check_eq((ev["device"], ev.get("error")), ("f", None), "full")
        check_eq(bitmaps(vm, node)["ck1"]["count"], 0, "a new bitmap is clean")
        guest_write(vm, MiB + 4096, fill(0x61, 8192))
        guest_write(vm, 3 * MiB, fill(0x62))
        check_eq(bitmaps(vm, node)["ck1"]["count"], 128 * 1024, "two clusters")
        vm.q.ret("stop")            # flushes the image's metadata
        shutil.copy(src, pit)
        vm.q.ret("cont")
        vm.q.ret("blockdev-backup", {"device": "drive0", "target": "inc",
                                     "sync": "incremental", "bitmap": "ck1",
                                     "job-id": "i", "speed": 1})
        wait_for(lambda: vm.q.ret("query-block-jobs")[0]["offset"] > 0,
                 what="the first chunk")
        check_eq(bitmaps(vm, node)["ck1"]["busy"], True, "busy during the job")
        e = vm.q.error("block-dirty-bitmap-remove", {"node": node,
                                                     "name": "ck1"})
        check("in use by another operation" in e["desc"], "remove: %r" % e)
        guest_write(vm, 3 * MiB, fill(0x63))     # marked, not yet copied
        guest_write(vm, 2 * MiB, fill(0x64))     # not marked
        vm.q.ret("block-job-set-speed", {"device": "i", "speed": 0})
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check_eq((ev["len"], ev["offset"], ev.get("error")),
                 (128 * 1024, 128 * 1024, None), "incremental")
        bm = bitmaps(vm, node)["ck1"]
        check_eq((bm["count"], bm["busy"]), (128 * 1024, False),
                 "after success: the writes made during the job")
        quit_vm(vm)
        check_eq(data_bytes(tgt), 128 * 1024, "only the marked clusters")
        for off, byte in ((MiB + 4096, 0x61), (3 * MiB, 0x62)):
            check(qemu_io(tgt, "qcow2", "read -P 0x%x %d 4096" % (byte, off)),
                  "point-in-time data at %d" % off)
        # the full backup plus the incremental one make the point in time
        r = subprocess.run(["qemu-img", "rebase", "-u", "-f", "qcow2",
                            "-b", full, "-F", "qcow2", tgt],
                           capture_output=True, text=True)
        check(r.returncode == 0, "rebase: %s" % r.stderr)
        compare(pit, "qcow2", tgt, "qcow2")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_drive_backup_transaction(binary):
    """drive-backup as a transaction action (QEMU 7.2 has it): its target
    is made when the action is prepared, the job starts at the
    transaction's point in time (a bitmap added by the same transaction
    is clean, the guest's later writes are copied first), and an action
    that fails undoes the others."""
    tmp = backup_tmp()
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "txn.qcow2")
    pit = os.path.join(tmp, "pit.qcow2")
    node = node_of(vm, "drive0")
    try:
        guest_write(vm, 2 * MiB, fill(0x71))
        vm.q.ret("stop")            # flushes the image's metadata
        shutil.copy(src, pit)
        vm.q.ret("cont")
        vm.q.ret("transaction", {"actions": [
            {"type": "block-dirty-bitmap-add",
             "data": {"node": node, "name": "ck"}},
            {"type": "drive-backup",
             "data": {"device": "drive0", "target": tgt, "sync": "full",
                      "format": "qcow2", "job-id": "db", "speed": 1}}]})
        jobs = vm.q.ret("query-block-jobs")
        check_eq([(j["device"], j["type"]) for j in jobs], [("db", "backup")],
                 "the job")
        guest_write(vm, 2 * MiB, fill(0x72))     # after the point in time
        check_eq(bitmaps(vm, node)["ck"]["count"], 64 * 1024,
                 "the bitmap saw it")
        vm.q.ret("block-job-set-speed", {"device": "db", "speed": 0})
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check_eq((ev["device"], ev.get("error")), ("db", None), "completed")
        # a failing action: nothing of the transaction stays
        e = vm.q.error("transaction", {"actions": [
            {"type": "block-dirty-bitmap-add",
             "data": {"node": node, "name": "ck2"}},
            {"type": "drive-backup",
             "data": {"device": "drive0", "target": tgt + ".2",
                      "sync": "full", "format": "nope"}}]})
        check_eq(e["desc"], "Unknown file format 'nope'", "bad format")
        check("ck2" not in bitmaps(vm, node), "the bitmap was undone")
        check(not vm.q.ret("query-block-jobs"), "no job")
        quit_vm(vm)
        compare(pit, "qcow2", tgt, "qcow2")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_bitmap_modes_on_cancel(binary):
    """A cancelled sync=bitmap job: on-success puts every taken bit back,
    always keeps what was copied cleared, never puts everything back;
    writes made during the job are marked in each case."""
    tmp = backup_tmp()
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "t.qcow2")
    check(qemu_img("create", "-q", "-f", "qcow2", tgt, str(DISK))
          .returncode == 0, "qemu-img create")
    node = node_of(vm, "drive0")
    try:
        vm.q.ret("blockdev-add", {"driver": "qcow2", "node-name": "t",
                                  "file": {"driver": "file",
                                           "filename": tgt}})
        for mode, want in (("on-success", 3), ("always", 2),
                           ("never", 3)):
            name = "b-" + mode
            vm.q.ret("block-dirty-bitmap-add", {"node": node, "name": name})
            # clusters 0 (copied by the first chunk), 48 and 56 (not)
            for off in (0, 3 * MiB, 3 * MiB + 512 * 1024):
                guest_write(vm, off, fill(0x70))
            vm.q.ret("blockdev-backup", {"device": "drive0", "target": "t",
                                         "sync": "bitmap", "bitmap": name,
                                         "bitmap-mode": mode, "speed": 1,
                                         "job-id": "j"})
            wait_for(lambda: vm.q.ret("query-block-jobs")[0]["offset"] > 0,
                     what="the first chunk")
            guest_write(vm, 2 * MiB, fill(0x71))    # during the job
            vm.q.ret("block-job-cancel", {"device": "j"})
            vm.q.wait_event("BLOCK_JOB_CANCELLED")
            wait_for(lambda: not vm.q.ret("query-block-jobs"), what="gone")
            check_eq(bitmaps(vm, node)[name]["count"], (want + 1) * 64 * 1024,
                     "bitmap-mode %s after a cancel" % mode)
            vm.q.ret("block-dirty-bitmap-remove", {"node": node,
                                                   "name": name})
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


def nbd_views(sock):
    """What an NBD client sees of export "top" on @sock: the contexts
    qemu-nbd --list reports, and qemu-img map through base:allocation,
    qemu:allocation-depth and qemu:dirty-bitmap:b0 (QEMU's
    x-dirty-bitmap)."""
    out = {}
    r = subprocess.run(["qemu-nbd", "--list", "-k", sock],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "qemu-nbd --list: %s" % r.stderr)
    out["list"] = [l.strip() for l in r.stdout.splitlines()
                   if ":" in l and "meta" not in l and "size" not in l and
                   l.strip().startswith(("base:", "qemu:"))]
    for ctx in (None, "qemu:allocation-depth", "qemu:dirty-bitmap:b0"):
        opts = ("driver=nbd,server.type=unix,server.path=%s,export=top"
                % sock)
        if ctx:
            opts += ",x-dirty-bitmap=" + ctx
        r = subprocess.run(["qemu-img", "map", "--output=json",
                            "--image-opts", opts],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "qemu-img map %s: %s" % (ctx, r.stderr))
        out[ctx or "base"] = [(e["start"], e["length"], e["data"], e["zero"])
                              for e in json.loads(r.stdout)]
    return out


@no_kvm
def test_nbd_pull_mode(binary):
    """Pull-mode backup's export: a bitmap and qemu:allocation-depth over
    NBD, read by QEMU's own client (qemu-nbd --list, qemu-img map with
    x-dirty-bitmap) exactly as QEMU 7.2 exports them; the bitmap is busy
    while exported; an enabled bitmap cannot go out on a read-only export
    of a writable node."""
    if not shutil.which("qemu-system-x86_64") or not shutil.which("qemu-nbd"):
        print("SKIP test_nbd_pull_mode: no qemu-system-x86_64 / qemu-nbd")
        return
    from test_bitmaps import Qemu
    tmp = backup_tmp()
    base = os.path.join(tmp, "base.qcow2")
    top = os.path.join(tmp, "top.qcow2")
    sock = os.path.join(tmp, "nbd.sock")
    check(qemu_img("create", "-q", "-f", "qcow2", base, str(DISK))
          .returncode == 0, "qemu-img create")
    check(qemu_img("create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2",
                   top).returncode == 0, "qemu-img create")
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 64k",
                    base], check=True, capture_output=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x22 1M 128k",
                    top], check=True, capture_output=True)
    export = {"type": "nbd", "id": "e", "node-name": "n0", "name": "top",
              "bitmaps": ["b0"], "allocation-depth": True}
    qemu = Qemu(tmp, top)
    try:
        qemu.ret("block-dirty-bitmap-add", node="n0", name="b0",
                 persistent=True)
        qemu.io("write 2M 64k")
        qemu.io("write 3M 4k")
        qemu.ret("block-dirty-bitmap-disable", node="n0", name="b0")
        qemu.ret("nbd-server-start", addr={"type": "unix",
                                           "data": {"path": sock}})
        qemu.ret("block-export-add", **export)
        want = nbd_views(sock)
    finally:
        qemu.quit()
    os.unlink(sock)
    vm, _ = start(binary, tmp, ["-blockdev",
                                "driver=qcow2,node-name=n0,file.driver=file,"
                                "file.filename=" + top])
    try:
        q = vm.q
        q.ret("nbd-server-start", {"addr": {"type": "unix",
                                            "data": {"path": sock}}})
        q.ret("block-dirty-bitmap-add", {"node": "n0", "name": "live"})
        e = q.error("block-export-add", dict(export, id="x", name="x",
                                             bitmaps=["live"]))
        check_eq(e["desc"], "Enabled bitmap 'live' incompatible with "
                 "readonly export", "an enabled bitmap")
        e = q.error("block-export-add", dict(export, id="x", name="x",
                                             bitmaps=["nope"]))
        check_eq(e["desc"], "Bitmap 'nope' is not found", "no bitmap")
        q.ret("block-export-add", export)
        check_eq(nbd_views(sock), want, "what QEMU's client sees")
        check(want["list"] == ["base:allocation", "qemu:allocation-depth",
                               "qemu:dirty-bitmap:b0"], "contexts %r"
              % want["list"])
        e = q.error("block-dirty-bitmap-remove", {"node": "n0",
                                                  "name": "b0"})
        check("in use by another operation" in e["desc"], "busy: %r" % e)
        q.ret("block-export-del", {"id": "e"})
        wait_for(lambda: not q.ret("query-block-exports"), what="export gone")
        q.ret("block-dirty-bitmap-remove", {"node": "n0", "name": "b0"})
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


def block_nodes(vm, flat=False):
    """query-named-block-nodes by node name."""
    args = {"flat": True} if flat else {}
    return {n["node-name"]: n for n in
            vm.q.ret("query-named-block-nodes", args)}


def inserted(vm, device="drive0"):
    for b in vm.q.ret("query-block"):
        if b["device"] == device:
            return b["inserted"]
    raise TestFailure("no device " + device)


def add_targets(vm, tmp, names):
    paths = {}
    for name in names:
        paths[name] = os.path.join(tmp, name + ".qcow2")
        check(qemu_img("create", "-q", "-f", "qcow2", paths[name], str(DISK))
              .returncode == 0, "qemu-img create")
        vm.q.ret("blockdev-add", {"driver": "qcow2", "node-name": name,
                                  "file": {"driver": "file",
                                           "filename": paths[name]}})
    return paths


def cbw_view(info):
    """What libvirt reads of a node, and of the image chain below it."""
    chain, img = [], info["image"]
    while img:
        chain.append((img["format"], img["filename"], img["virtual-size"]))
        img = img.get("backing-image")
    return (info["node-name"], info["drv"], info["file"],
            info["backing_file_depth"], "backing_file" in info, chain)


@no_kvm
def test_filter_graph(binary):
    """While a backup runs its copy-before-write filter is the device's
    medium (query-block) and a node of its own (query-named-block-nodes),
    named by filter-node-name, with the source as its filtered child; a
    second backup of the source node stacks its own filter below the
    first (QEMU 7.2 does the same), a backup of the filter or of the
    device is refused as busy; guest writes copy to both targets; when
    the jobs end the device has its disk again.  The expected values are
    what QEMU 7.2 reports for the same graph (checked live)."""
    tmp = backup_tmp()
    vm, src = start(binary, tmp)
    pit = os.path.join(tmp, "pit.qcow2")
    disk = node_of(vm, "drive0")
    try:
        shutil.copy(src, pit)
        paths = add_targets(vm, tmp, ("t1", "t2"))
        e = vm.q.error("blockdev-backup", {"device": "drive0", "target": "t1",
                                           "sync": "full",
                                           "filter-node-name": "t2"})
        check_eq(e["desc"], "Could not create node: Duplicate nodes with "
                 "node-name='t2'", "a taken filter-node-name")
        e = vm.q.error("blockdev-backup", {"device": "drive0", "target": "t1",
                                           "sync": "full",
                                           "filter-node-name": "1bad"})
        check_eq(e["desc"], "Could not create node: Invalid node-name: "
                 "'1bad'", "a bad filter-node-name")
        check(not vm.q.ret("query-block-jobs"), "no job after the errors")
        vm.q.ret("blockdev-backup", {"device": "drive0", "target": "t1",
                                     "sync": "full", "speed": 1,
                                     "job-id": "j1",
                                     "filter-node-name": "cbw1"})
        qcow = ("qcow2", src, DISK)
        cbw = ("copy-before-write", src, DISK)
        check_eq(cbw_view(inserted(vm)),
                 ("cbw1", "copy-before-write", src, 1, False, [cbw, qcow]),
                 "query-block: the filter is the medium")
        img = inserted(vm)["image"]
        check_eq((img.get("cluster-size"), "actual-size" in img),
                 (65536, True), "the filter's image")
        nodes = block_nodes(vm)
        check_eq(cbw_view(nodes["cbw1"]), cbw_view(inserted(vm)),
                 "query-named-block-nodes: the filter")
        check_eq(cbw_view(nodes[disk]), (disk, "qcow2", src, 0, False,
                                         [qcow]), "the disk node")
        check_eq(block_nodes(vm, flat=True)["cbw1"]["backing_file_depth"],
                 0, "flat")
        for dev in ("drive0", "cbw1"):
            e = vm.q.error("blockdev-backup", {"device": dev, "target": "t2",
                                               "sync": "full"})
            check_eq(e["desc"], "Node 'drive0' is busy: block device is in "
                     "use by block job: backup", "backup of " + dev)
        vm.q.ret("blockdev-backup", {"device": disk, "target": "t2",
                                     "sync": "full", "speed": 1,
                                     "job-id": "j2"})
        nodes = block_nodes(vm)
        second = [n for n in nodes if n not in ("cbw1",) and
                  nodes[n]["drv"] == "copy-before-write"]
        check(len(second) == 1 and second[0].startswith("#block"),
              "the second filter: %r" % second)
        check_eq(cbw_view(nodes[second[0]]),
                 (second[0], "copy-before-write", src, 1, False,
                  [cbw, qcow]), "the second filter")
        check_eq(cbw_view(inserted(vm)),
                 ("cbw1", "copy-before-write", src, 2, False,
                  [cbw, cbw, qcow]), "stacked: cbw1 over the second")
        # ahead of both copies: the old data goes to both targets first
        guest_write(vm, 3 * MiB, pattern(64 * 1024, 0x5a))
        guest_write(vm, 2 * MiB + 4096, pattern(8192, 0x5b))
        for j in ("j1", "j2"):
            vm.q.ret("block-job-set-speed", {"device": j, "speed": 0})
        done = set()
        while len(done) < 2:
            ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
            check("error" not in ev, "COMPLETED %r" % ev)
            done.add(ev["device"])
        wait_for(lambda: not vm.q.ret("query-block-jobs"), what="jobs gone")
        check_eq(cbw_view(inserted(vm)), (disk, "qcow2", src, 0, False,
                                          [qcow]), "the disk is back")
        check(not [n for n in block_nodes(vm).values()
                   if n["drv"] == "copy-before-write"], "no filter left")
        guest_write(vm, 0, pattern(4096, 0x5c))     # no copy any more
        quit_vm(vm)
        for t in ("t1", "t2"):
            compare(pit, "qcow2", paths[t], "qcow2")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_cbw_blockdev_add(binary):
    """blockdev-add driver=copy-before-write over the disk's node, and
    snapshot-access over it exported by NBD (QEMU 7.2's image fleecing):
    the device writing the disk and qemu-io writing through the filter
    both copy the old data to the target first; the export reads the
    point in time; a bitmap limits what is kept (reads elsewhere are
    refused); a failed copy fails the write (break-guest-write) or breaks
    the snapshot (break-snapshot); QEMU's errors, and cbw-timeout
    refused."""
    tmp = backup_tmp()
    vm, src = start(binary, tmp)
    tgt = os.path.join(tmp, "tgt.qcow2")
    sock = os.path.join(tmp, "nbd.sock")
    check(qemu_img("create", "-q", "-f", "qcow2", tgt, str(DISK))
          .returncode == 0, "qemu-img create")
    try:
        disk = node_of(vm, "drive0")
        vm.q.ret("blockdev-add", {"driver": "qcow2", "node-name": "tnode",
                                  "file": {"driver": "file",
                                           "filename": tgt}})
        for args, want in (
                ({"target": "nope"},
                 "Cannot find device='nope' nor node-name='nope'"),
                ({}, "Parameter 'target' is missing"),
                ({"target": "tnode", "on-cbw-error": "x"},
                 "Parameter 'on-cbw-error' does not accept value 'x'"),
                ({"target": "tnode", "bitmap": {"node": "no", "name": "b"}},
                 "Node 'no' not found"),
                ({"target": disk},
                 "The copy-before-write target '%s' writes the node it "
                 "filters: not supported by kvmpc" % disk),
                ({"target": "tnode", "cbw-timeout": 5},
                 "cbw-timeout is not supported by kvmpc (a copy before "
                 "write is not timed out); leave it 0")):
            a = {"driver": "copy-before-write", "node-name": "bad",
                 "file": disk}
            a.update(args)
            check_eq(vm.q.error("blockdev-add", a)["desc"], want,
                     "blockdev-add %r" % args)
        vm.q.ret("blockdev-add", {"driver": "copy-before-write",
                                  "node-name": "cbw", "file": disk,
                                  "target": "tnode", "cbw-timeout": 0})
        vm.q.ret("blockdev-add", {"driver": "snapshot-access",
                                  "node-name": "acc", "file": "cbw"})
        nodes = block_nodes(vm, flat=True)
        check_eq((nodes["cbw"]["drv"], nodes["cbw"]["file"],
                  nodes["acc"]["drv"]),
                 ("copy-before-write", src, "snapshot-access"),
                 "query-named-block-nodes")
        guest_write(vm, 0, b"\x61" * 4096)            # the device, below
        vm.h.command('qemu-io cbw "write -P 0x62 2M 4k"')  # through it
        vm.q.ret("nbd-server-start", {"addr": {"type": "unix",
                                               "data": {"path": sock}}})
        vm.q.ret("block-export-add", {"type": "nbd", "id": "e",
                                      "node-name": "acc"})
        url = "nbd+unix:///acc?socket=" + sock
        for cmd in ("read -P 0x11 0 1M", "read -P 0x22 2M 512k",
                    "read -P 0 1M 1M", "read -P 0 3M 64k"):
            check(qemu_io(url, "raw", cmd), "snapshot export: " + cmd)
        vm.q.ret("block-export-del", {"id": "e"})
        vm.q.ret("blockdev-del", {"node-name": "acc"})
        vm.q.ret("blockdev-del", {"node-name": "cbw"})
        # with a bitmap: only what it marks (the 64 KiB at 1 MiB) is kept
        vm.q.ret("block-dirty-bitmap-add", {"node": disk, "name": "b0"})
        guest_write(vm, MiB, b"\x63" * 4096)
        vm.q.ret("block-dirty-bitmap-disable", {"node": disk, "name": "b0"})
        vm.q.ret("blockdev-add", {"driver": "copy-before-write",
                                  "node-name": "cbw2", "file": disk,
                                  "target": "tnode",
                                  "bitmap": {"node": disk, "name": "b0"}})
        vm.q.ret("blockdev-add", {"driver": "snapshot-access",
                                  "node-name": "acc2", "file": "cbw2"})
        guest_write(vm, MiB, b"\x64" * 4096)
        vm.q.ret("block-export-add", {"type": "nbd", "id": "e2",
                                      "node-name": "acc2"})
        url = "nbd+unix:///acc2?socket=" + sock
        check(qemu_io(url, "raw", "read -P 0x63 1M 4k"), "inside the bitmap")
        r = subprocess.run(["qemu-io", "-r", "-f", "raw", "-c", "read 0 4k",
                            url], capture_output=True, text=True)
        check("read failed" in r.stdout + r.stderr,
              "outside the bitmap: %r" % (r.stdout + r.stderr))
        vm.q.ret("block-export-del", {"id": "e2"})
        vm.q.ret("blockdev-del", {"node-name": "acc2"})
        vm.q.ret("blockdev-del", {"node-name": "cbw2"})
        # a copy that fails: the guest's write fails too (default
        # break-guest-write), or goes on and breaks the snapshot
        bad = {"driver": "blkdebug",
               "image": {"driver": "null-co", "size": DISK},
               "inject-error": [{"event": "write_aio"}]}
        vm.q.ret("blockdev-add", {"driver": "copy-before-write",
                                  "node-name": "cbw3", "file": disk,
                                  "target": bad})
        vm.h.command('qemu-io cbw3 "write -P 0x65 512k 4k"')
        vm.q.ret("blockdev-del", {"node-name": "cbw3"})
        vm.q.ret("blockdev-add", {"driver": "copy-before-write",
                                  "node-name": "cbw4", "file": disk,
                                  "target": bad,
                                  "on-cbw-error": "break-snapshot"})
        vm.q.ret("blockdev-add", {"driver": "snapshot-access",
                                  "node-name": "acc4", "file": "cbw4"})
        vm.h.command('qemu-io cbw4 "write -P 0x66 768k 4k"')
        vm.q.ret("block-export-add", {"type": "nbd", "id": "e4",
                                      "node-name": "acc4"})
        r = subprocess.run(["qemu-io", "-r", "-f", "raw", "-c", "read 0 4k",
                            "nbd+unix:///acc4?socket=" + sock],
                           capture_output=True, text=True)
        check("read failed" in r.stdout + r.stderr,
              "a broken snapshot: %r" % (r.stdout + r.stderr))
        vm.q.ret("block-export-del", {"id": "e4"})
        vm.q.ret("nbd-server-stop")
        vm.q.ret("blockdev-del", {"node-name": "acc4"})
        vm.q.ret("blockdev-del", {"node-name": "cbw4"})
        vm.q.ret("blockdev-del", {"node-name": "tnode"})
        quit_vm(vm)
        for cmd in ("read -P 0x11 0 64k", "read -P 0x22 2M 64k"):
            check(qemu_io(tgt, "qcow2", cmd), "old data in the target: " + cmd)
        for cmd in ("read -P 0x62 2M 4k", "read -P 0x61 0 4k",
                    "read -P 0x64 1M 4k", "read -P 0x11 512k 4k",
                    "read -P 0x66 768k 4k"):
            check(qemu_io(src, "qcow2", cmd), "the new data: " + cmd)
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_x_perf(binary):
    """x-perf: max-chunk sets the copy request's size (the first request
    of a speed-held job is one chunk), max-workers how many run at once;
    backups with both give the source's content; bad values get QEMU
    7.2's replies."""
    tmp = backup_tmp()
    vm, src = start(binary, tmp)
    try:
        paths = add_targets(vm, tmp, ("t1", "t2"))
        for perf, want in (
                ({"max-workers": 0},
                 "max-workers must be between 1 and 2147483647"),
                ({"max-workers": 1 << 31},
                 "max-workers must be between 1 and 2147483647"),
                ({"max-chunk": -1}, "max-chunk must be zero (which means no "
                 "limit) or positive"),
                ({"max-chunk": 1000}, "Required max-chunk (1000) is less "
                 "than backup cluster size (65536)")):
            e = vm.q.error("blockdev-backup", {"device": "drive0",
                                               "target": "t1", "sync": "full",
                                               "x-perf": perf})
            check_eq(e["desc"], want, "x-perf %r" % perf)
        for t, perf, first in (
                ("t1", {"max-workers": 1, "max-chunk": 64 * 1024,
                        "use-copy-range": True}, 64 * 1024),
                ("t2", {"max-workers": 3, "max-chunk": 192 * 1024},
                 192 * 1024)):
            vm.q.ret("blockdev-backup", {"device": "drive0", "target": t,
                                         "sync": "full", "speed": 1,
                                         "job-id": t, "x-perf": perf})
            wait_for(lambda: vm.q.ret("query-block-jobs")[0]["offset"] > 0,
                     what="the first chunk")
            check_eq(vm.q.ret("query-block-jobs")[0]["offset"], first,
                     "one request of max-chunk %r" % perf)
            vm.q.ret("block-job-set-speed", {"device": t, "speed": 0})
            ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
            check_eq((ev["device"], ev["offset"], ev.get("error")),
                     (t, DISK, None), "COMPLETED")
            wait_for(lambda: not vm.q.ret("query-block-jobs"), what="gone")
        quit_vm(vm)
        for t in ("t1", "t2"):
            compare(src, "qcow2", paths[t], "qcow2")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


def test_iothread_source(binary):
    """A source in an I/O thread (virtio-blk iothread=) with a real guest
    writing to it (the virtio-blk payload's randwrite bench, 32 writes in
    flight): the filter goes above the source and away again while the
    thread's requests run, the thread's writes copy first, and the target
    is the disk as it was when the job started."""
    payload = os.environ.get("KVMPC_VIRTIO_BLK_PAYLOAD")
    if not payload or not os.path.exists(payload):
        print("SKIP test_iothread_source: set KVMPC_VIRTIO_BLK_PAYLOAD to "
              "virtio-blk.elf")
        return
    from qmplib import QMP, Kvmpc
    import time
    tmp = backup_tmp()
    disk = os.path.join(tmp, "disk.raw")
    pit = os.path.join(tmp, "pit.raw")
    tgt = os.path.join(tmp, "tgt.raw")
    with open(disk, "wb") as f:
        f.write(os.urandom(2 * MiB))
    qmp_path = os.path.join(tmp, "qmp.sock")
    serial = os.path.join(tmp, "serial.log")
    vm = Kvmpc(binary, ["-nodefaults", "-display", "none", "-m", "256M",
                        "-serial", "file:" + serial,
                        "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                        "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
                        "-object", "iothread,id=io0",
                        "-drive", "file=%s,if=none,id=vd,format=raw" % disk,
                        "-device", "virtio-blk-pci,drive=vd,iothread=io0",
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
        q.ret("stop")                   # drained: the point in time
        shutil.copy(disk, pit)
        q.ret("drive-backup", {"device": "vd", "target": tgt, "sync": "full",
                               "format": "raw", "speed": 1, "job-id": "b",
                               "filter-node-name": "f"})
        node = [b["inserted"] for b in q.ret("query-block")
                if b["device"] == "vd"][0]
        check_eq((node["node-name"], node["drv"]), ("f", "copy-before-write"),
                 "the filter is the medium")
        q.ret("cont")
        time.sleep(0.3)                 # the guest writes ahead of the copy
        check("bench: op=" not in log(), "the guest stopped writing")
        q.ret("block-job-set-speed", {"device": "b", "speed": 0})
        ev = q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check("error" not in ev, "COMPLETED %r" % ev)
        wait_for(lambda: not q.ret("query-block-jobs"), what="job gone")
        node = [b["inserted"] for b in q.ret("query-block")
                if b["device"] == "vd"][0]
        check_eq(node["drv"], "raw", "the disk is back")
        time.sleep(0.1)                 # the guest goes on without a filter
        check(vm.alive() and "bench: op=" not in log(), "the guest: %s"
              % log()[-300:])
        q.ret("stop")
        r = qemu_img("compare", "-U", "-f", "raw", "-F", "raw", pit, tgt)
        check(r.returncode == 0, "qemu-img compare: %s%s"
              % (r.stdout, r.stderr))
        r = qemu_img("compare", "-U", "-f", "raw", "-F", "raw", disk, tgt)
        check(r.returncode != 0, "the guest wrote during the job")
    finally:
        if q:
            q.close()
        vm.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if not shutil.which("qemu-img") or not shutil.which("qemu-io"):
        print("SKIP: qemu-img/qemu-io (Debian's qemu-utils) not installed")
        sys.exit(77)
    run_tests([test_full_point_in_time, test_top_compressed,
               test_none_fleecing, test_drive_backup_create_modes,
               test_incremental, test_drive_backup_transaction,
               test_bitmap_modes_on_cancel,
               test_nbd_pull_mode, test_errors, test_filter_graph,
               test_x_perf, test_iothread_source, test_cbw_blockdev_add])
