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
    bench/net.py --tap [BUILD_DIR] [RUNS] [SECS]

Rows: 1514-byte frames (a 1500-byte MTU).  64 KiB TSO frames need vnet
headers, which socket, stream and dgram do not carry: --tap runs the
guests in a network namespace of their own (unshare --net: root) on two
persistent taps (tapa, tapb) joined by a bridge, "-netdev tap,...,
vnet_hdr=on" for both programs, with two rows: 1514-byte frames, and
65536-byte TCP/IPv4 frames the guest hands over with a GSO header
(tso=1: HOST_TSO4 on the sender, GUEST_TSO4 on the receiver, so the
bridge forwards them whole when both taps take TSO).  The host limit
there: the same two taps driven by two host processes writing the same
frames (with the same vnet header) into tapa and reading tapb.

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


def guest_pair(prog, payload, size, secs, extra, rx_netdev, tx_netdev,
               rx_ready):
    """Start the receiving guest, wait for rx_ready(rx), start the sender;
    (Mbit/s, frames/s, lost, segments) the receiver measured."""
    rx = subprocess.Popen(
        guest_cmd(prog, payload, f"bench=rx size={size} secs={secs}{extra}",
                  rx_netdev),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    tx = None
    try:
        rx_ready(rx)
        tx = subprocess.Popen(
            guest_cmd(prog, payload,
                      f"bench=tx size={size} secs={secs * 4 + 30}{extra}",
                      tx_netdev),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        out, _ = rx.communicate(timeout=secs + 90)
    finally:
        for p in (tx, rx):
            if p and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    m = RX_RE.search(out)
    seg = re.search(rb"segments=(\d+)", out)
    if rx.returncode != 1 or not m or int(m.group(7)):
        raise RuntimeError(f"{prog} exited {rx.returncode}: "
                           f"{out.decode(errors='replace')[-600:]}")
    return (int(m.group(4)), int(m.group(5)), int(m.group(6)),
            int(seg.group(1)) if seg else 0)


def one_run(prog, payload, size, secs):
    """(Mbit/s, frames/s, lost) over a -netdev socket pair."""
    port = free_port()

    def listening_now(rx):
        deadline = time.monotonic() + 30
        while not listening(port):
            if rx.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{prog}: the receiver never listened")
            time.sleep(0.02)
    return guest_pair(prog, payload, size, secs, "",
                      f"socket,id=n0,listen=127.0.0.1:{port}",
                      f"socket,id=n0,connect=127.0.0.1:{port}",
                      listening_now)[:3]


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


TAPS = ("tapa", "tapb")


def run_ip(*args):
    subprocess.run(["ip"] + list(args), check=True)


def setup_tap_netns():
    """In a fresh network namespace: a bridge, two persistent taps on it,
    IPv6 off (so the host's own neighbour discovery stays off the
    wire)."""
    run_ip("link", "set", "lo", "up")
    for conf in ("all", "default"):
        with open(f"/proc/sys/net/ipv6/conf/{conf}/disable_ipv6", "w") as f:
            f.write("1")
    run_ip("link", "add", "br0", "type", "bridge")
    run_ip("link", "set", "br0", "up")
    for t in TAPS:
        run_ip("tuntap", "add", "dev", t, "mode", "tap", "vnet_hdr")
        run_ip("link", "set", t, "master", "br0")
        run_ip("link", "set", t, "up")


def one_run_tap(prog, payload, size, secs, tso):
    """(Mbit/s, frames/s, lost, segments) over the bridged taps."""
    def netdev(tap):
        return (f"tap,id=n0,ifname={tap},script=no,downscript=no,"
                "vnet_hdr=on")
    return guest_pair(prog, payload, size, secs, " tso=1" if tso else "",
                      netdev(TAPS[1]), netdev(TAPS[0]),
                      lambda rx: time.sleep(1))


def tap_limit(size, secs, tso):
    """Two host processes: one writes SIZE-byte frames (with the guests'
    vnet header) into tapa as fast as it can, the other reads tapb; the
    reader's Mbit/s over SECS seconds."""
    code = r"""
import fcntl, os, struct, sys, time
TUNSETIFF, TUNSETOFFLOAD = 0x400454ca, 0x400454d0
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x2, 0x1000, 0x4000
role, tap, size, secs, tso = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    float(sys.argv[4]), sys.argv[5] == "1"
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(),
            IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
fcntl.ioctl(fd, 0x400454d8, struct.pack("i", 12))   # TUNSETVNETHDRSZ
if tso:
    fcntl.ioctl(fd, TUNSETOFFLOAD, 0x1 | 0x2)       # TUN_F_CSUM | TSO4
if role == "w":
    if tso:
        hdr = struct.pack("<BBHHHHH", 1, 1, 54, 1448, 34, 16, 0)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, size - 14, 0, 0x4000, 64,
                         6, 0, bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
        c = sum(struct.unpack(">10H", ip))
        c = (c & 0xffff) + (c >> 16)
        c = (c & 0xffff) + (c >> 16)
        ip = ip[:10] + struct.pack(">H", ~c & 0xffff) + ip[12:]
        tcp = struct.pack(">HHIIBBHHH", 5001, 5201, 0, 0, 0x50, 0x18,
                          0xffff, 0, 0)
        frame = hdr + b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00" + ip + tcp
    else:
        frame = bytes(12) + b"\xff" * 6 + b"\x02" * 6 + b"\x88\xb5"
    frame += bytes(12 + size - len(frame))
    end = time.time() + secs + 2
    while time.time() < end:
        os.write(fd, frame)
else:
    import select
    got = 0
    t0 = None
    give_up = time.time() + secs + 10
    while time.time() < give_up:
        if not select.select([fd], [], [], 1)[0]:
            continue
        n = len(os.read(fd, 70000)) - 12
        if t0 is None:
            t0 = time.time()
            continue
        got += n
        if time.time() - t0 >= secs:
            break
    print(got * 8 / (time.time() - t0) / 1e6 if t0 and got else 0)
"""
    args = [str(size), str(secs), "1" if tso else "0"]
    r = subprocess.Popen([sys.executable, "-c", code, "r", TAPS[1]] + args,
                         stdout=subprocess.PIPE)
    time.sleep(0.3)
    w = subprocess.Popen([sys.executable, "-c", code, "w", TAPS[0]] + args)
    try:
        out, _ = r.communicate(timeout=secs + 30)
    finally:
        for p in (r, w):
            p.kill()
            p.wait()
    return float(out or 0)


def main_tap(build, runs, secs):
    if os.environ.get("KVMPC_NET_BENCH_NETNS") != "1":
        if os.geteuid() != 0 or not shutil.which("unshare"):
            skip("--tap needs root (a network namespace of its own)")
        os.environ["KVMPC_NET_BENCH_NETNS"] = "1"
        os.execvp("unshare", ["unshare", "--net", "--", sys.executable] +
                  sys.argv)
    setup_tap_netns()
    kvmpc = os.path.join(build, "kvmpc")
    payload = os.path.join(build, "tests", "guest", "virtio-net.elf")
    progs = {"kvmpc": kvmpc}
    qemu = shutil.which("qemu-system-x86_64")
    if qemu:
        progs["qemu"] = qemu
    print(f"guest-to-guest virtio-net over two taps on a bridge (vnet_hdr=on, "
          f"a network namespace of its own), {secs} s per run, {runs} "
          "alternating runs, medians")
    print(f"{'row':<26}{'kvmpc':>10}{'qemu':>10}{'kvmpc/qemu':>12}"
          f"{'host limit':>12}")
    for size, tso in ((1514, False), (65536, True)):
        rows = {name: [] for name in progs}
        for _ in range(runs):
            for name, prog in progs.items():
                rows[name].append(one_run_tap(prog, payload, size, secs,
                                              tso))
        limit = tap_limit(size, secs, tso)
        med = {n: statistics.median(r[0] for r in v) for n, v in rows.items()}
        q = med.get("qemu")
        label = f"{size} B{' TSO' if tso else ''} Mbit/s"
        print(f"{label:<26}{med['kvmpc']:>10.0f}"
              f"{(f'{q:.0f}') if q else 'n/a':>10}"
              f"{(med['kvmpc'] / q) if q else float('nan'):>12.2f}"
              f"{limit:>12.0f}")
        for n, v in rows.items():
            print(f"  {n}: " + " ".join(f"{r[0]:.0f}" for r in v) +
                  "  (lost " + str(sum(r[2] for r in v)) + ", segments " +
                  str(sum(r[3] for r in v)) + ")")
    print(f"host: {os.cpu_count()} CPUs, {os.uname().release}")


def main():
    if "--tap" in sys.argv[1:]:
        a = [x for x in sys.argv[1:] if x != "--tap"]
        return main_tap(a[0] if a else "build",
                        int(a[1]) if len(a) > 1 else 5,
                        int(a[2]) if len(a) > 2 else 3)
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
