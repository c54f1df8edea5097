#!/usr/bin/env python3
"""The floppy guest test, both sides.

    run-floppy-test.py RUNNER EMULATOR PAYLOAD [RUNNER OPTIONS...]

Makes a.img (1.44 MB of the test stream) in a temporary directory, runs
RUNNER (run-guest-test.py) with it attached as floppy A: (-drive
if=floppy,index=0), and when the guest passed, checks on the host that
sectors 1/1/10-12 (cylinder/head/sector; absolute sectors 45-47) of a.img
hold what the guest wrote (byte i of sector s = ((s * 31 + i) ^ 0xa5) &
0xff, see floppy.c) and that every other byte is still the stream.  Exit
status: the runner's (77 = skipped), or 1 when the host-side check fails.
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

IMG_SIZE = 1474560
SPT = 18
WRITTEN = [(1 * 2 + 1) * SPT + r - 1 for r in (10, 11, 12)]


def expected_image():
    data = gen.stream(IMG_SIZE)
    for s in WRITTEN:
        for i in range(512):
            data[s * 512 + i] = ((s * 31 + i) ^ 0xa5) & 0xff
    return bytes(data)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    runner, emulator, payload = sys.argv[1:4]
    opts = sys.argv[4:]
    with tempfile.TemporaryDirectory(prefix="kvmpc-floppy-") as d:
        img = os.path.join(d, "a.img")
        with open(img, "wb") as f:
            f.write(gen.stream(IMG_SIZE))
        rc = subprocess.call(
            [sys.executable, runner] + opts + [emulator, payload, "--",
             "-drive", f"file={img},format=raw,if=floppy,index=0"])
        if rc != 0:
            return rc
        with open(img, "rb") as f:
            got = f.read()
        want = expected_image()
        if got != want:
            bad = next(i for i in range(len(want)) if got[i] != want[i])
            print(f"FAIL: host side: a.img differs at byte {bad} "
                  f"(sector {bad // 512})")
            return 1
        print("PASS: host side: sectors 1/1/10-12 hold the guest's writes, "
              "the rest of a.img is unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
