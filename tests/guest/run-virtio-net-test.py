#!/usr/bin/env python3
"""The virtio-net guest test, both sides.

    run-virtio-net-test.py EMULATOR PAYLOAD

Boots PAYLOAD (virtio-net.c) with a virtio-net-pci on "-netdev user"
(libslirp) and a hostfwd rule tcp:127.0.0.1:HOSTPORT-:8080 (HOSTPORT a
free port).  The guest gets a DHCP lease, ARPs and pings 10.0.2.2, asks
10.0.2.3 for "localhost" when the host's own resolver answers (the
runner checks that first and otherwise passes dns=0, printing why: the
guest then reports a SKIP), and then serves TCP on port 8080.  When it
prints "virtio-net: listening on tcp port 8080" the runner connects to
127.0.0.1:HOSTPORT, sends 5000 bytes, closes its sending side and reads
until the guest closes: the bytes must come back unchanged, and the
guest's own "echoed N bytes fnv1a H" line must agree.  Passes when that
holds, the emulator left through isa-debug-exit with code 0 and the
guest's SUMMARY has no failures.

KVMPC_GUEST_EMULATOR / KVMPC_GUEST_EMULATOR_ARGS run another emulator
(QEMU: KVMPC_GUEST_EMULATOR_ARGS=-enable-kvm), KVMPC_GUEST_TIMEOUT sets
the timeout (60 s).  Exit 77 (skipped) without /dev/kvm.
"""
import os
import re
import shlex
import socket
import struct
import subprocess
import sys
import threading
import time

TIMEOUT = float(os.environ.get("KVMPC_GUEST_TIMEOUT", 60))
GUEST_PORT = 8080
NBYTES = 5000


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def host_dns_works():
    """Why the host's resolver cannot be used, or None when it answers."""
    ns = None
    try:
        with open("/etc/resolv.conf") as f:
            for line in f:
                m = re.match(r"\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)", line)
                if m:
                    ns = m.group(1)
                    break
    except OSError as e:
        return f"cannot read /etc/resolv.conf ({e.strerror})"
    if not ns:
        return "no IPv4 nameserver in /etc/resolv.conf"
    q = struct.pack(">HHHHHH", 0x4b56, 0x0100, 1, 0, 0, 0) + \
        b"\x09localhost\x00\x00\x01\x00\x01"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.sendto(q, (ns, 53))
        r = s.recv(512)
    except OSError as e:
        return f"the host's nameserver {ns} does not answer ({e})"
    finally:
        s.close()
    if len(r) < 12:
        return f"the host's nameserver {ns} sent a short answer"
    return None


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    emulator, payload = sys.argv[1:]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm not available")
        return 77
    emulator = os.environ.get("KVMPC_GUEST_EMULATOR") or emulator
    eargs = shlex.split(os.environ.get("KVMPC_GUEST_EMULATOR_ARGS", ""))
    why = host_dns_works()
    if why:
        print(f"SKIP (DNS part only): {why}")
    hport = free_port()
    cmd = [emulator] + eargs + [
        "-nodefaults", "-display", "none", "-serial", "stdio",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
        "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{hport}-:{GUEST_PORT}",
        "-device", "virtio-net-pci,netdev=n0,romfile=",
        "-kernel", payload,
        "-append", f"dns={0 if why else 1} tcpport={GUEST_PORT}"]
    print("run-virtio-net-test: " + " ".join(shlex.quote(c) for c in cmd),
          flush=True)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    lines = []
    cond = threading.Condition()

    def reader():
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            print(line, flush=True)
            with cond:
                lines.append(line)
                cond.notify_all()
        with cond:
            cond.notify_all()
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    deadline = time.monotonic() + TIMEOUT
    failures = []

    def wait_line(text):
        with cond:
            while not any(text in line for line in lines):
                left = deadline - time.monotonic()
                if left <= 0 or (proc.poll() is not None and
                                 not t.is_alive()):
                    return False
                cond.wait(min(left, 0.5))
        return True

    data = bytes((i * 7 + 3) & 0xff for i in range(NBYTES))
    try:
        if not wait_line(f"listening on tcp port {GUEST_PORT}"):
            failures.append("the guest never listened")
        else:
            c = socket.create_connection(("127.0.0.1", hport), timeout=20)
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                b = c.recv(65536)
                if not b:
                    break
                got += b
            c.close()
            if got != data:
                failures.append(f"echo: sent {len(data)} bytes, got "
                                f"{len(got)} back"
                                + (" (different bytes)"
                                   if len(got) == len(data) else ""))
            else:
                print(f"PASS: host side: {len(data)} bytes echoed through "
                      "hostfwd")
        status = proc.wait(max(1, deadline - time.monotonic()))
    except (OSError, subprocess.TimeoutExpired) as e:
        failures.append(f"{type(e).__name__}: {e}")
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        status = proc.wait()
    t.join(5)
    want = f"echoed {NBYTES} bytes fnv1a {fnv1a(data):08x}"
    if not any(want in line for line in lines):
        failures.append(f"the guest did not print '{want}'")
    summary = [line for line in lines if line.startswith("SUMMARY:")]
    if status != 1:
        failures.append(f"exit status {status}, not isa-debug-exit code 0")
    if not summary or not re.match(r"SUMMARY: [1-9]\d* tests, 0 failures",
                                   summary[-1]):
        failures.append(f"guest summary {summary[-1:]}")
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
