#!/usr/bin/env python3
"""CPU hotplug over QMP and HMP (docs/cpu.md, "CPU hotplug"), under
-accel qtest: device_add/device_del of MODEL-x86_64-cpu, the errors,
query-hotpluggable-cpus and `info hotpluggable-cpus`, each compared with
Debian's QEMU 7.2 (-accel tcg, the behaviour reference) where it is
installed.  The guest's side (the register block, GPE, eject) is in
tests/qtest/cpu-hotplug-test.c."""
import json
import os
import re
import shutil
import subprocess
import tempfile
from qmplib import Kvmpc, QMP, check, check_eq, no_kvm, run_tests

SMP = "2,sockets=2,cores=2,maxcpus=4"
# (driver, props) -> QEMU 7.2 refuses them all on -smp SMP with -cpu qemu64
BAD = [
    ("qemu64-x86_64-cpu", {"socket-id": 0, "core-id": 0, "thread-id": 0}),
    ("qemu64-x86_64-cpu", {"socket-id": 0, "core-id": 1, "thread-id": 0}),
    ("kvm64-x86_64-cpu", {"socket-id": 1, "core-id": 0, "thread-id": 0}),
    ("qemu64-x86_64-cpu", {"socket-id": 2, "core-id": 0, "thread-id": 0}),
    ("qemu64-x86_64-cpu", {"socket-id": 1, "core-id": 2, "thread-id": 0}),
    ("qemu64-x86_64-cpu", {"socket-id": 1, "core-id": 0, "thread-id": 1}),
    ("qemu64-x86_64-cpu", {"socket-id": 1, "core-id": 0}),
    ("qemu64-x86_64-cpu", {"core-id": 0, "thread-id": 0}),
    ("qemu64-x86_64-cpu", {"socket-id": 1, "thread-id": 0}),
    ("qemu64-x86_64-cpu", {"socket-id": 1, "die-id": 1, "core-id": 0,
                           "thread-id": 0}),
]


def kvmpc_vm(binary, machine):
    tmp = tempfile.mkdtemp(prefix="kvmpc-cpuhp-")
    path = os.path.join(tmp, "qmp.sock")
    vm = Kvmpc(binary, ["-S", "-display", "none", "-machine", machine,
                        "-accel", "qtest", "-nodefaults", "-cpu", "qemu64",
                        "-smp", SMP,
                        "-qmp", "unix:%s,server=on,wait=off" % path],
               tmpdir=tmp, wait_sockets=[path])
    return vm, QMP(path)


class Qemu:
    """Debian's qemu-system-x86_64 -S under TCG, QMP on stdio."""

    def __init__(self, binary, machine):
        self.proc = subprocess.Popen(
            [binary, "-S", "-machine", machine, "-accel", "tcg",
             "-nodefaults", "-display", "none", "-cpu", "qemu64",
             "-smp", SMP, "-qmp", "stdio"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        json.loads(self.proc.stdout.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, args=None):
        req = {"execute": name}
        if args is not None:
            req["arguments"] = args
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        while True:
            msg = json.loads(self.proc.stdout.readline())
            if "return" in msg or "error" in msg:
                return msg

    def close(self):
        self.proc.kill()
        self.proc.wait()


def hmp(q, line):
    return q.ret("human-monitor-command", {"command-line": line})


def props_of(cpus):
    """query-hotpluggable-cpus without the qom-paths (kvmpc names boot
    CPUs /machine/cpu[N], QEMU /machine/unattached/device[N])."""
    return [(c["type"], c["vcpus-count"], c["props"], "qom-path" in c)
            for c in cpus]


def error_desc(rsp):
    check("error" in rsp, "should fail: %r" % rsp)
    return rsp["error"]["desc"]


@no_kvm
def test_device_add_del(binary):
    for machine in ("pc", "q35"):
        vm, q = kvmpc_vm(binary, machine)
        try:
            q.ret("device_add", {"driver": "qemu64-x86_64-cpu", "id": "c3",
                                 "socket-id": 1, "core-id": 1,
                                 "thread-id": 0})
            cpus = q.ret("query-hotpluggable-cpus")
            check_eq(len(cpus), 4, "four slots")
            by_slot = {(c["props"]["socket-id"], c["props"]["core-id"]): c
                       for c in cpus}
            check_eq(by_slot[(1, 1)].get("qom-path"), "/machine/peripheral/c3",
                     "the new CPU's qom-path")
            check("qom-path" not in by_slot[(1, 0)], "slot (1, 0) empty")
            text = hmp(q, "info hotpluggable-cpus")
            check('  qom_path: "/machine/peripheral/c3"\r\n' in text,
                  "info hotpluggable-cpus: %r" % text)
            check_eq(hmp(q, "device_add qemu64-x86_64-cpu,id=c2,socket-id=1,"
                            "core-id=0,thread-id=0"), "", "HMP device_add")
            check_eq(hmp(q, "device_add qemu64-x86_64-cpu,id=c9,socket-id=1,"
                            "core-id=0,thread-id=0"),
                     "Error: CPU[2] with APIC ID 2 exists\r\n",
                     "HMP slot taken")
            # device_del asks the guest (ACPI); the CPU stays until _EJ0.
            q.ret("device_del", {"id": "c3"})
            check("c3" in json.dumps(q.ret("query-hotpluggable-cpus")),
                  "still plugged before the eject")
            err = q.error("device_del", {"id": "c3"})
            check_eq(err["desc"], "Device c3 is already in the process of "
                     "unplug", "second device_del")
            # A reset completes a removal the guest never acknowledged.
            q.ret("system_reset")
            ev = q.wait_event("DEVICE_DELETED")
            check_eq(ev["data"], {"device": "c3",
                                  "path": "/machine/peripheral/c3"}, "event")
            check("c3" not in json.dumps(q.ret("query-hotpluggable-cpus")),
                  "gone after reset")
        finally:
            vm.close()


@no_kvm
def test_against_qemu(binary):
    qemu_bin = shutil.which("qemu-system-x86_64")
    if not qemu_bin:
        print("SKIP test_against_qemu: qemu-system-x86_64 is not installed")
        return
    for machine in ("pc", "q35"):
        vm, q = kvmpc_vm(binary, machine)
        ref = Qemu(qemu_bin, machine)
        try:
            check_eq(props_of(q.ret("query-hotpluggable-cpus")),
                     props_of(ref.cmd("query-hotpluggable-cpus")["return"]),
                     "%s query-hotpluggable-cpus" % machine)
            for driver, props in BAD:
                args = dict(props, driver=driver, id="x")
                check_eq(error_desc(q.cmd("device_add", args)),
                         error_desc(ref.cmd("device_add", args)),
                         "%s device_add %r" % (machine, args))
            args = {"driver": "qemu64-x86_64-cpu", "id": "c3",
                    "socket-id": 1, "core-id": 1, "thread-id": 0}
            check("return" in ref.cmd("device_add", args), "QEMU plugs c3")
            q.ret("device_add", args)
            mine = q.ret("query-hotpluggable-cpus")
            theirs = ref.cmd("query-hotpluggable-cpus")["return"]
            check_eq(props_of(mine), props_of(theirs),
                     "%s after device_add" % machine)
            check_eq([c.get("qom-path") for c in mine if
                      "peripheral" in c.get("qom-path", "")],
                     [c.get("qom-path") for c in theirs if
                      "peripheral" in c.get("qom-path", "")],
                     "the hot-added CPU's qom-path")
            # HMP text: the same but for the boot CPUs' qom_path lines
            strip = re.compile(r'  qom_path: "/machine/(cpu|unattached)[^"]*"'
                               r'\r?\n')
            mine_text = strip.sub("", hmp(q, "info hotpluggable-cpus"))
            theirs_text = strip.sub("", ref.cmd(
                "human-monitor-command",
                {"command-line": "info hotpluggable-cpus"})["return"])
            check_eq(mine_text.replace("\r\n", "\n"),
                     theirs_text.replace("\r\n", "\n"),
                     "%s info hotpluggable-cpus" % machine)
            # _OST state of every CPU slot.  QEMU 7.2 lists CPU slots only
            # once the guest's AML switched its PM device out of the legacy
            # CPU hotplug mode (at boot); kvmpc has only the modern mode,
            # so it lists them from the start (docs/cpu.md).
            ost = q.ret("query-acpi-ospm-status")
            check_eq([(o["slot"], o.get("device"), o["source"], o["status"])
                      for o in ost if o["slot-type"] == "CPU"],
                     [("0", None, 0, 0), ("1", None, 0, 0), ("2", None, 0, 0),
                      ("3", "c3", 0, 0)], "%s CPU slots' _OST" % machine)
        finally:
            ref.close()
            vm.close()


if __name__ == "__main__":
    run_tests([test_device_add_del, test_against_qemu])
