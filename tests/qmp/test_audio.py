#!/usr/bin/env python3
"""query-audiodevs: the audiodevs with their settings and counters, and
the frames an AC97 stream played (docs/audio.md); all under -accel
qtest."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (QMP, Kvmpc, check, check_eq, no_kvm,  # noqa: E402
                    run_tests, wait_for)
from test_timer_storm import QTest  # noqa: E402


def drivers(binary):
    out = subprocess.run([binary, "-audiodev", "help"], capture_output=True,
                         text=True).stdout
    return out.split("\n", 1)[1].split()


def start_ac97(binary, tmpdir, audiodev):
    """kvmpc with an AC97 on @audiodev (id "snd"); its BARs mapped."""
    qtest_path = os.path.join(tmpdir, "qtest.sock")
    qmp_path = os.path.join(tmpdir, "qmp.sock")
    vm = Kvmpc(binary, [
        "-machine", "pc", "-nodefaults", "-display", "none",
        "-accel", "qtest", "-qtest-log", "none",
        "-qtest", "unix:%s,server=on" % qtest_path,
        "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
        "-audiodev", audiodev,
        "-device", "AC97,addr=5,audiodev=snd"], tmpdir=tmpdir)
    wait_for(lambda: os.path.exists(qtest_path), what="qtest socket")
    qt = QTest(qtest_path)
    vm.wait_socket(qmp_path)
    for reg, val in ((0x10, 0xc000), (0x14, 0xc400)):
        qt.cmd("outl 0xcf8 0x%x" % (0x80002800 | reg))
        qt.cmd("outl 0xcfc 0x%x" % val)
    qt.cmd("outl 0xcf8 0x80002804")
    qt.cmd("outw 0xcfc 0x5")
    return vm, qt, QMP(qmp_path)


def play_ac97(qt, frames):
    """Queue @frames stereo frames (one buffer) on the PCM out box."""
    qt.cmd("writel 0x180000 0x200000")
    qt.cmd("writel 0x180004 0x%x" % (frames * 2))
    qt.cmd("outl 0xc410 0x180000")
    qt.cmd("outb 0xc415 0")
    qt.cmd("outb 0xc41b 1")


@no_kvm
def test_alsa_null(binary):
    """ALSA's null PCM takes a stream at the audio timer's pace."""
    if "alsa" not in drivers(binary):
        print("SKIP test_alsa_null: the alsa back end is not built")
        return
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-audio-")
    vm, qt, q = start_ac97(binary, tmpdir,
                           "alsa,id=snd,out.dev=null,out.frequency=48000")
    try:
        play_ac97(qt, 4800)
        qt.cmd("clock_step 200000000")
        snd = q.ret("query-audiodevs")[0]
        check_eq(snd["driver"], "alsa", "driver")
        check_eq(snd["out"]["x-frames"], 4800, "frames played")
        check(vm.alive(), "kvmpc died")
    finally:
        q.close()
        vm.close()


@no_kvm
def test_sdl_dummy(binary):
    """SDL's dummy driver plays in real time: fed at that pace (the
    virtual clock stepped with the wall clock), nothing underruns."""
    if "sdl" not in drivers(binary):
        print("SKIP test_sdl_dummy: the sdl back end is not built")
        return
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-audio-")
    os.environ["SDL_AUDIODRIVER"] = "dummy"     # kvmpc inherits it
    vm, qt, q = start_ac97(binary, tmpdir, "sdl,id=snd,out.frequency=48000")
    try:
        play_ac97(qt, 9600)
        start = time.monotonic()
        for tick in range(1, 26):
            qt.cmd("clock_step 10000000")
            # keep the virtual clock at or behind the wall clock
            time.sleep(max(0.0, start + tick * 0.010 - time.monotonic()))
        snd = q.ret("query-audiodevs")[0]
        check_eq(snd["driver"], "sdl", "driver")
        check_eq(snd["out"]["x-frames"], 9600, "frames played")
        check_eq(snd["out"]["x-underruns"], 0, "underruns")
        check(vm.alive(), "kvmpc died")
    finally:
        q.close()
        vm.close()


@no_kvm
def test_backend_errors(binary):
    """A back end that cannot start is one clear line and exit 1."""
    cases = [("wav,id=a,path=/nonexistent/dir/x.wav", "wav: could not open"),
             ("none,id=a,out.frequency=5", "must be between"),
             ("none,id=a,out.format=s24", "out.format"),
             ("none,id=a,bogus=1", "Invalid parameter 'bogus'"),
             ("coreaudio,id=a", "not built into kvmpc")]
    if "pa" in drivers(binary):
        cases.append(("pa,id=a,server=unix:/nonexistent",
                      "cannot connect to the PulseAudio server"))
    if "alsa" in drivers(binary):
        cases.append(("alsa,id=a,out.dev=nosuch", "cannot open playback"))
    for spec, msg in cases:
        r = subprocess.run([binary, "-machine", "pc", "-accel", "qtest",
                            "-nodefaults", "-display", "none",
                            "-audiodev", spec], capture_output=True,
                           text=True, timeout=30)
        check_eq(r.returncode, 1, "exit status of -audiodev " + spec)
        check(msg in r.stderr, "%r not in %r" % (msg, r.stderr))


@no_kvm
def test_query_audiodevs(binary):
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-audio-")
    wav = os.path.join(tmpdir, "out.wav")
    qtest_path = os.path.join(tmpdir, "qtest.sock")
    qmp_path = os.path.join(tmpdir, "qmp.sock")
    vm = Kvmpc(binary, [
        "-machine", "pc", "-nodefaults", "-display", "none",
        "-accel", "qtest", "-qtest-log", "none",
        "-qtest", "unix:%s,server=on" % qtest_path,
        "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
        "-audiodev", "none,id=quiet,timer-period=5000,in.frequency=8000",
        "-audiodev", "wav,id=file,path=%s,out.frequency=48000,"
                     "out.format=s16,out.channels=2" % wav,
        "-device", "AC97,addr=5,audiodev=file"], tmpdir=tmpdir)
    wait_for(lambda: os.path.exists(qtest_path), what="qtest socket")
    qt = QTest(qtest_path)
    vm.wait_socket(qmp_path)
    q = QMP(qmp_path)
    try:
        devs = {d["id"]: d for d in q.ret("query-audiodevs")}
        check_eq(sorted(devs), ["file", "quiet"], "audiodev ids")
        quiet, f = devs["quiet"], devs["file"]
        check_eq(quiet["driver"], "none", "driver")
        check_eq(quiet["timer-period"], 5000, "timer-period")
        check_eq(quiet["in"]["frequency"], 8000, "in.frequency")
        check_eq(quiet["out"]["frequency"], 44100, "default frequency")
        check_eq(f["driver"], "wav", "driver")
        check_eq(f["path"], wav, "wav path")
        check_eq(f["out"]["format"], "s16", "format")
        check_eq(f["out"]["channels"], 2, "channels")
        check_eq(f["out"]["x-frames"], 0, "nothing played yet")
        # 0.1 s of silence through AC97's PCM out box
        qt.cmd("outl 0xcf8 0x80002810")
        qt.cmd("outl 0xcfc 0xc000")
        qt.cmd("outl 0xcf8 0x80002814")
        qt.cmd("outl 0xcfc 0xc400")
        qt.cmd("outl 0xcf8 0x80002804")
        qt.cmd("outw 0xcfc 0x5")
        qt.cmd("writel 0x180000 0x200000")
        qt.cmd("writel 0x180004 0x%x" % (4800 * 2))
        qt.cmd("outl 0xc410 0x180000")
        qt.cmd("outb 0xc415 0")
        qt.cmd("outb 0xc41b 1")
        qt.cmd("clock_step 200000000")
        f = {d["id"]: d for d in q.ret("query-audiodevs")}["file"]
        check_eq(f["out"]["x-frames"], 4800, "frames played")
        check_eq(f["out"]["x-underruns"], 0, "underruns")
        check(vm.alive(), "kvmpc died")
    finally:
        q.close()
        vm.close()


def test_pcspk_backend_under_kvm(binary):
    """The PC speaker's back end from -audio model=pcspk and from
    -soundhw pcspk (QEMU 7.0's form, which libvirt 9.0 passes for
    <sound model='pcspk'/>), under KVM: the in-kernel PIT must be made
    without its dummy speaker, before the audiodevs exist (both used to
    stop with "the machine's PIT leaves port 0x61 to nobody")."""
    cases = [(["-audio", "none,model=pcspk"], "audiodev0"),
             (["-audiodev", '{"id":"audio1","driver":"none"}',
               "-soundhw", "pcspk"], "audio1"),
             (["-soundhw", "pcspk"], "audiodev0")]
    for args, want in cases:
        tmpdir = tempfile.mkdtemp(prefix="kvmpc-audio-")
        qmp_path = os.path.join(tmpdir, "qmp.sock")
        vm = Kvmpc(binary, ["-machine", "pc", "-S", "-nodefaults",
                            "-display", "none", "-qmp",
                            "unix:%s,server=on,wait=off" % qmp_path] + args,
                   tmpdir=tmpdir)
        try:
            vm.wait_socket(qmp_path)
            q = QMP(qmp_path)
            qtree = q.ret("human-monitor-command",
                          {"command-line": "info qtree"})
            pcspk = qtree[qtree.index("dev: isa-pcspk"):][:200]
            check('audiodev = "%s"' % want in pcspk,
                  "%s: %r" % (args, pcspk))
            q.close()
        finally:
            vm.close()
    r = subprocess.run([binary, "-soundhw", "sb16"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode != 0 and "-soundhw: unknown model 'sb16'" in
          r.stderr, "-soundhw sb16: %r" % r.stderr)


if __name__ == "__main__":
    run_tests([test_query_audiodevs, test_alsa_null, test_sdl_dummy,
               test_backend_errors, test_pcspk_backend_under_kvm])
