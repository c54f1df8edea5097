#!/usr/bin/env python3
"""Image locking (docs/block.md "Image locking"), against real peers.

kvmpc takes QEMU's OFD lock bytes (100 + permission held, 200 +
permission not shared) on every image file it opens, so that kvmpc, QEMU
7.2, qemu-img and qemu-io refuse each other's conflicting opens.

  - the lock bytes for a writable qcow2, a read-only raw, a writable raw,
    a CD-ROM, a floppy and a qcow2 over a raw backing file are the ones
    Debian's QEMU 7.2 takes for the same command line (/proc/locks);
  - a running kvmpc makes qemu-img info, qemu-io, QEMU and a second
    kvmpc refuse the image with QEMU's words, and -U / force-share,
    share-rw=on, readonly twice and file.locking=off work;
  - a QEMU holding an image makes kvmpc refuse it;
  - blockdev-add refuses a locked image, blockdev-del and eject let go;
  - users of one node in one process: a writable NBD export beside a
    guest disk that does not share writes is refused with QEMU's words;
  - migration on shared storage: the destination holds no locks until
    the stream is loaded, then takes them from the source; `cont` on the
    source then fails; a failed migration gives the source its locks
    back.

Runs under -accel qtest (QEMU under TCG, stopped); SKIPs the peer parts
without qemu-utils or qemu-system-x86.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (Kvmpc, QMP, check, check_eq, no_kvm,  # noqa: E402
                    run_tests, wait_for)
from test_migration import VM  # noqa: E402

QEMU = shutil.which("qemu-system-x86_64")
QEMU_IMG = shutil.which("qemu-img")
QEMU_IO = shutil.which("qemu-io")


def kvmpc_img(binary):
    return os.path.join(os.path.dirname(os.path.abspath(binary)),
                        "kvmpc-img")


def lock_bytes(path):
    """The lock byte ranges held on @path, as sorted 'start-end' strings."""
    ino = os.stat(path).st_ino
    out = []
    with open("/proc/locks") as f:
        for line in f:
            fields = line.split()
            if ":" in line and fields[-3].endswith(":%d" % ino):
                out.append("%s-%s" % (fields[-2], fields[-1]))
    return sorted(out)


def make_images(d):
    """Small images of every kind the drive test uses."""
    paths = {}
    for name, fmt, size in (("a.qcow2", "qcow2", "4M"), ("r.raw", "raw", "1M"),
                            ("w.raw", "raw", "1M"), ("cd.iso", "raw", "1M"),
                            ("fd.img", "raw", "1440K"),
                            ("base.raw", "raw", "1M")):
        p = os.path.join(d, name)
        subprocess.run([QEMU_IMG, "create", "-q", "-f", fmt, p, size],
                       check=True)
        paths[name] = p
    paths["ov.qcow2"] = os.path.join(d, "ov.qcow2")
    subprocess.run([QEMU_IMG, "create", "-q", "-f", "qcow2", "-F", "raw",
                    "-b", paths["base.raw"], paths["ov.qcow2"]], check=True)
    return paths


def drives(p):
    return ["-drive", "file=%s,if=virtio,format=qcow2" % p["a.qcow2"],
            "-drive", "file=%s,if=virtio,format=raw,readonly=on" % p["r.raw"],
            "-drive", "file=%s,if=ide,format=raw" % p["w.raw"],
            "-drive", "file=%s,if=ide,media=cdrom,format=raw" % p["cd.iso"],
            "-drive", "file=%s,if=floppy,format=raw" % p["fd.img"],
            "-drive", "file=%s,if=virtio,format=qcow2" % p["ov.qcow2"]]


class Qemu:
    """Debian's QEMU 7.2, stopped under TCG, with a QMP socket."""

    def __init__(self, args):
        self.tmp = tempfile.mkdtemp(prefix="kvmpc-lock-qemu-")
        sock = os.path.join(self.tmp, "qmp.sock")
        self.proc = Kvmpc(QEMU, ["-machine", "pc", "-nodefaults", "-display",
                                 "none", "-accel", "tcg", "-S",
                                 "-qmp", "unix:%s,server=on,wait=off" % sock]
                          + list(args), tmpdir=self.tmp)
        self.proc.wait_socket(sock)
        self.qmp = QMP(sock)

    def close(self):
        self.proc.close()


def refused(cmd, want):
    """Run @cmd; it must fail and print @want."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=60)
    out = r.stdout.decode(errors="replace")
    check(r.returncode != 0, "%s succeeded: %s" % (cmd, out))
    check(want in out, "%s: %r not in %r" % (cmd[0], want, out))
    return out


def succeeds(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=60)
    check(r.returncode == 0, "%s failed: %s" % (cmd, r.stdout.decode()))


def kvmpc_refuses(binary, args, want):
    """kvmpc started with @args exits 1 with @want on one line."""
    r = subprocess.run([binary, "-machine", "pc", "-nodefaults", "-display",
                        "none", "-accel", "qtest", "-S"] + args,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=60)
    err = r.stderr.decode()
    check_eq(r.returncode, 1, "exit status of a refused start (%s)" % err)
    check(want in err, "%r not in %r" % (want, err))


def need_peers(*tools):
    missing = [t for t, path in (("qemu-img", QEMU_IMG), ("qemu-io", QEMU_IO),
                                 ("qemu-system-x86_64", QEMU))
               if t in tools and not path]
    if missing:
        print("SKIP: %s not installed" % ", ".join(missing))
        return False
    return True


@no_kvm
def test_lock_bytes_match_qemu(binary):
    if not need_peers("qemu-img", "qemu-system-x86_64"):
        return
    p = make_images(tempfile.mkdtemp(prefix="kvmpc-lock-"))
    names = ["a.qcow2", "r.raw", "w.raw", "cd.iso", "fd.img", "ov.qcow2",
             "base.raw"]
    vm = VM(binary, drives(p))
    try:
        ours = {n: lock_bytes(p[n]) for n in names}
    finally:
        vm.close()
    for n in names:
        check_eq(lock_bytes(p[n]), [], "%s unlocked after kvmpc exits" % n)
    q = Qemu(drives(p))
    try:
        theirs = {n: lock_bytes(p[n]) for n in names}
    finally:
        q.close()
    for n in names:
        check_eq(ours[n], theirs[n], "lock bytes of %s (kvmpc vs QEMU)" % n)
    # spot-check the layout itself, not only the agreement
    check_eq(ours["a.qcow2"], ["100-101", "103-103", "201-201", "203-203"],
             "writable qcow2")
    check_eq(ours["cd.iso"], ["100-100", "201-201", "203-203"], "CD-ROM")


@no_kvm
def test_peers_refuse_a_running_kvmpc(binary):
    if not need_peers("qemu-img", "qemu-io", "qemu-system-x86_64"):
        return
    p = make_images(tempfile.mkdtemp(prefix="kvmpc-lock-"))
    img, raw = p["a.qcow2"], p["w.raw"]
    vm = VM(binary, ["-drive", "file=%s,if=virtio,format=qcow2" % img,
                     "-drive", "file=%s,if=virtio,format=raw" % raw])
    try:
        refused([QEMU_IMG, "info", img], 'Failed to get shared "write" lock')
        succeeds([QEMU_IMG, "info", "-U", img])
        refused([QEMU_IO, "-f", "raw", "-c", "write 0 512", raw],
                'Failed to get "write" lock')
        refused([QEMU, "-machine", "pc", "-nodefaults", "-display", "none",
                 "-accel", "tcg", "-S", "-drive",
                 "file=%s,if=virtio,format=qcow2" % img],
                'Failed to get "write" lock')
        refused([kvmpc_img(binary), "info", img],
                'Failed to get shared "write" lock')
        succeeds([kvmpc_img(binary), "info", "-U", img])
        kvmpc_refuses(binary, ["-drive", "file=%s,if=virtio,format=qcow2"
                               % img], 'Failed to get "write" lock')
        # a reader that lets others write may look at it
        VM(binary, ["-drive", "file=%s,if=none,id=d,format=qcow2,"
                    "readonly=on,force-share=on" % img]).close()
        check(vm.proc.alive(), "kvmpc died")
    finally:
        vm.close()
    check_eq(lock_bytes(img), [], "locks released at exit")


@no_kvm
def test_kvmpc_refuses_a_running_qemu(binary):
    if not need_peers("qemu-img", "qemu-system-x86_64"):
        return
    p = make_images(tempfile.mkdtemp(prefix="kvmpc-lock-"))
    q = Qemu(["-drive", "file=%s,if=virtio,format=qcow2" % p["a.qcow2"]])
    try:
        kvmpc_refuses(binary, ["-drive", "file=%s,if=virtio,format=qcow2"
                               % p["a.qcow2"]],
                      'Failed to get "write" lock\nIs another process using '
                      'the image [%s]?' % p["a.qcow2"])
        # read-only with force-share reads it, taking only byte 100
        vm = VM(binary, ["-drive", "file=%s,if=none,id=d,format=qcow2,"
                         "readonly=on,force-share=on" % p["a.qcow2"]])
        check_eq(lock_bytes(p["a.qcow2"]).count("100-100"), 1,
                 "force-share reader's one lock")
        vm.close()
        kvmpc_refuses(binary, ["-drive", "file=%s,if=none,format=qcow2,"
                               "force-share=on" % p["a.qcow2"]],
                      "force-share=on can only be used with read-only images")
    finally:
        q.close()


@no_kvm
def test_sharing(binary):
    """share-rw=on, read-only twice, and file.locking=off."""
    if not need_peers("qemu-img"):
        return
    p = make_images(tempfile.mkdtemp(prefix="kvmpc-lock-"))
    raw = p["w.raw"]
    shared = ["-drive", "file=%s,if=none,id=d,format=raw" % raw,
              "-device", "virtio-blk-pci,drive=d,share-rw=on"]
    a = VM(binary, shared)
    b = VM(binary, shared)
    try:
        check_eq(lock_bytes(raw), ["100-101", "100-101"],
                 "two writers that share, no 2xx bytes")
    finally:
        a.close()
        b.close()
    ro = ["-drive", "file=%s,if=virtio,format=qcow2,readonly=on"
          % p["a.qcow2"]]
    a = VM(binary, ro)
    b = VM(binary, ro)
    a.close()
    b.close()
    a = VM(binary, ["-drive", "file=%s,if=virtio,format=qcow2,"
                    "file.locking=off" % p["a.qcow2"]])
    try:
        check_eq(lock_bytes(p["a.qcow2"]), [], "locking=off takes none")
        succeeds([QEMU_IMG, "info", p["a.qcow2"]])
    finally:
        a.close()
    kvmpc_refuses(binary, ["-drive", "file=%s,file.locking=maybe" % raw],
                  "Parameter 'locking' does not accept value 'maybe'")


@no_kvm
def test_qmp_nodes_and_media(binary):
    if not need_peers("qemu-img"):
        return
    p = make_images(tempfile.mkdtemp(prefix="kvmpc-lock-"))
    img, iso = p["a.qcow2"], p["cd.iso"]
    vm = VM(binary, ["-drive", "file=%s,if=virtio,format=qcow2" % img,
                     "-drive", "file=%s,if=ide,index=2,media=cdrom,"
                     "format=raw" % iso])
    try:
        q = vm.qmp
        e = q.error("blockdev-add", {"driver": "qcow2", "node-name": "again",
                                     "file": {"driver": "file",
                                              "filename": img}})
        check(e["desc"].startswith('Failed to get "write" lock'), e["desc"])
        check("again" not in [n["node-name"] for n in
                              q.ret("query-named-block-nodes")],
              "a refused node is gone")
        # a node of its own on another image holds its locks until deleted
        q.ret("blockdev-add", {"driver": "qcow2", "node-name": "n1",
                               "file": {"driver": "file",
                                        "filename": p["ov.qcow2"]}})
        check_eq(lock_bytes(p["ov.qcow2"]),
                 ["100-101", "103-103", "201-201", "203-203"], "node n1")
        check_eq(lock_bytes(p["base.raw"]),
                 ["100-100", "201-201", "203-203"], "n1's backing file")
        q.ret("blockdev-del", {"node-name": "n1"})
        check_eq(lock_bytes(p["ov.qcow2"]), [], "deleted node")
        check_eq(lock_bytes(p["base.raw"]), [], "deleted node's backing")
        # the CD-ROM's medium: eject lets go, change takes the new one
        check_eq(lock_bytes(iso), ["100-100", "201-201", "203-203"], "CD")
        q.ret("eject", {"device": "ide1-cd0"})
        check_eq(lock_bytes(iso), [], "ejected")
        q.ret("blockdev-change-medium", {"device": "ide1-cd0",
                                         "filename": p["r.raw"],
                                         "format": "raw"})
        check_eq(lock_bytes(p["r.raw"]), ["100-100", "201-201", "203-203"],
                 "new medium")
        check(vm.proc.alive(), "kvmpc died")
    finally:
        vm.close()


# QEMU 7.2's words (checked live with Debian's qemu-system-x86_64).
EXPORT_CONFLICT = (
    "Permission conflict on node 'd0': permissions 'write' are both "
    "required by an unnamed block device (uses node 'd0' as 'root' child) "
    "and unshared by block device '/machine/peripheral/vd0/virtio-backend' "
    "(uses node 'd0' as 'root' child).")


@no_kvm
def test_export_beside_a_disk(binary):
    """Users of one node in one process: a writable NBD export of a guest
    disk that does not share writes is refused, as QEMU's; read-only, or
    with share-rw=on, it is not; a node without a device exports
    writable."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-lock-")
    imgs = []
    for n in ("d0.raw", "d1.raw", "free.raw"):
        imgs.append(os.path.join(tmp, n))
        with open(imgs[-1], "wb") as f:
            f.truncate(1 << 20)
    sock = os.path.join(tmp, "nbd.sock")
    vm = VM(binary, [
        "-blockdev", "driver=file,filename=%s,node-name=f0" % imgs[0],
        "-blockdev", "driver=raw,file=f0,node-name=d0",
        "-device", "virtio-blk-pci,drive=d0,id=vd0",
        "-blockdev", "driver=file,filename=%s,node-name=f1" % imgs[1],
        "-blockdev", "driver=raw,file=f1,node-name=d1",
        "-device", "virtio-blk-pci,drive=d1,id=vd1,share-rw=on",
        "-blockdev", "driver=file,filename=%s,node-name=f2" % imgs[2],
        "-blockdev", "driver=raw,file=f2,node-name=free"])
    try:
        q = vm.qmp
        q.ret("nbd-server-start", {"addr": {"type": "unix",
                                            "data": {"path": sock}}})
        e = q.error("block-export-add", {"type": "nbd", "id": "e0",
                                         "node-name": "d0", "writable": True})
        check_eq(e["desc"], EXPORT_CONFLICT, "writable export of vd0's disk")
        e = q.error("nbd-server-add", {"device": "d0", "writable": True})
        check_eq(e["desc"], EXPORT_CONFLICT, "nbd-server-add")
        q.ret("block-export-add", {"type": "nbd", "id": "r0",
                                   "node-name": "d0"})
        q.ret("block-export-add", {"type": "nbd", "id": "w1",
                                   "node-name": "d1", "writable": True})
        q.ret("block-export-add", {"type": "nbd", "id": "w2",
                                   "node-name": "free", "writable": True})
        check_eq(sorted(x["id"] for x in q.ret("query-block-exports")),
                 ["r0", "w1", "w2"], "exports")
        # the refused one holds nothing: once gone, a writable export of
        # the free node again, and the read-only one's removal lets go
        q.ret("block-export-del", {"id": "w2"})
        q.ret("block-export-add", {"type": "nbd", "id": "w2b",
                                   "node-name": "free", "writable": True})
        q.ret("block-export-del", {"id": "r0"})
        check(vm.proc.alive(), "kvmpc died")
    finally:
        vm.close()


DEVICE_CONFLICT = (
    "Permission conflict on node 'd0': permissions 'write' are both "
    "required by block device '%s' (uses node 'd0' as 'root' child) and "
    "unshared by block device '%s' (uses node 'd0' as 'root' child).")


@no_kvm
def test_devices_sharing_a_node(binary):
    """Two devices on one -blockdev node: allowed when every writer has
    share-rw=on (virtio-blk and scsi-hd alike), refused with QEMU 7.2's
    words when one does not share; a refused device holds nothing."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-lock-")
    img = os.path.join(tmp, "d0.raw")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    vm = VM(binary, [
        "-blockdev", "driver=file,filename=%s,node-name=f0" % img,
        "-blockdev", "driver=raw,file=f0,node-name=d0",
        "-device", "virtio-scsi-pci,id=scsi0",
        "-device", "virtio-blk-pci,drive=d0,id=vd1,share-rw=on"])
    try:
        q = vm.qmp
        q.ret("device_add", {"driver": "virtio-blk-pci", "drive": "d0",
                             "id": "vd2", "share-rw": True})
        q.ret("device_add", {"driver": "scsi-hd", "drive": "d0",
                             "id": "sd1", "share-rw": True})
        e = q.error("device_add", {"driver": "virtio-blk-pci",
                                   "drive": "d0", "id": "vd3"})
        check_eq(e["desc"], DEVICE_CONFLICT
                 % ("sd1", "/machine/peripheral/vd3/virtio-backend"),
                 "virtio-blk without share-rw")
        e = q.error("device_add", {"driver": "scsi-hd", "drive": "d0",
                                   "id": "sd2"})
        check_eq(e["desc"], DEVICE_CONFLICT % ("sd1", "sd2"),
                 "scsi-hd without share-rw")
        check_eq(sorted(b["qdev"] for b in q.ret("query-block")
                        if b.get("qdev")),
                 ["/machine/peripheral/vd1/virtio-backend",
                  "/machine/peripheral/vd2/virtio-backend", "sd1"],
                 "the devices on d0")
        check(vm.proc.alive(), "kvmpc died")
    finally:
        vm.close()
        shutil.rmtree(tmp, ignore_errors=True)
    # at start-up too, as QEMU: the second writer without share-rw
    p = subprocess.run(
        [binary, "-accel", "qtest", "-display", "none", "-nodefaults", "-S",
         "-blockdev", "driver=null-co,node-name=d0",
         "-device", "virtio-blk-pci,drive=d0,id=a",
         "-device", "virtio-blk-pci,drive=d0,id=b"],
        capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and DEVICE_CONFLICT % (
        "/machine/peripheral/a/virtio-backend",
        "/machine/peripheral/b/virtio-backend") in p.stderr,
        "-device twice: %r" % p.stderr)


def wait_status(qmp, want):
    def done():
        return qmp.ret("query-migrate").get("status") in want
    wait_for(done, what="migration status in %s" % (want,))
    return qmp.ret("query-migrate")["status"]


@no_kvm
def test_migration_shared_storage(binary):
    if not need_peers("qemu-img"):
        return
    d = tempfile.mkdtemp(prefix="kvmpc-lock-mig-")
    p = make_images(d)
    img = p["a.qcow2"]
    disk = ["-drive", "file=%s,if=virtio,format=qcow2" % img]
    held = ["100-101", "103-103", "201-201", "203-203"]
    src = VM(binary, disk)
    sock = os.path.join(d, "mig.sock")
    dst = VM(binary, disk + ["-incoming", "unix:" + sock])
    try:
        check_eq(lock_bytes(img), held, "only the source locks")
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        check_eq(wait_status(src.qmp, ("completed", "failed")), "completed",
                 "migration")
        wait_for(lambda: dst.qmp.ret("query-status")["status"] != "inmigrate",
                 what="destination loaded")
        check_eq(lock_bytes(img), held, "the destination took the locks")
        check_eq(src.qmp.ret("query-status")["status"], "postmigrate",
                 "source state")
        e = src.qmp.error("cont")
        check(e["desc"].startswith('Failed to get "write" lock'), e["desc"])
    finally:
        dst.close()
    check_eq(lock_bytes(img), [], "nobody holds the image")
    # with the destination gone the source may take its image back
    src.qmp.ret("cont")
    check_eq(lock_bytes(img), held, "source took the locks back on cont")

    # a destination that dies before the switchover: the source keeps
    # (or takes back) its locks and runs on
    dst = VM(binary, disk + ["-incoming", "unix:" + sock + "2"])
    src.qmp.ret("migrate-set-capabilities", {"capabilities": [
        {"capability": "pause-before-switchover", "state": True}]})
    src.qmp.ret("migrate", {"uri": "unix:" + sock + "2"})
    wait_status(src.qmp, ("pre-switchover",))
    dst.proc.kill()
    dst.close()
    src.qmp.ret("migrate-continue", {"state": "pre-switchover"})
    check_eq(wait_status(src.qmp, ("completed", "failed")), "failed",
             "migration to a dead destination")
    wait_for(lambda: src.qmp.ret("query-status")["status"] == "running",
             what="source running again")
    check_eq(lock_bytes(img), held, "source holds its locks after a failure")
    src.close()


if __name__ == "__main__":
    run_tests([test_lock_bytes_match_qemu, test_peers_refuse_a_running_kvmpc,
               test_kvmpc_refuses_a_running_qemu, test_sharing,
               test_qmp_nodes_and_media, test_export_beside_a_disk,
               test_devices_sharing_a_node,
               test_migration_shared_storage])
