#!/usr/bin/env python3
"""Dirty bitmaps under -accel qtest (no /dev/kvm needed): the
block-dirty-bitmap-* commands, their errors (QEMU 7.2's words), the
transaction actions (all or nothing), query-block's dirty-bitmaps, and
qcow2 persistent bitmaps against the real peers: bitmaps QEMU 7.2 wrote
(qemu-system-x86_64 with its HMP qemu-io) load in kvmpc with the same
x-debug-block-dirty-bitmap-sha256, and bitmaps kvmpc wrote (guest writes
through IDE, then quit) are listed by qemu-img info with the same flags,
pass qemu-img check, and hash the same in QEMU.

    test_bitmaps.py KVMPC [TEST...]
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (TestFailure, check, check_eq, no_kvm,  # noqa: E402
                    run_tests, wait_for)
from test_blockdev import VM, bm_enable  # noqa: E402
from test_mirror import guest_write, quit_vm  # noqa: E402

MiB = 1 << 20
DISK = 8 * MiB


def qemu_img(*args):
    return subprocess.run(["qemu-img"] + list(args), capture_output=True,
                          text=True)


def have_qemu():
    return shutil.which("qemu-img") and shutil.which("qemu-system-x86_64")


def make_image(tmp, name="disk.qcow2", size=DISK):
    path = os.path.join(tmp, name)
    r = qemu_img("create", "-q", "-f", "qcow2", path, str(size))
    check(r.returncode == 0, "qemu-img create: " + r.stderr)
    return path


def start(binary, img, tmp, extra=()):
    """kvmpc with @img on IDE; its own scratch directory (closing the VM
    removes it), not @tmp, where the images stay."""
    vm = VM(binary, ["-drive", "file=%s,if=ide,id=drive0,format=qcow2" % img]
            + list(extra))
    if not extra:
        bm_enable(vm)
    return vm


def node_of(vm):
    """query-block's inserted node (dirty-bitmaps live there)."""
    for b in vm.q.ret("query-block"):
        if b["device"] == "drive0":
            return b["inserted"]
    raise TestFailure("no drive0 in query-block")


def bitmaps(vm):
    return {b["name"]: b for b in node_of(vm).get("dirty-bitmaps", [])}


def sha(vm, name, node="drive0"):
    return vm.q.ret("x-debug-block-dirty-bitmap-sha256",
                    {"node": node, "name": name})["sha256"]


def err(vm, cmd, args):
    return vm.q.error(cmd, args)["desc"]


class Qemu:
    """QEMU 7.2 with the image as a bare node (no device, so HMP qemu-io
    may write to it), stopped (-S), over QMP."""

    def __init__(self, tmp, img):
        self.sock_path = os.path.join(tmp, "qemu-qmp.sock")
        self.p = subprocess.Popen(
            ["qemu-system-x86_64", "-M", "pc", "-accel", "tcg", "-S",
             "-display", "none", "-nodefaults", "-qmp",
             "unix:%s,server=on,wait=off" % self.sock_path, "-blockdev",
             "driver=qcow2,node-name=n0,file.driver=file,"
             "file.filename=" + img],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while not os.path.exists(self.sock_path):
            if self.p.poll() is not None:
                raise TestFailure("QEMU exited: %s"
                                  % self.p.stderr.read().decode())
            check(time.time() < deadline, "QEMU's QMP socket")
            time.sleep(0.02)
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(self.sock_path)
        self.f = self.s.makefile("rw")
        self.f.readline()
        self.cmd("qmp_capabilities")

    def cmd(self, _cmd, **args):
        self.f.write(json.dumps({"execute": _cmd, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "event" not in r:
                return r

    def ret(self, _cmd, **args):
        r = self.cmd(_cmd, **args)
        check("return" in r, "QEMU %s: %s" % (_cmd, r))
        return r["return"]

    def io(self, command):
        out = self.ret("human-monitor-command",
                       **{"command-line": 'qemu-io n0 "%s"' % command})
        # its report goes to QEMU's stdout; errors come back here
        check(out == "", "QEMU qemu-io %s: %s" % (command, out))

    def sha(self, name):
        return self.ret("x-debug-block-dirty-bitmap-sha256", node="n0",
                        name=name)["sha256"]

    def quit(self):
        self.cmd("quit")
        self.p.wait(timeout=20)
        self.s.close()


@no_kvm
def test_commands(binary):
    """Add/query/enable/disable/clear/merge/remove and QEMU's errors."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-bitmaps-")
    img = make_image(tmp)
    vm = start(binary, img, tmp)
    try:
        q = vm.q
        q.ret("block-dirty-bitmap-add", {"node": "drive0", "name": "b0"})
        q.ret("block-dirty-bitmap-add", {"node": "drive0", "name": "b1",
                                         "granularity": 512,
                                         "disabled": True})
        check_eq(node_of(vm)["dirty-bitmaps"], [
            {"name": "b1", "count": 0, "granularity": 512,
             "recording": False, "busy": False, "persistent": False},
            {"name": "b0", "count": 0, "granularity": 65536,
             "recording": True, "busy": False, "persistent": False}],
            "query-block dirty-bitmaps")
        # the same list in query-named-block-nodes, on the format node
        named = [n for n in q.ret("query-named-block-nodes")
                 if n.get("dirty-bitmaps")]
        check_eq(len(named), 1, "nodes with bitmaps")
        check_eq(named[0]["drv"], "qcow2", "the bitmaps' node")
        for args, want in [
                ({"node": "drive0", "name": "b0"}, "Bitmap already exists: b0"),
                ({"node": "drive0", "name": ""}, "Bitmap name cannot be empty"),
                ({"node": "nx", "name": "b"},
                 "Cannot find device='nx' nor node-name='nx'"),
                ({"node": "drive0", "name": "b", "granularity": 1000},
                 "Granularity must be power of 2 and at least 512"),
                ({"node": "drive0", "name": "b", "granularity": 256},
                 "Granularity must be power of 2 and at least 512"),
                ({"node": "drive0", "name": "b", "granularity": 1 << 32},
                 "Parameter 'granularity' expects uint32_t"),
                ({"node": "drive0", "name": "x" * 1024},
                 "Bitmap name too long: " + "x" * 1024)]:
            check_eq(err(vm, "block-dirty-bitmap-add", args), want, str(args)[:60])
        for cmd in ("remove", "clear", "enable", "disable"):
            check_eq(err(vm, "block-dirty-bitmap-" + cmd,
                         {"node": "drive0", "name": "zz"}),
                     "Dirty bitmap 'zz' not found", cmd)
        check_eq(err(vm, "block-dirty-bitmap-remove",
                     {"node": "nx", "name": "zz"}), "Node 'nx' not found",
                 "remove on a missing node")
        check_eq(err(vm, "x-debug-block-dirty-bitmap-sha256",
                     {"node": "drive0", "name": "zz"}),
                 "Dirty bitmap 'zz' not found", "sha256 of a missing one")
        # 8 MiB at 64 KiB: 128 bits, two zero words (QEMU's hash of them)
        check_eq(sha(vm, "b0"), "374708fff7719dd5979ec875d56cd228"
                                "6f6d3cf7ec317a3b25632aab28ec37bb", "empty")

        # a guest write marks the recording bitmap only
        guest_write(vm, 70000 // 512 * 512, b"\x11" * 4096)
        bm = bitmaps(vm)
        check_eq(bm["b0"]["count"], 65536, "b0 after a write")
        check_eq(bm["b1"]["count"], 0, "the disabled b1")
        q.ret("block-dirty-bitmap-enable", {"node": "drive0", "name": "b1"})
        guest_write(vm, 0, b"\x22" * 1024)
        bm = bitmaps(vm)
        check_eq((bm["b0"]["count"], bm["b1"]["count"]), (2 * 65536, 1024),
                 "counts")
        check(bm["b1"]["recording"], "b1 records once enabled")

        # merge: local names and {node, name}; sizes must match
        q.ret("block-dirty-bitmap-add", {"node": "drive0", "name": "m"})
        q.ret("block-dirty-bitmap-merge", {
            "node": "drive0", "target": "m",
            "bitmaps": ["b1", {"node": "drive0", "name": "b1"}]})
        check_eq(bitmaps(vm)["m"]["count"], 65536, "m = b1 at 64 KiB")
        check_eq(err(vm, "block-dirty-bitmap-merge", {
            "node": "drive0", "target": "m", "bitmaps": ["zz"]}),
            "Dirty bitmap 'zz' not found", "merge from a missing one")
        check_eq(err(vm, "block-dirty-bitmap-merge", {
            "node": "drive0", "target": "m",
            "bitmaps": [{"node": "nx", "name": "b1"}]}),
            "Node 'nx' not found", "merge from a missing node")
        check_eq(bitmaps(vm)["m"]["count"], 65536, "a failed merge changes nothing")
        q.ret("block-dirty-bitmap-clear", {"node": "drive0", "name": "m"})
        check_eq(bitmaps(vm)["m"]["count"], 0, "cleared")
        q.ret("block-dirty-bitmap-remove", {"node": "drive0", "name": "m"})
        check("m" not in bitmaps(vm), "removed")
        # persistence needs a format that stores bitmaps
        check_eq(err(vm, "block-dirty-bitmap-add", {
            "node": "drive0", "name": "p", "persistent": True,
            "granularity": 256}),
            "Granularity must be power of 2 and at least 512", "granularity first")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_transaction(binary):
    """Bitmap actions in a transaction: all or nothing."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-bitmaps-")
    img = make_image(tmp)
    vm = start(binary, img, tmp)
    try:
        q = vm.q
        q.ret("block-dirty-bitmap-add", {"node": "drive0", "name": "a"})
        q.ret("block-dirty-bitmap-add", {"node": "drive0", "name": "d",
                                         "disabled": True})
        guest_write(vm, 0, b"\x33" * 512)
        before = bitmaps(vm)

        def act(t, **data):
            return {"type": "block-dirty-bitmap-" + t, "data": data}
        # fails at its last action: the add, clear, merge and disable
        # before it are undone
        e = err(vm, "transaction", {"actions": [
            act("add", node="drive0", name="t"),
            act("clear", node="drive0", name="a"),
            act("merge", node="drive0", target="t", bitmaps=["a"]),
            act("enable", node="drive0", name="d"),
            act("disable", node="drive0", name="a"),
            act("remove", node="drive0", name="d"),
            act("add", node="drive0", name="t")]})
        check_eq(e, "Bitmap already exists: t", "the failing action")
        check_eq(bitmaps(vm), before, "state after the aborted transaction")
        # a removed bitmap is busy for the rest of the transaction
        e = err(vm, "transaction", {"actions": [
            act("remove", node="drive0", name="d"),
            act("clear", node="drive0", name="d")]})
        check_eq(e, "Bitmap 'd' is currently in use by another operation "
                    "and cannot be used", "remove then clear")
        check_eq(bitmaps(vm), before, "after the second abort")
        # the same actions, committed: later ones see earlier ones
        q.ret("transaction", {"actions": [
            act("add", node="drive0", name="t", granularity=4096),
            act("merge", node="drive0", target="t", bitmaps=["a"]),
            act("clear", node="drive0", name="a"),
            act("enable", node="drive0", name="d"),
            act("remove", node="drive0", name="d")]})
        bm = bitmaps(vm)
        check_eq(sorted(bm), ["a", "t"], "bitmaps after the commit")
        check_eq((bm["a"]["count"], bm["t"]["count"]), (0, 65536), "counts")
        e = err(vm, "transaction", {"actions": [
            act("clear", node="drive0", name="a")],
            "properties": {"completion-mode": "grouped"}})
        check_eq(e, "Action 'block-dirty-bitmap-clear' does not support "
                    "Transaction property completion-mode = grouped",
                 "grouped")
    finally:
        quit_vm(vm)
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_qemu_to_kvmpc(binary):
    """Bitmaps QEMU 7.2 stored load in kvmpc with the same bits, and
    kvmpc-img convert --bitmaps copies them (QEMU hashes the copy)."""
    if not have_qemu():
        print("SKIP test_qemu_to_kvmpc: no qemu-img / qemu-system-x86_64")
        return
    tmp = tempfile.mkdtemp(prefix="kvmpc-bitmaps-")
    img = make_image(tmp)
    # one made by qemu-img, recording, and two by QEMU's QMP
    check(qemu_img("bitmap", "--add", "-g", "4096", img, "tool")
          .returncode == 0, "qemu-img bitmap --add")
    qemu = Qemu(tmp, img)
    try:
        qemu.ret("block-dirty-bitmap-add", node="n0", name="p512",
                 granularity=512, persistent=True)
        qemu.ret("block-dirty-bitmap-add", node="n0", name="off",
                 persistent=True, disabled=True)
        for w in ("write 0 100k", "write 5M 3", "write 8191k 1k",
                  "write 3000000 70000"):
            qemu.io(w)
        want = {n: qemu.sha(n) for n in ("tool", "p512", "off")}
    finally:
        qemu.quit()
    # the recording ones hold bits (16384 bits at 512 B: 2048 bytes)
    check(want["p512"] != hashlib.sha256(bytes(2048)).hexdigest(),
          "QEMU's p512 is not empty")
    vm = start(binary, img, tmp)
    try:
        for n, h in want.items():
            check_eq(sha(vm, n), h, "bitmap %s's hash in kvmpc" % n)
        bm = bitmaps(vm)
        check_eq({n: (b["granularity"], b["recording"], b["persistent"])
                  for n, b in bm.items()},
                 {"tool": (4096, True, True), "p512": (512, True, True),
                  "off": (65536, False, True)}, "loaded bitmaps")
        # in use on disk while kvmpc has the image open read-write
        info = json.loads(qemu_img("info", "-U", "--output=json", img).stdout)
        flags = {b["name"]: b["flags"]
                 for b in info["format-specific"]["data"]["bitmaps"]}
        check_eq(flags["tool"], ["in-use", "auto"], "flags while open")
    finally:
        quit_vm(vm)
    try:
        # kvmpc-img convert --bitmaps copies them bit for bit
        kimg = os.path.join(os.path.dirname(binary), "kvmpc-img")
        conv = os.path.join(tmp, "conv.qcow2")
        r = subprocess.run([kimg, "convert", "--bitmaps", "-O", "qcow2", img,
                            conv], capture_output=True, text=True)
        check(r.returncode == 0, "kvmpc-img convert --bitmaps: " + r.stderr)
        qemu = Qemu(tmp, conv)
        try:
            for n, h in want.items():
                check_eq(qemu.sha(n), h, "bitmap %s's hash in the copy" % n)
            node = [n for n in qemu.ret("query-named-block-nodes")
                    if n["node-name"] == "n0"][0]
            got = {b["name"]: b["recording"]
                   for b in node.get("dirty-bitmaps", [])}
            check_eq(got, {"tool": True, "p512": True, "off": False},
                     "the copy's bitmaps")
        finally:
            qemu.quit()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_kvmpc_to_qemu(binary):
    """Bitmaps kvmpc stored: qemu-img info flags, check, QEMU's hashes."""
    if not have_qemu():
        print("SKIP test_kvmpc_to_qemu: no qemu-img / qemu-system-x86_64")
        return
    tmp = tempfile.mkdtemp(prefix="kvmpc-bitmaps-")
    img = make_image(tmp)
    vm = start(binary, img, tmp)
    try:
        q = vm.q
        q.ret("block-dirty-bitmap-add", {"node": "drive0", "name": "rec",
                                         "persistent": True})
        q.ret("block-dirty-bitmap-add", {"node": "drive0", "name": "fine",
                                         "persistent": True,
                                         "granularity": 512})
        q.ret("block-dirty-bitmap-add", {"node": "drive0", "name": "gone",
                                         "persistent": True})
        q.ret("block-dirty-bitmap-add", {"node": "drive0", "name": "temp"})
        for off, n in ((0, 4096), (1 * MiB + 512, 512), (DISK - 4096, 4096)):
            guest_write(vm, off, b"\x44" * n)
        q.ret("block-dirty-bitmap-add", {"node": "drive0", "name": "off",
                                         "persistent": True,
                                         "disabled": True})
        q.ret("block-dirty-bitmap-merge", {"node": "drive0", "target": "off",
                                           "bitmaps": ["fine"]})
        q.ret("block-dirty-bitmap-remove", {"node": "drive0", "name": "gone"})
        want = {n: sha(vm, n) for n in ("rec", "fine", "off")}
    finally:
        quit_vm(vm)
    try:
        info = json.loads(qemu_img("info", "--output=json", img).stdout)
        got = [(b["name"], b["flags"], b["granularity"])
               for b in info["format-specific"]["data"]["bitmaps"]]
        # QEMU's order: new bitmaps newest first
        check_eq(got, [("off", [], 65536), ("fine", ["auto"], 512),
                       ("rec", ["auto"], 65536)], "qemu-img info bitmaps")
        r = qemu_img("check", "--output=json", img)
        rep = json.loads(r.stdout)
        check(r.returncode == 0 and not rep.get("leaks") and
              not rep.get("corruptions"), "qemu-img check: " + r.stdout)
        qemu = Qemu(tmp, img)
        try:
            for n, h in want.items():
                check_eq(qemu.sha(n), h, "bitmap %s's hash in QEMU" % n)
        finally:
            qemu.quit()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_persistent_errors(binary):
    """Persistence on qcow2 v2 and raw; readonly and inconsistent bitmaps."""
    if not have_qemu():
        print("SKIP test_persistent_errors: no qemu-img")
        return
    tmp = tempfile.mkdtemp(prefix="kvmpc-bitmaps-")
    img = make_image(tmp)
    v2 = os.path.join(tmp, "v2.qcow2")
    raw = os.path.join(tmp, "r.raw")
    qemu_img("create", "-q", "-f", "qcow2", "-o", "compat=0.10", v2, "1M")
    qemu_img("create", "-q", "-f", "raw", raw, "1M")
    check(qemu_img("bitmap", "--add", img, "ro").returncode == 0, "add")
    vm = VM(binary, [
        "-blockdev", "driver=qcow2,node-name=v2,file.driver=file,"
        "file.filename=" + v2,
        "-blockdev", "driver=raw,node-name=r0,file.driver=file,"
        "file.filename=" + raw,
        "-blockdev", "driver=qcow2,node-name=ro,read-only=on,"
        "file.driver=file,file.filename=" + img])
    try:
        check_eq(err(vm, "block-dirty-bitmap-add", {
            "node": "v2", "name": "p", "persistent": True}),
            "Can't make bitmap 'p' persistent in 'v2': Cannot store dirty "
            "bitmaps in qcow2 v2 files", "v2")
        check_eq(err(vm, "block-dirty-bitmap-add", {
            "node": "r0", "name": "p", "persistent": True}),
            "Can't store persistent bitmaps to r0: Operation not supported",
            "raw")
        check_eq(err(vm, "block-dirty-bitmap-clear", {
            "node": "ro", "name": "ro"}),
            "Bitmap 'ro' is readonly and cannot be modified", "readonly")
        check_eq(err(vm, "block-dirty-bitmap-remove", {
            "node": "ro", "name": "ro"}),
            "Bitmap 'ro' is readonly and cannot be modified", "readonly rm")
        vm.q.ret("block-dirty-bitmap-disable", {"node": "ro", "name": "ro"})
    finally:
        quit_vm(vm)
    # a bitmap left in use (a crash) loads inconsistent
    with open(img, "r+b") as f:
        hdr = f.read(4096)
        off = hdr.find(bytes.fromhex("23852875"))
        f.seek(off + 8 + 16)
        dir_off = int.from_bytes(f.read(8), "big")
        f.seek(dir_off + 12)
        flags = int.from_bytes(f.read(4), "big")
        f.seek(dir_off + 12)
        f.write((flags | 1).to_bytes(4, "big"))
    vm = start(binary, img, tmp)
    try:
        check_eq(bitmaps(vm)["ro"], {
            "name": "ro", "count": 0, "granularity": 65536,
            "recording": False, "busy": False, "persistent": True,
            "inconsistent": True}, "an in-use bitmap")
        check_eq(err(vm, "block-dirty-bitmap-clear", {
            "node": "drive0", "name": "ro"}),
            "Bitmap 'ro' is inconsistent and cannot be used", "inconsistent")
        vm.q.ret("block-dirty-bitmap-remove", {"node": "drive0",
                                               "name": "ro"})
    finally:
        quit_vm(vm)
    try:
        info = json.loads(qemu_img("info", "--output=json", img).stdout)
        check("bitmaps" not in info["format-specific"]["data"],
              "removed from the image")
        r = qemu_img("check", "--output=json", img)
        check(r.returncode == 0 and "leaks" not in json.loads(r.stdout),
              "its clusters were freed: " + r.stdout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_migration(binary):
    """Shared storage: the source stores its bitmaps (not in use) when it
    hands the image over; the destination, which opened the image before,
    reads them only then, with the same bits, and marks them in use."""
    if not have_qemu():
        print("SKIP test_migration: no qemu-img")
        return
    tmp = tempfile.mkdtemp(prefix="kvmpc-bitmaps-")
    img = make_image(tmp)
    sock = os.path.join(tmp, "mig.sock")
    src = start(binary, img, tmp)
    dst = None
    try:
        src.q.ret("block-dirty-bitmap-add", {"node": "drive0", "name": "p",
                                             "persistent": True})
        guest_write(src, 1 * MiB, b"\x55" * 4096)
        want = sha(src, "p")
        dst = start(binary, img, tmp, ["-incoming", "unix:" + sock])
        src.q.ret("migrate", {"uri": "unix:" + sock})

        def done():
            return src.q.ret("query-migrate").get("status") in (
                "completed", "failed")
        wait_for(done, what="migration")
        check_eq(src.q.ret("query-migrate")["status"], "completed",
                 "migration")
        wait_for(lambda: dst.q.ret("query-status")["status"] != "inmigrate",
                 what="destination loaded")
        check_eq(sha(dst, "p"), want, "the bitmap on the destination")
        check_eq(bitmaps(dst)["p"]["count"], 65536, "its count")
        info = json.loads(qemu_img("info", "-U", "--output=json",
                                   img).stdout)
        check_eq(info["format-specific"]["data"]["bitmaps"][0]["flags"],
                 ["in-use", "auto"], "in use by the destination")
    finally:
        quit_vm(src)
        if dst:
            quit_vm(dst)
    try:
        r = qemu_img("check", "--output=json", img)
        check(r.returncode == 0 and "leaks" not in json.loads(r.stdout),
              "qemu-img check after the migration: " + r.stdout)
        info = json.loads(qemu_img("info", "--output=json", img).stdout)
        check_eq(info["format-specific"]["data"]["bitmaps"][0]["flags"],
                 ["auto"], "stored by the destination at exit")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

@no_kvm
def test_migration_capability(binary):
    """The dirty-bitmaps capability with a block-bitmap-mapping (as
    libvirt sets it): the transient bitmaps it lists arrive under its
    names, with their bits, recording state and transform.persistent;
    a persistent one arrives through the shared image; one it does not
    list stays behind.  The mapping's checks and words are QEMU 7.2's."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-bitmaps-")
    img = make_image(tmp)
    sock = os.path.join(tmp, "mig.sock")
    drive = "file=%s,if=ide,id=drive0,format=qcow2,node-name=dn" % img
    src = VM(binary, ["-drive", drive])
    bm_enable(src)
    dst = None
    mapping = [{"node-name": "dn", "alias": "disk0", "bitmaps": [
        {"name": "t", "alias": "t-alias"},
        {"name": "off", "alias": "off"},
        {"name": "tr", "alias": "tr", "transform": {"persistent": True}},
        {"name": "p", "alias": "p"}]}]
    try:
        errors = [
            ([{"node-name": "dn", "alias": "a", "bitmaps": []},
              {"node-name": "dn", "alias": "b", "bitmaps": []}],
             "The node name 'dn' is mapped twice"),
            ([{"node-name": "dn", "alias": "a", "bitmaps": []},
              {"node-name": "x", "alias": "a", "bitmaps": []}],
             "The node alias 'a' is used twice"),
            ([{"node-name": "dn", "alias": "a", "bitmaps": [
                {"name": "x", "alias": "y"}, {"name": "x", "alias": "z"}]}],
             "The bitmap 'dn'/'x' is mapped twice"),
            ([{"node-name": "dn", "alias": "a", "bitmaps": [
                {"name": "x", "alias": "y"}, {"name": "w", "alias": "y"}]}],
             "The bitmap alias 'a'/'y' is used twice"),
            ([{"node-name": "dn", "alias": "a b", "bitmaps": []}],
             "The node alias 'a b' is not well-formed"),
        ]
        for m, want in errors:
            e = src.q.error("migrate-set-parameters",
                            {"block-bitmap-mapping": m})
            check_eq(e["desc"], "Invalid mapping given for "
                     "block-bitmap-mapping: " + want, "mapping %r" % m)
        for name, extra in (("t", {}), ("off", {"disabled": True}),
                            ("tr", {}), ("skip", {}),
                            ("p", {"persistent": True})):
            src.q.ret("block-dirty-bitmap-add",
                      dict({"node": "dn", "name": name}, **extra))
        guest_write(src, 1 * MiB, b"\x55" * 4096)
        guest_write(src, 5 * MiB, b"\x66" * 8192)
        want = {n: sha(src, n, "dn") for n in ("t", "off", "tr", "p")}
        src.q.ret("migrate-set-capabilities", {"capabilities": [
            {"capability": "dirty-bitmaps", "state": True}]})
        src.q.ret("migrate-set-parameters", {"block-bitmap-mapping": mapping})
        check_eq(src.q.ret("query-migrate-parameters")[
            "block-bitmap-mapping"], mapping, "query-migrate-parameters")
        dst = VM(binary, ["-drive", drive, "-incoming", "defer"])
        dst.q.ret("migrate-set-parameters", {"block-bitmap-mapping": [
            {"node-name": "dn", "alias": "disk0", "bitmaps": [
                {"name": "t", "alias": "t-alias"},
                {"name": "off", "alias": "off"},
                {"name": "tr", "alias": "tr"}]}]})
        dst.q.ret("migrate-incoming", {"uri": "unix:" + sock})
        wait_for(lambda: os.path.exists(sock), what="incoming socket")
        src.q.ret("migrate", {"uri": "unix:" + sock})
        wait_for(lambda: src.q.ret("query-migrate").get("status") in
                 ("completed", "failed"), what="migration")
        check_eq(src.q.ret("query-migrate")["status"], "completed",
                 "migration: %r" % src.q.ret("query-migrate"))
        wait_for(lambda: dst.q.ret("query-status")["status"] != "inmigrate",
                 what="destination loaded")
        got = bitmaps(dst)
        check_eq(sorted(got), ["off", "p", "t", "tr"], "bitmaps that came")
        for n in ("t", "off", "tr", "p"):
            check_eq(sha(dst, n, "dn"), want[n], "bits of %s" % n)
        check_eq({n: (b["recording"], b["persistent"])
                  for n, b in got.items()},
                 {"t": (True, False), "off": (False, False),
                  "tr": (True, True), "p": (True, True)},
                 "recording and persistence")
        check_eq(got["t"]["count"], 128 * 1024, "t's count")
    finally:
        quit_vm(src)
        if dst:
            quit_vm(dst)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_commands, test_transaction, test_qemu_to_kvmpc,
               test_kvmpc_to_qemu, test_persistent_errors, test_migration,
               test_migration_capability])
