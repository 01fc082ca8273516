#!/usr/bin/env bash
# Installs the Debian 12 packages Vigil needs to build and test, only when missing.
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libsimdjson-dev libyaml-cpp-dev libre2-dev libvectorscan-dev libcli11-dev libfmt-dev
  libsqlite3-dev zlib1g-dev libxxhash-dev libgtest-dev libgmock-dev libbenchmark-dev
  libpsl-dev libisal-dev
  libevtx-utils publicsuffix time python3
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
