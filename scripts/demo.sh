#!/usr/bin/env bash
# Boots the bundled demo guest: a small payload from the guest test kit that
# greets over the serial port, counts CPUs and timer ticks, then exits
# through isa-debug-exit.
set -euo pipefail
build=${1:-build}
payload="$build/tests/guest/demo.elf"
if [ ! -e /dev/kvm ]; then
    echo "demo: /dev/kvm is missing: kvmpc needs KVM to run a guest" >&2
    exit 1
fi
echo "demo: booting $payload with 2 vCPUs"
set +e
"$build/kvmpc" -nodefaults -display none -serial stdio -smp 2 \
    -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$payload"
status=$?
set -e
if [ "$status" -eq 1 ]; then
    echo "demo: guest reported success (exit status 1 = isa-debug-exit 0)"
    exit 0
fi
echo "demo: guest reported failure (exit status $status)" >&2
exit 1
