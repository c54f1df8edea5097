#!/usr/bin/env python3
"""Every QMP command kvmpc implements, and the run-state events, checked
against the replies QEMU 7.2 documents (qapi/*.json in QEMU)."""
import os
import re
import tempfile
import time
from qmplib import (QMP, check, check_eq, run_tests, start_qmp_vm)

UUID = "6a9c7a1e-1b2c-4d3e-8f90-123456789abc"


def check_timestamp(ev):
    ts = ev["timestamp"]
    check(set(ts) == {"seconds", "microseconds"}, "timestamp members")
    check(isinstance(ts["seconds"], int) and ts["seconds"] > 1500000000,
          "timestamp seconds")
    check(0 <= ts["microseconds"] < 1000000, "timestamp microseconds")


def test_queries(binary):
    vm, paths = start_qmp_vm(binary, extra=[
        "-name", "guest-one", "-uuid", UUID, "-smp", "2"])
    try:
        q = QMP(paths[0])
        check_eq(q.ret("query-version"),
                 {"qemu": {"major": 7, "minor": 2, "micro": 0},
                  "package": "kvmpc-0.1.0"}, "query-version")
        check_eq(q.ret("query-status"),
                 {"running": False, "singlestep": False, "status": "prelaunch"},
                 "query-status")
        check_eq(q.ret("query-name"), {"name": "guest-one"}, "query-name")
        check_eq(q.ret("query-uuid"), {"UUID": UUID}, "query-uuid")
        check_eq(q.ret("query-kvm"), {"enabled": True, "present": True},
                 "query-kvm")
        check_eq(q.ret("query-target"), {"arch": "x86_64"}, "query-target")

        cpus = q.ret("query-cpus-fast")
        check_eq(len(cpus), 2, "two vCPUs")
        for i, cpu in enumerate(cpus):
            check_eq(cpu["cpu-index"], i, "cpu-index")
            check_eq(cpu["target"], "x86_64", "target")
            check(isinstance(cpu["thread-id"], int) and
                  cpu["thread-id"] > 0, "thread-id")
            check(os.path.exists("/proc/%d/task/%d" % (vm.proc.pid,
                                                        cpu["thread-id"])),
                  "thread-id is a thread of kvmpc")
            check(cpu["qom-path"].startswith("/machine/"), "qom-path")
            for key in ("socket-id", "core-id", "thread-id"):
                check(key in cpu["props"], "props." + key)
        check_eq(len({c["thread-id"] for c in cpus}), 2, "distinct threads")

        machines = q.ret("query-machines")
        check(machines, "query-machines not empty")
        for m in machines:
            for key in ("name", "cpu-max", "hotpluggable-cpus",
                        "numa-mem-supported", "deprecated", "acpi"):
                check(key in m, "machine member " + key)
        check(any(m.get("alias") == "pc" for m in machines), "pc alias")
        check_eq(sum(1 for m in machines if m.get("is-default")), 1,
                 "one default machine")

        labels = {c["label"]: c for c in q.ret("query-chardev")}
        check("compat_monitor0" in labels, "monitor chardev listed")
        mon = labels["compat_monitor0"]
        check_eq(mon["filename"], "unix:%s,server=on" % paths[0],
                 "connected socket filename")
        check_eq(mon["frontend-open"], True, "frontend-open")

        pci = q.ret("query-pci")
        check(isinstance(pci, list) and pci and pci[0]["bus"] == 0,
              "query-pci lists bus 0")
        devs = {(d["slot"], d["function"]): d for d in pci[0]["devices"]}
        # The i440FX machine's built-in functions, as QEMU reports them.
        for sf, vendor, device, cls, desc in [
                ((0, 0), 0x8086, 0x1237, 0x0600, "Host bridge"),
                ((1, 0), 0x8086, 0x7000, 0x0601, "ISA bridge"),
                ((1, 3), 0x8086, 0x7113, 0x0680, "Bridge")]:
            check(sf in devs, "query-pci lists %02x.%x" % sf)
            d = devs[sf]
            check_eq((d["id"]["vendor"], d["id"]["device"]), (vendor, device),
                     "ids of %02x.%x" % sf)
            check_eq(d["class_info"], {"class": cls, "desc": desc},
                     "class of %02x.%x" % sf)
            check_eq(d["bus"], 0, "bus of %02x.%x" % sf)
            check(isinstance(d["regions"], list), "regions list")
    finally:
        vm.close()


def test_query_name_unset(binary):
    vm, paths = start_qmp_vm(binary)
    try:
        q = QMP(paths[0])
        check_eq(q.ret("query-name"), {}, "no name: empty object")
        check_eq(q.ret("query-uuid"),
                 {"UUID": "00000000-0000-0000-0000-000000000000"}, "no uuid")
    finally:
        vm.close()


def test_stop_cont_events(binary):
    vm, paths = start_qmp_vm(binary)
    try:
        q = QMP(paths[0])
        # -S: prelaunch; stop does nothing there (no event, as QEMU).
        check_eq(q.cmd("stop"), {"return": {}}, "stop in prelaunch")
        check_eq(q.ret("query-status")["status"], "prelaunch",
                 "stop keeps prelaunch")
        check_eq(q.cmd("cont"), {"return": {}}, "cont")
        ev = q.wait_event("RESUME")
        check("data" not in ev, "RESUME has no data")
        check_timestamp(ev)
        check_eq(q.ret("query-status"),
                 {"running": True, "singlestep": False, "status": "running"}, "running")
        check_eq(q.cmd("cont"), {"return": {}}, "cont when running")
        check_eq(q.cmd("stop"), {"return": {}}, "stop")
        ev = q.wait_event("STOP")
        check("data" not in ev, "STOP has no data")
        check_timestamp(ev)
        check_eq(q.ret("query-status"),
                 {"running": False, "singlestep": False, "status": "paused"}, "paused")
        check_eq(q.cmd("cont"), {"return": {}}, "cont again")
        q.wait_event("RESUME")
        check_eq(q.events, [], "no other events")
    finally:
        vm.close()


def test_reset_powerdown(binary):
    vm, paths = start_qmp_vm(binary)
    try:
        q = QMP(paths[0])
        check_eq(q.cmd("system_reset"), {"return": {}}, "system_reset")
        ev = q.wait_event("RESET")
        check_eq(ev["data"], {"guest": False,
                              "reason": "host-qmp-system-reset"}, "RESET")
        check_timestamp(ev)
        check_eq(q.cmd("system_powerdown"), {"return": {}},
                 "system_powerdown")
        ev = q.wait_event("POWERDOWN")
        check("data" not in ev, "POWERDOWN has no data")
        check(vm.alive(), "still running after powerdown request")
    finally:
        vm.close()


def test_quit(binary):
    vm, paths = start_qmp_vm(binary, nmon=2)
    try:
        q = QMP(paths[0])
        other = QMP(paths[1])
        check_eq(q.cmd("quit", id="bye"), {"return": {}, "id": "bye"},
                 "quit reply")
        for client in (q, other):
            ev = client.wait_event("SHUTDOWN")
            check_eq(ev["data"], {"guest": False, "reason": "host-qmp-quit"},
                     "SHUTDOWN data")
        check_eq(vm.wait(), 0, "exit status after quit")
    finally:
        vm.close()


def test_human_monitor_command(binary):
    vm, paths = start_qmp_vm(binary, extra=["-name", "hmpguest"])
    try:
        q = QMP(paths[0])

        def hmp(line, **kw):
            args = {"command-line": line}
            args.update(kw)
            return q.ret("human-monitor-command", args)

        check_eq(hmp("info status"), "VM status: paused (prelaunch)\r\n",
                 "info status")
        check_eq(hmp("info name"), "hmpguest\r\n", "info name")
        check_eq(hmp("info kvm"), "kvm support: enabled\r\n", "info kvm")
        check(hmp("info version").startswith("7.2.0"), "info version")
        check_eq(hmp("nonsense"), "unknown command: 'nonsense'\r\n",
                 "unknown command")
        check_eq(hmp(""), "", "empty line")
        check(re.match(r"\* CPU #0: thread_id=\d+\r\n$", hmp("info cpus")),
              "info cpus")
        regs = hmp("info registers", **{"cpu-index": 0})
        check("RIP=000000000000fff0" in regs and "CR0=" in regs,
              "info registers at reset: %r" % regs[:200])
        check("EFER=" in regs, "EFER in info registers")
        check("address-space: memory" in hmp("info mtree"), "info mtree")
        check("bus: main-system-bus" in hmp("info qtree"), "info qtree")
        check("compat_monitor0: filename=unix:" in hmp("info chardev"),
              "info chardev")
        pci_text = hmp("info pci")
        check("Bus  0, device   0, function 0:\r\n    Host bridge: "
              "PCI device 8086:1237" in pci_text, "info pci host bridge")
        check("ISA bridge: PCI device 8086:7000" in pci_text,
              "info pci ISA bridge")
        check("info status" in hmp("help info"), "help info")
        check("cont|c" in hmp("help"), "help")
        check_eq(hmp("stop"), "", "stop via HMP")
        check_eq(hmp("cont"), "", "cont via HMP")
        q.wait_event("RESUME")
        check_eq(hmp("info status"), "VM status: running\r\n", "running")
        check_eq(hmp("stop"), "", "stop via HMP")
        q.wait_event("STOP")
        check_eq(hmp("info status"), "VM status: paused\r\n", "paused")
        check_eq(hmp("system_reset"), "", "system_reset via HMP")
        ev = q.wait_event("RESET")
        check_eq(ev["data"]["reason"], "host-qmp-system-reset", "reason")
    finally:
        vm.close()


def bios_tail():
    """The last 16 bytes of the firmware, mapped at 0xffff0 and 4G-16."""
    for path in ("/usr/share/seabios/bios-256k.bin",
                 "/usr/share/qemu/bios-256k.bin"):
        if os.path.exists(path):
            with open(path, "rb") as f:
                return f.read()[-16:]
    return None


def test_memory_dumps(binary):
    tail = bios_tail()
    vm, paths = start_qmp_vm(binary)
    try:
        q = QMP(paths[0])

        def hmp(line):
            return q.ret("human-monitor-command", {"command-line": line})

        if tail is not None:
            want = " ".join("0x%02x" % b for b in tail[:8])
            check_eq(hmp("xp/8xb 0xffff0"),
                     "00000000000ffff0: %s\r\n" % want, "xp bytes")
            check_eq(hmp("xp/8xb 0xfffffff0"),
                     "00000000fffffff0: %s\r\n" % want, "xp at 4G-16")
            # With paging off (at reset), x is physical too.
            check_eq(hmp("x/8xb 0xffff0"), hmp("xp/8xb 0xffff0"), "x = xp")
            w = int.from_bytes(tail[0:4], "little")
            check_eq(hmp("xp/1xw 0xffff0"),
                     "00000000000ffff0: 0x%08x\r\n" % w, "xp word")
            g = int.from_bytes(tail[0:8], "little")
            check_eq(hmp("xp/1xg 0xffff0"),
                     "00000000000ffff0: 0x%016x\r\n" % g, "xp giant")
            check_eq(hmp("xp/2ub 0xffff0"), "00000000000ffff0: %3d %3d\r\n"
                     % (tail[0], tail[1]), "xp unsigned")
            check_eq(hmp("xp/1ob 0xffff0"), "00000000000ffff0: %4s\r\n"
                     % ("0%o" % tail[0]), "xp octal")
            d = int.from_bytes(tail[0:2], "little", signed=True)
            check_eq(hmp("xp/1dh 0xffff0"), "00000000000ffff0: %5d\r\n" % d,
                     "xp signed")
            # Default format/size are remembered (QEMU): now h.
            check(hmp("xp 0xffff0").count("0x") == 1, "remembered size")
            check_eq(hmp("xp/2xh 0xffff0 + 0x2 - 2"),
                     hmp("xp/2xh 0xffff0"), "address arithmetic")
        # Line layout: 16 bytes per line for words, 8 for bytes.
        out = hmp("xp/8xw 0")
        check_eq(out.count("\r\n"), 2, "two lines of 4 words")
        check(out.startswith("0000000000000000: 0x"), "line address")
        check_eq(hmp("xp/16xb 0").count("\r\n"), 2, "two lines of 8 bytes")
        check_eq(hmp("xp/3c 0"),
                 "0000000000000000: '\\x00' '\\x00' '\\x00'\r\n", "chars")
        check_eq(hmp("xp/4z 0"), "invalid char in format: 'z'\r\n",
                 "bad format")
        check_eq(hmp("xp/4x"), "missing address\r\n", "no address")
        check_eq(hmp("xp/4x zork"), "invalid char in expression: 'z'\r\n",
                 "bad address")
        check("not supported" in hmp("xp/2i 0"), "no disassembler")
        # Huge counts are capped, not allowed to flood memory.
        check(len(hmp("xp/99999999xg 0")) < 8 * 1024 * 1024, "dump cap")
    finally:
        vm.close()


def test_qom(binary):
    vm, paths = start_qmp_vm(binary, extra=[
        "-device", "isa-debug-exit,id=dbg,iobase=0x501"])
    try:
        q = QMP(paths[0])
        root = {p["name"]: p["type"] for p in q.ret("qom-list",
                                                    {"path": "/"})}
        check_eq(root.get("machine", "")[:6], "child<", "/machine child")
        check("chardevs" in root, "/chardevs")
        mach = {p["name"]: p["type"] for p in
                q.ret("qom-list", {"path": "/machine"})}
        for child in ("peripheral", "peripheral-anon", "unattached"):
            check_eq(mach.get(child), "child<container>", child)
        check(q.ret("qom-get", {"path": "/machine",
                                "property": "type"}).endswith("-machine"),
              "machine type")
        per = {p["name"]: p["type"] for p in
               q.ret("qom-list", {"path": "/machine/peripheral"})}
        check_eq(per.get("dbg"), "child<isa-debug-exit>", "peripheral dbg")
        props = {p["name"]: p["type"] for p in
                 q.ret("qom-list", {"path": "/machine/peripheral/dbg"})}
        check_eq(props.get("type"), "string", "type property")
        check_eq(props.get("iobase"), "uint32", "iobase property type")
        check_eq(q.ret("qom-get", {"path": "/machine/peripheral/dbg",
                                   "property": "iobase"}), 0x501, "iobase")
        check_eq(q.ret("qom-get", {"path": "/machine/peripheral/dbg",
                                   "property": "realized"}), True,
                 "realized")
        check_eq(q.ret("qom-get", {"path": "dbg", "property": "type"}),
                 "isa-debug-exit", "partial path")
        check_eq(q.ret("qom-get", {"path": "/machine/peripheral",
                                   "property": "dbg"}),
                 "/machine/peripheral/dbg", "child property value")
        unatt = q.ret("qom-list", {"path": "/machine/unattached"})
        for p in unatt:
            if p["name"] == "type":
                continue
            check(re.match(r"device\[\d+\]$", p["name"]), "unattached name")
            path = "/machine/unattached/" + p["name"]
            check_eq("child<%s>" % q.ret("qom-get", {"path": path,
                                                   "property": "type"}),
                     p["type"], "unattached child type")
        err = q.error("qom-list", {"path": "/machine/nothing"})
        check_eq(err, {"class": "DeviceNotFound",
                       "desc": "Device '/machine/nothing' not found"},
                 "missing path")
        err = q.error("qom-get", {"path": "/machine/peripheral/dbg",
                                  "property": "nope"})
        check_eq(err["class"], "GenericError", "missing property class")
        check("nope" in err["desc"], "missing property desc")
        cpu_path = q.ret("query-cpus-fast")[0]["qom-path"]
        check(q.ret("qom-get", {"path": cpu_path, "property": "type"})
              .endswith("-x86_64-cpu"), "cpu object")
    finally:
        vm.close()


def test_device_list_properties(binary):
    vm, paths = start_qmp_vm(binary)
    try:
        q = QMP(paths[0])
        props = {p["name"]: p for p in
                 q.ret("device-list-properties",
                       {"typename": "isa-debug-exit"})}
        check("iobase" in props, "iobase listed")
        check_eq(props["iobase"]["type"], "uint32", "iobase type")
        check_eq(props["iobase"].get("default-value"), 0x501,
                 "iobase default")
        serial = {p["name"]: p for p in
                  q.ret("device-list-properties",
                        {"typename": "isa-serial"})}
        check_eq(serial["chardev"]["type"], "str", "chardev type")
        err = q.error("device-list-properties", {"typename": "nonexistent"})
        check_eq(err, {"class": "DeviceNotFound",
                       "desc": "Device 'nonexistent' not found"}, "unknown")
        err = q.error("device-list-properties", {"typename": "device"})
        check_eq(err["desc"], "Parameter 'typename' expects a non-abstract "
                 "device type", "abstract type")
    finally:
        vm.close()


def test_prelaunch_cont_starts(binary):
    """-S: nothing runs until cont; cont from prelaunch runs the firmware."""
    vm, paths = start_qmp_vm(binary)
    try:
        q = QMP(paths[0])
        regs = q.ret("human-monitor-command",
                     {"command-line": "info registers"})
        check("RIP=000000000000fff0" in regs, "at the reset vector")
        q.cmd("cont")
        q.wait_event("RESUME")

        def moved():
            q.cmd("stop")
            q.wait_event("STOP")
            r = q.ret("human-monitor-command",
                      {"command-line": "info registers"})
            if "RIP=000000000000fff0" in r and "CS =f000" in r:
                q.cmd("cont")
                q.wait_event("RESUME")
                return False
            return True
        end = time.time() + 20
        while not moved():
            check(time.time() < end, "vCPU never left the reset vector")
            time.sleep(0.2)
    finally:
        vm.close()


# ---- x through guest page tables ------------------------------------------

MARKER_PA = 0x5000
MODES = ("legacy", "pae", "long")
MARKER = 0xCAFEBABE
TABLES = 0x380000


def store(addr, value):
    """mov dword [addr], value"""
    return b"\xc7\x05" + addr.to_bytes(4, "little") + \
        value.to_bytes(4, "little")


def paging_payload(mode):
    """A Multiboot (a.out kludge) image that builds page tables mapping
    VA 0x405000 (4 KiB page) and VA 0x40005000 (large page) to PA 0x5000,
    identity-maps the low 2-4 MiB, turns paging on in @mode (legacy 32-bit
    with PSE, PAE, or long mode) and halts."""
    t = TABLES
    code = store(MARKER_PA, MARKER)
    if mode == "legacy":
        pd, pt = t, t + 0x1000
        code += store(pd + 0, 0x83)                     # 4M identity
        code += store(pd + 1 * 4, pt | 3)               # VA 4M..8M -> PT
        code += store(pd + 256 * 4, 0x83)               # VA 1G -> PA 0 (4M)
        code += store(pt + 5 * 4, MARKER_PA | 3)
        cr4 = 0x10                                       # PSE
    elif mode == "pae":
        pdpt, pd, pd2, pt = t, t + 0x1000, t + 0x2000, t + 0x3000
        code += store(pdpt + 0, pd | 1)                  # PDPTEs: P only
        code += store(pdpt + 8, pd2 | 1)
        code += store(pd + 0, 0x83)                      # 2M identity
        code += store(pd + 2 * 8, pt | 3)                # VA 4M -> PT
        code += store(pd2 + 0, 0x83)                     # VA 1G -> PA 0 (2M)
        code += store(pt + 5 * 8, MARKER_PA | 3)
        cr4 = 0x20                                       # PAE
    else:
        pml4, pdpt, pd, pt = t, t + 0x1000, t + 0x2000, t + 0x3000
        code += store(pml4 + 0, pdpt | 3)
        code += store(pdpt + 0, pd | 3)
        code += store(pdpt + 8, 0x83)                    # VA 1G -> PA 0 (1G)
        code += store(pd + 0, 0x83)
        code += store(pd + 2 * 8, pt | 3)
        code += store(pt + 5 * 8, MARKER_PA | 3)
        cr4 = 0x20
    code += b"\x0f\x20\xe0"                                # mov eax, cr4
    code += b"\x0d" + cr4.to_bytes(4, "little")             # or eax, imm
    code += b"\x0f\x22\xe0"                                # mov cr4, eax
    code += b"\xb8" + t.to_bytes(4, "little")               # mov eax, t
    code += b"\x0f\x22\xd8"                                # mov cr3, eax
    if mode == "long":
        code += b"\xb9\x80\x00\x00\xc0"                    # mov ecx, EFER
        code += b"\x0f\x32"                                 # rdmsr
        code += b"\x0d\x00\x01\x00\x00"                    # or eax, LME
        code += b"\x0f\x30"                                 # wrmsr
    code += b"\x0f\x20\xc0"                                # mov eax, cr0
    code += b"\x0d\x00\x00\x00\x80"                        # or eax, PG
    code += b"\x0f\x22\xc0"                                # mov cr0, eax
    code += b"\xf4\xeb\xfd"                                # hlt; jmp hlt
    load = 0x100000
    magic, flags = 0x1BADB002, 0x00010000
    header = b"".join(v.to_bytes(4, "little") for v in (
        magic, flags, (-(magic + flags)) & 0xffffffff,
        load, load, 0, 0, load + 32))
    return header + code


def test_x_page_tables(binary):
    for mode in MODES:
        tmp = tempfile.mkdtemp(prefix="kvmpc-qmp-")
        kernel = os.path.join(tmp, "paging-%s.bin" % mode)
        with open(kernel, "wb") as f:
            f.write(paging_payload(mode))
        vm, paths = start_qmp_vm(binary, extra=["-kernel", kernel],
                                 tmpdir=tmp)
        try:
            q = QMP(paths[0])

            def hmp(line):
                return q.ret("human-monitor-command", {"command-line": line})

            q.cmd("cont")
            want = "%016x: 0x%08x\r\n"
            # The payload needs microseconds; 2 s is slack for a loaded
            # host, and the wait is spent in full where the modes that
            # cannot run here (below) never get there.
            end = time.time() + 2
            while hmp("x/1xw 0x40005000") != want % (0x40005000, MARKER):
                if time.time() > end:
                    break
                time.sleep(0.1)
            else:
                check_walks(hmp, mode, want)
                continue
            # PVM-flavoured KVM (the CI hosts) runs only long-mode paging:
            # the vCPU never gets past "mov cr0" for the 32-bit modes.
            regs = hmp("info registers")
            check(mode != "long" and "CR0=00000011" in regs,
                  "%s: paging never came on: %r" % (mode, regs))
            print("note: %s paging does not run on this host's KVM; "
                  "walker not checked" % mode)
        finally:
            vm.close()


def check_walks(hmp, mode, want):
    check_eq(hmp("x/1xw 0x405000"), want % (0x405000, MARKER),
             mode + ": 4 KiB page")
    check_eq(hmp("x/1xw 0x5000"), want % (0x5000, MARKER),
             mode + ": identity large page")
    check_eq(hmp("xp/1xw 0x5000"), want % (0x5000, MARKER),
             mode + ": physical")
    check_eq(hmp("xp/1xw 0x405000"),
             want % (0x405000, 0), mode + ": xp is not translated")
    check_eq(hmp("x/1xw 0x80000000"),
             "0000000080000000: Cannot access memory\r\n",
             mode + ": unmapped")
    # A dump that crosses from a mapped page into an unmapped one.
    out = hmp("x/8xw 0x405ff0")
    check(out.startswith("0000000000405ff0:"), mode + ": cross")
    regs = hmp("info registers")
    if mode == "long":
        check("EFER=0000000000000500" in regs, "LMA set: %r" % regs)


if __name__ == "__main__":
    run_tests([test_queries, test_query_name_unset, test_stop_cont_events,
               test_reset_powerdown, test_quit, test_human_monitor_command,
               test_memory_dumps, test_qom, test_device_list_properties,
               test_prelaunch_cont_starts, test_x_page_tables])
