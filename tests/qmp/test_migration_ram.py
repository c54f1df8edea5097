#!/usr/bin/env python3
"""RAM transfer features between two kvmpc processes under -accel qtest
(no /dev/kvm needed): multifd with 2-4 channels and each compression over
unix and tcp (pages re-sent on other channels in a later pass must win),
xbzrle (a dirtying pattern costs fewer bytes than without it; the cache
statistics), auto-converge (query-migrate's cpu-throttle-percentage when
the guest dirties faster than the link).  See docs/migration.md."""
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import check, check_eq, no_kvm, run_tests, wait_for  # noqa
from test_migration import (VM, b64read, b64write, check_registers,  # noqa
                            fill_ram, free_port, set_registers,
                            wait_incoming_done, wait_listening, wait_status)

AREA = 0x400000
AREA_SIZE = 1 << 20


def caps(vm, **kw):
    vm.qmp.ret("migrate-set-capabilities", {"capabilities": [
        {"capability": k.replace("_", "-"), "state": v}
        for k, v in kw.items()]})


def text_pages(rng, size):
    """Compressible but not zero: words from a small vocabulary."""
    words = [b"kvmpc", b"migration", b"page", b"multifd", b"zstd", b"\n"]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words)
    return bytes(out[:size])


def migrate_with_rewrite(src, dst, uri, rng, rewrite_pages=64,
                         listen_port=None):
    """Migrate with pause-before-switchover; while paused, rewrite 64
    bytes of @rewrite_pages pages that were already sent, so the final
    pass re-sends them.  Returns (query-migrate, what RAM must hold)."""
    caps(src, events=True, pause_before_switchover=True)
    if listen_port:
        wait_listening(listen_port)
    src.qmp.ret("migrate", {"uri": uri})
    info = wait_status(src.qmp, ("pre-switchover", "failed", "completed"))
    check_eq(info["status"], "pre-switchover", "status (%r)" % info)
    changes = {}
    for i in range(rewrite_pages):
        addr = AREA + (i * 4099 % (AREA_SIZE // 4096)) * 4096 + 128
        data = bytes(rng.getrandbits(8) for _ in range(64))
        b64write(src, addr, data)
        changes[addr] = data
    src.qmp.ret("migrate-continue", {"state": "pre-switchover"})
    info = wait_status(src.qmp)
    check_eq(info["status"], "completed", "status (%r)" % info)
    wait_incoming_done(dst)
    return info, changes


def check_area(dst, base, changes):
    whole = bytearray(base)
    for addr, data in changes.items():
        whole[addr - AREA:addr - AREA + len(data)] = data
    got = b64read(dst, AREA, AREA_SIZE)
    check(got == bytes(whole), "RAM area equal on the destination")


def multifd_run(binary, channels, compression, transport):
    d = tempfile.mkdtemp(prefix="kvmpc-mfd-")
    if transport == "unix":
        sock = os.path.join(d, "mig.sock")
        uri, port = "unix:" + sock, None
    else:
        port = free_port()
        uri = "tcp:127.0.0.1:%d" % port
    src = VM(binary)
    dst = VM(binary, ["-incoming", uri])
    rng = random.Random(channels * 7 + len(compression))
    try:
        base = text_pages(rng, AREA_SIZE)
        b64write(src, AREA, base)
        expect = fill_ram(src, channels)
        set_registers(src, 0x77 + channels)
        caps(src, multifd=True)
        src.qmp.ret("migrate-set-parameters", {
            "multifd-channels": channels,
            "multifd-compression": compression,
            "multifd-zstd-level": 3, "multifd-zlib-level": 6,
            "max-bandwidth": 0})
        if transport == "unix":
            wait_for(lambda: os.path.exists(sock))
        info, changes = migrate_with_rewrite(src, dst, uri, rng,
                                             listen_port=port)
        ram = info["ram"]
        check(ram["multifd-bytes"] > 0, "pages went on the channels (%r)"
              % ram)
        check(ram["normal"] >= AREA_SIZE // 4096,
              "normal pages counted (%r)" % ram)
        check_area(dst, base, changes)
        for addr, data in expect.items():
            check(b64read(dst, addr, len(data)) == data,
                  "RAM at 0x%x" % addr)
        check_registers(dst, 0x77 + channels)
        return ram["multifd-bytes"]
    finally:
        src.close()
        dst.close()


@no_kvm
def test_multifd_none_unix(binary):
    sizes = [multifd_run(binary, n, "none", "unix") for n in (2, 4)]
    check(min(sizes) > AREA_SIZE, "uncompressed: at least the area (%r)"
          % sizes)


@no_kvm
def test_multifd_zstd(binary):
    plain = multifd_run(binary, 3, "none", "tcp")
    zstd = multifd_run(binary, 3, "zstd", "tcp")
    unix = multifd_run(binary, 2, "zstd", "unix")
    print("multifd-bytes: none %d, zstd %d (tcp) %d (unix)" % (plain, zstd,
                                                               unix))
    check(zstd * 2 < plain and unix * 2 < plain,
          "zstd compresses text pages: %d / %d vs %d" % (zstd, unix, plain))


@no_kvm
def test_multifd_zlib(binary):
    plain = multifd_run(binary, 2, "none", "unix")
    zlib = multifd_run(binary, 4, "zlib", "tcp")
    check(zlib * 2 < plain, "zlib compresses text pages: %d vs %d"
          % (zlib, plain))


@no_kvm
def test_multifd_refusals(binary):
    vm = VM(binary)
    try:
        caps(vm, multifd=True)
        err = vm.qmp.error("migrate", {"uri": "file:" + vm.path("x")})
        check("tcp: and unix:" in err["desc"], "file: refused: %r" % err)
        check_eq(vm.qmp.ret("query-status")["status"], "running", "state")
    finally:
        vm.close()
    # multifd out of a destination that got its RAM over multifd
    d = tempfile.mkdtemp(prefix="kvmpc-mfd-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary)
    dst = VM(binary, ["-incoming", "unix:" + sock])
    try:
        caps(src, multifd=True)
        src.qmp.ret("migrate-set-parameters", {"multifd-channels": 2})
        wait_for(lambda: os.path.exists(sock))
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        info = wait_status(src.qmp)
        check_eq(info["status"], "completed", "status (%r)" % info)
        wait_incoming_done(dst)
        # a second migration out of the destination works too
        caps(dst, multifd=True)
        sock2 = os.path.join(d, "mig2.sock")
        dst2 = VM(binary, ["-incoming", "unix:" + sock2])
        try:
            wait_for(lambda: os.path.exists(sock2))
            dst.qmp.ret("migrate", {"uri": "unix:" + sock2})
            info = wait_status(dst.qmp)
            check_eq(info["status"], "completed", "second hop (%r)" % info)
            wait_incoming_done(dst2)
        finally:
            dst2.close()
    finally:
        src.close()
        dst.close()


@no_kvm
def test_multifd_cancel(binary):
    """migrate_cancel while pages are on the channels: the source runs
    on, and a second multifd migration then succeeds."""
    d = tempfile.mkdtemp(prefix="kvmpc-mfd-")
    sock = os.path.join(d, "mig.sock")
    sock2 = os.path.join(d, "mig2.sock")
    rng = random.Random(5)
    src = VM(binary)
    dst = VM(binary, ["-incoming", "unix:" + sock])
    dst2 = VM(binary, ["-incoming", "unix:" + sock2])
    try:
        base = bytes(rng.getrandbits(8) for _ in range(AREA_SIZE))
        b64write(src, AREA, base)
        caps(src, multifd=True)
        src.qmp.ret("migrate-set-parameters", {"multifd-channels": 3,
                                               "max-bandwidth": 256 << 10})
        wait_for(lambda: os.path.exists(sock))
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        wait_for(lambda: src.qmp.ret("query-migrate")["ram"]
                 ["multifd-bytes"] > 0, what="pages on the channels")
        src.qmp.ret("migrate_cancel")
        info = wait_status(src.qmp)
        check_eq(info["status"], "cancelled", "status (%r)" % info)
        check_eq(src.qmp.ret("query-status")["status"], "running", "runs")
        src.qmp.ret("migrate-set-parameters", {"max-bandwidth": 0})
        wait_for(lambda: os.path.exists(sock2))
        src.qmp.ret("migrate", {"uri": "unix:" + sock2})
        info = wait_status(src.qmp)
        check_eq(info["status"], "completed", "second try (%r)" % info)
        wait_incoming_done(dst2)
        check(b64read(dst2, AREA, AREA_SIZE) == base, "RAM after retry")
    finally:
        src.close()
        dst.close()
        dst2.close()


def xbzrle_run(binary, enable):
    d = tempfile.mkdtemp(prefix="kvmpc-xbz-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary)
    dst = VM(binary, ["-incoming", "unix:" + sock])
    rng = random.Random(3)
    try:
        base = bytes(rng.getrandbits(8) for _ in range(AREA_SIZE))
        b64write(src, AREA, base)
        if enable:
            caps(src, xbzrle=True)
            src.qmp.ret("migrate-set-parameters",
                        {"xbzrle-cache-size": 8 << 20})
        wait_for(lambda: os.path.exists(sock))
        info, changes = migrate_with_rewrite(src, dst, "unix:" + sock, rng,
                                             rewrite_pages=200)
        check_area(dst, base, changes)
        return info
    finally:
        src.close()
        dst.close()


@no_kvm
def test_xbzrle(binary):
    plain = xbzrle_run(binary, False)
    xbz = xbzrle_run(binary, True)
    check("xbzrle-cache" not in plain, "no stats without the capability")
    # 200 pages re-sent at switchover: 800 KiB whole, ~14 KiB as deltas
    # (the device state comes on top of both)
    pd, xd = plain["ram"]["downtime-bytes"], xbz["ram"]["downtime-bytes"]
    check(pd > 200 * 4096, "without xbzrle the pages go whole (%d)" % pd)
    check(pd - xd > 200 * 4096 * 9 // 10,
          "xbzrle deltas are smaller: %d vs %d" % (xd, pd))
    check(xbz["ram"]["transferred"] < plain["ram"]["transferred"],
          "fewer bytes in all")
    c = xbz["xbzrle-cache"]
    check_eq(c["cache-size"], 8 << 20, "cache-size")
    check(c["pages"] >= 200, "pages sent as deltas (%r)" % c)
    check(0 < c["bytes"] < 200 * 200, "delta bytes (%r)" % c)
    check(c["cache-miss"] >= AREA_SIZE // 4096, "first sends miss (%r)" % c)
    check(0 < c["cache-miss-rate"] < 1, "miss rate (%r)" % c)
    check(c["encoding-rate"] > 10, "encoding rate (%r)" % c)
    check_eq(c["overflow"], 0, "no overflow")


def sparse_page(rng):
    """4 KiB of zeroes but for 8 random bytes somewhere."""
    page = bytearray(4096)
    at = rng.randrange(0, 4096 - 8)
    page[at:at + 8] = bytes(rng.getrandbits(8) | 1 for _ in range(8))
    return bytes(page)


def sparse_run(binary, with_area):
    """Migrate a machine holding 64 dense pages (some made sparse while
    paused before the switch-over) and, @with_area, a 1 MiB area of
    sparse pages; check the destination's RAM; return query-migrate."""
    d = tempfile.mkdtemp(prefix="kvmpc-sparse-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary)
    dst = VM(binary, ["-incoming", "unix:" + sock])
    rng = random.Random(11)
    try:
        sparse = b"".join(sparse_page(rng) for _ in range(AREA_SIZE // 4096))
        dense = bytes(rng.getrandbits(8) for _ in range(64 * 4096))
        if with_area:
            b64write(src, AREA, sparse)
        b64write(src, AREA + AREA_SIZE, dense)
        caps(src, pause_before_switchover=True)
        wait_for(lambda: os.path.exists(sock))
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        info = wait_status(src.qmp, ("pre-switchover", "failed",
                                     "completed"))
        check_eq(info["status"], "pre-switchover", "status (%r)" % info)
        # dense pages become sparse: the destination holds them whole
        remade = {}
        for i in range(0, 64, 4):
            remade[AREA + AREA_SIZE + i * 4096] = sparse_page(rng)
        for addr, data in remade.items():
            b64write(src, addr, data)
        src.qmp.ret("migrate-continue", {"state": "pre-switchover"})
        info = wait_status(src.qmp)
        check_eq(info["status"], "completed", "status (%r)" % info)
        wait_incoming_done(dst)
        if with_area:
            check(b64read(dst, AREA, AREA_SIZE) == sparse,
                  "the sparse area arrived exact")
        want = bytearray(dense)
        for addr, data in remade.items():
            off = addr - AREA - AREA_SIZE
            want[off:off + 4096] = data
        check(b64read(dst, AREA + AREA_SIZE, len(dense)) == bytes(want),
              "the dense area, some pages now sparse, arrived exact")
        check(info["ram"]["normal"] >= 64, "dense pages went whole (%r)"
              % info["ram"])
        return info
    finally:
        src.close()
        dst.close()


@no_kvm
def test_sparse_pages(binary):
    """Mostly-zero pages travel as their few bytes (MIG_PAGE_SPARSE): a
    1 MiB area of them (256 pages of 8 random bytes) costs a few KiB on
    the wire, not 1 MiB, and arrives exact; pages sent whole in the first
    pass and made sparse before the switch-over are cleared around their
    new bytes on the destination; dense pages still go whole."""
    without = sparse_run(binary, False)["ram"]["transferred"]
    with_area = sparse_run(binary, True)["ram"]["transferred"]
    check(with_area - without < 256 * 32,
          "256 sparse pages cost %d bytes on the wire" % (with_area -
                                                         without))


@no_kvm
def test_xbzrle_parameters(binary):
    vm = VM(binary)
    try:
        err = vm.qmp.error("migrate-set-parameters",
                           {"xbzrle-cache-size": 5000})
        check("power of two" in err["desc"], "refused: %r" % err)
        vm.qmp.ret("migrate-set-parameters", {"xbzrle-cache-size": 1 << 20})
        out = vm.hmp.command("migrate_set_capability xbzrle on")
        check_eq(out, "", "HMP capability")
        caps_now = {c["capability"]: c["state"]
                    for c in vm.qmp.ret("query-migrate-capabilities")}
        check(caps_now["xbzrle"], "xbzrle on")
    finally:
        vm.close()


@no_kvm
def test_auto_converge(binary):
    """The guest (qtest writes) dirties faster than max-bandwidth sends:
    after two periods of a second over throttle-trigger-threshold the
    throttle starts at cpu-throttle-initial, then grows."""
    d = tempfile.mkdtemp(prefix="kvmpc-ac-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary)
    dst = VM(binary, ["-incoming", "unix:" + sock])
    rng = random.Random(9)
    try:
        # data to send, so the first pass takes about a second
        b64write(src, AREA, bytes(rng.getrandbits(8)
                                  for _ in range(AREA_SIZE)))
        caps(src, auto_converge=True, events=True)
        src.qmp.ret("migrate-set-parameters", {
            "max-bandwidth": 1 << 20, "downtime-limit": 1,
            "cpu-throttle-initial": 30, "cpu-throttle-increment": 15})
        wait_for(lambda: os.path.exists(sock))
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        # 'setup' until the stream's header is out (a loaded host shows it)
        wait_for(lambda: src.qmp.ret("query-migrate")["status"] != "setup",
                 what="migration past setup")
        seen = []
        end = time.time() + 20
        chunk = bytes(rng.getrandbits(8) for _ in range(65536))
        while time.time() < end:
            info = src.qmp.ret("query-migrate")
            check_eq(info["status"], "active", "still precopy (%r)" % info)
            pct = info.get("cpu-throttle-percentage")
            if pct and (not seen or seen[-1] != pct):
                seen.append(pct)
            if len(seen) >= 2:
                break
            # 64 KiB of new data at a random place, several MB/s
            b64write(src, AREA + rng.randrange(0, AREA_SIZE - 65536, 4096),
                     chunk)
            time.sleep(0.005)
        check(len(seen) >= 2 and seen[0] == 30 and seen[1] == 45,
              "throttle 30 then 45 (%r)" % seen)
        # let it finish: stop dirtying, a generous downtime-limit
        src.qmp.ret("migrate-set-parameters", {"downtime-limit": 10000,
                                               "max-bandwidth": 0})
        info = wait_status(src.qmp)
        check_eq(info["status"], "completed", "completed (%r)" % info)
        check("cpu-throttle-percentage" not in info,
              "throttle off after the end")
        wait_incoming_done(dst)
    finally:
        src.close()
        dst.close()


if __name__ == "__main__":
    run_tests([test_sparse_pages, test_multifd_none_unix, test_multifd_zstd, test_multifd_zlib,
               test_multifd_refusals, test_multifd_cancel, test_xbzrle,
               test_xbzrle_parameters,
               test_auto_converge])
