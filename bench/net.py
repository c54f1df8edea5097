#!/usr/bin/env python3
"""Guest-to-guest network throughput: two guests joined by a
"-netdev socket" pair (listen/connect on 127.0.0.1, QEMU's stream wire
format: a 4-byte big-endian length, then the frame), each with a
virtio-net-pci driven by the CPL 3 polled driver of
tests/guest/virtio-net.c in bench mode.  One guest transmits SIZE-byte
frames as fast as its ring turns over ("bench=tx"), the other receives
and counts them for SECS seconds from the first one, timed by its own TSC
("bench=rx"), so start-up and QEMU's SeaBIOS are not counted.  Two kvmpc
guests, then two QEMU 7.2 guests (qemu-system-x86_64 -enable-kvm), the
programs alternating run by run; medians of Mbit/s and frames/s and the
kvmpc/qemu ratio are printed.

The host's limit, measured in the same run: the same wire format over a
loopback TCP connection between two host processes (this script's
threads), (a) written in 256 KiB blocks (the socket path's bandwidth),
(b) one writev per frame, as both emulators do.

    bench/net.py [BUILD_DIR] [RUNS] [SECS] [--size N]

Rows: 1514-byte frames (a 1500-byte MTU).  64 KiB TSO frames are not a
row: neither kvmpc nor QEMU offers the segmentation offloads on a backend
without vnet headers (socket, stream, dgram); only tap carries them.

Prints SKIP and exits 77 without /dev/kvm.
"""
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

RX_RE = re.compile(rb"virtio-net-bench: mode=rx size=(\d+) frames=(\d+) "
                   rb"us=(\d+) mbps=(\d+) fps=(\d+) lost=(\d+) bad=(\d+)")


def skip(reason):
    print(f"SKIP: net.py: {reason}")
    sys.exit(77)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port):
    """True once something listens on 127.0.0.1:port (from /proc)."""
    want = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/tcp") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 3 and parts[1] == want and parts[3] == "0A":
                    return True
    except OSError:
        pass
    return False


def guest_cmd(prog, payload, append, netdev):
    cmd = [prog]
    if os.path.basename(prog).startswith("qemu"):
        cmd += ["-enable-kvm", "-machine", "pc"]
    return cmd + ["-nodefaults", "-display", "none", "-serial", "stdio",
                  "-m", "128M",
                  "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                  "-kernel", payload, "-append", append,
                  "-netdev", netdev,
                  "-device", "virtio-net-pci,netdev=n0,romfile="]


def one_run(prog, payload, size, secs):
    """(Mbit/s, frames/s) the receiving guest measured."""
    port = free_port()
    rx = subprocess.Popen(
        guest_cmd(prog, payload, f"bench=rx size={size} secs={secs}",
                  f"socket,id=n0,listen=127.0.0.1:{port}"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    tx = None
    try:
        deadline = time.monotonic() + 30
        while not listening(port):
            if rx.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{prog}: the receiver never listened")
            time.sleep(0.02)
        tx = subprocess.Popen(
            guest_cmd(prog, payload,
                      f"bench=tx size={size} secs={secs * 4 + 30}",
                      f"socket,id=n0,connect=127.0.0.1:{port}"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        out, _ = rx.communicate(timeout=secs + 90)
    finally:
        for p in (tx, rx):
            if p and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    m = RX_RE.search(out)
    if rx.returncode != 1 or not m or int(m.group(7)):
        raise RuntimeError(f"{prog} exited {rx.returncode}: "
                           f"{out.decode(errors='replace')[-600:]}")
    return int(m.group(4)), int(m.group(5)), int(m.group(6))


def host_limit(size, secs, per_frame):
    """Mbit/s and frames/s of the wire format over loopback TCP."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    frame = len_hdr = size.to_bytes(4, "big")
    frame = len_hdr + bytes(size)
    got = [0]

    def reader():
        c, _ = lsock.accept()
        buf = bytearray(1 << 20)
        while True:
            n = c.recv_into(buf)
            if not n:
                break
            got[0] += n
        c.close()
    t = threading.Thread(target=reader)
    t.start()
    s = socket.create_connection(lsock.getsockname())
    block = frame * max(1, (256 << 10) // len(frame))
    hdr, body = memoryview(len_hdr), memoryview(bytes(size))
    t0 = time.monotonic()
    end = t0 + secs
    while time.monotonic() < end:
        if per_frame:
            for _ in range(64):
                os.writev(s.fileno(), (hdr, body))
        else:
            s.sendall(block)
    s.close()
    t.join()
    lsock.close()
    dt = time.monotonic() - t0
    frames = got[0] / len(frame)
    return frames * size * 8 / dt / 1e6, frames / dt


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--size")]
    size = 1514
    for a in sys.argv[1:]:
        if a.startswith("--size="):
            size = int(a.split("=", 1)[1])
    build = args[0] if len(args) > 0 else "build"
    runs = int(args[1]) if len(args) > 1 else 5
    secs = int(args[2]) if len(args) > 2 else 3
    kvmpc = os.path.join(build, "kvmpc")
    payload = os.path.join(build, "tests", "guest", "virtio-net.elf")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm not available")
    for f in (kvmpc, payload):
        if not os.path.exists(f):
            sys.exit(f"net.py: {f} missing; run `make` first")
    progs = {"kvmpc": kvmpc}
    qemu = shutil.which("qemu-system-x86_64")
    if qemu:
        progs["qemu"] = qemu
    else:
        print("net.py: qemu-system-x86_64 not installed: no qemu column")
    rows = {name: [] for name in progs}
    for _ in range(runs):
        for name, prog in progs.items():        # alternate every round
            rows[name].append(one_run(prog, payload, size, secs))
    limit_bulk = host_limit(size, secs, False)
    limit_frame = host_limit(size, secs, True)
    print(f"guest-to-guest virtio-net over -netdev socket (loopback TCP), "
          f"{size}-byte frames, {secs} s per run, {runs} alternating runs, "
          "medians")
    print(f"{'row':<18}{'kvmpc':>14}{'qemu':>14}{'kvmpc/qemu':>12}"
          f"{'host bulk':>14}{'host 1 write/frame':>20}")
    for idx, unit, lim in ((0, "Mbit/s", 0), (1, "frames/s", 1)):
        med = {n: statistics.median(r[idx] for r in v)
               for n, v in rows.items()}
        q = med.get("qemu")
        print(f"{unit:<18}{med['kvmpc']:>14.0f}"
              f"{(f'{q:.0f}') if q else 'n/a':>14}"
              f"{(med['kvmpc'] / q) if q else float('nan'):>12.2f}"
              f"{limit_bulk[lim]:>14.0f}{limit_frame[lim]:>20.0f}")
        for n, v in rows.items():
            print(f"  {n}: " + " ".join(f"{r[idx]:.0f}" for r in v))
    print("frames lost (gaps in the sequence numbers): " +
          ", ".join(f"{n} {sum(r[2] for r in v)}" for n, v in rows.items()))
    print(f"host: {os.cpu_count()} CPUs, {os.uname().release}")


if __name__ == "__main__":
    main()
