#!/usr/bin/env bash
# Installs the Debian 12 packages DiviML needs, only those missing. Run as root (or with sudo).
set -euo pipefail
packages=(
  g++ cmake make pkg-config
  libgtest-dev libgmock-dev nlohmann-json3-dev libcli11-dev coinor-libcbc-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  python3 python3-pytest python3-torch python3-torchvision python3-onnx
  python3-venv python3-pip python3-setuptools python3-wheel
  clang-14 libclang-rt-14-dev clang-format-14
  chromium pybind11-dev python3-pybind11 libmetis-dev
  iproute2
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all packages present"
