#!/usr/bin/env python3
"""The vbe-draw guest test, both sides.

    run-vbe-draw-test.py EMULATOR PAYLOAD [EXTRA ARGS...]

Boots PAYLOAD (vbe-draw.c) with the standard VGA, COM1 on stdio and a QMP
socket.  Each time the guest prints "vbe-draw: WHAT ready" the host takes
a PPM screendump over QMP and compares it pixel for pixel with the picture
the guest drew (vbe_picture() / text_picture() of
tests/qtest/display/test_display.py, the same formulas as the payload,
and the VBE picture again with a rectangle inverted, which only the
dirty log of the framebuffer's KVM slot can show), then sends a byte on
COM1 so the guest goes on.  EXTRA ARGS go to kvmpc (e.g. -accel
kvm,dirty-ring-size=4096).  Passes when both pictures
match and the guest's SUMMARY has no failures.  Exit 77 (skipped) without
/dev/kvm.
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


def inverted(rgb, x0=256, x1=512, y0=300, y1=364, w=1024):
    """@rgb with the rectangle the guest inverts (vbe-draw.c) inverted."""
    out = bytearray(rgb)
    for y in range(y0, y1):
        for i in range((y * w + x0) * 3, (y * w + x1) * 3):
            out[i] ^= 0xFF
    return bytes(out)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    emulator, payload = sys.argv[1:3]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm not available")
        return 77
    tmp = tempfile.mkdtemp(prefix="kvmpc-vbe-draw-")
    qmp_path = os.path.join(tmp, "qmp.sock")
    cmd = [emulator, "-nodefaults", "-vga", "std", "-display", "none",
           "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
           "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
           "-kernel", payload] + sys.argv[3:]
    print("run-vbe-draw-test: " + " ".join(cmd), flush=True)
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
        vbe = td.vbe_picture(1024, 768)[1]
        for what, want in (("vbe", (1024, 768, vbe)),
                           ("vbe-changed", (1024, 768, inverted(vbe))),
                           ("text", td.text_picture())):
            wait_line("vbe-draw: %s ready" % what)
            name = os.path.join(tmp, what + ".ppm")
            qmp.ret("screendump", {"filename": name})
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
