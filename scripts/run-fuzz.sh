#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in BUILD_DIR and runs each for
# SECONDS (default 60), one after the other, with its seed corpus and
# dictionary.  New corpus inputs go to BUILD_DIR/fuzz/corpus-TARGET.
#   scripts/run-fuzz.sh [BUILD_DIR] [SECONDS] [TARGET...]
# TARGET: qmp-json, pc, virtio, nic, vgpu, usb, vc, audio, ahci, q35, qcow2, migration,
# nbd-server
# (default: all).  Exit status: 0 when no target
# found anything, 1 when one crashed, hung or leaked (its input and log are
# named), 77 when clang/libFuzzer is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-fuzz}
secs=${2:-60}
shift $(( $# < 2 ? $# : 2 ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(qmp-json pc virtio nic vgpu usb vc audio ahci q35 qcow2 migration
                                      nbd-server)

# Per target: dictionary, and extra libFuzzer options.  -timeout is the
# whole input's limit; fuzz-pc also times every operation itself
# (FUZZ_PC_HANG_MS, 1 s by default).
declare -A dict=([qmp-json]=fuzz/qmp-json.dict
                 [pc]=fuzz/pc-machine.dict
                 [virtio]=fuzz/virtio.dict
                 [nic]=fuzz/nic.dict
                 [vgpu]=fuzz/vgpu.dict
                 [usb]=fuzz/usb.dict
                 [vc]=fuzz/pc-machine.dict
                 [audio]=fuzz/audio.dict
                 [ahci]=fuzz/ahci.dict
                 [q35]=fuzz/q35.dict
                 [qcow2]=
                 [migration]=
                 [nbd-server]=)
declare -A opts=([qmp-json]=""
                 [pc]="-timeout=10 -max_len=4096"
                 [virtio]="-timeout=10 -max_len=4096"
                 [nic]="-timeout=10 -max_len=4096"
                 [vgpu]="-timeout=10 -max_len=4096"
                 [usb]="-timeout=10 -max_len=4096"
                 [vc]="-timeout=10 -max_len=4096"
                 [audio]="-timeout=10 -max_len=4096"
                 [ahci]="-timeout=10 -max_len=4096"
                 [q35]="-timeout=10 -max_len=4096"
                 [qcow2]="-timeout=10 -rss_limit_mb=4096"
                 [migration]="-timeout=10 -max_len=400000"
                 [nbd-server]="-timeout=10 -max_len=65536")

if ! command -v clang >/dev/null; then
    echo "SKIP: clang is not installed (libFuzzer needs it)"
    exit 77
fi
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
        clang -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then
    echo "SKIP: clang cannot link libFuzzer (-fsanitize=fuzzer)"
    exit 77
fi
if [ ! -f "$dir/build.ninja" ]; then
    CC=clang meson setup "$dir" -Dfuzzing=true >/dev/null
fi
# A target that does not build is a failure with the compiler's words.
if ! out=$(ninja -C "$dir" "${targets[@]/#/fuzz/fuzz-}" 2>&1); then
    echo "$out" | tail -40
    echo "fuzz targets failed to build in $dir"
    exit 1
fi

status=0
for t in "${targets[@]}"; do
    corpus="$dir/fuzz/corpus-$t"
    log="$dir/fuzz/last-run-$t.log"
    mkdir -p "$corpus" "$dir/fuzz/artifacts-$t"
    # shellcheck disable=SC2086
    if "$dir/fuzz/fuzz-$t" -max_total_time="$secs" -print_final_stats=1 \
            ${dict[$t]:+-dict="${dict[$t]}"} ${opts[$t]} \
            -artifact_prefix="$dir/fuzz/artifacts-$t/" \
            "$corpus" "fuzz/corpus/$t" 2>"$log"; then
        execs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" |
                grep -oE "[0-9]+$" || echo "?")
        rate=$(grep -oE "stat::average_exec_per_sec: *[0-9]+" "$log" |
               grep -oE "[0-9]+$" || echo "?")
        echo "fuzz-$t: no crash in ${secs}s ($execs runs, $rate exec/s)"
    else
        tail -40 "$log"
        echo "fuzz-$t: FAILED, see $log (inputs in $dir/fuzz/artifacts-$t/)"
        status=1
    fi
done
exit $status
