#!/usr/bin/env python3
"""Memory hotplug from the command line, QMP and HMP (docs/hotplug.md):
QEMU 7.2's -m slots=/maxmem= errors, object-add / object-del,
query-memory-devices, query-memory-size-summary, HMP info memory-devices
and info memory_size_summary, and the migration of DIMMs (their contents
as RAM blocks named by the backend's id, the hotplug block's events).
The guest side (the 0x0a00 registers, GPE) is in
tests/qtest/memory-hotplug-test.c."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import check, check_eq, no_kvm, run_tests, wait_for  # noqa
from test_migration import (VM, b64read, b64write, migrate,  # noqa
                            wait_incoming_done)

BASE = ["-machine", "pc", "-nodefaults", "-display", "none",
        "-accel", "qtest", "-qtest-log", "none", "-serial", "null"]


def start_fails(binary, args):
    p = subprocess.run([binary, "-accel", "qtest", "-display", "none",
                        "-nodefaults"] + args, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30, text=True)
    check_eq(p.returncode, 1, "exit status of %r (%r)" % (args, p.stderr))
    lines = p.stderr.strip().splitlines()
    check_eq(len(lines), 1, "one error line for %r: %r" % (args, p.stderr))
    return lines[0]


@no_kvm
def test_cmdline_errors(binary):
    cases = [
        (["-m", "1G,slots=2"], "kvmpc: slots specified but no max-size"),
        (["-m", "1G,maxmem=512M"],
         "kvmpc: invalid value of maxmem: maximum memory size (0x20000000) "
         "must be at least the initial memory size (0x40000000)"),
        (["-m", "1G,slots=2,maxmem=1G"],
         "kvmpc: invalid value of maxmem: memory slots were specified but "
         "maximum memory size (0x40000000) is equal to the initial memory "
         "size (0x40000000)"),
        (["-m", "1G,slots=257,maxmem=2G"],
         "kvmpc: unsupported amount of memory slots: 257"),
        (["-m", "1G,slots=2,maxmem=2147483649"],
         "kvmpc: maximum memory size must by aligned to multiple of 4096 "
         "bytes"),
        (["-m", "1G,bogus=1"], "kvmpc: -m 1G,bogus=1: Invalid parameter "
         "'bogus'"),
        (["-m", "1G,slots=x,maxmem=2G"], "Parameter 'slots' expects a "
         "number"),
        (["-m", "1G,slots=1,maxmem=2G",
          "-object", "memory-backend-ram,id=m1,size=1G",
          "-device", "pc-dimm,memdev=m1,slot=3"],
         "invalid slot number 3, valid range is [0-0]"),
        (["-m", "1G", "-object", "memory-backend-ram,id=m1,size=1G",
          "-device", "pc-dimm,memdev=m1"],
         "no slots where allocated, please specify the 'slots' option"),
    ]
    for args, want in cases:
        line = start_fails(binary, args)
        check(want in line, "%r: %r lacks %r" % (args, line, want))


def hmp(vm, line):
    return vm.qmp.ret("human-monitor-command", {"command-line": line})


@no_kvm
def test_qmp_and_hmp(binary):
    vm = VM(binary, ["-m", "512M,slots=4,maxmem=4G",
                     "-object", "memory-backend-ram,id=m1,size=256M",
                     "-device", "pc-dimm,id=d1,memdev=m1"], base=BASE)
    try:
        check_eq(vm.qmp.ret("query-memory-size-summary"),
                 {"base-memory": 512 << 20, "plugged-memory": 256 << 20},
                 "size summary")
        vm.qmp.ret("object-add", {"qom-type": "memory-backend-memfd",
                                  "id": "m2", "size": 128 << 20})
        err = vm.qmp.error("object-add", {"qom-type": "memory-backend-ram",
                                          "id": "m2", "size": 1 << 20})
        check("duplicate" in err["desc"], "duplicate object id: %r" % err)
        vm.qmp.ret("device_add", {"driver": "pc-dimm", "id": "d2",
                                  "memdev": "m2", "slot": 3})
        devs = vm.qmp.ret("query-memory-devices")
        check_eq([d["type"] for d in devs], ["dimm", "dimm"], "types")
        check_eq(devs[1]["data"], {
            "id": "d2", "addr": 0x110000000, "size": 128 << 20, "slot": 3,
            "node": 0, "memdev": "/objects/m2", "hotplugged": True,
            "hotpluggable": True}, "the hot-plugged DIMM")
        out = hmp(vm, "info memory-devices")
        check('Memory device [dimm]: "d1"\r\n  addr: 0x100000000\r\n'
              '  slot: 0\r\n  node: 0\r\n  size: 268435456\r\n'
              '  memdev: /objects/m1\r\n  hotplugged: false\r\n'
              '  hotpluggable: true\r\n' in out, out)
        check('Memory device [dimm]: "d2"' in out, out)
        check_eq(hmp(vm, "info memory_size_summary"),
                 "base memory: 536870912\r\nplugged memory: 402653184\r\n",
                 "info memory_size_summary")
        check_eq(hmp(vm, "object_add memory-backend-ram,id=m3,size=64M"),
                 "", "HMP object_add")
        check_eq(hmp(vm, "device_add pc-dimm,id=d3,memdev=m3"), "",
                 "HMP device_add pc-dimm")
        check_eq(vm.qmp.ret("query-memory-devices")[1]["data"]["addr"],
                 0x110000000, "sorted by address: d2 above d3")
        check_eq(hmp(vm, "object_del m3"),
                 "Error: object 'm3' is in use, can not be deleted\r\n",
                 "busy backend")
        # The 0x0a00 block answers with the slot's DIMM.
        vm.q("outl 0xa00 0x3")
        check_eq(int(vm.q("inl 0xa08").split()[1], 16), 128 << 20,
                 "size register of slot 3")
        mtree = hmp(vm, "info mtree")
        check("(prio 0, container): device-memory" in mtree, mtree)
        check("(prio 0, ram): m2" in mtree, mtree)
        check("acpi-mem-hotplug" in mtree, mtree)
    finally:
        vm.close()


@no_kvm
def test_migration(binary):
    """DIMM contents migrate as RAM blocks named by their backends; the
    destination is started with the same DIMMs, as QEMU's."""
    d = tempfile.mkdtemp(prefix="kvmpc-memhp-mig-")
    sock = os.path.join(d, "mig.sock")
    common = ["-m", "64M,slots=2,maxmem=1G",
              "-object", "memory-backend-ram,id=m1,size=32M",
              "-device", "pc-dimm,id=d1,memdev=m1"]
    src = VM(binary, common, base=BASE)
    dst = VM(binary, common + [
        "-object", "memory-backend-file,id=m2,size=16M,mem-path=" +
        os.path.join(d, "m2"),
        "-device", "pc-dimm,id=d2,memdev=m2",
        "-incoming", "unix:" + sock], base=BASE)
    try:
        src.qmp.ret("object-add", {"qom-type": "memory-backend-file",
                                   "id": "m2", "size": 16 << 20,
                                   "mem-path": os.path.join(d, "m2src")})
        src.qmp.ret("device_add", {"driver": "pc-dimm", "id": "d2",
                                   "memdev": "m2"})
        a1 = bytes((i * 7 + 1) & 0xff for i in range(8192))
        a2 = bytes((i * 11 + 5) & 0xff for i in range(8192))
        b64write(src, 0x100000000 + 0x123000, a1)
        b64write(src, 0x102000000 + (16 << 20) - 8192, a2)
        wait_for(lambda: os.path.exists(sock))
        migrate(src, "unix:" + sock, dst)
        check(b64read(dst, 0x100000000 + 0x123000, 8192) == a1,
              "cold-plugged DIMM contents on the destination")
        check(b64read(dst, 0x102000000 + (16 << 20) - 8192, 8192) == a2,
              "hot-plugged DIMM contents on the destination")
        # The insert event the guest had not acknowledged came along.
        dst.q("outl 0xa00 0x1")
        check_eq(int(dst.q("inb 0xa14").split()[1], 16), 3,
                 "slot 1: enabled, insert event pending")
        check_eq([x["data"]["id"] for x in
                  dst.qmp.ret("query-memory-devices")], ["d1", "d2"],
                 "the destination's DIMMs")
    finally:
        src.close()
        dst.close()
        subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    run_tests([test_cmdline_errors, test_qmp_and_hmp, test_migration])
