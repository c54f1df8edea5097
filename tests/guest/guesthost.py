"""The host side of a guest test that talks to the operator over QMP.

A payload prints "NAME: ready for ..." lines on COM1 and waits; the
runner answers each with QMP commands (device_add, device_del, ...) and
checks what the monitor says.  Where the guest must not go on (or exit)
before those checks are done, it waits for a byte on COM1: tell().  GuestHost starts the emulator with COM1 on
a pipe and a QMP socket, echoes and keeps the guest's lines, and at the
end applies the usual verdict: exit status 1 (isa-debug-exit, code 0) and
a last "SUMMARY: N tests, 0 failures" with N > 0 (run-guest-test.py's).
As there, KVMPC_GUEST_EMULATOR and KVMPC_GUEST_EMULATOR_ARGS (put before
the standard arguments) run the payload under another emulator, e.g.
qemu-system-x86_64 with -enable-kvm.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "qmp"))
from qmplib import QMP  # noqa: E402

TIMEOUT = float(os.environ.get("KVMPC_GUEST_TIMEOUT", 120))
SKIP = 77


class Failure(Exception):
    pass


def kvm_missing():
    """A SKIP line and True when the test cannot run here."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm not available")
        return True
    return False


class GuestHost:
    def __init__(self, emulator, payload, args, name):
        self.tmp = tempfile.mkdtemp()
        qmp_path = os.path.join(self.tmp, "qmp.sock")
        emulator = os.environ.get("KVMPC_GUEST_EMULATOR") or emulator
        extra = shlex.split(os.environ.get("KVMPC_GUEST_EMULATOR_ARGS", ""))
        cmd = [emulator] + extra + ["-nodefaults", "-display", "none",
               "-serial", "stdio",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
               "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
               "-kernel", payload] + args
        print("%s: %s" % (name, " ".join(cmd)), flush=True)
        self.lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._reader, daemon=True)
        self.reader.start()
        while not os.path.exists(qmp_path):
            if self.proc.poll() is not None:
                self.close()
                raise Failure("the emulator exited early")
            time.sleep(0.05)
        self.qmp = QMP(qmp_path)

    def _reader(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            print(line, flush=True)
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_line(self, text):
        """The first guest line that contains @text (waits for it)."""
        end = time.time() + TIMEOUT
        with self.cond:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                left = end - time.time()
                if left <= 0 or self.proc.poll() is not None:
                    raise Failure("no '%s' from the guest" % text)
                self.cond.wait(min(left, 0.5))

    def tell(self):
        """One byte on the guest's COM1: "go on" (the payload waits for
        it where the runner's checks must come before its next step or its
        exit)."""
        self.proc.stdin.write(b"\n")
        self.proc.stdin.flush()

    def wait_deleted(self, qdev_id):
        """The DEVICE_DELETED of @qdev_id.  QEMU also sends one for a
        virtio device's inner backend (path only, no "device") first."""
        end = time.time() + TIMEOUT
        while True:
            ev = self.qmp.wait_event("DEVICE_DELETED",
                                     max(end - time.time(), 0.1))
            if ev["data"].get("device") == qdev_id:
                if ev["data"].get("path") != "/machine/peripheral/" + qdev_id:
                    raise Failure("DEVICE_DELETED: %r" % ev["data"])
                return ev
            if "device" in ev["data"]:
                raise Failure("DEVICE_DELETED for %r" % ev["data"])

    def verdict(self):
        """0 when the guest exited through isa-debug-exit with a clean
        SUMMARY, else 1 (with the reason printed)."""
        status = self.proc.wait(TIMEOUT)
        self.reader.join(5)             # the last lines, up to EOF
        summary = [line for line in self.lines if line.startswith("SUMMARY:")]
        if (status != 1 or not summary or
                not re.match(r"SUMMARY: [1-9]\d* tests, 0 failures",
                             summary[-1])):
            print("FAIL: guest exit status %d, %s" % (status, summary[-1:]))
            return 1
        return 0

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def run(body, emulator, payload, args, name):
    """Start the guest, run body(host), give the verdict; exit status."""
    if kvm_missing():
        return SKIP
    host = None
    try:
        host = GuestHost(emulator, payload, args, name)
        body(host)
        return host.verdict()
    except (Failure, subprocess.TimeoutExpired, OSError, EOFError) as e:
        print("FAIL: %s" % e)
        return 1
    except Exception as e:  # qmplib's TestFailure and the like
        print("FAIL: %s: %s" % (type(e).__name__, e))
        return 1
    finally:
        if host:
            host.close()
