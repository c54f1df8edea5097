#!/usr/bin/env python3
"""CPU models against QEMU 7.2 (Debian's qemu-system-x86_64, the behaviour
reference): for every model kvmpc offers, query-cpu-definitions must give
the same name, typename, alias-of, static and migration-safe as QEMU's,
and query-cpu-model-expansion (static and full) the same identity, levels
and features, for the features kvmpc knows (the accelerator-dependent
hypervisor, x2apic and KVM paravirt bits aside).  Runs under -accel qtest
(kvmpc) and -accel tcg (QEMU): no /dev/kvm needed."""
import json
import os
import shutil
import subprocess
import sys
from qmplib import (QMP, SKIP, TestFailure, check, check_eq, no_kvm,
                    run_tests, start_qmp_vm)

# Set by the accelerator, not by the model (QEMU's kvm_default_props /
# TCG's hypervisor bit).
ACCEL_DEPENDENT = {"hypervisor", "x2apic", "acpi", "monitor", "svm"}


class Qemu:
    """Debian's qemu-system-x86_64 -machine none, QMP on stdio."""

    def __init__(self, binary):
        self.proc = subprocess.Popen(
            [binary, "-machine", "none", "-accel", "tcg", "-nodefaults",
             "-display", "none", "-qmp", "stdio"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        json.loads(self.proc.stdout.readline())     # greeting
        self.ret("qmp_capabilities")

    def ret(self, name, args=None):
        req = {"execute": name}
        if args is not None:
            req["arguments"] = args
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        while True:
            msg = json.loads(self.proc.stdout.readline())
            if "return" in msg:
                return msg["return"]
            check("error" not in msg, "QEMU %s: %r" % (name, msg))

    def close(self):
        self.proc.stdin.close()
        self.proc.kill()
        self.proc.wait()


# QEMU's expansion also lists its other spellings of a feature.
ALIASES = {"sse3": "pni", "sse4-1": "sse4.1", "sse4-2": "sse4.2",
           "pclmuldq": "pclmulqdq", "xd": "nx", "ffxsr": "fxsr-opt",
           "i64": "lm", "hv": "hypervisor"}
# Boolean properties of QEMU's x86 CPU that are not CPUID/MSR feature
# flags (or that kvmpc does not model: the VMX capability MSRs, docs/cpu.md).
NOT_FEATURES = {"check", "enforce", "kvm", "l3-cache", "legacy-cache",
                "migratable", "pmu", "cpuid-0xb", "fill-mtrr-mask",
                "full-cpuid-auto-level", "tcg-cpuid", "vmware-cpuid-freq",
                "host-cache-info", "host-phys-bits", "lmce", "kvm-no-smi-migration",
                "x-vendor-cpuid-only", "x-migrate-smi-count",
                "x-intel-pt-auto-level", "x-force-features", "x-hv-synic-kvm-only",
                "kvm-pv-enforce-cpuid", "check-cpuid"}
# The qtest stand-in host lacks these (target/i386/cpu.c).
QTEST_HOST_LACKS = {"mpx", "pcommit", "avx512pf", "avx512er",
                    "avx512-4vnniw", "avx512-4fmaps"}


def canonical(name):
    name = name.replace("_", "-")
    return ALIASES.get(name, name)


def compare_expansion(name, kind, mine, ref):
    """Every feature flag both know agrees; every feature QEMU's model has
    on is one kvmpc knows."""
    theirs = {}
    for key, val in ref["props"].items():
        if isinstance(val, bool):
            theirs[canonical(key)] = theirs.get(canonical(key), False) or val
    for key, val in mine["props"].items():
        if not isinstance(val, bool) or key in ACCEL_DEPENDENT or \
                key.startswith("kvm"):
            continue
        check_eq(val, theirs.get(key, False),
                 "%s %s expansion: %s" % (name, kind, key))
    for key, val in theirs.items():
        if val and key not in mine["props"] and key not in NOT_FEATURES \
                and not key.startswith("vmx-") and not key.startswith("x-"):
            check(False, "%s %s: QEMU has %s on, kvmpc does not know it"
                  % (name, kind, key))
    for key in ("vendor", "family", "model", "stepping", "model-id"):
        check_eq(mine["props"][key], ref["props"][key],
                 "%s %s %s" % (name, kind, key))
    levels = ("level", "xlevel") if kind == "full" else \
        ("min-level", "min-xlevel")
    for key in levels:
        check_eq(mine["props"][key], ref["props"][key],
                 "%s %s %s" % (name, kind, key))


@no_kvm
def test_against_qemu(binary):
    qemu_bin = shutil.which("qemu-system-x86_64")
    if not qemu_bin:
        print("SKIP test_against_qemu: qemu-system-x86_64 is not installed")
        return
    vm, paths = start_qmp_vm(binary, extra=["-accel", "qtest"])
    qemu = Qemu(qemu_bin)
    try:
        q = QMP(paths[0])
        ours = {d["name"]: d for d in q.ret("query-cpu-definitions")}
        theirs = {d["name"]: d for d in qemu.ret("query-cpu-definitions")}
        # every model and alias QEMU 7.2 has (but its static "base")
        for name in sorted(theirs):
            if name not in ("base", "host"):
                check(name in ours, "kvmpc lacks QEMU 7.2's model %s" % name)
        named = [n for n, d in ours.items() if n not in ("max", "host")]
        check(len(named) >= 129, "named models: %d" % len(named))
        for name in sorted(ours):
            check(name in theirs, "QEMU 7.2 has no model %s" % name)
            mine, ref = dict(ours[name]), dict(theirs[name])
            unavailable = mine.pop("unavailable-features")
            ref.pop("unavailable-features", None)
            check_eq(mine, ref, "query-cpu-definitions %s" % name)
            if name in ("max", "host"):
                continue
            full = qemu.ret("query-cpu-model-expansion",
                            {"type": "full", "model": {"name": name}})
            want = sorted(k for k, v in full["model"]["props"].items()
                          if v is True and k in QTEST_HOST_LACKS)
            check_eq(sorted(unavailable), want,
                     "%s unavailable on the qtest host" % name)
        for name in sorted(named):
            for kind in ("static", "full"):
                args = {"type": kind, "model": {"name": name}}
                mine = q.ret("query-cpu-model-expansion", args)["model"]
                ref = qemu.ret("query-cpu-model-expansion", args)["model"]
                check_eq(mine["name"], ref["name"], "%s %s name" % (name, kind))
                compare_expansion(name, kind, mine, ref)
        # Property changes apply, and a bad property is refused.
        m = q.ret("query-cpu-model-expansion",
                  {"type": "full", "model": {"name": "kvm64",
                                             "props": {"nx": False,
                                                       "sse4.1": True}}})["model"]
        check_eq((m["props"]["nx"], m["props"]["sse4.1"]), (False, True),
                 "props applied")
        err = q.error("query-cpu-model-expansion",
                      {"type": "full", "model": {"name": "nosuch"}})
        check_eq(err["class"], "GenericError", "unknown model")
        err = q.error("query-cpu-model-expansion",
                      {"type": "full", "model": {"name": "kvm64",
                                                 "props": {"nosuch": True}}})
        check_eq(err["class"], "GenericError", "unknown property")
    finally:
        qemu.close()
        vm.close()


def test_unavailable_under_kvm(binary):
    """Under KVM on this host: every model's unavailable-features is the
    set Debian's QEMU 7.2 reports under KVM on the same host (QEMU's KVM
    defaults switch acpi, monitor and svm off for named models, and SVM's
    features need svm)."""
    qemu_bin = shutil.which("qemu-system-x86_64")
    if not qemu_bin:
        print("SKIP test_unavailable_under_kvm: qemu-system-x86_64 is not "
              "installed")
        return
    script = ('{"execute":"qmp_capabilities"}\n'
              '{"execute":"query-cpu-definitions"}\n{"execute":"quit"}\n')

    def definitions(argv):
        r = subprocess.run(argv + ["-accel", "kvm", "-S", "-nodefaults",
                                   "-display", "none", "-qmp", "stdio"],
                           input=script, capture_output=True, text=True,
                           timeout=60)
        for line in r.stdout.splitlines():
            msg = json.loads(line)
            if isinstance(msg.get("return"), list):
                return {d["name"]: set(d.get("unavailable-features", []))
                        for d in msg["return"]}
        raise TestFailure("no query-cpu-definitions from %s: %s"
                          % (argv[0], r.stderr[-500:]))
    theirs = definitions([qemu_bin, "-machine", "pc"])
    mine = definitions([binary, "-machine", "pc"])
    for name in sorted(mine):
        if name in ("host", "max"):
            continue
        check_eq(sorted(mine[name]), sorted(theirs.get(name, set())),
                 "%s unavailable-features under KVM" % name)


@no_kvm
def test_cpu_help(binary):
    out = subprocess.run([binary, "-cpu", "help"], capture_output=True,
                         text=True, timeout=30).stdout
    for name in ("kvm64", "kvm64-v1", "kvm32", "qemu32-v1", "qemu64"):
        check(("x86 %s " % name) in out, "-cpu help lists %s" % name)
    # Every name QEMU 7.2's -cpu help lists (but its static "base"), and
    # no other: SapphireRapids, EPYC-v4 and friends came after 7.2.
    qemu_bin = shutil.which("qemu-system-x86_64")
    if qemu_bin:
        ref = subprocess.run([qemu_bin, "-machine", "none", "-accel", "tcg",
                              "-cpu", "help"], capture_output=True,
                             text=True, timeout=30).stdout

        def names(text):
            return {line.split()[1] for line in text.splitlines()
                    if line.startswith("x86 ") and len(line.split()) > 1}
        check_eq(sorted(names(out)), sorted(names(ref) - {"base"}),
                 "-cpu help names against QEMU 7.2's")
        check("SapphireRapids" not in names(out), "no post-7.2 model")
    else:
        print("SKIP -cpu help comparison: qemu-system-x86_64 is not installed")
    # -cpu NAME-v1 is accepted like NAME (under qtest nothing runs it).
    r = subprocess.run([binary, "-accel", "qtest", "-cpu", "kvm64-v1,-nx",
                        "-nodefaults", "-display", "none", "-machine",
                        "pc", "-version"], capture_output=True, text=True,
                       timeout=30)
    check_eq(r.returncode, 0, "-cpu kvm64-v1: %s" % r.stderr)


if __name__ == "__main__":
    run_tests([test_against_qemu, test_unavailable_under_kvm, test_cpu_help])
