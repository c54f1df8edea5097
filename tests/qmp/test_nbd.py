#!/usr/bin/env python3
"""NBD under -accel qtest (no /dev/kvm needed), with real peers
(docs/block.md "NBD"):

- kvmpc serves (nbd-server-start, block-export-add, nbd-server-add) and
  Debian's qemu-img / qemu-io / qemu-nbd consume: info, list, writes,
  compare and map (base:allocation) against the image, a read-only export
  refusing writes, export removal and its event;
- a raw Python client sends what a hostile peer would (out-of-range,
  oversized, unknown, bad magic, huge options) and kvmpc answers with NBD
  errors or drops it, and still answers QMP;
- kvmpc consumes a qemu-nbd export (blockdev-add driver=nbd, -drive with
  an NBD URI and the legacy spelling, qcow2 over nbd), the data checked
  through kvmpc's own export, and the server killed mid-way;
- reconnection: I/O across a qemu-nbd restart (reconnect-delay), giving
  up after the delay, an export that changed size, open-timeout, a
  flaky Python server (a dropped read resent, spaced attempts), and
  blockdev-del / quit while reconnecting.

    test_nbd.py KVMPC [TEST...]
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (BASE_ARGS, QMP, TestFailure, check, check_eq,  # noqa
                    no_kvm, run_tests, start_qmp_vm, wait_for)

MiB = 1 << 20
TOOLS = ("qemu-img", "qemu-io", "qemu-nbd")

NBD_OPTS_MAGIC = 0x49484156454F5054
NBD_REP_MAGIC = 0x3e889045565a9
NBD_REQUEST_MAGIC = 0x25609513
NBD_SIMPLE_REPLY_MAGIC = 0x67446698
NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef
NBD_OPT_GO, NBD_OPT_STRUCTURED_REPLY = 7, 8
NBD_EPERM, NBD_EINVAL = 1, 22


def need_tools():
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        print("SKIP: %s not installed (Debian's qemu-utils)" %
              ", ".join(missing))
        sys.exit(77)


def run(*args, ok=True):
    p = subprocess.run(list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    if ok:
        check(p.returncode == 0, "%s failed: %s" % (" ".join(args), out))
    return p.returncode, out


def nbd_uri(sock, name):
    return "nbd+unix:///%s?socket=%s" % (name, sock)


def data_extents(map_json):
    """The data ranges of a `qemu-img map --output=json`, merged."""
    out = []
    for e in json.loads(map_json):
        if not e["data"]:
            continue
        if out and out[-1][1] == e["start"]:
            out[-1][1] += e["length"]
        else:
            out.append([e["start"], e["start"] + e["length"]])
    return out


class Server:
    """kvmpc under qtest with QMP, and its NBD server on a unix socket."""

    def __init__(self, binary, extra=()):
        self.tmp = tempfile.mkdtemp(prefix="kvmpc-nbd-")
        self.vm, paths = start_qmp_vm(binary, extra=["-accel", "qtest"] +
                                      list(extra), tmpdir=self.tmp)
        self.q = QMP(paths[0])
        self.sock = os.path.join(self.tmp, "nbd.sock")

    def start_nbd(self):
        self.q.ret("nbd-server-start", {"addr": {"type": "unix", "data": {
            "path": self.sock}}})

    def close(self):
        self.q.close()
        self.vm.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---- a raw client -------------------------------------------------------

class RawClient:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        hello = self.recv(18)
        check(hello[:8] == b"NBDMAGIC", "greeting")
        check(struct.unpack(">Q", hello[8:16])[0] == NBD_OPTS_MAGIC, "IHAVEOPT")
        self.s.sendall(struct.pack(">I", 3))    # fixed newstyle, no zeroes
        self.handle = 0

    def recv(self, n):
        b = b""
        while len(b) < n:
            d = self.s.recv(n - len(b))
            if not d:
                raise EOFError
            b += d
        return b

    def option(self, opt, data=b""):
        self.s.sendall(struct.pack(">QII", NBD_OPTS_MAGIC, opt, len(data)) +
                       data)

    def option_reply(self):
        magic, opt, rtype, length = struct.unpack(">QIII", self.recv(20))
        check_eq(magic, NBD_REP_MAGIC, "option reply magic")
        return opt, rtype, self.recv(length)

    def go(self, name, structured=True):
        if structured:
            self.option(NBD_OPT_STRUCTURED_REPLY)
            check_eq(self.option_reply()[1], 1, "structured reply ACK")
        n = name.encode()
        self.option(NBD_OPT_GO, struct.pack(">I", len(n)) + n +
                    struct.pack(">H", 0))
        size = None
        while True:
            _, rtype, data = self.option_reply()
            if rtype == 3 and struct.unpack(">H", data[:2])[0] == 0:
                size = struct.unpack(">Q", data[2:10])[0]
            if rtype == 1:
                return size
            check(rtype == 3, "GO failed: %x %r" % (rtype, data))

    def request(self, cmd, offset, length, flags=0, payload=b"",
                magic=NBD_REQUEST_MAGIC):
        self.handle += 1
        self.s.sendall(struct.pack(">IHHQQI", magic, flags, cmd, self.handle,
                                   offset, length) + payload)
        return self.handle

    def reply_error(self):
        """The error of a structured or simple reply (data skipped)."""
        magic = struct.unpack(">I", self.recv(4))[0]
        if magic == NBD_SIMPLE_REPLY_MAGIC:
            err, _ = struct.unpack(">IQ", self.recv(12))
            return err
        check_eq(magic, NBD_STRUCTURED_REPLY_MAGIC, "reply magic")
        flags, rtype, _, length = struct.unpack(">HHQI", self.recv(16))
        data = self.recv(length)
        check(flags & 1, "one chunk")
        return struct.unpack(">I", data[:4])[0] if rtype & 0x8000 else 0

    def closed(self, timeout=10):
        """True once the server has closed its end; a server that still
        holds the connection after @timeout seconds has not."""
        self.s.settimeout(timeout)
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


# ---- kvmpc serves -------------------------------------------------------

@no_kvm
def test_serve_to_qemu_tools(binary):
    need_tools()
    tmp = tempfile.mkdtemp(prefix="kvmpc-nbd-img-")
    raw = os.path.join(tmp, "rw.raw")
    qc = os.path.join(tmp, "ro.qcow2")
    run("qemu-img", "create", "-f", "raw", raw, "4M")
    run("qemu-img", "create", "-f", "qcow2", qc, "4M")
    run("qemu-img", "create", "-f", "raw", os.path.join(tmp, "drv.raw"),
        "1M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 1M 128k",
        "-c", "write -P 0x12 3M 64k", qc)
    s = Server(binary, ["-blockdev", "driver=file,filename=%s,node-name=d0"
                        % raw,
                        "-blockdev", "driver=qcow2,file.driver=file,"
                        "file.filename=%s,node-name=d1,read-only=on" % qc,
                        "-drive", "if=none,id=drv0,format=raw,file=" +
                        os.path.join(tmp, "drv.raw")])
    try:
        err = s.q.error("block-export-add", {"type": "nbd", "id": "e0",
                                             "node-name": "d0"})
        check_eq(err["desc"], "NBD server not running", "no server")
        err = s.q.error("nbd-server-start", {"addr": {"type": "unix", "data":
                        {"path": s.sock}}, "tls-creds": "t0"})
        check("TLS" in err["desc"], err["desc"])
        s.start_nbd()
        err = s.q.error("nbd-server-start", {"addr": {"type": "unix", "data":
                        {"path": s.sock}}})
        check_eq(err["desc"], "NBD server already running", "twice")
        s.q.ret("block-export-add", {"type": "nbd", "id": "e0",
                                     "node-name": "d0", "name": "rw",
                                     "writable": True})
        # nbd-server-add exports a read-only node read-only, quietly
        s.q.ret("nbd-server-add", {"device": "d1", "name": "q",
                                   "description": "the qcow2 one",
                                   "writable": True})
        for args, want in [
                ({"type": "nbd", "id": "e0", "node-name": "d0"},
                 "Block export id 'e0' is already in use"),
                ({"type": "nbd", "id": "e9", "node-name": "d0",
                  "name": "rw"}, "NBD server already has export named 'rw'"),
                ({"type": "nbd", "id": "e9", "node-name": "nope"},
                 "Cannot find device='' nor node-name='nope'"),
                ({"type": "nbd", "id": "e9", "node-name": "d1",
                  "writable": True},
                 "Cannot export read-only node as writable")]:
            check_eq(s.q.error("block-export-add", args)["desc"], want,
                     "block-export-add error")
        check_eq(s.q.error("nbd-server-add", {"device": "d1", "name": "x",
                                              "bitmap": "b0"})["desc"],
                 "Bitmap 'b0' is not found", "bitmap")
        check_eq(s.q.error("nbd-server-add", {"device": "nope"})["desc"],
                 "Cannot find device='nope' nor node-name='nope'",
                 "nbd-server-add of nothing")
        check_eq(s.q.ret("query-block-exports"),
                 [{"id": "e0", "type": "nbd", "node-name": "d0",
                   "shutting-down": False},
                  {"id": "q", "type": "nbd", "node-name": "d1",
                   "shutting-down": False}], "query-block-exports")

        _, out = run("qemu-nbd", "-L", "-k", s.sock)
        check("export: 'rw'" in out and "export: 'q'" in out and
              "the qcow2 one" in out and "base:allocation" in out, out)
        _, out = run("qemu-img", "info", "--output=json",
                     nbd_uri(s.sock, "q"))
        check_eq(json.loads(out)["virtual-size"], 4 * MiB, "size")

        rw = nbd_uri(s.sock, "rw")
        run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 64k",
            "-c", "write -z 1M 64k", "-c", "write -P 0x5b 2M 4k",
            "-c", "read -P 0x5a 0 64k", rw)
        run("qemu-img", "create", "-f", "raw", os.path.join(tmp, "want.raw"),
            "4M")
        run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 64k",
            "-c", "write -P 0x5b 2M 4k", os.path.join(tmp, "want.raw"))
        run("qemu-img", "compare", "-f", "raw", "-F", "raw", rw,
            os.path.join(tmp, "want.raw"))
        run("qemu-img", "compare", "-U", "-f", "raw", "-F", "raw", rw, raw)

        # base:allocation: the same data ranges as the image says
        q = nbd_uri(s.sock, "q")
        _, m_nbd = run("qemu-img", "map", "--output=json", "-f", "raw", q)
        _, m_img = run("qemu-img", "map", "-U", "--output=json", qc)
        check_eq(data_extents(m_nbd), data_extents(m_img), "map")
        check_eq(data_extents(m_nbd), [[1 * MiB, 1 * MiB + 128 * 1024],
                                       [3 * MiB, 3 * MiB + 64 * 1024]],
                 "data extents")
        run("qemu-img", "compare", "-U", "-f", "raw", "-F", "qcow2", q, qc)

        # read-only: qemu-io cannot write
        rc, out = run("qemu-io", "-f", "raw", "-c", "write 0 4k", q, ok=False)
        check(rc != 0, "write to a read-only export: %s" % out)

        # an exported node is in use; removal sends BLOCK_EXPORT_DELETED
        check_eq(s.q.error("blockdev-del", {"node-name": "d0"})["desc"],
                 "Node d0 is in use", "blockdev-del")
        check_eq(s.q.error("block-export-del", {"id": "zz"})["desc"],
                 "Export 'zz' is not found", "del unknown")
        c = RawClient(s.sock)
        c.go("rw")
        check_eq(s.q.error("block-export-del", {"id": "e0"})["desc"],
                 "export 'e0' still in use", "safe removal")
        s.q.ret("block-export-del", {"id": "e0", "mode": "hard"})
        check_eq(s.q.wait_event("BLOCK_EXPORT_DELETED")["data"],
                 {"id": "e0"}, "event")
        check(c.closed(), "client dropped by hard removal")
        s.q.ret("blockdev-del", {"node-name": "d0"})
        s.q.ret("nbd-server-remove", {"name": "q"})
        s.q.wait_event("BLOCK_EXPORT_DELETED")
        check_eq(s.q.ret("query-block-exports"), [], "no exports")
        s.q.ret("nbd-server-stop")
        check_eq(s.q.error("nbd-server-stop")["desc"],
                 "NBD server not running", "stopped")

        # HMP, QEMU's forms: -a exports every drive with a medium
        def hmp(line):
            return s.q.ret("human-monitor-command", {"command-line": line})
        check_eq(hmp("nbd_server_start -a -w unix:" + s.sock), "", "hmp start")
        check_eq(hmp("nbd_server_start unix:" + s.sock),
                 "Error: NBD server already running\r\n", "hmp twice")
        check_eq([e["id"] for e in s.q.ret("query-block-exports")],
                 ["drv0"], "-a exported the drive")
        check_eq(hmp("nbd_server_add d1 q"), "", "hmp add")
        check("Cannot find device='zz'" in hmp("nbd_server_add zz"), "zz")
        check("block device name expected" in hmp("nbd_server_add"), "usage")
        run("qemu-io", "-f", "raw", "-c", "write -P 0x66 0 4k",
            "-c", "read -P 0x66 0 4k", nbd_uri(s.sock, "drv0"))
        check_eq(hmp("nbd_server_remove -f q"), "", "hmp remove")
        check_eq(hmp("nbd_server_stop"), "", "hmp stop")
        check_eq(hmp("nbd_server_stop"),
                 "Error: NBD server not running\r\n", "hmp stop twice")
    finally:
        s.close()
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_hostile_client(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-nbd-img-")
    img = os.path.join(tmp, "d.raw")
    with open(img, "wb") as f:
        f.truncate(1 * MiB)
    s = Server(binary, ["-blockdev", "driver=file,filename=%s,node-name=d0"
                        % img])
    try:
        s.start_nbd()
        s.q.ret("block-export-add", {"type": "nbd", "id": "ro",
                                     "node-name": "d0", "name": "ro"})
        s.q.ret("block-export-add", {"type": "nbd", "id": "rw",
                                     "node-name": "d0", "name": "rw",
                                     "writable": True})
        # a client that never finishes its handshake blocks nobody
        idle = RawClient(s.sock)

        c = RawClient(s.sock)
        check_eq(c.go("ro"), 1 * MiB, "export size")
        for cmd, off, length, flags, want in [
                (0, 1 * MiB - 512, 1024, 0, NBD_EINVAL),    # past the end
                (0, 2 ** 64 - 512, 1024, 0, NBD_EINVAL),    # wraps around
                (0, 0, 32 * MiB + 1, 0, NBD_EINVAL),        # too long
                (99, 0, 512, 0, NBD_EINVAL),                # unknown command
                (0, 0, 512, 0x100, NBD_EINVAL),             # unknown flag
                (7, 0, 512, 0, NBD_EINVAL),                 # no meta context
                (4, 0, 512, 0, NBD_EPERM),                  # trim, read-only
                (6, 0, 512, 0, NBD_EPERM)]:                 # write zeroes
            c.request(cmd, off, length, flags)
            check_eq(c.reply_error(), want, "error for cmd %d" % cmd)
        c.request(1, 0, 512, payload=b"x" * 512)            # write, read-only
        check_eq(c.reply_error(), NBD_EPERM, "write to read-only")
        c.request(0, 0, 4096)
        check_eq(c.reply_error(), 0, "a good read still works")
        c.request(0, 0, 512, magic=0x12345678)
        check(c.closed(), "bad request magic drops the client")

        c = RawClient(s.sock)
        c.go("rw", structured=False)
        c.request(1, 0, 64 * MiB)       # a write too long to take
        check_eq(c.reply_error(), NBD_EINVAL, "oversized write")
        check(c.closed(), "oversized write drops the client")

        c = RawClient(s.sock)
        c.option(3, b"x")               # NBD_OPT_LIST takes no data
        check_eq(c.option_reply()[1], 0x80000003, "ERR_INVALID")
        c.option(12345)
        check_eq(c.option_reply()[1], 0x80000001, "ERR_UNSUP")
        c.s.sendall(struct.pack(">QII", NBD_OPTS_MAGIC, 7, 1 << 30))
        check(c.closed(), "huge option drops the client")

        # a length of 0xffffffff queued behind another option in one
        # packet (a 32-bit header+length sum wrapped to 15 once, and the
        # export name was read 4 GiB long)
        c = RawClient(s.sock)
        c.s.sendall(struct.pack(">QII", NBD_OPTS_MAGIC, 12345, 0) +
                    struct.pack(">QII", NBD_OPTS_MAGIC, 1, 0xffffffff) +
                    b"\xff" * 64)
        # at once, not when the 10 s handshake timer fires
        check(c.closed(timeout=3), "option of 4 GiB drops the client")

        c = RawClient(s.sock)
        c.s.sendall(struct.pack(">QII", 0x1122334455667788, 7, 0))
        check(c.closed(), "bad option magic drops the client")
        idle.close()
        check_eq(len(s.q.ret("query-block-exports")), 2, "QMP still answers")
    finally:
        s.close()
        shutil.rmtree(tmp, ignore_errors=True)


# ---- kvmpc consumes -----------------------------------------------------

class QemuNbd:
    def __init__(self, tmp, image, fmt, name, port=None, read_only=False):
        self.sock = os.path.join(tmp, "qemu-nbd.sock")
        self.pidfile = os.path.join(tmp, "qemu-nbd.pid")
        where = (["-b", "127.0.0.1", "-p", str(port)] if port
                 else ["-k", self.sock])
        run("qemu-nbd", "-t", "-e", "8", "--fork", "--pid-file", self.pidfile,
            *where, *(["-r"] if read_only else []), "-f", fmt, "-x", name,
            image)
        with open(self.pidfile) as f:
            self.pid = int(f.read())

    def kill(self):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            wait_for(lambda: not os.path.exists("/proc/%d" % self.pid) or
                     open("/proc/%d/stat" % self.pid).read().split()[2]
                     == "Z", what="qemu-nbd to die")
            self.pid = 0


@no_kvm
def test_client_of_qemu_nbd(binary):
    need_tools()
    tmp = tempfile.mkdtemp(prefix="kvmpc-nbd-img-")
    qc = os.path.join(tmp, "b.qcow2")
    run("qemu-img", "create", "-f", "qcow2", qc, "4M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 0x22 1M 64k", qc)
    # An NBD export cannot grow (as in QEMU): room for new clusters
    os.truncate(qc, 8 * MiB)
    # qemu-nbd serves the qcow2 file's bytes (raw): kvmpc's qcow2 driver
    # runs over the NBD node
    qn = QemuNbd(tmp, qc, "raw", "exp")
    uri = nbd_uri(qn.sock, "exp")
    s = None
    try:
        s = Server(binary, ["-drive", "if=none,id=drv0,format=qcow2,"
                            "file=" + uri,
                            "-drive", "if=none,id=drv1,format=raw,"
                            "readonly=on,file=nbd:unix:%s:exportname=exp"
                            % qn.sock])
        server = {"type": "unix", "path": qn.sock}
        for args, want in [
                ({"server": {"type": "inet", "host": "127.0.0.1"}},
                 "Parameter 'server.port' is missing"),
                ({"server": {"type": "unix", "path": qn.sock},
                  "export": "nope"},
                 "export 'nope' not present"),
                ({"server": server, "export": "exp", "reconnect-delay": -1},
                 "'reconnect-delay' expects uint32_t"),
                ({"server": server, "filename": uri},
                 "'filename' cannot be given with 'server'"),
                ({"server": {"type": "unix", "path": tmp + "/none"}},
                 "Failed to connect to")]:
            args.update({"driver": "nbd", "node-name": "bad"})
            err = s.q.error("blockdev-add", args)["desc"]
            check(want in err, "%r not in %r" % (want, err))
        s.q.ret("blockdev-add", {"driver": "nbd", "node-name": "n0",
                                 "server": server, "export": "exp"})
        s.q.ret("blockdev-add", {"driver": "qcow2", "node-name": "q0",
                                 "file": "n0"})
        s.start_nbd()
        s.q.ret("block-export-add", {"type": "nbd", "id": "viaq", "name": "viaq",
                                     "node-name": "q0", "writable": True})
        s.q.ret("nbd-server-add", {"device": "drv0", "writable": True})
        s.q.ret("nbd-server-add", {"device": "drv1"})
        mine = nbd_uri(s.sock, "viaq")
        run("qemu-io", "-f", "raw", "-c", "read -P 0x22 1M 64k",
            "-c", "write -P 0x33 0 4k", mine)
        run("qemu-io", "-f", "raw", "-c", "read -P 0x22 1M 64k",
            "-c", "read -P 0x33 0 4k", nbd_uri(s.sock, "drv0"))
        # -drive nbd:unix:...: the raw bytes, i.e. the qcow2 header
        _, out = run("qemu-io", "-r", "-f", "raw", "-c", "read -v 0 4",
                     nbd_uri(s.sock, "drv1"))
        check("QFI" in out, out)
        # what kvmpc wrote is in the image (through qemu-nbd)
        run("qemu-io", "-r", "-U", "-f", "qcow2", "-c", "read -P 0x33 0 4k",
            "-c", "read -P 0x22 1M 64k", qc)

        # the server goes away: requests fail, kvmpc stays up
        qn.kill()
        rc, out = run("qemu-io", "-r", "-f", "raw", "-c", "read 2M 64k",
                      nbd_uri(s.sock, "drv1"), ok=False)
        check("Input/output error" in out,
              "read through a dead NBD server: %s" % out)
        s.q.ret("query-block-exports")
        s.q.ret("nbd-server-stop")
        s.q.ret("blockdev-del", {"node-name": "q0"})
        s.q.ret("blockdev-del", {"node-name": "n0"})
        check(s.vm.alive(), "kvmpc still runs")
    finally:
        qn.kill()
        if s:
            s.close()
        shutil.rmtree(tmp, ignore_errors=True)


# ---- a hostile server ----------------------------------------------------

class HostileServer:
    """Speaks the handshake (or breaks it), answers block status, then
    answers the first read with what @reply(request bytes) returns, and
    closes."""

    SIZE = 1 * MiB

    def __init__(self, path, reply=None, greeting=None, go_reply=None):
        self.path = path
        self.reply = reply
        self.greeting = greeting
        self.go_reply = go_reply
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(path)
        self.ls.listen(4)
        self.ls.settimeout(20)
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def recv(self, s, n):
        b = b""
        while len(b) < n:
            d = s.recv(n - len(b))
            if not d:
                raise EOFError
            b += d
        return b

    def opt_reply(self, s, opt, rtype, data=b""):
        s.sendall(struct.pack(">QIII", NBD_REP_MAGIC, opt, rtype, len(data)) +
                  data)

    def serve(self):
        try:
            s, _ = self.ls.accept()
        except OSError:
            return
        try:
            self.conversation(s)
        except (EOFError, OSError):
            pass
        finally:
            s.close()

    def conversation(self, s):
        s.settimeout(20)
        if self.greeting is not None:
            s.sendall(self.greeting)
            return
        s.sendall(b"NBDMAGIC" + struct.pack(">QH", NBD_OPTS_MAGIC, 3))
        self.recv(s, 4)
        while True:
            _, opt, length = struct.unpack(">QII", self.recv(s, 16))
            self.recv(s, length)
            if opt == 10:           # SET_META_CONTEXT: base:allocation = 1
                self.opt_reply(s, opt, 4, struct.pack(">I", 1) +
                               b"base:allocation")
                self.opt_reply(s, opt, 1)
            elif opt == 7 and self.go_reply is not None:
                self.opt_reply(s, opt, *self.go_reply)
                if self.go_reply[0] != 0x80000001:
                    return
            elif opt == 1:          # EXPORT_NAME (after GO was refused)
                s.sendall(struct.pack(">QH", self.SIZE, 1 | 4))
                break
            elif opt == 7:
                self.opt_reply(s, opt, 3, struct.pack(">HQH", 0, self.SIZE,
                                                      1 | 4))
                self.opt_reply(s, opt, 1)
                break
            else:
                self.opt_reply(s, opt, 1)
        while True:
            hdr = self.recv(s, 28)
            cmd, length = struct.unpack(">H", hdr[6:8])[0], \
                struct.unpack(">I", hdr[24:28])[0]
            if cmd == 7:            # block status: all data, truthfully
                s.sendall(chunk(handle_of(hdr), 5, struct.pack(
                    ">III", 1, length, 0)))
                continue
            if cmd == 0 and self.reply is None:     # a good server
                s.sendall(struct.pack(">IIQ", NBD_SIMPLE_REPLY_MAGIC, 0,
                                      handle_of(hdr)) + b"\0" * length)
                continue
            if cmd == 0:            # the first read gets the bad answer
                s.sendall(self.reply(hdr))
                break
            if cmd == 2:
                return
            s.sendall(struct.pack(">IIQ", NBD_SIMPLE_REPLY_MAGIC, 0,
                                  handle_of(hdr)))
        time.sleep(0.05)

    def close(self):
        self.ls.close()
        self.t.join(5)


def chunk(handle, rtype, payload, flags=1):
    return struct.pack(">IHHQI", NBD_STRUCTURED_REPLY_MAGIC, flags, rtype,
                       handle, len(payload)) + payload


def handle_of(hdr):
    return struct.unpack(">Q", hdr[8:16])[0]


@no_kvm
def test_hostile_server(binary):
    """kvmpc's client against a server that breaks the protocol: every
    case ends in one error line and a clean exit of kvmpc-img; and an old
    server without NBD_OPT_GO gets NBD_OPT_EXPORT_NAME."""
    img = os.path.join(os.path.dirname(binary), "kvmpc-img")
    if not os.path.exists(img):
        print("SKIP test_hostile_server: no kvmpc-img next to kvmpc")
        return
    tmp = tempfile.mkdtemp(prefix="kvmpc-nbd-srv-")
    cases = [
        ("bad reply magic", dict(reply=lambda h: b"\x12\x34\x56\x78" +
                                 b"\0" * 12), "bad reply magic"),
        ("unknown handle", dict(reply=lambda h: struct.pack(
            ">IIQ", NBD_SIMPLE_REPLY_MAGIC, 0, 0xdead)),
         "reply to no request"),
        ("data outside the request", dict(reply=lambda h: chunk(
            handle_of(h), 1, struct.pack(">Q", 1 << 40) + b"x" * 16)),
         "malformed structured reply"),
        ("chunk longer than its data", dict(reply=lambda h: chunk(
            handle_of(h), 1, h[16:24] + b"x" * struct.unpack(
                ">I", h[24:28])[0])[:40]), "closed the connection"),
        ("chunk longer than the request", dict(reply=lambda h: chunk(
            handle_of(h), 1, h[16:24])[:16] + struct.pack(">I", 0x7fffffff)),
         "malformed structured reply"),
        ("error chunk with a long message", dict(reply=lambda h: chunk(
            handle_of(h), 0x8001, struct.pack(">IH", 5, 999) + b"e")),
         "malformed structured reply"),
        ("error reply", dict(reply=lambda h: chunk(
            handle_of(h), 0x8001, struct.pack(">IH", 28, 4) + b"full")),
         "full"),
        ("server hangs up", dict(reply=lambda h: b""),
         "closed the connection"),
        ("not NBD", dict(greeting=b"HTTP/1.1 400 Bad Request\r\n\r\n"),
         "not an NBD server"),
        ("oldstyle", dict(greeting=b"NBDMAGIC" + struct.pack(
            ">Q", 0x00420281861253) + b"\0" * 136), "old-style"),
        ("GO refused", dict(go_reply=(0x80000006, b"no such thing")),
         "server reported: no such thing"),
        ("GO without size", dict(go_reply=(1, b"")),
         "did not give the export's size"),
        ("an old server: GO unknown, EXPORT_NAME works",
         dict(go_reply=(0x80000001, b""), reply=None), None),
    ]
    try:
        for i, (what, kw, want) in enumerate(cases):
            path = os.path.join(tmp, "h%d.sock" % i)
            srv = HostileServer(path, **kw)
            try:
                p = subprocess.run(
                    [img, "convert", "-f", "raw", "-O", "raw",
                     nbd_uri(path, "x"), os.path.join(tmp, "out.raw")],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    timeout=60)
            finally:
                srv.close()
            out = p.stdout.decode(errors="replace")
            if want is None:
                check(p.returncode == 0, "%s: %s" % (what, out))
                check_eq(os.path.getsize(os.path.join(tmp, "out.raw")),
                         HostileServer.SIZE, "converted size")
                continue
            check(p.returncode == 1, "%s: exit %d: %s" % (what, p.returncode,
                                                         out))
            check(want in out, "%s: %r not in %r" % (what, want, out))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- reconnection (reconnect-delay, open-timeout) -------------------------

def qemu_io_bg(uri, *cmds):
    """qemu-io running @cmds on @uri, in the background."""
    args = ["qemu-io", "-f", "raw"]
    for c in cmds:
        args += ["-c", c]
    return subprocess.Popen(args + [uri], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def finish(p, what, timeout=20):
    """(exit status, output) of a background qemu-io."""
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise TestFailure("%s: still running after %d s" % (what, timeout))
    return p.returncode, out.decode(errors="replace")


def timed(fn, *args):
    t = time.time()
    r = fn(*args)
    return r, time.time() - t


def export_node(s, node, name):
    s.q.ret("block-export-add", {"type": "nbd", "id": name, "name": name,
                                 "node-name": node, "writable": True})
    return nbd_uri(s.sock, name)


def unexport(s, name):
    s.q.ret("block-export-del", {"id": name, "mode": "hard"})
    s.q.wait_event("BLOCK_EXPORT_DELETED")


def raw_image(tmp, size=4 * MiB):
    img = os.path.join(tmp, "a.raw")
    run("qemu-img", "create", "-f", "raw", img, str(size))
    run("qemu-io", "-f", "raw", "-c", "write -P 0x22 0 64k", img)
    return img


@no_kvm
def test_reconnect(binary):
    """reconnect-delay=10: I/O issued while qemu-nbd is gone waits and
    completes once it is back on the same socket; an export that comes
    back with another size is refused for good (requests fail at once)."""
    need_tools()
    tmp = tempfile.mkdtemp(prefix="kvmpc-nbd-rc-")
    img = raw_image(tmp)
    # -drive takes the keys as file.KEY (a protocol that has none refuses)
    p = subprocess.run([binary] + BASE_ARGS + [
        "-accel", "qtest", "-drive", "if=none,id=x,format=raw,file=%s,"
        "file.reconnect-delay=1" % img], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=30)
    out = p.stdout.decode(errors="replace")
    check(p.returncode != 0 and "takes no 'file.reconnect-delay'" in out,
          out)
    qn = QemuNbd(tmp, img, "raw", "exp")
    s = None
    try:
        s = Server(binary, ["-drive", "if=none,id=d0,format=raw,file=%s,"
                            "file.reconnect-delay=10" %
                            nbd_uri(qn.sock, "exp")])
        s.q.ret("blockdev-add", {"driver": "nbd", "node-name": "n0",
                                 "server": {"type": "unix", "path": qn.sock},
                                 "export": "exp", "reconnect-delay": 10})
        s.start_nbd()
        mine = export_node(s, "n0", "e0")
        s.q.ret("nbd-server-add", {"device": "d0", "writable": True})
        drive = nbd_uri(s.sock, "d0")
        run("qemu-io", "-f", "raw", "-c", "read -P 0x22 0 64k", mine)
        run("qemu-io", "-f", "raw", "-c", "read -P 0x22 0 64k", drive)

        qn.kill()
        p = qemu_io_bg(mine, "read -P 0x22 0 64k", "write -P 0x44 64k 4k")
        pd = qemu_io_bg(drive, "read -P 0x22 0 64k", "write -P 0x55 1M 4k")
        time.sleep(0.5)
        check(p.poll() is None and pd.poll() is None,
              "I/O waits while the server is away: %s" %
              ([finish(x, "qemu-io")[1] for x in (p, pd)
                if x.poll() is not None]))
        qn = QemuNbd(tmp, img, "raw", "exp")
        for x in (p, pd):
            rc, out = finish(x, "I/O across the outage")
            check(rc == 0 and "error" not in out.lower(), out)
        run("qemu-io", "-r", "-U", "-f", "raw", "-c", "read -P 0x44 64k 4k",
            "-c", "read -P 0x55 1M 4k", img)
        run("qemu-io", "-f", "raw", "-c", "read -P 0x44 64k 4k", mine)

        # the export comes back bigger: not the same disk, no reconnection
        qn.kill()
        os.truncate(img, 8 * MiB)
        qn = QemuNbd(tmp, img, "raw", "exp")
        (rc, out), took = timed(lambda: run(
            "qemu-io", "-f", "raw", "-c", "read 0 4k", mine, ok=False))
        check(rc != 0 and "Input/output error" in out, out)
        check(took < 9, "failed once the new size was seen (%.1f s)" % took)
        (rc, out), took = timed(lambda: run(
            "qemu-io", "-f", "raw", "-c", "read 0 4k", mine, ok=False))
        check(rc != 0 and took < 5, "and later requests at once: %s" % out)
        # for good: the right size back does not reconnect the node
        qn.kill()
        os.truncate(img, 4 * MiB)
        qn = QemuNbd(tmp, img, "raw", "exp")
        time.sleep(0.3)
        rc, out = run("qemu-io", "-f", "raw", "-c", "read 0 4k", mine,
                      ok=False)
        check(rc != 0, "still disconnected: %s" % out)
        unexport(s, "e0")
        s.q.ret("blockdev-del", {"node-name": "n0"})
        check(s.vm.alive(), "kvmpc still runs")
    finally:
        qn.kill()
        if s:
            s.close()
        shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_reconnect_gives_up(binary):
    """reconnect-delay=1 with the server gone for good: requests fail after
    about a second (later ones at once), blockdev-del and quit during the
    reconnection attempts end promptly; an export that comes back
    read-only is refused to a writable node, taken by a read-only one."""
    need_tools()
    tmp = tempfile.mkdtemp(prefix="kvmpc-nbd-rd-")
    img = raw_image(tmp)
    qn = QemuNbd(tmp, img, "raw", "exp")
    s = None
    try:
        s = Server(binary)
        server = {"type": "unix", "path": qn.sock}
        s.q.ret("blockdev-add", {"driver": "nbd", "node-name": "n1",
                                 "server": server, "export": "exp",
                                 "reconnect-delay": 1})
        s.q.ret("blockdev-add", {"driver": "nbd", "node-name": "n2",
                                 "server": server, "export": "exp",
                                 "reconnect-delay": 30})
        s.q.ret("blockdev-add", {"driver": "nbd", "node-name": "n3",
                                 "server": server, "export": "exp",
                                 "reconnect-delay": 30, "read-only": True})
        s.start_nbd()
        mine = export_node(s, "n1", "e1")
        run("qemu-io", "-f", "raw", "-c", "read -P 0x22 0 64k", mine)
        qn.kill()
        p = qemu_io_bg(mine, "read 0 4k")
        rc, out = finish(p, "a read with the server gone")
        check(rc != 0 and "Input/output error" in out, out)
        (rc, out), took = timed(lambda: run(
            "qemu-io", "-f", "raw", "-c", "read 0 4k", mine, ok=False))
        check(rc != 0 and took < 5, "later requests fail at once: %s" % out)
        unexport(s, "e1")
        _, took = timed(s.q.ret, "blockdev-del", {"node-name": "n1"})
        check(took < 5, "blockdev-del while reconnecting took %.1f s" % took)

        # back read-only: the writable n2 fails (well before its 30 s), the
        # read-only n3 reads
        qn = QemuNbd(tmp, img, "raw", "exp", read_only=True)
        (rc, out), took = timed(lambda: run(
            "qemu-io", "-f", "raw", "-c", "read 0 4k", export_node(
                s, "n2", "e2"), ok=False))
        check(rc != 0 and "Input/output error" in out and took < 20,
              "writable node, read-only export (%.1f s): %s" % (took, out))
        s.q.ret("nbd-server-add", {"device": "n3"})
        run("qemu-io", "-r", "-f", "raw", "-c", "read -P 0x22 0 64k",
            nbd_uri(s.sock, "n3"))
        # n3 trying again (30 s) when quit comes: it ends at once, cleanly
        qn.kill()
        time.sleep(0.1)
        s.q.cmd("quit")
        _, took = timed(s.vm.wait, 10)
        check(took < 5, "quit while reconnecting took %.1f s" % took)
        report = s.vm.sanitizer_report()
        check(report is None, "sanitizer: %s" % report)
    finally:
        qn.kill()
        if s:
            s.close()
        shutil.rmtree(tmp, ignore_errors=True)


def free_tcp_port():
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", 0))
        return ls.getsockname()[1]


@no_kvm
def test_open_timeout(binary):
    """open-timeout=10 waits for a server (TCP) that starts half a second
    later; open-timeout=1 without a server fails after retrying."""
    need_tools()
    tmp = tempfile.mkdtemp(prefix="kvmpc-nbd-ot-")
    img = raw_image(tmp)
    port = free_tcp_port()
    started = []
    s = None
    try:
        s = Server(binary)
        args = {"driver": "nbd", "node-name": "late", "export": "exp",
                "server": {"type": "inet", "host": "127.0.0.1",
                           "port": str(port)}, "open-timeout": 1}
        err, took = timed(s.q.error, "blockdev-add", args)
        check("Failed to connect to" in err["desc"], err["desc"])
        check(took < 10, "open-timeout=1 took %.1f s" % took)
        t = threading.Timer(0.5, lambda: started.append(
            QemuNbd(tmp, img, "raw", "exp", port=port)))
        t.start()
        args["open-timeout"] = 10
        _, took = timed(s.q.ret, "blockdev-add", args)
        t.join()
        check(took >= 0.3, "the open waited for the server (%.1f s)" % took)
        s.start_nbd()
        run("qemu-io", "-f", "raw", "-c", "read -P 0x22 0 64k",
            export_node(s, "late", "e2"))
    finally:
        for qn in started:
            qn.kill()
        if s:
            s.close()
        shutil.rmtree(tmp, ignore_errors=True)


class FlakyServer:
    """An NBD server whose export reads as 0x5a; @drop(n) says how the
    n-th connection ends: "read" at its first read (unanswered),
    "handshake" right after the handshake, None: it serves."""

    SIZE = 1 * MiB

    def __init__(self, path, drop):
        self.drop = drop
        self.conns = 0
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(path)
        self.ls.listen(8)
        self.ls.settimeout(0.1)
        self.stopping = False
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        while not self.stopping:
            try:
                s, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns += 1
            try:
                self.conversation(s, self.drop(self.conns))
            except (EOFError, OSError):
                pass
            finally:
                s.close()

    def conversation(self, s, drop):
        s.settimeout(10)
        s.sendall(b"NBDMAGIC" + struct.pack(">QH", NBD_OPTS_MAGIC, 3))
        HostileServer.recv(self, s, 4)
        while True:
            _, opt, length = struct.unpack(">QII",
                                           HostileServer.recv(self, s, 16))
            HostileServer.recv(self, s, length)
            if opt == NBD_OPT_GO:
                HostileServer.opt_reply(self, s, opt, 3, struct.pack(
                    ">HQH", 0, self.SIZE, 1 | 4))
                HostileServer.opt_reply(self, s, opt, 1)
                break
            HostileServer.opt_reply(self, s, opt, 0x80000001)  # simple only
        if drop == "handshake":
            return
        while True:
            hdr = HostileServer.recv(self, s, 28)
            cmd = struct.unpack(">H", hdr[6:8])[0]
            length = struct.unpack(">I", hdr[24:28])[0]
            if cmd == 2 or (cmd == 0 and drop == "read"):
                return
            if cmd == 1:
                HostileServer.recv(self, s, length)
            s.sendall(struct.pack(">IIQ", NBD_SIMPLE_REPLY_MAGIC, 0,
                                  handle_of(hdr)) +
                      (b"\x5a" * length if cmd == 0 else b""))

    def close(self):
        self.stopping = True
        self.ls.close()
        self.t.join(5)


@no_kvm
def test_reconnect_flaky_server(binary):
    """A read the server dropped unanswered is sent again on the next
    connection; a server that hangs up after every handshake gets spaced
    attempts (no spinning) and kvmpc stays up and closes the node at once."""
    need_tools()
    tmp = tempfile.mkdtemp(prefix="kvmpc-nbd-fl-")
    s = srv = flap = None
    try:
        srv = FlakyServer(os.path.join(tmp, "f.sock"),
                          lambda n: "read" if n == 1 else None)
        s = Server(binary)
        s.q.ret("blockdev-add", {"driver": "nbd", "node-name": "f0",
                                 "reconnect-delay": 10, "server": {
                                     "type": "unix", "path": srv.ls.getsockname()},
                                 "export": "x"})
        s.start_nbd()
        run("qemu-io", "-f", "raw", "-c", "read -P 0x5a 0 64k",
            export_node(s, "f0", "e3"))
        check_eq(srv.conns, 2, "connections (the read sent again)")

        flap = FlakyServer(os.path.join(tmp, "g.sock"), lambda n: "handshake")
        s.q.ret("blockdev-add", {"driver": "nbd", "node-name": "f1",
                                 "reconnect-delay": 10,
                                 "filename": nbd_uri(flap.ls.getsockname(),
                                                     "x")})
        time.sleep(1)
        conns = flap.conns      # at 0, 0, 0.25, 0.75 s: a spinning client
        check(2 <= conns <= 6, "%d connections in 1 s" % conns)  # makes 100s
        _, took = timed(s.q.ret, "blockdev-del", {"node-name": "f1"})
        check(took < 5, "blockdev-del took %.1f s" % took)
        check(s.vm.alive(), "kvmpc still runs")
    finally:
        if s:
            s.close()           # first: the servers' threads see EOF
        for x in (srv, flap):
            if x:
                x.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_serve_to_qemu_tools, test_hostile_client,
               test_client_of_qemu_nbd, test_hostile_server, test_reconnect,
               test_reconnect_gives_up, test_open_timeout,
               test_reconnect_flaky_server])
