#!/usr/bin/env python3
"""SeaBIOS (Debian's bios-256k.bin) enumerating a PCI Express hierarchy
with a switch and a PCI Express to PCI bridge on q35.

    test-seabios-pcie.py KVMPC [TIMEOUT]

    pcie.0 -- pcie-root-port rp1 (00:04.0)
                -- x3130-upstream up
                     -- xio3130-downstream dn0 -- pci-testdev
                     -- xio3130-downstream dn1 -- pcie-pci-bridge ppb
                                                    -- pci-testdev (slot 3)

Once SeaBIOS has given up booting ("No bootable device."), QMP
`query-pci` must show what real firmware made of it: the bus numbers
SeaBIOS assigned depth-first (1-5), every bridge's memory window covering
the windows below it, and both testdevs' BARs mapped inside every window
above them.  Needs /dev/kvm; prints SKIP and exits 77 without it or the
BIOS image.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from consolelib import console_chunks

BIOS = "/usr/share/seabios/bios-256k.bin"
NO_BOOT = b"No bootable device."
DEVICES = [
    "pcie-root-port,id=rp1,addr=4,chassis=1,slot=1",
    "x3130-upstream,id=up,bus=rp1",
    "xio3130-downstream,id=dn0,bus=up,addr=0,chassis=2,slot=1",
    "xio3130-downstream,id=dn1,bus=up,addr=1,chassis=2,slot=2",
    "pci-testdev,id=td0,bus=dn0",
    "pcie-pci-bridge,id=ppb,bus=dn1",
    "pci-testdev,id=td1,bus=ppb,addr=3",
]
# qdev id: (vendor, device, bus, slot) as SeaBIOS numbers them
EXPECTED = {
    "rp1": (0x1b36, 0x000c, 0, 4),
    "up": (0x104c, 0x8232, 1, 0),
    "dn0": (0x104c, 0x8233, 2, 0),
    "dn1": (0x104c, 0x8233, 2, 1),
    "td0": (0x1b36, 0x0005, 3, 0),
    "ppb": (0x1b36, 0x000e, 4, 0),
    "td1": (0x1b36, 0x0005, 5, 3),
}


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def qmp(path, command):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    f = s.makefile("rw")
    f.readline()
    for cmd in ({"execute": "qmp_capabilities"}, {"execute": command}):
        f.write(json.dumps(cmd) + "\n")
        f.flush()
        while True:
            reply = json.loads(f.readline())
            if "event" not in reply:
                break
    s.close()
    return reply["return"]


def walk(devices, windows, found, errors):
    """Record each function by qdev id; check its memory BARs against the
    memory windows of every bridge above it."""
    for d in devices:
        found[d["qdev_id"]] = d
        for r in d.get("regions", []):
            if r["type"] != "memory":
                continue
            for base, limit in windows:
                if not base <= r["address"] <= r["address"] + r["size"] - 1 \
                        <= limit:
                    errors.append(f"{d['qdev_id']} BAR{r['bar']} at "
                                  f"{r['address']:#x} outside the window "
                                  f"{base:#x}-{limit:#x}")
        if "pci_bridge" in d:
            br = d["pci_bridge"]
            mem = br["bus"]["memory_range"]
            walk(br.get("devices", []),
                 windows + [(mem["base"], mem["limit"])], found, errors)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: test-seabios-pcie.py KVMPC [TIMEOUT]")
    kvmpc = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm not available")
    if not os.path.exists(BIOS):
        skip(f"{BIOS} missing (install the seabios package)")
    tmp = tempfile.mkdtemp(prefix="kvmpc-seabios-pcie-")
    sock = os.path.join(tmp, "qmp.sock")
    args = [kvmpc, "-machine", "q35", "-nodefaults", "-nographic",
            "-serial", "stdio", "-qmp", f"unix:{sock},server=on,wait=off"]
    for d in DEVICES:
        args += ["-device", d]
    print(" ".join(args))
    t0 = time.monotonic()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    try:
        for chunk in console_chunks(proc, timeout):
            out += chunk
            if NO_BOOT in out:
                break
        print(out.decode(errors="replace").replace("\r", "").rstrip())
        if NO_BOOT not in out:
            print(f"FAIL: no \"{NO_BOOT.decode()}\" within {timeout:.0f}s")
            return 1
        print(f"SeaBIOS done in {time.monotonic() - t0:.1f}s")
        buses = qmp(sock, "query-pci")
    finally:
        proc.kill()
        proc.wait()
        if os.path.exists(sock):
            os.unlink(sock)
        os.rmdir(tmp)

    found, errors = {}, []
    walk(buses[0]["devices"], [], found, errors)
    for qid, (vendor, device, bus, slot) in EXPECTED.items():
        d = found.get(qid)
        if not d:
            errors.append(f"{qid}: not in query-pci")
            continue
        got = (d["id"]["vendor"], d["id"]["device"], d["bus"], d["slot"])
        if got != (vendor, device, bus, slot):
            errors.append(f"{qid}: {got} (expected "
                          f"{(vendor, device, bus, slot)})")
    for qid in ("td0", "td1"):
        bars = [r for r in found.get(qid, {}).get("regions", [])
                if r["type"] == "memory"]
        if not bars or any(r["address"] in (0, 2**64 - 1) for r in bars):
            errors.append(f"{qid}: memory BAR not assigned: {bars}")
    for qid in ("up", "dn0", "dn1", "ppb"):
        br = found.get(qid, {}).get("pci_bridge", {}).get("bus", {})
        want = EXPECTED[qid][2] + 1 if qid != "dn1" else 4
        if br.get("secondary") != want:
            errors.append(f"{qid}: secondary bus {br.get('secondary')} "
                          f"(expected {want})")
    for e in errors:
        print(f"FAIL: {e}")
    if not errors:
        print("PASS: SeaBIOS numbered buses 1-5 and mapped both testdevs "
              "through the switch and the pcie-pci-bridge")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
