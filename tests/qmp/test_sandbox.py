#!/usr/bin/env python3
"""-sandbox: the filter is on every thread, QEMU's option errors, and
spawn=deny kills.  Every other QMP suite runs the kvmpc processes it
starts under libvirt's -sandbox (KVMPC_TEST_SANDBOX=1 in
tests/qmp/meson.build, see qmplib.py): a system call kvmpc needs and the
filter denies kills it there, and the suite fails; test_sandboxed_suites
checks they still do."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (SANDBOX_ARGS, Kvmpc, QMP, check, check_eq,  # noqa: E402
                    no_kvm, run_tests, wait_for)

def seccomp_modes(pid):
    """Seccomp mode of each thread (2 = filter)."""
    modes = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith("Seccomp:"):
                    modes[tid] = int(line.split()[1])
    return modes


@no_kvm
def test_filter_on_every_thread(binary):
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-sandbox-")
    qmp_path = os.path.join(tmpdir, "qmp.sock")
    vm = Kvmpc(binary, ["-machine", "pc", "-nodefaults", "-accel", "qtest",
                        "-display", "none", "-object", "iothread,id=io0",
                        "-qmp", "unix:%s,server=on,wait=off" % qmp_path]
               + SANDBOX_ARGS, tmpdir=tmpdir, wait_sockets=[qmp_path])
    try:
        qmp = QMP(qmp_path)
        check_eq(qmp.ret("query-status")["status"], "running", "status")
        modes = seccomp_modes(vm.proc.pid)
        check(len(modes) >= 2, "several threads: %s" % modes)
        check(all(m == 2 for m in modes.values()),
              "every thread filtered: %s" % modes)
    finally:
        vm.close()
    # without -sandbox: no filter
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-sandbox-")
    qmp_path = os.path.join(tmpdir, "qmp.sock")
    vm = Kvmpc(binary, ["-machine", "none", "-accel", "qtest",
                        "-qmp", "unix:%s,server=on,wait=off" % qmp_path],
               tmpdir=tmpdir, wait_sockets=[qmp_path])
    try:
        check(all(m == 0 for m in seccomp_modes(vm.proc.pid).values()),
              "no filter by default")
    finally:
        vm.close()


@no_kvm
def test_option_errors(binary):
    for arg, msg in (("on,spawn=maybe", "invalid argument for spawn"),
                     ("on,colour=red", "Invalid parameter 'colour'"),
                     ("sometimes", "")):
        p = subprocess.run([binary, "-machine", "none", "-accel", "qtest",
                            "-sandbox", arg], capture_output=True, text=True,
                           timeout=30)
        check(p.returncode == 1 and "-sandbox" in p.stderr and
              msg in p.stderr, "%s: %r" % (arg, p.stderr))


@no_kvm
def test_spawn_denied_kills(binary):
    """spawn=deny: migrating to exec: would start a process; kvmpc dies of
    SIGSYS and says which call it was (QEMU dies the same way)."""
    import signal
    tmpdir = tempfile.mkdtemp(prefix="kvmpc-sandbox-")
    qmp_path = os.path.join(tmpdir, "qmp.sock")
    vm = Kvmpc(binary, ["-machine", "pc", "-nodefaults", "-accel", "qtest",
                        "-display", "none",
                        "-qmp", "unix:%s,server=on,wait=off" % qmp_path]
               + SANDBOX_ARGS, tmpdir=tmpdir, wait_sockets=[qmp_path])
    try:
        qmp = QMP(qmp_path)
        qmp.send_raw(b'{"execute": "migrate", "arguments": '
                     b'{"uri": "exec:cat > /dev/null"}}\n')
        rc = vm.wait()
        check_eq(rc, -signal.SIGSYS, "killed by SIGSYS")
        check("kvmpc: -sandbox: blocked system call clone" in vm.stderr(),
              "the log line: %r" % vm.stderr())
    finally:
        vm.close()


@no_kvm
def test_sandboxed_suites(binary):
    """Every other QMP suite still runs sandboxed: meson gives each
    KVMPC_TEST_SANDBOX=1 (a suite added without it would lose the
    coverage silently)."""
    build = os.path.dirname(os.path.abspath(binary))
    p = subprocess.run(["meson", "introspect", "--tests", build],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "meson introspect --tests %s: %s"
          % (build, p.stderr[-500:]))
    qmp = {t["name"]: t.get("env", {}) for t in json.loads(p.stdout)
           if t["name"].startswith("qmp-")}
    check(len(qmp) > 20, "the QMP suites: %s" % sorted(qmp))
    for name, env in sorted(qmp.items()):
        want = None if name == "qmp-sandbox" else "1"
        check(env.get("KVMPC_TEST_SANDBOX") == want,
              "%s: KVMPC_TEST_SANDBOX is %r" % (name,
                                                env.get("KVMPC_TEST_SANDBOX")))


if __name__ == "__main__":
    run_tests([test_filter_on_every_thread, test_option_errors,
               test_spawn_denied_kills, test_sandboxed_suites])
