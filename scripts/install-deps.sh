#!/usr/bin/env bash
# Installs what reman-station needs to build, run and test on Debian 12 (as root, or
# through sudo). Safe to run again: apt-get skips what is already there.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=(
  build-essential cmake pkg-config git
  libturbojpeg0-dev libopencv-dev libopencv-contrib-dev
  libdmtx-dev libjansson-dev libsodium-dev libzmq3-dev libsqlite3-dev libpq-dev
  libgtk-4-dev libgtk-4-bin gettext fontconfig fonts-dejavu-core fonts-wqy-microhei
)
# (fontconfig and the two font packages: every character the station shows has a glyph,
# checked by hmi.translations)
# tests only: clang + libFuzzer for the fuzz targets, the aarch64 cross compiler and
# qemu-user for the NEON kernels, python3 + jsonschema for the end-to-end checks of the
# line messages against docs/schemas, PostgreSQL for the site collector, and Xvfb, xdotool
# and ImageMagick's import to drive the GTK station's real window and take its screenshots
if [ "${1:-}" = "--test" ]; then
  PKGS+=(clang libclang-rt-14-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
         python3 python3-jsonschema python3-zmq python3-nacl libpq-dev postgresql
         xvfb xauth xdotool imagemagick desktop-file-utils dbus-daemon)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: all packages present"
