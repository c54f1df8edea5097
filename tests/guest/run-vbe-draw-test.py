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
kvm,dirty-ring-size=4096).  Passes when both pictures match and the
guest's SUMMARY has no failures.

Then the display path under a guest that redraws the whole screen
without pause (the payload's "bench=redraw secs=2", bench/display.py's
guest): a VNC client on a unix socket keeps asking for updates while it
draws; once the guest has stopped ("vbe-draw: idle frames=N"), the
client's picture and a QMP screendump must both be its last frame, N - 1
(the picture XOR frame N - 1's key).  This is the path where the VGA
stops fetching the dirty log and compares lines instead, and the VNC
server paces refreshes by its clients (docs/display.md).

Exit 77 (skipped) without /dev/kvm.
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
from qmplib import QMP, connect_unix  # noqa: E402

TIMEOUT = float(os.environ.get("KVMPC_GUEST_TIMEOUT", 120))
W, H = 1024, 768


def frame_key(f):
    """The 24-bit XOR key of the payload's frame f (draw_frame())."""
    return (f * 0x9e3779b1) & 0xffffff


def xor_channels(data, stride, key):
    """data (R, G, B first in each stride-byte pixel) XOR key's R, G, B."""
    out = bytearray(data)
    for i, k in enumerate(((key >> 16) & 0xff, (key >> 8) & 0xff,
                           key & 0xff)):
        table = bytes(b ^ k for b in range(256))
        out[i::stride] = out[i::stride].translate(table)
    return bytes(out)


def redraw_check(emulator, payload, tmp, rgb):
    """The redrawing guest, a VNC client and a screendump (see above);
    rgb: the picture (frame 0) as RGB bytes.  Returns failures."""
    sock_path = os.path.join(tmp, "vnc.sock")
    qmp_path = os.path.join(tmp, "qmp-redraw.sock")
    cmd = [emulator, "-nodefaults", "-vga", "std", "-display", "none",
           "-vnc", "unix:" + sock_path, "-serial", "stdio",
           "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
           "-kernel", payload, "-append", "bench=redraw secs=2"]
    print("run-vbe-draw-test: " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []

    def reader():
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            print(line, flush=True)
            lines.append(line)
    threading.Thread(target=reader, daemon=True).start()

    def last_frame():
        for line in lines:
            m = re.search(r"vbe-draw: idle frames=(\d+)", line)
            if m:
                return int(m.group(1)) - 1
        return None

    # the server's default pixel format: R, G, B, 0 in each 4 bytes
    rgbx = bytearray(W * H * 4)
    for i in range(3):
        rgbx[i::4] = rgb[i::3]
    failures = []
    try:
        end = time.time() + TIMEOUT
        while not any("vbe-draw: frames=" in line for line in lines):
            if time.time() > end or proc.poll() is not None:
                raise td.TestFailure("the guest never drew")
            time.sleep(0.05)
        rfb = td.RFB(connect_unix(sock_path))
        fb = bytearray(rfb.w * rfb.h * 4)
        rfb.request(0)
        updates, final, want = 0, None, None
        while time.time() < end:
            if final is None:
                final = last_frame()
                if final is not None:
                    want = xor_channels(rgbx, 4, frame_key(final))
            if want is not None and (rfb.w, rfb.h) == (W, H) and fb == want:
                break
            if not rfb.pending(0.5):
                continue
            for x, y, w, h, raw in rfb.read_update():
                if raw is None:             # DesktopSize: all of it next
                    fb = bytearray(rfb.w * rfb.h * 4)
                    rfb.request(0)
                    continue
                for r in range(h):
                    o = ((y + r) * rfb.w + x) * 4
                    fb[o:o + w * 4] = raw[r * w * 4:(r + 1) * w * 4]
            updates += 1
            rfb.request(1)
        rfb.close()
        if final is None:
            raise td.TestFailure("the guest never stopped drawing")
        print("run-vbe-draw-test: %d VNC updates, last frame %d" %
              (updates, final), flush=True)
        if fb != want:
            failures.append("VNC picture is not frame %d" % final)
            print("FAIL: host side: VNC picture is not frame %d" % final)
        else:
            print("PASS: host side: VNC shows the last frame")
        qmp = QMP(qmp_path)
        name = os.path.join(tmp, "redraw.ppm")
        qmp.ret("screendump", {"filename": name})
        with open(name, "rb") as f:
            try:
                td.compare(td.decode_ppm(f.read()), W, H,
                           xor_channels(rgb, 3, frame_key(final)),
                           "redraw")
                print("PASS: host side: screendump shows the last frame")
            except td.TestFailure as e:
                failures.append(str(e))
                print("FAIL: host side: %s" % e)
    except (td.TestFailure, OSError) as e:
        failures.append(str(e))
        print("FAIL: %s" % e)
    finally:
        proc.kill()
        proc.wait()
    return failures


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
        vbe_rgb = td.vbe_picture(W, H)[1]
        for what, want in (("vbe", (W, H, vbe_rgb)),
                           ("vbe-changed", (W, H, inverted(vbe_rgb))),
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
        failures += redraw_check(emulator, payload, tmp, vbe_rgb)
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
