#!/usr/bin/env python3
"""What management tools (libvirt first) need before they start a guest:
the probe command line (-machine none, accel lists, -daemonize with a
pidfile, -no-user-config), the QOM type table (qom-list-types,
qom-list-properties), query-command-line-options, memory backends as the
machine's RAM, -msg, -name debug-threads=on and -overcommit.  All without
/dev/kvm: -machine none and -accel qtest (the -accel kvm,dirty-ring-size=
test checks the host's limits too where /dev/kvm is usable)."""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (QMP, Kvmpc, TestFailure, check, check_eq,  # noqa: E402
                    kvm_usable, no_kvm, run_tests, wait_for)
from test_timer_storm import QTest  # noqa: E402


def probe_args(tmpdir, accel="kvm:tcg"):
    """libvirt 9.0's probe command line, as it runs it."""
    return ["-S", "-no-user-config", "-nodefaults", "-nographic",
            "-machine", "none,accel=" + accel,
            "-qmp", "unix:%s,server=on,wait=off" % os.path.join(tmpdir, "qmp"),
            "-pidfile", os.path.join(tmpdir, "pid"), "-daemonize"]


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def start_daemon(binary, tmpdir, accel="kvm:tcg"):
    """Run the probe: the parent must exit 0 with the monitor listening."""
    p = subprocess.run([binary] + probe_args(tmpdir, accel),
                       capture_output=True, text=True, timeout=30)
    check_eq(p.returncode, 0, "daemonizing parent's exit status (%s)" %
             p.stderr)
    check(os.path.exists(os.path.join(tmpdir, "qmp")),
          "the monitor socket exists when the parent has exited")
    with open(os.path.join(tmpdir, "pid")) as f:
        pid = int(f.read())
    check(pid_alive(pid), "the pidfile names the running daemon")
    return pid, QMP(os.path.join(tmpdir, "qmp")), p.stderr


def stop_daemon(pid, qmp, tmpdir):
    qmp.ret("quit")
    wait_for(lambda: not pid_alive(pid) or
             open("/proc/%d/stat" % pid).read().split()[2] == "Z",
             what="daemon exit")
    wait_for(lambda: not os.path.exists(os.path.join(tmpdir, "pid")),
             what="pidfile removed at exit")


@no_kvm
def test_probe_daemonize(binary):
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    pid, qmp, err = start_daemon(binary, tmpdir)
    try:
        status = qmp.ret("query-status")
        check_eq(status["status"], "prelaunch", "status under -S")
        kvm = qmp.ret("query-kvm")
        check_eq(kvm["enabled"], os.path.exists("/dev/kvm") and
                 kvm["present"], "query-kvm enabled")
        if not kvm["enabled"]:
            check("trying the next accelerator (tcg)" in err,
                  "the fallback is reported: %r" % err)
        machines = {m["name"]: m for m in qmp.ret("query-machines")}
        check("none" in machines and "pc-i440fx-7.2" in machines,
              "machine types: %s" % list(machines))
        check_eq(machines["none"]["hotpluggable-cpus"], False,
                 "none has no CPUs to plug")
        check_eq(qmp.ret("query-cpus-fast"), [], "no vCPU on none")
        # the daemon is detached: its own session, cwd /
        check_eq(os.getsid(pid), pid, "setsid")
        check_eq(os.readlink("/proc/%d/cwd" % pid), "/", "cwd")
    finally:
        stop_daemon(pid, qmp, tmpdir)


@no_kvm
def test_probe_tcg_only(binary):
    """libvirt's second probe (forced TCG) starts too: none runs no code."""
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    pid, qmp, _ = start_daemon(binary, tmpdir, accel="tcg")
    try:
        check_eq(qmp.ret("query-kvm")["enabled"], False, "kvm enabled")
    finally:
        stop_daemon(pid, qmp, tmpdir)


def run_fail(binary, args):
    p = subprocess.run([binary] + args, capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    check(p.returncode != 0, "%s: expected failure" % args)
    return p.stderr.strip()


@no_kvm
def test_cli_errors(binary):
    err = run_fail(binary, ["-machine", "pc,accel=tcg", "-nodefaults"])
    check("kvmpc has no TCG" in err, err)
    err = run_fail(binary, ["-machine", "none,accel=kvm:xen"])
    check("invalid accelerator xen" in err, err)
    # the start-up error of a daemon still reaches the caller's stderr
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    err = run_fail(binary, ["-daemonize", "-nodefaults", "-machine", "none",
                            "-accel", "qtest",
                            "-chardev", "socket,id=c,path=/nonexistent/x"])
    check("/nonexistent/x" in err, err)
    err = run_fail(binary, ["-daemonize", "-nographic", "-machine", "pc",
                            "-accel", "qtest"])
    check("-nographic cannot be used with -daemonize" in err, err)
    err = run_fail(binary, ["-name", "g,colour=red", "-machine", "none",
                            "-accel", "qtest"])
    check("Invalid parameter 'colour'" in err, err)
    err = run_fail(binary, ["-overcommit", "cpu-pm=on", "-machine", "none",
                            "-accel", "qtest"])
    check("cpu-pm=on is not supported" in err, err)
    err = run_fail(binary, ["-machine", "none", "-accel", "qtest", "-msg",
                            "timestamp=on", "-chardev", "bogus,id=x"])
    check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z kvmpc: ", err),
          "timestamp prefix: %r" % err)
    err = run_fail(binary, ["-machine", "pc,memory-backend=m0", "-accel",
                            "qtest", "-nodefaults", "-m", "64M", "-object",
                            "memory-backend-ram,id=m0,size=32M"])
    check("does not match the size of the memory backend" in err, err)
    err = run_fail(binary, ["-machine", "pc,memory-backend=nope", "-accel",
                            "qtest", "-nodefaults"])
    check("Memory backend 'nope' not found" in err, err)
    err = run_fail(binary, ["-machine", "none", "-accel", "qtest", "-object",
                            "memory-backend-ram,id=m0,size=1M,policy=bind"])
    check("host-nodes must be set for policy bind" in err, err)


def names(types):
    return {t["name"]: t for t in types}


@no_kvm
def test_qom_types(binary):
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    pid, qmp, _ = start_daemon(binary, tmpdir)
    try:
        types = names(qmp.ret("qom-list-types"))
        for want in ("none-machine", "pc-i440fx-7.2-machine", "kvm-accel",
                     "qtest-accel", "tcg-accel", "memory-backend-ram",
                     "memory-backend-file", "memory-backend-memfd",
                     "iothread", "rng-random", "max-x86_64-cpu",
                     "host-x86_64-cpu", "qemu64-x86_64-cpu", "VGA",
                     "virtio-rng-pci", "isa-serial", "chardev-socket"):
            check(want in types, "qom-list-types lacks %s" % want)
        check("device" not in types and "machine" not in types,
              "abstract types only with abstract=true")
        check_eq(types["virtio-rng-pci"].get("parent") is not None, True,
                 "parent given")
        every = names(qmp.ret("qom-list-types", {"abstract": True}))
        check(every["device"]["abstract"] and every["object"]["abstract"],
              "abstract flags")
        devs = names(qmp.ret("qom-list-types", {"implements": "device"}))
        check("VGA" in devs and "max-x86_64-cpu" in devs and
              "iothread" not in devs and "none-machine" not in devs,
              "implements=device: %s" % sorted(devs))
        pci = names(qmp.ret("qom-list-types",
                            {"implements": "conventional-pci-device"}))
        check("virtio-rng-pci" in pci and "isa-serial" not in pci,
              "interfaces are inherited")
        uc = names(qmp.ret("qom-list-types",
                           {"implements": "user-creatable"}))
        check("memory-backend-file" in uc and "VGA" not in uc, "objects")
        check_eq(qmp.ret("qom-list-types", {"implements": "no-such"}), [],
                 "unknown implements")

        def props(t):
            return {p["name"]: p["type"]
                    for p in qmp.ret("qom-list-properties", {"typename": t})}
        mbf = props("memory-backend-file")
        for want in ("size", "share", "mem-path", "prealloc", "readonly"):
            check(want in mbf, "memory-backend-file.%s" % want)
        cpu = props("max-x86_64-cpu")
        check(cpu.get("sse2") == "bool" and cpu.get("x2apic") == "bool",
              "CPU feature properties")
        check("chardev" in props("isa-serial"), "device properties")
        check("memory-backend" in props("pc-i440fx-7.2-machine"),
              "machine properties")
        check_eq(props("kvm-accel").get("dirty-ring-size"), "uint32",
                 "kvm-accel.dirty-ring-size (libvirt's probe)")
        e = qmp.error("qom-list-properties", {"typename": "no-such"})
        check("not found" in e["desc"], e)
        # query-command-line-options: every listed -machine parameter is
        # one kvmpc accepts (tried one by one on a throw-away process)
        opts = {o["option"]: o["parameters"]
                for o in qmp.ret("query-command-line-options")}
        for o in ("machine", "name", "msg", "overcommit", "smp-opts"):
            check(o in opts, "query-command-line-options lacks %s" % o)
        check_eq([p["name"] for p in
                  qmp.ret("query-command-line-options",
                          {"option": "msg"})[0]["parameters"]],
                 ["timestamp", "guest-name"], "one option")
        e = qmp.error("query-command-line-options", {"option": "nope"})
        check("Invalid option name" in e["desc"], e)
        check_eq(cpu.get("migratable"), "bool",
                 "max-x86_64-cpu.migratable (libvirt's host-passthrough "
                 "migratable=)")
        check_listed_params_accepted(binary, opts, tmpdir)
    finally:
        stop_daemon(pid, qmp, tmpdir)


# A value each listed parameter takes (kvmpc's parser would refuse any
# other key with "Invalid parameter").
OPTION_PARAM_TRIES = {
    "sandbox": ("-sandbox", "on", {
        "enable": "on", "obsolete": "deny", "elevateprivileges": "deny",
        "spawn": "deny", "resourcecontrol": "deny"}),
    "spice": ("-spice", "unix=on,addr=%(tmp)s/spice.sock", {
        "port": "0", "addr": "%(tmp)s/spice.sock", "ipv4": "on",
        "ipv6": "off", "unix": "on", "password": "pw",
        "password-secret": ("sec0", ["-object", "secret,id=sec0,data=pw"]),
        "disable-ticketing": "on", "image-compression": "auto_glz",
        "jpeg-wan-compression": "auto", "zlib-glz-wan-compression": "auto",
        "streaming-video": "off", "agent-mouse": "off",
        "playback-compression": "on", "seamless-migration": "on",
        "disable-copy-paste": "on", "disable-agent-file-xfer": "on"}),
}


def check_listed_params_accepted(binary, opts, tmpdir):
    """-sandbox and -spice (where kvmpc was built with libseccomp and
    libspice-server: libvirt refuses SPICE graphics, and starts guests
    without a seccomp filter, when they are not listed): each parameter
    query-command-line-options lists is one kvmpc takes, tried one by one
    on a throw-away process."""
    def accepted(option, value, extra=()):
        p = subprocess.run(
            [binary, "-machine", "none", "-accel", "qtest", "-nodefaults",
             "-display", "none", "-S", *extra, option, value,
             "-qmp", "stdio"],
            input='{"execute": "qmp_capabilities"}\n'
                  '{"execute": "quit"}\n',
            capture_output=True, text=True, timeout=30)
        return p.returncode == 0, p.stderr.strip()
    for name, (option, base, tries) in OPTION_PARAM_TRIES.items():
        built, _ = accepted(option, base % {"tmp": tmpdir})
        check_eq(name in opts, built,
                 "query-command-line-options lists %s exactly when kvmpc "
                 "takes %s" % (name, option))
        for param in opts.get(name, []):
            key = param["name"]
            check(key in tries, "%s.%s is listed: give it a value to try "
                  "here" % (name, key))
            value, extra = (tries[key] if isinstance(tries[key], tuple)
                            else (tries[key], []))
            value = "%s=%s" % (key, value % {"tmp": tmpdir})
            if name == "spice" and key != "port":
                value = base % {"tmp": tmpdir} + "," + value
            ok, err = accepted(option, value, extra)
            check(ok, "%s %s (listed) is refused: %s" % (option, value, err))


@no_kvm
def test_dirty_ring_option(binary):
    """-accel kvm,dirty-ring-size=: QEMU's checks and texts, one line and
    status 1 each; where /dev/kvm is usable, the host's limits too."""
    def fail(value):
        return run_fail(binary, ["-machine", "none", "-nodefaults",
                                 "-accel", "kvm,dirty-ring-size=" + value])
    for value, want in (
            ("3", "kvmpc: -accel kvm,dirty-ring-size=3: dirty-ring-size must "
                  "be a power of two."),
            ("4097", "dirty-ring-size must be a power of two."),
            ("-1", "Parameter 'dirty-ring-size' expects uint32_t"),
            ("4294967296", "Parameter 'dirty-ring-size' expects uint32_t"),
            ("x", "Parameter 'dirty-ring-size' expects uint32_t")):
        err = fail(value)
        check(want in err and len(err.splitlines()) == 1,
              "dirty-ring-size=%s: %r" % (value, err))
    usable, _ = kvm_usable()
    if not usable:
        print("  (no /dev/kvm: the host's limits are not checked)")
        return
    # above the host's maximum (KVM_CHECK_EXTENSION), below its minimum
    err = fail("1073741824")
    check(re.fullmatch(r"kvmpc: KVM dirty ring size 1073741824 too big "
                       r"\(maximum is \d+\)\.  Please use a smaller value\.",
                       err), err)
    err = fail("1")
    check(err.startswith("kvmpc: Enabling of KVM dirty ring failed: ") and
          len(err.splitlines()) == 1, err)
    # a good size (and 0, the bitmap) starts
    for value in ("4096", "0"):
        tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
        qmp_path = os.path.join(tmpdir, "qmp.sock")
        vm = Kvmpc(binary, ["-machine", "none", "-nodefaults", "-display",
                            "none", "-accel", "kvm,dirty-ring-size=" + value,
                            "-qmp", "unix:%s,server=on,wait=off" % qmp_path],
                   tmpdir=tmpdir)
        try:
            vm.wait_socket(qmp_path)
            check_eq(QMP(qmp_path).ret("query-kvm")["enabled"], True,
                     "dirty-ring-size=%s: KVM enabled" % value)
        finally:
            vm.close()


def qtest_vm(binary, tmpdir, extra):
    qt_path = os.path.join(tmpdir, "qtest.sock")
    qmp_path = os.path.join(tmpdir, "qmp.sock")
    vm = Kvmpc(binary, ["-nodefaults", "-display", "none", "-accel", "qtest",
                        "-qtest-log", "none",
                        "-qtest", "unix:%s,server=on" % qt_path,
                        "-qmp", "unix:%s,server=on,wait=off" % qmp_path]
               + extra, tmpdir=tmpdir)
    wait_for(lambda: os.path.exists(qt_path), what="qtest socket")
    qt = QTest(qt_path)
    vm.wait_socket(qmp_path)
    return vm, qt, QMP(qmp_path)


@no_kvm
def test_memory_backend_file(binary):
    """Guest RAM is the file: a guest write shows up in it, byte for byte,
    and the file's bytes are what the guest reads."""
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    ram = os.path.join(tmpdir, "ram")
    vm, qt, qmp = qtest_vm(binary, tmpdir, [
        "-machine", "pc,memory-backend=m0",
        "-object", "memory-backend-file,id=m0,size=64M,mem-path=%s,"
        "share=on,prealloc=on" % ram])
    try:
        check_eq(os.path.getsize(ram), 64 << 20, "file sized to the RAM")
        qt.cmd("writeq 0x123000 0x1122334455667788")
        with open(ram, "rb") as f:
            f.seek(0x123000)
            check_eq(f.read(8).hex(), "8877665544332211", "guest write")
        with open(ram, "r+b") as f:
            f.seek(0x200000)
            f.write(bytes.fromhex("efbeadde"))
        reply, _ = qt.cmd("readl 0x200000")
        check_eq(int(reply.split()[1], 16), 0xdeadbeef, "host write")
        check_eq(qmp.ret("query-status")["status"], "running", "status")
    finally:
        vm.close()


@no_kvm
def test_memory_backend_memfd_and_ram(binary):
    """memfd and ram backends, RAM size taken from the backend (no -m),
    above 4 GiB too."""
    for obj in ("memory-backend-memfd,id=m0,size=5G",
                "memory-backend-ram,id=m0,size=5G,share=on,merge=off"):
        tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
        vm, qt, qmp = qtest_vm(binary, tmpdir,
                               ["-machine", "pc,memory-backend=m0",
                                "-object", obj])
        try:
            qt.cmd("writel 0x100000000 0xcafe0001")     # above 4 GiB
            reply, _ = qt.cmd("readl 0x100000000")
            check_eq(int(reply.split()[1], 16), 0xcafe0001, obj)
            maps = open("/proc/%d/maps" % vm.proc.pid).read()
            if "memfd" in obj:
                check("memfd:m0" in maps, "a memfd mapping")
        finally:
            vm.close()


@no_kvm
def test_debug_threads(binary):
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    vm, qt, qmp = qtest_vm(binary, tmpdir, [
        "-machine", "pc", "-name", "guest=g1,process=kvmpc-g1,"
        "debug-threads=on", "-object", "iothread,id=io0"])
    try:
        def comms():
            d = "/proc/%d/task" % vm.proc.pid
            return {open("%s/%s/comm" % (d, t)).read().strip()
                    for t in os.listdir(d)}
        wait_for(lambda: "IO io0" in comms(), what="named I/O thread")
        check("kvmpc-g1" in comms(), "process name: %s" % comms())
        check_eq(qmp.ret("query-name"), {"name": "g1"}, "query-name")
    finally:
        vm.close()


@no_kvm
def test_chardev_fd(binary):
    """libvirt's monitor: a listening socket kvmpc inherits as fd=N."""
    import socket
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    path = os.path.join(tmpdir, "monitor.sock")
    lsock = socket.socket(socket.AF_UNIX)
    lsock.bind(path)
    lsock.listen(1)
    fd = lsock.fileno()
    args = [binary, "-S", "-nodefaults", "-machine", "none", "-accel",
            "qtest", "-chardev",
            "socket,id=charmonitor,fd=%d,server=on,wait=off" % fd,
            "-mon", "chardev=charmonitor,id=monitor,mode=control"]
    p = subprocess.Popen(args, pass_fds=[fd], stdin=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    lsock.close()
    try:
        qmp = QMP(path)
        chardevs = {c["label"]: c["filename"]
                    for c in qmp.ret("query-chardev")}
        check("unix:%s" % path in chardevs["charmonitor"],
              "query-chardev names the socket: %r" % chardevs)
        qmp.ret("quit")
        p.wait(10)
        check(os.path.exists(path), "an inherited socket is not unlinked")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # a connected socket given as a server, or no socket at all: errors
    a, b = socket.socketpair()
    q = subprocess.run([binary, "-machine", "none", "-accel", "qtest",
                        "-chardev", "socket,id=c,fd=%d,server=on" %
                        a.fileno()], pass_fds=[a.fileno()],
                       capture_output=True, text=True, timeout=30)
    check("is a connected socket but server=on" in q.stderr, q.stderr)
    q = subprocess.run([binary, "-machine", "none", "-accel", "qtest",
                        "-chardev", "socket,id=c,fd=0"],
                       stdin=open(os.devnull), capture_output=True,
                       text=True, timeout=30)
    check("fd=0 is not an open socket" in q.stderr, q.stderr)


@no_kvm
def test_json_options_and_audiodev(binary):
    """libvirt's JSON -object/-device forms, and -audiodev none."""
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    vm, qt, qmp = qtest_vm(binary, tmpdir, [
        "-machine", "pc,memory-backend=pc.ram",
        "-object", '{"qom-type":"memory-backend-ram","id":"pc.ram",'
                   '"size":67108864}',
        "-object", '{"qom-type":"iothread","id":"iothread1",'
                   '"poll-max-ns":0}',
        "-device", '{"driver":"virtio-rng-pci","id":"rng0","bus":"pci.0",'
                   '"addr":"0x5","max-bytes":1024,"period":1000}',
        "-audiodev", '{"id":"audio1","driver":"none"}',
        "-audiodev", "none,id=audio2,timer-period=5000,out.frequency=48000"])
    try:
        check_eq(qmp.ret("qom-get", {"path": "rng0", "property":
                                     "max-bytes"}), 1024, "JSON number")
        pci = qmp.ret("query-pci")[0]["devices"]
        check(any(d["slot"] == 5 for d in pci), "addr from JSON")
    finally:
        vm.close()
    for args, msg in (
            (["-audiodev", "coreaudio,id=a"],
             "audio driver 'coreaudio' is not built"),
            (["-audiodev", "bogus,id=a"], "does not accept value 'bogus'"),
            (["-audiodev", "none"], "Parameter 'id' is missing"),
            (["-audiodev", "none,id=a,colour=red"], "Invalid parameter"),
            (["-audiodev", "none,id=a", "-audiodev", "none,id=a"],
             "already exists"),
            (["-object", '{"qom-type":"iothread","id":}'], "-object"),
            (["-device", '{"driver":"virtio-rng-pci","bus":"pci.1"}'],
             "Bus 'pci.1' not found"),
            (["-object", '{"qom-type":"iothread","id":"x","a":null}'],
             "null is not a value")):
        machine = "pc" if "-device" in args else "none"
        err = run_fail(binary, ["-machine", machine, "-accel", "qtest",
                                "-nodefaults"] + args)
        check(msg in err, "%s: %r" % (args, err))


@no_kvm
def test_running_vm_queries(binary):
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    vm, qt, qmp = qtest_vm(binary, tmpdir, [
        "-machine", "pc,memory-backend=pc.ram",
        "-object", "memory-backend-memfd,id=pc.ram,size=256M,merge=off",
        "-object", "iothread,id=io0,poll-max-ns=1000,poll-grow=3"])
    try:
        th = qmp.ret("query-iothreads")
        check_eq(len(th), 1, "one I/O thread")
        check_eq((th[0]["id"], th[0]["poll-max-ns"], th[0]["poll-grow"]),
                 ("io0", 1000, 3), "I/O thread parameters")
        check(os.path.exists("/proc/%d/task/%d" % (vm.proc.pid,
                                                   th[0]["thread-id"])),
              "thread-id is one of kvmpc's threads")
        md = qmp.ret("query-memdev")
        check_eq([(m["id"], m["size"], m["merge"], m["share"]) for m in md],
                 [("pc.ram", 256 << 20, False, True)], "query-memdev")
        check_eq(qmp.ret("query-memory-size-summary")["base-memory"],
                 256 << 20, "base-memory")
        check_eq(qmp.ret("query-current-machine"),
                 {"wakeup-suspend-support": False}, "current machine")
        e = qmp.error("system_wakeup")
        check("not supported" in e["desc"], e)
        e = qmp.error("inject-nmi")
        check("no vCPU" in e["desc"], e)
        e = qmp.error("set-action", {"panic": "pause"})
        check("panic device" in e["desc"], e)
        # set-action reboot=shutdown: a guest reset (keyboard controller
        # pulse) now ends kvmpc, as -no-reboot would
        qmp.ret("set-action", {"reboot": "shutdown"})
        qt.cmd("outb 0x64 0xfe")
        ev = qmp.wait_event("SHUTDOWN")
        check_eq(ev["data"]["reason"], "guest-reset", "shutdown reason")
        check_eq(vm.wait(), 0, "exit status")
    finally:
        vm.close()


@no_kvm
def test_dump_guest_memory(binary):
    import struct
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    vm, qt, qmp = qtest_vm(binary, tmpdir, ["-machine", "pc", "-m", "4G"])
    core = os.path.join(tmpdir, "core")
    try:
        cap = qmp.ret("query-dump-guest-memory-capability")
        check_eq(cap["formats"], ["elf"], "formats")
        qt.cmd("writeq 0x1000 0x0123456789abcdef")
        qt.cmd("writeq 0x100000100 0x1122334455667788")   # above 4 GiB
        qmp.ret("dump-guest-memory", {"paging": False,
                                      "protocol": "file:" + core,
                                      "detach": True})
        ev = qmp.wait_event("DUMP_COMPLETED")
        check_eq(ev["data"]["result"]["status"], "completed", "event")
        check_eq(qmp.ret("query-dump")["status"], "completed", "query-dump")
        with open(core, "rb") as f:
            data = f.read(64)
            check_eq(data[:4], b"\x7fELF", "ELF magic")
            e_type, e_machine = struct.unpack_from("<HH", data, 16)
            check_eq((e_type, e_machine), (4, 62), "ET_CORE, EM_X86_64")
            phoff, = struct.unpack_from("<Q", data, 32)
            phnum, = struct.unpack_from("<H", data, 56)
            f.seek(phoff)
            segs = []
            for _ in range(phnum):
                ph = f.read(56)
                p_type, _, p_off, _, p_paddr, p_filesz = \
                    struct.unpack_from("<IIQQQQ", ph)
                segs.append((p_type, p_off, p_paddr, p_filesz))
            check_eq([(t, pa) for t, _, pa, _ in segs],
                     [(1, 0), (1, 1 << 32)], "PT_LOAD at 0 and 4 GiB")
            check_eq(sum(s[3] for s in segs), 4 << 30, "all RAM")
            f.seek(segs[0][1] + 0x1000)
            check_eq(f.read(8).hex(), "efcdab8967452301", "low RAM byte")
            f.seek(segs[1][1] + 0x100)
            check_eq(f.read(8).hex(), "8877665544332211", "high RAM byte")
        for args, msg in (({"paging": True}, "paging=true"),
                          ({"format": "kdump-zlib"}, "unsupported dump"),
                          ({"begin": 0, "length": 4096}, "only valid"),
                          ({"protocol": "tcp:x"}, "protocol")):
            a = {"paging": False, "protocol": "file:" + core}
            a.update(args)
            e = qmp.error("dump-guest-memory", a)
            check(msg in e["desc"], "%s: %s" % (args, e))
    finally:
        vm.close()


@no_kvm
def test_action_option(binary):
    err = run_fail(binary, ["-machine", "none", "-accel", "qtest",
                            "-action", "reboot=explode"])
    check("does not accept value 'explode'" in err, err)
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    vm, qt, qmp = qtest_vm(binary, tmpdir, ["-machine", "pc",
                                            "-action", "reboot=shutdown"])
    try:
        qt.cmd("outb 0x64 0xfe")
        check_eq(vm.wait(), 0, "a guest reset ends kvmpc")
    finally:
        vm.close()


@no_kvm
def test_qom_set(binary):
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    vm, qt, qmp = qtest_vm(binary, tmpdir, [
        "-machine", "pc", "-device", "virtio-balloon-pci,id=balloon0"])
    try:
        path = "/machine/peripheral/balloon0"
        qmp.ret("qom-set", {"path": path, "value": 7,
                            "property": "guest-stats-polling-interval"})
        check_eq(qmp.ret("qom-get", {"path": path, "property":
                                     "guest-stats-polling-interval"}),
                 7, "interval read back")
        for value, msg in ((-1, "greater than zero"), (1 << 33, "too big"),
                           ("x", "expected: integer")):
            e = qmp.error("qom-set", {"path": path, "value": value,
                                      "property":
                                      "guest-stats-polling-interval"})
            check(msg in e["desc"], e)
        e = qmp.error("qom-set", {"path": path, "property":
                                  "deflate-on-oom", "value": True})
        check("after it was realized" in e["desc"], e)
        e = qmp.error("qom-set", {"path": path, "property": "nope",
                                  "value": 1})
        check("not found" in e["desc"], e)
    finally:
        vm.close()


@no_kvm
def test_secret_errors(binary):
    """-object secret: every bad form is one start-up error (the good ones
    are used for iSCSI CHAP in tests/qtest/block/test-iscsi.py)."""
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    key = os.path.join(tmpdir, "key")
    with open(key, "wb") as f:
        f.write(b"k" * 32)
    for objs, msg in (
            (["secret,id=s"], "exactly one of 'data' and 'file'"),
            (["secret,id=s,data=x,file=/x"], "exactly one of"),
            (["secret,id=s,file=/nonexistent"], "Unable to read"),
            (["secret,id=s,data=%%%,format=base64"], "not valid base64"),
            (["secret,id=s,data=x,format=hex"], "does not accept value"),
            (["secret,id=s,data=QUJD,keyid=k,iv=QUJDREVGR0hJSktMTU5PUA=="],
             "No secret with id 'k'"),
            (["secret,id=k,file=%s" % key, "secret,id=s,data=QUJD,keyid=k"],
             "iv is required"),
            (["secret,id=k,file=%s" % key,
              "secret,id=s,data=QUJDRA==,keyid=k,iv=QUJD"],
             "iv must be 16 bytes"),
            (["secret,id=k,data=short", "secret,id=s,data=QUJDRA==,keyid=k,"
              "iv=QUJDREVGR0hJSktMTU5PUA=="], "must be 32 bytes")):
        args = ["-machine", "none", "-accel", "qtest"]
        for o in objs:
            args += ["-object", o]
        err = run_fail(binary, args)
        check(msg in err, "%s: %r" % (objs, err))


@no_kvm
def test_piix4_sleep_states(binary):
    """libvirt's -global PIIX4_PM.disable_s3=1/disable_s4=1 are accepted;
    disable_s4=0 offers S4 to the firmware; S3 cannot be offered."""
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    qt_path = os.path.join(tmpdir, "qtest.sock")
    for s4, want in (("1", 0x02), ("0", 0x82)):
        vm, qt, qmp = qtest_vm(binary, tempfile.mkdtemp(prefix="kvmpc-mgmt-"),
                               ["-machine", "pc",
                                "-global", "PIIX4_PM.disable_s3=1",
                                "-global", "PIIX4_PM.disable_s4=" + s4])
        try:
            # fw_cfg directory: find etc/system-states, read byte 4
            qt.cmd("outw 0x510 0x19")
            count = 0
            for _ in range(4):
                r, _t = qt.cmd("inb 0x511")
                count = count << 8 | int(r.split()[1], 16)
            sel = None
            for _ in range(count):
                ent = []
                for _ in range(64):
                    r, _t = qt.cmd("inb 0x511")
                    ent.append(int(r.split()[1], 16))
                name = bytes(ent[8:]).split(b"\0")[0]
                if name == b"etc/system-states":
                    sel = ent[4] << 8 | ent[5]
            check(sel is not None, "etc/system-states present")
            qt.cmd("outw 0x510 0x%x" % sel)
            got = []
            for _ in range(6):
                r, _t = qt.cmd("inb 0x511")
                got.append(int(r.split()[1], 16))
            check_eq(got[4], want, "S4 entry with disable_s4=" + s4)
            check_eq(got[3] & 0x80, 0, "S3 never offered")
        finally:
            vm.close()
    err = run_fail(binary, ["-machine", "pc", "-accel", "qtest",
                            "-global", "PIIX4_PM.disable_s3=0"])
    check("S3 (suspend to RAM) is not supported" in err, err)


def send_with_fd(qmp, cmd, args, fd):
    import json
    import socket
    req = json.dumps({"execute": cmd, "arguments": args}).encode() + b"\n"
    socket.send_fds(qmp.sock, [req], [fd])
    return qmp.recv_reply()


@no_kvm
def test_fdsets(binary):
    """-add-fd and add-fd/remove-fd/query-fdsets; /dev/fdset/N opens the
    set's descriptor (guest RAM file, a disk image, a dump target)."""
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    ram = os.path.join(tmpdir, "ram")
    with open(ram, "wb") as f:
        f.truncate(64 << 20)
    ramfd = os.open(ram, os.O_RDWR)
    vm, qt, qmp = (None, None, None)
    qt_path = os.path.join(tmpdir, "qtest.sock")
    qmp_path = os.path.join(tmpdir, "qmp.sock")
    vm = Kvmpc(binary, ["-nodefaults", "-display", "none", "-accel", "qtest",
                        "-qtest-log", "none",
                        "-qtest", "unix:%s,server=on" % qt_path,
                        "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
                        "-add-fd", "fd=%d,set=3,opaque=ram" % ramfd,
                        "-machine", "pc,memory-backend=m0",
                        "-object", "memory-backend-file,id=m0,size=64M,"
                        "mem-path=/dev/fdset/3,share=on"],
               tmpdir=tmpdir, pass_fds=(ramfd,))
    os.close(ramfd)
    try:
        wait_for(lambda: os.path.exists(qt_path), what="qtest socket")
        qt = QTest(qt_path)
        vm.wait_socket(qmp_path)
        qmp = QMP(qmp_path)
        qt.cmd("writel 0x5000 0xfeedf00d")
        with open(ram, "rb") as f:
            f.seek(0x5000)
            check_eq(f.read(4).hex(), "0df0edfe", "RAM is the fdset's file")
        sets = qmp.ret("query-fdsets")
        check_eq([(x["fdset-id"], [f.get("opaque") for f in x["fds"]])
                  for x in sets], [(3, ["ram"])], "query-fdsets")
        # add-fd over QMP: a read-only descriptor in a new set, then a
        # dump through getfd
        ro = os.open(ram, os.O_RDONLY)
        r = send_with_fd(qmp, "add-fd", {"opaque": "ro"}, ro)
        os.close(ro)
        check_eq(r["return"]["fdset-id"], 0, "first free set id")
        e = qmp.error("add-fd", {"fdset-id": 5})
        check("SCM_RIGHTS" in e["desc"], e)
        qmp.ret("remove-fd", {"fdset-id": 0})
        check_eq([x["fdset-id"] for x in qmp.ret("query-fdsets")], [3],
                 "set 0 removed")
        e = qmp.error("remove-fd", {"fdset-id": 0})
        check("not found" in e["desc"], e)
        core = os.path.join(tmpdir, "core")
        cfd = os.open(core, os.O_WRONLY | os.O_CREAT, 0o600)
        check_eq(send_with_fd(qmp, "getfd", {"fdname": "dump"}, cfd),
                 {"return": {}}, "getfd")
        os.close(cfd)
        qmp.ret("dump-guest-memory", {"paging": False, "protocol": "fd:dump"})
        check_eq(os.path.getsize(core), 64 + 56 + (64 << 20), "dump via fd")
    finally:
        vm.close()
    # a set without a descriptor of the needed access mode
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-mgmt-")
    img = os.path.join(tmpdir, "disk.img")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    rofd = os.open(img, os.O_RDONLY)
    p = subprocess.run([binary, "-machine", "pc", "-accel", "qtest",
                        "-nodefaults", "-add-fd", "fd=%d,set=1" % rofd,
                        "-blockdev", "driver=file,node-name=f,"
                        "filename=/dev/fdset/1"],
                       pass_fds=(rofd,), capture_output=True, text=True,
                       timeout=30)
    check(p.returncode == 1 and "Permission denied" in p.stderr, p.stderr)
    err = run_fail(binary, ["-machine", "none", "-accel", "qtest",
                            "-add-fd", "fd=2,set=1"])
    check("not a valid descriptor" in err, err)
    err = run_fail(binary, ["-machine", "none", "-accel", "qtest",
                            "-add-fd", "set=1"])
    check("fd option is required" in err, err)


if __name__ == "__main__":
    run_tests([test_probe_daemonize, test_probe_tcg_only, test_cli_errors,
               test_dirty_ring_option,
               test_qom_types, test_memory_backend_file,
               test_memory_backend_memfd_and_ram, test_debug_threads,
               test_chardev_fd, test_json_options_and_audiodev,
               test_running_vm_queries, test_dump_guest_memory,
               test_action_option, test_qom_set, test_secret_errors,
               test_piix4_sleep_states, test_fdsets])
