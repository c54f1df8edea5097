#!/usr/bin/env python3
"""The hda guest test through a real PulseAudio server.

    run-hda-pa-test.py [--ac97] play|capture|capture-missing RUNNER EMULATOR PAYLOAD [RUNNER OPTIONS...]

Starts a private PulseAudio daemon (a null sink, the native protocol on a
socket in a temporary directory, nothing shared with any other server),
then:

  play     RUNNER (run-guest-test.py) boots the hda payload on
           -audiodev pa,server=unix:SOCKET,out.name=SINK, where SINK is a
           pipe sink paced by the system clock: what it plays comes out
           of a FIFO the test reads meanwhile.  The recording, its
           leading and trailing silence cut, is checked with sox as
           run-hda-test.py checks its wav file: about 1 s of a 1 kHz sine
           at half amplitude (frequency, RMS and peak within 0.5 %), silent
           gaps (the host held kvmpc up longer than the server's buffer)
           of at most 1 % of it; and sample by sample against the
           payloads' sine table: no frame lost or repeated (the sine goes
           on where it was after a gap, it never jumps), and for AC97,
           which plays exactly one second, 48000 frames of sound.
  capture  pacat plays a 750 Hz sine at half amplitude into the sink; the
           payload (capture=1) records the sink's monitor through
           -audiodev pa,in.name=SINK.monitor at in.frequency=44100,
           in.channels=1 (so PulseAudio and kvmpc's mixer both convert)
           and prints what it measured: the frequency must be within
           0.5 %, the peak within 3 %.
  capture-missing
           the payload records from in.name=nosuchsource: the guest
           gets silence and runs on, and kvmpc says why in one line.

With --ac97 the payload is the ac97 one on -device AC97 (PCM OUT for
play, PCM IN for capture) instead of intel-hda + hda-duplex.

Exit status: the runner's (77 = skipped, also when PulseAudio is not
installed or does not start here, with the reason), or 1 when a check
fails.  The daemon is stopped by its pid at the end.
"""
import importlib.util
import math
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave

SKIP = 77
SINK = "kvmpcsink"
RATE = 48000
# what the payloads play: a 1 kHz sine at half scale, 48 frames a period
SINE48 = [0, 2139, 4240, 6270, 8192, 9974, 11585, 12998, 14189, 15137,
          15826, 16244, 16384, 16244, 15826, 15137, 14189, 12998, 11585,
          9974, 8192, 6270, 4240, 2139]
SINE48 += [-v for v in SINE48]
# a stereo s16 frame as the recording holds it: both channels alike
SINE_FRAMES = [struct.unpack("<I", struct.pack("<hh", v, v))[0]
               for v in SINE48]
TONE_HZ = 750
TONE_S = 30


# the sound device(s) on audiodev "snd"; --ac97 switches to AC97
DEVICES = ["-device", "intel-hda", "-device", "hda-duplex,audiodev=snd"]
# frames the payload plays: hda stops its stream after about 1 s of its
# own timing, AC97 halts after exactly one second of buffers
EXACT_FRAMES = None


class Skip(Exception):
    pass


def load_hda_test():
    """run-hda-test.py's sox helpers (one copy of the host-side checks)."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(
        "run_hda_test", os.path.join(here, "run-hda-test.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class PulseServer:
    """A pulseaudio daemon of the test's own, in directory @d.

    Its sink is a null sink, whose monitor the capture modes record; or,
    with @pipe, a pipe sink paced by the system clock that writes what
    it plays into the FIFO self.fifo.  A recording of a null sink's
    monitor loses the first 5-25 ms of a stream that starts (pacat's
    as much as kvmpc's): the server rewinds the sink to play new sound
    at once, and what the monitor already delivered cannot be taken
    back.  The pipe sink does not rewind, so every frame played is
    there, which the play mode counts.
    """

    def __init__(self, d, pipe=False):
        self.d = d
        self.pipe = pipe
        self.fifo = os.path.join(d, "sink.fifo")
        self.socket = os.path.join(d, "native")
        self.server = "unix:" + self.socket
        self.env = dict(os.environ, HOME=d, XDG_RUNTIME_DIR=d,
                        PULSE_RUNTIME_PATH=os.path.join(d, "run"),
                        PULSE_STATE_PATH=os.path.join(d, "state"),
                        PULSE_SERVER=self.server)
        self.proc = None

    def start(self):
        for tool in ("pulseaudio", "pactl", "pacat", "parec"):
            if not shutil.which(tool):
                raise Skip("%s is not installed (scripts/install-deps.sh "
                           "installs pulseaudio and pulseaudio-utils)" % tool)
        conf = os.path.join(self.d, "daemon.pa")
        with open(conf, "w") as f:
            if self.pipe:
                f.write("load-module module-pipe-sink sink_name=%s file=%s "
                        "rate=%d channels=2 format=s16le "
                        "use_system_clock_for_timing=yes\n"
                        % (SINK, self.fifo, RATE))
            else:
                f.write("load-module module-null-sink sink_name=%s rate=%d "
                        "channels=2 format=s16le\n" % (SINK, RATE))
            f.write("load-module module-native-protocol-unix "
                    "auth-anonymous=1 socket=%s\n" % self.socket)
        self.log = open(os.path.join(self.d, "pulseaudio.log"), "w+")
        # root is warned about, not refused; -n: only our script's modules
        self.proc = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1",
             "--disallow-exit", "--use-pid-file=no", "--disable-shm=yes",
             "-n", "-F", conf], env=self.env, stdout=self.log,
            stderr=subprocess.STDOUT)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise Skip("pulseaudio exited with status %d: %s"
                           % (self.proc.returncode, self.log_tail()))
            if self.pactl("info").returncode == 0:
                return
            time.sleep(0.1)
        raise Skip("pulseaudio did not answer on %s within 10 s: %s"
                   % (self.socket, self.log_tail()))

    def log_tail(self):
        self.log.seek(0)
        lines = [ln.strip() for ln in self.log if ln.startswith("E:")]
        return lines[-1] if lines else "(no error in its log)"

    def pactl(self, *args):
        return subprocess.run(["pactl", "-s", self.server] + list(args),
                              env=self.env, capture_output=True, text=True)

    def monitor_flowing(self, timeout=5):
        """Whether the sink's monitor delivers sound within @timeout s.

        A null sink with no stream sleeps in blocks of up to 2 s; only
        when that block ends does it take the low latency the new streams
        ask for.  Sound played before then is rendered late and in bursts,
        so a test waits for a recorder to receive its first data.
        """
        rec = self.tool(["parec", "-d", SINK + ".monitor",
                         "--latency-msec=20"] + RAW, stdout=subprocess.PIPE)
        try:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                r, _, _ = select.select([rec.stdout], [], [], 0.1)
                if r and rec.stdout.read1(4096):
                    return True
            return False
        finally:
            stop_tool(rec)

    def tool(self, argv, **kw):
        return subprocess.Popen([argv[0], "-s", self.server] + argv[1:],
                                env=self.env, **kw)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


def stop_tool(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


RAW = ["--raw", "--format=s16le", "--rate=%d" % RATE, "--channels=2"]


class FifoReader(threading.Thread):
    """Copies what the pipe sink writes into @fifo to the file @out until
    stopped (the sink keeps writing, silence when nothing plays)."""

    def __init__(self, fifo, out):
        super().__init__(daemon=True)
        # the sink holds the FIFO open for writing: this does not block
        self.fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.out = out
        self.done = threading.Event()
        self.nbytes = 0

    def run(self):
        with open(self.out, "wb") as f:
            while not self.done.is_set():
                r, _, _ = select.select([self.fd], [], [], 0.05)
                data = os.read(self.fd, 65536) if r else b""
                f.write(data)
                self.nbytes += len(data)

    def stop(self):
        self.done.set()
        self.join()
        os.close(self.fd)


def wait_flowing(reader, timeout=5):
    """Whether the pipe sink delivers within @timeout s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if reader.nbytes:
            return True
        time.sleep(0.05)
    return False


def raw_frames(raw_path):
    """The recording's stereo s16 frames, each as one 32-bit number."""
    with open(raw_path, "rb") as f:
        data = f.read()
    n = len(data) // 4
    return data, struct.unpack("<%dI" % n, data[:n * 4])


def trimmed_wav(raw_path, wav_path):
    """The recording without the silence before and after the sound."""
    data, frames = raw_frames(raw_path)
    n = len(frames)
    first = next((i for i, fr in enumerate(frames) if fr), n)
    last = next((i for i in range(n - 1, -1, -1) if frames[i]), -1)
    with wave.open(wav_path, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data[first * 4:(last + 1) * 4])
    return max(0, last + 1 - first)


def sine_phase(frames, i):
    """The sine table's index that frames[i:] follow for up to 48 frames,
    or None."""
    want = frames[i:i + 48]
    for p in range(48):
        if all(fr == SINE_FRAMES[(p + j) % 48] for j, fr in enumerate(want)):
            return p
    return None


def follow_sine(frames):
    """Walk the sound (first to last non-zero frame) along the sine table.

    Returns (sound, breaks): the frames that continue the sine, and where
    (offsets into the sound) it did not go on from the frame before.
    Silence inside the sound (runs of zero frames the sine does not
    have there: the server had nothing to play) is neither; after it the
    sine must go on where it was, since a late kvmpc delays sound, it
    does not lose it.  A break is sound lost or repeated on the way: the
    sine's phase jumps, with no silence to show for it.
    """
    nz = [i for i, fr in enumerate(frames) if fr]
    if not nz:
        return 0, []
    first, end = nz[0], nz[-1] + 1
    phase = sine_phase(frames, first)
    sound, breaks, i = 0, [], first
    if phase is None:
        return 0, [0]
    while i < end:
        fr = frames[i]
        if fr == SINE_FRAMES[phase % 48]:
            sound += 1
            phase += 1
        elif fr != 0:
            breaks.append(i - first)
            phase = sine_phase(frames, i)
            if phase is None:       # not the sine at all: give up here
                break
            continue
        i += 1
    return sound, breaks


def run_play(pa, d, runner, emulator, payload, opts):
    raw = os.path.join(d, "sink.raw")
    rec = FifoReader(pa.fifo, raw)
    rec.start()
    try:
        if not wait_flowing(rec):
            print("FAIL: the pipe sink wrote nothing in 5 s")
            return 1
        rc = subprocess.call([sys.executable, runner] + opts + [
            emulator, payload, "--",
            "-audiodev", "pa,id=snd,server=%s,out.name=%s,"
            "out.latency=200000,out.frequency=%d,out.channels=2,"
            "out.format=s16" % (pa.server, SINK, RATE)] + DEVICES,
            env=pa.env)
        time.sleep(0.5)             # the last buffered sound plays out
    finally:
        rec.stop()
    if rc != 0:
        return rc
    hda = load_hda_test()
    wav = os.path.join(d, "sink.wav")
    frames = trimmed_wav(raw, wav)
    sound, breaks = follow_sine(raw_frames(raw)[1])
    print("recorded %d frames from %s: %d of them the sine, %d breaks%s"
          % (frames, SINK, sound, len(breaks),
             " (at %s)" % breaks[:8] if breaks else ""))
    st = hda.sox_stat(wav)
    gaps = silent_frames(wav)
    checks = [
        (0.9 <= st.get("Length (seconds)", 0) <= 1.2, "about 1 s long"),
        (abs(st.get("Rough frequency", 0) - 1000) <= 5, "1 kHz"),
        (abs(st.get("RMS amplitude", 0) - 0.35355) <= 0.0018,
         "RMS of a half-scale sine"),
        (abs(st.get("Maximum amplitude", 0) - 0.5) <= 0.0025, "peak 0.5"),
        (gaps * 100 <= frames, "gaps %d frames, at most 1 %%" % gaps),
        (not breaks, "no frame lost or repeated (%d breaks)" % len(breaks)),
    ]
    if EXACT_FRAMES:
        # the sine's first frame is zero: the sound may start one later
        checks.append((sound in (EXACT_FRAMES - 1, EXACT_FRAMES),
                       "%d frames of the sine, %d played"
                       % (sound, EXACT_FRAMES)))
    for ok, what in checks:
        print("%s: host side: %s (%r)" % ("PASS" if ok else "FAIL", what, st))
    return 0 if all(ok for ok, _ in checks) else 1


def silent_frames(path):
    """Frames in runs of two or more zero frames: where the server had
    nothing to play.  A wav file never sees a late tick; a real-time sink
    plays silence when kvmpc is held up longer than its buffer (seen on a
    host with two sanitizer builds beside the test), so a few are let be.
    """
    with open(path, "rb") as f:
        data = f.read()[44:]
    n = len(data) // 4
    total = run = 0
    for fr in struct.unpack("<%dI" % n, data[:n * 4]) + (1,):
        if fr == 0:
            run += 1
            continue
        total += run if run > 1 else 0
        run = 0
    return total


def write_tone(path):
    """TONE_S seconds of a TONE_HZ sine at half scale, s16 stereo."""
    frames = bytearray()
    for i in range(RATE):
        v = int(round(16384 * math.sin(2 * math.pi * TONE_HZ * i / RATE)))
        frames += struct.pack("<hh", v, v)
    with open(path, "wb") as f:
        for _ in range(TONE_S):         # RATE / TONE_HZ is whole: seamless
            f.write(frames)


CAPTURE_RE = re.compile(r"capture: frequency ([\d.]+) Hz, peak (\d+), "
                        r"periods (\d+) \((\d+) skipped\)")


def run_capture(pa, d, runner, emulator, payload, opts):
    tone = os.path.join(d, "tone.raw")
    write_tone(tone)
    with open(tone, "rb") as src:
        play = pa.tool(["pacat", "-d", SINK, "--latency-msec=20"] + RAW,
                       stdin=src)
        try:
            if not pa.monitor_flowing():
                print("FAIL: no sound from %s.monitor in 5 s" % SINK)
                return 1
            r = subprocess.run([sys.executable, runner] + opts + [
                emulator, payload, "--", "-append", "capture=1",
                "-audiodev", "pa,id=snd,server=%s,in.name=%s.monitor,"
                "in.frequency=44100,in.channels=1" % (pa.server, SINK)]
                + DEVICES,
                env=pa.env, capture_output=True, text=True)
        finally:
            stop_tool(play)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode != 0:
        return r.returncode
    m = CAPTURE_RE.search(r.stdout)
    if not m:
        print("FAIL: the payload reported no measurement")
        return 1
    freq, peak = float(m.group(1)), int(m.group(2))
    checks = [
        (abs(freq - TONE_HZ) <= TONE_HZ * 0.005,
         "%.3f Hz recorded, %d Hz played (0.5 %%)" % (freq, TONE_HZ)),
        (abs(peak - 16384) <= 16384 * 0.03,
         "peak %d of a half-scale sine (3 %%)" % peak),
    ]
    for ok, what in checks:
        print("%s: host side: %s" % ("PASS" if ok else "FAIL", what))
    return 0 if all(ok for ok, _ in checks) else 1


def run_capture_missing(pa, d, runner, emulator, payload, opts):
    r = subprocess.run([sys.executable, runner] + opts + [
        emulator, payload, "--", "-append", "capture=1 silence=1",
        "-audiodev", "pa,id=snd,server=%s,in.name=nosuchsource" % pa.server]
        + DEVICES,
        env=pa.env, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode != 0:
        return r.returncode
    said = [ln for ln in (r.stdout + r.stderr).splitlines()
            if "pa: cannot record from nosuchsource: No such entity" in ln]
    ok = len(said) == 1
    print("%s: host side: one line says why capture is silent (%d)"
          % ("PASS" if ok else "FAIL", len(said)))
    return 0 if ok else 1


MODES = {"play": run_play, "capture": run_capture,
         "capture-missing": run_capture_missing}


def main():
    global DEVICES, EXACT_FRAMES
    if len(sys.argv) > 1 and sys.argv[1] == "--ac97":
        del sys.argv[1]
        DEVICES = ["-device", "AC97,audiodev=snd"]
        EXACT_FRAMES = RATE
    if len(sys.argv) < 5 or sys.argv[1] not in MODES:
        sys.exit(__doc__)
    mode, runner, emulator, payload = sys.argv[1:5]
    opts = sys.argv[5:]
    with tempfile.TemporaryDirectory() as d:
        pa = PulseServer(d, pipe=mode == "play")
        try:
            pa.start()
            return MODES[mode](pa, d, runner, emulator, payload, opts)
        except Skip as e:
            print("SKIP: %s" % e)
            return SKIP
        finally:
            pa.stop()


if __name__ == "__main__":
    sys.exit(main())
