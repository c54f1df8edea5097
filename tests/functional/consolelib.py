"""Reading a guest's console from a kvmpc child process (functional tests)."""
import os
import select
import subprocess
import time


def console_chunks(proc, timeout, poll=0.5):
    """Yield what @proc writes to its stdout, chunk by chunk, until it ends
    the stream, exits, or @timeout seconds have passed."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        ready, _, _ = select.select([proc.stdout], [], [], poll)
        if not ready:
            if proc.poll() is not None:
                return
            continue
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            return
        yield chunk


def run_until(args, patterns, timeout):
    """Run @args until every byte pattern appeared in its output, in order,
    or @timeout seconds passed; the process is killed either way.  Returns
    (the patterns not seen, the output, seconds)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    pos = 0
    want = list(patterns)
    try:
        for chunk in console_chunks(proc, timeout):
            out += chunk
            while want and out.find(want[0], pos) >= 0:
                pos = out.find(want[0], pos) + len(want[0])
                want.pop(0)
            if not want:
                break
    finally:
        proc.kill()
        proc.wait()
    return want, out, time.monotonic() - t0
