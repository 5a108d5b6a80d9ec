#!/usr/bin/env bash
# The soak test of issue 6: sustained ingest at half the measured plaintext maximum plus
# concurrent renders and finds, for a bounded time, watching the server's memory.
#
# Starts the release `charcoal` on loopback in a fresh directory (write-ahead log on, the
# default schema), then `charcoal-loadgen soak` sends RATE points/s over 2 connections
# for METRICS metrics (every point new: timestamps advance a second per round) while 2
# readers loop over `sumSeries` of 100 metrics and a 100-leaf find, and the server's RSS
# is sampled every second. Prints the loader's JSON, then a summary; exits non-zero if any
# HTTP request failed or the server died.
#
#   benches/soak.sh            # RATE=2000000 METRICS=10000 SECONDS=180
#
# Everything listens on 127.0.0.1; the server is stopped (SIGTERM, which writes the cache
# out) at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-2000000}
METRICS=${METRICS:-10000}
SECONDS_TO_RUN=${SECONDS:-180}
cargo build --release -p charcoal -p charcoal-loadgen >&2
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
line=$(port); http=$(port)
target/release/charcoal serve --storage-dir "$work/storage" --line "127.0.0.1:$line" \
  --http "127.0.0.1:$http" --udp off --pickle off --carbonlink off 2>"$work/charcoal.log" &
pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$http/health" && break
  sleep 0.1
done
report=$(target/release/charcoal-loadgen soak --carbon "127.0.0.1:$line" --http "127.0.0.1:$http" \
  --pid "$pid" --metrics "$METRICS" --rate "$RATE" --seconds "$SECONDS_TO_RUN")
echo "$report"
kill -0 "$pid" || { echo "the server died" >&2; exit 1; }
python3 - "$report" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
mib = lambda b: b / (1 << 20)
print(f"ingest {r['points_per_second']:,.0f} points/s for {r['seconds']:.0f} s "
      f"({r['points_sent']:,} points)")
print(f"RSS: {mib(r['rss_mid_bytes']):.1f} MiB at half time, {mib(r['rss_end_bytes']):.1f} MiB at the end, "
      f"max {mib(r['rss_max_bytes']):.1f} MiB")
print(f"renders: {r['renders']:,}, p50 {r['render_ms_p50']:.2f} ms, p99 {r['render_ms_p99']:.2f} ms; "
      f"finds: {r['finds']:,}, p50 {r['find_ms_p50']:.2f} ms, p99 {r['find_ms_p99']:.2f} ms; "
      f"HTTP errors: {r['http_errors']}")
sys.exit(1 if r['http_errors'] else 0)
PY
