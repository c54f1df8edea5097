#!/usr/bin/env python3
"""query-audiodevs: the audiodevs with their settings and counters, and
the frames an AC97 stream played (docs/audio.md); all under -accel
qtest."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import QMP, Kvmpc, check, check_eq, no_kvm, run_tests, wait_for  # noqa: E402,E501
from test_timer_storm import QTest  # noqa: E402


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


if __name__ == "__main__":
    run_tests([test_query_audiodevs])
