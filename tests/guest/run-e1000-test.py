#!/usr/bin/env python3
"""The e1000 and e1000e guest tests, both sides.

    run-e1000-test.py RUNNER EMULATOR PAYLOAD [RUNNER OPTIONS...]

Listens on a unix socket in a temporary directory and echoes every byte
it receives back to the sender; runs RUNNER (run-guest-test.py) with an
e1000 on a "stream" netdev connecting to it (QEMU's stream framing: a
4-byte length, then the frame, so the echoed bytes are the same frames).
The guest (e1000.c, or e1000e.c when the payload's name says e1000e: the
NIC follows) transmits frames and checks that each comes back.
Exit status: the runner's (77 =
skipped), or 1 when the echo side saw nothing although the guest passed.
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading


def echo(listener, counter):
    try:
        conn, _ = listener.accept()
    except OSError:
        return
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            counter[0] += len(data)
            conn.sendall(data)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    runner, emulator, payload = sys.argv[1:4]
    opts = sys.argv[4:]
    with tempfile.TemporaryDirectory(prefix="kvmpc-e1000-") as d:
        path = os.path.join(d, "echo.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)
        counter = [0]
        t = threading.Thread(target=echo, args=(listener, counter),
                             daemon=True)
        t.start()
        model = "e1000e" if "e1000e" in os.path.basename(payload) else "e1000"
        rc = subprocess.call(
            [sys.executable, runner] + opts + [emulator, payload, "--",
             "-netdev", f"stream,id=n0,addr.type=unix,addr.path={path}",
             "-device", f"{model},netdev=n0,romfile="])
        listener.close()
        if rc != 0:
            return rc
        if counter[0] == 0:
            print("FAIL: host side: the echo peer received nothing")
            return 1
        print(f"PASS: host side: echoed {counter[0]} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
