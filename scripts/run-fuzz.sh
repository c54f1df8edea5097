#!/usr/bin/env bash
# Builds the libFuzzer target for the QMP JSON parser and dispatcher with
# clang in BUILD_DIR and runs it for SECONDS (default 60).
#   scripts/run-fuzz.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-fuzz}
secs=${2:-60}
if ! command -v clang >/dev/null; then
    echo "SKIP: clang is not installed (libFuzzer needs it)"
    exit 77
fi
if [ ! -f "$dir/build.ninja" ]; then
    CC=clang meson setup "$dir" -Dfuzzing=true >/dev/null
fi
ninja -C "$dir" fuzz/fuzz-qmp-json >/dev/null
mkdir -p "$dir/fuzz/corpus"
"$dir/fuzz/fuzz-qmp-json" -max_total_time="$secs" -print_final_stats=1 \
    -dict=fuzz/qmp-json.dict "$dir/fuzz/corpus" fuzz/corpus/qmp-json \
    2>"$dir/fuzz/last-run.log" || {
    tail -40 "$dir/fuzz/last-run.log"
    echo "fuzz: crash found, see $dir/fuzz/last-run.log"
    exit 1
}
grep -E "stat::number_of_executed_units|Done" "$dir/fuzz/last-run.log" | tail -2
echo "fuzz: no crash in ${secs}s"
