#!/usr/bin/env bash
# make bench: every benchmark row, printed as ratios (see bench/README.md).
set -euo pipefail
build=${1:-build}
python3 bench/run.py "$build" "${BENCH_RUNS:-7}"
if [ -x bench/seabios-boot.py ] || [ -f bench/seabios-boot.py ]; then
    python3 bench/seabios-boot.py "$build" "${BENCH_RUNS:-5}"
fi
python3 bench/aio-read.py "$build" "${BENCH_RUNS:-5}"
# kvmpc-img bench against qemu-img bench (read and write, depths 1/16/64).
python3 bench/img-bench.py "$build" "${BENCH_RUNS:-5}"
# AHCI reads (SKIP exits 77 without /dev/kvm; the other rows fail then).
python3 bench/ahci-read.py "$build" "${BENCH_RUNS:-5}" || [ $? -eq 77 ]
# virtio-blk from the guest (SKIP exits 77 without /dev/kvm).
python3 bench/virtio-blk.py "$build" "${BENCH_RUNS:-5}" || [ $? -eq 77 ]
# An idle guest's host CPU time and wake-ups (SKIP exits 77 without /dev/kvm).
python3 bench/idle.py "$build" "${BENCH_RUNS:-3}" 20 || [ $? -eq 77 ]
