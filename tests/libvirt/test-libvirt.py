#!/usr/bin/env python3
"""libvirt drives kvmpc: Debian's libvirtd 9.0 with <emulator> pointing at
the built kvmpc.

The test starts its own virtlogd and libvirtd in a private mount
namespace: empty temporary directories are bind-mounted over
/etc/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and
/run/libvirt, so nothing of the host's libvirt is read or changed and the
daemons see a fresh install; virsh talks to them on a socket in the
temporary directory.  What needs a running guest (test_lifecycle: start,
the serial log, suspend/resume, domstats, qemu-monitor-command, shutdown
through the ACPI power button, destroy; the guest kit's demo payload
through <kernel>) needs /dev/kvm and says SKIP without it; the probe
(domcapabilities) and define/dumpxml run anywhere.

usage: test-libvirt.py KVMPC [TEST...]   (exit 0 pass, 1 fail, 77 skip)
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET

SKIP = 77
LIBVIRT_DIRS = ["/etc/libvirt", "/var/lib/libvirt", "/var/cache/libvirt",
                "/var/log/libvirt", "/run/libvirt"]


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Libvirt:
    """virtlogd + libvirtd in a mount namespace of their own."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="kvmpc-libvirt-")
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
        with open(os.path.join(etc, "qemu.conf"), "w") as f:
            # the test's files stay root's; no cgroups without systemd
            f.write('user = "root"\ngroup = "root"\n'
                    'dynamic_ownership = 0\nremember_owner = 0\n'
                    'cgroup_controllers = []\n'
                    'namespaces = []\n')
        script = "set -e\n"
        for src, dst in binds:
            script += "mkdir -p %s && mount --bind %s %s\n" % (dst, src, dst)
        script += ("virtlogd -d -p %s/virtlogd.pid\n" % self.tmp +
                   "exec libvirtd -f /etc/libvirt/libvirtd.conf "
                   "--pid-file %s/libvirtd.pid\n" % self.tmp)
        self.proc = subprocess.Popen(["unshare", "-m", "--propagation",
                                      "private", "sh", "-c", script],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(
                                         self.tmp, "daemon.err"), "wb"))
        self.uri = ("qemu:///system?socket=%s/libvirt-sock" % self.sock_dir)
        end = time.time() + 30
        while not os.path.exists(os.path.join(self.sock_dir, "libvirt-sock")):
            if self.proc.poll() is not None or time.time() > end:
                raise Failure("libvirtd did not start: %s" %
                              open(os.path.join(self.tmp,
                                                "daemon.err")).read())
            time.sleep(0.1)

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
        self.proc.terminate()       # the exec'd libvirtd
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        try:
            with open(os.path.join(self.tmp, "virtlogd.pid")) as f:
                os.kill(int(f.read()), 15)
        except (OSError, ValueError):
            pass
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
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
      <kernel>%(kernel)s</kernel>
      <cmdline>cpus=1 powerdown=wait</cmdline></os>
  <features><acpi/></features>
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


def main():
    if len(sys.argv) < 2:
        print("usage: test-libvirt.py KVMPC [TEST...]")
        return 2
    kvmpc = os.path.abspath(sys.argv[1])
    for tool in ("libvirtd", "virtlogd", "virsh", "unshare"):
        if not shutil.which(tool):
            print("SKIP: %s is not installed (scripts/install-deps.sh "
                  "installs libvirt-daemon-system and libvirt-clients)" % tool)
            return SKIP
    tests = [test_domcapabilities, test_define_dumpxml, test_lifecycle]
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
            try:
                t(lv, kvmpc)
                print("ok   %s" % t.__name__)
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
