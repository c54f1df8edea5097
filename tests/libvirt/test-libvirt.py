#!/usr/bin/env python3
"""libvirt drives kvmpc: Debian's libvirtd 9.0 with <emulator> pointing at
the built kvmpc.

The test starts its own virtlogd and libvirtd in a private mount
namespace: empty temporary directories are bind-mounted over
/etc/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and
/run/libvirt, so nothing of the host's libvirt is read or changed and the
daemons see a fresh install; virsh talks to them on a socket in the
temporary directory.  What needs a running guest (the guest kit's demo
payload through <kernel>) needs /dev/kvm and says SKIP without it:
test_lifecycle (start, the serial log, suspend/resume, domstats,
qemu-monitor-command, shutdown through the ACPI power button, destroy),
test_console (virsh console on a pty serial), test_reboot, test_disks
(virtio-blk qcow2 and IDE raw), test_vnc, test_save_restore,
test_snapshot (internal snapshots) and test_migrate (live, to a second
libvirtd).  The probe (domcapabilities) and define/dumpxml run anywhere.
KVMPC_LIBVIRT_KEEP=1 keeps the temporary directory (libvirtd.log).

usage: test-libvirt.py KVMPC [TEST...]   (exit 0 pass, 1 fail, 77 skip)
"""
import json
import functools
import os
import pty
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET

SKIP = 77
HOST_QEMU_BINARIES = ["/usr/bin/qemu-system-x86_64", "/usr/bin/qemu-system-i386",
                      "/usr/bin/qemu-system-x86_64-microvm",
                      "/usr/libexec/qemu-kvm"]
LIBVIRT_DIRS = ["/etc/libvirt", "/var/lib/libvirt", "/var/cache/libvirt",
                "/var/log/libvirt", "/run/libvirt"]


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Libvirt:
    """virtlogd + libvirtd in a mount namespace of their own."""

    def __init__(self, host_uuid=None, pki=None):
        """@pki: certificates for migrate --tls (ca-cert.pem,
        server-*.pem, client-*.pem) copied into the daemon's
        migrate_tls_x509_cert_dir."""
        self.tmp = tempfile.mkdtemp(prefix="kvmpc-libvirt-")
        self.pki_dir = os.path.join(self.tmp, "pki-migrate")
        os.makedirs(self.pki_dir)
        if pki:
            self.add_pki(pki)
        self.sock_dir = os.path.join(self.tmp, "sock")
        os.makedirs(self.sock_dir)
        binds = []
        for d in LIBVIRT_DIRS:
            private = os.path.join(self.tmp, d.strip("/").replace("/", "_"))
            os.makedirs(private)
            binds.append((private, d))
        etc = os.path.join(self.tmp, "etc_libvirt")
        with open(os.path.join(etc, "libvirtd.conf"), "w") as f:
            f.write('unix_sock_dir = "%s"\nauth_unix_rw = "none"\n'
                    'log_outputs = "1:file:%s/libvirtd.log"\n'
                    'log_filters = "1:qemu 1:util.command 3:util 3:rpc"\n'
                    % (self.sock_dir, self.tmp))
            if host_uuid:
                # two daemons on one host: libvirt refuses to migrate
                # between the same host UUIDs
                f.write('host_uuid = "%s"\n' % host_uuid)
        with open(os.path.join(etc, "qemu.conf"), "w") as f:
            # the test's files stay root's; no cgroups without systemd
            f.write('user = "root"\ngroup = "root"\n'
                    'dynamic_ownership = 0\nremember_owner = 0\n'
                    'cgroup_controllers = []\n'
                    'namespaces = []\n'
                    'migrate_tls_x509_cert_dir = "%s"\n' % self.pki_dir)
        script = "set -e\n"
        for src, dst in binds:
            script += "mkdir -p %s && mount --bind %s %s\n" % (dst, src, dst)
        # Debian's QEMU binaries are hidden from these daemons (an empty,
        # non-executable file over each): libvirt would otherwise probe
        # each of them (about 2 s apiece) the first time a call such as
        # `virsh domstats` asks for every emulator's capabilities, and
        # kvmpc is the only emulator under test.
        hidden = os.path.join(self.tmp, "no-emulator")
        open(hidden, "w").close()
        for qemu in HOST_QEMU_BINARIES:
            if os.path.exists(qemu):
                script += "mount --bind %s %s\n" % (hidden, qemu)
        script += ("virtlogd -d -p %s/virtlogd.pid\n" % self.tmp +
                   "exec libvirtd -f /etc/libvirt/libvirtd.conf "
                   "--pid-file %s/libvirtd.pid\n" % self.tmp)
        # tini -s makes the daemons' parent a child subreaper: libvirt
        # starts kvmpc with -daemonize, so an exiting kvmpc is reparented
        # to it and reaped at once.  Without one the orphan waits for this
        # host's init to reap it, and libvirtd, which polls kill(pid, 0)
        # after SIGTERM, waits 1-2 s for every kvmpc it stops.
        self.proc = subprocess.Popen(["unshare", "-m", "--propagation",
                                      "private", "tini", "-s", "-g", "--",
                                      "sh", "-c", script],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(
                                         self.tmp, "daemon.err"), "wb"))
        self.uri = ("qemu:///system?socket=%s/libvirt-sock" % self.sock_dir)
        end = time.time() + 30
        while not os.path.exists(os.path.join(self.sock_dir, "libvirt-sock")):
            if self.proc.poll() is not None or time.time() > end:
                err = open(os.path.join(self.tmp, "daemon.err")).read()
                self.close()        # virtlogd may have started
                raise Failure("libvirtd did not start: %s" % err)
            time.sleep(0.1)

    def add_pki(self, files):
        for f in files:
            shutil.copy(f, self.pki_dir)

    def virsh(self, *args, ok=True, timeout=120):
        p = subprocess.run(["virsh", "-c", self.uri] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        if ok and p.returncode != 0:
            raise Failure("virsh %s: %s%s\n%s" % (" ".join(args), p.stdout,
                                                 p.stderr, self.log_tail()))
        return p

    def log_tail(self, n=15):
        try:
            lines = open(os.path.join(self.tmp, "libvirtd.log")).readlines()
        except OSError:
            return ""
        errs = [l for l in lines if " error : " in l]
        return "".join(errs[-n:])

    def close(self):
        self.proc.terminate()       # tini, which passes it to libvirtd
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        try:
            with open(os.path.join(self.tmp, "virtlogd.pid")) as f:
                os.kill(int(f.read()), 15)
        except (OSError, ValueError):
            pass
        if os.environ.get("KVMPC_LIBVIRT_KEEP"):
            print("kept %s (libvirtd.log, the domains' logs)" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def test_domcapabilities(lv, kvmpc):
    """The probe: libvirt starts kvmpc as it would QEMU and accepts it."""
    virttype = "kvm" if os.path.exists("/dev/kvm") else "qemu"
    out = lv.virsh("domcapabilities", "--emulatorbin", kvmpc,
                   "--virttype", virttype, "--machine", "pc").stdout
    root = ET.fromstring(out)
    check(root.findtext("path") == kvmpc, "emulator path: %s" % out[:300])
    check(root.findtext("machine") == "pc-i440fx-7.2",
          "machine: %s" % root.findtext("machine"))
    check(root.findtext("arch") == "x86_64", "arch")
    # only what kvmpc has: no USB controller, a VNC graphics type
    models = [v.text for v in root.iterfind(
        "devices/disk/enum[@name='bus']/value")]
    check("ide" in models, "disk buses: %s" % models)
    graphics = [v.text for v in root.iterfind(
        "devices/graphics/enum[@name='type']/value")]
    check("vnc" in graphics and "sdl" not in graphics,
          "graphics types: %s" % graphics)
    # the vmgenid and vmcoreinfo devices (libvirt probes the device
    # types); backup and checkpoints (blockdev-reopen and the migration
    # parameter block-bitmap-mapping)
    for feature in ("genid", "vmcoreinfo", "backup"):
        el = root.find("features/%s" % feature)
        check(el is not None and el.get("supported") == "yes",
              "<%s> not supported: %s" % (feature, out[-1500:]))


DOMAIN = """<domain type='%(type)s'>
  <name>kvmpc-test</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
      <kernel>%(kernel)s</kernel></os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>%(emulator)s</emulator>
    <serial type='pty'/>
    <console type='pty'/>
  </devices>
</domain>
"""


def test_define_dumpxml(lv, kvmpc):
    virttype = "kvm" if os.path.exists("/dev/kvm") else "qemu"
    xml = os.path.join(lv.tmp, "dom.xml")
    with open(xml, "w") as f:
        f.write(DOMAIN % {"type": virttype, "emulator": kvmpc,
                          "kernel": "/boot/none"})
    lv.virsh("define", xml)
    out = lv.virsh("dumpxml", "kvmpc-test").stdout
    root = ET.fromstring(out)
    check(root.findtext("devices/emulator") == kvmpc, "emulator kept")
    check(root.find("os/type").get("machine") == "pc-i440fx-7.2",
          "machine alias expanded by libvirt from kvmpc's list")
    lv.virsh("undefine", "kvmpc-test")


RUN_DOMAIN = """<domain type='kvm'>
  <name>kvmpc-run</name>
  <genid/>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
      <kernel>%(kernel)s</kernel>
      <cmdline>cpus=1 powerdown=wait</cmdline></os>
  <features><acpi/><vmcoreinfo state='on'/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>%(emulator)s</emulator>
    <serial type='file'><source path='%(log)s'/></serial>
  </devices>
</domain>
"""


def wait_state(lv, name, want, timeout=30):
    end = time.time() + timeout
    state = None
    while time.time() < end:
        state = lv.virsh("domstate", name).stdout.strip()
        if state == want:
            return
        time.sleep(0.2)
    raise Failure("domain %s is %r, want %r\n%s" % (name, state, want,
                                                   lv.log_tail()))


def wait_log(path, text, timeout=30):
    end = time.time() + timeout
    got = ""
    while time.time() < end:
        try:
            with open(path, errors="replace") as f:
                got = f.read()
        except OSError:
            got = ""
        if text in got:
            return got
        time.sleep(0.2)
    raise Failure("%r not in the serial log: %r" % (text, got[-500:]))


def test_lifecycle(lv, kvmpc):
    """A guest-kit payload through <kernel>: start (the argv libvirt
    generates, unmodified), its serial output, suspend/resume, domstats,
    qemu-monitor-command in QMP and HMP, shutdown by the ACPI power button
    (the payload powers off), start again, destroy."""
    payload = os.environ.get("KVMPC_LIBVIRT_PAYLOAD")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP test_lifecycle: /dev/kvm not available")
        return
    if not payload or not os.path.exists(payload):
        print("SKIP test_lifecycle: the demo payload is not built "
              "(KVMPC_LIBVIRT_PAYLOAD)")
        return
    log = os.path.join(lv.tmp, "serial.log")
    xml = os.path.join(lv.tmp, "run.xml")
    with open(xml, "w") as f:
        f.write(RUN_DOMAIN % {"kernel": payload, "emulator": kvmpc,
                              "log": log})
    lv.virsh("define", xml)
    try:
        lifecycle_steps(lv, log)
    finally:
        # a failed step must not leave the guest spinning after the test
        lv.virsh("destroy", "kvmpc-run", ok=False)
        lv.virsh("undefine", "kvmpc-run", ok=False)


def lifecycle_steps(lv, log):
    lv.virsh("start", "kvmpc-run")
    wait_state(lv, "kvmpc-run", "running")
    wait_log(log, "waiting for the ACPI power button")
    out = wait_log(log, "Hello from a kvmpc guest")
    check("FAIL" not in out, "the payload's checks: %s" % out[-800:])

    # <genid/>: libvirt made a GUID and passed it to -device vmgenid;
    # <vmcoreinfo state='on'/>: -device vmcoreinfo
    genid = ET.fromstring(lv.virsh("dumpxml", "kvmpc-run").stdout) \
        .findtext("genid")
    q = lv.virsh("qemu-monitor-command", "kvmpc-run",
                 '{"execute": "query-vm-generation-id"}').stdout
    check(genid and json.loads(q)["return"]["guid"] == genid,
          "genid %s, QMP: %s" % (genid, q))
    q = lv.virsh("qemu-monitor-command", "kvmpc-run", "--hmp",
                 "info qtree").stdout
    check("vmcoreinfo" in q and "vmgenid" in q, "info qtree: %s" % q[:2000])

    lv.virsh("suspend", "kvmpc-run")
    wait_state(lv, "kvmpc-run", "paused")
    q = lv.virsh("qemu-monitor-command", "kvmpc-run",
                 '{"execute": "query-status"}').stdout
    check('"status":"paused"' in q.replace(" ", ""), "QMP: %s" % q)
    lv.virsh("resume", "kvmpc-run")
    wait_state(lv, "kvmpc-run", "running")
    h = lv.virsh("qemu-monitor-command", "kvmpc-run", "--hmp",
                 "info status").stdout
    check("running" in h, "HMP info status: %r" % h)
    stats = lv.virsh("domstats", "kvmpc-run").stdout
    check("state.state=1" in stats and "vcpu.current=1" in stats and
          "balloon.current=" in stats, "domstats: %s" % stats)

    lv.virsh("shutdown", "kvmpc-run")
    wait_log(log, "powering off (S5)")
    wait_state(lv, "kvmpc-run", "shut off")

    os.unlink(log)
    lv.virsh("start", "kvmpc-run")
    wait_log(log, "waiting for the ACPI power button")
    lv.virsh("destroy", "kvmpc-run")
    wait_state(lv, "kvmpc-run", "shut off")


GUEST_DOMAIN = """<domain type='kvm'>
  <name>%(name)s</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  %(domain_extra)s
  <os><type arch='x86_64' machine='pc'>hvm</type>
      <kernel>%(kernel)s</kernel>
      <cmdline>cpus=1 powerdown=wait</cmdline></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>%(emulator)s</emulator>
    %(devices)s
  </devices>
</domain>
"""

BANNER = "Hello from a kvmpc guest"
WAITING = "waiting for the ACPI power button"
POWEROFF = "powering off (S5)"


def guest_skip_reason():
    payload = os.environ.get("KVMPC_LIBVIRT_PAYLOAD")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm not available"
    if not payload or not os.path.exists(payload):
        return "the demo payload is not built (KVMPC_LIBVIRT_PAYLOAD)"
    return None


def guest_test(*tools):
    """A test that runs a guest: SKIP (with the reason) without
    /dev/kvm, the payload or one of @tools."""
    def wrap(f):
        @functools.wraps(f)
        def run(lv, kvmpc):
            why = guest_skip_reason() or next(
                ("%s is not installed" % t for t in tools
                 if not shutil.which(t)), None)
            if why:
                print("SKIP %s: %s" % (f.__name__, why))
                return None
            return f(lv, kvmpc)
        return run
    return wrap


def serial_xml(log):
    return "<serial type='file'><source path='%s'/></serial>" % log


class Guest:
    """A defined domain running the demo payload with powerdown=wait;
    `with` destroys and undefines it (with its snapshots) at the end."""

    def __init__(self, lv, kvmpc, name, devices, domain_extra=""):
        self.lv, self.name = lv, name
        xml = os.path.join(lv.tmp, name + ".xml")
        with open(xml, "w") as f:
            f.write(GUEST_DOMAIN % {
                "name": name, "emulator": kvmpc, "devices": devices,
                "domain_extra": domain_extra,
                "kernel": os.environ["KVMPC_LIBVIRT_PAYLOAD"]})
        lv.virsh("define", xml)

    def __enter__(self):
        return self

    def start(self, log=None):
        """virsh start; then wait for the payload to wait for the power
        button in @log, or (no serial log) for the domain to run."""
        self.lv.virsh("start", self.name)
        if log:
            wait_count(log, WAITING, 1)
        else:
            wait_state(self.lv, self.name, "running")

    def __exit__(self, *exc):
        self.lv.virsh("destroy", self.name, ok=False)
        self.lv.virsh("undefine", self.name, "--snapshots-metadata",
                      ok=False)

    def qmp(self, cmd, **args):
        req = {"execute": cmd}
        if args:
            req["arguments"] = args
        out = self.lv.virsh("qemu-monitor-command", self.name,
                            json.dumps(req)).stdout
        return json.loads(out)["return"]


def wait_count(path, text, n, timeout=30):
    """Waits until the serial log holds `text` at least n times."""
    end = time.time() + timeout
    got = ""
    while time.time() < end:
        try:
            with open(path, errors="replace") as f:
                got = f.read()
        except OSError:
            got = ""
        if got.count(text) >= n:
            return got
        time.sleep(0.2)
    raise Failure("%r not %d times in the serial log: %r" %
                  (text, n, got[-800:]))


def log_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def wait_log_since(path, offset, text, timeout=30):
    """Waits for `text` in what the serial log got after `offset` (all of
    it where a new kvmpc truncated the file)."""
    end = time.time() + timeout
    got = ""
    while time.time() < end:
        try:
            with open(path, errors="replace") as f:
                got = f.read()
        except OSError:
            got = ""
        if len(got) >= offset:
            got = got[offset:]
        if text in got:
            return got
        time.sleep(0.2)
    raise Failure("%r not in the serial log's new text: %r" %
                  (text, got[-800:]))


def cpu_regs(lv, name):
    """RIP, RSP, CR3 and EFER of vCPU 0, from HMP `info registers`."""
    text = lv.virsh("qemu-monitor-command", name, "--hmp",
                    "info registers").stdout
    regs = dict(re.findall(r"\b(RIP|RSP|CR3|EFER)=([0-9a-fA-F]+)", text))
    check(len(regs) == 4, "info registers: %r" % text)
    return regs


def check_came_back(lv, g, log, mark, before, how):
    """After a restore or revert that left the domain paused: the vCPU
    has the very registers @before, and resumed, the payload answers the
    power button in what the log got after @mark, without booting
    again."""
    wait_state(lv, g.name, "paused")
    after = cpu_regs(lv, g.name)
    check(before == after, "vCPU state: before %s, %s %s" %
          (before, how, after))
    lv.virsh("resume", g.name)
    lv.virsh("shutdown", g.name)
    out = wait_log_since(log, mark, POWEROFF)
    check(BANNER not in out and "multiboot entry" not in out,
          "the payload booted again, not %s: %r" % (how, out[-800:]))
    wait_state(lv, g.name, "shut off")


@guest_test()
def test_console(lv, kvmpc):
    """<serial type='pty'>: libvirt passes -chardev pty and finds the
    pty's path in query-chardev; `virsh ttyconsole` names it and `virsh
    console` (run on a pty of the test's own, as a user's terminal)
    shows what the payload writes to COM1."""
    with Guest(lv, kvmpc, "kvmpc-console",
               "<serial type='pty'/><console type='pty'/>") as g:
        # paused, so that the banner comes after the console is open
        lv.virsh("start", "--paused", g.name)
        tty = lv.virsh("ttyconsole", g.name).stdout.strip()
        check(tty.startswith("/dev/pts/"), "ttyconsole: %r" % tty)
        chardevs = g.qmp("query-chardev")
        check(any(c["filename"] == "pty:" + tty for c in chardevs),
              "query-chardev: %s" % chardevs)
        master, slave = pty.openpty()
        con = subprocess.Popen(["virsh", "-c", lv.uri, "console", g.name],
                               stdin=slave, stdout=slave, stderr=slave,
                               start_new_session=True)
        os.close(slave)
        got = b""
        try:
            got = read_until(master, b"Escape character", 30)
            lv.virsh("resume", g.name)
            got += read_until(master, BANNER.encode(), 30)
            got += read_until(master, WAITING.encode(), 30)
            lv.virsh("shutdown", g.name)
            got += read_until(master, POWEROFF.encode(), 30)
        finally:
            con.kill()
            con.wait()
            os.close(master)
        wait_state(lv, g.name, "shut off")


def read_until(fd, want, timeout):
    end = time.time() + timeout
    got = b""
    while want not in got:
        left = end - time.time()
        if left <= 0:
            raise Failure("%r not seen on the console: %r" %
                          (want, got[-500:]))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                raise Failure("console closed before %r: %r" %
                              (want, got[-500:]))
            got += data
    return got


@guest_test()
def test_reboot(lv, kvmpc):
    """`virsh reboot`: libvirt presses the ACPI power button
    (system_powerdown) with its fake-reboot flag set; the payload powers
    off, kvmpc stops instead of exiting (-no-shutdown) and reports
    SHUTDOWN, libvirt resets it (system_reset) and resumes it (cont): the
    payload boots again and the domain stays running."""
    log = os.path.join(lv.tmp, "reboot.log")
    with Guest(lv, kvmpc, "kvmpc-reboot",
               serial_xml(log)) as g:
        g.start(log)
        lv.virsh("reboot", g.name)
        wait_count(log, POWEROFF, 1)
        out = wait_count(log, WAITING, 2)
        check(out.count(BANNER) == 2, "banner twice: %r" % out[-800:])
        wait_state(lv, g.name, "running")
        # and the rebooted payload still answers the power button
        lv.virsh("shutdown", g.name)
        wait_count(log, POWEROFF, 2)
        wait_state(lv, g.name, "shut off")


def make_image(lv, name, fmt, size="16M"):
    path = os.path.join(lv.tmp, name)
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, path, size],
                   check=True)
    return path


def disk_xml(path, fmt, dev, bus):
    return ("<disk type='file' device='disk'>"
            "<driver name='qemu' type='%s'/><source file='%s'/>"
            "<target dev='%s' bus='%s'/></disk>" % (fmt, path, dev, bus))


@guest_test("qemu-img")
def test_disks(lv, kvmpc):
    """A qcow2 disk on virtio-blk and a raw one on IDE: libvirt's
    -blockdev/-device pairs, query-block, domblklist, domblkstat; the
    virtio disk has <iotune> (OpenStack's disk QoS): libvirt sets it with
    block_set_io_throttle at start, `virsh blkdeviotune` reads it back
    and changes it live.  The domain has an I/O thread, which `virsh
    iothreadset` tunes live (qom-set /objects/iothread1 poll-*) and
    `virsh domstats --iothread` reads back (query-iothreads)."""
    qcow2 = make_image(lv, "disk0.qcow2", "qcow2")
    raw = make_image(lv, "disk1.raw", "raw")
    iotune = ("<iotune><total_iops_sec>200</total_iops_sec>"
              "<read_bytes_sec>1048576</read_bytes_sec></iotune>")
    with Guest(lv, kvmpc, "kvmpc-disks",
               disk_xml(qcow2, "qcow2", "vda", "virtio").replace(
                   "</disk>", iotune + "</disk>") +
               disk_xml(raw, "raw", "hda", "ide"),
               domain_extra="<iothreads>1</iothreads>") as g:
        g.start()
        lv.virsh("iothreadset", g.name, "1", "--poll-max-ns", "5000",
                 "--poll-grow", "3", "--poll-shrink", "2", "--live")
        st = lv.virsh("domstats", g.name, "--iothread").stdout
        for key, value in (("poll-max-ns", 5000), ("poll-grow", 3),
                           ("poll-shrink", 2)):
            check(re.search(r"iothread\.1\.%s=%d\b" % (key, value), st),
                  "domstats --iothread after iothreadset: %s" % st)
        check_eq(g.qmp("qom-get", path="/objects/iothread1",
                          property="poll-max-ns"), 5000, "qom-get")
        blocks = g.qmp("query-block")
        files = {}
        for b in blocks:
            ins = b.get("inserted")
            if ins:
                files[ins["image"]["filename"]] = (ins["image"]["format"],
                                                   b.get("qdev", ""))
        check(files.get(qcow2, ("",))[0] == "qcow2" and
              files.get(raw, ("",))[0] == "raw", "query-block: %s" % blocks)
        lst = lv.virsh("domblklist", g.name).stdout
        check(qcow2 in lst and raw in lst and "vda" in lst and "hda" in lst,
              "domblklist: %s" % lst)
        for dev in ("vda", "hda"):
            st = lv.virsh("domblkstat", g.name, dev).stdout
            check("rd_req" in st and "wr_bytes" in st,
                  "domblkstat %s: %s" % (dev, st))
        info = lv.virsh("domblkinfo", g.name, "vda").stdout
        check("Capacity:       16777216" in info, "domblkinfo: %s" % info)
        tune = lv.virsh("blkdeviotune", g.name, "vda").stdout
        check(re.search(r"total_iops_sec\s*:\s*200\b", tune) and
              re.search(r"read_bytes_sec\s*:\s*1048576\b", tune),
              "blkdeviotune after start: %s" % tune)
        lv.virsh("blkdeviotune", g.name, "vda", "--total-iops-sec", "50",
                 "--total-iops-sec-max", "100", "--live")
        tune = lv.virsh("blkdeviotune", g.name, "vda").stdout
        check(re.search(r"total_iops_sec\s*:\s*50\b", tune) and
              re.search(r"total_iops_sec_max\s*:\s*100\b", tune),
              "blkdeviotune after the change: %s" % tune)


@guest_test("qemu-img")
def test_scsi_hotplug(lv, kvmpc):
    """`virsh attach-disk --targetbus scsi` on a running domain with a
    virtio-scsi controller (OpenStack's volumes with hw_scsi_model):
    libvirt adds the node and a scsi-hd on scsi0.0, the disk is in
    domblklist and query-block; `virsh detach-disk` removes it (libvirt
    waits for DEVICE_DELETED) and the image is no longer open."""
    disk = make_image(lv, "scsi-hot.qcow2", "qcow2")
    with Guest(lv, kvmpc, "kvmpc-scsihp",
               "<controller type='scsi' model='virtio-scsi' index='0'/>") \
            as g:
        g.start()
        lv.virsh("attach-disk", g.name, disk, "sdb", "--targetbus", "scsi",
                 "--subdriver", "qcow2", "--live")
        lst = lv.virsh("domblklist", g.name).stdout
        check(disk in lst and "sdb" in lst, "domblklist: %s" % lst)
        blocks = g.qmp("query-block")
        check(any(b.get("inserted", {}).get("file") == disk or
                  b.get("inserted", {}).get("image", {}).get("filename") ==
                  disk for b in blocks), "query-block: %s" % blocks)
        devs = [d for d in g.qmp("qom-list", path="/machine/peripheral")
                if d["type"].startswith("child<scsi-hd")]
        check(devs, "no scsi-hd among the peripherals")
        lv.virsh("detach-disk", g.name, "sdb", "--live")
        lst = lv.virsh("domblklist", g.name).stdout
        check(disk not in lst, "domblklist after detach: %s" % lst)
        blocks = g.qmp("query-block")
        check(not any(disk in json.dumps(b) for b in blocks),
              "the image is still open: %s" % blocks)


def rfb_handshake(host, port, timeout=30):
    """A VNC client's first steps (RFC 6143): version, security type
    None, ClientInit; returns the ServerInit's width, height and name."""
    def recv(n):
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                raise Failure("VNC server closed after %r" % data)
            data += chunk
        return data
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        version = recv(12)
        check(version.startswith(b"RFB 003."), "RFB version %r" % version)
        s.sendall(b"RFB 003.008\n")
        n = recv(1)[0]
        if n == 0:
            raise Failure("the server refused: %r" % s.recv(256))
        types = recv(n)
        check(1 in types, "security types %r (want None)" % types)
        s.sendall(b"\x01")
        check(recv(4) == b"\0\0\0\0", "SecurityResult not OK")
        s.sendall(b"\x01")              # ClientInit, shared
        w, h = struct.unpack(">HH", recv(4))
        recv(16)                        # pixel format
        name = recv(struct.unpack(">I", recv(4))[0])
        return w, h, name.decode(errors="replace")
    finally:
        s.close()


@guest_test()
def test_vnc(lv, kvmpc):
    """<graphics type='vnc'>: libvirt's -vnc and video device, `virsh
    domdisplay`'s vnc:// URI, and a VNC client's handshake against it."""
    with Guest(lv, kvmpc, "kvmpc-vnc",
               "<graphics type='vnc' autoport='yes' listen='127.0.0.1'/>"
               ) as g:
        g.start()
        uri = lv.virsh("domdisplay", g.name).stdout.strip()
        m = re.match(r"vnc://([0-9.]+):(\d+)$", uri)
        check(m, "domdisplay: %r" % uri)
        port = 5900 + int(m.group(2))
        w, h, name = rfb_handshake(m.group(1), port)
        check(w > 0 and h > 0, "framebuffer %dx%d" % (w, h))
        vnc = g.qmp("query-vnc")
        check(vnc.get("enabled") and str(vnc.get("service")) == str(port),
              "query-vnc: %s" % vnc)
        if shutil.which("vncsnapshot"):
            jpg = os.path.join(lv.tmp, "vnc.jpg")
            # the payload draws nothing: the screen is black, which
            # vncsnapshot takes only with -allowblank
            p = subprocess.run(["vncsnapshot", "-quiet", "-allowblank",
                                "%s:%s" %
                                (m.group(1), m.group(2)), jpg],
                               stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=60)
            check(p.returncode == 0 and os.path.getsize(jpg) > 0,
                  "vncsnapshot: %s%s" % (p.stdout, p.stderr))


@guest_test()
def test_save_restore(lv, kvmpc):
    """`virsh save` (migrate to an fd passed with getfd) and `virsh
    restore` (-incoming defer, then migrate-incoming from an fd): the
    domain is saved paused and restored paused, so its vCPU must come
    back with the very registers it had; resumed, the payload is still
    waiting for the power button and answers it."""
    log = os.path.join(lv.tmp, "save.log")
    state = os.path.join(lv.tmp, "kvmpc-save.sav")
    with Guest(lv, kvmpc, "kvmpc-save",
               serial_xml(log)) as g:
        g.start(log)
        lv.virsh("suspend", g.name)
        wait_state(lv, g.name, "paused")
        before = cpu_regs(lv, g.name)
        lv.virsh("save", g.name, state)
        wait_state(lv, g.name, "shut off")
        check(os.path.getsize(state) > 0, "empty save file")
        mark = log_size(log)
        lv.virsh("restore", "--paused", state)
        check_came_back(lv, g, log, mark, before, "restored")


@guest_test("qemu-img")
def test_hotplug_managedsave(lv, kvmpc):
    """A NIC (with `<acpi index='1'/>`: device_add's acpi-index, then the
    restored command line's) and a disk attached live (`attach-device --live`), then
    `virsh managedsave` and `start`: libvirt restores with the hot-plugged
    devices on the destination's command line, where kvmpc creates them
    before the VGA's ROM (the source created them after it).  The ROMs
    must still land in the same RAM blocks (kvmpc failed here with "RAM
    block 'pci.rom#1' is 64 KiB on the source, 256 KiB here"), and the
    payload goes on: the power button reaches it with no new boot."""
    log = os.path.join(lv.tmp, "hpsave.log")
    nic = os.path.join(lv.tmp, "hp-nic.xml")
    disk = os.path.join(lv.tmp, "hp-disk.xml")
    with open(nic, "w") as f:
        f.write("<interface type='user'><model type='virtio'/>"
                "<acpi index='1'/></interface>")
    with open(disk, "w") as f:
        f.write(disk_xml(make_image(lv, "hp.qcow2", "qcow2"), "qcow2",
                         "vdb", "virtio"))
    with Guest(lv, kvmpc, "kvmpc-hpsave", serial_xml(log) +
               "<video><model type='vga'/></video>") as g:
        g.start(log)
        lv.virsh("attach-device", g.name, nic, "--live")
        lv.virsh("attach-device", g.name, disk, "--live")
        mark = log_size(log)
        lv.virsh("managedsave", g.name)
        wait_state(lv, g.name, "shut off")
        lv.virsh("start", g.name)
        wait_state(lv, g.name, "running")
        check("virtio" in lv.virsh("domiflist", g.name).stdout,
              "the hot-plugged NIC after the restore")
        argv = open(os.path.join(lv.tmp, "var_log_libvirt", "qemu",
                                 g.name + ".log")).read()
        check("acpi-index=1" in argv or '"acpi-index":1' in argv,
              "the NIC's acpi-index on the restored command line:\n%s"
              % argv[-3000:])
        check("<acpi index='1'/>" in lv.virsh("dumpxml", g.name).stdout,
              "the NIC's <acpi index='1'/> in the live XML")
        check("vdb" in lv.virsh("domblklist", g.name).stdout,
              "the hot-plugged disk after the restore")
        lv.virsh("shutdown", g.name)
        out = wait_log_since(log, mark, POWEROFF)
        check(BANNER not in out and "multiboot entry" not in out,
              "the payload booted again, not restored: %r" % out[-800:])


@guest_test("qemu-img")
def test_snapshot(lv, kvmpc):
    """Internal snapshots with a qcow2 disk (libvirt 9.0: HMP savevm
    "NAME" in human-monitor-command; reverting an inactive domain starts
    kvmpc with -loadvm NAME).  One snapshot of the running domain, one of
    it paused; after the domain powered off, snapshot-revert to the
    paused one brings the vCPU back with the very registers it had, and
    resumed, the payload answers the power button where it left off."""
    log = os.path.join(lv.tmp, "snap.log")
    qcow2 = make_image(lv, "snap.qcow2", "qcow2")
    with Guest(lv, kvmpc, "kvmpc-snap",
               disk_xml(qcow2, "qcow2", "vda", "virtio") +
               serial_xml(log)) as g:
        g.start(log)
        lv.virsh("snapshot-create-as", g.name, "running1")
        wait_state(lv, g.name, "running")
        lv.virsh("suspend", g.name)
        wait_state(lv, g.name, "paused")
        before = cpu_regs(lv, g.name)
        lv.virsh("snapshot-create-as", g.name, "paused1")
        wait_state(lv, g.name, "paused")
        lst = lv.virsh("snapshot-list", g.name).stdout
        check("running1" in lst and "paused1" in lst and "running" in lst,
              "snapshot-list: %s" % lst)
        img = subprocess.run(["qemu-img", "snapshot", "-U", "-l", qcow2],
                             capture_output=True, text=True).stdout
        check(re.search(r"\srunning1\s", img) and
              re.search(r"\spaused1\s", img),
              "qemu-img snapshot -l: %s" % img)
        lv.virsh("resume", g.name)
        lv.virsh("shutdown", g.name)
        wait_count(log, POWEROFF, 1)
        wait_state(lv, g.name, "shut off")
        mark = log_size(log)
        lv.virsh("snapshot-revert", g.name, "paused1")
        check_came_back(lv, g, log, mark, before, "reverted")
        # the running snapshot comes back running
        lv.virsh("snapshot-revert", g.name, "running1")
        wait_state(lv, g.name, "running")
        check(cpu_regs(lv, g.name)["EFER"] != "0000000000000000",
              "running1 reverted to a reset vCPU")
        lv.virsh("snapshot-delete", g.name, "paused1")
        lv.virsh("snapshot-delete", g.name, "running1")


def check_eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


def backing_chain(path):
    """The file names of `qemu-img info --backing-chain -U`."""
    out = subprocess.run(["qemu-img", "info", "-U", "--backing-chain",
                          path], capture_output=True, text=True)
    check(out.returncode == 0, "qemu-img info: %s" % out.stderr)
    return [line.split(":", 1)[1].strip() for line in out.stdout.splitlines()
            if line.startswith("image:")]


def vda_source(lv, name):
    """domblklist's source of vda."""
    for line in lv.virsh("domblklist", name).stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == "vda":
            return parts[1]
    raise Failure("no vda in domblklist")


def qemu_img_check(path):
    out = subprocess.run(["qemu-img", "check", "-U", path],
                         capture_output=True, text=True)
    check(out.returncode == 0, "qemu-img check %s: %s%s" %
          (path, out.stdout, out.stderr))


def wait_backup(lv, name):
    """The domain's backup job is over; its completed-job record."""
    end = time.time() + 60
    while "Backup" in lv.virsh("domjobinfo", name).stdout:
        check(time.time() < end, "the backup job does not end")
        time.sleep(0.1)
    return lv.virsh("domjobinfo", name, "--completed").stdout


def push_backups(lv, name, base):
    """libvirt 9.0's push-mode backup (blockdev-backup, dirty bitmaps and
    transactions): a checkpoint with a full backup, then an incremental
    one on top of the checkpoint; the checkpoint deleted again."""
    full = os.path.join(lv.tmp, "bk-full.qcow2")
    inc = os.path.join(lv.tmp, "bk-inc.qcow2")
    xml = {}
    for key, text in (
            ("ck", "<domaincheckpoint><name>ck1</name><disks>"
                   "<disk name='vda' checkpoint='bitmap'/></disks>"
                   "</domaincheckpoint>"),
            ("full", "<domainbackup mode='push'><disks><disk name='vda' "
                     "type='file'><target file='%s'/><driver type='qcow2'/>"
                     "</disk></disks></domainbackup>" % full),
            ("inc", "<domainbackup mode='push'><incremental>ck1"
                    "</incremental><disks><disk name='vda' type='file'>"
                    "<target file='%s'/><driver type='qcow2'/></disk>"
                    "</disks></domainbackup>" % inc)):
        xml[key] = os.path.join(lv.tmp, key + ".xml")
        with open(xml[key], "w") as f:
            f.write(text)
    lv.virsh("backup-begin", name, xml["full"], xml["ck"])
    done = wait_backup(lv, name)
    check("Completed" in done and "Backup" in done, "full backup: %s" % done)
    out = subprocess.run(["qemu-img", "compare", "-U", base, full],
                         capture_output=True, text=True)
    check(out.returncode == 0, "full backup != disk: %s%s" %
          (out.stdout, out.stderr))
    lv.virsh("backup-begin", name, xml["inc"])
    done = wait_backup(lv, name)
    check("Completed" in done, "incremental backup: %s" % done)
    # nothing written since the checkpoint: an empty overlay of the disk
    check_eq(backing_chain(inc), [inc, base], "incremental's chain")
    out = subprocess.run(["qemu-img", "map", "-U", "--output=json", inc],
                         capture_output=True, text=True)
    check(not any(e["data"] and e["depth"] == 0
                  for e in json.loads(out.stdout)),
          "the incremental backup holds data: %s" % out.stdout)
    check("ck1" in lv.virsh("checkpoint-list", name).stdout,
          "checkpoint-list")
    lv.virsh("checkpoint-delete", name, "ck1")
    for path in (full, inc):
        qemu_img_check(path)


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_tool(*argv):
    out = subprocess.run(list(argv), capture_output=True, text=True,
                         timeout=60)
    check(out.returncode == 0, "%s: %s%s" % (" ".join(argv), out.stdout,
                                              out.stderr))
    return out.stdout


def write_through_qemu_io(lv, g, pattern, offset, length):
    """A write to vda from outside the guest, through the disk's own
    backend as a guest write goes (QEMU's HMP qemu-io -d on the virtio
    proxy's virtio-backend child): copy-before-write and the dirty bitmaps
    see it."""
    for cmd in ("write -P %#x %d %d" % (pattern, offset, length),
                "flush"):       # for qemu-img -U to see it in the file
        lv.virsh("qemu-monitor-command", g.name, "--hmp",
                 'qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend'
                 ' "%s"' % cmd)


def dirty_ranges(sock, bitmap):
    """The dirty ranges the pull export (on unix socket @sock) reports in
    its bitmap context (qemu-img map: a dirty extent reads as data
    false)."""
    out = run_tool("qemu-img", "map", "--output=json", "--image-opts",
                   "driver=nbd,server.type=unix,server.path=%s,export=vda,"
                   "x-dirty-bitmap=qemu:dirty-bitmap:%s" % (sock, bitmap))
    return [(e["start"], e["length"]) for e in json.loads(out)
            if not e["data"]]


def pull_backup(lv, g, xml, scratch, what):
    """backup-begin in pull mode: the job runs, the scratch file is
    there."""
    lv.virsh("backup-begin", g.name, *xml)
    check("Backup" in lv.virsh("domjobinfo", g.name).stdout,
          "%s: no backup job" % what)
    check(os.path.exists(scratch), "%s: no scratch file" % what)


def end_pull_backup(lv, g, scratch, what):
    """domjobabort: the job, the export and the scratch image go."""
    lv.virsh("domjobabort", g.name)
    wait_backup(lv, g.name)
    check(not os.path.exists(scratch),
          "%s: the scratch file is left: %s" % (what, scratch))
    check_eq(g.qmp("query-block-jobs"), [], "%s: block jobs" % what)
    files = [n["file"] for n in g.qmp("query-named-block-nodes")]
    check(scratch not in files, "%s: the scratch node is left" % what)


def pull_backups(lv, g, base):
    """libvirt 9.0's pull-mode backup: a scratch qcow2 over the disk
    (blockdev-create, blockdev-add), blockdev-backup sync none into it
    (the fleecing image), nbd-server-start and block-export-add of the
    scratch node, with the checkpoint's dirty bitmap for the incremental
    one.  What qemu-img reads from the export is the disk as it was when
    the backup began, though the disk is written meanwhile.  The full
    one's server listens on TCP, the incremental one's on a unix
    socket."""
    port = free_tcp_port()
    sock = os.path.join(lv.tmp, "pull-nbd.sock")
    scratch = os.path.join(lv.tmp, "pull-scratch.qcow2")
    before = os.path.join(lv.tmp, "pull-before.raw")
    got = os.path.join(lv.tmp, "pull-got.raw")
    files = {}
    for key, text in (
            ("ck", "<domaincheckpoint><name>ck2</name><disks>"
                   "<disk name='vda' checkpoint='bitmap'/></disks>"
                   "</domaincheckpoint>"),
            ("full", "<domainbackup mode='pull'><server transport='tcp' "
                     "name='127.0.0.1' port='%d'/><disks><disk name='vda' "
                     "backup='yes' type='file'><scratch file='%s'/></disk>"
                     "</disks></domainbackup>" % (port, scratch)),
            ("inc", "<domainbackup mode='pull'><incremental>ck2"
                    "</incremental><server transport='unix' "
                    "socket='%s'/><disks><disk name='vda' "
                    "backup='yes' type='file'><scratch file='%s'/></disk>"
                    "</disks></domainbackup>" % (sock, scratch))):
        files[key] = os.path.join(lv.tmp, "pull-%s.xml" % key)
        with open(files[key], "w") as f:
            f.write(text)
    export = "nbd://127.0.0.1:%d/vda" % port
    unix_export = "nbd+unix:///vda?socket=%s" % sock
    run_tool("qemu-img", "convert", "-U", "-O", "raw", base, before)

    # full: the export holds the disk as it was, whatever is written now
    pull_backup(lv, g, [files["full"], files["ck"]], scratch, "full")
    write_through_qemu_io(lv, g, 0x55, 0, 65536)
    run_tool("qemu-img", "convert", "-f", "raw", "-O", "raw", export, got)
    run_tool("qemu-img", "compare", "-f", "raw", "-F", "raw", before, got)
    out = subprocess.run(["qemu-img", "compare", "-U", "-F", "raw", base,
                          before], capture_output=True, text=True)
    check(out.returncode == 1, "the disk was not written meanwhile: %s%s"
          % (out.stdout, out.stderr))
    end_pull_backup(lv, g, scratch, "full pull backup")

    # incremental: the bitmap context says what changed since ck2 (the
    # write above), and the data is the disk's as the backup began
    run_tool("qemu-img", "convert", "-U", "-O", "raw", base, before)
    pull_backup(lv, g, [files["inc"]], scratch, "incremental")
    write_through_qemu_io(lv, g, 0xaa, 1 << 20, 65536)
    check_eq(dirty_ranges(sock, "backup-vda"), [(0, 65536)],
             "dirty ranges since ck2")
    run_tool("qemu-img", "convert", "-f", "raw", "-O", "raw", unix_export,
             got)
    run_tool("qemu-img", "compare", "-f", "raw", "-F", "raw", before, got)
    end_pull_backup(lv, g, scratch, "incremental pull backup")
    lv.virsh("checkpoint-delete", g.name, "ck2")


@guest_test("qemu-img")
def test_external_snapshot_jobs(lv, kvmpc):
    """Backups, push and pull mode (push_backups, pull_backups), then
    external disk snapshots and the jobs that merge them (libvirt 9.0
    with -blockdev: blockdev-create jobs, blockdev-add, transaction with
    blockdev-snapshot; block-commit, block-stream, blockdev-mirror):
    snapshot-create-as --disk-only --atomic puts an overlay on vda;
    blockcommit --active --pivot merges it back into the base; a second
    snapshot is then flattened with blockpull; blockcopy --pivot moves
    the disk to a new image.  The chains are checked with qemu-img."""
    log = os.path.join(lv.tmp, "extsnap.log")
    base = make_image(lv, "extsnap.qcow2", "qcow2")
    with Guest(lv, kvmpc, "kvmpc-extsnap",
               disk_xml(base, "qcow2", "vda", "virtio") +
               serial_xml(log)) as g:
        g.start(log)
        push_backups(lv, g.name, base)
        pull_backups(lv, g, base)
        lv.virsh("snapshot-create-as", g.name, "snap1", "--disk-only",
                 "--atomic")
        top = vda_source(lv, g.name)
        check(top != base, "domblklist still shows the base: %s" % top)
        check_eq(backing_chain(top), [top, base], "chain after snapshot")
        lv.virsh("blockcommit", g.name, "vda", "--active", "--pivot",
                 "--wait")
        check_eq(vda_source(lv, g.name), base, "vda after blockcommit")
        check_eq(backing_chain(base), [base], "chain after blockcommit")
        lv.virsh("snapshot-create-as", g.name, "snap2", "--disk-only",
                 "--atomic", "--no-metadata")
        top2 = vda_source(lv, g.name)
        check_eq(backing_chain(top2), [top2, base], "second snapshot")
        lv.virsh("blockpull", g.name, "vda", "--wait")
        check_eq(vda_source(lv, g.name), top2, "vda after blockpull")
        check_eq(backing_chain(top2), [top2], "chain after blockpull")
        copy = os.path.join(lv.tmp, "extsnap-copy.qcow2")
        lv.virsh("blockcopy", g.name, "vda", copy, "--wait", "--pivot",
                 "--transient-job")
        check_eq(vda_source(lv, g.name), copy, "vda after blockcopy")
        wait_state(lv, g.name, "running")
        # --synchronous-writes: libvirt asks for copy-mode write-blocking
        # (it checks query-qmp-schema for the argument)
        sync_copy = os.path.join(lv.tmp, "extsnap-sync.qcow2")
        lv.virsh("blockcopy", g.name, "vda", sync_copy, "--wait", "--pivot",
                 "--transient-job", "--synchronous-writes")
        check_eq(vda_source(lv, g.name), sync_copy,
                 "vda after blockcopy --synchronous-writes")
        wait_state(lv, g.name, "running")
        lv.virsh("snapshot-delete", g.name, "snap1", "--metadata")
        lv.virsh("shutdown", g.name)
        wait_count(log, POWEROFF, 1)
        wait_state(lv, g.name, "shut off")
        for path in (base, top2, copy, sync_copy):
            qemu_img_check(path)


# What virt-manager 4.1 writes for a new q35 desktop VM (SPICE, virtio
# disk and NIC, USB tablet and redirection, sound, the guest agent and
# SPICE agent channels), with the demo payload through <kernel> in place
# of an installer and a user-mode NIC in place of the default network.
Q35_DESKTOP = """<domain type='kvm'>
  <name>kvmpc-q35</name>
  <memory unit='MiB'>128</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type>
      <kernel>%(kernel)s</kernel>
      <cmdline>cpus=2 powerdown=wait</cmdline></os>
  <features><acpi/><apic/><vmport state='off'/></features>
  <cpu mode='host-passthrough' check='none' migratable='on'/>
  <clock offset='utc'>
    <timer name='rtc' tickpolicy='catchup'/>
    <timer name='pit' tickpolicy='delay'/>
    <timer name='hpet' present='no'/>
  </clock>
  <on_poweroff>destroy</on_poweroff>
  <pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>
  <devices>
    <emulator>%(emulator)s</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='%(disk)s'/><target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/><target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <controller type='usb' model='qemu-xhci' ports='15'/>
    <controller type='pci' model='pcie-root'/>
    <interface type='user'><model type='virtio'/></interface>
    <serial type='file'><source path='%(log)s'/></serial>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <channel type='spicevmc'>
      <target type='virtio' name='com.redhat.spice.0'/>
    </channel>
    <input type='tablet' bus='usb'/>
    <graphics type='spice' autoport='yes'>
      <listen type='address'/><image compression='off'/>
    </graphics>
    <sound model='ich9'/>
    <audio id='1' type='spice'/>
    <video><model type='virtio' heads='1' primary='yes'/></video>
    <redirdev bus='usb' type='spicevmc'/>
    <redirdev bus='usb' type='spicevmc'/>
    <memballoon model='virtio'/>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
  </devices>
</domain>
"""


def domain_pid(lv, name):
    with open(os.path.join(lv.tmp, "run_libvirt", "qemu",
                           name + ".pid")) as f:
        return int(f.read())


def seccomp_mode(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Seccomp:"):
                return int(line.split()[1])
    return None


@guest_test("qemu-img")
def test_q35_desktop(lv, kvmpc):
    """virt-manager's q35 desktop domain: defined as written (host-
    passthrough with migratable=on, vmport off, SPICE graphics and audio,
    virtio-vga, ICH9 HDA, spicevmc USB redirection and agent channel,
    qemu-xhci, SATA CD-ROM, virtio disk/NIC/RNG/balloon on root ports),
    started: libvirt passes -sandbox (kvmpc's threads run under the
    filter), the payload boots with both CPUs, SPICE listens where
    `virsh domdisplay` says, and the ACPI power button (ICH9's PM block)
    shuts it off."""
    log = os.path.join(lv.tmp, "q35.log")
    xml = os.path.join(lv.tmp, "q35.xml")
    with open(xml, "w") as f:
        f.write(Q35_DESKTOP % {
            "kernel": os.environ["KVMPC_LIBVIRT_PAYLOAD"], "log": log,
            "emulator": kvmpc, "disk": make_image(lv, "q35.qcow2", "qcow2")})
    lv.virsh("define", xml)
    try:
        lv.virsh("start", "kvmpc-q35")
        out = wait_count(log, WAITING, 1)
        check("PASS: 1 of 1 secondary CPU(s) said hello" in out and
              "FAIL" not in out, "the payload: %s" % out[-800:])
        argv = open(os.path.join(lv.tmp, "var_log_libvirt", "qemu",
                                 "kvmpc-q35.log")).read()
        for want in ("-machine pc-q35-7.2,", "vmport=off",
                     "-cpu host,migratable=on", "-sandbox on,",
                     "-device ich9-intel-hda", "-device virtio-vga",
                     "-chardev spicevmc,id=charredir0,name=usbredir"):
            check(want in argv, "%r not in the command line:\n%s"
                  % (want, argv[-3000:]))
        pid = domain_pid(lv, "kvmpc-q35")
        modes = {seccomp_mode(int(t)) for t in
                          os.listdir("/proc/%d/task" % pid)}
        check(modes == {2}, "seccomp modes of kvmpc's threads: %s"
              % modes)
        display = lv.virsh("domdisplay", "kvmpc-q35").stdout.strip()
        m = re.match(r"spice://([0-9.]+):(\d+)", display)
        check(m, "domdisplay: %r" % display)
        socket.create_connection((m.group(1), int(m.group(2))), 5).close()
        spice = json.loads(lv.virsh(
            "qemu-monitor-command", "kvmpc-q35",
            '{"execute": "query-spice"}').stdout)["return"]
        check(spice["enabled"] and spice["port"] == int(m.group(2)),
              "query-spice: %s" % spice)
        lv.virsh("shutdown", "kvmpc-q35")
        wait_count(log, POWEROFF, 1)
        wait_state(lv, "kvmpc-q35", "shut off")
    finally:
        lv.virsh("destroy", "kvmpc-q35", ok=False)
        lv.virsh("undefine", "kvmpc-q35", ok=False)


CPU_TUNED = """<domain type='kvm'>
  <name>kvmpc-cpu</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
      <kernel>%(kernel)s</kernel>
      <cmdline>cpus=1 powerdown=wait</cmdline></os>
  <features><acpi/><pmu state='off'/></features>
  <cpu mode='custom' match='exact' check='none'>
    <model fallback='forbid'>qemu64</model>
    <feature policy='require' name='invtsc'/>
    <cache mode='disable'/>
    <maxphysaddr mode='emulate' bits='42'/>
  </cpu>
  <clock offset='utc'><timer name='rtc' tickpolicy='catchup'/>%(timer)s</clock>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>%(emulator)s</emulator>
    <serial type='file'><source path='%(log)s'/></serial>
    <sound model='pcspk'/>
    <audio id='1' type='none'/>
  </devices>
</domain>
"""


def cpuid_leaves(text):
    """{(leaf, subleaf): (eax, ebx, ecx, edx)} from HMP "info cpuid"."""
    leaves = {}
    for line in text.splitlines():
        head, _, regs = line.partition(": ")
        if line.startswith("MSR ") or not regs:
            continue
        key = tuple(int(x, 16) for x in head.split())
        leaves[key] = tuple(int(r.split("=")[1], 16) for r in regs.split())
    return leaves


def host_tsc_khz(kvmpc):
    """The TSC rate kvmpc's vCPUs get (leaf 0x40000010 with an invariant
    TSC), or None where KVM has no invariant TSC to report it with."""
    r = subprocess.run(
        [kvmpc, "-accel", "kvm", "-S", "-nodefaults", "-display", "none",
         "-m", "64", "-cpu", "host,migratable=off", "-qmp", "stdio"],
        input='{"execute":"qmp_capabilities"}\n'
              '{"execute":"human-monitor-command","arguments":'
              '{"command-line":"info cpuid 0"}}\n{"execute":"quit"}\n',
        capture_output=True, text=True, timeout=30)
    for line in r.stdout.splitlines():
        reply = json.loads(line)
        if isinstance(reply.get("return"), str):
            leaf = cpuid_leaves(reply["return"]).get((0x40000010, 0))
            return leaf[0] if leaf else None
    return None


def test_cpu_tuning(lv, kvmpc):
    """A qemu64 domain with libvirt's CPU tuning: <pmu state='off'/>,
    <maxphysaddr mode='emulate' bits='42'/>, <cache mode='disable'/>,
    invtsc and (where the host's TSC rate is known) <timer name='tsc'
    frequency=.../>.  libvirt passes them as -cpu properties and the
    guest's CPUID shows each: no PMU leaf, 42 address bits, no L3 level,
    the TSC rate in leaf 0x40000010.  The RTC's tickpolicy='catchup' is
    -rtc driftfix=slew.  `virsh domstats --cpu-total` shows the
    halt-polling times, which libvirt reads with query-stats.  (On host-passthrough, QEMU 7.2's
    host-phys-bits=on default wins over phys-bits=, in kvmpc too.)
    <sound model='pcspk'/> is libvirt 9.0's -soundhw pcspk (QEMU 7.2
    refuses that; kvmpc takes it as QEMU 7.0 did): the speaker plays on
    the domain's audiodev, beside KVM's in-kernel PIT."""
    log = os.path.join(lv.tmp, "cpu.log")
    xml = os.path.join(lv.tmp, "cpu.xml")
    khz = host_tsc_khz(kvmpc)
    timer = "<timer name='tsc' frequency='%d'/>" % (khz * 1000) if khz \
        else ""
    with open(xml, "w") as f:
        f.write(CPU_TUNED % {"kernel": os.environ["KVMPC_LIBVIRT_PAYLOAD"],
                             "log": log, "emulator": kvmpc, "timer": timer})
    lv.virsh("define", xml)
    try:
        lv.virsh("start", "kvmpc-cpu")
        wait_count(log, WAITING, 1)
        argv = open(os.path.join(lv.tmp, "var_log_libvirt", "qemu",
                                 "kvmpc-cpu.log")).read()
        wants = ["pmu=off", "phys-bits=42", "l3-cache=off",
                 "-rtc base=utc,driftfix=slew", "-soundhw pcspk"]
        wants += ["tsc-frequency=%d" % (khz * 1000)] if khz else []
        for want in wants:
            check(want in argv, "%r not in the command line:\n%s"
                  % (want, argv[-2000:]))
        leaves = cpuid_leaves(lv.virsh(
            "qemu-monitor-command", "kvmpc-cpu", "--hmp",
            "info cpuid 0").stdout)
        check(leaves.get((0xa, 0), (0,))[0] == 0,
              "PMU leaf: %s" % (leaves.get((0xa, 0)),))
        check_eq(leaves[(0x80000008, 0)][0] & 0xff, 42, "phys-bits")
        # l3-cache=off as QEMU 7.2 applies it: no L3 in leaf 4 (nor in
        # 0x80000006 EDX); 0x8000001d, where a model has it, keeps its L3
        for (leaf, sub), regs in leaves.items():
            if leaf == 4:
                check(regs[0] >> 5 & 7 != 3, "an L3 level in %x.%d" %
                      (leaf, sub))
        check_eq(leaves[(0x80000006, 0)][3], 0, "0x80000006 EDX (L3)")
        qtree = lv.virsh("qemu-monitor-command", "kvmpc-cpu", "--hmp",
                         "info qtree").stdout
        pcspk = qtree[qtree.find("dev: isa-pcspk"):][:200]
        check('audiodev = "audio1"' in pcspk, "isa-pcspk: %r" % pcspk)
        # libvirt takes the halt-polling times from query-stats (KVM's
        # statistics) when the emulator has it, debugfs otherwise
        stats = lv.virsh("domstats", "kvmpc-cpu", "--cpu-total").stdout
        check(re.search(r"cpu\.haltpoll\.success\.time=\d+", stats) and
              re.search(r"cpu\.haltpoll\.fail\.time=\d+", stats),
              "domstats --cpu-total: %s" % stats)
        if khz:
            check_eq(leaves[(0x40000010, 0)][0], khz, "leaf 0x40000010")
        else:
            print("note: no invariant TSC here: the tsc timer was left out")
        lv.virsh("shutdown", "kvmpc-cpu")
        wait_count(log, POWEROFF, 1)
    finally:
        lv.virsh("destroy", "kvmpc-cpu", ok=False)
        lv.virsh("undefine", "kvmpc-cpu", ok=False)


def check_went_over(lv, lv2, g, log, mark):
    """The domain runs on lv2 only, and its payload went on there: the
    power button reaches it with no new boot in between."""
    wait_state(lv2, g.name, "running")
    check(g.name not in lv.virsh("list", "--name").stdout,
          "the source still runs the domain")
    lv2.virsh("shutdown", g.name)
    out = wait_log_since(log, mark, POWEROFF)
    check(BANNER not in out and "multiboot entry" not in out,
          "the payload booted again, not migrated: %r" % out[-800:])
    wait_state_gone(lv2, g.name)


def migrate_and_check(lv, kvmpc, name, uuid_tail, flags, migrateuri=True,
                      migrate=None, devices="", pki=None):
    """`virsh migrate --live FLAGS` (or @migrate(g, dest)) to a second
    libvirtd on this host (its own namespace and host UUID, @pki its
    migration certificates); the payload must go on there
    (check_went_over)."""
    log = os.path.join(lv.tmp, name + ".log")
    lv2 = Libvirt(host_uuid="5c0f1a2e-0000-4000-8000-%s" % uuid_tail,
                  pki=pki)
    try:
        with Guest(lv, kvmpc, name, serial_xml(log) + devices) as g:
            g.start(log)
            mark = log_size(log)
            # with --p2p the source daemon opens the destination URI
            # itself: qemu+unix:// makes that a remote connection (plain
            # qemu:/// would be its own driver, "the same host")
            dest = lv2.uri.replace("qemu://", "qemu+unix://", 1)
            if migrate:
                migrate(g, dest)
            else:
                extra = (["--migrateuri", "tcp://127.0.0.1"] if migrateuri
                         else [])
                lv.virsh("migrate", "--live", *flags, g.name, dest, *extra,
                         timeout=180)
            check_went_over(lv, lv2, g, log, mark)
    finally:
        lv2.virsh("destroy", name, ok=False)
        lv2.close()


@guest_test()
def test_migrate_p2p(lv, kvmpc):
    """`virsh migrate --live --p2p`: the source libvirtd talks to the
    destination's itself (the client only to the source)."""
    migrate_and_check(lv, kvmpc, "kvmpc-migp2p", "0000000beef2", ["--p2p"])


@guest_test()
def test_migrate_tunnelled(lv, kvmpc):
    """`virsh migrate --live --p2p --tunnelled`: the stream goes through
    the libvirtd connection; kvmpc writes it to a pipe (fd:) and the
    destination reads it from one, with no answer path."""
    migrate_and_check(lv, kvmpc, "kvmpc-migtun", "0000000beef3",
                      ["--p2p", "--tunnelled"], migrateuri=False)


def copy_storage_and_check(lv, kvmpc, name, uuid_tail, flags=(),
                           pki=None):
    """`virsh migrate --live --copy-storage-all FLAGS` of a qcow2 disk
    (see test_migrate_copy_storage); the destination's image must hold
    the source's data."""
    src_img = os.path.join(lv.tmp, name + "-src.qcow2")
    dst_img = os.path.join(lv.tmp, name + "-dst.qcow2")
    raw = os.path.join(lv.tmp, name + "-data.raw")
    with open(raw, "wb") as f:
        f.write(os.urandom(2 << 20) + b"\0" * (6 << 20) +
                os.urandom(1 << 20) + b"\0" * (7 << 20))
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2",
                    raw, src_img], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", dst_img,
                    "16M"], check=True)

    def migrate(g, dest):
        xml = lv.virsh("dumpxml", "--migratable", g.name).stdout
        dst_xml = os.path.join(lv.tmp, name + "-dst.xml")
        with open(dst_xml, "w") as f:
            f.write(xml.replace(src_img, dst_img))
        lv.virsh("migrate", "--live", "--copy-storage-all", *flags, "--xml",
                 dst_xml, g.name, dest, "--migrateuri", "tcp://127.0.0.1",
                 "--disks-uri", "tcp://127.0.0.1", timeout=180)
    migrate_and_check(lv, kvmpc, name, uuid_tail, [], migrate=migrate,
                      devices=disk_xml(src_img, "qcow2", "vda", "virtio"),
                      pki=pki)
    cmp = subprocess.run(["qemu-img", "compare", "-f", "qcow2", "-F", "raw",
                          dst_img, raw], capture_output=True, text=True)
    check(cmp.returncode == 0, "the destination's image differs from the "
          "source's data: %s%s" % (cmp.stdout, cmp.stderr))


@guest_test("qemu-img")
def test_migrate_copy_storage(lv, kvmpc):
    """`virsh migrate --live --copy-storage-all` with a qcow2 disk that is
    not shared: libvirt starts the destination's NBD server and exports
    its (empty) image, mirrors the source's disk into it
    (blockdev-mirror), migrates once the job is ready, and ends the job;
    the destination's image then holds the source's data (qemu-img
    compare) and the payload goes on there."""
    copy_storage_and_check(lv, kvmpc, "kvmpc-migcs", "0000000beef4")


@guest_test()
def test_migrate(lv, kvmpc):
    """`virsh migrate --live` to a second libvirtd on this host (its own
    namespace and host UUID): the destination starts kvmpc with -incoming,
    the source migrates over tcp:, and the payload goes on on the
    destination, answering the power button without booting again."""
    migrate_and_check(lv, kvmpc, "kvmpc-mig", "00000000beef", [])


def migration_pki():
    """One directory's worth of libvirt's migration certificates (the
    CA's, server-*.pem naming localhost and 127.0.0.1, client-*.pem),
    made by tests/qmp/test_nbd_tls.py's certtool helpers."""
    sys.path.insert(0, os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", "qmp"))
    import test_nbd_tls
    pki = test_nbd_tls.make_pki()
    return pki["root"], [
        os.path.join(pki["server"], f) for f in
        ("ca-cert.pem", "server-cert.pem", "server-key.pem")] + [
        os.path.join(pki["client"], f) for f in
        ("client-cert.pem", "client-key.pem")]


@guest_test("certtool")
def test_migrate_tls(lv, kvmpc):
    """`virsh migrate --live --tls`: libvirt makes tls-creds-x509 objects
    from migrate_tls_x509_cert_dir on both ends (verify-peer on), sets the
    tls-creds and tls-hostname (127.0.0.1, the certificate's IP address)
    parameters, and the stream runs over TLS; the payload goes on on the
    destination.  Then with --copy-storage-all, whose NBD copy runs over
    TLS too."""
    root, files = migration_pki()
    try:
        lv.add_pki(files)
        migrate_and_check(lv, kvmpc, "kvmpc-migtls", "0000000beef5",
                          ["--tls"], pki=files)
        daemon_log = open(os.path.join(lv.tmp, "libvirtd.log")).read()
        check('"tls-creds":"objlibvirt_migrate_tls0"' in
              daemon_log.replace(" ", ""),
              "libvirt did not set tls-creds on the source")
        # --copy-storage-all too: the disk's NBD copy runs over TLS
        # (the destination's nbd-server-start and the source's NBD node
        # with tls-creds), then the stream
        if shutil.which("qemu-img"):
            copy_storage_and_check(lv, kvmpc, "kvmpc-migtlscs",
                                   "0000000beef6", ["--tls"], pki=files)
            daemon_log = open(os.path.join(lv.tmp, "libvirtd.log")).read()
            check(re.search(r'"driver":\s*"nbd"[^\n]*"tls-creds":\s*'
                            r'"objlibvirt_migrate_tls0"', daemon_log),
                  "the NBD copy did not use TLS")
    finally:
        shutil.rmtree(root, ignore_errors=True)
        for f in files:
            os.unlink(os.path.join(lv.pki_dir, os.path.basename(f)))


@guest_test()
def test_migrate_postcopy(lv, kvmpc):
    """`virsh migrate --live --postcopy` with precopy slowed to 1 MiB/s,
    then `virsh migrate-postcopy` while the job runs: libvirt sets
    postcopy-ram on both ends, passes its tcp connection as fd:, and
    sends migrate-start-postcopy; the source's kvmpc reports
    postcopy-active (libvirtd's monitor log), and the payload goes on on
    the destination."""
    def migrate(g, dest):
        lv.virsh("migrate-setspeed", g.name, "1")
        mig = subprocess.Popen(
            ["virsh", "-c", lv.uri, "migrate", "--live", "--postcopy",
             g.name, dest, "--migrateuri", "tcp://127.0.0.1"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        end = time.time() + 60
        while True:
            p = lv.virsh("migrate-postcopy", g.name, ok=False)
            if p.returncode == 0:
                break
            if mig.poll() is not None or time.time() > end:
                raise Failure("virsh migrate-postcopy: %s%s / %s" % (
                    p.stdout, p.stderr, mig.communicate()[0]))
            time.sleep(0.1)
        out, _ = mig.communicate(timeout=180)
        check(mig.returncode == 0, "virsh migrate: %s" % out)
        daemon_log = open(os.path.join(lv.tmp, "libvirtd.log")).read()
        check("postcopy-active" in daemon_log,
              "no postcopy-active in the source's monitor traffic")
    migrate_and_check(lv, kvmpc, "kvmpc-migpc", "00000000cafe", [],
                      migrate=migrate)


def wait_state_gone(lv, name, timeout=30):
    """A transient domain that shut off is gone."""
    end = time.time() + timeout
    while time.time() < end:
        p = lv.virsh("domstate", name, ok=False)
        if p.returncode != 0 or p.stdout.strip() == "shut off":
            return
        time.sleep(0.2)
    raise Failure("domain %s still there: %s" % (name, lv.log_tail()))


def main():
    if len(sys.argv) < 2:
        print("usage: test-libvirt.py KVMPC [TEST...]")
        return 2
    kvmpc = os.path.abspath(sys.argv[1])
    for tool in ("libvirtd", "virtlogd", "virsh", "unshare", "tini"):
        if not shutil.which(tool):
            print("SKIP: %s is not installed (scripts/install-deps.sh "
                  "installs libvirt-daemon-system, libvirt-clients and "
                  "tini)" % tool)
            return SKIP
    tests = [test_domcapabilities, test_define_dumpxml, test_lifecycle,
             test_console, test_reboot, test_disks, test_scsi_hotplug,
             test_vnc,
             test_q35_desktop, test_cpu_tuning,
             test_save_restore, test_hotplug_managedsave, test_snapshot,
             test_external_snapshot_jobs,
             test_migrate, test_migrate_tls,
             test_migrate_postcopy, test_migrate_p2p, test_migrate_tunnelled,
             test_migrate_copy_storage]
    only = sys.argv[2:]
    try:
        lv = Libvirt()
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    failed = 0
    try:
        for t in tests:
            if only and t.__name__ not in only:
                continue
            start = time.monotonic()
            try:
                t(lv, kvmpc)
                print("ok   %s (%.1f s)" % (t.__name__,
                                           time.monotonic() - start))
            except Exception:
                failed += 1
                print("FAIL %s" % t.__name__)
                traceback.print_exc(file=sys.stdout)
    finally:
        lv.close()
    print("%d failed" % failed if failed else "all passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
