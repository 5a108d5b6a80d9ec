#!/usr/bin/env bash
# The receive path for new metrics, measured alone: N new metrics x 1 point sent to a
# fresh Charcoal, one line per run with the received rate and where the CPU went.
# A quicker, narrower companion of benches/write-path.sh (scenario s2), for
# comparing two builds of the receive path.
#
#   benches/new-metrics.sh                 # 5 runs, 100,000 metrics, files created
#   MODE=receive N=500000 benches/new-metrics.sh
#
# MODE=create (default): the server creates the files while receiving, as in
#   write-path.sh's s2 (MAX_* = inf, schema 60s:1d).
# MODE=receive: MAX_CREATES_PER_MINUTE = 0, so nothing is written and the run
#   measures the receivers alone.
# Knobs: RUNS=5, N=100000, PROTOCOL=plaintext|pickle, CONNECTIONS=4,
# CHARCOAL_ARGS (extra flags for the server, e.g. "--writer-nice 0"), WORK_DIR
# (default $TMPDIR or /tmp; each run gets a fresh storage directory under it),
# KEEP_WORK=1 (leave the directory instead of removing it at the end).
#
# Removing the files at the end slows file creation on ext4 for the next few
# minutes (see the note on deleted inodes in write-path.sh): wait about 6
# minutes before running write-path.sh after this script, or use KEEP_WORK=1
# and delete the directory when done measuring.
#
# Per run: received points/s and drain time (from charcoal-loadgen), the
# server's CPU seconds and minor page faults over its whole life, its peak RSS,
# and the CPU each kind of thread spent from just before the first byte to the
# last connection closed (/proc/PID/task/*/schedstat).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${MODE:-create}
runs=${RUNS:-5}
n=${N:-100000}
protocol=${PROTOCOL:-plaintext}
connections=${CONNECTIONS:-4}
base=${WORK_DIR:-${TMPDIR:-/tmp}}

cargo build --release -p charcoal-loadgen -p charcoal >&2
bin=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release
work=$(mktemp -d "$base/new-metrics.XXXXXX")
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  if [ -n "${KEEP_WORK:-}" ]; then
    echo "kept $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

free_ports() {
  python3 -c '
import socket
held = [socket.socket() for _ in range(4)]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))'
}

# comm and nanoseconds on the CPU of every thread of PID.
threads() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s\n' "$(cat "$t/comm")" "$(cut -d' ' -f1 "$t/schedstat")"
  done 2>/dev/null
}

for run in $(seq "$runs"); do
  dir=$work/run$run
  mkdir -p "$dir"
  creates=inf
  [ "$mode" = receive ] && creates=0
  printf '[cache]\nSTORAGE_DIR = %s/\nMAX_CREATES_PER_MINUTE = %s\nMAX_UPDATES_PER_SECOND = inf\nMAX_CACHE_SIZE = inf\nWHISPER_FALLOCATE_CREATE = True\nCARBON_METRIC_INTERVAL = 0\n' \
    "$dir" "$creates" >"$dir/carbon.conf"
  printf '[default]\npattern = .*\nretentions = 60s:1d\n' >"$dir/storage-schemas.conf"
  read -r line pickle link http <<<"$(free_ports)"
  # shellcheck disable=SC2086
  "$bin/charcoal" serve --config "$dir/carbon.conf" --udp off --line "127.0.0.1:$line" \
    --pickle "127.0.0.1:$pickle" --carbonlink "127.0.0.1:$link" --http "127.0.0.1:$http" \
    ${CHARCOAL_ARGS:-} </dev/null 2>"$dir/charcoal.log" &
  pid=$!
  for _ in $(seq 300); do
    curl -s -o /dev/null "http://127.0.0.1:$http/ready" && break
    sleep 0.05
  done
  port=$line
  [ "$protocol" = pickle ] && port=$pickle
  threads "$pid" >"$dir/threads.before"
  "$bin/charcoal-loadgen" send --protocol "$protocol" --addr "127.0.0.1:$port" \
    --connections "$connections" --metrics "$n" --points 1 --prefix "new$run" >"$dir/send.json"
  threads "$pid" >"$dir/threads.after"
  python3 - "$dir" "$pid" <<'EOF'
import json, os, sys
d, pid = sys.argv[1], sys.argv[2]
send = json.load(open(f"{d}/send.json"))
def load(name):
    out = {}
    for line in open(f"{d}/{name}"):
        comm, ns = line.rsplit(" ", 1)
        out.setdefault(comm, 0)
        out[comm] += int(ns)
    return out
before, after = load("threads.before"), load("threads.after")
spent = {k: (after[k] - before.get(k, 0)) / 1e6 for k in after}
stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
ticks = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
hwm = [l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM")][0]
threads = " ".join(f"{k}={v:.0f}ms" for k, v in sorted(spent.items(), key=lambda x: -x[1]) if v >= 1)
print(f"{send['points_per_second'] / 1e6:.2f} M points/s, drain {send['drain_seconds'] * 1000:.0f} ms, "
      f"server CPU {ticks:.2f} s, minflt {stat[7]}, peak RSS {int(hwm) / 1024:.0f} MiB; during the send: {threads}")
EOF
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
done
