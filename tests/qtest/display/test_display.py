#!/usr/bin/env python3
"""Pictures, dirty rectangles, keys and VNC of the display (-accel qtest).

The guest side is played over the qtest socket (port and memory accesses,
as a driver would make them); the host side with QMP, HMP, a small RFB
client written here (RFC 6143: raw encoding, KeyEvent, PointerEvent) and
Debian's VNC clients (gvnccapture from gvncviewer, vncsnapshot).

    python3 test_display.py /path/to/kvmpc [TEST...]

Exits 0, 1, or 77 when nothing could run; a test that needs a missing
program prints SKIP with the reason.
"""
import os
import pty
import termios
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "qmp"))
from qmplib import (HMP, QMP, Kvmpc, TestFailure, check,  # noqa: E402
                    check_eq, connect_unix, no_kvm, run_tests, wait_for)
from test_timer_storm import QTest  # noqa: E402

VGA_DEVFN = 2 << 3
LFB = 0xE0000000
MMIO = 0xFEB00000
SKIPPED = []


def skip(name, reason):
    print("SKIP %s: %s" % (name, reason))
    SKIPPED.append(name)


# ---- the machine ----------------------------------------------------------

class Machine:
    def __init__(self, binary, extra):
        self.tmp = tempfile.mkdtemp(prefix="kvmpc-display-")
        qtest_path = os.path.join(self.tmp, "qtest.sock")
        qmp_path = os.path.join(self.tmp, "qmp.sock")
        hmp_path = os.path.join(self.tmp, "hmp.sock")
        self.vm = Kvmpc(binary, [
            "-machine", "pc", "-nodefaults", "-display", "none",
            "-accel", "qtest", "-qtest-log", "none",
            "-qtest", "unix:%s,server=on" % qtest_path,
            "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
            "-monitor", "unix:%s,server=on,wait=off" % hmp_path] + extra,
            tmpdir=self.tmp)
        wait_for(lambda: os.path.exists(qtest_path) or not self.vm.alive(),
                 what="qtest socket")
        check(self.vm.alive(), "kvmpc exited: %s" % self.vm.stderr())
        self.qt = QTest(qtest_path)
        self.vm.wait_socket(qmp_path)
        self.vm.wait_socket(hmp_path)
        self.qmp = QMP(qmp_path)
        self.hmp = HMP.unix(hmp_path)
        self.hmp.read_until(HMP.PROMPT)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def out(self, width, port, val):
        self.qt.cmd("out%s 0x%x 0x%x" % (width, port, val))

    def inp(self, width, port):
        return int(self.qt.cmd("in%s 0x%x" % (width, port))[0].split()[1], 16)

    def cfg_write(self, reg, val):
        self.out("l", 0xCF8, 0x80000000 | (VGA_DEVFN << 8) | reg)
        self.out("l", 0xCFC, val)

    def map_bars(self):
        self.cfg_write(0x10, LFB)
        self.cfg_write(0x18, MMIO)
        self.cfg_write(0x04, 0x3)

    def write(self, addr, data):
        for off in range(0, len(data), 1 << 20):
            chunk = data[off:off + (1 << 20)]
            self.qt.cmd("write 0x%x %d 0x%s" % (addr + off, len(chunk),
                                                chunk.hex()))

    def vbe(self, index, val):
        self.out("w", 0x1CE, index)
        self.out("w", 0x1CF, val)

    def vbe_mode(self, w, h, bpp):
        self.vbe(4, 0)
        self.vbe(1, w)
        self.vbe(2, h)
        self.vbe(3, bpp)
        self.vbe(4, 0x41)

    def screendump(self, fmt="ppm"):
        name = self.path("dump." + fmt)
        args = {"filename": name}
        if fmt != "ppm":
            args["format"] = fmt
        check_eq(self.qmp.cmd("screendump", args), {"return": {}},
                 "screendump " + fmt)
        with open(name, "rb") as f:
            data = f.read()
        return decode_ppm(data) if fmt == "ppm" else decode_png(data)

    def translate_set1(self):
        """Command byte 0x45: translation to set 1, as firmware leaves it."""
        self.out("b", 0x64, 0x60)
        self.out("b", 0x60, 0x45)

    def kbd_bytes(self, want, timeout=5.0):
        """Read @want bytes from the i8042 output buffer."""
        got = []
        end = time.time() + timeout
        while len(got) < want and time.time() < end:
            if self.inp("b", 0x64) & 1:
                got.append(self.inp("b", 0x60))
            else:
                time.sleep(0.01)
        return got

    def close(self):
        self.vm.close()


# ---- pictures -------------------------------------------------------------

def decode_ppm(data):
    check(data.startswith(b"P6\n"), "not a binary PPM")
    fields = data.split(b"\n", 3)
    w, h = map(int, fields[1].split())
    check_eq(int(fields[2]), 255, "PPM maxval")
    pixels = fields[3]
    check_eq(len(pixels), w * h * 3, "PPM data size")
    return w, h, pixels


def decode_png(data):
    """(w, h, RGB bytes) of an 8-bit RGB or RGBA PNG (alpha dropped)."""
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        check_eq(zlib.crc32(kind + body) & 0xFFFFFFFF, crc, "PNG chunk CRC")
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            check(depth == 8 and ctype in (2, 6), "PNG is not 8-bit RGB(A)")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = w * bpp
    out = bytearray()
    prev = bytearray(stride)
    for y in range(h):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        if bpp == 4:
            out += bytes(v for i, v in enumerate(line) if i % 4 != 3)
        else:
            out += line
        prev = line
    return w, h, bytes(out)


def compare(got, want_w, want_h, want_rgb, what):
    w, h, rgb = got
    check_eq((w, h), (want_w, want_h), what + " size")
    if rgb != want_rgb:
        for i in range(0, len(want_rgb), 3):
            if rgb[i:i + 3] != want_rgb[i:i + 3]:
                p = i // 3
                raise TestFailure("%s: pixel (%d,%d) is %s, want %s" % (
                    what, p % w, p // w, rgb[i:i + 3].hex(),
                    want_rgb[i:i + 3].hex()))


def vbe_picture(w, h):
    """A 32-bit picture and its RGB bytes: gradients and an XOR pattern."""
    fb = bytearray(w * h * 4)
    rgb = bytearray(w * h * 3)
    for y in range(h):
        for x in range(w):
            r, g, b = x & 0xFF, y & 0xFF, (x * 3 + y * 5) & 0xFF
            if (x // 64 + y // 64) % 2:
                r ^= 0xFF
            i = y * w + x
            fb[i * 4:i * 4 + 4] = bytes((b, g, r, 0))
            rgb[i * 3:i * 3 + 3] = bytes((r, g, b))
    return bytes(fb), bytes(rgb)


# ---- text mode ------------------------------------------------------------

def font_byte(c, line):
    return (c * 31 + line * 17 + 5) & 0xFF if line < 16 else 0


DAC = [((i * 4) & 63, (i * 9 + 7) & 63, (63 - i * 3) & 63) for i in range(16)]


def c6(v):
    return (v << 2) | (v >> 4)


def cell(i):
    """Character and attribute of cell @i of the test screen."""
    return (i * 7 + 3) & 0xFF, (((i // 80) % 8) << 4) | (i % 15 + 1)


def setup_text_mode(m):
    """Mode 3 the way a BIOS sets it, with a synthetic font in plane 2."""
    m.out("b", 0x3C2, 0x67)
    seq = {0: 0x03, 1: 0x00, 2: 0x04, 3: 0x00, 4: 0x06}
    for i, v in seq.items():
        m.out("b", 0x3C4, i)
        m.out("b", 0x3C5, v)
    for i, v in {1: 0x00, 3: 0x00, 4: 0x02, 5: 0x00, 6: 0x04,
                 8: 0xFF}.items():                      # plane 2, A0000
        m.out("b", 0x3CE, i)
        m.out("b", 0x3CF, v)
    font = bytes(font_byte(c, line) for c in range(256) for line in range(32))
    m.write(0xA0000, font)
    for i, v in {2: 0x03, 4: 0x02}.items():             # text again
        m.out("b", 0x3C4, i)
        m.out("b", 0x3C5, v)
    for i, v in {4: 0x00, 5: 0x10, 6: 0x0E}.items():
        m.out("b", 0x3CE, i)
        m.out("b", 0x3CF, v)
    crtc = {0x11: 0x00, 0x01: 79, 0x07: 0x02, 0x09: 0x0F, 0x0A: 0x20,
            0x0B: 0x00, 0x0C: 0, 0x0D: 0, 0x12: 0x8F, 0x13: 40, 0x17: 0xA3,
            0x18: 0xFF}
    for i, v in crtc.items():
        m.out("b", 0x3D4, i)
        m.out("b", 0x3D5, v)
    m.inp("b", 0x3DA)
    for i in range(16):
        m.out("b", 0x3C0, i)
        m.out("b", 0x3C0, i)
    for i, v in {0x10: 0x04, 0x11: 0, 0x12: 0x0F, 0x13: 0, 0x14: 0}.items():
        m.out("b", 0x3C0, i)
        m.out("b", 0x3C0, v)
    m.out("b", 0x3C0, 0x20)
    m.out("b", 0x3C8, 0)
    for r, g, b in DAC:
        for v in (r, g, b):
            m.out("b", 0x3C9, v)
    text = bytearray()
    for i in range(80 * 25):
        text += bytes(cell(i))
    m.write(0xB8000, bytes(text))


def text_picture():
    w, h = 720, 400
    rgb = bytearray(w * h * 3)
    colours = [bytes((c6(r), c6(g), c6(b))) for r, g, b in DAC]
    for y in range(h):
        row, line = divmod(y, 16)
        for col in range(80):
            ch, attr = cell(row * 80 + col)
            bits = font_byte(ch, line)
            for cx in range(9):
                if cx < 8:
                    on = (bits >> (7 - cx)) & 1
                else:
                    on = 0xC0 <= ch <= 0xDF and bits & 1
                p = (y * w + col * 9 + cx) * 3
                rgb[p:p + 3] = colours[attr & 15 if on else attr >> 4]
    return w, h, bytes(rgb)


# ---- a small RFB client -----------------------------------------------------

class RFB:
    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(10)
        check_eq(self.recv(12)[:4], b"RFB ", "RFB greeting")
        self.sock.sendall(b"RFB 003.008\n")
        n = self.recv(1)[0]
        types = self.recv(n)
        check(1 in types, "security type None offered: %r" % types)
        self.sock.sendall(b"\x01")
        check_eq(struct.unpack(">I", self.recv(4))[0], 0, "security result")
        self.sock.sendall(b"\x01")                      # shared
        self.w, self.h = struct.unpack(">HH", self.recv(4))
        self.fmt = self.recv(16)
        name_len = struct.unpack(">I", self.recv(4))[0]
        self.name = self.recv(name_len)
        # raw encoding and DesktopSize
        self.sock.sendall(struct.pack(">BBHii", 2, 0, 2, 0, -223))

    def recv(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise TestFailure("RFB connection closed")
            data += chunk
        return data

    def request(self, incremental, x=0, y=0, w=None, h=None):
        self.sock.sendall(struct.pack(">BBHHHH", 3, incremental, x, y,
                                      self.w if w is None else w,
                                      self.h if h is None else h))

    def pending(self, timeout):
        return bool(select.select([self.sock], [], [], timeout)[0])

    def read_update(self):
        """[(x, y, w, h, raw bytes)] of one FramebufferUpdate."""
        kind = self.recv(1)[0]
        check_eq(kind, 0, "server message type")
        n = struct.unpack(">xH", self.recv(3))[0]
        rects = []
        for _ in range(n):
            x, y, w, h, enc = struct.unpack(">HHHHi", self.recv(12))
            if enc == -223:
                self.w, self.h = w, h
                rects.append((x, y, w, h, None))
                continue
            check_eq(enc, 0, "raw encoding")
            rects.append((x, y, w, h, self.recv(w * h * 4)))
        return rects

    def key(self, keysym, down):
        self.sock.sendall(struct.pack(">BBxxI", 4, down, keysym))

    def pointer(self, mask, x, y):
        self.sock.sendall(struct.pack(">BBHH", 5, mask, x, y))

    def close(self):
        self.sock.close()


def rfb_to_rgb(raw):
    """The default 32-bit format: red in the low byte, little-endian."""
    out = bytearray()
    for i in range(0, len(raw), 4):
        out += raw[i:i + 3]
    return bytes(out)


# ---- tests ---------------------------------------------------------------

@no_kvm
def test_screendump_vbe(binary):
    """VBE 1024x768x32 written through the LFB; PPM and PNG exact."""
    m = Machine(binary, ["-device", "VGA"])
    try:
        m.map_bars()
        m.vbe_mode(1024, 768, 32)
        fb, rgb = vbe_picture(1024, 768)
        m.write(LFB, fb)
        compare(m.screendump("ppm"), 1024, 768, rgb, "PPM")
        compare(m.screendump("png"), 1024, 768, rgb, "PNG")
        # HMP too, and the device/head form
        out = m.hmp.command("screendump %s -f png" % m.path("h.png"))
        check_eq(out, "", "hmp screendump output")
        with open(m.path("h.png"), "rb") as f:
            compare(decode_png(f.read()), 1024, 768, rgb, "HMP PNG")
        err = m.qmp.error("screendump", {"filename": m.path("x.ppm"),
                                         "device": "nosuch"})
        check_eq(err["class"], "DeviceNotFound", "unknown device")
    finally:
        m.close()


def xor_picture(fb, rgb, key):
    """vbe_picture()'s bytes with each pixel XOR the 24-bit RGB key."""
    fb, rgb = bytearray(fb), bytearray(rgb)
    for i, k in enumerate(((key >> 16) & 0xFF, (key >> 8) & 0xFF,
                           key & 0xFF)):
        table = bytes(b ^ k for b in range(256))
        fb[2 - i::4] = fb[2 - i::4].translate(table)        # B, G, R, X
        rgb[i::3] = rgb[i::3].translate(table)
    return bytes(fb), bytes(rgb)


@no_kvm
def test_vbe_full_redraws(binary):
    """A screen redrawn whole between refreshes: after two refreshes that
    found every line dirty the VGA compares lines instead of fetching the
    dirty log (docs/display.md, "Dirty tracking"), and a refresh that
    finds few lines changed goes back to the log; every picture exact."""
    w, h = 320, 200
    m = Machine(binary, ["-device", "VGA"])
    try:
        m.map_bars()
        m.vbe_mode(w, h, 32)
        fb0, rgb0 = vbe_picture(w, h)
        # each screendump is a refresh (no front end runs the timer)
        for f in range(1, 7):
            fb, rgb = xor_picture(fb0, rgb0, f * 0x10305)
            m.write(LFB, fb)
            compare(m.screendump(), w, h, rgb, "whole frame %d" % f)
        # a few lines: seen by the comparison, which then stops
        rgb = bytearray(rgb)
        for y in (7, 100):
            m.write(LFB + y * w * 4, b"\x10\x20\x30\x00" * w)
            rgb[y * w * 3:(y + 1) * w * 3] = b"\x30\x20\x10" * w
        compare(m.screendump(), w, h, bytes(rgb), "two lines")
        # and the dirty log again: one pixel
        m.write(LFB + (150 * w + 9) * 4, b"\x01\x02\x03\x00")
        rgb[(150 * w + 9) * 3:(150 * w + 10) * 3] = b"\x03\x02\x01"
        compare(m.screendump(), w, h, bytes(rgb), "one pixel")
        # frame 6 again: every line dirty, three of them changed
        fb, rgb2 = xor_picture(fb0, rgb0, 6 * 0x10305)
        m.write(LFB, fb)
        compare(m.screendump(), w, h, rgb2, "whole frame again")
    finally:
        m.close()


@no_kvm
def test_screendump_vbe_formats(binary):
    """8-bit (DAC, 6 and 8 bits), 15, 16 and 24-bit VBE modes."""
    m = Machine(binary, ["-device", "VGA"])
    try:
        m.map_bars()
        w, h = 64, 8
        m.vbe_mode(w, h, 8)
        m.out("b", 0x3C8, 0)
        for i in range(256):
            for v in (i & 63, (i * 5) & 63, (255 - i) & 63):
                m.out("b", 0x3C9, v)
        m.write(LFB, bytes((x * 4 + y) & 0xFF for y in range(h)
                           for x in range(w)))
        want = bytearray()
        for y in range(h):
            for x in range(w):
                i = (x * 4 + y) & 0xFF
                want += bytes((c6(i & 63), c6((i * 5) & 63),
                               c6((255 - i) & 63)))
        compare(m.screendump(), w, h, bytes(want), "8-bit 6-bit DAC")
        m.vbe(4, 0x41 | 0x20 | 0x80)            # 8-bit DAC, keep memory
        want8 = bytearray()
        for y in range(h):
            for x in range(w):
                i = (x * 4 + y) & 0xFF
                want8 += bytes((i & 63, (i * 5) & 63, (255 - i) & 63))
        compare(m.screendump(), w, h, bytes(want8), "8-bit 8-bit DAC")
        for bpp in (15, 16, 24):
            m.vbe_mode(w, h, bpp)
            fb, want = bytearray(), bytearray()
            for y in range(h):
                for x in range(w):
                    r, g, b = x * 4, y * 32, (x + y) * 3 & 0xFF
                    if bpp == 24:
                        fb += bytes((b, g, r))
                        want += bytes((r, g, b))
                        continue
                    if bpp == 15:
                        v = (r >> 3) << 10 | (g >> 3) << 5 | b >> 3
                        rr, gg = r >> 3, g >> 3
                        want += bytes((rr << 3 | rr >> 2, gg << 3 | gg >> 2,
                                       (b >> 3) << 3 | (b >> 3) >> 2))
                    else:
                        v = (r >> 3) << 11 | (g >> 2) << 5 | b >> 3
                        rr, gg = r >> 3, g >> 2
                        want += bytes((rr << 3 | rr >> 2, gg << 2 | gg >> 4,
                                       (b >> 3) << 3 | (b >> 3) >> 2))
                    fb += struct.pack("<H", v)
            m.write(LFB, bytes(fb))
            compare(m.screendump(), w, h, bytes(want), "%d-bit" % bpp)
    finally:
        m.close()


@no_kvm
def test_screendump_text(binary):
    """80x25 text, font written into plane 2 through the legacy window."""
    m = Machine(binary, ["-device", "VGA"])
    try:
        m.map_bars()
        setup_text_mode(m)
        w, h, rgb = text_picture()
        compare(m.screendump("ppm"), w, h, rgb, "text PPM")
        compare(m.screendump("png"), w, h, rgb, "text PNG")
        # 8-dot cells: 640 wide, no ninth column
        m.out("b", 0x3C4, 1)
        m.out("b", 0x3C5, 0x01)
        got = m.screendump()
        check_eq(got[:2], (640, 400), "8-dot text size")
    finally:
        m.close()


@no_kvm
def test_bochs_display(binary):
    m = Machine(binary, ["-device", "bochs-display,id=bd"])
    try:
        m.map_bars()
        w, h = 320, 200
        for i, v in ((1, w), (2, h), (3, 32), (4, 0x41)):
            m.qt.cmd("writew 0x%x 0x%x" % (MMIO + 0x500 + i * 2, v))
        fb, rgb = vbe_picture(w, h)
        m.write(LFB, fb)
        name = m.path("bd.ppm")
        check_eq(m.qmp.cmd("screendump", {"filename": name, "device": "bd",
                                          "head": 0}), {"return": {}},
                 "screendump device=bd")
        with open(name, "rb") as f:
            compare(decode_ppm(f.read()), w, h, rgb, "bochs-display")
    finally:
        m.close()


def vnc_machine(binary, vnc, device="VGA"):
    m = Machine(binary, ["-device", device, "-vnc", vnc])
    m.map_bars()
    return m


@no_kvm
def test_dirty_rectangles(binary):
    """An idle screen sends nothing; a write sends only what changed."""
    sock_path = None
    m = None
    try:
        tmp = tempfile.mkdtemp(prefix="kvmpc-vnc-")
        sock_path = os.path.join(tmp, "vnc.sock")
        m = vnc_machine(binary, "unix:" + sock_path)
        w, h = 640, 480
        m.vbe_mode(w, h, 32)
        fb, rgb = vbe_picture(w, h)
        m.write(LFB, fb)
        # a screendump refreshes the console, which takes the writes out
        # of the framebuffer's dirty log now: a refresh after the client's
        # first full update would otherwise find them still dirty and
        # send them again, and the idle check below would see that
        m.screendump()
        rfb = RFB(connect_unix(sock_path))
        # the first update may predate the console's next refresh: ask
        # until the guest's picture arrives
        picture = bytearray(w * h * 3)
        end = time.time() + 10
        while time.time() < end and bytes(picture) != rgb:
            rfb.request(0)
            for x, y, rw, rh, raw in rfb.read_update():
                if raw is None or (rfb.w, rfb.h) != (w, h):
                    continue
                px = rfb_to_rgb(raw)
                for r in range(rh):
                    o = ((y + r) * w + x) * 3
                    picture[o:o + rw * 3] = px[r * rw * 3:(r + 1) * rw * 3]
        check(bytes(picture) == rgb, "VNC picture differs from the guest's")
        # idle: an incremental request stays unanswered
        rfb.request(1)
        check(not rfb.pending(0.6), "update sent for an unchanged screen")
        # a 4-pixel run and a 10x10 block
        changed = set()
        m.write(LFB + (200 * w + 100) * 4, b"\x11\x22\x33\x00" * 4)
        changed |= {(100 + i, 200) for i in range(4)}
        for r in range(10):
            m.write(LFB + ((50 + r) * w + 300) * 4, b"\x00\x00\xff\x00" * 10)
            changed |= {(300 + i, 50 + r) for i in range(10)}
        covered = set()
        while rfb.pending(1.0):
            for x, y, rw, rh, raw in rfb.read_update():
                covered |= {(x + i, y + j) for i in range(rw)
                            for j in range(rh)}
            rfb.request(1)
        check_eq(sorted(covered), sorted(changed), "updated pixels")
        rfb.close()
    finally:
        if m:
            m.close()


@no_kvm
def test_send_key(binary):
    """send-key, sendkey and input-send-event reach the PS/2 keyboard."""
    m = Machine(binary, [])
    try:
        m.translate_set1()
        keys = [{"type": "qcode", "data": "ctrl"},
                {"type": "qcode", "data": "alt"},
                {"type": "qcode", "data": "delete"}]
        check_eq(m.qmp.cmd("send-key", {"keys": keys, "hold-time": 50}),
                 {"return": {}}, "send-key")
        # the controller translates to set 1 by default
        check_eq(m.kbd_bytes(4), [0x1D, 0x38, 0xE0, 0x53], "key presses")
        check_eq(m.kbd_bytes(1, 0.2), [], "released early")
        m.qt.cmd("clock_step %d" % (50 * 1000000))
        check_eq(m.kbd_bytes(4), [0xE0, 0xD3, 0xB8, 0x9D], "key releases")
        # a key as a set 1 number
        m.qmp.ret("send-key", {"keys": [{"type": "number", "data": 0x1E}]})
        m.qt.cmd("clock_step %d" % (100 * 1000000))
        check_eq(m.kbd_bytes(2), [0x1E, 0x9E], "number 0x1e")
        err = m.qmp.error("send-key", {"keys": [{"type": "number",
                                                 "data": 0x7F}]})
        check("0x7f" in err["desc"], "bad number: %r" % err)
        # HMP
        check_eq(m.hmp.command("sendkey ctrl-alt-f1 10"), "", "sendkey")
        m.qt.cmd("clock_step %d" % (10 * 1000000))
        check_eq(m.kbd_bytes(6), [0x1D, 0x38, 0x3B, 0xBB, 0xB8, 0x9D],
                 "sendkey ctrl-alt-f1")
        check("invalid parameter" in m.hmp.command("sendkey nosuchkey"),
              "sendkey bad key")
        # input-send-event
        ev = [{"type": "key", "data": {"key": {"type": "qcode", "data": "b"},
                                       "down": True}},
              {"type": "key", "data": {"key": {"type": "qcode", "data": "b"},
                                       "down": False}}]
        m.qmp.ret("input-send-event", {"events": ev})
        check_eq(m.kbd_bytes(2), [0x30, 0xB0], "input-send-event b")
        # the mice
        mice = m.qmp.ret("query-mice")
        check_eq(len(mice), 1, "one mouse")
        check_eq(mice[0]["name"], "QEMU PS/2 Mouse", "mouse name")
        check(mice[0]["current"] and not mice[0]["absolute"], "mouse flags")
        check("* Mouse #%d: QEMU PS/2 Mouse" % mice[0]["index"] in
              m.hmp.command("info mice"), "info mice")
        check_eq(m.qmp.ret("query-display-options"), {"type": "none"},
                 "query-display-options")
    finally:
        m.close()


@no_kvm
def test_mouse(binary):
    """input-send-event and HMP mouse commands reach the PS/2 mouse."""
    m = Machine(binary, [])
    try:
        m.translate_set1()
        m.out("b", 0x64, 0xD4)          # to the mouse: enable reporting
        m.out("b", 0x60, 0xF4)
        check_eq(m.kbd_bytes(1), [0xFA], "mouse ACK")
        ev = [{"type": "rel", "data": {"axis": "x", "value": 5}},
              {"type": "rel", "data": {"axis": "y", "value": 10}},
              {"type": "btn", "data": {"button": "left", "down": True}}]
        m.qmp.ret("input-send-event", {"events": ev})
        # left button, y negative (PS/2 y grows upwards)
        check_eq(m.kbd_bytes(3), [0x29, 5, 0xF6], "mouse packet")
        ev = [{"type": "btn", "data": {"button": "left", "down": False}}]
        m.qmp.ret("input-send-event", {"events": ev})
        check_eq(m.kbd_bytes(3), [0x08, 0, 0], "button release")
        check_eq(m.hmp.command("mouse_button 2"), "", "mouse_button")
        check_eq(m.kbd_bytes(3), [0x0A, 0, 0], "right button")
        check_eq(m.hmp.command("mouse_button 0"), "", "mouse_button 0")
        check_eq(m.kbd_bytes(3), [0x08, 0, 0], "right button release")
        check_eq(m.hmp.command("mouse_move -3 4"), "", "mouse_move")
        check_eq(m.kbd_bytes(3), [0x38, 0xFD, 0xFC], "mouse_move packet")
    finally:
        m.close()


def free_display():
    """A display number whose port is free now (5900 + N)."""
    for n in range(90, 190):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", 5900 + n))
            return n
        except OSError:
            continue
        finally:
            s.close()
    raise TestFailure("no free VNC port")


def gvnccapture(addr, out, password=None, timeout=30):
    """Run gvnccapture; with @password, answer its prompt on a pty."""
    if password is None:
        r = subprocess.run(["gvnccapture", "--quiet", addr, out],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
        return r.returncode, r.stderr.decode(errors="replace")
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("gvnccapture", ["gvnccapture", "--debug" if os.environ.get(
            "GVNC_DEBUG") else "--quiet", addr, out])
    buf = b""
    end = time.time() + timeout
    sent = False
    status = None
    while time.time() < end:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                buf += os.read(fd, 4096)
            except OSError:
                pass
        # answer once the prompt is up and echo is off (input typed
        # earlier would be flushed when the terminal mode changes)
        try:
            echo = termios.tcgetattr(fd)[3] & termios.ECHO
        except termios.error:
            echo = True
        if not sent and b"assword" in buf and not echo:
            os.write(fd, password.encode() + b"\n")
            sent = True
    os.close(fd)
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        return -1, buf.decode(errors="replace") + " (timed out)"
    return os.waitstatus_to_exitcode(status), buf.decode(errors="replace")


@no_kvm
def test_vnc_clients(binary):
    """gvnccapture's picture is the screendump's; vncsnapshot connects."""
    if not shutil.which("gvnccapture"):
        skip("test_vnc_clients", "gvnccapture not installed (gvncviewer; "
             "scripts/install-deps.sh)")
        return
    n = free_display()
    m = vnc_machine(binary, "127.0.0.1:%d,to=%d" % (n, n + 50))
    try:
        w, h = 640, 480
        m.vbe_mode(w, h, 32)
        fb, rgb = vbe_picture(w, h)
        m.write(LFB, fb)
        info = m.qmp.ret("query-vnc")
        check(info["enabled"] and info["auth"] == "none", "query-vnc")
        port = int(info["service"])
        addr = "127.0.0.1:%d" % (port - 5900)
        out = m.path("g.png")
        rc, err = gvnccapture(addr, out)
        check_eq(rc, 0, "gvnccapture: " + err)
        with open(out, "rb") as f:
            compare(decode_png(f.read()), w, h, rgb, "gvnccapture")
        compare(m.screendump("png"), w, h, rgb, "screendump")
        ev = m.qmp.wait_event("VNC_CONNECTED")
        check_eq(ev["data"]["server"]["service"], str(port), "event server")
        m.qmp.wait_event("VNC_INITIALIZED")
        m.qmp.wait_event("VNC_DISCONNECTED")
        if shutil.which("vncsnapshot"):
            jpg = m.path("v.jpg")
            r = subprocess.run(["vncsnapshot", "-quiet", addr, jpg],
                               stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=30)
            check_eq(r.returncode, 0, "vncsnapshot: %r" % r.stderr[-300:])
            with open(jpg, "rb") as f:
                data = f.read()
            sof = data.find(b"\xff\xc0")
            check(sof > 0, "vncsnapshot wrote no JPEG frame")
            jh, jw = struct.unpack(">HH", data[sof + 5:sof + 9])
            check_eq((jw, jh), (w, h), "vncsnapshot size")
        else:
            skip("test_vnc_clients/vncsnapshot", "vncsnapshot not installed")
        text = m.hmp.command("info vnc")
        check("Server: 127.0.0.1:%d (ipv4)" % port in text,
              "info vnc: %r" % text)
        servers = m.qmp.ret("query-vnc-servers")
        check_eq(servers[0]["id"], "default", "query-vnc-servers id")
        # resize reaches the client's next connection
        m.vbe_mode(800, 600, 32)
        rc, err = gvnccapture(addr, out)
        check_eq(rc, 0, "gvnccapture after resize: " + err)
        with open(out, "rb") as f:
            check_eq(decode_png(f.read())[:2], (800, 600), "resized")
    finally:
        m.close()


@no_kvm
def test_vnc_password(binary):
    if not shutil.which("gvnccapture"):
        skip("test_vnc_password", "gvnccapture not installed")
        return
    n = free_display()
    m = vnc_machine(binary, "127.0.0.1:%d,to=%d,password=on" % (n, n + 50))
    try:
        m.vbe_mode(64, 64, 32)
        info = m.qmp.ret("query-vnc")
        check_eq(info["auth"], "vnc", "auth")
        addr = "127.0.0.1:%d" % (int(info["service"]) - 5900)
        out = m.path("p.png")
        # no password set yet: every login fails
        rc, _ = gvnccapture(addr, out, password="secret")
        check(rc != 0, "login without a password set")
        m.qmp.ret("set_password", {"protocol": "vnc", "password": "secret"})
        rc, _ = gvnccapture(addr, out, password="wrong")
        check(rc != 0, "wrong password accepted")
        rc, text = gvnccapture(addr, out, password="secret")
        check_eq(rc, 0, "right password: " + text)
        m.qmp.ret("expire_password", {"protocol": "vnc", "time": "now"})
        rc, _ = gvnccapture(addr, out, password="secret")
        check(rc != 0, "expired password accepted")
        check_eq(m.hmp.command("expire_password vnc never"), "",
                 "hmp expire_password")
        m.qmp.ret("change-vnc-password", {"password": "other"})
        rc, text = gvnccapture(addr, out, password="other")
        check_eq(rc, 0, "changed password: " + text)
        check_eq(m.hmp.command("set_password vnc third"), "",
                 "hmp set_password")
        rc, text = gvnccapture(addr, out, password="third")
        check_eq(rc, 0, "hmp password: " + text)
        err = m.qmp.error("set_password", {"protocol": "vnc",
                                           "password": "x",
                                           "connected": "fail"})
        check("connected" in err["desc"], "connected=fail: %r" % err)
    finally:
        m.close()


@no_kvm
def test_vnc_without_password_auth(binary):
    tmp = tempfile.mkdtemp(prefix="kvmpc-vnc-")
    m = vnc_machine(binary, "unix:" + os.path.join(tmp, "v.sock"))
    try:
        err = m.qmp.error("set_password", {"protocol": "vnc",
                                           "password": "x"})
        check("password" in err["desc"], "set_password without auth")
        info = m.qmp.ret("query-vnc")
        check_eq(info["family"], "unix", "unix family")
    finally:
        m.close()


@no_kvm
def test_vnc_keys_and_pointer(binary):
    """RFB KeyEvent and PointerEvent reach the i8042."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-vnc-")
    sock_path = os.path.join(tmp, "v.sock")
    m = vnc_machine(binary, "unix:" + sock_path)
    try:
        m.translate_set1()
        rfb = RFB(connect_unix(sock_path))
        rfb.key(0x61, 1)                # 'a'
        rfb.key(0x61, 0)
        check_eq(m.kbd_bytes(2), [0x1E, 0x9E], "keysym a")
        rfb.key(0xFF52, 1)              # Up
        rfb.key(0xFF52, 0)
        check_eq(m.kbd_bytes(4), [0xE0, 0x48, 0xE0, 0xC8], "keysym Up")
        rfb.key(0x41, 1)                # 'A' is the same key
        check_eq(m.kbd_bytes(1), [0x1E], "keysym A")
        m.out("b", 0x64, 0xD4)
        m.out("b", 0x60, 0xF4)
        check_eq(m.kbd_bytes(1), [0xFA], "mouse ACK")
        rfb.pointer(0, 100, 100)        # first report: the base position
        rfb.pointer(1, 110, 95)
        check_eq(m.kbd_bytes(3), [0x09, 10, 5], "pointer packet")
        rfb.close()
        m.qmp.wait_event("VNC_DISCONNECTED")
    finally:
        m.close()


@no_kvm
def test_options(binary):
    """-vga, -vnc and -display errors and the default VGA."""
    def run(args):
        return subprocess.run([binary, "-accel", "qtest", "-S"] + args +
                              ["-qmp", "stdio"], input=b"",
                              capture_output=True, timeout=30)
    r = run(["-vga", "cirrus"])
    check(r.returncode == 1 and b"cirrus" in r.stderr, "-vga cirrus")
    r = run(["-vnc", "nonsense"])
    check(r.returncode == 1 and b"-vnc" in r.stderr, "-vnc nonsense")
    r = run(["-vnc", ":1,tls-creds=x"])
    check(r.returncode == 1 and b"not supported" in r.stderr, "tls-creds")
    r = run(["-display", "gtk"])
    check(r.returncode == 1 and b"not available" in r.stderr, "-display gtk")
    # the pc machine has a VGA at 00:02.0 unless -nodefaults
    m = Machine(binary, ["-vga", "std"])
    try:
        out = m.hmp.command("info pci")
        check("Bus  0, device   2, function 0:" in out and
              "VGA controller: PCI device 1234:1111" in out,
              "-vga std: %r" % out)
    finally:
        m.close()


if __name__ == "__main__":
    run_tests([test_screendump_vbe, test_vbe_full_redraws,
               test_screendump_vbe_formats,
               test_screendump_text, test_bochs_display,
               test_dirty_rectangles, test_send_key, test_mouse,
               test_vnc_clients, test_vnc_password,
               test_vnc_without_password_auth, test_vnc_keys_and_pointer,
               test_options])
