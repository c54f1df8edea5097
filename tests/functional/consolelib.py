"""Reading a guest's console from a kvmpc child process (functional tests)."""
import os
import select
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
