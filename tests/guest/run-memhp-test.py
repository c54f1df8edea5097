#!/usr/bin/env python3
"""The memhp guest test, both sides.

    run-memhp-test.py EMULATOR PAYLOAD pc|q35

Boots PAYLOAD (memhp.c) with -m 128M,slots=2,maxmem=1G.  At "memhp: ready
for plug" the host object-adds a 128 MiB memory-backend-ram and
device_adds a pc-dimm on it; the guest finds it through the ACPI memory
hotplug registers, answers _OST (the host waits for ACPI_DEVICE_OST) and
fills it with a pattern.  At "memhp: used BASE SIZE slot N" the guest's
range and slot must be what query-memory-devices says; then device_del,
the guest ejects, DEVICE_DELETED must follow, query-memory-devices must
be empty and object-del must free the backend (the guest waits for a
byte on COM1 meanwhile).  Passes when all of that
held and the guest's SUMMARY has no failures.  Exit 77 (skipped) without
/dev/kvm.
"""
import re
import sys

import guesthost
from guesthost import Failure

DIMM_SIZE = 128 << 20


def body(host):
    qmp = host.qmp
    host.wait_line("memhp: ready for plug")
    qmp.ret("object-add", {"qom-type": "memory-backend-ram", "id": "mem1",
                           "size": DIMM_SIZE})
    qmp.ret("device_add", {"driver": "pc-dimm", "id": "dimm1",
                           "memdev": "mem1"})
    ost = qmp.wait_event("ACPI_DEVICE_OST", guesthost.TIMEOUT)["data"]["info"]
    if (ost.get("device"), ost.get("slot-type"), ost.get("status")) != \
            ("dimm1", "DIMM", 0):
        raise Failure("ACPI_DEVICE_OST: %r" % ost)
    line = host.wait_line("memhp: used")
    m = re.search(r"used (0x[0-9a-f]+) (0x[0-9a-f]+) slot (\d+)", line)
    if not m:
        raise Failure("unparsable guest line: %s" % line)
    base, size, slot = int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))
    devs = qmp.ret("query-memory-devices")
    if len(devs) != 1:
        raise Failure("query-memory-devices: %r" % devs)
    d = devs[0]["data"]
    want = {"id": "dimm1", "addr": base, "size": size, "slot": slot,
            "hotplugged": True, "memdev": "/objects/mem1"}
    got = {k: d.get(k) for k in want}
    if got != want or size != DIMM_SIZE:
        raise Failure("query-memory-devices says %r, the guest %r" % (got, want))
    print("run-memhp-test: query-memory-devices: dimm1 at %#x, %#x bytes, "
          "slot %d" % (base, size, slot), flush=True)
    qmp.ret("device_del", {"id": "dimm1"})
    host.wait_deleted("dimm1")
    host.wait_line("memhp: ejected")
    if qmp.ret("query-memory-devices"):
        raise Failure("query-memory-devices still lists the DIMM")
    qmp.ret("object-del", {"id": "mem1"})
    host.tell()


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("pc", "q35"):
        sys.exit(__doc__)
    emulator, payload, machine = sys.argv[1:]
    return guesthost.run(body, emulator, payload,
                         ["-machine", machine, "-m", "128M,slots=2,maxmem=1G",
                          "-append", "slots=2"], "run-memhp-test")


if __name__ == "__main__":
    sys.exit(main())
