#!/usr/bin/env python3
"""Front ends beyond VNC (-accel qtest): the SDL2 window under Xvfb, vc
text consoles, -k keymaps and QEMU's extended key event over RFB, and the
browser console (noVNC served by kvmpc, driven in headless Chromium over
the DevTools protocol).

    python3 test_frontends.py /path/to/kvmpc [TEST...]

A test whose program (Xvfb, xwd, xdotool, chromium, the python3
websocket module, noVNC's files) is missing prints SKIP with the reason.
"""
import base64
import ctypes
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "qmp"))
from qmplib import (TestFailure, check, check_eq,  # noqa: E402
                    connect_unix, no_kvm, run_tests, wait_for)
from test_display import (LFB, RFB, Machine, compare, decode_png,  # noqa
                          decode_ppm, skip, vbe_picture)

FONT_W, FONT_H = 8, 16
PALETTE = [0x000000, 0x0000aa, 0x00aa00, 0x00aaaa, 0xaa0000, 0xaa00aa,
           0xaa5500, 0xaaaaaa, 0x555555, 0x5555ff, 0x55ff55, 0x55ffff,
           0xff5555, 0xff55ff, 0xffff55, 0xffffff]


def vga_font():
    """The 8x16 font of SeaBIOS's VGA BIOS (what the vc draws with)."""
    with open("/usr/share/seabios/vgabios-stdvga.bin", "rb") as f:
        rom = f.read()
    smiley = bytes([0, 0, 0x7e, 0x81, 0xa5, 0x81, 0x81, 0xbd, 0x99, 0x81,
                    0x81, 0x7e, 0, 0, 0, 0])
    off = rom.find(smiley)
    check(off >= 16, "font in vgabios-stdvga.bin")
    return rom[off - 16:off - 16 + 256 * 16]


def text_cell_rgb(font, ch, fg, bg):
    """The 8x16 RGB pixels of one cell, rows top to bottom."""
    out = []
    for line in range(FONT_H):
        bits = font[ch * FONT_H + line]
        row = b""
        for b in range(FONT_W):
            c = PALETTE[fg] if bits & (0x80 >> b) else PALETTE[bg]
            row += bytes(((c >> 16) & 255, (c >> 8) & 255, c & 255))
        out.append(row)
    return out


def check_text(img, font, x, y, text, fg=7, bg=0, what="text"):
    """Cells (x.., y) of screendump @img show @text."""
    w, h, rgb = img
    for i, ch in enumerate(text.encode()):
        want = text_cell_rgb(font, ch, fg, bg)
        for line in range(FONT_H):
            py = y * FONT_H + line
            px = (x + i) * FONT_W
            got = rgb[(py * w + px) * 3:(py * w + px + FONT_W) * 3]
            if got != want[line]:
                raise TestFailure("%s: cell (%d,%d) %r line %d differs" %
                                  (what, x + i, y, chr(ch), line))


def serial_write(m, data):
    for b in data:
        m.out("b", 0x3F8, b)


def serial_read(m, n, timeout=5.0):
    got = b""
    end = time.time() + timeout
    while len(got) < n and time.time() < end:
        if m.inp("b", 0x3FD) & 1:
            got += bytes([m.inp("b", 0x3F8)])
        else:
            time.sleep(0.01)
    return got


def dump_console(m, device, fmt="ppm"):
    name = m.path("con." + fmt)
    args = {"filename": name, "device": device}
    if fmt != "ppm":
        args["format"] = fmt
    check_eq(m.qmp.cmd("screendump", args), {"return": {}},
             "screendump device=" + device)
    with open(name, "rb") as f:
        data = f.read()
    return decode_ppm(data) if fmt == "ppm" else decode_png(data)


# ---- vc -------------------------------------------------------------------

@no_kvm
def test_vc_text(binary):
    """Serial output drawn on a vc; escapes; keys typed into it."""
    font = vga_font()
    tmp = tempfile.mkdtemp(prefix="kvmpc-vc-")
    sock_path = os.path.join(tmp, "v.sock")
    m = Machine(binary, ["-device", "VGA", "-serial", "vc:80Cx25C",
                         "-vnc", "unix:" + sock_path])
    try:
        serial_write(m, b"Hello, kvmpc!\r\nline 2")
        img = dump_console(m, "serial0")
        check_eq(img[:2], (640, 400), "80x25 vc size")
        check_text(img, font, 0, 0, "Hello, kvmpc!", what="line 1")
        check_text(img, font, 0, 1, "line", what="line 2")
        # cursor position, colours (red on blue, bold), erase in line
        serial_write(m, b"\033[5;10H\033[1;31;44mRED\033[0m\033[1;1HX\033[K")
        img = dump_console(m, "serial0", "png")
        check_text(img, font, 9, 4, "RED", fg=12, bg=1, what="SGR")
        check_text(img, font, 0, 0, "X", what="X")
        # (1, 0) is the cursor, drawn inverted
        check_text(img, font, 1, 0, " ", fg=0, bg=7, what="cursor")
        check_text(img, font, 2, 0, " " * 20, what="erase line")
        check_text(img, font, 0, 1, "line", what="line 2 kept")
        # cursor report goes back into the chardev
        serial_write(m, b"\033[6n")
        check_eq(serial_read(m, 6), b"\033[1;2R", "cursor position report")
        # scrolling: 30 more lines push line 2 off the top
        serial_write(m, b"".join(b"\r\nrow %d" % i for i in range(30)))
        img = dump_console(m, "serial0")
        check_text(img, font, 0, 24, "row 29", what="last row")
        check_text(img, font, 0, 23, "row 28", what="row above")
        # keys: a VNC client switches to console 2 with Ctrl-Alt-2 and
        # types; the serial port receives the characters
        rfb = RFB(connect_unix(sock_path))
        rfb.request(0)
        rfb.read_update()
        for k, d in ((0xFFE3, 1), (0xFFE9, 1), (0x32, 1), (0x32, 0),
                     (0xFFE9, 0), (0xFFE3, 0)):
            rfb.key(k, d)
        for ks in (0x68, 0x69, 0xFF0D, 0xFF52):   # h i Return Up
            rfb.key(ks, 1)
            rfb.key(ks, 0)
        check_eq(serial_read(m, 6), b"hi\r\033[A", "keys into the vc")
        # the client now sees the text console (640x400)
        deadline = time.time() + 5
        while rfb.h != 400 and time.time() < deadline:
            rfb.request(1)
            rfb.read_update()
        check_eq((rfb.w, rfb.h), (640, 400), "VNC shows the vc")
        rfb.close()
        err = m.qmp.error("screendump", {"filename": m.path("x.ppm"),
                                         "device": "serial0", "head": 1})
        check("serial0" in err["desc"], "head 1 of a vc: %r" % err)
    finally:
        m.close()


@no_kvm
def test_vc_scrollback(binary):
    """Shift/Ctrl-PageUp and Ctrl-Up scroll a vc's history (screendump)."""
    font = vga_font()
    tmp = tempfile.mkdtemp(prefix="kvmpc-vcsb-")
    sock_path = os.path.join(tmp, "v.sock")
    m = Machine(binary, ["-device", "VGA", "-serial", "vc:80Cx25C",
                         "-vnc", "unix:" + sock_path])
    try:
        # rows 0..59: rows 35..59 on screen, 0..34 in the history
        serial_write(m, b"\r\n".join(b"row %d" % i for i in range(60)))
        img = dump_console(m, "serial0")
        check_text(img, font, 0, 24, "row 59", what="bottom before")
        rfb = RFB(connect_unix(sock_path))
        rfb.request(0)
        rfb.read_update()

        def keys(*seq):
            for k, d in seq:
                rfb.key(k, d)

        def wait_row(y, text, what):
            deadline = time.time() + 5
            while True:
                img = dump_console(m, "serial0")
                try:
                    check_text(img, font, 0, y, text, what=what)
                    return img
                except TestFailure:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.05)

        # Ctrl-Alt-2 shows the vc to this client
        keys((0xFFE3, 1), (0xFFE9, 1), (0x32, 1), (0x32, 0), (0xFFE9, 0),
             (0xFFE3, 0))
        # Shift-PageUp: half a screen (12 rows) back
        keys((0xFFE1, 1), (0xFF55, 1), (0xFF55, 0), (0xFFE1, 0))
        wait_row(0, "row 23", "Shift-PageUp: top row")
        img = wait_row(24, "row 47", "Shift-PageUp: bottom row")
        # no cursor while scrolled back: the cell after "row 47" is blank
        check_text(img, font, 6, 24, " ", what="no cursor")
        # twice more: the oldest line kept is row 0, and no further
        for _ in range(3):
            keys((0xFFE1, 1), (0xFF55, 1), (0xFF55, 0), (0xFFE1, 0))
        wait_row(0, "row 0", "scrolled to the oldest line")
        # Ctrl-Down one line, Shift-PageDown half a screen
        keys((0xFFE3, 1), (0xFF54, 1), (0xFF54, 0), (0xFFE3, 0))
        wait_row(0, "row 1", "Ctrl-Down")
        keys((0xFFE1, 1), (0xFF56, 1), (0xFF56, 0), (0xFFE1, 0))
        wait_row(0, "row 13", "Shift-PageDown")
        # PageUp without a modifier goes to the guest, not the view
        keys((0xFF55, 1), (0xFF55, 0))
        check_eq(serial_read(m, 4), b"\033[5~", "PageUp typed")
        wait_row(24, "row 59", "typing shows the bottom again")
        # scroll back, then output returns to the bottom as well
        keys((0xFFE3, 1), (0xFF55, 1), (0xFF55, 0), (0xFFE3, 0))
        wait_row(24, "row 47", "Ctrl-PageUp")
        serial_write(m, b"\r\nnew")
        wait_row(24, "new", "output shows the bottom")
        check_text(dump_console(m, "serial0"), font, 0, 23, "row 59",
                   what="row above the new one")
        rfb.close()
    finally:
        m.close()


@no_kvm
def test_vc_options(binary):
    def run(args):
        return subprocess.run([binary, "-accel", "qtest", "-S", "-nodefaults",
                               "-display", "none"] + args + ["-qmp", "stdio"],
                              input=b'{"execute":"qmp_capabilities"}\n'
                              b'{"execute":"quit"}\n',
                              capture_output=True, timeout=30)
    r = run(["-chardev", "vc,id=v,cols=0"])
    check(r.returncode == 1 and b"cols" in r.stderr, "cols=0 refused")
    r = run(["-serial", "vc:junk"])
    check(r.returncode == 1 and b"vc" in r.stderr, "vc:junk refused")
    r = run(["-chardev", "vc,id=v,cols=100,rows=40"])
    check_eq(r.returncode, 0, "vc chardev: " + r.stderr.decode())


# ---- keymaps and the extended key event -------------------------------------

def ext_key_ack(rfb):
    """SetEncodings with -258; wait for the server's empty -258 rect."""
    rfb.sock.sendall(struct.pack(">BBHiii", 2, 0, 3, 0, -223, -258))
    deadline = time.time() + 5
    while time.time() < deadline:
        rfb.request(1)
        for (x, y, w, h, data) in rfb.read_update_any():
            if data == -258:
                return
    raise TestFailure("no extended key event acknowledgement")


def read_update_any(self):
    kind = self.recv(1)[0]
    check_eq(kind, 0, "server message type")
    n = struct.unpack(">xH", self.recv(3))[0]
    rects = []
    for _ in range(n):
        x, y, w, h, enc = struct.unpack(">HHHHi", self.recv(12))
        if enc in (-223, -258):
            rects.append((x, y, w, h, enc))
            continue
        check_eq(enc, 0, "raw encoding")
        rects.append((x, y, w, h, self.recv(w * h * 4)))
    return rects


RFB.read_update_any = read_update_any


@no_kvm
def test_keymap_and_ext_key(binary):
    """-k de: keysym z is the German Z key; raw scancodes pass unchanged."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-k-")
    sock_path = os.path.join(tmp, "v.sock")
    m = Machine(binary, ["-device", "VGA", "-k", "de",
                         "-vnc", "unix:" + sock_path])
    try:
        m.translate_set1()
        rfb = RFB(connect_unix(sock_path))
        rfb.key(ord("z"), 1)
        rfb.key(ord("z"), 0)
        # German Z is where a US keyboard has Y: set 1 0x15
        check_eq(m.kbd_bytes(2), [0x15, 0x95], "-k de: z")
        rfb.key(ord("y"), 1)
        rfb.key(ord("y"), 0)
        check_eq(m.kbd_bytes(2), [0x2C, 0xAC], "-k de: y")
        rfb.key(0xF6, 1)                    # odiaeresis: US ';' key
        rfb.key(0xF6, 0)
        check_eq(m.kbd_bytes(2), [0x27, 0xA7], "-k de: o umlaut")
        ext_key_ack(rfb)
        # keysym z with the scancode of Q: the scancode wins
        rfb.sock.sendall(struct.pack(">BBHII", 255, 0, 1, ord("z"), 0x10))
        rfb.sock.sendall(struct.pack(">BBHII", 255, 0, 0, ord("z"), 0x10))
        check_eq(m.kbd_bytes(2), [0x10, 0x90], "extended key event")
        # an E0 key: Up is 0xc8 in QEMU's numbering
        rfb.sock.sendall(struct.pack(">BBHII", 255, 0, 1, 0xFF52, 0xC8))
        check_eq(m.kbd_bytes(2), [0xE0, 0x48], "extended key event E0")
        rfb.close()
    finally:
        m.close()
    r = subprocess.run([binary, "-accel", "qtest", "-S", "-k", "xx",
                        "-qmp", "stdio"], input=b"", capture_output=True,
                       timeout=30)
    check(r.returncode == 1 and b"keyboard layout" in r.stderr, "-k xx")


# ---- SDL under Xvfb ---------------------------------------------------------

class Xvfb:
    def __init__(self):
        # the server picks a free display and writes its number
        # (-displayfd), so parallel tests never share one
        rfd, wfd = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(wfd), "-screen", "0",
             "1600x1200x24", "-nolisten", "tcp"], pass_fds=(wfd,),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(wfd)
        with os.fdopen(rfd) as f:
            num = f.readline().strip()
        check(num.isdigit() and self.proc.poll() is None, "Xvfb exited")
        self.num = int(num)
        self.display = ":" + num

    def env(self):
        e = dict(os.environ)
        e["DISPLAY"] = self.display
        return e

    def run(self, *args):
        return subprocess.run(list(args), env=self.env(), capture_output=True,
                              timeout=30).stdout.decode()

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def xwd_rgb(x, wid):
    """(w, h, RGB) of window @wid from an xwd dump (ZPixmap, 24/32 bpp)."""
    data = subprocess.run(["xwd", "-silent", "-id", str(wid)],
                          env=x.env(), capture_output=True,
                          timeout=30).stdout
    hdr = struct.unpack(">25I", data[:100])
    hsize, fmt, depth, w, h = hdr[0], hdr[2], hdr[3], hdr[4], hdr[5]
    byte_order, bpp, bpl, ncolors = hdr[7], hdr[11], hdr[12], hdr[19]
    check(fmt == 2 and bpp == 32 and depth == 24, "xwd format %r" % (hdr,))
    pix = data[hsize + ncolors * 12:]
    out = bytearray()
    for y in range(h):
        row = pix[y * bpl:y * bpl + w * 4]
        for i in range(0, w * 4, 4):
            b, g, r = (row[i], row[i + 1], row[i + 2]) if byte_order == 0 \
                else (row[i + 3], row[i + 2], row[i + 1])
            out += bytes((r, g, b))
    return w, h, bytes(out)


def send_wm_delete(display, wid):
    """What a window manager's close button does: WM_DELETE_WINDOW."""
    x11 = ctypes.cdll.LoadLibrary("libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int,
                               ctypes.c_long, ctypes.c_void_p]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]

    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong),
                    ("send_event", ctypes.c_int),
                    ("display", ctypes.c_void_p),
                    ("window", ctypes.c_ulong),
                    ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("l", ctypes.c_long * 5),
                    ("pad", ctypes.c_long * 16)]
    dpy = x11.XOpenDisplay(display.encode())
    check(dpy, "XOpenDisplay")
    ev = ClientMessage()
    ev.type = 33                            # ClientMessage
    ev.window = wid
    ev.message_type = x11.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
    ev.format = 32
    ev.l[0] = x11.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
    ev.l[1] = 0                             # CurrentTime
    x11.XSendEvent(dpy, wid, 0, 0, ctypes.byref(ev))
    x11.XFlush(dpy)
    x11.XCloseDisplay(dpy)


def wait_window(x, name):
    found = []

    def look():
        out = x.run("xdotool", "search", "--name", name).split()
        if out:
            found.append(int(out[0]))
        return bool(out)
    wait_for(look, timeout=20, what="SDL window %r" % name)
    return found[0]


def wait_picture(x, wid, want, what, timeout=30):
    # generous: a loaded 2-core host (make check runs two tests at once,
    # Xvfb and xwd included) once took over 10 s to show a new mode
    w, h, rgb = want
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = xwd_rgb(x, wid)
        if got[0] == w and got[1] == h and got[2] == rgb:
            return
        time.sleep(0.2)
    compare(got, w, h, rgb, what)


@no_kvm
def test_sdl_window(binary):
    """The SDL window shows the VBE picture, takes keys, follows modes."""
    for prog in ("Xvfb", "xwd", "xdotool"):
        if not shutil.which(prog):
            skip("test_sdl_window", "%s is not installed" % prog)
            return
    font = vga_font()
    fb, rgb = vbe_picture(1024, 768)
    x = Xvfb()
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = x.display
    try:
        m = Machine(binary, ["-device", "VGA", "-name", "sdltest",
                             "-serial", "vc:80Cx25C",
                             "-display", "sdl,gl=off"])
    finally:
        if old is None:
            del os.environ["DISPLAY"]
        else:
            os.environ["DISPLAY"] = old
    try:
        # The mode change and picture come first, before anything else
        # talks to kvmpc: they usually land before the first refresh tick,
        # so the window is resized before it ever presented a frame.  SDL's
        # OpenGL-backed window surface then showed the picture 288 rows up
        # (issue 10; ui/sdl2.c turns that path off).
        m.map_bars()
        m.vbe_mode(1024, 768, 32)
        m.write(LFB, fb)
        wid = wait_window(x, "sdltest - kvmpc")
        check_eq(m.qmp.cmd("query-display-options")["return"],
                 {"type": "sdl", "full-screen": False, "window-close": True,
                  "show-cursor": False}, "query-display-options")
        dump = m.screendump()
        compare(dump, 1024, 768, rgb, "screendump")
        wait_picture(x, wid, dump, "SDL window (1024x768)")
        # a small change reaches the window (dirty rectangle)
        m.write(LFB + (100 * 1024 + 200) * 4, b"\xff\xff\xff\x00" * 16)
        wait_picture(x, wid, m.screendump(), "after a 16-pixel write")
        # the window follows a mode change
        m.vbe_mode(800, 600, 32)
        fb2, rgb2 = vbe_picture(800, 600)
        m.write(LFB, fb2)
        wait_picture(x, wid, (800, 600, rgb2), "SDL window (800x600)")
        # the user resizes: the picture is scaled into the window
        x.run("xdotool", "windowsize", str(wid), "400", "300")
        seen = []

        def scaled():
            w, h, got = xwd_rgb(x, wid)
            if (w, h) != (400, 300):
                return False
            # window (10,10) shows guest (20,20): red 20; (40,10) shows
            # (80,20), in the next 64x64 block, inverted: red 0xaf
            p = got[(10 * 400 + 10) * 3:(10 * 400 + 10) * 3 + 3]
            q = got[(10 * 400 + 40) * 3:(10 * 400 + 40) * 3 + 3]
            seen[:] = [p.hex(), q.hex()]
            return abs(p[0] - 20) < 8 and abs(q[0] - 0xaf) < 8
        try:
            wait_for(scaled, timeout=10, what="scaled picture")
        except TestFailure:
            raise TestFailure("scaled picture: %r" % seen)
        x.run("xdotool", "windowsize", str(wid), "800", "600")
        # keys typed into the focused window reach the i8042 (set 1)
        m.translate_set1()
        x.run("xdotool", "windowfocus", "--sync", str(wid))
        time.sleep(0.3)
        x.run("xdotool", "key", "--window", "0", "a")
        check_eq(m.kbd_bytes(2), [0x1E, 0x9E], "key a")
        x.run("xdotool", "key", "Up")
        check_eq(m.kbd_bytes(4), [0xE0, 0x48, 0xE0, 0xC8], "key Up")
        # Ctrl-Alt-2 shows the serial console; typing goes to the port
        serial_write(m, b"serial text")
        x.run("xdotool", "key", "ctrl+alt+2")
        vc = dump_console(m, "serial0")
        check_text(vc, font, 0, 0, "serial text", what="vc dump")
        wait_for(lambda: x.run("xdotool", "getwindowname", str(wid)).strip()
                 == "sdltest - kvmpc: serial0", timeout=5,
                 what="title on the vc")
        wait_picture(x, wid, vc, "SDL window on the vc")
        m.kbd_bytes(16, timeout=0.5)        # Ctrl/Alt presses and releases
        x.run("xdotool", "type", "ok")
        check_eq(serial_read(m, 2), b"ok", "typed into the vc")
        check_eq(m.kbd_bytes(1, timeout=0.5), [], "nothing to the i8042")
        x.run("xdotool", "key", "ctrl+alt+1")
        wait_picture(x, wid, (800, 600, rgb2), "back on the VGA")
        # Ctrl-Alt-G grabs: the title says how to release
        x.run("xdotool", "key", "ctrl+alt+g")
        wait_for(lambda: "release grab" in x.run(
            "xdotool", "getwindowname", str(wid)), timeout=5, what="grab")
        x.run("xdotool", "key", "ctrl+alt+g")
        # the close button asks the guest to power down
        send_wm_delete(x.display, wid)
        m.qmp.wait_event("POWERDOWN")
        check(m.vm.alive(), "kvmpc still runs after the close button")
    finally:
        m.close()
        x.close()


@no_kvm
def test_sdl_options(binary):
    def run(args):
        return subprocess.run([binary, "-accel", "qtest", "-S", "-nodefaults"]
                              + args + ["-qmp", "stdio"], input=b"",
                              capture_output=True, timeout=30)
    r = run(["-display", "sdl,gl=on"])
    check(r.returncode == 1 and b"gl=on is not supported" in r.stderr,
          "gl=on: %r" % r.stderr)
    r = run(["-display", "sdl,grab-mod=foo"])
    check(r.returncode == 1 and b"grab-mod" in r.stderr, "grab-mod=foo")
    r = run(["-display", "sdl,bogus=1"])
    check(r.returncode == 1 and b"bogus" in r.stderr, "bogus")
    r = subprocess.run([binary, "-display", "help"], capture_output=True,
                       timeout=30)
    check(b"sdl" in r.stdout, "-display help lists sdl")


# ---- the browser console -------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Chromium:
    def __init__(self, url):
        import websocket
        self.tmp = tempfile.mkdtemp(prefix="kvmpc-chromium-")
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--user-data-dir=" + self.tmp,
             "--remote-debugging-port=%d" % self.port,
             "--window-size=1300,1000", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pages = []

        def page():
            try:
                with urllib.request.urlopen(
                        "http://127.0.0.1:%d/json/list" % self.port,
                        timeout=2) as r:
                    lst = json.load(r)
            except OSError:
                return False
            pages[:] = [p for p in lst if p.get("type") == "page"]
            return bool(pages)
        wait_for(page, timeout=30, what="Chromium's DevTools")
        self.ws = websocket.create_connection(
            pages[0]["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method,
                                 "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise TestFailure("%s: %s" % (method, msg["error"]))
                return msg["result"]

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr,
                      returnByValue=True, awaitPromise=True)
        return r["result"].get("value")

    def key(self, code, key, vk):
        for t in ("rawKeyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=t, code=code, key=key,
                      windowsVirtualKeyCode=vk, nativeVirtualKeyCode=vk)

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


CANVAS_PNG = """(() => { const c = document.querySelector('canvas');
  if (!c || c.width < 2) return null;
  return c.width + 'x' + c.height + ' ' + c.toDataURL('image/png'); })()"""


@no_kvm
def test_browser_console(binary):
    """noVNC from kvmpc's websocket port shows the screen and takes keys."""
    if not shutil.which("chromium"):
        skip("test_browser_console", "chromium is not installed")
        return
    if not os.path.exists("/usr/share/novnc/vnc.html"):
        skip("test_browser_console", "novnc is not installed")
        return
    try:
        import websocket  # noqa: F401
    except ImportError:
        # Debian's python3-websocket, when this is another Python
        sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import websocket  # noqa: F401,F811
    except ImportError:
        skip("test_browser_console", "python3-websocket is not installed")
        return
    ws_port = free_port()
    # -k de: a keysym y would be the German Y key (set 1 0x2c); noVNC
    # sends extended key events, so the physical key (0x15) arrives
    m = Machine(binary, ["-device", "VGA", "-k", "de", "-vnc",
                         "127.0.0.1:0,to=99,websocket=127.0.0.1:%d" %
                         ws_port])
    browser = None
    try:
        url = "http://127.0.0.1:%d/" % ws_port
        wait_for(lambda: url in m.vm.stderr(), what="URL on stderr")
        m.map_bars()
        m.vbe_mode(640, 480, 32)
        fb, rgb = vbe_picture(640, 480)
        m.write(LFB, fb)
        dump = m.screendump()
        browser = Chromium(url)
        got = [None]

        def shown():
            v = browser.eval(CANVAS_PNG)
            if not v:
                return False
            size, data = v.split(" ", 1)
            img = decode_png(base64.b64decode(data.split(",", 1)[1]))
            got[0] = img
            return img[:2] == (640, 480) and img[2] == dump[2]
        try:
            wait_for(shown, timeout=30, what="the picture in noVNC")
        except TestFailure:
            if got[0]:
                compare(got[0], 640, 480, dump[2], "noVNC canvas")
            raise
        # the page's own screenshot, 1:1 at the canvas's place
        rect = browser.eval("""(() => { const r = document.querySelector(
            'canvas').getBoundingClientRect(); return [r.x, r.y, r.width,
            r.height]; })()""")
        check_eq([int(v) for v in rect[2:]], [640, 480], "canvas not scaled")
        shot = browser.call("Page.captureScreenshot", format="png", clip={
            "x": rect[0], "y": rect[1], "width": 640, "height": 480,
            "scale": 1})
        compare(decode_png(base64.b64decode(shot["data"])), 640, 480,
                dump[2], "Chromium screenshot")
        # keys typed into the page reach the i8042
        m.translate_set1()
        browser.eval("document.querySelector('canvas').focus(), 1")
        browser.key("KeyA", "a", 65)
        check_eq(m.kbd_bytes(2), [0x1E, 0x9E], "key a from the browser")
        browser.key("KeyY", "y", 89)
        check_eq(m.kbd_bytes(2), [0x15, 0x95],
                 "KeyY as a scancode (extended key event), not keysym y")
        browser.key("ArrowUp", "ArrowUp", 38)
        check_eq(m.kbd_bytes(4), [0xE0, 0x48, 0xE0, 0xC8], "Up from browser")
        # only noVNC's directory is served
        for bad in ("/../../../etc/passwd", "/%2e%2e/etc/passwd",
                    "/app/../../etc/passwd"):
            s = socket.create_connection(("127.0.0.1", ws_port), timeout=10)
            s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % bad.encode())
            reply = s.recv(100)
            s.close()
            check(reply.startswith(b"HTTP/1.1 404"), "%s: %r" % (bad, reply))
    finally:
        if browser:
            browser.close()
        m.close()


@no_kvm
def test_display_web(binary):
    """-display web,port=N: the browser console alone, on localhost."""
    if not os.path.exists("/usr/share/novnc/vnc.html"):
        skip("test_display_web", "novnc is not installed")
        return
    port = free_port()
    m = Machine(binary, ["-device", "VGA", "-display", "web,port=%d" % port])
    try:
        url = "http://127.0.0.1:%d/" % port
        wait_for(lambda: url in m.vm.stderr(), what="URL on stderr")
        with urllib.request.urlopen(url + "vnc.html", timeout=10) as r:
            check_eq(r.status, 200, "vnc.html")
            check_eq(r.headers["Content-Type"], "text/html; charset=utf-8",
                     "content type")
            check(b"noVNC" in r.read(), "noVNC's page")
        with urllib.request.urlopen(url + "core/rfb.js", timeout=10) as r:
            check_eq(r.headers["Content-Type"], "application/javascript",
                     "module MIME type")
        # "/" redirects to the auto-connecting page
        with urllib.request.urlopen(url, timeout=10) as r:
            check("autoconnect=true" in r.url, "redirect: %s" % r.url)
        servers = m.qmp.cmd("query-vnc-servers")["return"]
        check(any(s["id"] == "web" and any(l["websocket"] for l in
                                            s["server"]) for s in servers),
              "query-vnc-servers: %r" % servers)
    finally:
        m.close()


if __name__ == "__main__":
    run_tests([test_vc_text, test_vc_scrollback, test_vc_options, test_keymap_and_ext_key,
               test_sdl_window, test_sdl_options, test_browser_console,
               test_display_web])
