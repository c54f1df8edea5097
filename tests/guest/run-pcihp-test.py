#!/usr/bin/env python3
"""The pcihp guest test, both sides.

    run-pcihp-test.py EMULATOR PAYLOAD pc|q35|q35-native

pc: a cold-plugged pci-bridge (br1, 00.5); the guest numbers it and
learns of hotplug through ACPI (the PIIX4 block, BSEL 1 for the bridge).
Round 0 puts a virtio-rng-pci on pci.0 (slot 6), round 1 one behind the
bridge (slot 3).  q35: a pcie-root-port (rp1, 00.5); one round, the
device on the port's link, through ACPI PCI hotplug (the ICH9 block at
0x0cc0, the port's selector 0: QEMU 7.2's default).  q35-native: the same
with -global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off, native
PCIe hotplug.

In each round, at "pcihp: ready for plug N" the host device_adds (with
acpi-index=10+N, which the ACPI modes read back through PCI_AIDX); at
"pcihp: used N ..." (the guest read random bytes from it) query-pci must
show the device where the guest found it, with BAR 4 where the guest put
it; then device_del, and the guest's eject must bring DEVICE_DELETED,
after which query-pci no longer lists it (the guest waits for a byte
on COM1 meanwhile).  Passes when all of that held
and the guest's SUMMARY has no failures.  Exit 77 (skipped) without
/dev/kvm.
"""
import re
import sys

import guesthost
from guesthost import Failure

BRIDGE_SLOT = 5
# round N's device has acpi-index 10 + N (the ACPI modes check PCI_AIDX)
ACPI_INDEX_BASE = 10
# [qdev id, bus=, addr=] of each round's device
ROUNDS = {
    "pc": [("rng0", "pci.0", 6), ("rng1", "br1", 3)],
    "q35": [("rng0", "rp1", 0)],
    "q35-native": [("rng0", "rp1", 0)],
}
ARGS = {
    "pc": ["-machine", "pc",
           "-device", "pci-bridge,id=br1,chassis_nr=1,addr=%d" % BRIDGE_SLOT,
           "-append", "mode=acpi bridge=%d bsel=1" % BRIDGE_SLOT],
    "q35": ["-machine", "q35",
            "-device", "pcie-root-port,id=rp1,chassis=1,slot=1,addr=%d"
            % BRIDGE_SLOT,
            "-append", "mode=acpi base=0xcc0 port=%d bsel=0" % BRIDGE_SLOT],
    "q35-native": ["-machine", "q35",
                   "-global",
                   "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off",
                   "-device", "pcie-root-port,id=rp1,chassis=1,slot=1,"
                   "addr=%d" % BRIDGE_SLOT,
                   "-append", "mode=pcie port=%d" % BRIDGE_SLOT],
}


def all_devices(buses):
    """Every device query-pci lists, behind bridges too."""
    for bus in buses:
        for dev in bus["devices"]:
            yield dev
            behind = dev.get("pci_bridge", {}).get("devices", [])
            yield from all_devices([{"devices": behind}])


def find(qmp, qdev_id):
    found = [d for d in all_devices(qmp.ret("query-pci"))
             if d["qdev_id"] == qdev_id]
    return found[0] if found else None


def check_in_use(qmp, qdev_id, line):
    """query-pci agrees with the guest's "used N bus B slot S bar4 A"."""
    m = re.search(r"bus (\d+) slot (\d+) bar4 (0x[0-9a-f]+)", line)
    if not m:
        raise Failure("unparsable guest line: %s" % line)
    bus, slot, bar4 = int(m.group(1)), int(m.group(2)), int(m.group(3), 16)
    dev = find(qmp, qdev_id)
    if dev is None:
        raise Failure("query-pci does not list %s" % qdev_id)
    if (dev["bus"], dev["slot"], dev["function"]) != (bus, slot, 0):
        raise Failure("query-pci puts %s at %02x:%02x.%x, the guest at "
                      "%02x:%02x.0" % (qdev_id, dev["bus"], dev["slot"],
                                       dev["function"], bus, slot))
    bars = {r["bar"]: r["address"] for r in dev["regions"]}
    if bars.get(4) != bar4:
        raise Failure("query-pci: %s BAR 4 at %r, the guest put it at %#x"
                      % (qdev_id, bars.get(4), bar4))
    print("run-pcihp-test: query-pci: %s at %02x:%02x.0, BAR 4 %#x"
          % (qdev_id, bus, slot, bar4), flush=True)


def rounds(machine):
    def body(host):
        qmp = host.qmp
        for n, (qdev_id, bus, addr) in enumerate(ROUNDS[machine]):
            host.wait_line("pcihp: ready for plug %d" % n)
            qmp.ret("device_add", {"driver": "virtio-rng-pci", "id": qdev_id,
                                   "bus": bus, "addr": "%#x" % addr,
                                   "acpi-index": ACPI_INDEX_BASE + n})
            check_in_use(qmp, qdev_id, host.wait_line("pcihp: used %d" % n))
            qmp.ret("device_del", {"id": qdev_id})
            host.wait_deleted(qdev_id)
            host.wait_line("pcihp: ejected %d" % n)
            if find(qmp, qdev_id) is not None:
                raise Failure("query-pci still lists %s" % qdev_id)
            host.tell()
    return body


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ROUNDS:
        sys.exit(__doc__)
    emulator, payload, machine = sys.argv[1:]
    return guesthost.run(rounds(machine), emulator, payload, ARGS[machine],
                         "run-pcihp-test")


if __name__ == "__main__":
    sys.exit(main())
