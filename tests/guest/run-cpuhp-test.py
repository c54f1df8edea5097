#!/usr/bin/env python3
"""The cpuhp guest test, both sides.

    run-cpuhp-test.py EMULATOR PAYLOAD MACHINE

Boots PAYLOAD (cpuhp.c) on MACHINE (pc or q35) with -smp 1,maxcpus=2, COM1
on stdio and a QMP socket.  When the guest prints "cpuhp: ready for plug"
the host device_adds the CPU of slot 1 (core 1); the guest finds it
through the ACPI CPU hotplug registers and starts it.  At "ready for
unplug" the host device_dels it; the guest ejects it and the host waits
for DEVICE_DELETED and an ACPI_DEVICE_OST, and sees one vCPU left in
query-cpus-fast.  Passes when all that happened and the guest's SUMMARY
has no failures.  Exit 77 (skipped) without /dev/kvm.
"""
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "qmp"))
from qmplib import QMP  # noqa: E402

TIMEOUT = float(os.environ.get("KVMPC_GUEST_TIMEOUT", 120))


class Failure(Exception):
    pass


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    emulator, payload, machine = sys.argv[1:]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm not available")
        return 77
    port = "0xcd8" if machine == "q35" else "0xaf00"
    tmp = tempfile.mkdtemp(prefix="kvmpc-cpuhp-")
    qmp_path = os.path.join(tmp, "qmp.sock")
    cmd = [emulator, "-machine", machine, "-nodefaults", "-display", "none",
           "-cpu", "qemu64", "-smp", "1,maxcpus=2",
           "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
           "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
           "-kernel", payload, "-append", "cpuhp=%s" % port]
    print("run-cpuhp-test: " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []
    cond = threading.Condition()

    def reader():
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            print(line, flush=True)
            with cond:
                lines.append(line)
                cond.notify_all()
    threading.Thread(target=reader, daemon=True).start()

    def wait_line(text):
        end = time.time() + TIMEOUT
        with cond:
            while not any(text in line for line in lines):
                left = end - time.time()
                if left <= 0 or proc.poll() is not None:
                    raise Failure("no '%s' from the guest" % text)
                cond.wait(min(left, 0.5))

    try:
        while not os.path.exists(qmp_path):
            if proc.poll() is not None:
                raise Failure("kvmpc exited early")
            time.sleep(0.05)
        qmp = QMP(qmp_path)
        wait_line("cpuhp: ready for plug")
        qmp.ret("device_add", {"driver": "qemu64-x86_64-cpu", "id": "cpu1",
                               "socket-id": 0, "core-id": 1, "thread-id": 0})
        if len(qmp.ret("query-cpus-fast")) != 2:
            raise Failure("query-cpus-fast does not list the new vCPU")
        wait_line("cpuhp: ready for unplug")
        qmp.ret("device_del", {"id": "cpu1"})
        qmp.wait_event("DEVICE_DELETED", TIMEOUT)
        if len(qmp.ret("query-cpus-fast")) != 1:
            raise Failure("the ejected vCPU is still listed")
        status = proc.wait(TIMEOUT)
    except (Failure, subprocess.TimeoutExpired, OSError) as e:
        proc.kill()
        proc.wait()
        print("FAIL: %s" % e)
        return 1
    summary = [line for line in lines if line.startswith("SUMMARY:")]
    if (status != 1 or not summary or
            not re.match(r"SUMMARY: [1-9]\d* tests, 0 failures", summary[-1])):
        print("FAIL: guest exit status %d, %s" % (status, summary[-1:]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
