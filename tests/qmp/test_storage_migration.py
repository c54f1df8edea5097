#!/usr/bin/env python3
"""Live migration with non-shared storage, as libvirt drives it
(`virsh migrate --live --copy-storage-all`), between two kvmpc processes
under -accel qtest:

  1. the destination starts with -incoming defer and an empty disk of the
     same size, and exports it: nbd-server-start, nbd-server-add writable;
  2. the source opens that export (blockdev-add driver=nbd) and mirrors
     its disk into it (blockdev-mirror sync=full); the guest writes
     (IDE DMA over qtest) before and after BLOCK_JOB_READY;
  3. with the job READY: migrate-incoming on the destination, migrate on
     the source;
  4. block-job-cancel on the source: BLOCK_JOB_COMPLETED (no pivot), then
     nbd-server-stop on the destination.

Afterwards the destination's image holds exactly what the guest wrote
(qemu-img compare against the source), and the destination runs.
docs/migration.md "Non-shared storage".
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import check, check_eq, no_kvm, run_tests, wait_for  # noqa
from test_blockdev import VM, bm_enable, pattern  # noqa: E402
from test_mirror import (DISK, MiB, compare, guest_write,  # noqa: E402
                         make_source, qemu_img, quit_vm)


def migration_status(q):
    return q.ret("query-migrate").get("status")


@no_kvm
def test_copy_storage_all(binary):
    if not shutil.which("qemu-img") or not shutil.which("qemu-io"):
        print("SKIP: qemu-img/qemu-io not installed (qemu-utils)")
        return
    tmp = tempfile.mkdtemp(prefix="kvmpc-storage-mig-")
    src_img = make_source(tmp)
    dst_img = os.path.join(tmp, "dst.qcow2")
    check(qemu_img("create", "-q", "-f", "qcow2", dst_img,
                   str(DISK)).returncode == 0, "qemu-img create")
    nbd_sock = os.path.join(tmp, "nbd.sock")
    mig_sock = os.path.join(tmp, "mig.sock")
    disk = "file=%s,if=ide,id=drive0,format=qcow2"
    src = VM(binary, ["-drive", disk % src_img])
    dst = VM(binary, ["-drive", disk % dst_img, "-incoming", "defer"])
    try:
        bm_enable(src)
        # 1. the destination exports its empty disk
        dst.q.ret("nbd-server-start", {"addr": {"type": "unix", "data": {
            "path": nbd_sock}}})
        dst.q.ret("nbd-server-add", {"device": "drive0", "writable": True})
        # 2. the source mirrors into it; the guest keeps writing
        src.q.ret("blockdev-add", {"driver": "nbd", "node-name": "mig-tgt",
                                   "server": {"type": "unix",
                                              "path": nbd_sock},
                                   "export": "drive0"})
        guest_write(src, 3 * MiB, pattern(8192, 0x31))
        src.q.ret("blockdev-mirror", {"job-id": "drive-drive0",
                                      "device": "drive0",
                                      "target": "mig-tgt", "sync": "full"})
        src.q.wait_event("BLOCK_JOB_READY")
        guest_write(src, 3 * MiB + 4096, pattern(16384, 0x32))
        # 3. migrate with the job READY
        dst.q.ret("migrate-incoming", {"uri": "unix:" + mig_sock})
        wait_for(lambda: os.path.exists(mig_sock), what="incoming socket")
        src.q.ret("migrate", {"uri": "unix:" + mig_sock})
        wait_for(lambda: migration_status(src.q) in ("completed", "failed"),
                 what="migration")
        check_eq(migration_status(src.q), "completed", "migration")
        # 4. end the mirror without a pivot, stop the export
        src.q.ret("block-job-cancel", {"device": "drive-drive0"})
        ev = src.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check("error" not in ev, "mirror ended with %r" % ev)
        check_eq(src.q.ret("query-block-jobs"), [], "jobs left")
        src.q.ret("blockdev-del", {"node-name": "mig-tgt"})
        dst.q.ret("nbd-server-stop")
        wait_for(lambda: dst.q.ret("query-status")["status"] != "inmigrate",
                 what="destination loaded")
        check_eq(dst.q.ret("query-status")["status"], "running",
                 "destination state")
        check_eq(src.q.ret("query-status")["status"], "postmigrate",
                 "source state")
        quit_vm(src)
        quit_vm(dst)
        compare(src_img, "qcow2", dst_img, "qcow2")
    finally:
        quit_vm(src)
        quit_vm(dst)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_copy_storage_all])
