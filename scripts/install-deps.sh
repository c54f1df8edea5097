#!/usr/bin/env bash
# Installs every Debian package that building, testing and the demo need.
# Idempotent: when everything is present it prints nothing and exits 0.
#   scripts/install-deps.sh          install what is missing
#   scripts/install-deps.sh --check  install nothing; if something is
#                                    missing, say what in one line, exit 1
set -euo pipefail

PACKAGES=(
  build-essential pkg-config meson ninja-build python3
  zlib1g-dev libzstd-dev qemu-utils
  liburing-dev libiscsi-dev tgt
  libglib2.0-dev libpixman-1-dev
  clang lld libclang-rt-14-dev
  seabios
  qemu-system-x86
  linux-image-amd64 busybox-static cpio
  acpica-tools
  grub-pc-bin grub-common xorriso mtools
  libpng-dev libvncserver-dev vncsnapshot gvncviewer
  libvirt-daemon-system libvirt-clients tini libseccomp-dev nettle-dev
  libgnutls28-dev gnutls-bin
  libslirp-dev ipxe-qemu iproute2
  qemu-guest-agent
  libsdl2-dev libspice-server-dev virt-viewer xvfb x11-apps xdotool
  novnc chromium python3-websocket
  libusb-1.0-0-dev libusbredirparser-dev libusbredirhost-dev
  libasound2-dev libpulse-dev sox pulseaudio pulseaudio-utils
  libssl-dev python3-cryptography
  libnuma-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "${1:-}" = "--check" ]; then
  echo "kvmpc: missing packages: ${missing[*]}; run 'make deps' (or 'make demo', which installs them) first" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
