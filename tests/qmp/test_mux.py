#!/usr/bin/env python3
"""-nographic: serial port and monitor share stdio through the mux, driven
through a pseudo-terminal like a user at a terminal.  C-a h prints help,
C-a c switches between console and monitor, C-a x exits."""
import os
import pty
import select
import signal
import termios
import time
from qmplib import (TIMEOUT, check, check_eq, read_fd_until, run_tests)

BANNER = b"QEMU 7.2.0 monitor - type 'help' for more information"


class PtyVM:
    def __init__(self, binary, args):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execv(binary, [binary] + args)
            finally:
                os._exit(127)

        self.log = b""     # everything read, checked for sanitizer reports

    def send(self, data):
        os.write(self.fd, data)

    def read_until(self, token):
        out = read_fd_until(self.fd, token)
        self.log += out
        return out

    def drain(self, quiet=0.3):
        """Whatever arrives until the output is quiet for @quiet s."""
        out = b""
        while True:
            r, _, _ = select.select([self.fd], [], [], quiet)
            if not r:
                return out
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return out
            if not data:
                return out
            out += data
            self.log += data

    def wait(self, timeout=TIMEOUT):
        end = time.time() + timeout
        while time.time() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = 0
                return status
            self.drain(0.05)
        raise AssertionError("kvmpc did not exit")

    def close(self):
        if self.pid:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        self.drain(0.05)
        os.close(self.fd)
        for marker in (b"AddressSanitizer", b"runtime error:"):
            check(marker not in self.log, "sanitizer report: %r" % self.log)


def test_mux_keys(binary):
    vm = PtyVM(binary, ["-S", "-nographic", "-machine", "pc"])
    try:
        # The monitor starts in the background: nothing printed yet.
        check_eq(vm.drain(0.5), b"", "quiet console at start")
        vm.send(b"\x01h")
        out = vm.read_until(b"C-a C-a  sends C-a")
        for line in (b"C-a h    print this help", b"C-a x    exit emulator",
                     b"C-a c    switch between console and monitor"):
            check(line in out, "help lists %r" % line)
        # To the monitor: banner and prompt on the first switch.
        vm.send(b"\x01c")
        out = vm.read_until(b"(qemu) ")
        check(BANNER in out, "banner on first switch: %r" % out)
        vm.send(b"info status\r")
        out = vm.read_until(b"(qemu) ")
        check(b"VM status: paused (prelaunch)" in out, "info status")
        vm.send(b"info chardev\r")
        out = vm.read_until(b"(qemu) ")
        check(b"serial0: filename=mux" in out, "mux chardev: %r" % out)
        check(b"serial0-base: filename=stdio" in out, "base chardev")
        # Back to the console: the monitor no longer sees the input.
        vm.send(b"\x01c")
        vm.drain()
        vm.send(b"info status\r")
        check(b"VM status" not in vm.drain(), "console input not to monitor")
        # And to the monitor again: just the prompt this time.
        vm.send(b"\x01c")
        out = vm.read_until(b"(qemu) ")
        check(BANNER not in out, "banner only once")
        vm.send(b"info kvm\r")
        check(b"kvm support: enabled" in vm.read_until(b"(qemu) "),
              "monitor works after switching back")
        # C-a C-a is a literal C-a for the focused frontend (C-a = home).
        vm.send(b"status\x01\x01info \r")
        # C-a redraws the line, prompt included, so wait for the answer
        # itself (read_until fails with the output if it never comes),
        # then for the prompt after it.
        out = vm.read_until(b"VM status")
        if b"(qemu) " not in out.split(b"VM status", 1)[1]:
            vm.read_until(b"(qemu) ")
        # Exit.
        vm.send(b"\x01x")
        out = vm.read_until(b"QEMU: Terminated")
        status = vm.wait()
        check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
              "C-a x exits with status 0 (status %r)" % status)
    finally:
        vm.close()


def test_mux_terminal_restored(binary):
    """After C-a x the terminal is back in cooked mode."""
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            os.execv(binary, [binary, "-S", "-nographic"])
        finally:
            os._exit(127)
    try:
        time.sleep(0.5)
        during = termios.tcgetattr(slave)
        check(not during[3] & termios.ICANON, "raw mode while running")
        os.write(master, b"\x01x")
        end = time.time() + TIMEOUT
        while time.time() < end:
            if os.waitpid(pid, os.WNOHANG)[0]:
                pid = 0
                break
            r, _, _ = select.select([master], [], [], 0.05)
            if r:
                os.read(master, 65536)
        check(pid == 0, "kvmpc exited")
        after = termios.tcgetattr(slave)
        check_eq(after[3], before[3], "lflags restored")
        check_eq(after[0], before[0], "iflags restored")
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(master)
        os.close(slave)


def test_mon_stdio_serial(binary):
    """-serial mon:stdio with -nodefaults behaves the same, and a QMP
    client sees the mux as two chardevs."""
    vm = PtyVM(binary, ["-S", "-nodefaults", "-display", "none",
                        "-serial", "mon:stdio"])
    try:
        vm.send(b"\x01c")
        check(BANNER in vm.read_until(b"(qemu) "), "banner")
        vm.send(b"quit\r")
        status = vm.wait()
        check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
              "quit from the muxed monitor")
    finally:
        vm.close()


if __name__ == "__main__":
    run_tests([test_mux_keys, test_mux_terminal_restored,
               test_mon_stdio_serial])
