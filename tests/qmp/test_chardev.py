#!/usr/bin/env python3
"""Chardev backends as monitors use them: socket (unix/tcp, server/client,
wait=on, reconnect=), pipe, file, ringbuf, null, and option errors."""
import os
import select
import socket
import subprocess
import tempfile
import time
from qmplib import (BASE_ARGS, QMP, TIMEOUT, Kvmpc, check, check_eq,
                    connect_unix, run_tests, wait_for)

BANNER = b"QEMU 7.2.0 monitor - type 'help' for more information"


def test_socket_client_reconnect(binary):
    """kvmpc connects out to our server and reconnects after we hang up,
    including when the server was not there at first."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-chr-")
    path = os.path.join(tmp, "client.sock")
    vm = Kvmpc(binary, BASE_ARGS + [
        "-chardev", "socket,id=c0,path=%s,reconnect=1" % path,
        "-mon", "chardev=c0,mode=control"], tmpdir=tmp)
    try:
        time.sleep(0.5)
        check(vm.alive(), "a missing server is not fatal with reconnect")
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(path)
        srv.listen(1)
        srv.settimeout(TIMEOUT)
        for round_ in range(2):
            conn, _ = srv.accept()
            conn.settimeout(TIMEOUT)
            q = QMP(sock=conn)
            check_eq(q.ret("query-status")["status"], "prelaunch",
                     "round %d" % round_)
            q.close()   # kvmpc sees the hangup and reconnects
        srv.close()
    finally:
        vm.close()


def test_socket_client_no_reconnect(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-chr-")
    path = os.path.join(tmp, "absent.sock")
    r = subprocess.run([binary] + BASE_ARGS + [
        "-chardev", "socket,id=c0,path=%s" % path,
        "-mon", "chardev=c0,mode=control"], capture_output=True,
        timeout=TIMEOUT)
    check_eq(r.returncode, 1, "connect failure exits 1")
    check(b"Failed to connect" in r.stderr, "message: %r" % r.stderr)


def test_socket_wait_on(binary):
    """server=on alone waits for the first client before starting."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-chr-")
    path = os.path.join(tmp, "wait.sock")
    vm = Kvmpc(binary, BASE_ARGS + ["-qmp", "unix:%s,server=on" % path],
               tmpdir=tmp)
    try:
        wait_for(lambda: b"waiting for connection" in
                 vm.stderr().encode(), what="waiting message")
        check("disconnected:unix:%s,server=on" % path in vm.stderr(),
              "waiting message names the socket: %r" % vm.stderr())
        q = QMP(path)
        check_eq(q.ret("query-status")["status"], "prelaunch", "started")
    finally:
        vm.close()


def test_tcp_server(binary):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    vm = Kvmpc(binary, BASE_ARGS + [
        "-qmp", "tcp:127.0.0.1:%d,server=on,wait=off" % port])
    try:
        conn = None
        end = time.time() + TIMEOUT
        while conn is None and time.time() < end:
            try:
                conn = socket.create_connection(("127.0.0.1", port), 1)
            except OSError:
                time.sleep(0.05)
        check(conn is not None, "tcp port open")
        conn.settimeout(TIMEOUT)
        q = QMP(sock=conn)
        chardevs = {c["label"]: c for c in q.ret("query-chardev")}
        fname = chardevs["compat_monitor0"]["filename"]
        check(fname.startswith("tcp:127.0.0.1:%d,server=on <-> 127.0.0.1:"
                               % port), "tcp filename: %r" % fname)
        q.close()
        time.sleep(0.2)
        q = QMP(sock=socket.create_connection(("127.0.0.1", port), TIMEOUT))
        fname = {c["label"]: c for c in
                 q.ret("query-chardev")}["compat_monitor0"]["filename"]
        check(fname.startswith("tcp:"), "reconnected client")
    finally:
        vm.close()


def test_pipe(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-chr-")
    base = os.path.join(tmp, "mon")
    os.mkfifo(base + ".in")
    os.mkfifo(base + ".out")
    vm = Kvmpc(binary, BASE_ARGS + ["-chardev", "pipe,id=p0,path=" + base,
                                    "-mon", "chardev=p0"], tmpdir=tmp)
    try:
        out_fd = os.open(base + ".out", os.O_RDONLY)
        in_fd = os.open(base + ".in", os.O_WRONLY)
        data = b""
        end = time.time() + TIMEOUT
        while not data.endswith(b"(qemu) ") and time.time() < end:
            data += os.read(out_fd, 4096)
        check(BANNER in data, "banner through the pipe: %r" % data)
        os.write(in_fd, b"info kvm\n")
        data = b""
        while b"kvm support" not in data and time.time() < end:
            data += os.read(out_fd, 4096)
        check(b"kvm support: enabled" in data, "command through the pipe")
        os.close(in_fd)
        os.close(out_fd)
    finally:
        vm.close()


def test_file_ringbuf_null(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-chr-")
    out = os.path.join(tmp, "mon.txt")
    qmp = os.path.join(tmp, "q.sock")
    log = os.path.join(tmp, "mon.log")
    vm = Kvmpc(binary, BASE_ARGS + [
        "-chardev", "file,id=f0,path=%s,logfile=%s" % (out, log),
        "-mon", "chardev=f0",
        "-chardev", "ringbuf,id=r0,size=1024",
        "-chardev", "memory,id=r1",
        "-chardev", "null,id=n0",
        "-qmp", "unix:%s,server=on,wait=off" % qmp], tmpdir=tmp,
        wait_sockets=[qmp])
    try:
        q = QMP(qmp)
        wait_for(lambda: BANNER in open(out, "rb").read(),
                 what="banner in the file")
        check_eq(open(log, "rb").read(), open(out, "rb").read(),
                 "logfile= copies the output")
        chrs = {c["label"]: c for c in q.ret("query-chardev")}
        check_eq(chrs["f0"], {"label": "f0", "filename": "file:" + out,
                              "frontend-open": True}, "file chardev")
        check_eq(chrs["r0"]["filename"], "ringbuf", "ringbuf")
        check_eq(chrs["r0"]["frontend-open"], False, "ringbuf unused")
        check_eq(chrs["r1"]["filename"], "memory", "memory alias")
        check_eq(chrs["n0"]["filename"], "null", "null")
    finally:
        vm.close()


def test_pipe_output_only(binary):
    """One bidirectional FIFO behind a frontend that takes no input (a
    debugcon): everything the guest writes stays in the pipe for the
    reader; kvmpc must not read its own output back (it used to swallow
    the first bytes SeaBIOS logged)."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-chr-")
    fifo = os.path.join(tmp, "dbg")
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    args = [a for a in BASE_ARGS if a != "-S"]
    vm = Kvmpc(binary, args + [
        "-chardev", "pipe,id=d,path=" + fifo,
        "-device", "isa-debugcon,iobase=0x402,chardev=d"], tmpdir=tmp)
    try:
        # Read only once the firmware has logged a few lines, so that a
        # reader inside kvmpc would have had every chance to take them.
        data = b""
        end = time.time() + TIMEOUT
        while b"Running on" not in data and time.time() < end:
            time.sleep(0.5)
            try:
                data += os.read(reader, 1 << 16)
            except BlockingIOError:
                pass
        check(data.startswith(b"SeaBIOS (version "),
              "the debugcon log is whole from its first byte: %r" % data[:80])
        check(b"BUILD: " in data, "second line of the log: %r" % data[:200])
    finally:
        os.close(reader)
        vm.close()


def expect_startup_error(binary, args, text):
    r = subprocess.run([binary] + BASE_ARGS + args, capture_output=True,
                       timeout=TIMEOUT)
    check_eq(r.returncode, 1, "exit status for %r" % args)
    check(text.encode() in r.stderr, "stderr for %r: %r" % (args, r.stderr))
    check(r.stderr.startswith(b"kvmpc: "), "one kvmpc: line")
    check(b"Sanitizer" not in r.stderr and b"runtime error" not in r.stderr,
          "sanitizer report: %r" % r.stderr)


def test_option_errors(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-chr-")
    sock = os.path.join(tmp, "x.sock")
    expect_startup_error(binary, ["-chardev", "ringbuf,id=r,size=1000"],
                         "power of two")
    expect_startup_error(binary, ["-chardev", "nosuch,id=x"],
                         "'nosuch' is not a valid char driver name")
    expect_startup_error(binary, ["-chardev", "null"],
                         "Parameter 'id' is missing")
    expect_startup_error(binary, ["-chardev", "null,id=a",
                                  "-chardev", "null,id=a"], "duplicate")
    expect_startup_error(binary, ["-chardev", "socket,id=s"], "port")
    expect_startup_error(binary, [
        "-chardev", "socket,id=s,path=%s,server=on,reconnect=1" % sock],
        "'reconnect' option is incompatible")
    expect_startup_error(binary, ["-chardev", "pipe,id=p,path=" +
                                  os.path.join(tmp, "none")],
                         "Could not open")
    expect_startup_error(binary, [
        "-chardev", "socket,id=s,path=%s,server=on,wait=off" % sock,
        "-mon", "chardev=s", "-mon", "chardev=s,mode=control"],
        "Device 's' is in use")
    expect_startup_error(binary, ["-serial", "bogus:thing"],
                         "'bogus' is not a valid char driver name")
    expect_startup_error(binary, ["-chardev", "null,id=n,bogus=1"],
                         "Invalid parameter 'bogus'")
    expect_startup_error(binary, ["-serial", "unix:%s,sever=on" % sock],
                         "Invalid parameter 'sever'")
    expect_startup_error(binary, ["-chardev", "null,id=n,logfile=/nonexistent"
                                  "/dir/log"], "Could not open")


def test_mux_on_chardev(binary):
    """-chardev ...,mux=on: a monitor and a second monitor share it."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-chr-")
    path = os.path.join(tmp, "mux.sock")
    qmp = os.path.join(tmp, "q.sock")
    vm = Kvmpc(binary, BASE_ARGS + [
        "-chardev", "socket,id=m,path=%s,server=on,wait=off,mux=on" % path,
        "-mon", "chardev=m,mode=readline",
        "-qmp", "unix:%s,server=on,wait=off" % qmp], tmpdir=tmp,
        wait_sockets=[path, qmp])
    try:
        q = QMP(qmp)
        chrs = {c["label"]: c for c in q.ret("query-chardev")}
        check_eq(chrs["m"]["filename"], "mux", "mux chardev")
        check(chrs["m-base"]["filename"].startswith("disconnected:unix:"),
              "base socket")
        s = connect_unix(path)
        data = b""
        while not data.endswith(b"(qemu) "):
            data += s.recv(4096)
        check(BANNER in data, "monitor on a mux=on socket")
    finally:
        vm.close()


def test_pty(binary):
    """A pty serial: query-chardev names the slave (libvirt's `virsh
    console` opens it); what the guest writes right after someone opened
    it arrives, without waiting for the backend's once-a-second poll."""
    from test_migration import BASE, VM
    base = list(BASE)
    base[base.index("-serial") + 1] = "chardev:p0"
    vm = VM(binary, ["-chardev", "pty,id=p0"], base=base)
    fd = -1
    try:
        chrs = {c["label"]: c for c in vm.qmp.ret("query-chardev")}
        name = chrs["p0"]["filename"]
        check(name.startswith("pty:/dev/pts/"), "query-chardev: %r" % name)
        fd = os.open(name[4:], os.O_RDWR | os.O_NOCTTY)
        for ch in b"hello":
            vm.q("outb 0x3f8 0x%x" % ch)
        got = b""
        end = time.time() + TIMEOUT
        while b"hello" not in got and time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                got += os.read(fd, 100)
        check_eq(got, b"hello", "the guest's bytes on the pty")
    finally:
        if fd >= 0:
            os.close(fd)
        vm.close()


if __name__ == "__main__":
    run_tests([test_pty, test_socket_client_reconnect,
               test_socket_client_no_reconnect, test_socket_wait_on, test_tcp_server, test_pipe,
               test_pipe_output_only,
               test_file_ringbuf_null, test_option_errors,
               test_mux_on_chardev])
