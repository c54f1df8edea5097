#!/usr/bin/env python3
"""The ac97 guest test, both sides.

    run-ac97-test.py RUNNER EMULATOR PAYLOAD [RUNNER OPTIONS...]

Runs RUNNER (run-guest-test.py) with -device AC97 on a wav audiodev (48 kHz
s16 stereo) in a temporary directory; when the guest passed, checks the
file with sox as run-hda-test.py does (one copy of the checks): about one
second of a 1 kHz sine at half amplitude (frequency, RMS and peak within
0.5 %: the payload sets Master and PCM Out to 0 dB), no dropouts, and
exactly 48000 frames of sound: the box halts by itself after its last
buffer, and what the voice holds then must still play.
Exit status: the runner's (77 = skipped), or 1 when a host check fails.
"""
import importlib.util
import os
import sys


def load_hda_test():
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(
        "run_hda_test", os.path.join(here, "run-hda-test.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


if __name__ == "__main__":
    sys.exit(load_hda_test().main(["-device", "AC97,audiodev=snd"], __doc__,
                                       sound_frames=48000))
