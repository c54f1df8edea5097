#!/usr/bin/env python3
"""The virtio-gpu-draw guest test, both sides.

    run-virtio-gpu-draw-test.py EMULATOR PAYLOAD

Boots PAYLOAD (virtio-gpu-draw.c) with a virtio-gpu-pci, COM1 on stdio and
a QMP socket.  Each time the guest prints "virtio-gpu-draw: WHAT ready"
the host takes a PPM screendump of the GPU's head 0 over QMP and compares
it pixel for pixel with the picture the guest drew (vbe_picture() of
tests/qtest/display/test_display.py at 256x192, then with a 64x32
rectangle at (96, 80) inverted), then sends a byte on COM1 so the guest
goes on.  Passes when both pictures match and the guest's SUMMARY has no
failures.  Exit 77 (skipped) without /dev/kvm.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "qtest", "display"))
sys.path.insert(0, os.path.join(HERE, "..", "qmp"))
import test_display as td  # noqa: E402
from qmplib import QMP  # noqa: E402

TIMEOUT = float(os.environ.get("KVMPC_GUEST_TIMEOUT", 120))
W, H = 256, 192


def full_picture():
    return td.vbe_picture(W, H)[1]


def rect_picture():
    """full_picture() with the guest's 64x32 rectangle at (96, 80)
    inverted."""
    rgb = bytearray(full_picture())
    for y in range(80, 112):
        for x in range(96, 160):
            i = (y * W + x) * 3
            rgb[i:i + 3] = bytes(c ^ 0xFF for c in rgb[i:i + 3])
    return bytes(rgb)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    emulator, payload = sys.argv[1:]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm not available")
        return 77
    tmp = tempfile.mkdtemp(prefix="kvmpc-virtio-gpu-draw-")
    qmp_path = os.path.join(tmp, "qmp.sock")
    cmd = [emulator, "-nodefaults", "-display", "none",
           "-device", "virtio-gpu-pci,id=gpu0",
           "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
           "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
           "-kernel", payload]
    print("run-virtio-gpu-draw-test: " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
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
                    raise td.TestFailure("no '%s' from the guest" % text)
                cond.wait(min(left, 0.5))

    failures = []
    try:
        while not os.path.exists(qmp_path):
            if proc.poll() is not None:
                raise td.TestFailure("kvmpc exited early")
            time.sleep(0.05)
        qmp = QMP(qmp_path)
        for what, want in (("full", (W, H, full_picture())),
                           ("rect", (W, H, rect_picture()))):
            wait_line("virtio-gpu-draw: %s ready" % what)
            name = os.path.join(tmp, what + ".ppm")
            qmp.ret("screendump", {"filename": name, "device": "gpu0"})
            with open(name, "rb") as f:
                try:
                    td.compare(td.decode_ppm(f.read()), *want, what)
                    print("PASS: host side: %s screen matches" % what)
                except td.TestFailure as e:
                    failures.append(str(e))
                    print("FAIL: host side: %s" % e)
            proc.stdin.write(b"\n")
            proc.stdin.flush()
        status = proc.wait(TIMEOUT)
    except (td.TestFailure, subprocess.TimeoutExpired, OSError) as e:
        proc.kill()
        proc.wait()
        print("FAIL: %s" % e)
        return 1
    summary = [line for line in lines if line.startswith("SUMMARY:")]
    if (status != 1 or not summary or
            not re.match(r"SUMMARY: [1-9]\d* tests, 0 failures", summary[-1])):
        print("FAIL: guest exit status %d, %s" % (status, summary[-1:]))
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
