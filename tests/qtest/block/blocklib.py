"""Helpers for the block tests driven from Python (tests/qtest/block/).

QTest: kvmpc under `-qtest stdio` (docs/qtest.md), with the PIIX3 IDE
disk and its bus master driven by ATA commands, as ide-test.c does in C.
Tgtd: Debian's tgt iSCSI target on 127.0.0.1 with a private control
port, started and stopped by its pid (there is no init system).
TAP: a tiny runner printing `ok N name` / `not ok` / `# SKIP reason`.
"""
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import traceback

# A step that takes longer than this has hung: fail it with what kvmpc said
# instead of letting meson's whole-file timeout kill every later case.
STEP_TIMEOUT_S = 120

# ---- TAP ------------------------------------------------------------------


class Skip(Exception):
    pass


def run_cases(cases):
    """cases: list of (name, fn).  Returns the exit status."""
    print(f"1..{len(cases)}", flush=True)
    failed = 0
    for i, (name, fn) in enumerate(cases, 1):
        try:
            fn()
            print(f"ok {i} {name}", flush=True)
        except Skip as e:
            print(f"ok {i} {name} # SKIP {e}", flush=True)
        except Exception:  # noqa: BLE001 - report and go on
            failed += 1
            for line in traceback.format_exc().splitlines():
                print(f"# {line}")
            print(f"not ok {i} {name}", flush=True)
    return 1 if failed else 0


def run(*cmd, check=True, **kw):
    kw.setdefault("timeout", STEP_TIMEOUT_S)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, **kw)
    if check and p.returncode:
        raise AssertionError(f"{' '.join(map(str, cmd))} -> {p.returncode}: "
                             f"{p.stderr.strip()}")
    return p


# ---- qtest ------------------------------------------------------------------

IDE_BASE, IDE_CTL = 0x1f0, 0x3f6
ST_BSY, ST_DRDY, ST_DRQ, ST_ERR = 0x80, 0x40, 0x08, 0x01
IDE_DEVFN = 0x09            # 00:01.1
BMDMA_BASE = 0xc000
PRD_TABLE, DATA_BUF = 0x10000, 0x100000
CMD_READ_DMA, CMD_WRITE_DMA, CMD_FLUSH_CACHE = 0xc8, 0xca, 0xe7


class QTest:
    def __init__(self, binary, args, env=None):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [binary, "-qtest", "stdio", "-qtest-log", "none", "-accel",
             "qtest", "-nodefaults", "-display", "none"] + args,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            text=True, env=env)

    def stderr(self):
        self.log.seek(0)
        return self.log.read().strip()

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        while True:
            reply = self._readline(line)
            if not reply:
                self.proc.wait()
                raise AssertionError(f"kvmpc exited ({self.proc.returncode})"
                                     f" at '{line[:60]}': {self.stderr()}")
            if reply.startswith("IRQ"):
                continue
            if not reply.startswith("OK"):
                raise AssertionError(f"{line[:60]} -> {reply.strip()}")
            return reply[2:].strip()

    def _readline(self, line):
        """One reply line; a kvmpc that stops answering is killed (the
        line then reads as EOF and cmd() reports the exit with stderr).
        A watchdog rather than select(): the pipe's reader buffers."""
        watchdog = threading.Timer(STEP_TIMEOUT_S, self._hung, [line])
        watchdog.start()
        try:
            return self.proc.stdout.readline()
        finally:
            watchdog.cancel()

    def _hung(self, line):
        print(f"# no reply in {STEP_TIMEOUT_S}s to '{line[:60]}': killing",
              flush=True)
        self.proc.kill()

    def outb(self, port, v):
        self.cmd(f"outb {port:#x} {v:#x}")

    def outw(self, port, v):
        self.cmd(f"outw {port:#x} {v:#x}")

    def outl(self, port, v):
        self.cmd(f"outl {port:#x} {v:#x}")

    def inb(self, port):
        return int(self.cmd(f"inb {port:#x}"), 16)

    def memwrite(self, addr, data):
        self.cmd(f"write {addr:#x} {len(data)} 0x{data.hex()}")

    def memread(self, addr, size):
        return bytes.fromhex(self.cmd(f"read {addr:#x} {size}")[2:])

    def writel(self, addr, v):
        self.cmd(f"writel {addr:#x} {v:#x}")

    def quit(self):
        self.proc.stdin.close()
        rc = self.proc.wait(timeout=60)
        self.log.close()
        return rc

    def kill(self):
        """SIGKILL: nothing in kvmpc gets to run after this."""
        self.proc.send_signal(signal.SIGKILL)
        rc = self.proc.wait(timeout=60)
        self.proc.stdin.close()
        self.log.close()
        return rc

    # ---- PIIX3 IDE, primary channel, master ----------------------------

    def ide_setup(self):
        """BAR4 at BMDMA_BASE, I/O and bus mastering on."""
        self.outl(0xcf8, 0x80000000 | IDE_DEVFN << 8 | 0x20)
        self.outl(0xcfc, BMDMA_BASE)
        self.outl(0xcf8, 0x80000000 | IDE_DEVFN << 8 | 0x04)
        self.outw(0xcfc, 0x05)

    def ide_wait(self):
        for _ in range(100000):
            st = self.inb(IDE_CTL)
            if not st & ST_BSY:
                return self.inb(IDE_BASE + 7)
        raise AssertionError("IDE drive stays busy")

    def ata_dma(self, cmd, lba, data=None, nsect=None):
        """READ DMA / WRITE DMA (LBA28) through one PRD; returns
        (status, bytes read)."""
        n = nsect if nsect is not None else len(data) // 512
        size = n * 512
        assert 0 < n <= 128 and size <= 65536
        if data is not None:
            self.memwrite(DATA_BUF, data)
        self.writel(PRD_TABLE, DATA_BUF)
        self.writel(PRD_TABLE + 4, (size & 0xffff) | 0x80000000)
        to_mem = 0x08 if cmd == CMD_READ_DMA else 0
        self.outb(BMDMA_BASE, 0)
        self.outb(BMDMA_BASE + 2, 0x06)
        self.outl(BMDMA_BASE + 4, PRD_TABLE)
        self.outb(BMDMA_BASE, to_mem)
        self.outb(IDE_BASE + 6, 0xe0 | (lba >> 24 & 0xf))
        self.outb(IDE_BASE + 2, n & 0xff)
        self.outb(IDE_BASE + 3, lba & 0xff)
        self.outb(IDE_BASE + 4, lba >> 8 & 0xff)
        self.outb(IDE_BASE + 5, lba >> 16 & 0xff)
        self.outb(IDE_BASE + 7, cmd)
        self.outb(BMDMA_BASE, to_mem | 1)
        st = self.ide_wait()
        self.outb(BMDMA_BASE, 0)
        got = self.memread(DATA_BUF, size) if to_mem else None
        return st, got

    def ata_flush(self):
        self.outb(IDE_BASE + 6, 0xe0)
        self.outb(IDE_BASE + 7, CMD_FLUSH_CACHE)
        return self.ide_wait()


# ---- tgtd ---------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tgt_missing():
    """Why tgtd cannot run here, or None."""
    for tool in ("tgtd", "tgtadm"):
        if not any(os.access(os.path.join(d, tool), os.X_OK)
                   for d in os.environ.get("PATH", "").split(":") +
                   ["/usr/sbin", "/sbin"]):
            return f"{tool} not installed (Debian package tgt)"
    if os.geteuid() != 0:
        return "tgtd needs root (it binds its control socket in /var/run/tgtd)"
    return None


def _which(tool):
    for d in os.environ.get("PATH", "").split(":") + ["/usr/sbin", "/sbin"]:
        p = os.path.join(d, tool)
        if os.access(p, os.X_OK):
            return p
    return tool


class Tgtd:
    """tgtd on 127.0.0.1:port with target IQN and LUN 1 backed by a file."""
    IQN = "iqn.2024-01.org.kvmpc.test:disk"

    def __init__(self, backing, thin=True, port=None):
        self.backing = backing
        self.thin = thin
        self.port = port or free_port()
        self.control = 20000 + os.getpid() % 10000   # private mgmt socket
        self.proc = None

    @property
    def url(self):
        return f"iscsi://127.0.0.1:{self.port}/{self.IQN}/1"

    def adm(self, *args):
        return run(_which("tgtadm"), "-C", str(self.control), "--lld",
                   "iscsi", *args)

    def start(self):
        os.makedirs("/var/run/tgtd", exist_ok=True)
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [_which("tgtd"), "-f", "-C", str(self.control), "--iscsi",
             f"portal=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise Skip("tgtd could not start: " +
                           self.log.read().strip().replace("\n", "; "))
            p = run(_which("tgtadm"), "-C", str(self.control), "--lld",
                    "iscsi", "--mode", "target", "--op", "show", check=False)
            if p.returncode == 0:
                break
            if time.time() > deadline:
                self.stop()
                raise Skip("tgtd did not answer on its control port")
            time.sleep(0.1)
        self.adm("--mode", "target", "--op", "new", "--tid", "1",
                 "--targetname", self.IQN)
        self.adm("--mode", "logicalunit", "--op", "new", "--tid", "1",
                 "--lun", "1", "--backing-store", self.backing)
        if self.thin:
            self.adm("--mode", "logicalunit", "--op", "update", "--tid", "1",
                     "--lun", "1", "--params", "thin_provisioning=1")
        self.adm("--mode", "target", "--op", "bind", "--tid", "1",
                 "--initiator-address", "ALL")
        # the portal listens once the daemon answers; make sure
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # tgtd ignores SIGTERM while it has targets: stop it by its pid
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None
        for suffix in ("", ".lock"):
            try:
                os.unlink(f"/var/run/tgtd/socket.{self.control}{suffix}")
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
