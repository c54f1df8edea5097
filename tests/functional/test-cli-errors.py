#!/usr/bin/env python3
"""Bad command lines and bad files: each must give exactly one line on
stderr starting with "kvmpc: ", naming the problem, and exit status 1 —
never a crash, a hang, or a stack of messages.

    test-cli-errors.py KVMPC
"""
import os
import random
import subprocess
import sys
import tempfile

BASE = ["-nodefaults", "-display", "none"]


def cases(tmp):
    missing = os.path.join(tmp, "no-such-kernel")
    garbage = os.path.join(tmp, "garbage.bin")
    with open(garbage, "wb") as f:
        f.write(random.Random(1).randbytes(64 * 1024))
    trunc_elf = os.path.join(tmp, "truncated.elf")
    with open(trunc_elf, "wb") as f:
        f.write(b"\x7fELF\x02\x01\x01" + b"\0" * 20)
    empty = os.path.join(tmp, "empty")
    open(empty, "wb").close()
    # A bzImage header that points its protected-mode part past the file.
    bad_bz = os.path.join(tmp, "bad.bzImage")
    img = bytearray(4096)
    img[0x1f1] = 60                                  # setup_sects
    img[0x1fe:0x200] = b"\x55\xaa"
    img[0x202:0x206] = b"HdrS"
    img[0x206:0x208] = (0x20c).to_bytes(2, "little")
    with open(bad_bz, "wb") as f:
        f.write(img)
    return [
        (["-kernel", missing], "no-such-kernel"),
        (["-kernel", garbage], "garbage.bin"),
        (["-kernel", trunc_elf], "truncated.elf"),
        (["-kernel", empty], "empty"),
        (["-kernel", bad_bz], "bad.bzImage"),
        (["-initrd", garbage], "-initrd"),
        (["-frobnicate"], "-frobnicate"),
        (["-m"], "-m"),
        (["-m", "12Q"], "-m"),
        (["-m", "-5"], "-m"),
        (["-m", "0"], "-m"),
        # -smp 0 starts with QEMU 7.2's deprecation warning (test_cpu_leaves)
        (["-smp", "4,sockets=3,cores=2,maxcpus=4"], "Invalid CPU topology"),
        (["-smp", "8,maxcpus=4"], "Invalid CPU topology"),
        (["-cpu", "pentium42"], "pentium42"),
        (["-cpu", "host,+nosuchfeature"], "nosuchfeature"),
        (["-machine", "nosuchmachine"], "nosuchmachine"),
        (["-accel", "tcg"], "tcg"),
        (["-device", "nosuchdevice"], "nosuchdevice"),
        (["-device", "isa-serial,nosuchprop=1"], "nosuchprop"),
        (["-device", "isa-debug-exit,iobase=banana"], "iobase"),
        (["-device", "isa-debug-exit,iosize=9"], "iosize"),
        (["-serial", "bogus:thing"], "bogus"),
        (["-chardev", "file,id=x"], "file"),
        (["-chardev", "stdio"], "id"),
        (["-chardev", "null,id=a", "-chardev", "null,id=a"], "a"),
        (["-uuid", "not-a-uuid"], "-uuid"),
        (["-bios", os.path.join(tmp, "no-bios.bin")], "no-bios.bin"),
        (["-display", "gtk"], "gtk"),
        # drives and IDE devices
        (["-hda", os.path.join(tmp, "no-disk.img")], "no-disk.img"),
        (["-drive", f"file={garbage},format=qcow2"], "garbage.bin"),
        (["-drive", f"file={garbage},if=scsi"], "scsi"),
        (["-drive", f"file={garbage},media=tape"], "tape"),
        (["-drive", f"file={garbage},index=4"], "index"),
        (["-drive", f"file={garbage},bogus=1"], "bogus"),
        (["-drive", f"file={garbage},cache=sometimes"], "sometimes"),
        (["-drive", "if=ide,media=disk"], "file="),
        (["-hda", garbage, "-drive", f"file={garbage},index=0"], "index=0"),
        (["-drive", f"file={garbage},if=none,id=d", "-drive",
          f"file={garbage},if=none,id=d"], "Duplicate ID 'd'"),
        (["-device", "ide-hd,drive=nosuchdrive"], "nosuchdrive"),
        # -blockdev and the error policies
        (["-blockdev", f"driver=file,node-name=a,filename={garbage},x=1"],
         "Parameter 'x' is unexpected"),
        (["-blockdev", f"driver=file,node-name=a,filename={garbage}",
          "-blockdev", f"driver=file,node-name=a,filename={garbage}"],
         "Duplicate nodes with node-name='a'"),
        (["-blockdev", "driver=raw,node-name=a,file=nosuch"],
         "node-name='nosuch'"),
        (["-blockdev", "driver=qcow2,node-name=a"], '"file"'),
        (["-blockdev", "node-name=a"], "Parameter 'driver' is missing"),
        (["-blockdev", "driver=floppy,node-name=a"], "'floppy'"),
        (["-blockdev", "{\"driver\": "], "JSON parse error"),
        (["-drive", f"file={garbage},if=none,werror=never"], "never"),
        (["-drive", f"file={garbage},if=none,rerror=enospc"], "enospc"),
        (["-device", "ide-cd,werror=often"], "often"),
        (["-device", "ide-hd"], "drive"),
        (["-drive", f"file={garbage},if=none,id=d", "-device",
          "ide-hd,drive=d,bus=ide.7"], "ide.7"),
        (["-drive", f"file={garbage},if=none,id=d", "-device",
          "ide-hd,drive=d", "-device", "ide-hd,drive=d"], "already in use"),
        (["-hda", garbage, "-drive", f"file={garbage},if=none,id=d",
          "-device", "ide-hd,drive=d,bus=ide.0,unit=0"], "in use"),
        # networking (docs/net.md)
        (["-netdev", "frobnet,id=n0"], "Parameter 'type' expects a netdev"),
        (["-netdev", "socket"], "Parameter 'id' is missing"),
        (["-netdev", "socket,id=0bad,listen=:1"], "identifier"),
        (["-netdev", "socket,id=n0"], "listen="),
        (["-netdev", "socket,id=n0,connect=127.0.0.1:1"], "connect"),
        (["-netdev", "socket,id=n0,listen=127.0.0.1:0,bogus=1"],
         "Invalid parameter 'bogus'"),
        (["-netdev", "socket,id=n0,mcast=127.0.0.1:5000"], "multicast"),
        (["-netdev", "socket,id=n0,fd=999"], "999"),
        (["-netdev", "stream,id=n0,addr.type=carrier,addr.path=x"],
         "carrier"),
        (["-netdev", "dgram,id=n0"], "local="),
        (["-netdev", "user,id=n0,net=10.0.2.0/24,host=10.0.3.2"], "host"),
        (["-netdev", "user,id=n0,hostfwd=tcp:bogus"], "hostfwd"),
        (["-netdev", "user,id=n0,ipv4=off,ipv6=off"], "IPv6"),
        (["-netdev", "user,id=n0", "-netdev", "user,id=n0"],
         "Duplicate ID 'n0'"),
        (["-netdev", "tap,id=n0,vhost=on"], "vhost"),
        (["-netdev", "tap,id=n0,fd=999"], "999"),
        (["-netdev", "bridge,id=n0,br=kvmpcnosuchbr0"], "kvmpcnosuchbr0"),
        (["-netdev", "hubport,id=h0"], "hubid"),
        (["-nic", "user,model=ne2k_isa"], "Unsupported NIC model: ne2k_isa"),
        (["-net", "nic,vlan=1"], "vlan"),
        (["-device", "virtio-net-pci,netdev=nosuch"], "nosuch"),
        (["-device", "virtio-net-pci,mac=52:54:00:zz:00:01"], "mac"),
        (["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
          "-device", "virtio-net-pci,netdev=n0"], "in use"),
        (["-device", "virtio-net-pci,romfile=no-such.rom"], "no-such.rom"),
    ]


def kvm_usable():
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
        return True
    except OSError:
        return False


def main():
    kvmpc = sys.argv[1]
    failures = 0
    base = list(BASE)
    if not kvm_usable():
        # Without /dev/kvm every case would stop at "Could not access KVM";
        # the qtest accelerator goes through the same option parsing,
        # loaders and device creation, so run the cases with it instead
        # (cases that choose an accelerator keep theirs).
        print("no usable /dev/kvm: running the cases with -accel qtest")
        base += ["-accel", "qtest"]
    with tempfile.TemporaryDirectory() as tmp:
        for args, must_name in cases(tmp):
            case_base = base if "-accel" not in args else BASE
            try:
                p = subprocess.run([kvmpc] + case_base + args,
                                   capture_output=True,
                                   text=True, timeout=20,
                                   stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                print(f"FAIL {args}: hung")
                failures += 1
                continue
            lines = [l for l in p.stderr.splitlines() if l.strip()]
            ok = (p.returncode == 1 and len(lines) == 1 and
                  lines[0].startswith("kvmpc: ") and must_name in lines[0])
            print(f"{'ok  ' if ok else 'FAIL'} {' '.join(args)[:60]:<60} "
                  f"-> {p.returncode}: {' | '.join(lines)[:120]}")
            failures += not ok
    if not kvm_usable():
        # The missing accelerator itself is one clear line too.
        p = subprocess.run([kvmpc] + BASE, capture_output=True, text=True,
                           timeout=20, stdin=subprocess.DEVNULL)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        ok = (p.returncode == 1 and len(lines) == 1 and
              lines[0].startswith("kvmpc: ") and "KVM" in lines[0])
        print(f"{'ok  ' if ok else 'FAIL'} {'(no /dev/kvm)':<60} "
              f"-> {p.returncode}: {' | '.join(lines)[:120]}")
        failures += not ok
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
