#!/usr/bin/env python3
"""The SPICE server (-spice, -accel qtest): QMP, a link-level client of
its own, Debian's remote-viewer under Xvfb, and the vdagent channel.

The guest side is played over the qtest socket as in test_display.py; the
client side is a minimal SPICE link exchange written here (the
SpiceLinkMess of the SPICE protocol, enough to see the server accept or
refuse a ticket) and remote-viewer (virt-viewer) under Xvfb, whose window
is captured with xwd and typed into with xdotool.

    python3 test_spice.py /path/to/kvmpc [TEST...]

Exits 0, 1, or 77 when nothing could run; a test that needs a missing
program prints SKIP with the reason.
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "qmp"))
from qmplib import (TestFailure, check, check_eq, no_kvm,  # noqa: E402
                    run_tests)
from test_display import (LFB, Machine, compare, skip,  # noqa: E402
                          vbe_picture)

SPICE_MAGIC = b"REDQ"
SPICE_LINK_ERR_OK = 0
SPICE_LINK_ERR_PERMISSION_DENIED = 7
SPICE_CHANNEL_MAIN = 1
SPICE_CHANNEL_DISPLAY = 2
SPICE_CHANNEL_INPUTS = 3
SPICE_MSG_MAIN_INIT = 103
SPICE_MSG_INPUTS_INIT = 101
SPICE_MSG_INPUTS_KEY_MODIFIERS = 102
SPICE_MSGC_INPUTS_KEY_DOWN = 101
SPICE_MSGC_INPUTS_KEY_UP = 102
SPICE_MSGC_INPUTS_MOUSE_MOTION = 111
SPICE_MSGC_INPUTS_MOUSE_PRESS = 113


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def spice_machine(binary, spice_opts, extra=()):
    return Machine(binary, ["-device", "VGA", "-spice", spice_opts] +
                   list(extra))


# ---- a minimal SPICE client ---------------------------------------------

def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise TestFailure("server closed the link after %d of %d bytes"
                              % (len(data), n))
        data += chunk
    return data


def spice_link(port, password=None, timeout=10):
    """Link a main channel; returns the server's link result code.

    SpiceLinkHeader (magic, major 2, minor 2, size) + SpiceLinkMess
    (connection id 0, channel type main, id 0, no capabilities); the reply
    carries an RSA public key; the ticket is the password encrypted with
    it (RSA-OAEP, SHA-1) -- done with the 'cryptography' module when
    installed, else an empty ticket is sent (which a password refuses).
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        body = struct.pack("<IBBII", 0, SPICE_CHANNEL_MAIN, 0, 0, 0)
        body += struct.pack("<I", 18)           # caps offset: right after
        sock.sendall(SPICE_MAGIC + struct.pack("<III", 2, 2, len(body)) +
                     body)
        hdr = recv_exact(sock, 16)
        magic, major, _minor, size = struct.unpack("<4sIII", hdr)
        check_eq(magic, SPICE_MAGIC, "reply magic")
        check_eq(major, 2, "protocol major")
        reply = recv_exact(sock, size)
        error = struct.unpack("<I", reply[:4])[0]
        if error != SPICE_LINK_ERR_OK:
            return error
        pubkey_der = reply[4:4 + 162]
        ticket = encrypt_ticket(pubkey_der, password or "")
        sock.sendall(ticket)
        return struct.unpack("<I", recv_exact(sock, 4))[0]
    finally:
        sock.close()


class SpiceChannel:
    """One linked channel; messages with the full data header (serial,
    type, size, sub-list: no capabilities were announced)."""

    def __init__(self, port, channel_type, connection_id=0, password=""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        body = struct.pack("<IBBIII", connection_id, channel_type, 0, 0, 0,
                           18)
        self.sock.sendall(SPICE_MAGIC + struct.pack("<III", 2, 2, len(body))
                          + body)
        size = struct.unpack("<4sIII", recv_exact(self.sock, 16))[3]
        reply = recv_exact(self.sock, size)
        check_eq(struct.unpack("<I", reply[:4])[0], SPICE_LINK_ERR_OK,
                 "link reply")
        self.sock.sendall(encrypt_ticket(reply[4:4 + 162], password))
        check_eq(struct.unpack("<I", recv_exact(self.sock, 4))[0],
                 SPICE_LINK_ERR_OK, "link result")
        self.serial = 0

    def recv(self, want_type, timeout=10):
        """The body of the next message of @want_type (others skipped)."""
        end = time.time() + timeout
        while time.time() < end:
            self.sock.settimeout(max(0.1, end - time.time()))
            _serial, mtype, size, _sub = struct.unpack(
                "<QHII", recv_exact(self.sock, 18))
            body = recv_exact(self.sock, size)
            if mtype == want_type:
                return body
        raise TestFailure("no message of type %d" % want_type)

    def send(self, mtype, body):
        self.serial += 1
        self.sock.sendall(struct.pack("<QHII", self.serial, mtype, len(body),
                                      0) + body)

    def close(self):
        self.sock.close()


def encrypt_ticket(pubkey_der, password):
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
    except ImportError:
        return b"\0" * 128
    key = serialization.load_der_public_key(pubkey_der)
    return key.encrypt(password.encode() + b"\0", padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(),
        label=None))


def have_crypto():
    try:
        import cryptography  # noqa: F401
        return True
    except ImportError:
        return False


# ---- QMP and options ------------------------------------------------------

@no_kvm
def test_query_and_events(binary):
    """query-spice before/after a client; SPICE_* events; info spice."""
    port = free_port()
    m = spice_machine(binary, "port=%d,addr=127.0.0.1,disable-ticketing=on"
                      % port)
    try:
        info = m.qmp.ret("query-spice")
        check_eq(info["enabled"], True, "enabled")
        check_eq(info["port"], port, "port")
        check_eq(info["host"], "127.0.0.1", "host")
        check_eq(info["auth"], "none", "auth")
        check_eq(info["mouse-mode"], "server", "mouse-mode (PS/2 mouse)")
        check_eq(info.get("channels", []), [], "no channels yet")
        check("compiled-version" in info, "compiled-version")
        check_eq(spice_link(port), SPICE_LINK_ERR_OK, "link without ticket")
        ev = m.qmp.wait_event("SPICE_CONNECTED")
        check_eq(ev["data"]["client"]["host"], "127.0.0.1", "client host")
        check_eq(ev["data"]["server"]["port"], str(port), "server port")
        ev = m.qmp.wait_event("SPICE_INITIALIZED")
        check_eq(ev["data"]["client"]["channel-type"], SPICE_CHANNEL_MAIN,
                 "initialized channel")
        check_eq(ev["data"]["server"]["auth"], "none", "event auth")
        m.qmp.wait_event("SPICE_DISCONNECTED")
        out = m.hmp.command("info spice")
        check("address: 127.0.0.1:%d" % port in out and
              "auth: none" in out and "mouse-mode: server" in out,
              "info spice: %r" % out)
    finally:
        m.close()


@no_kvm
def test_password(binary):
    """Tickets: none set refuses; set_password; expire_password."""
    port = free_port()
    m = spice_machine(binary, "port=%d,addr=127.0.0.1" % port)
    try:
        check_eq(m.qmp.ret("query-spice")["auth"], "spice", "auth spice")
        check_eq(spice_link(port, "secret"),
                 SPICE_LINK_ERR_PERMISSION_DENIED, "no password set yet")
        m.qmp.ret("set_password", {"protocol": "spice",
                                   "password": "secret"})
        if have_crypto():
            check_eq(spice_link(port, "secret"), SPICE_LINK_ERR_OK,
                     "right password")
        else:
            print("# no python3-cryptography: the right-password case "
                  "is checked by remote-viewer")
        check_eq(spice_link(port, "wrong"), SPICE_LINK_ERR_PERMISSION_DENIED,
                 "wrong password")
        m.qmp.ret("expire_password", {"protocol": "spice", "time": "now"})
        check_eq(spice_link(port, "secret"),
                 SPICE_LINK_ERR_PERMISSION_DENIED, "expired")
        m.qmp.ret("expire_password", {"protocol": "spice", "time": "never"})
        if have_crypto():
            check_eq(spice_link(port, "secret"), SPICE_LINK_ERR_OK,
                     "never expires")
        check_eq(m.hmp.command("set_password spice other keep"), "",
                 "HMP set_password")
        check_eq(m.hmp.command("expire_password spice +600"), "",
                 "HMP expire_password")
        err = m.qmp.error("set_password", {"protocol": "spice",
                                           "password": "x",
                                           "connected": "nonsense"})
        check("connected" in err["desc"], "bad action: %r" % err)
    finally:
        m.close()
    # without -spice
    m = Machine(binary, [])
    try:
        check_eq(m.qmp.ret("query-spice")["enabled"], False, "disabled")
        err = m.qmp.error("set_password", {"protocol": "spice",
                                           "password": "x"})
        check("spice" in err["desc"], "set_password without spice")
        check("Server: disabled" in m.hmp.command("info spice"),
              "info spice disabled")
    finally:
        m.close()


@no_kvm
def test_options(binary):
    """Option errors name the option."""
    def run(args):
        quit_ = b'{"execute": "qmp_capabilities"}\n{"execute": "quit"}\n'
        return subprocess.run([binary, "-accel", "qtest", "-S"] + args +
                              ["-qmp", "stdio"], input=quit_,
                              capture_output=True, timeout=30)
    cases = [
        ("tls-port=5901", b"'tls-port' is not supported"),
        ("port=5901,sasl=on", b"'sasl' is not supported"),
        ("port=5901,x509-dir=/tmp", b"'x509-dir' is not supported"),
        ("port=5901,gl=on", b"'gl' is not supported"),
        ("port=5901,nonsense=1", b"Invalid parameter 'nonsense'"),
        ("addr=127.0.0.1", b"neither port nor tls-port"),
        ("port=99999", b"port is out of range"),
        ("port=5901,image-compression=zip", b"invalid image-compression"),
        ("port=5901,streaming-video=some", b"invalid streaming-video"),
        ("port=5901,agent-mouse=maybe", b"'agent-mouse' expects"),
        ("port=5901,unix=on", b"unix=on needs addr"),
        ("port=5901,password-secret=nosuch", b"nosuch"),
    ]
    for opts, want in cases:
        r = run(["-spice", opts])
        check(r.returncode == 1 and want in r.stderr,
              "-spice %s: rc %d %r" % (opts, r.returncode, r.stderr))
    r = run(["-chardev", "spicevmc,id=a,name=vdagent"])
    check(r.returncode == 1 and b"spice is not enabled" in r.stderr,
          "spicevmc without -spice: %r" % r.stderr)
    port = free_port()
    r = run(["-spice", "port=%d,disable-ticketing=on" % port,
             "-chardev", "spicevmc,id=a,name=nosuch"])
    check(r.returncode == 1 and b"unsupported spicevmc name" in r.stderr,
          "spicevmc bad name: %r" % r.stderr)
    r = run(["-spice", "port=%d,disable-ticketing=on" % port,
             "-chardev", "spicevmc,id=a"])
    check(r.returncode == 1 and b"missing name" in r.stderr,
          "spicevmc no name: %r" % r.stderr)
    # a port already in use
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    busy = s.getsockname()[1]
    try:
        r = run(["-spice", "port=%d,addr=127.0.0.1,disable-ticketing=on"
                 % busy])
        check(r.returncode == 1 and b"spice" in r.stderr,
              "busy port: %r" % r.stderr)
    finally:
        s.close()
    # the accepted ones start
    tmp = tempfile.mkdtemp(prefix="kvmpc-spice-")
    path = os.path.join(tmp, "spice.sock")
    for opts in ["port=%d,ipv4=on,disable-ticketing=on,image-compression=lz,"
                 "streaming-video=filter,agent-mouse=off,"
                 "seamless-migration=on,jpeg-wan-compression=never,"
                 "zlib-glz-wan-compression=always,playback-compression=off,"
                 "disable-copy-paste=on,disable-agent-file-xfer=on" % port,
                 "unix=on,addr=%s,disable-ticketing=on" % path]:
        r = run(["-spice", opts])
        check(r.returncode == 0, "-spice %s: %r" % (opts, r.stderr))


@no_kvm
def test_inputs_channel(binary):
    """Keys and mouse from the inputs channel; the guest's LEDs back."""
    if not have_crypto():
        skip("test_inputs_channel", "python3-cryptography not installed "
             "(the link ticket is RSA-OAEP encrypted)")
        return
    port = free_port()
    m = spice_machine(binary, "port=%d,addr=127.0.0.1,disable-ticketing=on"
                      % port)
    main = inputs = None
    try:
        m.translate_set1()
        main = SpiceChannel(port, SPICE_CHANNEL_MAIN)
        session = struct.unpack("<I", main.recv(SPICE_MSG_MAIN_INIT)[:4])[0]
        inputs = SpiceChannel(port, SPICE_CHANNEL_INPUTS, session)
        mods = struct.unpack("<H", inputs.recv(SPICE_MSG_INPUTS_INIT)[:2])[0]
        check_eq(mods, 0, "LEDs at start")
        # the guest sets num and caps lock: the client is told
        m.out("b", 0x60, 0xED)
        check_eq(m.kbd_bytes(1), [0xFA], "set LEDs ACK")
        m.out("b", 0x60, 0x06)
        check_eq(m.kbd_bytes(1), [0xFA], "LED value ACK")
        mods = struct.unpack(
            "<H", inputs.recv(SPICE_MSG_INPUTS_KEY_MODIFIERS)[:2])[0]
        check_eq(mods, 0x06, "LEDs sent to the client (num 2, caps 4)")
        # keys: set 1 scancodes, extended ones with their 0xe0 prefix
        for msg, code in [(SPICE_MSGC_INPUTS_KEY_DOWN, 0x1E),
                          (SPICE_MSGC_INPUTS_KEY_UP, 0x9E),
                          (SPICE_MSGC_INPUTS_KEY_DOWN, 0x48E0),
                          (SPICE_MSGC_INPUTS_KEY_UP, 0xC8E0)]:
            inputs.send(msg, struct.pack("<I", code))
        check_eq(m.kbd_bytes(6), [0x1E, 0x9E, 0xE0, 0x48, 0xE0, 0xC8],
                 "a, then Up, into the i8042")
        # relative motion with the left button (server mouse mode)
        m.out("b", 0x64, 0xD4)
        m.out("b", 0x60, 0xF4)
        check_eq(m.kbd_bytes(1), [0xFA], "mouse ACK")
        inputs.send(SPICE_MSGC_INPUTS_MOUSE_MOTION,
                    struct.pack("<iiH", 5, 10, 1))
        check_eq(m.kbd_bytes(3), [0x29, 5, 0xF6], "motion + left button")
        inputs.send(SPICE_MSGC_INPUTS_MOUSE_MOTION,
                    struct.pack("<iiH", -3, 0, 0))
        check_eq(m.kbd_bytes(3), [0x18, 0xFD, 0x00], "motion, released")
        check_eq(m.qmp.ret("query-spice")["mouse-mode"], "server",
                 "server mouse mode (PS/2 mouse, no agent)")
    finally:
        for c in (inputs, main):
            if c:
                c.close()
        m.close()


@no_kvm
def test_password_secret(binary):
    """password-secret= takes the ticket from a secret object."""
    if not have_crypto():
        skip("test_password_secret", "python3-cryptography not installed")
        return
    port = free_port()
    m = Machine(binary, ["-object", "secret,id=sec0,data=letmein",
                         "-spice", "port=%d,addr=127.0.0.1,"
                         "password-secret=sec0" % port])
    try:
        check_eq(spice_link(port, "letmein"), SPICE_LINK_ERR_OK, "secret")
        check_eq(spice_link(port, "wrong"),
                 SPICE_LINK_ERR_PERMISSION_DENIED, "wrong")
    finally:
        m.close()


# ---- remote-viewer under Xvfb -------------------------------------------

class Xvfb:
    def __init__(self, tmp):
        # the server picks a free display itself and writes its number
        # (-displayfd): two tests choosing one by looking at /tmp could
        # pick the same and talk to each other's server
        rfd, wfd = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(wfd), "-screen", "0",
             "1280x1024x24", "-nolisten", "tcp"], pass_fds=(wfd,),
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(tmp, "xvfb.log"), "wb"))
        os.close(wfd)
        with os.fdopen(rfd) as f:
            num = f.readline().strip()
        check(num.isdigit() and self.proc.poll() is None, "Xvfb exited")
        self.display = ":" + num
        self.env = dict(os.environ, DISPLAY=self.display)

    def run(self, args, **kw):
        return subprocess.run(args, env=self.env, capture_output=True,
                              timeout=30, **kw)

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


def find_window(x, name):
    r = x.run(["xdotool", "search", "--onlyvisible", "--name", name])
    ids = r.stdout.split()
    return int(ids[-1]) if ids else None


def xwd_rgb(x, win, tmp):
    """The window's pixels as (w, h, RGB bytes), through xwd's dump."""
    path = os.path.join(tmp, "win.xwd")
    r = x.run(["xwd", "-silent", "-id", str(win), "-out", path])
    check_eq(r.returncode, 0, "xwd: %r" % r.stderr)
    with open(path, "rb") as f:
        data = f.read()
    (hsize, _ver, _fmt, depth, w, h, _xoff, byte_order, _unit, _bo, _pad,
     bpp, bpl, _vclass, rmask, gmask, bmask, _bits, _ncol,
     ncolors) = struct.unpack(">20I", data[:80])
    _ = (depth, byte_order, rmask, gmask, bmask)
    check_eq(bpp, 32, "xwd bits per pixel")
    pix = data[hsize + ncolors * 12:]
    rgb = bytearray(w * h * 3)
    for yy in range(h):
        row = pix[yy * bpl:yy * bpl + w * 4]
        # 32-bit TrueColor, LSB first on this host: B, G, R, X
        rgb[yy * w * 3:(yy + 1) * w * 3] = bytes(
            b for i in range(0, w * 4, 4) for b in (row[i + 2], row[i + 1],
                                                      row[i]))
    return w, h, bytes(rgb)


def find_picture(win_rgb, want_w, want_h, want_rgb):
    """Where the guest picture sits in the window (its top-left row)."""
    w, h, rgb = win_rgb
    first = want_rgb[:want_w * 3]
    for yy in range(h - want_h + 1):
        row = rgb[yy * w * 3:(yy + 1) * w * 3]
        xx = row.find(first)
        while xx >= 0 and xx % 3:
            xx = row.find(first, xx + 1)
        if xx >= 0:
            return xx // 3, yy
    return None


def crop(win_rgb, x0, y0, cw, ch):
    w, _h, rgb = win_rgb
    out = bytearray()
    for yy in range(y0, y0 + ch):
        out += rgb[(yy * w + x0) * 3:(yy * w + x0 + cw) * 3]
    return cw, ch, bytes(out)


def viewer_prereqs(name):
    for prog in ("Xvfb", "remote-viewer", "xwd", "xdotool"):
        if not shutil.which(prog):
            skip(name, "%s not installed (install-deps.sh: xvfb, "
                 "virt-viewer, x11-apps, xdotool)" % prog)
            return False
    return True


class Viewer:
    """remote-viewer on @port under its own Xvfb."""

    def __init__(self, m, port, password=None):
        self.x = Xvfb(m.tmp)
        args = ["remote-viewer", "spice://127.0.0.1:%d" % port]
        self.log = open(os.path.join(m.tmp, "viewer.log"), "wb")
        env = dict(self.x.env, GDK_BACKEND="x11", NO_AT_BRIDGE="1",
                   GTK_A11Y="none")
        self.proc = subprocess.Popen(args, env=env, stdout=self.log,
                                     stderr=self.log)
        self.win = None

    def wait_window(self, timeout=20):
        end = time.time() + timeout
        while time.time() < end and self.proc.poll() is None:
            self.win = find_window(self.x, "remote-viewer|spice|kvmpc")
            if self.win:
                return self.win
            time.sleep(0.2)
        raise TestFailure("no remote-viewer window (rc %r)" % self.proc.poll())

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        self.x.close()


@no_kvm
def test_remote_viewer(binary):
    """remote-viewer shows the VBE picture; its keys reach the i8042."""
    if not viewer_prereqs("test_remote_viewer"):
        return
    port = free_port()
    m = spice_machine(binary, "port=%d,addr=127.0.0.1,disable-ticketing=on"
                      % port)
    v = None
    try:
        m.map_bars()
        gw, gh = 320, 200
        m.vbe_mode(gw, gh, 32)
        fb, rgb = vbe_picture(gw, gh)
        m.write(LFB, fb)
        compare(m.screendump("ppm"), gw, gh, rgb, "screendump")
        v = Viewer(m, port)
        win = v.wait_window()
        m.qmp.wait_event("SPICE_INITIALIZED")
        # the picture arrives within a few refresh ticks
        where, got = None, None
        end = time.time() + 15
        while time.time() < end:
            got = xwd_rgb(v.x, win, m.tmp)
            where = find_picture(got, gw, gh, rgb)
            if where:
                break
            time.sleep(0.3)
        check(where is not None, "guest picture not found in the viewer "
              "window (%dx%d)" % got[:2])
        compare(crop(got, where[0], where[1], gw, gh), gw, gh, rgb,
                "viewer window")
        chans = m.qmp.ret("query-spice")["channels"]
        types = sorted({c["channel-type"] for c in chans})
        check(SPICE_CHANNEL_MAIN in types and SPICE_CHANNEL_DISPLAY in types,
              "channels: %r" % types)
        # a change of the guest screen reaches the window
        m.write(LFB, b"\xff\xff\xff\x00" * (gw * 10))
        end = time.time() + 10
        while time.time() < end:
            got = xwd_rgb(v.x, win, m.tmp)
            row = crop(got, where[0], where[1], gw, 1)[2]
            if row == b"\xff" * (gw * 3):
                break
            time.sleep(0.3)
        check_eq(crop(got, where[0], where[1], gw, 1)[2], b"\xff" * (gw * 3),
                 "updated first line")
        # keys typed into the viewer reach the guest's keyboard
        m.translate_set1()
        v.x.run(["xdotool", "mousemove", "--window", str(win),
                 str(where[0] + gw // 2), str(where[1] + gh // 2)])
        v.x.run(["xdotool", "windowfocus", "--sync", str(win)])
        v.x.run(["xdotool", "key", "--window", str(win), "a"])
        got_keys = m.kbd_bytes(2, 10)
        check(0x1E in got_keys and 0x9E in got_keys,
              "'a' press/release in the i8042: %r" % got_keys)
        # a mode change: a new primary surface, the viewer follows
        nw, nh = 400, 300
        m.vbe_mode(nw, nh, 32)
        fb2, rgb2 = vbe_picture(nw, nh)
        fb2 = bytes(b ^ 0x55 if i % 4 != 3 else 0 for i, b in enumerate(fb2))
        rgb2 = bytes(b ^ 0x55 for b in rgb2)
        m.write(LFB, fb2)
        compare(m.screendump("ppm"), nw, nh, rgb2, "screendump after resize")
        where = None
        end = time.time() + 15
        while time.time() < end:
            got = xwd_rgb(v.x, win, m.tmp)
            where = find_picture(got, nw, nh, rgb2)
            if where:
                break
            time.sleep(0.3)
        check(where is not None, "resized picture not in the viewer "
              "window (%dx%d)" % got[:2])
        compare(crop(got, where[0], where[1], nw, nh), nw, nh, rgb2,
                "viewer window after resize")
    finally:
        if v:
            v.close()
        m.close()


# ---- the agent channel ------------------------------------------------------

if __name__ == "__main__":
    run_tests([test_query_and_events, test_password, test_password_secret,
               test_options, test_inputs_channel, test_remote_viewer])
