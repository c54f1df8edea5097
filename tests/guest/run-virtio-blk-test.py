#!/usr/bin/env python3
"""The virtio-blk guest test, both sides.

    run-virtio-blk-test.py RUNNER EMULATOR PAYLOAD [--fmt raw|qcow2]
                           [--ring split|packed] [--io main|iothread]
                           [RUNNER OPTIONS...]

Makes an 8 MiB disk of the test stream (gen-testdata.py, its first MiB
repeated) in a temporary
directory (qcow2: converted with qemu-img), runs RUNNER
(run-guest-test.py) with it on a virtio-blk-pci (serial kvmpc-vblk,
discard=unmap, packed=on for --ring packed, an -object iothread for --io
iothread; -m 256M, -append "packed=1" for the packed ring), and when the
guest passed, checks on the host (qcow2: after qemu-img convert to raw)
that sectors 2048-2111 hold the guest's pattern (byte i of sector s =
(s * 31 + i * 7 + 0x3c) & 0xff, see virtio-blk.c), sectors 4096-4351 and
8192-8447 are zero (discard, write-zeroes) and every other byte is still
the stream.  Exit status: the runner's (77 = skipped), or 1 when the
host-side check fails.
"""
import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "gen_testdata", os.path.join(HERE, "gen-testdata.py"))
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)

DISK_SIZE = 8 << 20
CHUNK = 1 << 20
SECTOR = 512


def disk_stream():
    return gen.stream(CHUNK) * (DISK_SIZE // CHUNK)


def expected_disk():
    data = disk_stream()
    for s in range(2048, 2112):
        for i in range(SECTOR):
            data[s * SECTOR + i] = (s * 31 + i * 7 + 0x3c) & 0xff
    for first, last in ((4096, 4352), (8192, 8448)):
        data[first * SECTOR:last * SECTOR] = bytes((last - first) * SECTOR)
    return bytes(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runner")
    ap.add_argument("emulator")
    ap.add_argument("payload")
    ap.add_argument("--fmt", choices=("raw", "qcow2"), default="raw")
    ap.add_argument("--ring", choices=("split", "packed"), default="split")
    ap.add_argument("--io", choices=("main", "iothread"), default="main")
    args, opts = ap.parse_known_args()
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm is not available")
        return 77
    if args.fmt == "qcow2" and not shutil.which("qemu-img"):
        print("SKIP: qemu-img is not installed (qcow2 images)")
        return 77
    with tempfile.TemporaryDirectory(prefix="kvmpc-vblk-") as d:
        raw = os.path.join(d, "disk.raw")
        with open(raw, "wb") as f:
            f.write(disk_stream())
        disk = raw
        if args.fmt == "qcow2":
            disk = os.path.join(d, "disk.qcow2")
            subprocess.check_call(["qemu-img", "convert", "-f", "raw", "-O",
                                   "qcow2", raw, disk])
        dev = "virtio-blk-pci,drive=vd,serial=kvmpc-vblk"
        extra = ["-m", "256M"]
        if args.ring == "packed":
            dev += ",packed=on"
            extra += ["-append", "packed=1"]
        if args.io == "iothread":
            dev += ",iothread=io0"
            extra += ["-object", "iothread,id=io0"]
        extra += ["-drive", f"file={disk},format={args.fmt},if=none,id=vd,"
                  "discard=unmap", "-device", dev]
        rc = subprocess.call([sys.executable, args.runner] + opts +
                             [args.emulator, args.payload, "--"] + extra)
        if rc != 0:
            return rc
        if args.fmt == "qcow2":
            out = os.path.join(d, "out.raw")
            subprocess.check_call(["qemu-img", "check", "-q", disk])
            subprocess.check_call(["qemu-img", "convert", "-f", "qcow2", "-O",
                                   "raw", disk, out])
        else:
            out = raw
        with open(out, "rb") as f:
            got = f.read()
        want = expected_disk()
        if got != want:
            bad = next((i for i in range(min(len(got), len(want)))
                        if got[i] != want[i]), min(len(got), len(want)))
            print(f"FAIL: host side: the image differs at byte {bad} "
                  f"(sector {bad // SECTOR})")
            return 1
        print(f"PASS: host side ({args.fmt}, {args.ring}, {args.io}): "
              "sectors 2048-2111 hold the guest's writes, 4096-4351 and "
              "8192-8447 are zero, the rest is unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
