#!/usr/bin/env python3
"""-machine properties (hw/core/machine-props.c), -no-acpi, -runas and
-chroot.  Under -accel qtest: the effects are read from the machine (PCI
functions over QMP, fw_cfg's file directory and the i8042's ports over the
qtest protocol, KSM advice from /proc/PID/smaps, credentials and root from
/proc/PID)."""
import os
import pwd
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import Kvmpc, QMP, check, check_eq, no_kvm, run_tests  # noqa
from test_timer_storm import QTest  # noqa: E402

FW_CFG_CTL, FW_CFG_DATA, FW_CFG_FILE_DIR = 0x510, 0x511, 0x19


def run_kvmpc(binary, args):
    return subprocess.run([binary, "-nodefaults", "-display", "none",
                           "-accel", "qtest", "-qtest", "stdio",
                           "-qtest-log", "none"] + args +
                          ["-S", "-machine", "graphics=off"],
                          capture_output=True, text=True, timeout=30,
                          input="")


def start_vm(binary, args):
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-machine-")
    qt_path = os.path.join(tmpdir, "qtest.sock")
    qmp_path = os.path.join(tmpdir, "qmp.sock")
    vm = Kvmpc(binary, ["-nodefaults", "-display", "none", "-accel", "qtest",
                        "-qtest-log", "none", "-m", "64",
                        "-qtest", "unix:%s,server=on" % qt_path,
                        "-qmp", "unix:%s,server=on,wait=off" % qmp_path]
               + args, tmpdir=tmpdir)
    vm.wait_socket(qt_path)
    qt = QTest(qt_path)
    vm.wait_socket(qmp_path)
    return vm, qt, QMP(qmp_path)


def inb(qt, port):
    return int(qt.cmd("inb 0x%x" % port)[0].split()[1], 16)


def fw_cfg_files(qt):
    qt.cmd("outw 0x%x 0x%x" % (FW_CFG_CTL, FW_CFG_FILE_DIR))
    count = int.from_bytes(bytes(inb(qt, FW_CFG_DATA) for _ in range(4)),
                           "big")
    check(count < 200, "fw_cfg file count %d" % count)
    names = []
    for _ in range(count):
        entry = bytes(inb(qt, FW_CFG_DATA) for _ in range(64))
        names.append(entry[8:].split(b"\0")[0].decode())
    return names


def pci_functions(qmp):
    return {(d["slot"], d["function"]): d["id"]["device"]
            for b in qmp.ret("query-pci") for d in b["devices"]}


@no_kvm
def test_unknown_keys_and_values(binary):
    """QEMU's errors: an unknown key names TYPE-machine.KEY; values are
    checked by type; what kvmpc does not model is refused by name, its
    default accepted."""
    cases = [
        ("pc,foo=on", "Property 'pc-i440fx-7.2-machine.foo' not found"),
        ("q35,foo=on", "Property 'pc-q35-7.2-machine.foo' not found"),
        ("none,acpi=off", "Property 'none-machine.acpi' not found"),
        ("pc,acpi=maybe", "Parameter 'acpi' does not accept value 'maybe'"),
        ("pc,hpet=2", "Parameter 'hpet' expects 'on' or 'off'"),
        ("pc,smm=on", "kvmpc does not emulate System Management Mode"),
        ("pc,vmport=maybe", "Parameter 'vmport' does not accept value"),
        ("q35,sata=off", "q35's AHCI is always there"),
        ("pc,max-ram-below-4g=1G", "RAM layout below 4 GiB is fixed"),
    ]
    for machine, msg in cases:
        p = run_kvmpc(binary, ["-machine", machine])
        check(p.returncode == 1 and msg in p.stderr,
              "%s: rc %d %r" % (machine, p.returncode, p.stderr))
        check_eq(p.stderr.count("\n"), 1, "one line for " + machine)
    for machine in ("pc,smm=off", "pc,smm=auto", "pc,vmport=off",
                    "pc,vmport=on",
                    "q35,vmport=auto,sata=on,smbus=on", "pc,pit=auto",
                    "pc,suppress-vmdesc=on", "none,mem-merge=off",
                    "pc,mem-merge=on,hpet=on,i8042=on,acpi=on"):
        p = run_kvmpc(binary, ["-machine", machine])
        check_eq(p.returncode, 0, "%s: %r" % (machine, p.stderr))


@no_kvm
def test_help(binary):
    p = subprocess.run([binary, "-machine", "pc,help"], capture_output=True,
                       text=True, timeout=30)
    check_eq(p.returncode, 0, "pc,help exit status")
    lines = p.stdout.splitlines()
    check_eq(lines[0], "pc-i440fx-7.2-machine options:", "first line")
    check("  acpi=<OnOffAuto>       - Enable ACPI" in lines, p.stdout)
    check(lines[1:] == sorted(lines[1:]), "sorted as QEMU's")
    p = subprocess.run([binary, "-machine", "none,help"],
                       capture_output=True, text=True, timeout=30)
    check("acpi=" not in p.stdout and "mem-merge=" in p.stdout, p.stdout)
    # libvirt reads the same table through qom-list-properties
    vm, qt, qmp = start_vm(binary, ["-machine", "pc"])
    try:
        props = {p["name"]: p["type"] for p in qmp.ret(
            "qom-list-properties", {"typename": "pc-i440fx-7.2-machine"})}
        check_eq(props.get("acpi"), "OnOffAuto", "pc: acpi")
        check_eq(props.get("hpet"), "bool", "pc: hpet")
        props = {p["name"] for p in qmp.ret(
            "qom-list-properties", {"typename": "none-machine"})}
        check("acpi" not in props and "mem-merge" in props, props)
    finally:
        vm.close()


@no_kvm
def test_acpi_off(binary):
    """acpi=off and -no-acpi: no PIIX4 PM function on pc and no ACPI files
    in fw_cfg; q35 keeps its LPC bridge but has no tables either."""
    for machine, extra, acpi in (("pc", [], True),
                                 ("pc,acpi=off", [], False),
                                 ("pc", ["-no-acpi"], False),
                                 ("q35,acpi=off", [], False),
                                 ("q35", [], True)):
        vm, qt, qmp = start_vm(binary, ["-machine", machine] + extra)
        try:
            files = fw_cfg_files(qt)
            check("etc/e820" in files, "fw_cfg directory read: %s" % files)
            check_eq("etc/acpi/tables" in files, acpi,
                     "%s %s: ACPI tables in fw_cfg" % (machine, extra))
            check_eq("etc/acpi/rsdp" in files, acpi, "RSDP in fw_cfg")
            if machine.startswith("pc"):
                check_eq((1, 3) in pci_functions(qmp), acpi,
                         "%s %s: PIIX4 PM at 00:01.3" % (machine, extra))
            else:
                check_eq(pci_functions(qmp).get((31, 0)), 0x2918,
                         "ICH9 LPC stays")
        finally:
            vm.close()


@no_kvm
def test_hpet_and_i8042(binary):
    """hpet=off is -no-hpet (no HPET file item's block, no MMIO); i8042=off
    leaves ports 0x60/0x64 unassigned."""
    vm, qt, qmp = start_vm(binary, ["-machine", "pc,hpet=off,i8042=off"])
    try:
        check_eq(inb(qt, 0x64), 0xff, "no i8042 status register")
        hpet_id = int(qt.cmd("readl 0xfed00000")[0].split()[1], 16)
        check_eq(hpet_id, 0xffffffff, "no HPET at 0xfed00000")
    finally:
        vm.close()
    vm, qt, qmp = start_vm(binary, ["-machine", "pc"])
    try:
        check(inb(qt, 0x64) != 0xff, "the i8042 answers by default")
        hpet_id = int(qt.cmd("readl 0xfed00000")[0].split()[1], 16)
        check_eq(hpet_id & 0xffff0000, 0x80860000, "HPET vendor 8086")
    finally:
        vm.close()


def ram_vma_flags(pid, size_kib):
    """VmFlags of the mappings of exactly @size_kib (guest RAM)."""
    flags, size = [], None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if line.startswith("Size:"):
                size = int(line.split()[1])
            elif line.startswith("VmFlags:") and size == size_kib:
                flags.append(line.split()[1:])
    return flags


@no_kvm
def test_mem_merge(binary):
    """mem-merge (default on, as QEMU) offers guest RAM to KSM: the VMA is
    marked mergeable ("mg"); mem-merge=off leaves it unmarked."""
    for machine, merged in (("pc", True), ("pc,mem-merge=off", False)):
        vm, qt, qmp = start_vm(binary, ["-machine", machine])
        try:
            flags = ram_vma_flags(vm.proc.pid, 64 * 1024)
            check(flags, "a 64 MiB guest RAM mapping in smaps")
            check_eq(any("mg" in f for f in flags), merged,
                     "%s: mergeable flags %s" % (machine, flags))
        finally:
            vm.close()


def proc_ids(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return [int(x) for x in line.split()[1:]]
    return None


@no_kvm
def test_runas_and_chroot(binary):
    p = run_kvmpc(binary, ["-runas", "no-such-user-kvmpc"])
    check(p.returncode == 1 and
          'User "no-such-user-kvmpc" doesn\'t exist' in p.stderr, p.stderr)
    if os.geteuid() != 0:
        print("SKIP: -runas/-chroot effects need root")
        return
    p = run_kvmpc(binary, ["-chroot", "/nonexistent-kvmpc-dir"])
    check(p.returncode == 1 and "chroot failed" in p.stderr, p.stderr)
    nobody = pwd.getpwnam("nobody")
    jail = tempfile.mkdtemp(prefix="kvmpc-jail-")
    for who, uid, gid in (("nobody", nobody.pw_uid, nobody.pw_gid),
                          ("12345:23456", 12345, 23456)):
        vm, qt, qmp = start_vm(binary, ["-machine", "pc", "-runas", who,
                                        "-chroot", jail])
        try:
            check_eq(qmp.ret("query-status")["status"], "running", "runs")
            pid = vm.proc.pid
            check_eq(proc_ids(pid, "Uid"), [uid] * 4, who + ": every uid")
            check_eq(proc_ids(pid, "Gid"), [gid] * 4, who + ": every gid")
            if who == "12345:23456":
                check_eq(proc_ids(pid, "Groups"), [gid], "groups")
            check_eq(os.readlink("/proc/%d/root" % pid), jail, "chroot")
        finally:
            vm.close()
    os.rmdir(jail)


if __name__ == "__main__":
    run_tests([test_unknown_keys_and_values, test_help, test_acpi_off,
               test_hpet_and_i8042, test_mem_merge, test_runas_and_chroot])
