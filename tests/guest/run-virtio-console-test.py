#!/usr/bin/env python3
"""The virtio-console guest test, both sides.

    run-virtio-console-test.py RUNNER EMULATOR PAYLOAD [RUNNER OPTIONS...]

Listens on a unix socket in a temporary directory and echoes every byte
it receives back to the sender; runs RUNNER (run-guest-test.py) with a
virtio-serial-pci whose port 1 (org.kvmpc.echo) is a socket chardev
connecting to it.  The guest (virtio-console.c) sends messages on the port
and checks that each comes back.  Exit status: the runner's (77 =
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
    with tempfile.TemporaryDirectory(prefix="kvmpc-vcon-") as d:
        path = os.path.join(d, "echo.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)
        counter = [0]
        t = threading.Thread(target=echo, args=(listener, counter),
                             daemon=True)
        t.start()
        rc = subprocess.call(
            [sys.executable, runner] + opts + [emulator, payload, "--",
             "-device", "virtio-serial-pci,max_ports=2",
             "-chardev", f"socket,id=echo,path={path}",
             "-device", "virtserialport,nr=1,chardev=echo,"
                        "name=org.kvmpc.echo"])
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
