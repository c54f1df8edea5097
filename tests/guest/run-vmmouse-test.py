#!/usr/bin/env python3
"""The vmmouse guest test, both sides.

    run-vmmouse-test.py EMULATOR PAYLOAD MACHINE

Boots PAYLOAD (vmmouse.c) on MACHINE (pc or q35) with COM1 on stdio and a
QMP socket.  At "vmmouse: ready for events" the host presses and releases
a key (no packet), then sends three pointer reports with input-send-event (absolute x/y in 0..0x7fff, the left
button, the wheel); the guest reads them as vmmouse packets.  At
"vmmouse: ready for flood" it sends 300 reports and then one byte on COM1;
the guest checks that its queue stopped at 1024 words.  At "vmmouse:
ready for relative" it sends one relative report.  Passes when the
guest's SUMMARY has no failures.  Exit 77 (skipped) without /dev/kvm.
"""
import sys

import guesthost


def abs_ev(axis, value):
    return {"type": "abs", "data": {"axis": axis, "value": value}}


def btn_ev(button, down):
    return {"type": "btn", "data": {"button": button, "down": down}}


def body(host):
    qmp = host.qmp
    host.wait_line("vmmouse: ready for events")
    mice = qmp.ret("query-mice")
    print("query-mice: %r" % mice, flush=True)
    # a key is no pointer report: no packet for it
    qmp.ret("input-send-event", {"events": [
        {"type": "key", "data": {"down": True,
                                 "key": {"type": "qcode", "data": "a"}}}]})
    qmp.ret("input-send-event", {"events": [
        {"type": "key", "data": {"down": False,
                                 "key": {"type": "qcode", "data": "a"}}}]})
    qmp.ret("input-send-event", {"events": [
        abs_ev("x", 0x4000), abs_ev("y", 0x2000), btn_ev("left", True)]})
    qmp.ret("input-send-event", {"events": [
        abs_ev("x", 0x7fff), abs_ev("y", 0), btn_ev("left", False),
        btn_ev("wheel-down", True)]})
    qmp.ret("input-send-event", {"events": [btn_ev("wheel-down", False)]})
    host.wait_line("vmmouse: ready for flood")
    for i in range(300):
        qmp.ret("input-send-event", {"events": [abs_ev("x", i)]})
    host.tell()
    host.wait_line("vmmouse: ready for relative")
    qmp.ret("input-send-event", {"events": [
        {"type": "rel", "data": {"axis": "x", "value": 5}},
        {"type": "rel", "data": {"axis": "y", "value": -3}},
        btn_ev("right", True)]})


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    emulator, payload, machine = sys.argv[1:]
    return guesthost.run(body, emulator, payload, ["-machine", machine],
                         "run-vmmouse-test")


if __name__ == "__main__":
    sys.exit(main())
