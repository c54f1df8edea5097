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
# The screen: the vbe-draw payload draws a picture in VBE 1024x768x32, then
# an 80x25 text screen, each held for DEMO_SECONDS (it waits for a byte on
# COM1 after each), in an SDL window when there is an X display, else on
# the browser console (noVNC on the websocket port; kvmpc prints the URL).
screen_demo() {
    local build=$1 secs=${DEMO_SECONDS:-5} draw="$1/tests/guest/vbe-draw.elf"
    local display
    [ -e "$draw" ] || { echo "demo: $draw is missing, no screen demo"; return 0; }
    if [ -n "${DISPLAY:-}" ] && "$build/kvmpc" -display help | grep -qx sdl; then
        display=(-display sdl)
        echo "demo: the guest's screen in an SDL window for $((2 * secs)) s"
    else
        display=(-display none -vnc 127.0.0.1:0,to=99,websocket=on)
        echo "demo: no X display: the browser console for $((2 * secs)) s" \
             "(open the URL kvmpc prints)"
    fi
    set +e
    { sleep "$secs"; printf x; sleep "$secs"; printf x; } |
        timeout $((2 * secs + 30)) "$build/kvmpc" -nodefaults -vga std \
            "${display[@]}" -serial stdio \
            -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$draw"
    local st=$?
    set -e
    echo "demo: screen demo ended (exit status $st)"
}

echo "demo: booting $payload with 2 vCPUs"
set +e
"$build/kvmpc" -nodefaults -display none -serial stdio -smp 2 \
    -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$payload"
status=$?
set -e
if [ "$status" -eq 1 ]; then
    echo "demo: guest reported success (exit status 1 = isa-debug-exit 0)"
    screen_demo "$build"
    exit 0
fi
echo "demo: guest reported failure (exit status $status)" >&2
exit 1
