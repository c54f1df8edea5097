#!/usr/bin/env python3
"""NIC models on the command line (docs/net.md): QEMU 7.2's default NIC
(`-net nic -net user` on a pc without -nodefaults and without network
options), its absence with -nodefaults / -net none / -nic none / any
-netdev, the default model of -nic, and model=help.  Under -accel qtest."""
import os
import subprocess
import tempfile
from qmplib import Kvmpc, QMP, check, check_eq, no_kvm, run_tests

MODELS = ["e1000", "e1000-82544gc", "e1000-82545em", "e1000e", "rtl8139",
          "virtio-net-pci"]


def vm_with(binary, extra, machine="pc"):
    tmp = tempfile.mkdtemp(prefix="kvmpc-nic-")
    path = os.path.join(tmp, "qmp.sock")
    vm = Kvmpc(binary, ["-S", "-display", "none", "-machine", machine,
                        "-accel", "qtest", "-qmp",
                        "unix:%s,server=on,wait=off" % path] + extra,
               tmpdir=tmp, wait_sockets=[path])
    return vm, QMP(path)


def pci_ids(q):
    devs = q.ret("query-pci")[0]["devices"]
    return {(d["slot"], d["function"]): (d["id"]["vendor"], d["id"]["device"])
            for d in devs}


def info_network(q):
    return q.ret("human-monitor-command",
                 {"command-line": "info network"})


def has_slirp(binary):
    out = subprocess.run([binary, "-netdev", "help"], capture_output=True,
                         text=True, timeout=30).stdout
    return "\nuser\n" in "\n" + out


def nics(ids):
    return sorted(v for v in ids.values()
                  if v in [(0x8086, 0x100e), (0x8086, 0x10d3),
                           (0x10ec, 0x8139), (0x1af4, 0x1000)])


@no_kvm
def test_default_nic(binary):
    vm, q = vm_with(binary, [])
    try:
        ids = pci_ids(q)
        # VGA at 02.0, then the default e1000 at the first free slot
        check_eq(ids.get((3, 0)), (0x8086, 0x100e), "e1000 at 03.0")
        check_eq(nics(ids), [(0x8086, 0x100e)], "one NIC")
        net = info_network(q)
        check("hub 0" in net, "the NIC is on hub 0: " + net)
        check("e1000.0: index=0,type=nic,model=e1000,macaddr="
              "52:54:00:12:34:56" in net, "e1000.0 in info network: " + net)
        if has_slirp(binary):
            check("user.0: index=0,type=user,net=10.0.2.0" in net,
                  "user.0 in info network: " + net)
        else:
            check("type=user" not in net, "no user backend without slirp")
    finally:
        q.close()
        vm.close()


@no_kvm
def test_no_default_nic(binary):
    for extra in (["-nodefaults"], ["-net", "none"], ["-nic", "none"],
                  ["-netdev", "hubport,id=h0,hubid=3"]):
        vm, q = vm_with(binary, extra)
        try:
            check_eq(nics(pci_ids(q)), [], "no NIC with %s" % extra)
            check("e1000" not in info_network(q), "info network %s" % extra)
        finally:
            q.close()
            vm.close()


@no_kvm
def test_nic_models(binary):
    # -nic without model= is an e1000, as QEMU's pc; the default NIC is
    # not added next to it
    vm, q = vm_with(binary, ["-nic", "hubport,hubid=4"])
    try:
        check_eq(nics(pci_ids(q)), [(0x8086, 0x100e)], "-nic: one e1000")
    finally:
        q.close()
        vm.close()
    vm, q = vm_with(binary, ["-nodefaults", "-net", "nic,model=rtl8139",
                             "-nic", "hubport,hubid=5,model=virtio-net-pci"])
    try:
        check_eq(nics(pci_ids(q)), [(0x10ec, 0x8139), (0x1af4, 0x1000)],
                 "rtl8139 and virtio-net-pci")
        net = info_network(q)
        check("rtl8139.0: index=0,type=nic,model=rtl8139" in net, net)
    finally:
        q.close()
        vm.close()


@no_kvm
def test_q35_default_nic(binary):
    # QEMU's q35 default NIC is e1000e: the default network and -nic
    # without model= both make one; pc keeps e1000 (test_default_nic)
    vm, q = vm_with(binary, [], machine="q35")
    try:
        check_eq(nics(pci_ids(q)), [(0x8086, 0x10d3)], "q35: one e1000e")
        net = info_network(q)
        check("e1000e.0: index=0,type=nic,model=e1000e,macaddr="
              "52:54:00:12:34:56" in net, "e1000e.0 in info network: " + net)
    finally:
        q.close()
        vm.close()
    vm, q = vm_with(binary, ["-nic", "hubport,hubid=4"], machine="q35")
    try:
        check_eq(nics(pci_ids(q)), [(0x8086, 0x10d3)], "q35 -nic: e1000e")
    finally:
        q.close()
        vm.close()


@no_kvm
def test_model_help(binary):
    want = "Available NIC models:\n" + "".join(m + "\n" for m in MODELS)
    for args in (["-nic", "model=help"], ["-net", "nic,model=help"],
                 ["-nic", "user,model=?"]):
        p = subprocess.run([binary] + args, capture_output=True, text=True,
                           timeout=30)
        check_eq(p.returncode, 0, "exit status of %s" % args)
        check_eq(p.stdout, want, "%s lists the models" % args)
    p = subprocess.run([binary, "-nodefaults", "-accel", "qtest", "-display",
                        "none", "-nic", "user,model=ne2k_pci"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode != 0, "an unknown model fails")
    check("Unsupported NIC model: ne2k_pci" in p.stderr, p.stderr)


if __name__ == "__main__":
    run_tests([test_default_nic, test_no_default_nic, test_nic_models,
               test_q35_default_nic, test_model_help])
