#!/usr/bin/env python3
"""The hda guest test, both sides.

    run-hda-test.py RUNNER EMULATOR PAYLOAD [RUNNER OPTIONS...]

Runs RUNNER (run-guest-test.py) with -device intel-hda -device hda-duplex
on a wav audiodev in a temporary directory; when the guest passed, checks
the file with sox: about one second (the guest timed it with udelay) of a
1 kHz sine at half amplitude (frequency and RMS within 0.5 %, peak
within 0.5 %) and no run of zero frames inside it.  Exit status: the
runner's (77 = skipped), or 1 when the host-side check fails.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile


def sox_stat(path):
    out = subprocess.run(["sox", path, "-n", "remix", "1", "stat"],
                         capture_output=True, text=True).stderr
    stats = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            try:
                stats[" ".join(k.split())] = float(v)
            except ValueError:
                pass
    return stats


def wav_frames(path):
    with open(path, "rb") as f:
        data = f.read()[44:]
    n = len(data) // 4
    return struct.unpack("<%dI" % n, data[:n * 4])


def sound_span(frames):
    """(first, end) of the frames from the first non-zero one to the last:
    silence before and after the sound (a voice that ran before the
    guest's data came, or on after it drained) is no dropout."""
    nz = [i for i, fr in enumerate(frames) if fr]
    return (nz[0], nz[-1] + 1) if nz else (0, 0)


def longest_zero_run(path):
    frames = wav_frames(path)
    first, end = sound_span(frames)
    best = run = 0
    for fr in frames[first:end]:
        run = run + 1 if fr == 0 else 0
        best = max(best, run)
    return best


HDA_DEVICES = ["-device", "intel-hda", "-device", "hda-duplex,audiodev=snd"]


def main(devices=HDA_DEVICES, doc=__doc__, sound_frames=None):
    """Boot the payload on @devices (audiodev "snd"), check the wav;
    @sound_frames: the sound must be exactly that many frames long."""
    if len(sys.argv) < 4:
        sys.exit(doc)
    runner, emulator, payload = sys.argv[1:4]
    opts = sys.argv[4:]
    with tempfile.TemporaryDirectory(prefix="kvmpc-snd-") as d:
        wav = os.path.join(d, "out.wav")
        rc = subprocess.call([sys.executable, runner] + opts + [
            emulator, payload, "--",
            "-audiodev", "wav,id=snd,path=%s,out.frequency=48000,"
                         "out.channels=2,out.format=s16" % wav] + devices)
        if rc != 0:
            return rc
        if not shutil.which("sox"):
            print("PASS: guest side (sox not installed: no host-side check)")
            return 0
        st = sox_stat(wav)
        checks = [
            (0.9 <= st.get("Length (seconds)", 0) <= 1.2, "about 1 s long"),
            (abs(st.get("Rough frequency", 0) - 1000) <= 5, "1 kHz"),
            (abs(st.get("RMS amplitude", 0) - 0.35355) <= 0.0018,
             "RMS of a half-scale sine"),
            (abs(st.get("Maximum amplitude", 0) - 0.5) <= 0.0025,
             "peak 0.5"),
            (longest_zero_run(wav) <= 1, "no dropouts"),
        ]
        if sound_frames is not None:
            first, end = sound_span(wav_frames(wav))
            # the sine's first frame is zero: the span may start one later
            checks.append((end - first in (sound_frames - 1, sound_frames),
                           "%d frames of sound, %d played"
                           % (end - first, sound_frames)))
        for ok, what in checks:
            print("%s: host side: %s (%r)" % ("PASS" if ok else "FAIL",
                                               what, st))
        return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
