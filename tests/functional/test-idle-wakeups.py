#!/usr/bin/env python3
"""An idle machine costs the host no periodic wake-ups (docs/design.md,
"Clocks and timers": the main loop sleeps until the next armed timer or
fd event, and whatever has no work arms no timer).

    test-idle-wakeups.py KVMPC VBE_DRAW_PAYLOAD

The guest (tests/guest/vbe-draw.c, "bench=idle") draws one VBE frame and
halts with interrupts off, so from then on any wake-up of kvmpc's threads
is kvmpc's own.  The machine has what a user commonly adds and what used to
tick: -vga std with a VNC server and (when built in) a SPICE server nobody
watches, a user-mode network (slirp) on an e1000, a pty chardev nobody has
opened, and a QMP client connected and silent.  The test counts the context
switches of all of kvmpc's threads (/proc/PID/task/*/status: a thread that
sleeps and is woken makes one) over a window, which is a count, not a
timing: a host however loaded adds none to threads that sleep.

  no client     at most NO_CLIENT_MAX in WINDOW s (was 1/s from the main
                loop's 1 s poll cap, plus each display's 3 s tick, slirp's
                1 s pass and the pty's 1 s poll)
  vnc client    a connected client with a still screen: the refresh backs
                off to 0.5 s, so at most CLIENT_MAX_PER_S a second (30 ms
                ticks would be 33/s)
  client gone   back to at most NO_CLIENT_MAX: the ticks stop with the last
                client
  hostfwd       a second machine whose slirp has a hostfwd listener: libslirp
                then runs its slow timer every 0.5 s, so at most
                CLIENT_MAX_PER_S a second (re-registering the unchanged
                fds in each prepare once made the main loop spin, ~120/s)

Prints SKIP and exits 77 without /dev/kvm.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

WINDOW = 7.0               # a 3 s tick shows as 2 wake-ups or more
NO_CLIENT_MAX = 1           # a stray wake-up, not a tick
CLIENT_MAX_PER_S = 4        # 2/s expected (0.5 s back-off)
SETTLE = 2.5                # slirp's two quiet passes, the first refresh


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def switches(pid):
    """{thread: voluntary + involuntary context switches}; the kernel's own
    per-VM worker threads (kvm-nx-lpage-recovery) are not kvmpc's."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            if name.startswith("kvm-"):
                continue
            n = 0
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if "ctxt_switches:" in line:
                        n += int(line.split()[-1])
            out[f"{name}[{tid}]"] = n
        except OSError:
            pass
    return out


def count(pid, secs):
    a = switches(pid)
    time.sleep(secs)
    b = switches(pid)
    per = {k: v - a.get(k, 0) for k, v in b.items() if v - a.get(k, 0)}
    return sum(per.values()), per


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise RuntimeError("VNC server closed the connection")
        buf += chunk
    return buf


def vnc_connect(path):
    """RFB 3.8, no authentication, shared; one full and one incremental
    update request outstanding (a viewer waiting for changes)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(path)
    recv_exact(s, 12)
    s.sendall(b"RFB 003.008\n")
    types = recv_exact(s, recv_exact(s, 1)[0])
    if 1 not in types:
        raise RuntimeError("no 'None' security type")
    s.sendall(b"\x01")
    recv_exact(s, 4)
    s.sendall(b"\x01")
    w, h = struct.unpack(">HH", recv_exact(s, 4))
    recv_exact(s, 16)
    recv_exact(s, struct.unpack(">I", recv_exact(s, 4))[0])
    s.sendall(struct.pack(">BxHi", 2, 1, 0))             # Raw
    s.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h))   # full
    s.sendall(struct.pack(">BBHHHH", 3, 1, 0, 0, w, h))   # incremental
    # the first picture: a FramebufferUpdate header is enough to know it
    # came; the rest is left in the socket buffer / unread
    if recv_exact(s, 1)[0] != 0:
        raise RuntimeError("no FramebufferUpdate")
    return s


def qmp_connect(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(path)
    f = s.makefile("rw")
    f.readline()
    f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
    f.flush()
    if "return" not in f.readline():
        raise RuntimeError("qmp_capabilities failed")
    return s, f


def wait_serial(proc, path, text, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            fail(f"kvmpc exited {proc.returncode}: "
                 + proc.stderr.read().decode(errors="replace")[-500:])
        try:
            with open(path, errors="replace") as f:
                if text in f.read():
                    return
        except OSError:
            pass
        time.sleep(0.1)
    fail(f"no '{text}' on the guest's serial port within {timeout} s")


def start(kvmpc, payload, tmp, spice, hostfwd=False):
    serial = os.path.join(tmp, "serial")
    vnc = os.path.join(tmp, "vnc")
    qmp = os.path.join(tmp, "qmp")
    cmd = [kvmpc, "-name", "idle,debug-threads=on", "-nodefaults",
           "-m", "128M", "-vga", "std", "-display", "none",
           "-vnc", "unix:" + vnc,
           "-netdev", "user,id=n0" + (",hostfwd=tcp:127.0.0.1:0-:22"
                                      if hostfwd else ""),
           "-device", "e1000,netdev=n0",
           "-chardev", "pty,id=unused",
           "-serial", "file:" + serial,
           "-qmp", f"unix:{qmp},server=on,wait=off",
           "-kernel", payload, "-append", "bench=idle"]
    if spice:
        cmd += ["-spice", "unix=on,addr=%s,disable-ticketing=on"
                % os.path.join(tmp, "spice")]
    print("$ " + " ".join(cmd))
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    return proc, serial, vnc, qmp


def has_spice(kvmpc):
    """Whether this build has SPICE (the option is refused otherwise)."""
    p = subprocess.run([kvmpc, "-spice", "unix=on,addr=/nonexistent/x",
                        "-version"], capture_output=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    return b"not available in this build" not in p.stderr


def check(what, total, per, bound):
    detail = ", ".join(f"{k} {v}" for k, v in sorted(per.items()))
    print(f"{what}: {total} wake-ups in {WINDOW:g} s (bound {bound})"
          + (f": {detail}" if detail else ""))
    if total > bound:
        fail(f"{what}: {total} wake-ups in {WINDOW:g} s, more than {bound}: "
             "something ticks periodically while the machine is idle")


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: test-idle-wakeups.py KVMPC VBE_DRAW_PAYLOAD")
    kvmpc, payload = sys.argv[1], sys.argv[2]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm not available")
    with tempfile.TemporaryDirectory() as tmp:
        spice = has_spice(kvmpc)
        proc, serial, vnc, qmp = start(kvmpc, payload, tmp, spice)
        try:
            wait_serial(proc, serial, "vbe-draw: idle")
            q = qmp_connect(qmp)
            time.sleep(SETTLE)
            total, per = count(proc.pid, WINDOW)
            check("no client", total, per, NO_CLIENT_MAX)

            c = vnc_connect(vnc)
            time.sleep(SETTLE)      # the back-off reaches 0.5 s in ~1 s
            total, per = count(proc.pid, WINDOW)
            check("vnc client, still screen", total, per,
                  int(CLIENT_MAX_PER_S * WINDOW))
            c.close()

            time.sleep(SETTLE)
            total, per = count(proc.pid, WINDOW)
            check("vnc client gone", total, per, NO_CLIENT_MAX)
            q[0].close()
        finally:
            proc.kill()
            proc.wait()
            proc.stderr.close()
    with tempfile.TemporaryDirectory() as tmp:
        proc, serial, vnc, qmp = start(kvmpc, payload, tmp, False, True)
        try:
            wait_serial(proc, serial, "vbe-draw: idle")
            time.sleep(SETTLE)
            total, per = count(proc.pid, WINDOW)
            check("slirp with a hostfwd listener", total, per,
                  int(CLIENT_MAX_PER_S * WINDOW))
        finally:
            proc.kill()
            proc.wait()
            proc.stderr.close()
    print("PASS")


if __name__ == "__main__":
    main()
