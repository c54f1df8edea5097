#!/usr/bin/env python3
"""The display path end to end: a guest redrawing the whole 1024x768x32
VBE screen, seen through VNC, kvmpc against Debian's qemu-system-x86_64
-enable-kvm (QEMU 7.2) with the same payload and options.

The guest is tests/guest/vbe-draw.c in bench mode ("bench=redraw"): it
draws whole frames back to back at CPL 3, each one differing from every
other in every pixel, so every refresh of either emulator has the whole
screen to send.  Each emulator runs with -vga std -display none and its
VNC server on a unix socket; this script is the VNC client (RFB 3.8, no
authentication, 32 bpp x8r8g8b8 little-endian: QEMU's native format,
the one most viewers ask for; SetEncodings with one encoding and
DesktopSize).  Like an ordinary viewer it asks for the next incremental
update as soon as it has read the previous one, and counts for SECS
seconds:

    updates/s     FramebufferUpdate messages whose rectangles cover the
                  whole screen (partial ones are counted apart);
    bytes/update  the whole message, headers included;
    guest fps     the frames the guest drew meanwhile (its own count);
    CPU/update    the emulator's threads' run time (schedstat) other than
                  its vCPU thread ("CPU 0/KVM": both run with
                  -name debug-threads=on), per update.

Rows: Raw (both programs copy pixels; the same 3 MiB per update) and
ZRLE (both compress with zlib; the client reads each rectangle by its
length prefix, it does not decode).

Idle rows: the guest draws one frame and halts ("bench=idle": cli; hlt,
so the vCPU sleeps in KVM and the emulator's own work is all that is
left); each emulator's host CPU time over SECS seconds, from
/proc/PID/stat (utime + stime, clock ticks) and from
/proc/PID/task/*/schedstat (ns), and its context switches (wake-ups),
first with no VNC client (from 4 s after the guest halted: past any
start-up work), then with this client connected and an
incremental request outstanding (from 2 s after it connected).

The programs alternate run by run; medians and kvmpc/QEMU ratios are
printed, with the host's limits measured in the same run: memcpy of a
3 MiB frame, and 3 MiB frames through a unix socket into this client
(the fastest any VNC server could feed it).

    bench/display.py [BUILD_DIR] [RUNS] [SECS] [--raw-only]

Prints SKIP and exits 77 without /dev/kvm.
"""
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

W, H = 1024, 768
FRAME = W * H * 4
ENC_RAW, ENC_ZRLE, ENC_DESKTOP_SIZE = 0, 16, -223
ENCODINGS = {"raw": ENC_RAW, "zrle": ENC_ZRLE}
FPS_RE = re.compile(r"vbe-draw: frames=(\d+) fps=(\d+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def skip(reason):
    print(f"SKIP: display.py: {reason}")
    sys.exit(77)


# ---- the emulator ---------------------------------------------------------

class Guest:
    """One emulator process running vbe-draw in bench mode, its COM1 lines
    collected by a thread."""

    def __init__(self, prog, payload, mode, tmp):
        self.sock_path = os.path.join(tmp, "vnc-%d.sock" % time.monotonic_ns())
        cmd = [prog]
        if os.path.basename(prog).startswith("qemu"):
            cmd += ["-enable-kvm", "-machine", "pc"]
        # named threads: "CPU 0/KVM" is the vCPU in both programs
        cmd += ["-name", "bench,debug-threads=on",
                "-nodefaults", "-vga", "std", "-display", "none",
                "-vnc", "unix:" + self.sock_path, "-serial", "stdio",
                "-m", "128M", "-kernel", payload, "-append", "bench=" + mode]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for raw in self.proc.stdout:
            with self.cond:
                self.lines.append(raw.decode(errors="replace").rstrip())
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_line(self, text, timeout=120):
        end = time.monotonic() + timeout
        with self.cond:
            while not any(text in line for line in self.lines):
                left = end - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError("no '%s' from the guest: %s" %
                                       (text, "\n".join(self.lines[-20:])))
                self.cond.wait(min(left, 0.5))

    def guest_fps(self, since):
        """The guest's own frame rates reported after line index since."""
        with self.cond:
            return [int(m.group(2)) for m in
                    (FPS_RE.search(line) for line in self.lines[since:]) if m]

    def cpu(self):
        """(utime+stime seconds, schedstat seconds, context switches,
        schedstat seconds outside the vCPU threads) of every thread."""
        pid = self.proc.pid
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])     # utime, stime
        ns = switches = emu_ns = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    vcpu = f.read().startswith("CPU ")
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    t = int(f.read().split()[0])
                ns += t
                emu_ns += 0 if vcpu else t
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if "ctxt_switches:" in line:    # (non)voluntary
                            switches += int(line.split()[-1])
            except OSError:
                pass            # a thread that just ended
        return ticks / CLK_TCK, ns / 1e9, switches, emu_ns / 1e9

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        try:
            os.unlink(self.sock_path)
        except OSError:
            pass


# ---- the VNC client -------------------------------------------------------

class RFB:
    """A minimal RFB 3.8 client: no authentication, 32 bpp, one encoding."""

    def __init__(self, path, encoding, timeout=30):
        end = time.monotonic() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)
        self.s.settimeout(timeout)
        self.buf = bytearray(FRAME + (1 << 20))
        self.view = memoryview(self.buf)
        version = bytes(self.read(12))
        if not version.startswith(b"RFB 003."):
            raise RuntimeError("not an RFB server: %r" % version)
        self.s.sendall(b"RFB 003.008\n")
        n = self.read(1)[0]
        types = bytes(self.read(n))
        if 1 not in types:
            raise RuntimeError("no 'None' security type: %r" % types)
        self.s.sendall(b"\x01")
        if struct.unpack(">I", self.read(4))[0] != 0:
            raise RuntimeError("security handshake failed")
        self.s.sendall(b"\x01")                 # ClientInit, shared
        self.w, self.h = struct.unpack(">HH", self.read(4))
        self.read(16)
        self.read(struct.unpack(">I", self.read(4))[0])
        # x8r8g8b8 little-endian, true colour, 8 bits each
        pf = struct.pack(">BBBBHHHBBBxxx", 32, 24, 0, 1, 255, 255, 255,
                         16, 8, 0)
        self.s.sendall(b"\x00\x00\x00\x00" + pf)
        self.s.sendall(struct.pack(">BxHii", 2, 2, encoding,
                                   ENC_DESKTOP_SIZE))
        self.encoding = encoding

    def read(self, n):
        """Exactly n bytes (a view of the client's buffer, valid until the
        next read)."""
        got = 0
        while got < n:
            k = self.s.recv_into(self.view[got:n], n - got,
                                 socket.MSG_WAITALL)
            if not k:
                raise RuntimeError("the VNC server closed the connection")
            got += k
        return self.view[:n]

    def request(self, incremental=True):
        self.s.sendall(struct.pack(">BBHHHH", 3, int(incremental), 0, 0,
                                   self.w, self.h))

    def update(self):
        """Read server messages up to the next FramebufferUpdate;
        (pixels covered, bytes of the message)."""
        while True:
            t = self.read(1)[0]
            if t == 0:
                break
            if t == 2:                          # Bell
                continue
            if t == 3:                          # ServerCutText
                self.read(3)
                self.read(struct.unpack(">I", self.read(4))[0])
                continue
            raise RuntimeError("unexpected server message %d" % t)
        nrects = struct.unpack(">xH", self.read(3))[0]
        size, area = 4, 0
        for _ in range(nrects):
            x, y, w, h, enc = struct.unpack(">HHHHi", self.read(12))
            size += 12
            if enc == ENC_DESKTOP_SIZE:
                self.w, self.h = w, h
            elif enc == ENC_RAW:
                self.read(w * h * 4)
                size += w * h * 4
                area += w * h
            elif enc == ENC_ZRLE:
                n = struct.unpack(">I", self.read(4))[0]
                self.read(n)
                size += 4 + n
                area += w * h
            else:
                raise RuntimeError("unexpected encoding %d" % enc)
        return area, size

    def close(self):
        self.s.close()


# ---- runs -----------------------------------------------------------------

def busy_run(prog, payload, enc, secs, tmp):
    """(full updates/s, bytes/update, partial updates/s, guest fps,
    emulator CPU ms per update outside its vCPU thread) with the guest
    redrawing."""
    g = Guest(prog, payload, "redraw", tmp)
    try:
        g.wait_line("vbe-draw: frames=")
        c = RFB(g.sock_path, ENCODINGS[enc])
        c.request(False)
        warm_end = time.monotonic() + 1.0       # first picture, steady state
        while time.monotonic() < warm_end:
            c.update()
            c.request()
        since = len(g.lines)
        full = partial = nbytes = 0
        cpu0 = g.cpu()
        t0 = time.monotonic()
        end = t0 + secs
        while True:
            area, size = c.update()
            now = time.monotonic()
            if now > end:
                break
            c.request()
            if area >= c.w * c.h:
                full += 1
                nbytes += size
            elif area:
                partial += 1
        dt = now - t0
        cpu1 = g.cpu()
        fps = g.guest_fps(since)
        c.close()
        return (full / dt, nbytes / full if full else 0, partial / dt,
                statistics.median(fps) if fps else 0,
                (cpu1[3] - cpu0[3]) * 1000 / max(full + partial, 1))
    finally:
        g.close()


def idle_run(prog, payload, secs, tmp):
    """(no client, client) each as (stat CPU ms/s, schedstat CPU ms/s,
    wake-ups/s, updates received) with the guest halted."""
    g = Guest(prog, payload, "idle", tmp)
    res = []
    try:
        g.wait_line("vbe-draw: idle")
        # past start-up (kvmpc without clients runs no refresh at all)
        time.sleep(4.0)
        for client in (False, True):
            c = None
            if client:
                c = RFB(g.sock_path, ENC_RAW)
                c.request(False)
                c.update()
                c.request()
                time.sleep(2.0)
            a = g.cpu()
            t0 = time.monotonic()
            updates = 0
            if c:
                c.s.settimeout(0.2)
                while time.monotonic() < t0 + secs:
                    try:
                        c.update()
                        c.request()
                        updates += 1
                    except socket.timeout:
                        pass
            else:
                time.sleep(secs)
            dt = time.monotonic() - t0
            b = g.cpu()
            res.append(((b[0] - a[0]) * 1000 / dt, (b[1] - a[1]) * 1000 / dt,
                        (b[2] - a[2]) / dt, updates))
            if c:
                c.close()
        return res
    finally:
        g.close()


# ---- the host's limits ----------------------------------------------------

def limit_memcpy(secs=1.0):
    """3 MiB frames copied per second (a slice assignment is a memcpy)."""
    src, dst = bytearray(os.urandom(FRAME)), bytearray(FRAME)
    n, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < secs:
        dst[:] = src
        n += 1
    return n / (time.monotonic() - t0)


def limit_socket(secs=2.0):
    """3 MiB frames per second through a unix socket into a reader like
    this client (MSG_WAITALL into one buffer)."""
    a, b = socket.socketpair()
    frame = bytes(FRAME)
    stop = threading.Event()

    def writer():
        try:
            while not stop.is_set():
                a.sendall(frame)
        except OSError:
            pass
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    view = memoryview(bytearray(FRAME))
    n, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < secs:
        got = 0
        while got < FRAME:
            got += b.recv_into(view[got:], FRAME - got, socket.MSG_WAITALL)
        n += 1
    dt = time.monotonic() - t0
    stop.set()
    b.close()
    a.close()
    t.join()
    return n / dt


# ---- main -----------------------------------------------------------------

def ratio(a, b):
    return "%.2f" % (a / b) if b else "n/a"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    build = args[0] if len(args) > 0 else "build"
    runs = int(args[1]) if len(args) > 1 else 5
    secs = float(args[2]) if len(args) > 2 else 3
    encs = ["raw"] if "--raw-only" in sys.argv else ["raw", "zrle"]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm not available")
    kvmpc = os.path.join(build, "kvmpc")
    payload = os.path.join(build, "tests", "guest", "vbe-draw.elf")
    for f in (kvmpc, payload):
        if not os.path.exists(f):
            sys.exit(f"display.py: {f} missing; run `make` first")
    progs = {"kvmpc": kvmpc}
    qemu = shutil.which("qemu-system-x86_64")
    if qemu:
        progs["qemu"] = qemu
    else:
        print("display.py: qemu-system-x86_64 not installed: no qemu column")
    tmp = tempfile.mkdtemp(prefix="kvmpc-bench-display-")
    busy = {(e, n): [] for e in encs for n in progs}
    idle = {n: [] for n in progs}
    for _ in range(runs):
        for e in encs:
            for name, prog in progs.items():        # alternate every round
                busy[(e, name)].append(busy_run(prog, payload, e, secs, tmp))
        for name, prog in progs.items():
            idle[name].append(idle_run(prog, payload, secs, tmp))
    lim_copy = limit_memcpy()
    lim_sock = limit_socket()
    os.rmdir(tmp)

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    print(f"VNC, guest redrawing 1024x768x32 continuously, {secs:g} s per "
          f"run, {runs} alternating runs, medians")
    print("| row | kvmpc | QEMU 7.2 | kvmpc/QEMU |")
    print("| --- | --- | --- | --- |")
    q = "qemu" in progs
    for e in encs:
        k = busy[(e, "kvmpc")]
        qq = busy[(e, "qemu")] if q else None
        for i, what, fmt in ((0, "full-screen updates/s", "%.1f"),
                             (1, "bytes/update", "%.0f"),
                             (2, "partial updates/s", "%.1f"),
                             (3, "guest frames/s", "%.0f"),
                             (4, "emulator CPU ms/update, vCPU aside",
                              "%.2f")):
            kv = med(k, i)
            qv = med(qq, i) if q else 0
            print(f"| {e} {what} | {fmt % kv} | "
                  f"{fmt % qv if q else 'n/a'} | {ratio(kv, qv)} |")
    print()
    print(f"Idle screen (guest halted), {secs:g} s windows, medians")
    print("| row | kvmpc | QEMU 7.2 | kvmpc/QEMU |")
    print("| --- | --- | --- | --- |")
    for j, who in ((0, "no client"), (1, "client connected")):
        for i, what, fmt in ((0, "CPU ms/s (utime+stime)", "%.1f"),
                             (1, "CPU ms/s (schedstat)", "%.2f"),
                             (2, "context switches/s", "%.1f"),
                             (3, "updates received", "%d")):
            if j == 0 and i == 3:
                continue
            kv = statistics.median(r[j][i] for r in idle["kvmpc"])
            qv = statistics.median(r[j][i] for r in idle["qemu"]) if q else 0
            print(f"| {who}: {what} | {fmt % kv} | "
                  f"{fmt % qv if q else 'n/a'} | {ratio(kv, qv)} |")
    print()
    print(f"host limits: memcpy of a 3 MiB frame {lim_copy:.0f}/s; "
          f"3 MiB frames through a unix socket into this client "
          f"{lim_sock:.0f}/s")
    for (e, n), v in busy.items():
        print(f"  {e} {n}: " + " ".join(
            "%.1f/%.0fk/%.1f/%.0f/%.2fms" % (r[0], r[1] / 1000, r[2], r[3],
                                             r[4])
            for r in v))
    for n, v in idle.items():
        print(f"  idle {n}: " + " ".join(
            "%.2f,%.1f|%.2f,%.1f,%d" % (r[0][1], r[0][2], r[1][1], r[1][2],
                                        r[1][3]) for r in v))
    print(f"host: {os.cpu_count()} CPUs, {os.uname().release}, load average "
          + " ".join("%.2f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
