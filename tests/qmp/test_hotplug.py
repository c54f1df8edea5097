#!/usr/bin/env python3
"""device_add / device_del from QMP and HMP (human-monitor-command), with
QEMU 7.2's replies and the DEVICE_DELETED event (docs/hotplug.md).  The
guest-side halves (ACPI eject, PCIe slot power) are in
tests/qtest/pci-hotplug-test.c and pcie-hotplug-test.c; here USB devices,
whose unplug needs no guest, complete the round trip."""
import os
import subprocess
import sys
import tempfile
from qmplib import Kvmpc, QMP, check, check_eq, no_kvm, run_tests, wait_for

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_migration import VM, migrate  # noqa

MIG_BASE = ["-machine", "pc", "-nodefaults", "-display", "none",
            "-accel", "qtest", "-qtest-log", "none", "-serial", "null"]


def vm_with(binary, extra):
    tmp = tempfile.mkdtemp(prefix="kvmpc-hotplug-")
    path = os.path.join(tmp, "qmp.sock")
    vm = Kvmpc(binary, ["-S", "-display", "none", "-machine", "pc",
                        "-accel", "qtest", "-nodefaults",
                        "-netdev", "hubport,id=h0,hubid=0",
                        "-device", "piix3-usb-uhci,id=uhci,addr=8",
                        "-qmp", "unix:%s,server=on,wait=off" % path] + extra,
               tmpdir=tmp, wait_sockets=[path])
    return vm, QMP(path)


def hmp(q, line):
    return q.ret("human-monitor-command", {"command-line": line})


@no_kvm
def test_hmp_device_add_del(binary):
    vm, q = vm_with(binary, [])
    try:
        check_eq(hmp(q, "device_add virtio-net-pci,id=n1,netdev=h0,addr=6"),
                 "", "device_add prints nothing")
        check("Ethernet controller: PCI device 1af4:1000" in
              hmp(q, "info pci"), "info pci shows the new NIC")
        check_eq(hmp(q, "device_add nosuch"),
                 "Error: 'nosuch' is not a valid device model name\r\n",
                 "unknown driver")
        check_eq(hmp(q, "device_add virtio-net-pci,id=n1"),
                 "Error: Duplicate device ID 'n1'\r\n", "duplicate id")
        check_eq(hmp(q, "device_del n1"), "", "device_del prints nothing")
        # PCI waits for the guest's _EJ0: the device is still there.
        check_eq(hmp(q, "device_del n1"),
                 "Error: Device n1 is already in the process of unplug\r\n",
                 "second device_del")
        check("1af4:1000" in hmp(q, "info pci"), "still there")
        check_eq(hmp(q, "device_del nope"),
                 "Error: Device 'nope' not found\r\n", "unknown id")
        # USB: synchronous, DEVICE_DELETED at once.
        check_eq(hmp(q, "device_add usb-tablet,id=t1,bus=uhci.0"), "",
                 "usb-tablet")
        check("ID: t1" in hmp(q, "info usb"), "info usb shows it")
        check_eq(hmp(q, "device_del t1"), "", "device_del t1")
        ev = q.wait_event("DEVICE_DELETED")
        check_eq(ev["data"], {"device": "t1",
                              "path": "/machine/peripheral/t1"}, "event")
        check("t1" not in hmp(q, "info usb"), "gone from info usb")
        check("device_add driver[,prop=value][,...]" in hmp(q, "help"),
              "help lists device_add")
        check("virtio-net-pci options:" in
              hmp(q, "device_add virtio-net-pci,help"), "device_add X,help")
    finally:
        q.close()
        vm.close()


@no_kvm
def test_qmp_device_add_types(binary):
    vm, q = vm_with(binary, [])
    try:
        # JSON values of any type, as libvirt sends them.
        check_eq(q.ret("device_add", {"driver": "virtio-net-pci",
                                      "id": "n2", "netdev": "h0",
                                      "addr": "0x7", "mq": False}),
                 {}, "device_add with a boolean")
        err = q.error("device_add", {"driver": "virtio-net-pci",
                                     "id": "n3", "addr": "0x7"})
        check("in use by virtio-net-pci,id=n2" in err["desc"], err["desc"])
        err = q.error("device_add", {"driver": "e1000", "bus": "pci.1"})
        check_eq(err["desc"], "Bus 'pci.1' not found", "bad bus")
        err = q.error("device_del", {"id": "nope"})
        check_eq(err["class"], "DeviceNotFound", "DeviceNotFound")
        cmds = [c["name"] for c in q.ret("query-commands")]
        check("device_add" in cmds and "device_del" in cmds,
              "query-commands lists them")
        schema = q.ret("query-qmp-schema")
        events = [e["name"] for e in schema if e.get("meta-type") == "event"]
        check("DEVICE_DELETED" in events, "schema has DEVICE_DELETED")
        peri = [p["name"] for p in q.ret("qom-list",
                                          {"path": "/machine/peripheral"})]
        check("n2" in peri, "qom-list /machine/peripheral: %r" % peri)
        check_eq(q.ret("qom-get", {"path": "/machine/peripheral/n2",
                                   "property": "type"}),
                 "virtio-net-pci", "qom-get type")
    finally:
        q.close()
        vm.close()


@no_kvm
def test_bridge_pcihp_migration(binary):
    """ACPI PCI hotplug behind a pci-bridge: a plug the guest has not read
    (PCIU) and a removal it has not answered (PCID) of bus selector 1
    migrate with piix4_pm; the destination's guest then ejects."""
    d = tempfile.mkdtemp(prefix="kvmpc-pcihp-mig-")
    sock = os.path.join(d, "mig.sock")
    common = ["-device", "pci-bridge,id=br1,chassis_nr=1,addr=5",
              "-device", "pci-testdev,id=cold,bus=br1,addr=2"]
    src = VM(binary, common, base=MIG_BASE)
    dst = VM(binary, common + [
        "-device", "pci-testdev,id=hot,bus=br1,addr=3",
        "-incoming", "unix:" + sock], base=MIG_BASE)
    try:
        src.qmp.ret("device_add", {"driver": "pci-testdev", "id": "hot",
                                   "bus": "br1", "addr": "3"})
        src.qmp.ret("device_del", {"id": "cold"})
        wait_for(lambda: os.path.exists(sock))
        migrate(src, "unix:" + sock, dst)
        dst.q("outl 0xae10 0x1")
        check_eq(int(dst.q("inl 0xae00").split()[1], 16), 1 << 3,
                 "PCIU of BSEL 1 on the destination")
        check_eq(int(dst.q("inl 0xae04").split()[1], 16), 1 << 2,
                 "PCID of BSEL 1 on the destination")
        dst.q("outl 0xae08 0x4")
        ev = dst.qmp.wait_event("DEVICE_DELETED")
        check_eq(ev["data"]["device"], "cold", "the ejected device")
        check_eq(int(dst.q("inl 0xae04").split()[1], 16), 0,
                 "PCID after the eject")
    finally:
        src.close()
        dst.close()
        subprocess.run(["rm", "-rf", d])


@no_kvm
def test_q35_pcihp_migration(binary):
    """q35's ACPI PCI hotplug (the ICH9 block at 0x0cc0): a plug on a root
    port's link the guest has not read (PCIU of selector 0) and a removal
    it has not answered (PCID) behind a pci-bridge (selector 1) migrate
    with ICH9LPC (version 3); the destination's guest then ejects."""
    d = tempfile.mkdtemp(prefix="kvmpc-q35-pcihp-mig-")
    sock = os.path.join(d, "mig.sock")
    base = [a if a != "pc" else "q35" for a in MIG_BASE]
    common = ["-device", "pci-bridge,id=br1,chassis_nr=1,addr=5",
              "-device", "pcie-root-port,id=rp1,chassis=2,addr=6",
              "-device", "pci-testdev,id=cold,bus=br1,addr=2"]
    src = VM(binary, common, base=base)
    dst = VM(binary, common + [
        "-device", "pci-testdev,id=hot,bus=rp1",
        "-incoming", "unix:" + sock], base=base)
    try:
        src.qmp.ret("device_add", {"driver": "pci-testdev", "id": "hot",
                                   "bus": "rp1"})
        src.qmp.ret("device_del", {"id": "cold"})
        wait_for(lambda: os.path.exists(sock))
        migrate(src, "unix:" + sock, dst)
        dst.q("outl 0xcd0 0x0")
        check_eq(int(dst.q("inl 0xcc0").split()[1], 16), 1,
                 "PCIU of the root port's selector on the destination")
        dst.q("outl 0xcd0 0x1")
        check_eq(int(dst.q("inl 0xcc4").split()[1], 16), 1 << 2,
                 "PCID of the bridge's selector on the destination")
        dst.q("outl 0xcc8 0x4")
        ev = dst.qmp.wait_event("DEVICE_DELETED")
        check_eq(ev["data"]["device"], "cold", "the ejected device")
    finally:
        src.close()
        dst.close()
        subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    run_tests([test_hmp_device_add_del, test_qmp_device_add_types,
               test_bridge_pcihp_migration, test_q35_pcihp_migration])
