#!/usr/bin/env python3
"""External snapshots and the block jobs libvirt runs on them, under
-accel qtest: blockdev-create (file, qcow2) as a job, blockdev-snapshot,
blockdev-snapshot-sync and transaction (with its abort path),
block-commit (active and intermediate), block-stream; QEMU 7.2's
arguments, events and wording.  Guest writes are IDE DMA writes driven
over the qtest socket; qemu-img and qemu-io (the real ones) check the
images: their chains, their data, `check`.

    test_blockjobs.py KVMPC [TEST...]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (check, check_eq, no_kvm, run_tests,  # noqa: E402
                    wait_for)
from test_blockdev import VM, bm_enable  # noqa: E402
from test_mirror import (qemu_img, qemu_io, guest_write,  # noqa: E402
                         quit_vm, job_events)

MiB = 1 << 20
DISK = 4 * MiB


def make_base(tmp):
    """base.qcow2: 0x11 at 0-1 MiB, 0x22 at 2-2.5 MiB."""
    path = os.path.join(tmp, "base.qcow2")
    check(qemu_img("create", "-q", "-f", "qcow2", path, str(DISK))
          .returncode == 0, "qemu-img create")
    for cmd in ("write -P 0x11 0 1M", "write -P 0x22 2M 512k"):
        subprocess.run(["qemu-io", "-f", "qcow2", "-c", cmd, path],
                       check=True, capture_output=True)
    return path


def start(binary, tmp, base):
    """libvirt's way: -blockdev file + qcow2 nodes, ide-hd on the
    format node (the device's backend is anonymous)."""
    vm = VM(binary, [
        "-blockdev", "driver=file,filename=%s,node-name=base-file" % base,
        "-blockdev", "driver=qcow2,file=base-file,node-name=base-fmt",
        "-device", "ide-hd,drive=base-fmt,bus=ide.0,unit=0,id=disk0"])
    bm_enable(vm)
    return vm


def run_job(vm, cmd, args, jid):
    """A command that starts job @jid; waits for it to conclude, then
    dismisses it (libvirt's sequence for blockdev-create)."""
    vm.q.ret(cmd, args)
    wait_for(lambda: "concluded" in job_events(vm, jid), what="concluded")
    info = [j for j in vm.q.ret("query-jobs") if j["id"] == jid][0]
    vm.q.ret("job-dismiss", {"id": jid})
    return info


def create_overlay(vm, tmp, name, backing, size=DISK):
    """libvirt's external snapshot overlay: blockdev-create file, add
    it, blockdev-create qcow2 on it, add it with backing null."""
    path = os.path.join(tmp, name + ".qcow2")
    info = run_job(vm, "blockdev-create", {
        "job-id": "create-" + name,
        "options": {"driver": "file", "filename": path, "size": 0}},
        "create-" + name)
    check("error" not in info, "create file: %r" % info)
    vm.q.ret("blockdev-add", {"driver": "file", "filename": path,
                              "node-name": name + "-file"})
    info = run_job(vm, "blockdev-create", {
        "job-id": "create-" + name + "-fmt",
        "options": {"driver": "qcow2", "file": name + "-file",
                    "size": size, "backing-file": backing,
                    "backing-fmt": "qcow2"}}, "create-" + name + "-fmt")
    check("error" not in info, "create qcow2: %r" % info)
    vm.q.ret("blockdev-add", {"driver": "qcow2", "file": name + "-file",
                              "node-name": name + "-fmt",
                              "backing": None})
    return path


def chain(path):
    r = qemu_img("info", "-U", "--backing-chain", path)
    check(r.returncode == 0, "qemu-img info: %s" % r.stderr)
    return [line.split(":", 1)[1].strip() for line in r.stdout.splitlines()
            if line.startswith("image:")]


def allocated_in_top(path, offset):
    """Does @path itself (not its backing chain) hold @offset?"""
    r = qemu_img("map", "-U", "--output=json", path)
    check(r.returncode == 0, "qemu-img map: %s" % r.stderr)
    return any(m["start"] <= offset < m["start"] + m["length"] and
               m["depth"] == 0 and m["data"] for m in json.loads(r.stdout))


def img_check(path):
    r = qemu_img("check", "-U", path)
    check(r.returncode == 0, "qemu-img check %s: %s%s" %
          (path, r.stdout, r.stderr))


def inserted(vm):
    return [b for b in vm.q.ret("query-block")
            if b.get("qdev") == "disk0" or b["device"] == ""][0]["inserted"]


def tmpdir():
    return tempfile.mkdtemp(prefix="kvmpc-blockjobs-")


def named_nodes(vm):
    return {n["node-name"]: n for n in vm.q.ret("query-named-block-nodes")}


def chain_formats(info):
    """The formats down an "image" / "backing-image" chain."""
    img, out = info["image"], []
    while img:
        out.append(img["format"])
        img = img.get("backing-image")
    return out


def filter_shape(info):
    """What QEMU 7.2 shows of a job's filter node (checked live): its
    driver, the filtered node's file name, no backing_file, the depth
    counting the filter, and the formats down its chain."""
    return (info["drv"], info["file"], "backing_file" in info,
            info["backing_file_depth"], info["ro"], chain_formats(info))


def only_filter(vm, drv):
    """The one node of driver @drv (an implicit "#blockN" filter)."""
    found = [n for n in vm.q.ret("query-named-block-nodes")
             if n["drv"] == drv]
    check_eq(len(found), 1, "%s nodes" % drv)
    check(found[0]["node-name"].startswith("#block"),
          "generated name %r" % found[0]["node-name"])
    return found[0]


def no_filters(vm):
    check_eq([n["node-name"] for n in vm.q.ret("query-named-block-nodes")
              if n["drv"] in ("mirror_top", "commit_top", "copy-on-read")],
             [], "filters left in the graph")


@no_kvm
def test_create_and_snapshot(binary):
    """blockdev-create jobs and blockdev-snapshot inside a transaction:
    the device writes to the overlay, the base keeps its data, the
    queries show the chain."""
    tmp = tmpdir()
    base = make_base(tmp)
    vm = start(binary, tmp, base)
    try:
        top = create_overlay(vm, tmp, "snap1", base)
        check_eq(job_events(vm, "create-snap1"),
                 ["created", "running", "waiting", "pending", "concluded",
                  "null"], "create job statuses")
        check_eq(chain(top), [top, base], "the new image's chain")
        vm.q.ret("transaction", {"actions": [
            {"type": "blockdev-snapshot",
             "data": {"node": "base-fmt", "overlay": "snap1-fmt"}}]})
        ins = inserted(vm)
        check_eq(ins["node-name"], "snap1-fmt", "device's node")
        check_eq(ins["image"]["backing-image"]["filename"], base,
                 "backing-image")
        check_eq(ins["backing_file_depth"], 1, "depth")
        nodes = {n["node-name"]: n for n in
                 vm.q.ret("query-named-block-nodes")}
        check_eq(nodes["snap1-fmt"]["image"]["backing-image"]["filename"],
                 base, "named node's backing-image")
        check(nodes["base-fmt"]["ro"], "old top read-only")
        guest_write(vm, 0, bytes([0x33]) * 64 * 1024)
        quit_vm(vm)
        check(qemu_io(base, "qcow2", "read -P 0x11 0 64k"), "base written")
        check(qemu_io(top, "qcow2", "read -P 0x22 2M 512k"),
              "overlay does not read through")
        img_check(top)
        img_check(base)
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_snapshot_errors_and_abort(binary):
    """QEMU's refusals; a transaction whose second action fails changes
    nothing (the first overlay is not put on)."""
    tmp = tmpdir()
    base = make_base(tmp)
    vm = start(binary, tmp, base)
    try:
        create_overlay(vm, tmp, "ov", base)
        e = vm.q.error("blockdev-create", {"job-id": "c", "options": {
            "driver": "raw", "file": "ov-file", "size": 0}})
        check_eq(e["desc"], "Driver does not support blockdev-create", "raw")
        e = vm.q.error("blockdev-create", {"job-id": "c", "options": {
            "driver": "qcow2", "file": "ov-file", "size": 1000}})
        check_eq(e["desc"], "Image size must be a multiple of 512 bytes",
                 "size")
        e = vm.q.error("blockdev-create", {"job-id": "c", "options": {
            "driver": "qcow2", "file": "nope", "size": DISK}})
        check_eq(e["desc"], "Cannot find device='' nor node-name='nope'",
                 "file node")
        e = vm.q.error("blockdev-snapshot", {"node": "base-fmt",
                                             "overlay": "nope"})
        check_eq(e["desc"], "Cannot find device='nope' nor "
                 "node-name='nope'", "overlay")
        e = vm.q.error("blockdev-snapshot", {"node": "base-fmt",
                                             "overlay": "ov-file"})
        check_eq(e["desc"], "The overlay is already in use", "in use")
        e = vm.q.error("transaction", {"actions": [
            {"type": "blockdev-snapshot",
             "data": {"node": "base-fmt", "overlay": "ov-fmt"}},
            {"type": "blockdev-snapshot",
             "data": {"node": "nope", "overlay": "ov-fmt"}}]})
        check_eq(e["desc"], "Cannot find device='nope' nor "
                 "node-name='nope'", "second action")
        check_eq(inserted(vm)["node-name"], "base-fmt", "aborted: no change")
        check("backing-image" not in inserted(vm)["image"], "no chain")
        vm.q.ret("blockdev-snapshot", {"node": "base-fmt",
                                       "overlay": "ov-fmt"})
        e = vm.q.error("blockdev-snapshot", {"node": "ov-fmt",
                                             "overlay": "base-fmt"})
        check_eq(e["desc"], "The overlay is already in use", "cycle")
        # blockdev-snapshot-sync creates the overlay itself
        sync = os.path.join(tmp, "sync.qcow2")
        vm.q.ret("blockdev-snapshot-sync", {
            "node-name": "ov-fmt", "snapshot-file": sync,
            "snapshot-node-name": "sync-fmt", "format": "qcow2"})
        check_eq(inserted(vm)["node-name"], "sync-fmt", "sync overlay")
        check_eq(inserted(vm)["backing_file_depth"], 2, "depth")
        guest_write(vm, MiB, bytes([0x44]) * 4096)
        quit_vm(vm)
        check_eq(chain(sync), [sync, os.path.join(tmp, "ov.qcow2"), base],
                 "chain")
        check(qemu_io(sync, "qcow2", "read -P 0x11 0 64k"), "reads through")
        img_check(sync)
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


def snapshot(vm, tmp, name, node, backing):
    """An external snapshot as libvirt takes it: overlay @name on @node."""
    path = create_overlay(vm, tmp, name, backing)
    vm.q.ret("transaction", {"actions": [
        {"type": "blockdev-snapshot",
         "data": {"node": node, "overlay": name + "-fmt"}}]})
    return path


def wait_concluded(vm, jid):
    wait_for(lambda: "concluded" in job_events(vm, jid), what="concluded")
    info = [j for j in vm.q.ret("query-jobs") if j["id"] == jid][0]
    check("error" not in info, "job %s failed: %r" % (jid, info))
    vm.q.ret("job-dismiss", {"id": jid})


@no_kvm
def test_active_commit(binary):
    """block-commit of the active layer: READY (type commit), guest
    writes meanwhile, job-complete points the device at the base, which
    then holds everything; errors as QEMU's."""
    tmp = tmpdir()
    base = make_base(tmp)
    vm = start(binary, tmp, base)
    try:
        top = snapshot(vm, tmp, "snap1", "base-fmt", base)
        guest_write(vm, 0, bytes([0x33]) * 64 * 1024)
        guest_write(vm, 3 * MiB, bytes([0x34]) * 4096)
        for args, text in (
                ({"top-node": "nope"},
                 "Cannot find device='' nor node-name='nope'"),
                ({"base-node": "snap1-fmt", "top-node": "snap1-fmt"},
                 "cannot commit an image into itself"),
                ({"top-node": "base-fmt", "base-node": "snap1-fmt"},
                 "'snap1-fmt' is not in this backing file chain"),
                ({"backing-file": "x"},
                 "'backing-file' specified, but 'top' is the active "
                 "layer"),
                ({"base": "/nope"},
                 "Can't find '/nope' in the backing chain")):
            a = {"device": "snap1-fmt"}
            a.update(args)
            check_eq(vm.q.error("block-commit", a)["desc"], text, repr(args))
        vm.q.ret("block-commit", {"job-id": "commit0", "device": "snap1-fmt",
                                  "top-node": "snap1-fmt",
                                  "base-node": "base-fmt",
                                  "filter-node-name": "cf",
                                  "auto-dismiss": False})
        # QEMU 7.2: a named mirror_top filter is the device's medium
        ins = inserted(vm)
        check_eq((ins["node-name"],) + filter_shape(ins),
                 ("cf", "mirror_top", top, False, 2, False,
                  ["mirror_top", "qcow2", "qcow2"]), "query-block: filter")
        check_eq(filter_shape(named_nodes(vm)["cf"]), filter_shape(ins),
                 "query-named-block-nodes: the filter")
        ev = vm.q.wait_event("BLOCK_JOB_READY")["data"]
        check_eq((ev["type"], ev["device"]), ("commit", "commit0"), "READY")
        guest_write(vm, 2 * MiB, bytes([0x35]) * 4096)   # while READY
        vm.q.ret("job-complete", {"id": "commit0"})
        ev = vm.q.wait_event("BLOCK_JOB_COMPLETED")["data"]
        check("error" not in ev, "COMPLETED %r" % ev)
        wait_concluded(vm, "commit0")
        ins = inserted(vm)
        check_eq(ins["node-name"], "base-fmt", "device's node after commit")
        check(not ins["ro"], "base writable")
        no_filters(vm)
        guest_write(vm, MiB, bytes([0x36]) * 4096)       # after the pivot
        vm.q.ret("blockdev-del", {"node-name": "snap1-fmt"})
        quit_vm(vm)
        for cmd in ("read -P 0x33 0 64k", "read -P 0x11 64k 960k",
                    "read -P 0x35 2M 4k", "read -P 0x22 2052k 508k",
                    "read -P 0x34 3M 4k", "read -P 0x36 1M 4k"):
            check(qemu_io(base, "qcow2", cmd), "base: " + cmd)
        check(not allocated_in_top(top, MiB),
              "the overlay got the write after the pivot")
        img_check(base)
        img_check(top)
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_commit_cancel(binary):
    """A commit cancelled before READY: BLOCK_JOB_CANCELLED, the device
    stays on the overlay and the base is read-only again."""
    tmp = tmpdir()
    base = make_base(tmp)
    vm = start(binary, tmp, base)
    try:
        top = snapshot(vm, tmp, "snap1", "base-fmt", base)
        guest_write(vm, 0, bytes([0x61]) * 4096)
        guest_write(vm, 2 * MiB, bytes([0x62]) * 4096)
        for name, text in (
                ("base-fmt", "Duplicate nodes with node-name='base-fmt'"),
                ("1bad", "Invalid node-name: '1bad'")):
            e = vm.q.error("block-commit", {"device": "snap1-fmt",
                                            "filter-node-name": name})
            check_eq(e["desc"], text, "filter-node-name " + name)
        check_eq(vm.q.ret("query-jobs"), [], "no job after the errors")
        vm.q.ret("block-commit", {"device": "snap1-fmt", "speed": 1})
        # QEMU 7.2: an implicit mirror_top that query-block looks through
        ins = inserted(vm)
        check_eq((ins["node-name"], ins["backing_file_depth"],
                  chain_formats(ins)),
                 ("snap1-fmt", 1, ["qcow2", "qcow2"]), "query-block")
        check_eq(filter_shape(only_filter(vm, "mirror_top")),
                 ("mirror_top", top, False, 2, False,
                  ["mirror_top", "qcow2", "qcow2"]), "the implicit filter")
        stats = [e for e in vm.q.ret("query-blockstats")
                 if e.get("qdev") == "disk0"][0]
        check_eq((stats["node-name"], stats["backing"]["node-name"]),
                 ("snap1-fmt", "base-fmt"), "query-blockstats")
        j = vm.q.ret("query-block-jobs")[0]
        check_eq((j["type"], j["device"], j["speed"]),
                 ("commit", "snap1-fmt", 1), "query-block-jobs")
        nodes = {n["node-name"]: n for n in
                 vm.q.ret("query-named-block-nodes")}
        check(not nodes["base-fmt"]["ro"], "base writable during commit")
        e = vm.q.error("block-commit", {"device": "snap1-fmt",
                                        "job-id": "again"})
        check_eq(e["desc"], "Node 'snap1-fmt' is busy: block device is in "
                 "use by block job: commit", "second commit")
        vm.q.ret("block-job-cancel", {"device": "snap1-fmt"})
        ev = vm.q.wait_event("BLOCK_JOB_CANCELLED")["data"]
        check_eq(ev["type"], "commit", "CANCELLED type")
        wait_for(lambda: "null" in job_events(vm, "snap1-fmt"), what="null")
        check_eq(inserted(vm)["node-name"], "snap1-fmt", "no pivot")
        nodes = {n["node-name"]: n for n in
                 vm.q.ret("query-named-block-nodes")}
        check(nodes["base-fmt"]["ro"], "base read-only after the cancel")
        no_filters(vm)
        check_eq(inserted(vm)["backing_file_depth"], 1, "depth after")
        quit_vm(vm)
        img_check(base)
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_intermediate_commit(binary):
    """block-commit of the middle of base <- mid <- top: ends by itself
    (no READY), the top's backing file is the base (graph and header)."""
    tmp = tmpdir()
    base = make_base(tmp)
    vm = start(binary, tmp, base)
    try:
        mid = snapshot(vm, tmp, "mid", "base-fmt", base)
        guest_write(vm, 0, bytes([0x41]) * 64 * 1024)
        guest_write(vm, 2 * MiB, bytes([0x44]) * 4096)   # a second run
        top = snapshot(vm, tmp, "top", "mid-fmt", mid)
        guest_write(vm, 64 * 1024, bytes([0x42]) * 4096)
        vm.q.ret("block-commit", {"job-id": "c1", "device": "top-fmt",
                                  "top-node": "mid-fmt",
                                  "base-node": "base-fmt",
                                  "filter-node-name": "cf", "speed": 1,
                                  "auto-dismiss": False})
        # QEMU 7.2: commit_top between the top and its overlay, read-only
        ins = inserted(vm)
        check_eq((ins["node-name"], ins["backing_file_depth"],
                  chain_formats(ins)),
                 ("top-fmt", 3, ["qcow2", "commit_top", "qcow2", "qcow2"]),
                 "query-block during the commit")
        check_eq(filter_shape(named_nodes(vm)["cf"]),
                 ("commit_top", mid, False, 2, True,
                  ["commit_top", "qcow2", "qcow2"]), "the filter")
        guest_write(vm, 3 * MiB, bytes([0x43]) * 4096)   # during the job
        vm.q.ret("block-job-set-speed", {"device": "c1", "speed": 0})
        wait_concluded(vm, "c1")
        no_filters(vm)
        check("BLOCK_JOB_READY" not in [e["event"] for e in vm.q.events],
              "READY of an intermediate commit")
        ins = inserted(vm)
        check_eq(ins["node-name"], "top-fmt", "device's node")
        check_eq(ins["image"]["backing-image"]["filename"], base, "backing")
        check_eq(ins["backing_file_depth"], 1, "depth")
        quit_vm(vm)
        check_eq(chain(top), [top, base], "chain after commit")
        for cmd in ("read -P 0x41 0 64k", "read -P 0x11 68k 956k"):
            check(qemu_io(base, "qcow2", cmd), "base: " + cmd)
        for cmd in ("read -P 0x41 0 64k", "read -P 0x42 64k 4k",
                    "read -P 0x43 3M 4k", "read -P 0x44 2M 4k",
                    "read -P 0x22 2052k 508k"):
            check(qemu_io(top, "qcow2", cmd), "top: " + cmd)
        img_check(base)
        img_check(top)
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_stream(binary):
    """block-stream: the top gets what the chain holds and loses its
    backing file; with base-node, only the layers above the base."""
    tmp = tmpdir()
    base = make_base(tmp)
    vm = start(binary, tmp, base)
    try:
        mid = snapshot(vm, tmp, "mid", "base-fmt", base)
        guest_write(vm, 0, bytes([0x51]) * 64 * 1024)
        guest_write(vm, 2 * MiB, bytes([0x54]) * 4096)   # a second run
        top = snapshot(vm, tmp, "top", "mid-fmt", mid)
        guest_write(vm, 3 * MiB, bytes([0x52]) * 4096)
        e = vm.q.error("block-stream", {"device": "top-fmt",
                                        "base-node": "top-fmt"})
        check_eq(e["desc"], "Node 'top-fmt' is not a backing image of "
                 "'top-fmt'", "base-node = top")
        e = vm.q.error("block-stream", {"device": "top-fmt",
                                        "filter-node-name": "base-fmt"})
        check_eq(e["desc"], "Could not create node: Duplicate nodes with "
                 "node-name='base-fmt'", "filter-node-name taken")
        vm.q.ret("block-stream", {"job-id": "s1", "device": "top-fmt",
                                  "base-node": "base-fmt", "speed": 1,
                                  "auto-dismiss": False})
        # QEMU 7.2: an implicit copy-on-read that query-block looks through
        ins = inserted(vm)
        check_eq((ins["node-name"], ins["backing_file_depth"]),
                 ("top-fmt", 2), "query-block during the stream")
        check_eq(filter_shape(only_filter(vm, "copy-on-read")),
                 ("copy-on-read", top, False, 3, False,
                  ["copy-on-read", "qcow2", "qcow2", "qcow2"]),
                 "the implicit filter")
        guest_write(vm, 0, bytes([0x53]) * 4096)        # during the job
        vm.q.ret("block-job-set-speed", {"device": "s1", "speed": 0})
        wait_concluded(vm, "s1")
        no_filters(vm)
        ins = inserted(vm)
        check_eq(ins["image"]["backing-image"]["filename"], base,
                 "backing after stream to base")
        vm.q.ret("block-stream", {"job-id": "s2", "device": "top-fmt",
                                  "filter-node-name": "sf", "speed": 1,
                                  "auto-dismiss": False})
        # a named one is the device's medium (its "file": QEMU 7.2 shows
        # a json: name there, kvmpc the node's file name; docs/block.md)
        ins = inserted(vm)
        check_eq((ins["node-name"], ins["drv"], "backing_file" in ins,
                  ins["backing_file_depth"], chain_formats(ins)),
                 ("sf", "copy-on-read", False, 2,
                  ["copy-on-read", "qcow2", "qcow2"]), "the named filter")
        vm.q.ret("block-job-set-speed", {"device": "s2", "speed": 0})
        wait_concluded(vm, "s2")
        no_filters(vm)
        ins = inserted(vm)
        check("backing-image" not in ins["image"], "no backing: %r" % ins)
        check_eq(ins["backing_file_depth"], 0, "depth")
        quit_vm(vm)
        check_eq(chain(top), [top], "chain after stream")
        for cmd in ("read -P 0x53 0 4k", "read -P 0x51 4k 60k",
                    "read -P 0x11 64k 960k", "read -P 0x54 2M 4k",
                    "read -P 0x22 2052k 508k", "read -P 0x52 3M 4k"):
            check(qemu_io(top, "qcow2", cmd), "top: " + cmd)
        img_check(top)
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if not shutil.which("qemu-img") or not shutil.which("qemu-io"):
        print("SKIP: qemu-img/qemu-io (Debian's qemu-utils) not installed")
        sys.exit(77)
    run_tests([test_create_and_snapshot, test_snapshot_errors_and_abort,
               test_active_commit, test_commit_cancel,
               test_intermediate_commit, test_stream])


if __name__ == "__main__":
    main()
