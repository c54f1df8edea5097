#!/usr/bin/env python3
"""Live migration benchmarks.

Rows:
  migration-ram/qtest  RAM-transfer throughput of kvmpc alone: a 1 GiB
               -accel qtest machine whose RAM is all non-zero (qtest
               memset) migrates over loopback TCP with max-bandwidth 0
               (unlimited); GB/s = 1 GiB / total-time, next to the
               loopback limit measured in the same run by a plain socket
               copy of 1 GiB (the "limit" column).  Runs alternate and
               medians are compared.
  migration-multifd-zstd/qtest  a 1 GiB -accel qtest machine (RAM filled
               with one byte value per 64 MiB: compressible pages) over
               loopback TCP with multifd, 4 channels, zstd level 1,
               unlimited bandwidth, against QEMU 7.2 (Debian's
               qemu-system-x86_64 under -accel qtest, the same commands)
               alternating in the same run: total time, downtime, bytes
               on the wire.
  migration-xbzrle/qtest  a 256 MiB machine, pause-before-switchover;
               while paused 8 bytes of 4096 already-sent pages are
               rewritten, so the last pass re-sends them: downtime bytes
               and downtime with xbzrle (256 MiB cache) on kvmpc, off on
               kvmpc, on on QEMU 7.2.
  migration/kvm  the issue's bench: a 1 GiB KVM guest
               (tests/guest/migrate.c in its dirty_mbps= mode) dirtying
               512 MiB at about 30 MB/s, 300 MB/s and 3 GB/s (one store
               per 4 KiB page, paced by its TSC) migrates over loopback
               TCP, kvmpc and QEMU 7.2 (-enable-kvm) alternating with the
               same payload and settings: defaults at 30 MB/s,
               max-bandwidth 10 GB/s at the two higher rates (as the issue
               measured QEMU).  Total time and downtime from query-migrate;
               a run that has not converged after 60 s is cancelled and
               counted as such.  The destination must go on dirtying.
               Two more rows dirty whole pages with pseudo-random words
               (dense=1) at 30 and 300 MB/s: there kvmpc's sparse pages
               cannot help, which shows what they are worth above.
               Needs /dev/kvm (SKIP with the reason otherwise).
               With --dirty-ring=N both programs run with
               -accel kvm,dirty-ring-size=N (KVM's dirty ring instead of
               the dirty bitmap) on both ends.
  migration-tls/qtest  a 256 MiB -accel qtest machine whose RAM is all
               non-zero migrates over loopback TCP with max-bandwidth 0,
               plain and with tls-creds (x509, certificates from
               certtool), kvmpc and QEMU 7.2 (TCG, -S) alternating: MB/s
               of page data over total-time.  --tls-only runs just this.
Usage: bench/migration.py BUILD_DIR [RUNS] [--kvm-only] [--tls-only]
                          [--dirty-ring=N]
"""
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "qmp"))
from qmplib import Kvmpc, QMP, wait_for  # noqa: E402
from test_timer_storm import QTest  # noqa: E402

SIZE = 1 << 30
CHUNK = 4 << 20
# --dirty-ring=N: entries per vCPU for the migration/kvm rows (0: bitmap)
DIRTY_RING = next((int(a.split("=", 1)[1]) for a in sys.argv
                   if a.startswith("--dirty-ring=")), 0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def loopback_copy_gbs():
    """A plain socket copy of SIZE bytes over loopback TCP."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    got = [0]

    def sink():
        c, _ = srv.accept()
        buf = bytearray(CHUNK)
        while True:
            n = c.recv_into(buf)
            if not n:
                break
            got[0] += n
        c.close()
    t = threading.Thread(target=sink)
    t.start()
    data = b"\x5a" * CHUNK
    c = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    for _ in range(SIZE // CHUNK):
        c.sendall(data)
    c.close()
    t.join()
    dt = time.monotonic() - t0
    srv.close()
    assert got[0] == SIZE
    return SIZE / dt / 1e9


def start(binary, extra, mem="1G"):
    tmp = tempfile.mkdtemp(prefix="kvmpc-bench-mig-")
    qt_path = os.path.join(tmp, "qtest.sock")
    qmp_path = os.path.join(tmp, "qmp.sock")
    # Debian's QEMU 7.2 has no qtest accelerator: it runs TCG, stopped
    # (-S), and qtest still reads and writes its RAM
    accel = (["-accel", "tcg", "-S"] if "qemu" in os.path.basename(binary)
             else ["-accel", "qtest"])
    vm = Kvmpc(binary, ["-machine", "pc", "-nodefaults", "-display", "none"]
               + accel + ["-qtest-log", "none", "-m", mem,
                        "-qtest", "unix:%s,server=on" % qt_path,
                        "-qmp", "unix:%s,server=on,wait=off" % qmp_path]
               + extra, tmpdir=tmp)
    vm.wait_socket(qt_path)
    qt = QTest(qt_path)
    vm.wait_socket(qmp_path)
    return vm, qt, QMP(qmp_path)


def kvmpc_ram_gbs(binary):
    port = free_port()
    src, sq, sm = start(binary, [])
    dst, dq, dm = start(binary, ["-incoming", "tcp:127.0.0.1:%d" % port])
    try:
        # RAM is 0..3 GiB here; qtest memset takes 64 MiB at a time
        for addr in range(0, SIZE, 64 << 20):
            sq.cmd("memset 0x%x 0x%x 0x5a" % (addr, 64 << 20))
        sm.cmd("migrate-set-parameters", {"max-bandwidth": 0})

        def bound():
            with open("/proc/net/tcp") as f:
                return (":%04X" % port) in f.read()
        wait_for(bound)
        sm.cmd("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
        while True:
            info = sm.cmd("query-migrate")["return"]
            if info["status"] in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.01)
        assert info["status"] == "completed", info
        # the destination holds the data
        assert dq.cmd("readq 0x3ff00000")[0] == "OK 0x5a5a5a5a5a5a5a5a"
        return (info["ram"]["normal-bytes"] / (info["total-time"] / 1000)
                / 1e9, info["total-time"], info["downtime"])
    finally:
        src.close()
        dst.close()


def wait_done(qmp, want=("completed", "failed", "cancelled")):
    while True:
        info = qmp.cmd("query-migrate")["return"]
        if info.get("status") in want:
            return info
        time.sleep(0.005)


def set_caps(qmp, **kw):
    r = qmp.cmd("migrate-set-capabilities", {"capabilities": [
        {"capability": k.replace("_", "-"), "state": v}
        for k, v in kw.items()]})
    assert "return" in r, r


def set_params(qmp, **kw):
    r = qmp.cmd("migrate-set-parameters",
                {k.replace("_", "-"): v for k, v in kw.items()})
    assert "return" in r, r


def pair(binary, mem, src_extra=()):
    """Source and a -incoming defer destination on a fresh port."""
    port = free_port()
    src = start(binary, list(src_extra), mem)
    dst = start(binary, ["-incoming", "defer"], mem)
    return port, src, dst


def multifd_zstd_run(binary):
    port, (src, sq, sm), (dst, dq, dm) = pair(binary, "1G")
    try:
        for i, addr in enumerate(range(0, SIZE, 64 << 20)):
            sq.cmd("memset 0x%x 0x%x 0x%x" % (addr, 64 << 20, 0x11 + i))
        for m in (sm, dm):
            set_caps(m, multifd=True)
            set_params(m, multifd_channels=4, multifd_compression="zstd",
                       multifd_zstd_level=1)
        set_params(sm, max_bandwidth=1 << 40)
        uri = "tcp:127.0.0.1:%d" % port
        assert "return" in dm.cmd("migrate-incoming", {"uri": uri})
        wait_for(lambda: (":%04X" % port) in open("/proc/net/tcp").read())
        sm.cmd("migrate", {"uri": uri})
        info = wait_done(sm)
        assert info["status"] == "completed", info
        wait_for(lambda: dm.cmd("query-status")["return"]["status"] !=
                 "inmigrate")
        got = dq.cmd("readb 0x3ff00000")[0]
        assert int(got.split()[1], 16) == 0x11 + 15, got
        return (info["total-time"], info["downtime"],
                info["ram"]["transferred"])
    finally:
        src.close()
        dst.close()


def xbzrle_run(binary, enable):
    mem = 256 << 20
    port, (src, sq, sm), (dst, dq, dm) = pair(binary, "256M")
    try:
        for addr in range(1 << 20, mem - (64 << 20), 64 << 20):
            sq.cmd("memset 0x%x 0x%x 0x5a" % (addr, 64 << 20))
        set_caps(sm, xbzrle=enable, pause_before_switchover=True)
        # a cache as big as RAM: a direct-mapped cache smaller than RAM
        # loses the rewritten pages to later ones of the same slot
        set_params(sm, max_bandwidth=1 << 40, xbzrle_cache_size=mem)
        uri = "tcp:127.0.0.1:%d" % port
        assert "return" in dm.cmd("migrate-incoming", {"uri": uri})
        wait_for(lambda: (":%04X" % port) in open("/proc/net/tcp").read())
        sm.cmd("migrate", {"uri": uri})
        info = wait_done(sm, ("pre-switchover", "completed", "failed"))
        assert info["status"] == "pre-switchover", info
        for i in range(4096):
            sq.cmd("writeq 0x%x 0x%x" % ((1 << 20) + i * 4096 + 1024, i + 1))
        sm.cmd("migrate-continue", {"state": "pre-switchover"})
        info = wait_done(sm)
        assert info["status"] == "completed", info
        wait_for(lambda: dm.cmd("query-status")["return"]["status"] !=
                 "inmigrate")
        got = dq.cmd("readq 0x%x" % ((1 << 20) + 4095 * 4096 + 1024))[0]
        assert int(got.split()[1], 16) == 0x1000, got
        return (info["downtime"], info["ram"].get("downtime-bytes", -1),
                info["ram"]["transferred"])
    finally:
        src.close()
        dst.close()


def tls_run(binary, pki):
    """256 MiB of non-zero RAM over loopback TCP; @pki None: plain.
    MB/s of page data over total-time."""
    mem = 256 << 20
    creds = []
    if pki:
        creds = ["-object", "tls-creds-x509,id=tls0,endpoint=%s,dir=%s"]
    port, (src, sq, sm), (dst, dq, dm) = pair(
        binary, "256M", [a % ("client", pki["client"]) if "%s" in a else a
                         for a in creds])
    try:
        if pki:
            r = dm.cmd("object-add", {"qom-type": "tls-creds-x509",
                                      "id": "tls0", "endpoint": "server",
                                      "dir": pki["server"]})
            assert "return" in r, r
            set_params(dm, tls_creds="tls0")
            set_params(sm, tls_creds="tls0", tls_hostname="localhost")
        for addr in range(0, mem, 64 << 20):
            sq.cmd("memset 0x%x 0x%x 0x5a" % (addr, 64 << 20))
        set_params(sm, max_bandwidth=1 << 40)
        uri = "tcp:127.0.0.1:%d" % port
        assert "return" in dm.cmd("migrate-incoming", {"uri": uri})
        wait_for(lambda: (":%04X" % port) in open("/proc/net/tcp").read())
        sm.cmd("migrate", {"uri": uri})
        info = wait_done(sm)
        assert info["status"] == "completed", info
        wait_for(lambda: dm.cmd("query-status")["return"]["status"] !=
                 "inmigrate")
        assert dq.cmd("readq 0xff00000")[0] == "OK 0x5a5a5a5a5a5a5a5a"
        return info["ram"]["normal-bytes"] / (info["total-time"] / 1000) / 1e6
    finally:
        src.close()
        dst.close()


def bench_tls(binary, qemu, runs):
    import test_nbd_tls
    pki = test_nbd_tls.make_pki()
    res = {}
    try:
        for _ in range(runs):
            for prog in [binary] + ([qemu] if qemu else []):
                for tls in (False, True):
                    res.setdefault((prog, tls), []).append(
                        tls_run(prog, pki if tls else None))
    finally:
        shutil.rmtree(pki["root"], ignore_errors=True)
    print()
    print("| row | plain | TLS (x509) | TLS/plain |")
    print("| --- | --- | --- | --- |")
    for prog, name in [(binary, "kvmpc"), (qemu, "QEMU 7.2")]:
        if (prog, True) not in res:
            continue
        p, t = (statistics.median(res[(prog, x)]) for x in (False, True))
        print("| migration-tls/qtest %s (256 MiB, tcp loopback) | %.0f MB/s "
              "| %.0f MB/s | %.2f |" % (name, p, t, t / p))


def med(rows, i):
    return statistics.median(r[i] for r in rows)


def bench_features(binary, qemu, runs):
    mk, mq = [], []
    for _ in range(runs):
        mk.append(multifd_zstd_run(binary))
        if qemu:
            mq.append(multifd_zstd_run(qemu))
    print()
    print("| row | kvmpc total / downtime / bytes | QEMU 7.2 total / "
          "downtime / bytes |")
    print("| --- | --- | --- |")
    q = ("%d ms / %d ms / %.1f MiB" % (med(mq, 0), med(mq, 1),
                                       med(mq, 2) / 2**20)
         if mq else "not run (no qemu-system-x86_64)")
    print("| migration-multifd-zstd/qtest (1 GiB, 4 channels) | %d ms / "
          "%d ms / %.1f MiB | %s |" % (med(mk, 0), med(mk, 1),
                                       med(mk, 2) / 2**20, q))
    xk, xo, xq = [], [], []
    for _ in range(runs):
        xk.append(xbzrle_run(binary, True))
        xo.append(xbzrle_run(binary, False))
        if qemu:
            xq.append(xbzrle_run(qemu, True))
    print()
    print("| row | downtime | downtime bytes | total bytes |")
    print("| --- | --- | --- | --- |")
    for name, rows in (("kvmpc, xbzrle on", xk), ("kvmpc, xbzrle off", xo),
                       ("QEMU 7.2, xbzrle on", xq)):
        if rows:
            print("| migration-xbzrle/qtest (256 MiB, 4096 pages "
                  "rewritten), %s | %d ms | %.1f KiB | %.1f MiB |" %
                  (name, med(rows, 0), med(rows, 1) / 1024,
                   med(rows, 2) / 2**20))


# MB/s, max-bandwidth 10 GB/s, whole pages dirtied
KVM_RATES = [(30, False, False), (300, True, False), (3000, True, False),
             (30, False, True), (300, True, True)]
KVM_CONVERGE_S = 60


def kvm_guest(binary, payload, mbps, dense=False, incoming=None):
    """A 1 GiB KVM guest running the dirtying payload, serial to a file."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-bench-migkvm-")
    qmp_path = os.path.join(tmp, "qmp.sock")
    serial = os.path.join(tmp, "serial.log")
    args = ["-machine", "pc", "-nodefaults", "-display", "none", "-m", "1G",
            "-serial", "file:" + serial,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
            "-kernel", payload,
            "-append", "dirty_mbps=%d dense=%d" % (mbps, dense),
            "-qmp", "unix:%s,server=on,wait=off" % qmp_path]
    if DIRTY_RING:
        args = ["-accel", "kvm,dirty-ring-size=%d" % DIRTY_RING] + args
    elif "qemu" in os.path.basename(binary):
        args = ["-enable-kvm"] + args
    if incoming:
        args += ["-incoming", incoming]
    vm = Kvmpc(binary, args, tmpdir=tmp)
    vm.wait_socket(qmp_path)
    vm.serial = serial
    return vm, QMP(qmp_path)


def serial_text(vm):
    try:
        with open(vm.serial, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def kvm_run(binary, payload, mbps, cap, dense):
    """One migration: (total ms, downtime ms) or None (no convergence)."""
    port = free_port()
    src, sm = kvm_guest(binary, payload, mbps, dense)
    dst, dm = kvm_guest(binary, payload, mbps, dense,
                        incoming="tcp:127.0.0.1:%d" % port)
    try:
        wait_for(lambda: "dirty: filled" in serial_text(src), timeout=60,
                 what="the guest's first pass over its memory")
        # a second of dirtying at the rate before the migration starts
        wait_for(lambda: "MB/s" in serial_text(src), timeout=30,
                 what="the guest's dirty rate")
        if cap:
            set_params(sm, max_bandwidth=10 * 10**9)
        r = sm.cmd("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
        assert "return" in r, r
        end = time.monotonic() + KVM_CONVERGE_S
        while True:
            info = sm.cmd("query-migrate")["return"]
            if info.get("status") in ("completed", "failed"):
                break
            if time.monotonic() > end:
                sm.cmd("migrate_cancel")
                return None
            time.sleep(0.01)
        assert info["status"] == "completed", info
        before = serial_text(dst).count("MB/s")
        wait_for(lambda: serial_text(dst).count("MB/s") > before,
                 timeout=30, what="the destination's guest dirtying")
        return info["total-time"], info["downtime"]
    finally:
        src.close()
        dst.close()


def bench_kvm(binary, qemu, payload, runs):
    progs = [("kvmpc", binary)] + ([("QEMU 7.2", qemu)] if qemu else [])
    if DIRTY_RING:
        print("(both programs: -accel kvm,dirty-ring-size=%d)" % DIRTY_RING)
    print("| migration/kvm (1 GiB guest, 512 MiB dirtied) | kvmpc total / "
          "downtime | QEMU 7.2 total / downtime | total, downtime "
          "kvmpc/QEMU |")
    print("| --- | --- | --- | --- |")
    for mbps, cap, dense in KVM_RATES:
        res = {name: [] for name, _ in progs}
        for _ in range(runs):
            for name, b in progs:                   # alternate
                res[name].append(kvm_run(b, payload, mbps, cap, dense))
        cells, meds = [], {}
        for name, _ in progs:
            ok = [r for r in res[name] if r]
            if ok:
                meds[name] = (statistics.median(r[0] for r in ok),
                              statistics.median(r[1] for r in ok))
                cells.append("%d ms / %d ms%s" % (
                    meds[name][0], meds[name][1],
                    "" if len(ok) == runs else
                    " (%d of %d converged)" % (len(ok), runs)))
            else:
                cells.append("no convergence in %d s" % KVM_CONVERGE_S)
        ratio = ("%.2f, %.2f" % (meds["kvmpc"][0] / meds["QEMU 7.2"][0],
                                 meds["kvmpc"][1] /
                                 max(meds["QEMU 7.2"][1], 1))
                 if "kvmpc" in meds and "QEMU 7.2" in meds else "n/a")
        print("| ~%d MB/s%s%s | %s | %s | %s |" % (
            mbps, ", whole pages" if dense else "",
            ", max-bandwidth 10 GB/s" if cap else ", defaults",
            cells[0], cells[1] if len(cells) > 1 else "n/a", ratio))
        for name, _ in progs:
            print("  %s: %s" % (name, " ".join(
                "%d/%d" % r if r else "-" for r in res[name])))


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    binary = os.path.join(sys.argv[1], "kvmpc")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 and \
        sys.argv[2].isdigit() else 3
    payload = os.path.join(sys.argv[1], "tests", "guest", "migrate.elf")
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
        kvm_reason = None
    except OSError as e:
        kvm_reason = "/dev/kvm not usable: %s" % e.strerror
    if "--tls-only" in sys.argv:
        bench_tls(binary, shutil.which("qemu-system-x86_64"), runs)
        return
    if "--kvm-only" in sys.argv:
        if kvm_reason:
            print("SKIP migration/kvm: " + kvm_reason)
            sys.exit(77)
        bench_kvm(binary, shutil.which("qemu-system-x86_64"), payload, runs)
        return
    kv, lo, tt, dt = [], [], [], []
    for _ in range(runs):
        g, total, down = kvmpc_ram_gbs(binary)
        kv.append(g)
        tt.append(total)
        dt.append(down)
        lo.append(loopback_copy_gbs())
    k, limit = statistics.median(kv), statistics.median(lo)
    print("| row | kvmpc | limit (socket copy) | kvmpc/limit |")
    print("| --- | --- | --- | --- |")
    print("| migration-ram/qtest (1 GiB, tcp loopback) | %.2f GB/s "
          "(total %d ms, downtime %d ms) | %.2f GB/s | %.2f |" %
          (k, statistics.median(tt), statistics.median(dt), limit,
           k / limit))
    bench_features(binary, shutil.which("qemu-system-x86_64"), runs)
    bench_tls(binary, shutil.which("qemu-system-x86_64"), runs)
    if kvm_reason:
        print("SKIP migration/kvm (QEMU side by side, dirtying guest): " +
              kvm_reason)
    else:
        bench_kvm(binary, shutil.which("qemu-system-x86_64"), payload, runs)


if __name__ == "__main__":
    main()
