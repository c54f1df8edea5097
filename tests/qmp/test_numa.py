#!/usr/bin/env python3
"""Guest NUMA and host NUMA binding (docs/options.md -numa, memory
backends): QEMU 7.2's -numa errors (wording checked against
qemu-system-x86_64 7.2), query-hotpluggable-cpus / query-memdev /
query-memory-devices, HMP info numa, device_add node checks, guest RAM
laid out from the nodes' backends, and host-nodes=/policy= applied with
mbind (the mapping shows bind:0 in /proc/PID/numa_maps), migration of
the nodes' RAM.  All under
-accel qtest.  The SRAT/SLIT are in tests/qtest/firmware/acpi-test.c, the
fw_cfg NUMA entry in fw-cfg-test.c."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import check, check_eq, no_kvm, run_tests  # noqa
from test_migration import VM, b64read, b64write, migrate  # noqa

BASE = ["-machine", "pc", "-nodefaults", "-display", "none",
        "-accel", "qtest", "-qtest-log", "none", "-S"]
TWO = ["-object", "memory-backend-ram,id=m0,size=64M",
       "-object", "memory-backend-ram,id=m1,size=64M"]


def start_fails(binary, args):
    p = subprocess.run([binary, "-accel", "qtest", "-display", "none",
                        "-nodefaults", "-S"] + args,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30, text=True)
    check_eq(p.returncode, 1, "exit status of %r (%r)" % (args, p.stderr))
    return p.stderr.strip()


def hmp(vm, line):
    return vm.qmp.ret("human-monitor-command", {"command-line": line})


def host_has_numa():
    return os.path.isdir("/sys/devices/system/node/node0")


@no_kvm
def test_cmdline_errors(binary):
    n0, n1 = "node,nodeid=0,memdev=m0", "node,nodeid=1,memdev=m1"
    cases = [
        (["-m", "128M", "-numa", n0, "-numa", "node,nodeid=1"],
         "kvmpc: total memory for NUMA nodes (0x4000000) should equal RAM "
         "size (0x8000000)"),
        (["-m", "128M", "-numa", "node,mem=64M"],
         "kvmpc: -numa node,mem=64M: Parameter -numa node,mem is not "
         "supported by this machine type\nUse -numa node,memdev instead"),
        (["-m", "128M", "-numa", "node,memdev=m0,mem=64M"],
         "kvmpc: -numa node,memdev=m0,mem=64M: numa configuration should "
         "use either mem= or memdev=,mixing both is not allowed"),
        (["-m", "128M", "-numa", n0, "-numa", "node,memdev=nope"],
         "kvmpc: -numa node,memdev=nope: memdev=nope is ambiguous"),
        (["-m", "128M", "-numa", n0, "-numa", "node,nodeid=0,memdev=m1"],
         "kvmpc: -numa node,nodeid=0,memdev=m1: Duplicate NUMA nodeid: 0"),
        (["-m", "128M", "-numa", "node,nodeid=200,memdev=m0"],
         "kvmpc: -numa node,nodeid=200,memdev=m0: Max number of NUMA nodes "
         "reached: 200"),
        (["-m", "128M", "-smp", "2", "-numa", n0 + ",cpus=4", "-numa", n1],
         "kvmpc: -numa %s,cpus=4: CPU index (4) should be smaller than "
         "maxcpus (2)" % n0),
        (["-m", "128M", "-smp", "2", "-numa", n0 + ",cpus=0-1",
          "-numa", n1 + ",cpus=1"],
         "kvmpc: -numa %s,cpus=1: CPU is already assigned to node-id: 0"
         % n1),
        (["-m", "128M", "-numa", n0 + ",cpus=1-0"],
         "kvmpc: -numa %s,cpus=1-0: Parameter 'cpus' expects a uint64 value "
         "or range" % n0),
        (["-m", "128M", "-numa", n0 + ",initiator=0"],
         "kvmpc: -numa %s,initiator=0: ACPI Heterogeneous Memory Attribute "
         "Table (HMAT) is disabled, enable it with -machine hmat=on before "
         "using any of hmat specific options" % n0),
        (["-m", "128M", "-numa", n0, "-numa", "node,memdev=m1,nodeid=3"],
         "kvmpc: numa: Node ID missing: 2"),
        (["-m", "128M", "-numa", n0, "-numa", n0.replace("0,", "1,")],
         "kvmpc: memory backend m0 can't be used multiple times."),
        (["-m", "128M", "-object", "memory-backend-ram,id=r,size=128M",
          "-machine", "memory-backend=r", "-numa", n0, "-numa", n1],
         "kvmpc: '-machine memory-backend' and '-numa memdev' properties "
         "are mutually exclusive"),
        (["-m", "128M", "-numa", n0, "-numa", n1,
          "-numa", "dist,src=0,dst=1,val=5"],
         "kvmpc: -numa dist,src=0,dst=1,val=5: NUMA distance (5) is "
         "invalid, it shouldn't be less than 10."),
        (["-m", "128M", "-numa", n0, "-numa", n1,
          "-numa", "dist,src=0,dst=0,val=20"],
         "kvmpc: -numa dist,src=0,dst=0,val=20: Local distance of node 0 "
         "should be 10."),
        (["-m", "128M", "-numa", n0, "-numa", n1,
          "-numa", "dist,src=0,dst=2,val=20"],
         "kvmpc: -numa dist,src=0,dst=2,val=20: Source/Destination NUMA "
         "node is missing. Please use '-numa node' option to declare it "
         "first."),
        (["-m", "128M", "-numa", n0, "-numa", n1,
          "-numa", "dist,src=0,dst=1,val=300"],
         "kvmpc: -numa dist,src=0,dst=1,val=300: Parameter 'val' expects "
         "uint8_t"),
        (["-m", "128M", "-numa", n0, "-numa", n1, "-numa", "dist,src=0,dst=1"],
         "kvmpc: -numa dist,src=0,dst=1: Parameter 'val' is missing"),
        (["-m", "192M", "-object", "memory-backend-ram,id=m2,size=64M",
          "-numa", n0, "-numa", n1, "-numa", "node,memdev=m2",
          "-numa", "dist,src=0,dst=1,val=20"],
         "kvmpc: The distance between node 0 and 2 is missing, at least one "
         "distance value between each nodes should be provided."),
        (["-m", "128M", "-smp", "4", "-numa", n0, "-numa", n1,
          "-numa", "cpu,node-id=3,socket-id=2"],
         "kvmpc: -numa cpu,node-id=3,socket-id=2: Invalid node-id=3, NUMA "
         "node must be defined with -numa node,nodeid=ID before it's used "
         "with -numa cpu,node-id=ID"),
        (["-m", "128M", "-smp", "4", "-numa", n0, "-numa", n1,
          "-numa", "cpu,node-id=1,socket-id=9"],
         "kvmpc: -numa cpu,node-id=1,socket-id=9: no match found"),
        (["-m", "128M", "-numa", n0, "-numa", n1, "-numa", "cpu,socket-id=0"],
         "kvmpc: -numa cpu,socket-id=0: Missing mandatory node-id property"),
        (["-m", "128M", "-numa", n0, "-numa", n1,
          "-numa", "cpu,node-id=1,die-id=0"],
         "kvmpc: -numa cpu,node-id=1,die-id=0: die-id is not supported"),
        (["-m", "128M", "-numa", "foo"],
         "kvmpc: -numa foo: Parameter 'type' does not accept value 'foo'"),
        (["-m", "128M", "-numa", n0 + ",foo=1"],
         "kvmpc: -numa %s,foo=1: Invalid parameter 'foo'" % n0),
        (["-machine", "none", "-numa", n0],
         "kvmpc: -numa %s: NUMA is not supported by this machine-type" % n0),
        # host binding: QEMU 7.2's checks of host-nodes against policy
        (["-object", "memory-backend-ram,id=h,size=1M,host-nodes=0"],
         "host-nodes must be empty for policy default, or you should "
         "explicitly specify a policy other than default"),
        (["-object", "memory-backend-ram,id=h,size=1M,policy=bind"],
         "host-nodes must be set for policy bind"),
        (["-object", "memory-backend-ram,id=h,size=1M,policy=foo"],
         "Parameter 'policy' does not accept value 'foo'"),
        (["-object", "memory-backend-ram,id=h,size=1M,host-nodes=2000,"
          "policy=bind"], "Invalid host-nodes value: 2000"),
    ]
    for args, want in cases:
        err = start_fails(binary, ["-machine", "pc"] + TWO + args)
        if want.startswith("kvmpc: "):
            check_eq(err, want, "error for %r" % args)
        else:
            check(want in err, "%r not in %r" % (want, err))


@no_kvm
def test_partial_cpu_mapping_warns(binary):
    vm = VM(binary, ["-m", "128M", "-smp", "2,maxcpus=4"] + TWO +
            ["-numa", "node,memdev=m0,cpus=1", "-numa", "node,memdev=m1"],
            base=BASE)
    try:
        check("kvmpc: warning: All CPU(s) up to maxcpus should be described "
              "in NUMA config" in vm.proc.stderr(), vm.proc.stderr())
        check_eq(hmp(vm, "info numa"),
                 "2 nodes\r\nnode 0 cpus: 0 1\r\nnode 0 size: 64 MB\r\n"
                 "node 0 plugged: 0 MB\r\nnode 1 cpus:\r\n"
                 "node 1 size: 64 MB\r\nnode 1 plugged: 0 MB\r\n",
                 "info numa: CPUs 2, 3 (absent) and 0 on node 0")
    finally:
        vm.close()


@no_kvm
def test_two_nodes(binary):
    bind = ",host-nodes=0,policy=bind" if host_has_numa() else ""
    vm = VM(binary, ["-m", "128M,slots=2,maxmem=1G",
                     "-smp", "2,sockets=4,maxcpus=4",
                     "-object", "memory-backend-ram,id=m0,size=64M" + bind,
                     "-object", "memory-backend-memfd,id=m1,size=64M",
                     "-numa", "node,nodeid=0,memdev=m0",
                     "-numa", "node,nodeid=1,memdev=m1",
                     "-numa", "dist,src=0,dst=1,val=21"], base=BASE)
    try:
        # default mapping: socket mod nodes
        cpus = vm.qmp.ret("query-hotpluggable-cpus")
        check_eq([(c["props"]["socket-id"], c["props"]["node-id"])
                  for c in cpus], [(3, 1), (2, 0), (1, 1), (0, 0)],
                 "node-id of each slot")
        check_eq(hmp(vm, "info numa"),
                 "2 nodes\r\nnode 0 cpus: 0\r\nnode 0 size: 64 MB\r\n"
                 "node 0 plugged: 0 MB\r\nnode 1 cpus: 1\r\n"
                 "node 1 size: 64 MB\r\nnode 1 plugged: 0 MB\r\n",
                 "info numa")
        memdevs = {m["id"]: m for m in vm.qmp.ret("query-memdev")}
        check_eq(memdevs["m1"]["policy"], "default", "m1 policy")
        check_eq(memdevs["m1"]["host-nodes"], [], "m1 nodes")
        # guest RAM: node 0's backend, then node 1's, as one block
        b64write(vm, 64 * 1024 * 1024 - 4, b"abcdefgh")
        check_eq(b64read(vm, 64 * 1024 * 1024 - 4, 8), b"abcdefgh",
                 "RAM across the node boundary")
        # DIMMs: any existing node; the CPU's node-id must be its slot's
        vm.qmp.ret("object-add", {"qom-type": "memory-backend-ram",
                                  "id": "d1", "size": 128 << 20})
        vm.qmp.ret("object-add", {"qom-type": "memory-backend-ram",
                                  "id": "d2", "size": 128 << 20})
        err = vm.qmp.error("device_add", {"driver": "pc-dimm",
                                          "memdev": "d2", "node": 2})
        check_eq(err["desc"], "'DIMM property node has value 2' which "
                 "exceeds the number of numa nodes: 2", "DIMM node 2")
        vm.qmp.ret("device_add", {"driver": "pc-dimm", "id": "dimm1",
                                  "memdev": "d1", "node": 1})
        devs = vm.qmp.ret("query-memory-devices")
        check_eq(devs[0]["data"]["node"], 1, "DIMM node")
        check("node 1 size: 192 MB\r\nnode 1 plugged: 128 MB" in
              hmp(vm, "info numa"), "plugged memory in info numa")
        cpu = cpus[1]["type"]
        err = vm.qmp.error("device_add", {"driver": cpu, "socket-id": 2,
                                          "core-id": 0, "thread-id": 0,
                                          "node-id": 1})
        check_eq(err["desc"], "invalid node-id, must be 0", "CPU node-id")
        vm.qmp.ret("device_add", {"driver": cpu, "id": "c2", "socket-id": 2,
                                  "core-id": 0, "thread-id": 0})
        check("node 0 cpus: 0 2\r\n" in hmp(vm, "info numa"),
              "hot-plugged CPU on its slot's node")
        if bind:
            check_eq((memdevs["m0"]["policy"], memdevs["m0"]["host-nodes"]),
                     ("bind", [0]), "m0 binding")
            with open("/proc/%d/numa_maps" % vm.proc.proc.pid) as f:
                maps = f.read()
            check(re.search(r" bind:0( |$)", maps, re.M),
                  "no bind:0 mapping in numa_maps")
    finally:
        vm.close()


@no_kvm
def test_host_binding(binary):
    if not host_has_numa():
        print("SKIP host binding: /sys/devices/system/node has no node0")
        return
    vm = VM(binary, ["-m", "64M"], base=BASE)
    try:
        # the QMP list form, as libvirt sends it
        vm.qmp.ret("object-add", {"qom-type": "memory-backend-ram",
                                  "id": "h0", "size": 4 << 20,
                                  "host-nodes": [0], "policy": "preferred"})
        m = [m for m in vm.qmp.ret("query-memdev") if m["id"] == "h0"][0]
        check_eq((m["policy"], m["host-nodes"]), ("preferred", [0]), "h0")
        with open("/proc/%d/numa_maps" % vm.proc.proc.pid) as f:
            check(re.search(r" prefer:0( |$)", f.read(), re.M),
                  "no prefer:0 mapping in numa_maps")
        missing = 1
        while os.path.isdir("/sys/devices/system/node/node%d" % missing):
            missing += 1
        err = vm.qmp.error("object-add", {"qom-type": "memory-backend-ram",
                                          "id": "h1", "size": 4 << 20,
                                          "host-nodes": [missing],
                                          "policy": "bind"})
        check_eq(err["desc"], "cannot bind memory to host NUMA nodes: "
                 "Invalid argument", "a node the host lacks")
    finally:
        vm.close()


@no_kvm
def test_migration(binary):
    """The nodes' RAM migrates as the one guest-RAM block."""
    base = [a for a in BASE if a != "-S"]
    args = ["-m", "128M", "-object", "memory-backend-ram,id=m0,size=64M",
            "-object", "memory-backend-memfd,id=m1,size=64M",
            "-numa", "node,memdev=m0", "-numa", "node,memdev=m1"]
    src = VM(binary, args, base=base)
    dst = None
    try:
        b64write(src, 0x100000, b"node0")
        b64write(src, 0x5000000, b"node1")
        sock = src.path("mig.sock")
        dst = VM(binary, args + ["-incoming", "unix:" + sock], base=base)
        migrate(src, "unix:" + sock, dst)
        check_eq(b64read(dst, 0x100000, 5), b"node0", "node 0's RAM")
        check_eq(b64read(dst, 0x5000000, 5), b"node1", "node 1's RAM")
    finally:
        src.close()
        if dst:
            dst.close()


if __name__ == "__main__":
    run_tests([test_cmdline_errors, test_partial_cpu_mapping_warns,
               test_two_nodes, test_host_binding, test_migration])
