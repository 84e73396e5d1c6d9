#!/usr/bin/env bash
# Installs dependencies, builds candor (release build) and runs its main job: `candor serve` on
# embedded defaults (data in ./candor-data, gRPC on 127.0.0.1:4770, HTTP on 127.0.0.1:9470),
# fed by the fleet simulator with a scripted fault schedule (sim/scenarios/demo.yaml) at ten
# times real time. State transitions print live as they happen (entity, from -> to, one line of
# evidence); /api/v1/states and /api/v1/transitions serve the same truth as JSON.
# Extra arguments are passed to candor serve. CANDOR_DEMO_SPEED changes the pace (simulated
# seconds per real second); CANDOR_DEMO_SCENARIO another scenario file.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCANDOR_BUILD_BENCH=OFF >/dev/null
cmake --build build --target candor

build/daemon/candor serve "$@" &
serve=$!
trap 'kill -TERM "$serve" 2>/dev/null || true; wait "$serve" 2>/dev/null || true' EXIT INT TERM
build/daemon/candor sim --scenario "${CANDOR_DEMO_SCENARIO:-sim/scenarios/demo.yaml}" \
  --to 127.0.0.1:4770 --speed "${CANDOR_DEMO_SPEED:-10}"
echo "candor demo: the scripted schedule is over; candor keeps serving (Ctrl-C stops it)"
wait "$serve"
