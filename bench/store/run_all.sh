#!/usr/bin/env bash
# The store benchmark, side by side with Prometheus 2.42 on 127.0.0.1, in one run:
# for each value profile (ms, counter, raw) the same deterministic dataset (1,000 series ×
# 10,000 samples at 10 s) is pushed over remote write into a fresh Prometheus
# (--web.enable-remote-write-receiver) and into a fresh candor_store_server; both are
# compacted; the Grafana-style query set is timed against both; then bytes per sample, server
# CPU per million samples, peak RSS and query times are printed with candor/Prometheus ratios.
# Then the distribution benchmark (hist_bench) and the storage ceiling (store_ceiling) run.
#
#   bench/store/run_all.sh            (after building: cmake --build build)
#   BUILD=build OUT=/tmp/x PROFILES="ms counter" SKIP_HIST=1 SKIP_CEILING=1 bench/store/run_all.sh
#
# Needs: prometheus (Debian 2.42), curl, python3. The machine is shared: repeat and take medians.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
OUT=${OUT:-$(mktemp -d /tmp/candor-store-bench.XXXXXX)}
PROFILES=${PROFILES:-"ms counter raw"}
SERIES=${SERIES:-1000}
SAMPLES=${SAMPLES:-10000}
REPEAT=${REPEAT:-5}
COMPACTION_QUIET_S=${COMPACTION_QUIET_S:-75}
BIN=$BUILD/bench/store
mkdir -p "$OUT"
command -v prometheus >/dev/null || { echo "prometheus is not installed (apt-get install prometheus)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_ready() {  # url
  for _ in $(seq 1 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "not ready: $1" >&2; return 1
}
metric() {  # port name
  curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n {print $2}'
}
peak_rss_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
cpu_ticks() {  # pid...: user+system clock ticks of these processes
  local t=0 p
  for p in "$@"; do t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done
  echo "$t"
}
# Waits (at most 60 s) until these processes use under 5 % of a core over a second, so that one
# store's timings do not include the other's leftover work (Go GC after a heavy query, RocksDB
# compactions, rollups).
quiesce() {
  local a b
  for _ in $(seq 1 60); do
    a=$(cpu_ticks "$@"); sleep 1; b=$(cpu_ticks "$@")
    [ $((b - a)) -le $(( $(getconf CLK_TCK) / 20 )) ] && return 0
  done
  echo "note: servers still busy after 60 s" >&2
}

NOW_S=$(date +%s)
START_MS=$(( (NOW_S - 4 * 3600) * 1000 - SAMPLES * 10000 ))
START_MS=$(( START_MS - START_MS % 10000 ))
END_MS=$(( START_MS + (SAMPLES - 1) * 10000 ))
printf 'global:\n  scrape_interval: 1h\n' > "$OUT/prom.yml"
RESULTS="$OUT/results.txt"
: > "$RESULTS"
echo "output in $OUT (start_ms=$START_MS)"

PROM_PID=""
CANDOR_PID=""
cleanup() {
  [ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null || true
  [ -n "$CANDOR_PID" ] && kill "$CANDOR_PID" 2>/dev/null || true
}
trap cleanup EXIT

for p in $PROFILES; do
  PP=$(free_port)
  CP=$(free_port)
  prometheus --config.file="$OUT/prom.yml" --storage.tsdb.path="$OUT/prom-$p" \
    --web.listen-address="127.0.0.1:$PP" --web.enable-remote-write-receiver \
    --storage.tsdb.retention.time=30d --log.level=warn > "$OUT/prom-$p.log" 2>&1 &
  PROM_PID=$!
  "$BIN/candor_store_server" --path "$OUT/candor-$p" --listen "127.0.0.1:$CP" > "$OUT/candor-$p.log" 2>&1 &
  CANDOR_PID=$!
  wait_ready "http://127.0.0.1:$PP/-/ready"
  wait_ready "http://127.0.0.1:$CP/-/ready"

  for store in prometheus candor; do
    if [ $store = prometheus ]; then port=$PP; pid=$PROM_PID; else port=$CP; pid=$CANDOR_PID; fi
    line=$("$BIN/candor_rw_push" --profile "$p" --port "$port" --start_ms "$START_MS" \
      --series "$SERIES" --samples "$SAMPLES" --server_pid "$pid" | grep '^RESULT')
    echo "PUSH store=$store $line" | tee -a "$RESULTS"
  done

  # candor: seal and compact. Prometheus: wait until its compactions stop.
  stats=$(curl -s -XPOST "http://127.0.0.1:$CP/bench/compact")
  echo "CANDOR_DISK profile=$p $stats" >> "$RESULTS"
  last=""; quiet=0
  while [ $quiet -lt "$COMPACTION_QUIET_S" ]; do
    cur=$(metric "$PP" prometheus_tsdb_compactions_total)
    if [ "$cur" = "$last" ]; then quiet=$((quiet + 5)); else quiet=0; last=$cur; fi
    sleep 5
  done

  set_name=gauges
  [ "$p" = counter ] && set_name=counters
  for store in prometheus candor; do
    if [ $store = prometheus ]; then port=$PP; pid=$PROM_PID; else port=$CP; pid=$CANDOR_PID; fi
    quiesce "$PROM_PID" "$CANDOR_PID"
    "$BIN/candor_query_bench" --port "$port" --start_ms "$START_MS" --end_ms "$END_MS" \
      --set "$set_name" --repeat "$REPEAT" --server_pid "$pid" \
      | sed "s/^QUERY /QUERY store=$store profile=$p /" | tee -a "$RESULTS"
  done
  echo "RSS profile=$p prometheus_peak_mb=$(peak_rss_mb $PROM_PID) candor_peak_mb=$(peak_rss_mb $CANDOR_PID)" | tee -a "$RESULTS"
  kill $PROM_PID $CANDOR_PID
  wait $PROM_PID $CANDOR_PID 2>/dev/null || true
  PROM_PID=""; CANDOR_PID=""
  # Prometheus: persisted blocks only (the head's WAL and chunks_head are reported apart).
  python3 - "$OUT/prom-$p" "$p" >> "$RESULTS" <<'EOF'
import json, os, sys
root, profile = sys.argv[1], sys.argv[2]
blocks = samples = 0
nblocks = 0
for d in os.listdir(root):
    meta = os.path.join(root, d, "meta.json")
    if not os.path.exists(meta):
        continue
    nblocks += 1
    samples += json.load(open(meta))["stats"]["numSamples"]
    for dirpath, _, files in os.walk(os.path.join(root, d)):
        blocks += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
head = 0
for sub in ("wal", "chunks_head"):
    for dirpath, _, files in os.walk(os.path.join(root, sub)):
        head += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
print(f"PROM_DISK profile={profile} blocks={nblocks} block_bytes={blocks} block_samples={samples} head_bytes={head}")
EOF
done

if [ -z "${SKIP_HIST:-}" ]; then
  PP=$(free_port); CP=$(free_port)
  prometheus --config.file="$OUT/prom.yml" --storage.tsdb.path="$OUT/prom-hist" \
    --web.listen-address="127.0.0.1:$PP" --web.enable-remote-write-receiver \
    --storage.tsdb.retention.time=30d --log.level=warn > "$OUT/prom-hist.log" 2>&1 &
  PROM_PID=$!
  "$BIN/candor_store_server" --path "$OUT/candor-hist" --listen "127.0.0.1:$CP" > "$OUT/candor-hist.log" 2>&1 &
  CANDOR_PID=$!
  wait_ready "http://127.0.0.1:$PP/-/ready"
  wait_ready "http://127.0.0.1:$CP/-/ready"
  # Push (and one untimed query each), let both stores settle, then time the queries.
  "$BIN/candor_hist_bench" --prom_port "$PP" --candor_port "$CP" --repeat 1 > "$OUT/hist-push.txt"
  grep -q 'push_failures=0' "$OUT/hist-push.txt" || echo "hist push failures: see $OUT/hist-push.txt" >&2
  HIST_START=$(sed -n 's/^HIST_START start_ms=//p' "$OUT/hist-push.txt")
  quiesce "$PROM_PID" "$CANDOR_PID"
  "$BIN/candor_hist_bench" --prom_port "$PP" --candor_port "$CP" --prom_pid "$PROM_PID" \
    --candor_pid "$CANDOR_PID" --repeat "$REPEAT" --skip_push 1 --start_ms "$HIST_START" \
    | tee -a "$RESULTS"
  kill $PROM_PID $CANDOR_PID; wait $PROM_PID $CANDOR_PID 2>/dev/null || true
  PROM_PID=""; CANDOR_PID=""
fi

if [ -z "${SKIP_CEILING:-}" ]; then
  "$BIN/candor_store_ceiling" --path "$OUT/ceiling" | tee -a "$RESULTS"
fi

python3 bench/store/summarize.py "$RESULTS"
