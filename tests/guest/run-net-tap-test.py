#!/usr/bin/env python3
"""Two kvmpc guests over two taps on a bridge, in a network namespace the
test makes (issue 14's acceptance; bench/net.py --tap measures the same
path).

    run-net-tap-test.py EMULATOR PAYLOAD

The test re-executes itself under `unshare --net` (root), makes a bridge
and two persistent taps on it (IPv6 off, so the host's neighbour
discovery stays off the wire), and runs the virtio-net payload
(tests/guest/virtio-net.c) in bench mode in two kvmpc processes with
"-netdev tap,ifname=tapa|tapb,script=no,downscript=no,vnet_hdr=on": one
sends, the other counts for 2 s.  Twice: 1514-byte frames (the receiver
must count frames of exactly that size, none malformed), and 64 KiB
TCP/IPv4 frames with a GSO header (tso=1: the sender's HOST_TSO4 frames
cross the bridge, segmented by the host's kernel, and the receiver must
see their segments).  Exit 77 (skipped, with the reason) without
/dev/kvm, without root or without /dev/net/tun.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

TAPS = ("tapa", "tapb")
RX_RE = re.compile(rb"virtio-net-bench: mode=rx size=(\d+) frames=(\d+) "
                   rb"us=(\d+) mbps=(\d+) fps=(\d+) lost=(\d+) bad=(\d+) "
                   rb"segments=(\d+)")


def skip(why):
    print("SKIP: %s" % why)
    sys.exit(77)


def setup():
    def ip(*args):
        subprocess.run(["ip"] + list(args), check=True)
    ip("link", "set", "lo", "up")
    for conf in ("all", "default"):
        with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % conf, "w") as f:
            f.write("1")
    ip("link", "add", "br0", "type", "bridge")
    ip("link", "set", "br0", "up")
    for t in TAPS:
        ip("tuntap", "add", "dev", t, "mode", "tap", "vnet_hdr")
        ip("link", "set", t, "master", "br0")
        ip("link", "set", t, "up")


def guest(emulator, payload, tap, append):
    return subprocess.Popen(
        [emulator, "-nodefaults", "-display", "none", "-serial", "stdio",
         "-m", "128M", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
         "-kernel", payload, "-append", append,
         "-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no,"
         "vnet_hdr=on" % tap,
         "-device", "virtio-net-pci,netdev=n0,romfile="],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)


def exchange(emulator, payload, size, tso):
    extra = " tso=1" if tso else ""
    rx = guest(emulator, payload, TAPS[1],
               "bench=rx size=%d secs=2%s" % (size, extra))
    tx = None
    try:
        time.sleep(0.5)
        tx = guest(emulator, payload, TAPS[0],
                   "bench=tx size=%d secs=60%s" % (size, extra))
        out, _ = rx.communicate(timeout=90)
    finally:
        for p in (tx, rx):
            if p and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    sys.stdout.write(out.decode(errors="replace"))
    m = RX_RE.search(out)
    what = "%d-byte%s frames" % (size, " TSO" if tso else "")
    if rx.returncode != 1 or not m:
        print("FAIL: %s: the receiver exited %d without its count" %
              (what, rx.returncode))
        return False
    frames, bad, segments = int(m.group(2)), int(m.group(7)), int(m.group(8))
    if bad or (segments if tso else frames) < 1000:
        print("FAIL: %s: %d frames, %d segments, %d malformed" %
              (what, frames, segments, bad))
        return False
    print("PASS: %s crossed the bridge: %d frames, %d segments, %s Mbit/s"
          % (what, frames, segments, m.group(4).decode()))
    return True


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    emulator, payload = sys.argv[1:3]
    if os.environ.get("KVMPC_NET_TAP_NETNS") != "1":
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            skip("/dev/kvm not available")
        if os.geteuid() != 0:
            skip("a network namespace of its own needs root")
        if not os.access("/dev/net/tun", os.R_OK | os.W_OK):
            skip("/dev/net/tun not available")
        if not shutil.which("unshare") or not shutil.which("ip"):
            skip("unshare and ip (util-linux, iproute2) are needed")
        os.environ["KVMPC_NET_TAP_NETNS"] = "1"
        os.execvp("unshare", ["unshare", "--net", "--", sys.executable,
                              os.path.abspath(__file__), emulator, payload])
    setup()
    ok = exchange(emulator, payload, 1514, False)
    ok = exchange(emulator, payload, 65536, True) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
