#!/usr/bin/env python3
"""An idle guest's cost to the host: kvmpc against Debian's
qemu-system-x86_64 -enable-kvm (QEMU 7.2) with the same command line.

The guest is tests/guest/vbe-draw.c with "bench=idle": it draws one VBE
frame and halts (cli; hlt), so its vCPU sleeps in KVM and whatever the
emulator still does is its own periodic work.  For each setup, from a few
seconds after the guest halted, for SECS seconds:

    CPU ms/s      utime + stime of the whole process (/proc/PID/stat,
                  clock ticks of 10 ms), and the threads' run time from
                  /proc/PID/task/*/schedstat (ns);
    wake-ups/s    context switches of all threads (voluntary and not,
                  /proc/PID/task/*/status): each one is a thread that went
                  to sleep and was woken, so a sleeping process has none;
    by thread     the same count per thread name (-name debug-threads=on).

Setups (every one with -vga std -m 128M -nodefaults -serial to a file):

    display none      -display none
    vnc, no client    -display none -vnc unix:PATH
    vnc, client       the same with an RFB client connected and an
                      incremental update request outstanding (the client
                      reads whatever comes)
    spice, no client  -display none -spice unix=on,addr=PATH,
                      disable-ticketing=on (skipped if either program lacks
                      SPICE)
    qmp connected     -display none -qmp unix:PATH,server=on,wait=off with
                      a QMP client connected after qmp_capabilities
    net user, pty     -display none, a user-mode network (slirp) on an
                      e1000 the guest never drives, and a pty chardev
                      nobody opens
    seabios           no -kernel, -vga std -display none: SeaBIOS finds no
                      boot device and waits 60 s to retry (its own timer
                      interrupts are guest work, not the emulator's)

The programs alternate setup by setup and run by run; medians.

    bench/idle.py [BUILD_DIR] [RUNS] [SECS] [--strace] [--kvmpc-only]
                  [--only=SETUP]...

--strace also attaches strace -f -c to each kvmpc run (its own wake-ups
are not in the counts, the traced threads' are) and prints the system
calls it saw, to find a wake-up's source; --only= runs one setup.
Prints SKIP and exits 77 without /dev/kvm.
"""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import display                                  # noqa: E402 (the RFB client)

CLK_TCK = os.sysconf("SC_CLK_TCK")
SETUPS = ["display none", "vnc, no client", "vnc, client",
          "spice, no client", "qmp connected", "net user, pty", "seabios"]


def skip(reason):
    print(f"SKIP: idle.py: {reason}")
    sys.exit(77)


def sample(pid):
    """(utime+stime s, schedstat s, {thread name: context switches})."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    ns, by = 0, {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns += int(f.read().split()[0])
            sw = 0
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if "ctxt_switches:" in line:
                        sw += int(line.split()[-1])
            key = f"{name}[{tid}]"
            by[key] = by.get(key, 0) + sw
        except OSError:
            pass                                # a thread that just ended
    return ticks / CLK_TCK, ns / 1e9, by


def has_spice(prog):
    """Whether prog was built with SPICE (the option is refused otherwise)."""
    p = subprocess.run([prog, "-spice", "unix=on,addr=/nonexistent/x",
                        "-version"], capture_output=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    err = p.stderr.decode(errors="replace").lower()
    return not any(m in err for m in ("not available in this build",
                                      "no option group", "spice support"))


class Emu:
    def __init__(self, prog, payload, setup, tmp):
        self.tmp = tmp
        tag = "%d" % time.monotonic_ns()
        self.serial = os.path.join(tmp, "serial-" + tag)
        self.sock = os.path.join(tmp, "sock-" + tag)
        cmd = [prog]
        if os.path.basename(prog).startswith("qemu"):
            cmd += ["-enable-kvm", "-machine", "pc"]
        cmd += ["-name", "idle,debug-threads=on", "-nodefaults",
                "-vga", "std", "-display", "none", "-m", "128M",
                "-serial", "file:" + self.serial]
        if setup != "seabios":
            cmd += ["-kernel", payload, "-append", "bench=idle"]
        if setup.startswith("vnc"):
            cmd += ["-vnc", "unix:" + self.sock]
        elif setup.startswith("spice"):
            cmd += ["-spice", "unix=on,addr=%s,disable-ticketing=on"
                    % self.sock]
        elif setup.startswith("qmp"):
            cmd += ["-qmp", "unix:%s,server=on,wait=off" % self.sock]
        elif setup == "net user, pty":
            cmd += ["-netdev", "user,id=n0", "-device", "e1000,netdev=n0",
                    "-chardev", "pty,id=p0"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.client = None

    def wait_serial(self, text, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("exited: " +
                                   self.proc.stderr.read().decode()[-500:])
            try:
                with open(self.serial, errors="replace") as f:
                    if text in f.read():
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"no '{text}' on the serial port")

    def connect(self, setup):
        if setup == "vnc, client":
            self.client = display.RFB(self.sock, display.ENC_RAW)
            self.client.request(False)
            self.client.update()
            self.client.request()
        elif setup == "qmp connected":
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.sock)
            f = s.makefile("rw")
            f.readline()
            f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
            f.flush()
            f.readline()
            self.client = (s, f)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stderr.close()
        for p in (self.serial, self.sock):
            try:
                os.unlink(p)
            except OSError:
                pass


def run(prog, payload, setup, secs, tmp, use_strace=False):
    """(utime+stime ms/s, schedstat ms/s, wake-ups/s, {thread: /s},
    strace summary or None)"""
    e = Emu(prog, payload, setup, tmp)
    try:
        if setup == "seabios":
            # SeaBIOS's "No bootable device" comes on the VGA, not COM1:
            # give it time to get there (about 4 s here, plus the menu)
            time.sleep(8.0)
        else:
            e.wait_serial("vbe-draw: idle")
        e.connect(setup)
        time.sleep(4.0)         # past any start-up work and 3 s ticks
        tr = None
        if use_strace and shutil.which("strace"):
            tr = subprocess.Popen(["strace", "-f", "-c", "-p",
                                   str(e.proc.pid)],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
            time.sleep(0.5)
        a = sample(e.proc.pid)
        t0 = time.monotonic()
        time.sleep(secs)
        b = sample(e.proc.pid)
        dt = time.monotonic() - t0
        summary = None
        if tr:
            tr.send_signal(2)
            summary = tr.communicate(timeout=30)[1].decode(errors="replace")
        per = {k: (v - a[2].get(k, 0)) / dt for k, v in b[2].items()}
        return ((b[0] - a[0]) * 1000 / dt, (b[1] - a[1]) * 1000 / dt,
                sum(per.values()), per, summary)
    finally:
        if isinstance(e.client, display.RFB):
            e.client.close()
        elif e.client:
            e.client[0].close()
        e.close()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    build = args[0] if len(args) > 0 else "build"
    runs = int(args[1]) if len(args) > 1 else 3
    secs = float(args[2]) if len(args) > 2 else 20
    use_strace = "--strace" in sys.argv
    only = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--only=")]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm not available")
    kvmpc = os.path.join(build, "kvmpc")
    payload = os.path.join(build, "tests", "guest", "vbe-draw.elf")
    for f in (kvmpc, payload):
        if not os.path.exists(f):
            sys.exit(f"idle.py: {f} missing; run `make` first")
    progs = {"kvmpc": kvmpc}
    qemu = shutil.which("qemu-system-x86_64")
    if qemu and "--kvmpc-only" not in sys.argv:
        progs["qemu"] = qemu
    setups = [s for s in SETUPS if not only or s in only]
    if not all(has_spice(p) for p in progs.values()):
        setups = [s for s in setups if not s.startswith("spice")]
    tmp = tempfile.mkdtemp()
    res = {(s, n): [] for s in setups for n in progs}
    for _ in range(runs):
        for s in setups:
            for name, prog in progs.items():    # alternate every setup
                r = run(prog, payload, s, secs, tmp,
                        use_strace and name == "kvmpc")
                res[(s, name)].append(r)
    os.rmdir(tmp)

    q = "qemu" in progs
    print(f"Idle guest (vbe-draw bench=idle, halted), {secs:g} s windows, "
          f"{runs} alternating runs, medians")
    print("| setup | kvmpc CPU ms/s (stat / schedstat) | kvmpc wake-ups/s "
          "| QEMU 7.2 CPU ms/s (stat / schedstat) | QEMU 7.2 wake-ups/s |")
    print("| --- | --- | --- | --- | --- |")
    for s in setups:
        cells = []
        for n in ("kvmpc", "qemu"):
            if n not in progs:
                cells += ["n/a", "n/a"]
                continue
            rows = res[(s, n)]
            cells.append("%.1f / %.2f" % (
                statistics.median(r[0] for r in rows),
                statistics.median(r[1] for r in rows)))
            cells.append("%.2f" % statistics.median(r[2] for r in rows))
        print(f"| {s} | " + " | ".join(cells) + " |")
    print()
    for (s, n), rows in res.items():
        busiest = {}
        for r in rows:
            for k, v in r[3].items():
                name = k.split("[")[0]
                busiest[name] = busiest.get(name, 0) + v / len(rows)
        top = sorted(((v, k) for k, v in busiest.items() if v >= 0.05),
                     reverse=True)
        print(f"  {s} / {n}: " + (", ".join("%s %.2f/s" % (k, v)
                                           for v, k in top) or "none"))
        for r in rows:
            if r[4]:
                print("\n".join("    " + line
                                for line in r[4].splitlines()[:14]))
    print(f"host: {os.cpu_count()} CPUs, {os.uname().release}, load average "
          + " ".join("%.2f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
