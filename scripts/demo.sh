#!/usr/bin/env bash
# Installs dependencies, builds candor (release build) and runs its main job on embedded
# defaults: data in ./candor-data, gRPC on 127.0.0.1:4770, HTTP on 127.0.0.1:9470.
# Extra arguments are passed to candor.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCANDOR_BUILD_BENCH=OFF >/dev/null
cmake --build build --target candor
exec build/daemon/candor serve "$@"
