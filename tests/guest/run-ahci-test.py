#!/usr/bin/env python3
"""The ahci guest test, both sides.

    run-ahci-test.py RUNNER EMULATOR PAYLOAD [RUNNER OPTIONS...]

Makes disk.raw (1 MiB) and cd.iso (256 KiB) of the test stream in a
temporary directory, runs RUNNER (run-guest-test.py) with an AHCI
controller and them attached to its ports 0 and 1 (-device ahci,id=ahci0
-device ide-hd,bus=ahci0.0 -device ide-cd,bus=ahci0.1, as QEMU spells
it), and when the guest passed, checks on the host that sectors 1000-1015
of disk.raw hold what the guest wrote with queued writes (byte i of
sector s = ((s * 17 + i) ^ 0xa5) & 0xff, see ahci.c) and that every other
byte is still the stream.  Exit status: the runner's (77 = skipped), or 1
when the host-side check fails.
"""
import importlib.util
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "gen_testdata", os.path.join(HERE, "gen-testdata.py"))
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)

DISK_SIZE = 1 << 20
CD_SIZE = 256 << 10
WRITTEN = range(1000, 1016)


def expected_disk():
    data = gen.stream(DISK_SIZE)
    for s in WRITTEN:
        for i in range(512):
            data[s * 512 + i] = ((s * 17 + i) ^ 0xa5) & 0xff
    return bytes(data)


def ahci_args(disk, cd):
    """The emulator arguments that put @disk and @cd on an AHCI."""
    return ["-drive", f"file={disk},format=raw,if=none,id=ahci-disk",
            "-drive", f"file={cd},format=raw,if=none,id=ahci-cd,media=cdrom",
            "-device", "ahci,id=ahci0",
            "-device", "ide-hd,drive=ahci-disk,bus=ahci0.0",
            "-device", "ide-cd,drive=ahci-cd,bus=ahci0.1"]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    runner, emulator, payload = sys.argv[1:4]
    opts = sys.argv[4:]
    with tempfile.TemporaryDirectory(prefix="kvmpc-ahci-") as d:
        disk = os.path.join(d, "disk.raw")
        cd = os.path.join(d, "cd.iso")
        with open(disk, "wb") as f:
            f.write(gen.stream(DISK_SIZE))
        with open(cd, "wb") as f:
            f.write(gen.stream(CD_SIZE))
        rc = subprocess.call([sys.executable, runner] + opts +
                             [emulator, payload, "--"] + ahci_args(disk, cd))
        if rc != 0:
            return rc
        with open(disk, "rb") as f:
            got = f.read()
        want = expected_disk()
        if got != want:
            bad = next(i for i in range(len(want)) if got[i] != want[i])
            print(f"FAIL: host side: disk.raw differs at byte {bad} "
                  f"(sector {bad // 512})")
            return 1
        print("PASS: host side: sectors 1000-1015 hold the guest's queued "
              "writes, the rest of disk.raw is unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
