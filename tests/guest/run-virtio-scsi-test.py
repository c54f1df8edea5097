#!/usr/bin/env python3
"""The virtio-scsi guest test, both sides.

    run-virtio-scsi-test.py RUNNER EMULATOR PAYLOAD [RUNNER OPTIONS...]

For each of raw and qcow2 images, split and packed rings, and the queues
on the main loop or in an I/O thread: makes a 1 MiB disk of the test
stream in a temporary directory, runs RUNNER (run-guest-test.py) with a
virtio-scsi-pci and the disk as scsi-hd (discard=unmap), and when the
guest passed checks on the host that sectors 1000-1011 hold what the
guest wrote (byte i of sector s = ((s * 31 + i) ^ 0x5a) & 0xff, see
virtio-scsi.c), that sectors 1500-1563 (unmapped) read zero, and that
every other byte is still the stream (qcow2 through qemu-img convert).
qcow2 runs are left out without qemu-img.  Exit status: the runner's
(77 = skipped), or 1 when a host-side check fails.
"""
import importlib.util
import itertools
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

DISK_SIZE = 1 << 20
WRITTEN = range(1000, 1012)
UNMAPPED = range(1500, 1564)


def expected_disk():
    data = gen.stream(DISK_SIZE)
    for s in WRITTEN:
        for i in range(512):
            data[s * 512 + i] = ((s * 31 + i) ^ 0x5a) & 0xff
    for s in UNMAPPED:
        data[s * 512:(s + 1) * 512] = bytes(512)
    return bytes(data)


def make_disk(d, fmt):
    raw = os.path.join(d, "disk.raw")
    with open(raw, "wb") as f:
        f.write(gen.stream(DISK_SIZE))
    if fmt == "raw":
        return raw
    img = os.path.join(d, "disk.qcow2")
    subprocess.check_call(["qemu-img", "convert", "-q", "-f", "raw", "-O",
                           "qcow2", raw, img])
    os.unlink(raw)
    return img


def read_disk(d, img, fmt):
    if fmt == "qcow2":
        out = os.path.join(d, "check.raw")
        subprocess.check_call(["qemu-img", "convert", "-q", "-f", "qcow2",
                               "-O", "raw", img, out])
        img = out
    with open(img, "rb") as f:
        return f.read()


def run_one(runner, emulator, payload, opts, fmt, packed, iothread):
    name = f"{fmt}, {'packed' if packed else 'split'}, " \
           f"{'iothread' if iothread else 'main loop'}"
    with tempfile.TemporaryDirectory(prefix="kvmpc-vscsi-") as d:
        img = make_disk(d, fmt)
        hba = "virtio-scsi-pci,id=scsi0"
        args = []
        if iothread:
            args += ["-object", "iothread,id=io0"]
            hba += ",iothread=io0"
        if packed:
            hba += ",packed=on"
        args += ["-device", hba,
                 "-drive", f"file={img},format={fmt},if=none,id=d0,"
                           "discard=unmap",
                 "-device", "scsi-hd,drive=d0,bus=scsi0.0,scsi-id=0,lun=0"]
        if packed:
            args += ["-append", "packed=1"]
        print(f"# {name}", flush=True)
        rc = subprocess.call([sys.executable, runner] + opts +
                             [emulator, payload, "--"] + args)
        if rc != 0:
            return rc
        got = read_disk(d, img, fmt)
        want = expected_disk()
        if got != want:
            bad = next(i for i in range(len(want)) if got[i] != want[i])
            print(f"FAIL: host side ({name}): the image differs at byte "
                  f"{bad} (sector {bad // 512})")
            return 1
        print(f"PASS: host side ({name}): sectors 1000-1011 hold the "
              "guest's writes, 1500-1563 are zero, the rest is unchanged")
    return 0


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    runner, emulator, payload = sys.argv[1:4]
    opts = sys.argv[4:]
    formats = ["raw"] + (["qcow2"] if shutil.which("qemu-img") else [])
    for fmt, packed, iothread in itertools.product(formats, (False, True),
                                                   (False, True)):
        rc = run_one(runner, emulator, payload, opts, fmt, packed, iothread)
        if rc != 0:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
