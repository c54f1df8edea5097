#!/usr/bin/env python3
"""A KVM guest moved while it runs: both sides of the migrate test.

    run-migrate-test.py EMULATOR PAYLOAD MODE [EXTRA ARGS...]

MODE:
  tcp      live migration to a second kvmpc started with -incoming tcp:
  file     the source saves to a file (migrate "file:"), quits, and a
           fresh kvmpc restores from it (-incoming file:), as
           virsh save/restore does with fd: (libvirt)
  snapshot savevm on a qcow2 disk, the guest runs on, then loadvm takes
           it back: the rounds it prints restart from the saved one
  faults   migrations that fail: the destination killed mid-stream, then
           a destination that refuses the stream's configuration (another
           -m); each time the source must go on running the guest, which
           then passes its checks
  dirty    as tcp, while the guest rewrites 32 MiB at 20 MB/s and checks
           every page after every round (migrate.c's churn_mb=), with
           max-bandwidth 48 MiB/s: precopy takes several passes, and a
           page rewritten after it was sent must be sent again (the dirty
           log; with -accel kvm,dirty-ring-size=N the dirty ring, whose
           rings fill up and make the vCPU exit to have them emptied)
  hops     20 migrations in a row, each to a fresh kvmpc, cycling through
           tcp:, unix:, exec: and fd: (a socketpair: getfd on the
           source, an inherited -incoming fd:N on the destination), with
           multifd (2 channels, zstd) on every other tcp:/unix: hop and
           postcopy on four of the others; the guest writes and reads a
           virtio-blk sector every round (disk=1), its queue on an I/O
           thread on even hops and on the main loop on odd ones, and the
           last round's sector is checked in the image afterwards
  postcopy migrate, then migrate-start-postcopy at once: the destination
           runs the guest and pulls its pages (the guest keeps 32 MiB
           changing and checks them: churn_mb=32)
  recover  postcopy slowed down by max-postcopy-bandwidth, its link cut
           by migrate-pause on the source, then on the destination; each
           time migrate-recover and migrate "resume" finish it

The payload (migrate.c) prints "migrate: round N" every 100 ms of its
own time.  The source is migrated after round MIGRATE_AFTER; the
destination (or the loaded snapshot) must go on with the next rounds,
not boot again, and the guest's final SUMMARY must have no failures: its
XMM registers, a port read interrupted at the stop, the LAPIC timer and
the TSC came through.  EXTRA ARGS go to both processes (e.g.
-accel kvm,kernel-irqchip=split).  Exit 77 (skipped) without /dev/kvm.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "qmp"))
from qmplib import QMP  # noqa: E402

TIMEOUT = float(os.environ.get("KVMPC_GUEST_TIMEOUT", 90))
MIGRATE_AFTER = 8
ROUND_RE = re.compile(r"^migrate: round (\d+) ")
SUMMARY_RE = re.compile(r"^SUMMARY: (\d+) tests, (\d+) failures")


class Failure(Exception):
    pass


class Guest:
    """One kvmpc process: its serial lines, its QMP socket."""

    def __init__(self, name, emulator, payload, tmp, extra, pass_fds=()):
        self.name = name
        self.qmp_path = os.path.join(tmp, name + ".qmp")
        cmd = [emulator, "-nodefaults", "-display", "none",
               "-serial", "stdio", "-m", "128M",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
               "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
               "-kernel", payload] + extra
        print("%s: %s" % (name, " ".join(cmd)), flush=True)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     pass_fds=pass_fds)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        end = time.time() + TIMEOUT
        while True:
            if self.proc.poll() is not None or time.time() > end:
                self.proc.wait()
                time.sleep(0.2)         # the reader takes the last lines
                raise Failure("%s: kvmpc did not start: %s" %
                              (name, "\n".join(self.lines[-10:])))
            if os.path.exists(self.qmp_path):
                try:
                    self.qmp = QMP(self.qmp_path)
                    break
                except OSError:
                    pass
            time.sleep(0.05)

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            print("%s| %s" % (self.name, line), flush=True)
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, pred, what, timeout=TIMEOUT, start=0):
        end = time.time() + timeout
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    if pred(line):
                        return line
                left = end - time.time()
                if left <= 0 or (self.proc.poll() is not None and
                                 self.proc.stdout.closed):
                    raise Failure("%s: no %s: %s" % (
                        self.name, what, "\n".join(self.lines[-10:])))
                self.cond.wait(min(left, 0.5))

    def rounds(self):
        with self.cond:
            return [int(m.group(1)) for m in
                    (ROUND_RE.match(line) for line in self.lines) if m]

    def wait_round(self, n):
        self.wait_for(lambda l: (ROUND_RE.match(l) and
                                 int(ROUND_RE.match(l).group(1)) >= n),
                      "round %d" % n)

    def wait_migration(self, who):
        end = time.time() + TIMEOUT
        while time.time() < end:
            st = self.qmp.ret("query-migrate", {}).get("status")
            if st == "completed":
                return
            if st in ("failed", "cancelled"):
                raise Failure("%s: migration %s: %s" % (
                    who, st, self.qmp.ret("query-migrate", {})))
            time.sleep(0.05)
        raise Failure("%s: migration did not complete" % who)

    def finish(self):
        """Wait for the guest's SUMMARY and exit."""
        line = self.wait_for(lambda l: SUMMARY_RE.match(l), "SUMMARY")
        m = SUMMARY_RE.match(line)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
        if int(m.group(1)) == 0 or int(m.group(2)) != 0:
            raise Failure("%s: the guest's checks failed: %s" %
                          (self.name, line))

    def quit(self):
        try:
            self.qmp.cmd("quit")
        except (EOFError, OSError):
            pass
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check_continues(dst, after):
    """The destination's first round follows the source's last."""
    dst.wait_round(after + 2)
    first = dst.rounds()[0]
    if first <= after or first > after + 3:
        raise Failure("the destination began at round %d, the source "
                      "stopped after %d: the guest did not continue" %
                      (first, after))


def hand_over(src, dst):
    """The source is done: the destination goes on from the source's last
    round and passes its checks."""
    last = max(src.rounds())
    src.quit()
    check_continues(dst, last)
    dst.finish()


def run_tcp(emulator, payload, tmp, extra):
    port = free_port()
    src = Guest("src", emulator, payload, tmp, extra)
    dst = Guest("dst", emulator, payload, tmp,
                extra + ["-incoming", "tcp:127.0.0.1:%d" % port])
    try:
        src.wait_round(MIGRATE_AFTER)
        src.qmp.ret("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
        src.wait_migration("source")
        hand_over(src, dst)
    finally:
        src.kill()
        dst.kill()


CHURN = ["-append", "churn_mb=32 churn_mbps=20 rounds=40"]


def run_dirty(emulator, payload, tmp, extra):
    port = free_port()
    src = Guest("src", emulator, payload, tmp, extra + CHURN)
    dst = Guest("dst", emulator, payload, tmp,
                extra + CHURN + ["-incoming", "tcp:127.0.0.1:%d" % port])
    try:
        src.wait_round(MIGRATE_AFTER)
        src.qmp.ret("migrate-set-parameters", {"max-bandwidth": 48 << 20})
        src.qmp.ret("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
        src.wait_migration("source")
        syncs = src.qmp.ret("query-migrate", {})["ram"]["dirty-sync-count"]
        if syncs < 3:
            raise Failure("precopy took %d dirty syncs: the test wants "
                          "pages rewritten between passes" % syncs)
        hand_over(src, dst)
    finally:
        src.kill()
        dst.kill()


def kvm_tsc_scaling():
    """KVM_CHECK_EXTENSION(KVM_CAP_TSC_CONTROL) on /dev/kvm."""
    import fcntl
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, 0xAE03, 60) > 0
    finally:
        os.close(fd)


KVM_TSC_SCALING = kvm_tsc_scaling()

# A vCPU's state ends with its debug registers (section 10, struct
# kvm_debugregs: 128 bytes) and its TSC rate (section 11: u32 kHz).
TSC_RATE_RE = re.compile(rb"\x0a\x80\x00\x00\x00.{128}\x0b\x04\x00\x00\x00",
                         re.S)


def move_tsc_rate(path, delta):
    """The TSC rate in the saved vCPU state, moved by @delta kHz, as if
    the VM came from a host whose TSC runs faster; returns the saved rate
    (the same for every vCPU)."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    rates = set()
    found = list(TSC_RATE_RE.finditer(data))
    if not found:
        raise Failure("no TSC rate in the saved vCPU state")
    for m in found:
        rate = int.from_bytes(data[m.end():m.end() + 4], "little")
        rates.add(rate)
        data[m.end():m.end() + 4] = (rate + delta).to_bytes(4, "little")
    if len(rates) != 1 or not 100000 <= min(rates) <= 10000000:
        raise Failure("implausible saved TSC rates %r" % rates)
    with open(path, "wb") as f:
        f.write(data)
    return rates.pop()


def run_file(emulator, payload, tmp, extra):
    path = os.path.join(tmp, "saved.state")
    src = Guest("src", emulator, payload, tmp, extra)
    try:
        src.wait_round(MIGRATE_AFTER)
        src.qmp.ret("stop", {})
        src.qmp.ret("migrate", {"uri": "file:" + path})
        src.wait_migration("save")
        last = max(src.rounds())
        src.quit()
    finally:
        src.kill()
    # The state says the TSC ran 1 MHz faster than here: without TSC
    # scaling the destination warns (as QEMU) and runs on.
    rate = move_tsc_rate(path, 1000)
    dst = Guest("dst", emulator, payload, tmp,
                extra + ["-incoming", "file:" + path])
    try:
        # saved while paused, restored paused (as QEMU): then "cont", as
        # libvirt's restore does
        end = time.time() + TIMEOUT
        while dst.qmp.ret("query-status", {})["status"] != "paused":
            if time.time() > end:
                raise Failure("dst: the restored VM is not paused")
            time.sleep(0.05)
        dst.qmp.ret("cont", {})
        check_continues(dst, last)
        warning = ("TSC frequency mismatch between VM (%d kHz) and host "
                   "(%d kHz), and TSC scaling unavailable" % (rate + 1000,
                                                              rate))
        with dst.cond:
            seen = [l for l in dst.lines if "TSC frequency mismatch" in l]
        if KVM_TSC_SCALING:
            if seen:
                raise Failure("dst: scaled, yet warned: %r" % seen)
        elif not any(warning in l for l in seen):
            raise Failure("dst: no TSC rate warning (%r)" % seen)
        dst.finish()
    finally:
        dst.kill()


def run_snapshot(emulator, payload, tmp, extra):
    disk = os.path.join(tmp, "snap.qcow2")
    subprocess.check_call(["qemu-img", "create", "-q", "-f", "qcow2", disk,
                           "16M"])
    g = Guest("vm", emulator, payload, tmp,
              extra + ["-drive", "if=none,id=d0,format=qcow2,file=" + disk])
    try:
        g.wait_round(MIGRATE_AFTER)
        out = g.qmp.ret("human-monitor-command",
                        {"command-line": "savevm s1"})
        if out.strip():
            raise Failure("savevm: %r" % out)
        saved_at = max(g.rounds())
        g.wait_round(saved_at + 5)
        out = g.qmp.ret("human-monitor-command",
                        {"command-line": "loadvm s1"})
        if out.strip():
            raise Failure("loadvm: %r" % out)
        with g.cond:
            mark = len(g.lines)
        line = g.wait_for(lambda l: ROUND_RE.match(l) is not None,
                          "round after loadvm", start=mark)
        n = int(ROUND_RE.match(line).group(1))
        if not saved_at < n <= saved_at + 3:
            raise Failure("after loadvm the guest printed round %d; the "
                          "snapshot was taken after round %d" % (n, saved_at))
        g.finish()
    finally:
        g.kill()


def wait_failed(g):
    end = time.time() + TIMEOUT
    while time.time() < end:
        st = g.qmp.ret("query-migrate", {}).get("status")
        if st == "failed":
            return
        if st == "completed":
            raise Failure("%s: the migration completed" % g.name)
        time.sleep(0.05)
    raise Failure("%s: the migration did not fail" % g.name)


def check_source_runs(src):
    st = src.qmp.ret("query-status", {})["status"]
    if st != "running":
        raise Failure("src: %s after a failed migration" % st)
    src.wait_round(max(src.rounds()) + 2)


def run_faults(emulator, payload, tmp, extra):
    src = Guest("src", emulator, payload, tmp,
                extra + ["-append", "rounds=60"])
    others = []
    try:
        src.wait_round(3)
        # 1: the destination dies mid-stream (1 MB/s: the stream lasts)
        port = free_port()
        dst = Guest("dst1", emulator, payload, tmp,
                    extra + ["-incoming", "tcp:127.0.0.1:%d" % port])
        others.append(dst)
        src.qmp.ret("migrate-set-parameters", {"max-bandwidth": 1 << 20})
        src.qmp.ret("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
        time.sleep(0.3)
        dst.kill()
        wait_failed(src)
        check_source_runs(src)
        # 2: a destination with another configuration refuses the stream
        src.qmp.ret("migrate-set-parameters",
                    {"max-bandwidth": 10 * 10**9})
        port = free_port()
        dst = Guest("dst2", emulator, payload, tmp,
                    extra + ["-m", "256M",
                             "-incoming", "tcp:127.0.0.1:%d" % port])
        others.append(dst)
        src.qmp.ret("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
        wait_failed(src)
        check_source_runs(src)
        src.finish()
    finally:
        src.kill()
        for g in others:
            g.kill()


def wait_status(g, want, who, timeout=TIMEOUT):
    """Poll query-migrate on @g until its status is in @want."""
    end = time.time() + timeout
    st = None
    while time.time() < end:
        st = g.qmp.ret("query-migrate", {}).get("status")
        if st in want:
            return st
        if st in ("failed", "cancelled"):
            raise Failure("%s: migration %s: %s" % (
                who, st, g.qmp.ret("query-migrate", {})))
        time.sleep(0.02)
    raise Failure("%s: migration stayed %s, not %s" % (who, st, want))


def postcopy_pair(emulator, payload, tmp, extra, max_round_ms=2000):
    """A source and a destination with postcopy-ram, a guest that keeps
    32 MiB changing and checked (churn_mb=32)."""
    port = free_port()
    args = ["-append", "churn_mb=32 churn_mbps=40 rounds=40 "
            "max_round_ms=%d" % max_round_ms]
    src = Guest("src", emulator, payload, tmp, extra + args)
    dst = Guest("dst", emulator, payload, tmp,
                extra + args + ["-incoming", "tcp:127.0.0.1:%d" % port])
    for g in (src, dst):
        g.qmp.ret("migrate-set-capabilities", {"capabilities": [
            {"capability": "postcopy-ram", "state": True}]})
    return src, dst, "tcp:127.0.0.1:%d" % port


def check_blocktime(dst, must_have_waited):
    """postcopy-blocktime on the destination: one total per vCPU, none
    below the all-vCPUs total; @must_have_waited: the guest touched pages
    while the link was cut, so some vCPU waited at least a millisecond."""
    info = dst.qmp.ret("query-migrate", {})
    per_vcpu = info.get("postcopy-vcpu-blocktime")
    if "postcopy-blocktime" not in info or per_vcpu is None:
        raise Failure("destination: no postcopy blocktime: %r" % info)
    cpus = len(dst.qmp.ret("query-cpus-fast", {}))
    if len(per_vcpu) != cpus:
        raise Failure("postcopy-vcpu-blocktime has %d entries for %d vCPUs"
                      % (len(per_vcpu), cpus))
    if info["postcopy-blocktime"] > min(per_vcpu):
        raise Failure("all vCPUs waited longer than one of them: %r" % info)
    print("postcopy: blocktime %d ms, per vCPU %s ms" % (
        info["postcopy-blocktime"], per_vcpu), flush=True)
    if must_have_waited and not sum(per_vcpu):
        raise Failure("the link was cut, yet no vCPU waited: %r" % info)


def run_postcopy(emulator, payload, tmp, extra):
    """migrate, then migrate-start-postcopy at once: nearly every page
    goes after the switch, the guest runs on the destination meanwhile."""
    src, dst, uri = postcopy_pair(emulator, payload, tmp, extra)
    try:
        dst.qmp.ret("migrate-set-capabilities", {"capabilities": [
            {"capability": "postcopy-blocktime", "state": True}]})
        src.wait_round(MIGRATE_AFTER)
        src.qmp.ret("migrate", {"uri": uri})
        src.qmp.ret("migrate-start-postcopy", {})
        src.wait_migration("source")
        wait_status(dst, ("completed",), "destination")
        ram = src.qmp.ret("query-migrate", {})["ram"]
        print("postcopy: %d pages asked for by the destination, %d bytes "
              "after the switch" % (ram["postcopy-requests"],
                                    ram["postcopy-bytes"]), flush=True)
        check_blocktime(dst, False)
        hand_over(src, dst)
    finally:
        src.kill()
        dst.kill()


def recover(src, dst, tmp, n):
    """Both sides paused: migrate-recover on a new port, resume."""
    wait_status(src, ("postcopy-paused",), "source")
    wait_status(dst, ("postcopy-paused",), "destination")
    uri = "tcp:127.0.0.1:%d" % free_port()
    if n % 2:
        uri = "unix:" + os.path.join(tmp, "recover%d.sock" % n)
    dst.qmp.ret("migrate-recover", {"uri": uri})
    src.qmp.ret("migrate", {"uri": uri, "resume": True})
    wait_status(src, ("postcopy-active", "completed"), "source")


def run_recover(emulator, payload, tmp, extra):
    """Postcopy slowed down (max-postcopy-bandwidth) so that its link can
    be cut twice, by migrate-pause on the source and then on the
    destination; each time migrate-recover and migrate "resume" carry
    on, and the guest's RAM checks must still pass."""
    # a vCPU that touches a page still on the source waits while the link
    # is down: its round lasts as long as the cut (seconds on a loaded
    # machine), which the guest must not count as a clock jump
    src, dst, uri = postcopy_pair(emulator, payload, tmp, extra,
                                  max_round_ms=30000)
    try:
        dst.qmp.ret("migrate-set-capabilities", {"capabilities": [
            {"capability": "postcopy-blocktime", "state": True}]})
        src.wait_round(MIGRATE_AFTER)
        src.qmp.ret("migrate-set-parameters",
                    {"max-postcopy-bandwidth": 8 << 20})
        src.qmp.ret("migrate", {"uri": uri})
        src.qmp.ret("migrate-start-postcopy", {})
        for n, who in enumerate((src, dst)):
            wait_status(dst, ("postcopy-active",), "destination")
            time.sleep(0.3)
            err = src.qmp.cmd("migrate_cancel")
            if "error" not in err:
                raise Failure("migrate_cancel in postcopy: %r" % err)
            who.qmp.ret("migrate-pause", {})
            recover(src, dst, tmp, n)
        src.wait_migration("source")
        wait_status(dst, ("completed",), "destination")
        ram = src.qmp.ret("query-migrate", {})["ram"]
        if ram["postcopy-requests"] == 0:
            raise Failure("the destination never asked for a page: %r" %
                          ram)
        print("postcopy: %d pages asked for" % ram["postcopy-requests"],
              flush=True)
        check_blocktime(dst, True)
        hand_over(src, dst)
    finally:
        src.kill()
        dst.kill()


HOPS = 20
HOP_TRANSPORTS = ["tcp", "unix", "exec", "fd"]


def hop(cur, n, emulator, payload, tmp, extra):
    """Migrate @cur to a new kvmpc over hop @n's transport; return it.
    A hop that fails kills the destination it started (it would wait for
    its stream for ever, and a stray kvmpc slows later tests)."""
    started = []
    try:
        return hop_to(cur, n, emulator, payload, tmp, extra, started)
    except BaseException:
        for g in started:
            g.kill()
        raise


def hop_to(cur, n, emulator, payload, tmp, extra, started):
    t = HOP_TRANSPORTS[(n - 1) % len(HOP_TRANSPORTS)]
    multifd = t in ("tcp", "unix") and ((n - 1) // 4) % 2 == 1
    postcopy = t in ("tcp", "unix") and (n - 1) // 4 in (2, 4)
    name = "hop%d-%s%s" % (n, t, "-multifd" if multifd else
                           "-postcopy" if postcopy else "")
    if postcopy:
        cur.qmp.ret("migrate-set-capabilities", {"capabilities": [
            {"capability": "postcopy-ram", "state": True}]})
    if multifd:
        cur.qmp.ret("migrate-set-capabilities", {"capabilities": [
            {"capability": "multifd", "state": True}]})
        cur.qmp.ret("migrate-set-parameters", {
            "multifd-channels": 2, "multifd-compression": "zstd"})
    if t == "exec":
        # the stream goes through a file: the destination starts after
        path = os.path.join(tmp, name + ".stream")
        cur.qmp.ret("migrate", {"uri": "exec:cat > " + path})
        cur.wait_migration(cur.name)
        nxt = Guest(name, emulator, payload, tmp,
                    extra + ["-incoming", "exec:cat " + path])
        started.append(nxt)
        return nxt
    pass_fds, keep = (), None
    if t == "tcp":
        port = free_port()
        uri = inc = "tcp:127.0.0.1:%d" % port
    elif t == "unix":
        uri = inc = "unix:" + os.path.join(tmp, name + ".sock")
    else:
        a, keep = socket.socketpair()
        inc, pass_fds = "fd:%d" % keep.fileno(), (keep.fileno(),)
    nxt = Guest(name, emulator, payload, tmp, extra + ["-incoming", inc],
                pass_fds=pass_fds)
    started.append(nxt)
    if t == "fd":
        keep.close()
        req = b'{"execute": "getfd", "arguments": {"fdname": "mig"}}\n'
        socket.send_fds(cur.qmp.sock, [req], [a.fileno()])
        r = cur.qmp.recv_reply()
        if r != {"return": {}}:
            raise Failure("getfd: %r" % r)
        a.close()
        uri = "fd:mig"
    elif t == "unix":
        end = time.time() + TIMEOUT
        while not os.path.exists(inc[5:]):
            if time.time() > end:
                raise Failure("%s: no listening socket" % name)
            time.sleep(0.02)
    cur.qmp.ret("migrate", {"uri": uri})
    if postcopy:
        cur.qmp.ret("migrate-start-postcopy", {})
    cur.wait_migration(cur.name)
    if postcopy:
        wait_status(nxt, ("completed",), name)
    return nxt


DISK_SLOTS = 64                 # migrate.c: sector (round % 64)


def hop_disk(image, n):
    """Hop @n's virtio-blk disk: an I/O thread on even hops (it turns the
    driver's kicks off while it spins; on every fourth hop with a poll
    time of up to 1 s, so it spins through the guest's 100 ms rounds and
    is spinning when the source stops), the main loop on odd ones (it
    needs kicks), so every hop moves a ring between the two.  Spinning
    costs a core, hence not on every hop."""
    drive = ["-drive", "if=none,id=d0,format=raw,file=" + image]
    if n % 2 == 0:
        poll = ",poll-max-ns=1000000000" if n % 4 == 0 else ""
        return ["-object", "iothread,id=io0" + poll] + drive + [
            "-device", "virtio-blk-pci,drive=d0,iothread=io0"]
    return drive + ["-device", "virtio-blk-pci,drive=d0"]


def check_disk(image, last_round):
    """The last round's sector reached the image (migrate.c's pattern)."""
    with open(image, "rb") as f:
        f.seek((last_round % DISK_SLOTS) * 512)
        sector = f.read(512)
    want = last_round.to_bytes(4, "little") + bytes(
        (last_round * 13 + i * 3) & 0xff for i in range(4, 512))
    if sector != want:
        raise Failure("the image's sector %d does not hold round %d" %
                      (last_round % DISK_SLOTS, last_round))


def run_hops(emulator, payload, tmp, extra):
    rounds = HOPS * 5 + 20
    image = os.path.join(tmp, "disk.raw")
    with open(image, "wb") as f:
        f.truncate(1 << 20)
    guests = [Guest("hop0", emulator, payload, tmp,
                    extra + hop_disk(image, 0) +
                    ["-append", "rounds=%d churn_mb=16 disk=1" % rounds])]
    try:
        guests[0].wait_round(3)
        for n in range(1, HOPS + 1):
            cur = guests[-1]
            guests.append(hop(cur, n, emulator, payload, tmp,
                              extra + hop_disk(image, n)))
            last = max(cur.rounds())
            cur.quit()
            # the source ran: the destination starts by itself
            check_continues(guests[-1], last)
        guests[-1].finish()
        check_disk(image, rounds)
    finally:
        for g in guests:
            g.kill()


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    emulator, payload, mode = sys.argv[1:4]
    extra = sys.argv[4:]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm not available")
        return 77
    runs = {"tcp": run_tcp, "dirty": run_dirty, "file": run_file,
            "snapshot": run_snapshot, "hops": run_hops,
            "faults": run_faults, "postcopy": run_postcopy,
            "recover": run_recover}
    if mode not in runs:
        sys.exit("unknown mode %r" % mode)
    with tempfile.TemporaryDirectory(prefix="kvmpc-migrate-") as tmp:
        try:
            runs[mode](emulator, payload, tmp, extra)
        except Failure as e:
            if "did not start" in str(e) and "not supported by" in str(e):
                # e.g. hv-* flags on a host whose KVM has no Hyper-V
                print("SKIP: this host cannot run %s: %s" %
                      (" ".join(extra), str(e).splitlines()[-1]))
                return 77
            print("FAIL: %s" % e)
            return 1
    print("PASS: migrate %s" % mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
