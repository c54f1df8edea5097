#!/usr/bin/env python3
"""-sandbox: the filter is on every thread, QEMU's option errors, and the
QMP suites that run without /dev/kvm pass again with every kvmpc they
start under libvirt's -sandbox (KVMPC_TEST_SANDBOX=1, see qmplib.py): a
system call kvmpc needs and the filter denies would kill it there."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (SANDBOX_ARGS, Kvmpc, QMP, check, check_eq,  # noqa: E402
                    no_kvm, run_tests, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))


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
def test_qmp_suites_sandboxed(binary):
    env = dict(os.environ, KVMPC_TEST_SANDBOX="1")
    for suite in ("test_commands.py", "test_mgmt.py", "test_blockdev.py",
                  "test_chardev.py"):
        p = subprocess.run([sys.executable, os.path.join(HERE, suite),
                            binary], env=env, capture_output=True, text=True,
                           timeout=600)
        out = p.stdout + p.stderr
        check(p.returncode in (0, 77) and "blocked system call" not in out,
              "%s under -sandbox:\n%s" % (suite, out[-3000:]))


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


if __name__ == "__main__":
    run_tests([test_filter_on_every_thread, test_option_errors,
               test_qmp_suites_sandboxed, test_spawn_denied_kills])
