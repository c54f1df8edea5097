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
  migration/kvm  the issue's bench (a 1 GiB guest dirtying 512 MiB at
               30 MB/s, 300 MB/s and 3 GB/s, against QEMU 7.2): needs
               /dev/kvm and vCPU state migration; SKIPs here with the
               reason.
Usage: bench/migration.py BUILD_DIR [RUNS]
"""
import os
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


def start(binary, extra):
    tmp = tempfile.mkdtemp(prefix="kvmpc-bench-mig-")
    qt_path = os.path.join(tmp, "qtest.sock")
    qmp_path = os.path.join(tmp, "qmp.sock")
    vm = Kvmpc(binary, ["-machine", "pc", "-nodefaults", "-display", "none",
                        "-accel", "qtest", "-qtest-log", "none", "-m", "1G",
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


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    binary = os.path.join(sys.argv[1], "kvmpc")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
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
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
        reason = ("vCPU state migration under KVM is not implemented yet "
                  "(docs/migration.md)")
    except OSError as e:
        reason = "/dev/kvm not usable: %s" % e.strerror
    print("SKIP migration/kvm (QEMU side by side, dirtying guest): " + reason)


if __name__ == "__main__":
    main()
