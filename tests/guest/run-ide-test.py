#!/usr/bin/env python3
"""The ide guest test, both sides.

    run-ide-test.py RUNNER EMULATOR PAYLOAD [RUNNER OPTIONS...]

Makes disk.raw (1 MiB) and cd.iso (256 KiB) of the test stream in a
temporary directory, runs RUNNER (run-guest-test.py) with them attached
as -drive index=0 (disk) and index=2 (CD-ROM), and when the guest passed,
checks on the host that sectors 1000-1011 of disk.raw hold what the guest
wrote (byte i of sector s = ((s * 31 + i) ^ 0x5a) & 0xff, see ide.c) and
that every other byte is still the stream.  Exit status: the runner's
(77 = skipped), or 1 when the host-side check fails.
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
WRITTEN = range(1000, 1012)


def expected_disk():
    data = gen.stream(DISK_SIZE)
    for s in WRITTEN:
        for i in range(512):
            data[s * 512 + i] = ((s * 31 + i) ^ 0x5a) & 0xff
    return bytes(data)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    runner, emulator, payload = sys.argv[1:4]
    opts = sys.argv[4:]
    with tempfile.TemporaryDirectory(prefix="kvmpc-ide-") as d:
        disk = os.path.join(d, "disk.raw")
        cd = os.path.join(d, "cd.iso")
        with open(disk, "wb") as f:
            f.write(gen.stream(DISK_SIZE))
        with open(cd, "wb") as f:
            f.write(gen.stream(CD_SIZE))
        rc = subprocess.call(
            [sys.executable, runner] + opts + [emulator, payload, "--",
             "-drive", f"file={disk},format=raw,if=ide,index=0",
             "-drive", f"file={cd},format=raw,if=ide,index=2,media=cdrom"])
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
        print("PASS: host side: sectors 1000-1011 hold the guest's writes, "
              "the rest of disk.raw is unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
