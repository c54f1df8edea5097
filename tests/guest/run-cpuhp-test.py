#!/usr/bin/env python3
"""The cpuhp guest test, both sides.

    run-cpuhp-test.py EMULATOR PAYLOAD MACHINE

Boots PAYLOAD (cpuhp.c) on MACHINE (pc or q35) with -smp 1,maxcpus=2, COM1
on stdio and a QMP socket.  When the guest prints "cpuhp: ready for plug"
the host device_adds the CPU of slot 1 (core 1); the guest finds it
through the ACPI CPU hotplug registers and starts it.  At "ready for
unplug" the host device_dels it; the guest ejects it and the host waits
for DEVICE_DELETED and an ACPI_DEVICE_OST, and sees one vCPU left in
query-cpus-fast.  Passes when all that happened and the guest's SUMMARY
has no failures.  Exit 77 (skipped) without /dev/kvm.
"""
import sys

import guesthost
from guesthost import Failure


def body(host):
    qmp = host.qmp
    host.wait_line("cpuhp: ready for plug")
    qmp.ret("device_add", {"driver": "qemu64-x86_64-cpu", "id": "cpu1",
                           "socket-id": 0, "core-id": 1, "thread-id": 0})
    if len(qmp.ret("query-cpus-fast")) != 2:
        raise Failure("query-cpus-fast does not list the new vCPU")
    host.wait_line("cpuhp: ready for unplug")
    qmp.ret("device_del", {"id": "cpu1"})
    host.wait_deleted("cpu1")
    ost = qmp.wait_event("ACPI_DEVICE_OST", guesthost.TIMEOUT)["data"]["info"]
    if (ost.get("slot-type"), ost.get("source"), ost.get("status")) != \
            ("CPU", 0x103, 0):
        raise Failure("ACPI_DEVICE_OST: %r" % ost)
    if len(qmp.ret("query-cpus-fast")) != 1:
        raise Failure("the ejected vCPU is still listed")
    host.tell()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    emulator, payload, machine = sys.argv[1:]
    port = "0xcd8" if machine == "q35" else "0xaf00"
    return guesthost.run(body, emulator, payload,
                         ["-machine", machine, "-cpu", "qemu64",
                          "-smp", "1,maxcpus=2", "-append", "cpuhp=%s" % port],
                         "run-cpuhp-test")


if __name__ == "__main__":
    sys.exit(main())
