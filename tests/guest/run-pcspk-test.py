#!/usr/bin/env python3
"""The pcspk guest test, both sides.

    run-pcspk-test.py IRQCHIP RUNNER EMULATOR PAYLOAD [RUNNER OPTIONS...]

Runs RUNNER (run-guest-test.py) with -machine pcspk-audiodev= on a mono
wav audiodev and kernel_irqchip=IRQCHIP: "on" is KVM's in-kernel PIT
(port 0x61 then exits to kvmpc's PC speaker), "split" kvmpc's own PIT.
When the guest passed, checks the file: a square wave at half amplitude,
440 Hz over the first part of the sound and 880 Hz over the last (the
guest reprogrammed channel 2 without touching port 0x61), each within
1 % by zero crossings, then silence.  Exit status: the runner's
(77 = skipped), or 1 when the host-side check fails.
"""
import os
import struct
import subprocess
import sys
import tempfile

RATE = 48000


def wav_samples(path):
    with open(path, "rb") as f:
        data = f.read()[44:]
    n = len(data) // 2
    return struct.unpack("<%dh" % n, data[:n * 2])


def frequency(samples):
    """Rising edges per second of a square wave."""
    rises = sum(1 for a, b in zip(samples, samples[1:]) if a < 0 <= b)
    return rises * RATE / len(samples)


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    irqchip, runner, emulator, payload = sys.argv[1:5]
    opts = sys.argv[5:]
    with tempfile.TemporaryDirectory(prefix="kvmpc-pcspk-") as d:
        wav = os.path.join(d, "out.wav")
        rc = subprocess.call([sys.executable, runner] + opts + [
            emulator, payload, "--",
            "-audiodev", "wav,id=snd,path=%s,out.frequency=%d,"
                         "out.channels=1,out.format=s16" % (wav, RATE),
            "-machine", "pcspk-audiodev=snd,kernel_irqchip=%s" % irqchip])
        if rc != 0:
            return rc
        s = wav_samples(wav)
        nz = [i for i, v in enumerate(s) if v]
        span = s[nz[0]:nz[-1] + 1] if nz else ()
        n = len(span)
        checks = [(n >= RATE // 2, "%d frames of sound" % n)]
        if n >= RATE // 2:
            lo, hi = frequency(span[:n * 2 // 5]), frequency(span[-n * 2 // 5:])
            peak = max(abs(v) for v in span)
            checks += [
                (abs(lo - 440) <= 4.4, "first part at 440 Hz (%.1f)" % lo),
                (abs(hi - 880) <= 8.8, "last part at 880 Hz (%.1f)" % hi),
                (peak == 16384, "half amplitude (peak %d)" % peak),
            ]
        for ok, what in checks:
            print("%s: host side: %s" % ("PASS" if ok else "FAIL", what))
        return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
