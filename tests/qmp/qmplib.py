"""Helpers for the QMP/HMP/chardev tests: start kvmpc, talk QMP and HMP.

Standard library only.  Every test script is run as
    python3 test_X.py /path/to/kvmpc
and exits 0 (pass), 1 (fail) or 77 (skip: no usable /dev/kvm).
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77
TIMEOUT = float(os.environ.get("KVMPC_TEST_TIMEOUT", "30"))
# KVMPC_TEST_SANDBOX=1: every kvmpc these tests start through Kvmpc runs
# under the seccomp filter libvirt asks for (tests/qmp/meson.build sets it
# for every suite there but qmp-sandbox; tests/qmp/test_sandbox.py).
SANDBOX_ARGS = ["-sandbox", "on,obsolete=deny,elevateprivileges=deny,"
                "spawn=deny,resourcecontrol=deny"]


class TestFailure(Exception):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise TestFailure(msg)


def check_eq(got, want, what="value"):
    if got != want:
        raise TestFailure("%s: got %r, want %r" % (what, got, want))


def kvm_usable():
    """(True, None) or (False, reason)."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
        os.close(fd)
        return True, None
    except OSError as e:
        return False, "/dev/kvm not usable: %s" % e.strerror


def wait_for(pred, timeout=TIMEOUT, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.02)
    raise TestFailure("timed out waiting for " + what)


class Kvmpc:
    """A kvmpc process; sockets live in a private temporary directory."""

    def __init__(self, binary, args, tmpdir=None, stdin=subprocess.DEVNULL,
                 wait_sockets=(), pass_fds=(), sandbox=True):
        """@sandbox False: never under KVMPC_TEST_SANDBOX's filter (a
        test of what the filter forbids, such as exec: migration)."""
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix="kvmpc-qmp-")
        self.args = [binary] + list(args)
        if sandbox and os.environ.get("KVMPC_TEST_SANDBOX"):
            self.args += SANDBOX_ARGS
        self.stdout_path = os.path.join(self.tmpdir, "stdout")
        self.stderr_path = os.path.join(self.tmpdir, "stderr")
        self.proc = subprocess.Popen(
            self.args, stdin=stdin,
            stdout=open(self.stdout_path, "wb"),
            stderr=open(self.stderr_path, "wb"), pass_fds=pass_fds)
        for path in wait_sockets:
            self.wait_socket(path)

    def path(self, name):
        return os.path.join(self.tmpdir, name)

    def wait_socket(self, path):
        def ready():
            if self.proc.poll() is not None:
                raise TestFailure("kvmpc exited early (%d): %s" %
                                  (self.proc.returncode, self.stderr()))
            return os.path.exists(path)
        wait_for(ready, what="socket " + path)

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode(errors="replace")

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout=TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("kvmpc did not exit")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def sanitizer_report(self):
        """ASan/UBSan findings in kvmpc's stderr (UBSan does not abort)."""
        err = self.stderr()
        for marker in ("ERROR: AddressSanitizer", "runtime error:",
                       "ERROR: LeakSanitizer"):
            if marker in err:
                return err
        return None

    def close(self):
        self.kill()
        report = self.sanitizer_report()
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        if report:
            raise TestFailure("sanitizer report from kvmpc:\n" + report)


def connect_unix(path, timeout=TIMEOUT):
    """Connect, retrying while the server is between bind() and listen()."""
    end = time.time() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
            return sock
        except (ConnectionRefusedError, FileNotFoundError):
            sock.close()
            if time.time() > end:
                raise
            time.sleep(0.02)


class QMP:
    """A QMP client on a unix socket (or a connected socket)."""

    def __init__(self, path=None, sock=None, negotiate=True):
        if sock is None:
            sock = connect_unix(path)
        self.sock = sock
        self.buf = b""
        self.events = []
        self.greeting = self.recv_msg()
        check("QMP" in self.greeting, "no greeting: %r" % self.greeting)
        if negotiate:
            check_eq(self.cmd("qmp_capabilities"), {"return": {}},
                     "qmp_capabilities")

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv_line(self, timeout=TIMEOUT):
        end = time.time() + timeout
        while b"\n" not in self.buf:
            left = end - time.time()
            if left <= 0:
                raise TestFailure("timed out waiting for a QMP line")
            self.sock.settimeout(left)
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        check(line.endswith(b"\r"), "QMP line not ended by \\r\\n: %r"
              % line[-40:])
        return line[:-1]

    def recv_msg(self, timeout=TIMEOUT):
        return json.loads(self.recv_line(timeout))

    def recv_reply(self, timeout=TIMEOUT):
        """The next non-event message; events are kept in self.events."""
        while True:
            msg = self.recv_msg(timeout)
            if "event" in msg:
                self.events.append(msg)
                continue
            return msg

    def cmd(self, name, args=None, id=None, **kw):
        req = {"execute": name}
        if args is not None:
            req["arguments"] = args
        if id is not None:
            req["id"] = id
        self.send_raw(json.dumps(req).encode() + b"\n")
        return self.recv_reply(**kw)

    def ret(self, name, args=None):
        rsp = self.cmd(name, args)
        check("return" in rsp, "%s failed: %r" % (name, rsp))
        return rsp["return"]

    def error(self, name, args=None):
        rsp = self.cmd(name, args)
        check("error" in rsp, "%s should fail: %r" % (name, rsp))
        return rsp["error"]

    def wait_event(self, name, timeout=TIMEOUT):
        end = time.time() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name:
                    return self.events.pop(i)
            left = end - time.time()
            if left <= 0:
                raise TestFailure("no %s event" % name)
            msg = self.recv_msg(left)
            check("event" in msg, "unexpected reply: %r" % msg)
            self.events.append(msg)

    def close(self):
        self.sock.close()


class HMP:
    """A human monitor on a byte stream: send lines, read to the prompt."""

    PROMPT = b"(qemu) "

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    @classmethod
    def unix(cls, path):
        return cls(connect_unix(path))

    def read_until(self, token, timeout=TIMEOUT):
        end = time.time() + timeout
        while token not in self.buf:
            left = end - time.time()
            if left <= 0:
                raise TestFailure("timed out waiting for %r, got %r" %
                                  (token, self.buf[-200:]))
            self.sock.settimeout(left)
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError("monitor connection closed")
            self.buf += data
        idx = self.buf.index(token) + len(token)
        out, self.buf = self.buf[:idx], self.buf[idx:]
        return out

    def command(self, line):
        """Output of @line, without the echo and the final prompt."""
        self.sock.sendall(line.encode() + b"\r")
        out = self.read_until(self.PROMPT).decode(errors="replace")
        out = out[:-len(self.PROMPT)]
        echo = line + "\r\n"
        check(out.startswith(echo), "no echo of %r in %r" % (line, out))
        return out[len(echo):]


def no_kvm(test):
    """Mark a test that runs without /dev/kvm (it uses -accel qtest)."""
    test.needs_kvm = False
    return test


def run_tests(tests, binary_arg_index=1):
    """Run test functions f(binary); print results; exit with the status."""
    if len(sys.argv) <= binary_arg_index:
        print("usage: %s KVMPC_BINARY [TEST...]" % sys.argv[0])
        sys.exit(2)
    binary = os.path.abspath(sys.argv[binary_arg_index])
    only = sys.argv[binary_arg_index + 1:]
    ok, reason = kvm_usable()
    selected = [t for t in tests if not only or t.__name__ in only]
    if not ok:
        for t in selected:
            if getattr(t, "needs_kvm", True):
                print("SKIP %s: %s" % (t.__name__, reason))
        selected = [t for t in selected if not getattr(t, "needs_kvm", True)]
        if not selected:
            print("SKIP: " + reason)
            sys.exit(SKIP)
    failed = 0
    for t in selected:
        start = time.time()
        try:
            t(binary)
            print("ok   %s (%.1fs)" % (t.__name__, time.time() - start))
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__)
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
    print("%d failed" % failed if failed else "all passed")
    sys.exit(1 if failed else 0)


BASE_ARGS = ["-S", "-nodefaults", "-display", "none", "-machine", "pc"]


def start_qmp_vm(binary, nmon=1, extra=(), tmpdir=None):
    """kvmpc -S with @nmon QMP sockets; returns (vm, [socket paths])."""
    tmpdir = tmpdir or tempfile.mkdtemp(prefix="kvmpc-qmp-")
    paths = [os.path.join(tmpdir, "qmp%d.sock" % i) for i in range(nmon)]
    args = list(BASE_ARGS)
    for p in paths:
        args += ["-qmp", "unix:%s,server=on,wait=off" % p]
    args += list(extra)
    vm = Kvmpc(binary, args, tmpdir=tmpdir, wait_sockets=paths)
    return vm, paths


def read_fd_until(fd, token, timeout=TIMEOUT):
    """Read a raw fd (a pty) until @token appears; returns all read."""
    out = b""
    end = time.time() + timeout
    while token not in out:
        left = end - time.time()
        if left <= 0:
            raise TestFailure("timed out waiting for %r, got %r" %
                              (token, out[-300:]))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                raise EOFError("end of output, got %r" % out[-300:])
            out += data
    return out
