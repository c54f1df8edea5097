#!/usr/bin/env python3
"""Boot one guest test payload and judge the result.

    run-guest-test.py [options] EMULATOR PAYLOAD [-- EXTRA-ARGS...]

runs

    EMULATOR [EMULATOR-ARGS] -nodefaults -display none -serial stdio \\
        -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel PAYLOAD EXTRA-ARGS

prints everything the guest wrote to the serial port (and the emulator's
own messages), and passes (exit 0) when the emulator exited with status 1
(isa-debug-exit code 0: status = (code << 1) | 1) and the last
"SUMMARY: N tests, M failures" line has N > 0 and M == 0, and every
--expect pattern matched some output line.  Fails with exit 1 otherwise,
on a timeout too.  Exits 77 (skipped, for meson) when /dev/kvm is missing
or not accessible.

The emulator is normally kvmpc (the Meson target passes it).  To run the
payloads against another emulator, e.g. Debian's QEMU:

    run-guest-test.py --emulator qemu-system-x86_64 --emulator-args=-enable-kvm ...

or set KVMPC_GUEST_EMULATOR / KVMPC_GUEST_EMULATOR_ARGS in the environment
(they also apply under `meson test --suite guest`).
"""
import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import time

SKIP = 77
SUMMARY_RE = re.compile(r'^SUMMARY: (\d+) tests, (\d+) failures', re.M)


def main():
    argv = sys.argv[1:]
    extra = []
    if '--' in argv:
        i = argv.index('--')
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('emulator', help='emulator binary (kvmpc)')
    ap.add_argument('payload', help='payload passed to -kernel')
    ap.add_argument('--emulator', dest='emulator_override', metavar='PATH',
                    default=os.environ.get('KVMPC_GUEST_EMULATOR'),
                    help='use this emulator instead (env KVMPC_GUEST_EMULATOR)')
    ap.add_argument('--emulator-args', metavar='ARGS',
                    default=os.environ.get('KVMPC_GUEST_EMULATOR_ARGS', ''),
                    help='extra arguments before the standard ones, shell-quoted; use the '
                         '--emulator-args=-enable-kvm form (env KVMPC_GUEST_EMULATOR_ARGS)')
    ap.add_argument('--timeout', type=float, default=float(os.environ.get('KVMPC_GUEST_TIMEOUT', 60)),
                    help='seconds before the emulator is killed (default 60, env KVMPC_GUEST_TIMEOUT)')
    ap.add_argument('--expect', action='append', default=[], metavar='REGEX',
                    help='a line of output must match (re.search); may be repeated')
    ap.add_argument('--no-summary', action='store_true',
                    help='pass on exit status 1 alone (payloads without a SUMMARY line)')
    args = ap.parse_args(argv)

    if not os.path.exists('/dev/kvm') or not os.access('/dev/kvm', os.R_OK | os.W_OK):
        print('SKIP: /dev/kvm not available')
        return SKIP

    emulator = args.emulator_override or args.emulator
    cmd = [emulator] + shlex.split(args.emulator_args) + [
        '-nodefaults', '-display', 'none', '-serial', 'stdio',
        '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
        '-kernel', args.payload] + extra
    print('run-guest-test: ' + ' '.join(shlex.quote(c) for c in cmd), flush=True)

    start = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as e:
        print(f'FAIL: cannot run {emulator}: {e}')
        return 1
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = proc.communicate()
    elapsed = time.monotonic() - start
    text = out.decode('utf-8', errors='replace')
    sys.stdout.write(text)
    if text and not text.endswith('\n'):
        sys.stdout.write('\n')

    problems = []
    status = proc.returncode
    if timed_out:
        problems.append(f'timed out after {args.timeout:g} s')
    elif status != 1:
        if status < 0:
            problems.append(f'emulator killed by signal {-status}')
        elif status & 1:
            problems.append(f'exit status {status}: the payload exited with code {status >> 1}')
        else:
            problems.append(f'exit status {status}: not an isa-debug-exit exit')
    if not args.no_summary:
        summaries = SUMMARY_RE.findall(text)
        if not summaries:
            problems.append('no SUMMARY line')
        else:
            tests, failures = (int(x) for x in summaries[-1])
            if tests == 0:
                problems.append('SUMMARY reports no tests')
            if failures:
                problems.append(f'SUMMARY reports {failures} failures')
    if 'did not stop the machine' in text:
        # the vCPU ran on after the payload wrote isa-debug-exit: QEMU ends
        # the process from the vCPU thread, no instruction runs after it
        problems.append('the guest ran on after isa-debug-exit')
    lines = text.splitlines()
    for pat in args.expect:
        if not any(re.search(pat, line) for line in lines):
            problems.append(f'no output line matches {pat!r}')

    print(f'run-guest-test: {elapsed:.2f} s, exit status {status}')
    if problems:
        for p in problems:
            print(f'run-guest-test: FAIL: {p}')
        return 1
    print('run-guest-test: PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
