#!/usr/bin/env python3
"""The CPUID leaves a vCPU gets, read under -accel qtest with kvmpc's
"info cpuid" (the table is built as for KVM, against the qtest stand-in
host of target/i386/cpu.c):

- topology (leaves 1, 4, 0xb, 0x1f, 0x80000008, 0x8000001e) for several
  -smp shapes, compared with what Debian's QEMU 7.2 gives its boot CPU
  under TCG: a 64 KiB "BIOS" (below) runs CPUID on a list of leaves and
  writes the registers to COM1;
- the cache and TLB leaves (2, 4, 0x80000005, 0x80000006, 0x8000001d,
  every subleaf) the same way, for those shapes and for one model of
  every class of models whose cache leaves could differ, with
  l3-cache=, legacy-cache= and host-cache-info=; under KVM, -cpu host
  against QEMU 7.2's -cpu host on the same host;
- the KVM paravirt leaves (0x40000001 switches, kvm=off) and the Hyper-V
  leaves 0x40000000-0x4000000A against the Hyper-V TLFS v6.0b and Linux
  Documentation/virt/kvm/x86/cpuid.rst (QEMU's TCG builds neither);
- -cpu ...,enforce|check against the stand-in host, agreeing with
  query-cpu-definitions' unavailable-features;
- QEMU's errors for Hyper-V dependencies and -smp."""
import concurrent.futures
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
from qmplib import (QMP, check, check_eq, no_kvm, run_tests, start_qmp_vm)

# The BIOS: at reset (f000:fff0) a far jump to f000:0000, where
#     cli; mov %cs,%ax; mov %ax,%ds; mov $table,%si
# 1:  mov (%si),%eax; cmp $-1,%eax; je 2f; mov 4(%si),%ecx; cpuid
#     mov %edx,%edi; eax, ebx, ecx, edi each out byte by byte to 0x3f8
#     add $8,%si; jmp 1b
# 2:  out 'Z' to 0x3f8; hlt
# and the table of (leaf, subleaf) dword pairs follows the code.
BIOS_CODE = bytes.fromhex(
    "fa8cc88ed8be4d00668b046683f8ff7423668b4c040fa26689d7e820006689d8e81a"
    "006689c8e814006689f8e80e0083c608ebd4baf803b05aeef4ebfd51b90400baf803"
    "ee66c1e808e2f959c3")
LEAVES = [(0, 0), (1, 0), (2, 0), (4, 0), (4, 1), (4, 2), (4, 3), (4, 4),
          (0xb, 0), (0xb, 1), (0xb, 2), (0x1f, 0), (0x1f, 1), (0x1f, 2),
          (0x1f, 3), (0x80000000, 0), (0x80000001, 0), (0x80000005, 0),
          (0x80000006, 0), (0x80000008, 0), (0x8000001d, 0), (0x8000001d, 1),
          (0x8000001d, 2), (0x8000001d, 3), (0x8000001d, 4), (0x8000001e, 0)]
SHAPES = [
    ("Skylake-Client", "24,sockets=2,dies=2,cores=3,threads=2"),
    ("Skylake-Client", "6,sockets=1,cores=3,threads=2"),
    ("Cascadelake-Server", "8,maxcpus=16,sockets=2,cores=4,threads=2"),
    ("qemu64", "4,sockets=4"),
    ("EPYC", "12,sockets=2,cores=3,threads=2"),
    ("EPYC-Rome", "16,sockets=1,dies=2,cores=4,threads=2"),
]


def qemu_start(tmp, model, smp, accel="tcg"):
    img = BIOS_CODE + b"".join(struct.pack("<II", a, b) for a, b in LEAVES)
    img += struct.pack("<I", 0xffffffff)
    img = img.ljust(0xfff0, b"\xf4") + bytes([0xea, 0, 0, 0, 0xf0])
    img = img.ljust(0x10000, b"\xf4")
    bios = os.path.join(tmp, "bios")
    with open(bios, "wb") as f:
        f.write(img)
    out = os.path.join(tmp, "out")
    proc = subprocess.Popen(
        ["qemu-system-x86_64", "-accel", accel, "-cpu", model, "-smp", smp,
         "-nodefaults", "-display", "none", "-monitor", "none",
         "-bios", bios, "-chardev", "file,id=s,path=" + out,
         "-serial", "chardev:s"], stderr=subprocess.DEVNULL)
    return proc, out


def qemu_finish(proc, out, may_not_start=False):
    """QEMU's dump; with @may_not_start, None if QEMU exited without one
    (it could not start here)."""
    want = 16 * len(LEAVES) + 1
    end = time.time() + 60
    data = b""
    while time.time() < end:
        exited = proc.poll() is not None
        if os.path.exists(out):
            with open(out, "rb") as f:
                data = f.read()
            if len(data) >= want:
                break
        if exited and may_not_start:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    if may_not_start and len(data) < want:
        return None
    check(len(data) >= want and data[want - 1:want] == b"Z",
          "QEMU's CPUID dump incomplete: %d bytes" % len(data))
    return {LEAVES[i]: struct.unpack("<IIII", data[16 * i:16 * i + 16])
            for i in range(len(LEAVES))}


def info_cpuid(q, cpu=0):
    text = q.ret("human-monitor-command",
                 {"command-line": "info cpuid %d" % cpu})
    leaves, msrs = {}, {}
    for line in text.splitlines():
        if line.startswith("MSR "):
            idx, val = line[4:].split(": ")
            msrs[int(idx, 16)] = int(val, 16)
            continue
        head, regs = line.split(": ")
        fn, idx = (int(x, 16) for x in head.split())
        leaves[(fn, idx)] = tuple(int(r.split("=")[1], 16)
                                  for r in regs.split())
    return leaves, msrs


def kvmpc_cpuid(binary, cpu_args, cpu=0):
    vm, paths = start_qmp_vm(binary, extra=["-accel", "qtest"] + cpu_args)
    try:
        return info_cpuid(QMP(paths[0]), cpu)
    finally:
        vm.close()


def topology_view(leaves, amd):
    """The topology fields of a CPUID dump (cache geometry and features
    aside, which depend on the host)."""
    level = leaves[(0, 0)][0]
    xlevel = leaves[(0x80000000, 0)][0]
    v = {"level": level,
         "1.ebx": leaves[(1, 0)][1] & 0xffffff00,
         "1.htt": leaves[(1, 0)][3] >> 28 & 1,
         "80000008.ecx": leaves[(0x80000008, 0)][2]}
    if not amd:
        for i in range(4):
            v["4.%d.eax" % i] = leaves[(4, i)][0] >> 14
    for i in range(3):
        v["b.%d" % i] = leaves[(0xb, i)]
    if level >= 0x1f:
        for i in range(4):
            v["1f.%d" % i] = leaves[(0x1f, i)]
    if amd and xlevel >= 0x8000001e and leaves[(0x80000001, 0)][2] >> 22 & 1:
        v["8000001e"] = leaves[(0x8000001e, 0)]
        v["cmp-legacy"] = leaves[(0x80000001, 0)][2] >> 1 & 1
    return v


def cache_view(leaves):
    """The cache and TLB leaves a guest can read: 2, 4 (every subleaf to
    the empty one), 0x80000005, 0x80000006 and 0x8000001d, where the
    basic and extended levels reach them (a leaf kvmpc's table lacks is
    read as zeros, as KVM answers in range)."""
    zero = (0, 0, 0, 0)
    level = leaves.get((0, 0), zero)[0]
    xlevel = leaves.get((0x80000000, 0), zero)[0]
    xlevel = xlevel if xlevel >= 0x80000000 else 0
    keys = []
    if level >= 2:
        keys.append((2, 0))
    if level >= 4:
        keys += [(4, i) for i in range(5)]
    keys += [(f, 0) for f in (0x80000005, 0x80000006) if xlevel >= f]
    if xlevel >= 0x8000001d:
        keys += [(0x8000001d, i) for i in range(5)]
    return {"%x.%d" % k: leaves.get(k, zero) for k in keys}


def compare_views(got, want, what):
    check_eq(sorted(got), sorted(want), "%s: leaves present" % what)
    for key in want:
        check_eq(tuple("%08x" % r for r in got.get(key, (0, 0, 0, 0))),
                 tuple("%08x" % r for r in want[key]), "%s: %s" % (what, key))


@no_kvm
def test_topology_against_qemu(binary):
    if not shutil.which("qemu-system-x86_64"):
        print("SKIP test_topology_against_qemu: no qemu-system-x86_64")
        return
    tmps = [tempfile.mkdtemp(prefix="kvmpc-cpuid-") for _ in SHAPES]
    runs = [qemu_start(tmp, m, s) for tmp, (m, s) in zip(tmps, SHAPES)]
    try:
        for (model, smp), run in zip(SHAPES, runs):
            ref = qemu_finish(*run)
            amd = ref[(0, 0)][1] == 0x68747541
            mine, _ = kvmpc_cpuid(binary, ["-cpu", model, "-smp", smp])
            want = topology_view(ref, amd)
            got = topology_view(mine, amd)
            for key in want:
                check_eq(got.get(key), want[key],
                         "%s -smp %s: %s" % (model, smp, key))
            compare_views(cache_view(mine), cache_view(ref),
                          "%s -smp %s" % (model, smp))
    finally:
        for proc, _ in runs:
            proc.kill()
            proc.wait()
        for tmp in tmps:
            shutil.rmtree(tmp, ignore_errors=True)


# The cache leaves against QEMU 7.2 beyond SHAPES: (kvmpc's -cpu, QEMU's
# -cpu or None for the same, -smp).  With SHAPES they cover every class of
# model test_cache_leaves_against_qemu finds, and the options: l3-cache=off
# (Intel and AMD), -topoext, legacy-cache=on over a model's own caches and an
# explicit legacy-cache=off, and host's QEMU tables (host-cache-info off,
# its default and explicit) against QEMU's max made the qtest stand-in
# host's vendor and levels.
STAND_IN_AS_QEMU = ("max,host-cache-info=off,vendor=GenuineIntel,"
                    "level=31,xlevel=0x8000000a")
CACHE_CASES = [
    ("486", None, "1"),
    ("pentium2", None, "2"),
    ("qemu32", None, "1"),
    ("athlon", None, "2"),
    ("EPYC-Milan", None, "8,sockets=2,cores=2,threads=2"),
    ("Dhyana,legacy-cache=off", None, "8,cores=4,threads=2"),
    ("Skylake-Server,l3-cache=off", None, "4,cores=4"),
    ("EPYC-Rome,legacy-cache=on,l3-cache=off", None, "6,cores=3,threads=2"),
    ("EPYC,-topoext", None, "4,cores=2,threads=2"),     # 0x8000001d stays
    # leaves 2 and 4 of Zen 3's caches (an L3 without a leaf 2 descriptor)
    ("EPYC-Milan,vendor=GenuineIntel", None, "8,cores=8"),
    ("host,host-cache-info=off", STAND_IN_AS_QEMU, "4,cores=2,threads=2"),
    ("host", STAND_IN_AS_QEMU, "4,cores=2,threads=2"),
]
# Options that leave a model in its class (its own caches are the default).
CLASS_KEEPING = {"legacy-cache=off"}


def cache_class(props, name):
    """What decides a named model's cache leaves in QEMU 7.2: the vendor
    (AuthenticAMD gets no leaves 2 and 4), which of leaves 2, 4,
    0x80000005, 0x80000006 and 0x8000001d its levels reach, and whose
    caches (QEMU's legacy tables, or the model family's own)."""
    level, xlevel = props["level"], props["xlevel"]
    return (props["vendor"],
            sum(level >= f for f in (2, 4)),
            sum(xlevel >= f for f in (0x80000005, 0x80000006, 0x8000001d)),
            None if props["legacy-cache"] else name.rsplit("-v", 1)[0])


def model_classes(binary):
    """{class: [models]} for every named model, from kvmpc's full
    expansion (which qmp-cpu_models checks equal to QEMU 7.2's for every
    model: vendor, levels, features and legacy-cache)."""
    vm, paths = start_qmp_vm(binary, extra=["-accel", "qtest"])
    try:
        q = QMP(paths[0])
        classes, alias = {}, {}
        for d in q.ret("query-cpu-definitions"):
            if d.get("alias-of"):
                alias[d["name"]] = d["alias-of"]
                continue
            if d["name"] in ("host", "max"):
                continue
            props = q.ret("query-cpu-model-expansion",
                          {"type": "full",
                           "model": {"name": d["name"]}})["model"]["props"]
            classes.setdefault(cache_class(props, d["name"]),
                               []).append(d["name"])
        return classes, alias
    finally:
        vm.close()


@no_kvm
def test_cache_leaves_against_qemu(binary):
    """Leaves 2, 4, 0x80000005, 0x80000006 and 0x8000001d (all subleaves)
    against QEMU 7.2 under TCG for one model of every class and the
    cache options; the sharing fields follow -smp in both."""
    if not shutil.which("qemu-system-x86_64"):
        print("SKIP test_cache_leaves_against_qemu: no qemu-system-x86_64")
        return
    classes, alias = model_classes(binary)
    covered = set()
    for spec, qemu_spec, _ in [(m, None, s) for m, s in SHAPES] + CACHE_CASES:
        name, *opts = spec.split(",")
        if qemu_spec is None and set(opts) <= CLASS_KEEPING:
            name = alias.get(name, name)
            covered |= {c for c, models in classes.items() if name in models}
    for c, models in sorted(classes.items(), key=repr):
        check(c in covered, "no case covers the cache class %r of %s"
              % (c, ", ".join(models)))
    tmps = [tempfile.mkdtemp(prefix="kvmpc-cache-") for _ in CACHE_CASES]
    runs = [qemu_start(tmp, qemu_spec or spec, smp)
            for tmp, (spec, qemu_spec, smp) in zip(tmps, CACHE_CASES)]
    try:
        # kvmpc's tables are read while QEMU's BIOSes run
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            mine = list(pool.map(
                lambda case: kvmpc_cpuid(binary, ["-cpu", case[0],
                                                  "-smp", case[2]])[0],
                CACHE_CASES))
        for (spec, _, smp), run, leaves in zip(CACHE_CASES, runs, mine):
            ref = qemu_finish(*run)
            compare_views(cache_view(leaves), cache_view(ref),
                          "-cpu %s -smp %s" % (spec, smp))
    finally:
        for proc, _ in runs:
            proc.kill()
            proc.wait()
        for tmp in tmps:
            shutil.rmtree(tmp, ignore_errors=True)


def test_host_cache_info_under_kvm(binary):
    """-cpu host under KVM against QEMU 7.2 under KVM on the same host:
    QEMU's tables by default (host-cache-info is off in 7.2), and with
    host-cache-info=on the host's cache leaves with leaf 4's core count
    the guest's.  QEMU's -cpu host needs arch-capabilities=off to start
    on the development hosts (its MSR 0x10a write fails there)."""
    if not shutil.which("qemu-system-x86_64"):
        print("SKIP test_host_cache_info_under_kvm: no qemu-system-x86_64")
        return
    smp = "4,cores=2,threads=2"
    cases = ("", ",host-cache-info=on")
    tmps = [tempfile.mkdtemp(prefix="kvmpc-cache-") for _ in cases]
    runs = [qemu_start(tmp, "host,arch-capabilities=off" + opts, smp, "kvm")
            for tmp, opts in zip(tmps, cases)]
    try:
        for opts, run in zip(cases, runs):
            ref = qemu_finish(*run, may_not_start=True)
            if ref is None:
                print("SKIP test_host_cache_info_under_kvm: QEMU 7.2's "
                      "-cpu host%s does not start under this host's KVM"
                      % opts)
                return
            vm, paths = start_qmp_vm(binary, extra=[
                "-accel", "kvm", "-cpu", "host" + opts, "-smp", smp])
            try:
                mine, _ = info_cpuid(QMP(paths[0]))
            finally:
                vm.close()
            compare_views(cache_view(mine), cache_view(ref),
                          "-accel kvm -cpu host" + opts)
    finally:
        for proc, _ in runs:
            proc.kill()
            proc.wait()
        for tmp in tmps:
            shutil.rmtree(tmp, ignore_errors=True)


@no_kvm
def test_apic_ids(binary):
    """Each vCPU's leaf 0xb EDX and leaf 1 EBX[31:24] is its APIC ID, laid
    out [socket | die | core | thread] with power-of-two fields (SDM vol.
    3A 10.4.8): for dies=2 cores=3 threads=2, CPU 7 is socket 0, die 1,
    core 0, thread 1 -> 1 << 3 | 0 << 1 | 1 = 9; CPU 12 is socket 1 ->
    1 << 4 = 16."""
    smp = "24,sockets=2,dies=2,cores=3,threads=2"
    vm, paths = start_qmp_vm(binary, extra=["-accel", "qtest", "-cpu",
                                            "Skylake-Client", "-smp", smp])
    try:
        q = QMP(paths[0])
        for cpu, apic in ((0, 0), (1, 1), (2, 2), (6, 8), (7, 9), (12, 16),
                          (23, 16 + 8 + 4 + 1)):
            leaves, _ = info_cpuid(q, cpu)
            check_eq(leaves[(0xb, 0)][3], apic, "CPU %d x2APIC id" % cpu)
            check_eq(leaves[(1, 0)][1] >> 24, apic, "CPU %d APIC id" % cpu)
            check_eq(leaves[(0x1f, 2)][3], apic, "CPU %d 0x1f EDX" % cpu)
        text = q.ret("human-monitor-command",
                     {"command-line": "info cpuid 24"})
        check("invalid CPU index" in text, "cpu 24 refused: %r" % text)
    finally:
        vm.close()


KVM_SIG = (0x4b4d564b, 0x564b4d56, 0x4d)   # "KVMKVMKVM\0\0\0"


@no_kvm
def test_kvm_pv_leaves(binary):
    # QEMU's defaults under KVM: kvmclock (bits 0 and 3), nopiodelay (1),
    # asyncpf (4), steal-time (5), pv-eoi (6), kvmclock-stable-bit (24)
    leaves, _ = kvmpc_cpuid(binary, ["-cpu", "qemu64"])
    check_eq(leaves[(0x40000000, 0)], (0x40000001,) + KVM_SIG,
             "KVM signature leaf")
    check_eq(leaves[(0x40000001, 0)][0], 0x0100007b, "default pv features")
    leaves, _ = kvmpc_cpuid(binary, [
        "-cpu", "qemu64,kvm-pv-unhalt=on,+kvm-pv-tlb-flush,kvm-pv-ipi,"
        "kvm-poll-control=on,kvm-pv-sched-yield=on,kvm-asyncpf-int=on,"
        "kvm-msi-ext-dest-id=on,-kvmclock,kvm-steal-time=off,"
        "-kvmclock-stable-bit,kvm-nopiodelay=off,kvm_asyncpf=off"])
    # cpuid.rst: PV_UNHALT 7, PV_TLB_FLUSH 9, PV_SEND_IPI 11,
    # POLL_CONTROL 12, PV_SCHED_YIELD 13, ASYNC_PF_INT 14, MSI_EXT_DEST_ID 15
    want = (1 << 6) | (1 << 7) | (1 << 9) | (1 << 11) | (1 << 12) | \
        (1 << 13) | (1 << 14) | (1 << 15)
    check_eq(leaves[(0x40000001, 0)][0], want, "switched pv features")
    leaves, _ = kvmpc_cpuid(binary, ["-cpu", "qemu64,kvm=off"])
    check((0x40000000, 0) not in leaves and (0x40000001, 0) not in leaves,
          "kvm=off hides the KVM leaves")


HV_VENDOR = (0x7263694d, 0x666f736f, 0x76482074)    # "Microsoft Hv"


@no_kvm
def test_hyperv_leaves(binary):
    leaves, _ = kvmpc_cpuid(binary, [
        "-cpu", "Skylake-Client,hv-relaxed,hv-vapic,hv-spinlocks=0x1fff,"
        "hv-vpindex,hv-runtime,hv-synic,hv-stimer,hv-time,hv-frequencies,"
        "hv-reset,hv-tlbflush,hv-ipi,hv-crash", "-smp", "4,maxcpus=8"])
    check_eq(leaves[(0x40000000, 0)], (0x40000005,) + HV_VENDOR,
             "Hyper-V vendor leaf")
    check_eq(leaves[(0x40000001, 0)], (0x31237648, 0, 0, 0), "Hv#1")
    check_eq(leaves[(0x40000002, 0)], (14393, 10 << 16, 0, 0), "version")
    # TLFS 2.4.4: VP runtime 0, time ref count 1, SynIC 2, synthetic
    # timers 3, APIC MSRs 4, hypercall MSRs 5, VP index 6, reset 7,
    # reference TSC 9, frequency MSRs 11; EBX PostMessages 4, SignalEvents
    # 5; EDX dynamic partitioning 3, frequency MSRs 8, crash MSRs 10
    eax = 0b1011111111 | (1 << 11)
    check_eq(leaves[(0x40000003, 0)],
             (eax, (1 << 4) | (1 << 5), 0, (1 << 3) | (1 << 8) | (1 << 10)),
             "partition privileges and features")
    # TLFS 2.4.5: remote TLB flush 2, APIC MSRs 3, relaxed timing 5,
    # cluster IPI 10, ExProcessorMasks 11; EBX the spinlock retries
    hints = (1 << 2) | (1 << 3) | (1 << 5) | (1 << 10) | (1 << 11)
    check_eq(leaves[(0x40000004, 0)], (hints, 0x1fff, 0, 0),
             "recommendations")
    check_eq(leaves[(0x40000005, 0)], (8, 0x40, 0, 0), "limits")
    check((0x4000000a, 0) not in leaves, "no nested leaf without hv-evmcs")
    # KVM's leaves moved above Hyper-V's, as QEMU does
    check_eq(leaves[(0x40000100, 0)], (0x40000101,) + KVM_SIG,
             "KVM signature at 0x40000100")
    check_eq(leaves[(0x40000101, 0)][0], 0x0100007b, "KVM features moved")

    leaves, _ = kvmpc_cpuid(binary, [
        "-cpu", "qemu64,hv-vapic,hv-evmcs,hv-vendor-id=KVMtest,kvm=off"])
    check_eq(leaves[(0x40000000, 0)],
             (0x4000000a, 0x744d564b, 0x747365, 0), "vendor id, nested max")
    check_eq(leaves[(0x40000004, 0)][0], (1 << 3) | (1 << 14),
             "enlightened VMCS recommended")
    check_eq(leaves[(0x4000000a, 0)][0], 0x0101, "eVMCS version")
    check((0x40000100, 0) not in leaves, "kvm=off hides the moved leaves")

    leaves, _ = kvmpc_cpuid(binary, ["-cpu",
                                     "qemu64,hv-passthrough,hv-evmcs=off"])
    check_eq(leaves[(0x40000003, 0)][0], 0b1011111111 | (1 << 11) | (1 << 13),
             "hv-passthrough: every enlightenment")
    check_eq(leaves[(0x40000000, 0)][0], 0x40000005, "evmcs switched off")


def start_fails(binary, cpu_args):
    r = subprocess.run([binary, "-accel", "qtest", "-S", "-nodefaults",
                        "-display", "none", "-machine", "pc", "-qmp",
                        "stdio"] + cpu_args,
                       input='{"execute":"qmp_capabilities"}\n'
                             '{"execute":"quit"}\n',
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stderr


@no_kvm
def test_hyperv_dependencies(binary):
    for opts, msg in (
            ("hv-synic", "Hyper-V synthetic interrupt controller (requested "
             "by 'hv-synic' cpu flag) requires Hyper-V VP_INDEX MSR "
             "('hv-vpindex')"),
            ("hv-vpindex,hv-synic,hv-stimer",
             "Hyper-V synthetic timers (requested by 'hv-stimer' cpu flag) "
             "requires Hyper-V clocksource ('hv-time')"),
            ("hv-tlbflush", "Hyper-V paravirtualized TLB flush (requested "
             "by 'hv-tlbflush' cpu flag) requires Hyper-V VP_INDEX MSR "
             "('hv-vpindex')"),
            ("hv-evmcs", "Hyper-V enlightened VMCS (requested by 'hv-evmcs' "
             "cpu flag) requires Hyper-V virtual APIC ('hv-vapic')"),
            ("hv-passthrough,hv-vpindex=off", "requires Hyper-V VP_INDEX"),
            ("hv-spinlocks=x", "Parameter 'hv-spinlocks' expects uint32_t"),
            ("hv-nosuch", "Property 'hv-nosuch' not found")):
        rc, err = start_fails(binary, ["-cpu", "qemu64," + opts])
        check(rc != 0 and msg in err, "-cpu qemu64,%s: rc %d %r"
              % (opts, rc, err))


def kvm_has_cap(cap):
    """KVM_CHECK_EXTENSION on /dev/kvm (_IO(KVMIO, 0x03))."""
    import fcntl
    fd = os.open("/dev/kvm", os.O_RDWR)
    try:
        return fcntl.ioctl(fd, 0xae03, cap) > 0
    finally:
        os.close(fd)


def test_hyperv_needs_host_support(binary):
    """Under KVM, hv-* flags need the host's Hyper-V emulation
    (KVM_CAP_HYPERV, 44; hv-time KVM_CAP_HYPERV_TIME, 48): without it the
    guest would fault on every Hyper-V MSR its CPUID offers, so kvmpc
    refuses the flags with one line (the development hosts' PVM KVM has
    none; on a host that has it the VM starts)."""
    r = subprocess.run([binary, "-accel", "kvm", "-S", "-nodefaults",
                        "-display", "none", "-machine", "pc",
                        "-cpu", "qemu64,hv-time", "-qmp", "stdio"],
                       input='{"execute":"qmp_capabilities"}\n'
                             '{"execute":"quit"}\n',
                       capture_output=True, text=True, timeout=30)
    if kvm_has_cap(44) and kvm_has_cap(48):
        check(r.returncode == 0, "hv-time on a Hyper-V capable KVM: rc %d "
              "%r" % (r.returncode, r.stderr))
    else:
        check(r.returncode != 0 and
              ("not supported by this host's KVM" in r.stderr or
               "not supported by kernel" in r.stderr),
              "hv-time without KVM's Hyper-V: rc %d %r" % (r.returncode,
                                                          r.stderr))


def test_invtsc_blocks_migration(binary):
    """Under KVM: host leaves the invariant TSC out (migratable=on, QEMU's
    default) and migrates; migratable=off (or +invtsc) gives it and
    blocks migration with QEMU's reason.  Where the host's KVM has no
    invtsc, migratable=off changes nothing and nothing is blocked."""
    def migrate_answer(cpu):
        r = subprocess.run(
            [binary, "-accel", "kvm", "-S", "-nodefaults", "-display",
             "none", "-machine", "pc", "-m", "64", "-cpu", cpu,
             "-qmp", "stdio"],
            input='{"execute":"qmp_capabilities"}\n'
                  '{"execute":"migrate","arguments":'
                  '{"uri":"exec:cat > /dev/null"}}\n'
                  '{"execute":"quit"}\n',
            capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "-cpu %s: rc %d %r" % (cpu, r.returncode,
                                                         r.stderr))
        replies = [json.loads(line) for line in r.stdout.splitlines()
                   if line.strip()]
        return [x for x in replies if "return" in x or "error" in x][1]
    reason = "State blocked by non-migratable CPU device (invtsc flag)"
    host_has = subprocess.run(
        [binary, "-accel", "kvm", "-S", "-nodefaults", "-display", "none",
         "-machine", "pc", "-cpu", "host,+invtsc,enforce", "-qmp", "stdio"],
        input='{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n',
        capture_output=True, text=True, timeout=30).returncode == 0
    check_eq(migrate_answer("host"), {"return": {}}, "host migrates")
    for cpu in ("host,migratable=off", "max,migratable=off",
                "host,+invtsc"):
        got = migrate_answer(cpu)
        if host_has:
            check(got.get("error", {}).get("desc") == reason,
                  "-cpu %s: %r" % (cpu, got))
        else:
            check_eq(got, {"return": {}}, "-cpu %s without host invtsc"
                     % cpu)
    if not host_has:
        print("note: this host's KVM has no invtsc; the blocker was not "
              "exercised")


@no_kvm
def test_shape_properties(binary):
    """pmu=, phys-bits=, host-phys-bits(-limit)=, l3-cache= and
    host-cache-info= as QEMU 7.2 applies them, on the qtest stand-in host
    (48-bit, a v2 PMU, its own L3 in leaf 4 subleaf 3)."""
    def cpuid(cpu):
        return kvmpc_cpuid(binary, ["-cpu", cpu])[0]
    host, named = cpuid("host"), cpuid("Skylake-Client")
    check(host[(0xa, 0)][0] != 0, "host: PMU leaf %r" % (host[(0xa, 0)],))
    check_eq(named[(0xa, 0)], (0, 0, 0, 0), "named model: pmu=off")
    check(cpuid("Skylake-Client,pmu=on")[(0xa, 0)][0] != 0, "pmu=on")
    check_eq(cpuid("host,pmu=off")[(0xa, 0)], (0, 0, 0, 0), "host,pmu=off")
    for cpu, bits in (("host", 48), ("Skylake-Client", 40),
                      ("Skylake-Client,phys-bits=42", 42),
                      ("Skylake-Client,host-phys-bits=on", 48),
                      ("host,host-phys-bits-limit=39", 39)):
        check_eq(cpuid(cpu)[(0x80000008, 0)][0] & 0xff, bits,
                 "-cpu %s: physical address bits" % cpu)
    check_eq(host[(4, 3)][0] >> 5 & 7, 3, "host: leaf 4.3 is the L3")
    check_eq(cpuid("host,l3-cache=off")[(4, 3)], (0, 0, 0, 0),
             "l3-cache=off: leaf 4.3")
    # host-cache-info=on: the stand-in's own leaf 4 (32 MiB L3, no sharing
    # fields), only the core count (EAX 31:26) the guest's, as QEMU 7.2
    mine, _ = kvmpc_cpuid(binary, ["-cpu", "host,host-cache-info=on",
                                   "-smp", "4,cores=2,threads=2"])
    check_eq(mine[(4, 0)][0], 1 << 26 | 0x121, "host-cache-info=on: 4.0")
    check_eq(mine[(4, 3)][0:3], (1 << 26 | 0x163, 15 << 22 | 63, 32767),
             "host-cache-info=on: 4.3")
    r = subprocess.run([binary, "-accel", "qtest", "-cpu",
                        "host,phys-bits=64", "-display", "none"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode != 0 and "phys-bits should be between 32 and 52"
          in r.stderr, "phys-bits=64: rc %d %r" % (r.returncode, r.stderr))


def kvm_tsc_control():
    """KVM_CHECK_EXTENSION(KVM_CAP_TSC_CONTROL) on /dev/kvm."""
    import fcntl
    fd = os.open("/dev/kvm", os.O_RDWR)
    try:
        return fcntl.ioctl(fd, 0xAE03, 60) > 0
    finally:
        os.close(fd)


def test_tsc_frequency(binary):
    """Under KVM: tsc-frequency= runs the TSC at that rate where KVM can
    scale it and is refused with QEMU's words where it cannot; the host's
    own rate is always accepted, is what leaf 0x40000010 reports, and
    lets an invariant TSC migrate (QEMU's rule)."""
    def run(cpu, commands):
        script = '{"execute":"qmp_capabilities"}\n' + "".join(
            json.dumps(c) + "\n" for c in commands) + \
            '{"execute":"quit"}\n'
        r = subprocess.run(
            [binary, "-accel", "kvm", "-S", "-nodefaults", "-display",
             "none", "-machine", "pc", "-m", "64", "-cpu", cpu,
             "-qmp", "stdio"], input=script, capture_output=True,
            text=True, timeout=30)
        replies = [json.loads(line) for line in r.stdout.splitlines()
                   if line.strip()]
        return r, [x for x in replies if "return" in x or "error" in x][1:]

    def leaf_4000_0010(cpu):
        r, replies = run(cpu, [{"execute": "human-monitor-command",
                                "arguments": {"command-line":
                                              "info cpuid 0"}}])
        check(r.returncode == 0, "-cpu %s: %r" % (cpu, r.stderr))
        for line in replies[0]["return"].splitlines():
            head, _, regs = line.partition(": ")
            if not line.startswith("MSR ") and \
                    [int(x, 16) for x in head.split()] == [0x40000010, 0]:
                return int(regs.split()[0].split("=")[1], 16)
        return None
    khz = leaf_4000_0010("host,migratable=off")
    if khz is None:
        print("SKIP test_tsc_frequency: this host's KVM has no invariant "
              "TSC, so its TSC rate is not reported to compare with")
        return
    check(khz > 100000, "TSC rate %d kHz" % khz)
    check_eq(leaf_4000_0010("host,+invtsc,tsc-frequency=%d" % (khz * 1000)),
             khz, "leaf 0x40000010 with the host's rate given")
    r, replies = run("host,+invtsc,tsc-frequency=%d" % (khz * 1000),
                     [{"execute": "migrate",
                       "arguments": {"uri": "exec:cat > /dev/null"}}])
    check_eq(replies[0], {"return": {}},
             "+invtsc with tsc-frequency= migrates")
    other = khz + 100000
    if kvm_tsc_control():
        check_eq(leaf_4000_0010("host,tsc-frequency=%d" % (other * 1000)),
                 other, "a scaled TSC rate")
    else:
        r, _ = run("host,tsc-frequency=%d" % (other * 1000), [])
        want = ("TSC frequency mismatch between VM (%d kHz) and host "
                "(%d kHz), and TSC scaling unavailable" % (other, khz))
        check(r.returncode != 0 and want in r.stderr,
              "another rate without TSC scaling: rc %d %r"
              % (r.returncode, r.stderr))


def test_cpu_qom_properties(binary):
    """Under KVM: a vCPU object's QEMU properties (libvirt reads them to
    see what the guest got): feature-words as the CPUID the vCPU has,
    filtered-features and unavailable-features for what -cpu asked that
    KVM lacks, a boolean per feature, family/model/stepping, vendor and
    model-id; the CPU type lists them."""
    vm, paths = start_qmp_vm(
        binary, extra=["-accel", "kvm", "-cpu", "qemu64,+invtsc,-sse4a"])
    try:
        q = QMP(paths[0])
        path = q.ret("query-cpus-fast")[0]["qom-path"]
        leaves, _ = info_cpuid(q)
        host_vm, host_paths = start_qmp_vm(
            binary, extra=["-accel", "kvm", "-cpu", "host,migratable=off"])
        try:
            host = info_cpuid(QMP(host_paths[0]))[0]
        finally:
            host_vm.close()

        def get(prop):
            return q.ret("qom-get", {"path": path, "property": prop})
        words = {(w["cpuid-input-eax"], w.get("cpuid-input-ecx"),
                  w["cpuid-register"]): w["features"]
                 for w in get("feature-words")}
        check_eq(words[(1, None, "EDX")], leaves[(1, 0)][3], "1.EDX word")
        check_eq(words[(0x80000007, None, "EDX")] & 0x100, 0x100,
                 "invtsc in feature-words")
        check_eq(words[(7, 0, "EBX")], leaves[(7, 0)][1] & words[(7, 0,
                                                                  "EBX")],
                 "7.0.EBX word")
        check_eq(get("sse2"), True, "sse2")
        check_eq(get("sse4a"), False, "sse4a (switched off)")
        check_eq(get("invtsc"), bool(host[(0x80000007, 0)][3] & 0x100),
                 "invtsc as the host has it")
        host_pni = bool(host[(1, 0)][2] & 1)
        unavailable = get("unavailable-features")
        check_eq("pni" in unavailable, not host_pni,
                 "pni unavailable iff the host lacks it: %s" % unavailable)
        filtered = {(w["cpuid-input-eax"], w["cpuid-register"]):
                    w["features"] for w in get("filtered-features")}
        check_eq(bool(filtered[(1, "ECX")] & 1), not host_pni,
                 "filtered-features 1.ECX")
        check_eq(get("pni"), host_pni, "pni boolean")
        check_eq(get("vendor"), "AuthenticAMD", "qemu64's vendor")
        check_eq((get("family"), get("model"), get("stepping")),
                 (15, 107, 1), "qemu64's family, model, stepping")
        check_eq(get("model-id"), "QEMU Virtual CPU version 2.5+",
                 "model-id")
        e = q.error("qom-get", {"path": path, "property": "nosuch"})
        check("not found" in e["desc"], "unknown property: %r" % e)
        names = {p["name"] for p in q.ret("qom-list", {"path": path})}
        for want in ("feature-words", "filtered-features",
                     "unavailable-features", "sse2", "family"):
            check(want in names, "qom-list lacks %s" % want)
    finally:
        vm.close()


@no_kvm
def test_enforce_and_check(binary):
    vm, paths = start_qmp_vm(binary, extra=["-accel", "qtest"])
    try:
        defs = QMP(paths[0]).ret("query-cpu-definitions")
    finally:
        vm.close()
    missing = {d["name"]: d["unavailable-features"] for d in defs}
    lacking = sorted(n for n, f in missing.items() if f)
    check(len(lacking) >= 6, "models the qtest host cannot run: %r" % lacking)
    sample = lacking + ["qemu64", "Skylake-Client-v4", "EPYC-Milan",
                        "Icelake-Server-v6", "Snowridge-v4"]
    for name in sample:
        rc, err = start_fails(binary, ["-cpu", name + ",enforce"])
        warned = sorted(l.split(".")[-1].split(" ")[0]
                        for l in err.splitlines()
                        if "host doesn't support requested feature" in l)
        check_eq(sorted(f.split(".")[-1] for f in missing[name]), warned,
                 "%s,enforce warnings" % name)
        if missing[name]:
            check(rc != 0 and "Host doesn't support requested features"
                  in err, "%s,enforce refused: rc %d %r" % (name, rc, err))
        else:
            check_eq(rc, 0, "%s,enforce runs: %r" % (name, err))
    # check (the default) warns and runs; check=off is quiet
    rc, err = start_fails(binary, ["-cpu", "KnightsMill"])
    check(rc == 0 and "CPUID.07H:EBX.avx512pf [bit 26]" in err,
          "KnightsMill,check: rc %d %r" % (rc, err))
    rc, err = start_fails(binary, ["-cpu", "KnightsMill,check=off"])
    check(rc == 0 and "support" not in err, "check=off: %r" % err)
    rc, err = start_fails(binary, ["-cpu", "qemu64,+mpx,enforce"])
    check(rc != 0 and "CPUID.07H:EBX.mpx [bit 14]" in err, "+mpx: %r" % err)


SMP_CASES = ["2,maxcpus=4,sockets=2,cores=2",
             "2,maxcpus=4,sockets=1,dies=2,cores=1,threads=2",
             "8,sockets=2,cores=2", "8,sockets=2,threads=2", "cores=2",
             "6,maxcpus=12,dies=2,threads=2", "0", "8,sockets=3",
             "4,maxcpus=2", "8,clusters=2", "8,clusters=1", "300",
             "4,maxcpus=300"]


def smp_run(cmd):
    """(error text or None, query-hotpluggable-cpus) of a -S start."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(
        '{"execute":"qmp_capabilities"}\n'
        '{"execute":"query-hotpluggable-cpus"}\n{"execute":"quit"}\n',
        timeout=60)
    errors = [l.split(": ", 1)[1] for l in err.splitlines()
              if ": " in l and "hyperthreading" not in l]
    slots = None
    for line in out.splitlines():
        msg = json.loads(line)
        if isinstance(msg.get("return"), list):
            slots = [(s["props"], s["vcpus-count"], s["type"],
                      "qom-path" in s) for s in msg["return"]]
    return errors, slots


@no_kvm
def test_smp_against_qemu(binary):
    """-smp's rules and errors, and query-hotpluggable-cpus (the slots, their
    socket/die/core/thread ids, which are occupied), as QEMU 7.2's."""
    if not shutil.which("qemu-system-x86_64"):
        print("SKIP test_smp_against_qemu: no qemu-system-x86_64")
        return
    common = ["-S", "-nodefaults", "-display", "none", "-machine", "pc",
              "-cpu", "qemu64", "-qmp", "stdio"]
    for smp in SMP_CASES:
        ref = smp_run(["qemu-system-x86_64", "-accel", "tcg", "-smp", smp]
                      + common)
        mine = smp_run([binary, "-accel", "qtest", "-smp", smp] + common)
        check_eq(mine, ref, "-smp %s" % smp)


if __name__ == "__main__":
    run_tests([test_topology_against_qemu, test_cache_leaves_against_qemu,
               test_host_cache_info_under_kvm, test_apic_ids,
               test_kvm_pv_leaves,
               test_hyperv_leaves, test_hyperv_dependencies,
               test_hyperv_needs_host_support,
               test_enforce_and_check, test_smp_against_qemu,
               test_invtsc_blocks_migration, test_shape_properties,
               test_tsc_frequency, test_cpu_qom_properties])
