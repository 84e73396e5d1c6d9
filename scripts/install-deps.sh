#!/usr/bin/env bash
# Installs everything candor needs to build, test and benchmark, from Debian 12 packages.
# Runs apt only when something is missing; uses sudo when not run as root.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl python3 openssl
  librocksdb-dev libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libeigen3-dev prometheus-cpp-dev libcivetweb-dev libgtest-dev libgmock-dev libbenchmark-dev
  libabsl-dev libsnappy-dev libyaml-cpp-dev nlohmann-json3-dev libssl-dev
  clang clang-format libclang-rt-14-dev libcurl4-openssl-dev libre2-dev
  prometheus prometheus-alertmanager
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
echo "installing: ${missing[*]}" >&2
"${SUDO[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
  "${missing[@]}"
