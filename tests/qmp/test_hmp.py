#!/usr/bin/env python3
"""The human monitor on a chardev: QEMU's banner and prompt, the info
commands, x/xp, line editing and history, on unix, telnet and pty; and
qemu-io on a guest's disk."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from qmplib import (BASE_ARGS, HMP, TIMEOUT, Kvmpc, check, check_eq,
                    read_fd_until, run_tests, wait_for)

BANNER = b"QEMU 7.2.0 monitor - type 'help' for more information\r\n"


def hmp_vm(binary, extra=()):
    tmp = tempfile.mkdtemp(prefix="kvmpc-hmp-")
    path = os.path.join(tmp, "hmp.sock")
    vm = Kvmpc(binary, BASE_ARGS + ["-monitor",
                                    "unix:%s,server=on,wait=off" % path] +
               list(extra), tmpdir=tmp, wait_sockets=[path])
    return vm, path


def connect(path):
    m = HMP.unix(path)
    greeting = m.read_until(HMP.PROMPT)
    check_eq(greeting, BANNER + b"(qemu) ", "banner and prompt")
    return m


def test_banner_and_info(binary):
    vm, path = hmp_vm(binary, ["-name", "hmp-vm", "-uuid",
                               "11111111-2222-3333-4444-555555555555"])
    try:
        m = connect(path)
        check_eq(m.command("info status"),
                 "VM status: paused (prelaunch)\r\n", "info status")
        check_eq(m.command("info name"), "hmp-vm\r\n", "info name")
        check_eq(m.command("info uuid"),
                 "11111111-2222-3333-4444-555555555555\r\n", "info uuid")
        check_eq(m.command("info kvm"), "kvm support: enabled\r\n",
                 "info kvm")
        check_eq(m.command("info version"), "7.2.0 (kvmpc-0.1.0)\r\n",
                 "info version")
        check(re.match(r"\* CPU #0: thread_id=\d+\r\n$",
                       m.command("info cpus")), "info cpus")
        regs = m.command("info registers")
        for reg in ("RAX=", "RIP=", "CS =", "GDT=", "CR0=", "EFER="):
            check(reg in regs, "info registers shows " + reg)
        check(m.command("info chardev").startswith(
            "compat_monitor0: filename=unix:"), "info chardev")
        check("address-space: memory" in m.command("info mtree"), "mtree")
        check(m.command("info qtree").startswith("bus: main-system-bus"),
              "qtree")
        check("Host bridge: PCI device 8086:1237" in m.command("info pci"),
              "info pci")
        info_help = m.command("info")
        for sub in ("status", "version", "registers", "cpus", "pci",
                    "qtree", "mtree", "chardev", "kvm"):
            check("info %s " % sub in info_help, "info lists " + sub)
        check_eq(m.command("info bogus"), "unknown command: 'info bogus'\r\n",
                 "unknown info")
        helptext = m.command("help")
        for cmd in ("info", "stop", "cont|c", "system_reset",
                    "system_powerdown", "quit|q", "x ", "xp "):
            check(cmd in helptext, "help lists " + cmd)
        check_eq(m.command("help quit"), "quit|q  -- quit the emulator\r\n",
                 "help quit")
    finally:
        vm.close()


def test_run_control(binary):
    vm, path = hmp_vm(binary)
    try:
        m = connect(path)
        check_eq(m.command("c"), "", "cont alias")
        check_eq(m.command("info status"), "VM status: running\r\n", "run")
        check_eq(m.command("stop"), "", "stop")
        check_eq(m.command("info status"), "VM status: paused\r\n", "pause")
        check_eq(m.command("system_reset"), "", "system_reset")
        check_eq(m.command("system_powerdown"), "", "system_powerdown")
        check_eq(m.command("cpu 5"), "invalid CPU index\r\n", "cpu 5")
        check_eq(m.command("cpu 0"), "", "cpu 0")
        m.sock.sendall(b"quit\r")
        check_eq(vm.wait(), 0, "quit exits 0")
    finally:
        vm.close()


def test_memory_dump(binary):
    vm, path = hmp_vm(binary)
    try:
        m = connect(path)
        out = m.command("xp/4xw 0xffff0")
        check(re.match(r"00000000000ffff0:( 0x[0-9a-f]{8}){4}\r\n$", out),
              "xp words: %r" % out)
        check_eq(m.command("x/4xw 0xffff0"), out, "x with paging off")
        check(re.match(r"00000000000ffff0:( 0x[0-9a-f]{2}){8}\r\n"
                       r"00000000000ffff8:( 0x[0-9a-f]{2}){8}\r\n$",
                       m.command("xp /16xb 0xffff0")), "xp bytes")
        check_eq(m.command("x/2x 0xfffffffffffffffc")[:17],
                 "fffffffffffffffc:", "address at the top of memory")
    finally:
        vm.close()


def test_line_editing(binary):
    vm, path = hmp_vm(binary)
    try:
        m = connect(path)
        s = m.sock

        def run(keys):
            # Redraws print "\r(qemu) ..."; the next prompt follows "\n".
            s.sendall(keys)
            return m.read_until(b"\n" + HMP.PROMPT).decode(errors="replace")

        # Home, right, insert: "ifo status" -> "info status".
        out = run(b"ifo status\x1b[H\x1b[Cn\r")
        check("VM status: paused (prelaunch)" in out, "home/right/insert")
        # Backspace and delete: "info versionxy" -> "info version".
        out = run(b"info versionxy\x7f\x1b[D\x1b[3~\r")
        check("7.2.0 (kvmpc-0.1.0)" in out, "backspace/delete: %r" % out)
        # C-u kills the line, C-a / C-e move, C-k kills to the end.
        out = run(b"garbage\x15info kvm\x01\x05 extra\x1b[D\x1b[D\x1b[D"
                  b"\x1b[D\x1b[D\x1b[D\x0b\r")
        check("kvm support: enabled" in out, "C-u/C-a/C-e/C-k: %r" % out)
        # C-w deletes the word before the cursor.
        out = run(b"info status junk\x17\r")
        check("VM status" in out, "C-w: %r" % out)
        # History: up twice goes back two commands.
        out = run(b"\x1b[A\x1b[A\r")
        check("kvm support: enabled" in out, "history up: %r" % out)
        out = run(b"\x1b[A\x1b[A\x1b[B\r")
        check("kvm support: enabled" in out or "VM status" in out,
              "history down: %r" % out)
        hist = run(b"info history\r")
        check("'info kvm'" in hist and "'info status'" in hist,
              "info history: %r" % hist)
        # Tab completion of a unique command name.
        out = run(b"info vers\t\r")
        check("7.2.0 (kvmpc-0.1.0)" in out, "tab completion: %r" % out)
        # A line too long is cut, not a crash.
        out = run(b"x" * 10000 + b"\r")
        check("unknown command" in out, "overlong line")
        # \r\n line ends run the command once.
        s.sendall(b"info kvm\r\n")
        m.read_until(b"\n" + HMP.PROMPT)
        s.sendall(b"info name\r")
        out = m.read_until(HMP.PROMPT)
        check(out.startswith(b"info name\r\n"), "no empty extra command")
    finally:
        vm.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_telnet(binary):
    port = free_port()
    vm = Kvmpc(binary, BASE_ARGS + [
        "-monitor", "telnet:127.0.0.1:%d,server=on,wait=off" % port])
    try:
        def try_connect():
            try:
                return socket.create_connection(("127.0.0.1", port), 1)
            except OSError:
                return None
        sock = None
        end = time.time() + TIMEOUT
        while sock is None and time.time() < end:
            sock = try_connect()
            time.sleep(0.05)
        check(sock is not None, "telnet port never opened")
        m = HMP(sock)
        data = m.read_until(HMP.PROMPT)
        check(data.startswith(b"\xff\xfb\x01"), "telnet negotiation first")
        check(BANNER in data, "banner over telnet")
        # Telnet commands in the input are stripped.
        sock.sendall(b"\xff\xfd\x03info \xff\xfb\x18kvm\r")
        out = m.read_until(HMP.PROMPT)
        check(b"kvm support: enabled" in out, "IAC stripped: %r" % out)
    finally:
        vm.close()


def test_pty_chardev(binary):
    vm = Kvmpc(binary, BASE_ARGS + ["-chardev", "pty,id=ptymon",
                                    "-mon", "chardev=ptymon,mode=readline"])
    try:
        found = []

        def announced():
            m = re.search(r"char device redirected to (/dev/pts/\d+) "
                          r"\(label ptymon\)", vm.stdout())
            if m:
                found.append(m.group(1))
            return bool(m)
        wait_for(announced, what="pty announcement")
        fd = os.open(found[0], os.O_RDWR | os.O_NOCTTY)
        try:
            out = read_fd_until(fd, b"(qemu) ")
            check(BANNER in out, "banner on the pty: %r" % out)
            os.write(fd, b"info chardev\r")
            out = read_fd_until(fd, b"(qemu) ")
            check(("ptymon: filename=pty:" + found[0]).encode() in out,
                  "pty filename: %r" % out)
        finally:
            os.close(fd)
    finally:
        vm.close()


QEMU_IO_RATE = re.compile(r"^[0-9.]+ (bytes|KiB|MiB), 1 ops; \d\d\.\d\d sec "
                          r"\([0-9.]+ (bytes|[KMGT]iB)/sec and [0-9.]+ "
                          r"ops/sec\)$")


def test_qemu_io(binary):
    """HMP qemu-io, as QEMU 7.2's: on a device's disk (-d and the virtio
    proxy's virtio-backend path), on a node; its report on stdout (the
    rate line aside, the same words as QEMU's), its errors; what it wrote
    is in the image afterwards (Debian's qemu-io reads it)."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-qemu-io-")
    img = os.path.join(tmp, "disk.raw")
    with open(img, "wb") as f:
        f.truncate(4 << 20)
    dev = "/machine/peripheral/vd0/virtio-backend"
    cmds = [
        ('-d %s "write -P 0x55 0 64k"' % dev, ""),
        ('-d %s "read -P 0x55 0 64k"' % dev, ""),
        ('-d %s "read -P 0x56 4k 4k"' % dev, ""),
        ('-d %s "write -z 8k 4k"' % dev, ""),
        ('-d %s "read 4M 512"' % dev, ""),
        ('-d %s "read 0 x"' % dev, ""),
        ('-d %s "frob"' % dev, ""),          # on stderr
        ('-d %s "write"' % dev, ""),         # on stderr
        ('f0 "read -P 0 1M 4k"', ""),
        ('-d %s "flush"' % dev, ""),
        ('-d nosuch "read 0 4k"', "Error: Device 'nosuch' not found\r\n"),
        ('nosuch "read 0 4k"',
         "Error: Cannot find device='' nor node-name='nosuch'\r\n"),
        ('-d %s' % dev, "qemu-io: string expected\r\nTry \"help qemu-io\" "
         "for more information\r\n"),
        ('', "qemu-io: block device name expected\r\nTry \"help qemu-io\" "
         "for more information\r\n")]
    req = [{"execute": "qmp_capabilities"}] + [
        {"execute": "human-monitor-command",
         "arguments": {"command-line": ("qemu-io " + c).strip()}}
        for c, _ in cmds] + [{"execute": "quit"}]
    try:
        p = subprocess.run(
            [binary] + BASE_ARGS + [
                "-accel", "qtest", "-qmp", "stdio",
                "-blockdev", "driver=file,filename=%s,node-name=f0" % img,
                "-blockdev", "driver=raw,file=f0,node-name=n0",
                "-device", "virtio-blk-pci,drive=n0,id=vd0"],
            input="".join(json.dumps(r) + "\n" for r in req),
            capture_output=True, text=True, timeout=30)
        replies = [json.loads(line) for line in p.stdout.splitlines()
                   if line.startswith("{")]
        replies = [r["return"] for r in replies
                   if isinstance(r.get("return"), str)]
        check_eq(replies, [want for _, want in cmds], "monitor replies")
        report = [line for line in p.stdout.splitlines()
                  if not line.startswith("{")]
        rates = [line for line in report if QEMU_IO_RATE.match(line)]
        check_eq(len(rates), 5, "rate lines in %r" % report)
        check('command "frob" not found\n' in p.stderr and
              "bad argument count 0 to write, expected at least 2 "
              "arguments\n" in p.stderr, "stderr: %r" % p.stderr)
        check_eq([line for line in report if line not in rates], [
            "wrote 65536/65536 bytes at offset 0",
            "read 65536/65536 bytes at offset 0",
            "Pattern verification failed at offset 4096, 4096 bytes",
            "read 4096/4096 bytes at offset 4096",
            "wrote 4096/4096 bytes at offset 8192",
            "read failed: Input/output error",
            "Parsing error: non-numeric argument, or extraneous/"
            "unrecognized suffix -- x",
            "read 4096/4096 bytes at offset 1048576"], "qemu-io's report")
        with open(img, "rb") as f:
            data = f.read(12 << 10)
        check(data[:8192] == b"\x55" * 8192 and
              data[8192:12288] == bytes(4096), "the image's bytes")
        if shutil.which("qemu-io"):
            r = subprocess.run(["qemu-io", "-f", "raw", "-c",
                                "read -P 0x55 16k 48k", img],
                               capture_output=True, text=True)
            check("Pattern verification failed" not in r.stdout and
                  r.returncode == 0, "Debian's qemu-io: %s" % r.stdout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_banner_and_info, test_run_control, test_memory_dump,
               test_line_editing, test_telnet, test_pty_chardev,
               test_qemu_io])
