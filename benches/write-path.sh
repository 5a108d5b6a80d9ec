#!/usr/bin/env bash
# The write-path benchmark of issue 3: Charcoal against Debian's carbon-cache
# (graphite-carbon 1.1.7), measured in the same invocation on the same machine.
#
# For every scenario, protocol and server it starts a fresh server on loopback
# with the same carbon.conf (written by the reference kit: MAX_* = inf,
# WHISPER_FALLOCATE_CREATE = True, CARBON_METRIC_INTERVAL = 0) and the same
# storage-schemas.conf, in a fresh storage directory, then:
#   1. `charcoal-loadgen send` pushes the workload as fast as it can over
#      $CONNECTIONS connections (bytes generated before the clock starts) and
#      reports the received rate: points / time until the server had read
#      everything and closed every connection;
#   2. `charcoal-loadgen check` polls the whisper files (bounded by $TIMEOUT)
#      until every point is in its file, and reports the time from the first
#      byte sent to the last file write (newest mtime) and to the last file
#      creation (newest birth time);
#   3. the server's peak RSS (VmHWM) and CPU seconds spent from just before
#      the first byte to completion (utime+stime in /proc/PID/stat) are read;
#   4. idle: with every point in its file and nothing sent any more, the
#      server's CPU is sampled over $IDLE_SECONDS (10) seconds, as a percentage
#      of one core (an idle server must cost about nothing: carbon-cache ~0.2%).
# Scenarios (metrics x points per metric, schema):
#   s1  10,000 x 10     10s:6h,1m:7d,10m:1y
#   s2  100,000 x 1     60s:1d
#   s3  1,000 x 1,000   10s:6h,1m:7d,10m:1y
# Also measured:
#   - cache: RSS per cached point. 1,000 x 1,000 plaintext to a server that
#     writes one metric per second (MAX_UPDATES_PER_SECOND = 1; Charcoal with
#     --writers 1), so nearly every point stays in the cache: (VmRSS after -
#     VmRSS before) / points still cached (sent minus those found in files).
#   - loop: the "minimal C loop" (benches/create-files.c, built with gcc):
#     open/create, write the header, fallocate the data, close, for 100,000
#     files of 60s:1d and 10,000 files of 10s:6h,1m:7d,10m:1y, in the same
#     directory layout the servers use (1,000 files per directory); once as
#     one process and once as two (Charcoal writes with one thread per core).
#
# Run from anywhere (about 8 minutes for 3 rounds on the 2-core machine):
#
#   benches/write-path.sh
#
# Knobs (environment): ROUNDS=3 (the whole set is run this many times; the
# table shows the best round), SCENARIOS="loop s1 s2 s3 cache", SERVERS="charcoal
# carbon" (also "charcoal-nowal": Charcoal with --no-wal, to measure the log's cost), PROTOCOLS="plaintext pickle", CONNECTIONS=4, BATCH=500 (pickle
# datapoints per frame), TIMEOUT=900 (seconds to wait for the files per run),
# KEEP_WORK=1 (leave the work directory, whose files are truncated, so that
# a run right after this one does not meet the deleted-inode slowdown below),
# CHARCOAL_ARGS (extra flags for every Charcoal server, e.g. "--no-wal"),
# WORK_DIR (default $TMPDIR or /tmp; must be the filesystem you mean to
# measure), REFERENCE_KIT (default /work/shared/reference/reference.py).
#
# Output: progress and `uptime` on stderr; the raw JSON of every run, then a
# Markdown table, on stdout. Everything listens on 127.0.0.1 only; every wait
# is bounded; the servers started here are stopped by PID on exit.
#
# Files are never deleted between runs, only truncated to zero at the end of
# each run: on ext4 without a journal (this machine's root filesystem), every
# inode allocation skips inodes deleted in the last 1-6 minutes, one buffer
# lookup each (ext4 `recently_deleted()`), so creating files right after
# deleting 100,000 others runs 10x slower and would measure the deletion,
# not the server. The work directory is removed at the end, so wait about
# 6 minutes before running the script again (or after any other large delete
# on the same filesystem); the C loop of each round shows whether you did.
set -euo pipefail
cd "$(dirname "$0")/.."

kit=${REFERENCE_KIT:-/work/shared/reference/reference.py}
scenarios=${SCENARIOS:-"loop s1 s2 s3 cache"}
servers=${SERVERS:-"charcoal carbon"}
protocols=${PROTOCOLS:-"plaintext pickle"}
connections=${CONNECTIONS:-4}
batch=${BATCH:-500}
idle_seconds=${IDLE_SECONDS:-10}
timeout=${TIMEOUT:-900}
rounds=${ROUNDS:-3}
base=${WORK_DIR:-${TMPDIR:-/tmp}}

log() { printf '[write-path %s] %s\n' "$(date +%T)" "$*" >&2; }

cargo build --release -p charcoal-loadgen -p charcoal >&2
bin=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release
loadgen=$bin/charcoal-loadgen
carbon_py=$(head -1 "$(command -v carbon-cache)" | sed 's/^#! *//')

work=$(mktemp -d "$base/write-path.XXXXXX")
results=$work/results.jsonl
: >"$results"

# The server of the current run: a PID we started (Charcoal, or carbon-cache
# launched directly), or a kit directory (carbon-cache started by the kit).
pid=""
kit_dir=""

stop_server() {
  if [ -n "$kit_dir" ]; then
    # The kit signals its own recorded PID (the same as $pid).
    python3 "$kit" carbon-cache stop --dir "$kit_dir" --timeout 180 >&2 || true
    kit_dir="" pid=""
    return
  fi
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1800); do # up to 180 s to flush and exit
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  fi
}

cleanup() {
  stop_server
  if [ -n "${KEEP_WORK:-}" ]; then
    log "kept $work (its files are truncated; delete it when you are done measuring)"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# N free loopback ports, all held until every one is chosen.
free_ports() {
  python3 -c '
import socket, sys
held = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))' "$1"
}

cpu_ticks() { # utime + stime of PID
  sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}
status_kib() { # a "VmXXX:" field of /proc/PID/status, in KiB
  awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"
}
json_get() { # FILE KEY
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
load1() { cut -d' ' -f1 /proc/loadavg; }
tck=$(getconf CLK_TCK)

# Empties the whisper files of a run (keeping the inodes, see the header)
# and writes everything back so the next run starts with a clean page cache.
settle() {
  find "$1" -type f -name '*.wsp' -exec truncate -s 0 {} + 2>/dev/null || true
  sync
}

# scenario NAME: sets metrics, points, step and retentions.
scenario() {
  case $1 in
    s1) metrics=10000 points=10 step=10 retentions=10s:6h,1m:7d,10m:1y ;;
    s2) metrics=100000 points=1 step=60 retentions=60s:1d ;;
    s3 | cache) metrics=1000 points=1000 step=10 retentions=10s:6h,1m:7d,10m:1y ;;
    *)
      echo "unknown scenario $1" >&2
      exit 2
      ;;
  esac
}

# start SERVER DIR [cache]: writes the configuration, starts the server and
# sets pid (and kit_dir), line_port, pickle_port, whisper.
start() {
  local server=$1 dir=$2 mode=${3:-}
  read -r line_port pickle_port link_port http_port <<<"$(free_ports 4)"
  mkdir -p "$dir"
  printf '[loadgen]\npattern = ^loadgen\\.\nretentions = %s\n\n[default]\npattern = .*\nretentions = 60s:1d\n' \
    "$retentions" >"$dir/schemas.conf"
  local args=(--dir "$dir/server" --line "$line_port" --pickle "$pickle_port"
    --carbonlink "$link_port" --schemas "$dir/schemas.conf")
  whisper=$dir/server/storage/whisper
  if [ "$server" = carbon ] && [ -z "$mode" ]; then
    kit_dir=$dir/server
    pid=$(python3 "$kit" carbon-cache start "${args[@]}" --timeout 120)
    return
  fi
  local conf
  conf=$(python3 "$kit" carbon-cache write-conf "${args[@]}")
  local writers=()
  if [ "$mode" = cache ]; then
    sed -i 's/^MAX_UPDATES_PER_SECOND = .*/MAX_UPDATES_PER_SECOND = 1/' "$conf"
    writers=(--writers 1)
  fi
  if [ "$server" = carbon ]; then
    # Without this carbon keeps the limit of 1 update/s while it flushes at
    # shutdown (about 1,000 s here).
    echo 'MAX_UPDATES_PER_SECOND_ON_SHUTDOWN = 100000' >>"$conf"
    # Launched as the kit launches it, with our own edited carbon.conf.
    TZ=UTC "$carbon_py" "$(command -v carbon-cache)" --config="$conf" \
      --pidfile="$dir/server/run/carbon-cache.pid" --logdir="$dir/server/log" \
      --nodaemon start </dev/null >"$dir/server/carbon.out" 2>&1 &
    pid=$!
    python3 "$kit" wait-port "127.0.0.1:$line_port" --timeout 120 >&2
    python3 "$kit" wait-port "127.0.0.1:$link_port" --timeout 120 >&2
    return
  fi
  # charcoal-nowal: the same server with its write-ahead log off (the cost of the log).
  local wal=()
  [ "$server" = charcoal-nowal ] && wal=(--no-wal)
  "$bin/charcoal" serve --config "$conf" --udp off --http "127.0.0.1:$http_port" \
    "${writers[@]}" "${wal[@]}" ${CHARCOAL_ARGS:-} </dev/null 2>"$dir/charcoal.log" &
  pid=$!
  local i
  for i in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/ready")" = 200 ] &&
      return
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "charcoal did not become ready; see $dir/charcoal.log:" >&2
  tail -3 "$dir/charcoal.log" >&2
  exit 1
}

# One measured run: SERVER SCENARIO PROTOCOL.
run() {
  local server=$1 sc=$2 proto=$3
  scenario "$sc"
  local dir=$work/$server-$sc-$proto-$round
  log "$server $sc ($metrics x $points, $retentions) over $proto; load $(load1)"
  local load_before
  load_before=$(load1)
  start "$server" "$dir"
  local port=$line_port
  [ "$proto" = pickle ] && port=$pickle_port
  local cpu0 now
  cpu0=$(cpu_ticks "$pid")
  now=$(date +%s)
  local work_args=(--metrics "$metrics" --points "$points" --step "$step" --now "$now")
  "$loadgen" send --addr "127.0.0.1:$port" --protocol "$proto" --connections "$connections" \
    --batch "$batch" "${work_args[@]}" >"$dir/send.json"
  "$loadgen" check --whisper-dir "$whisper" "${work_args[@]}" \
    --since-unix "$(json_get "$dir/send.json" start_unix)" --timeout "$timeout" \
    >"$dir/check.json" || log "not complete after $timeout s"
  local cpu1 hwm idle0 idle1
  cpu1=$(cpu_ticks "$pid")
  hwm=$(status_kib "$pid" VmHWM)
  # Idle after the burst: every point is in its file, nothing more is sent.
  idle0=$(cpu_ticks "$pid")
  sleep "$idle_seconds"
  idle1=$(cpu_ticks "$pid")
  stop_server
  python3 - "$dir" "$server" "$sc" "$proto" "$retentions" "$(((cpu1 - cpu0)))" "$tck" \
    "$hwm" "$load_before" "$(load1)" "$round" "$(((idle1 - idle0)))" "$idle_seconds" >>"$results" <<'PY'
import json, sys
d, server, sc, proto, ret, ticks, tck, hwm, l0, l1 = sys.argv[1:11]
idle_ticks, idle_seconds = int(sys.argv[12]), float(sys.argv[13])
print(json.dumps({
    "run": "write", "round": int(sys.argv[11]), "server": server, "scenario": sc, "protocol": proto, "schema": ret,
    "send": json.load(open(d + "/send.json")),
    "check": json.load(open(d + "/check.json")),
    "cpu_seconds": int(ticks) / int(tck), "peak_rss_kib": int(hwm),
    "idle_cpu_percent": 100 * idle_ticks / int(tck) / idle_seconds,
    "load1_before": float(l0), "load1_after": float(l1),
}))
PY
  tail -1 "$results" >&2
  settle "$dir"
}

# RSS per cached point: SERVER.
run_cache() {
  local server=$1
  scenario cache
  local dir=$work/$server-cache-$round
  log "$server cache: $metrics x $points held in the cache; load $(load1)"
  start "$server" "$dir" cache
  sleep 1
  local rss0 rss1 hwm now
  rss0=$(status_kib "$pid" VmRSS)
  now=$(date +%s)
  local work_args=(--metrics "$metrics" --points "$points" --step "$step" --now "$now")
  "$loadgen" send --addr "127.0.0.1:$line_port" --protocol plaintext \
    --connections "$connections" "${work_args[@]}" >"$dir/send.json"
  sleep 1
  rss1=$(status_kib "$pid" VmRSS)
  hwm=$(status_kib "$pid" VmHWM)
  "$loadgen" check --once --whisper-dir "$whisper" "${work_args[@]}" >"$dir/check.json"
  stop_server
  python3 - "$dir" "$server" "$rss0" "$rss1" "$hwm" "$round" >>"$results" <<'PY'
import json, sys
d, server, rss0, rss1, hwm, rnd = sys.argv[1:]
send = json.load(open(d + "/send.json"))
check = json.load(open(d + "/check.json"))
cached = send["points"] - check["points_found"]
print(json.dumps({
    "run": "cache", "round": int(rnd), "server": server, "points_sent": send["points"],
    "points_written": check["points_found"], "points_cached": cached,
    "rss_before_kib": int(rss0), "rss_after_kib": int(rss1), "peak_rss_kib": int(hwm),
    "bytes_per_cached_point": (int(rss1) - int(rss0)) * 1024 / max(cached, 1),
}))
PY
  tail -1 "$results" >&2
  settle "$dir"
}

# The minimal C loop: COUNT JOBS ARCHIVES...
run_loop() {
  local count=$1 jobs=$2
  shift 2
  local dir=$work/loop-$count-$jobs-$round
  mkdir -p "$dir"
  log "C loop: $count files ($*), $jobs process(es); load $(load1)"
  "$work/create-files" "$dir" "$count" 1000 "$jobs" "$@" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); r["run"]="loop"; r["round"]=int(sys.argv[2]); r["schema"]=sys.argv[1]; print(json.dumps(r))' "$*" "$round" \
      >>"$results"
  tail -1 "$results" >&2
  settle "$dir"
}

log "machine: $(nproc) cores; $(uptime)"
log "charcoal $(git rev-parse --short HEAD 2>/dev/null || echo '?') ($(git status --porcelain 2>/dev/null | wc -l) files changed in the work tree); work dir $work ($(df -T "$work" | awk 'NR==2 {print $2}'))"
sync
gcc -O2 -Wall -o "$work/create-files" benches/create-files.c
# Whole rounds, so that a burst of other work on the machine hits one round
# of everything rather than every repetition of one measurement.
for round in $(seq "$rounds"); do
  log "round $round of $rounds"
  for sc in $scenarios; do
    case $sc in
      loop)
        for jobs in 1 2; do
          run_loop 100000 "$jobs" 60:1440
          run_loop 10000 "$jobs" 10:2160 60:10080 600:52560
        done
        ;;
      cache)
        for server in $servers; do run_cache "$server"; done
        ;;
      *)
        for proto in $protocols; do
          for server in $servers; do run "$server" "$sc" "$proto"; done
        done
        ;;
    esac
  done
done
log "done; $(uptime)"

echo '### raw results (JSON lines)'
echo
cat "$results"
echo
python3 - "$results" "$connections" "$batch" "$rounds" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
conns, batch, rounds = sys.argv[2:5]
def n(x, digits=0):
    return "-" if x is None else f"{x:,.{digits}f}"
def grouped(kind, key):
    out = {}
    for r in rows:
        if r["run"] == kind:
            out.setdefault(key(r), []).append(r)
    return out
def in_files(r):
    c = r["check"]
    return c["last_write_seconds"] if c["complete"] else None

print(f"### write path: best of {rounds} rounds ({conns} connections; pickle frames of {batch} datapoints)")
print()
print("The row of the round that got every point into the files first; the last two columns list every round.")
print()
print("| scenario | protocol | server | received points/s | all in files (s) | new files/s | peak RSS (MiB) | CPU (s) | load | received, each round (M points/s) | in files, each round (s) | idle CPU after, each round (% of a core) |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|")
names = {"s1": "10,000 × 10", "s2": "100,000 × 1", "s3": "1,000 × 1,000"}
for (sc, proto, server), runs in grouped("write", lambda r: (r["scenario"], r["protocol"], r["server"])).items():
    done = [r for r in runs if in_files(r) is not None]
    best = min(done, key=in_files) if done else max(runs, key=lambda r: r["check"]["points_found"])
    s, c = best["send"], best["check"]
    created = c.get("last_create_seconds")
    rate = c["files"] / created if c["complete"] and created else None
    shown = n(in_files(best), 2) if c["complete"] else f"incomplete: {c['points_found']:,} of {c['points_expected']:,}"
    each_rate = " / ".join(f"{r['send']['points_per_second'] / 1e6:.2f}" for r in runs)
    each_done = " / ".join(n(in_files(r), 2) if in_files(r) is not None else "incomplete" for r in runs)
    each_idle = " / ".join(n(r.get("idle_cpu_percent"), 2) for r in runs)
    print(f"| {names[sc]} ({best['schema']}) | {proto} | {server} "
          f"| {n(s['points_per_second'])} | {shown} | {n(rate)} "
          f"| {n(best['peak_rss_kib'] / 1024, 1)} | {n(best['cpu_seconds'], 2)} | {best['load1_before']} "
          f"| {each_rate} | {each_done} | {each_idle} |")
loops = grouped("loop", lambda r: (r["schema"], r["jobs"]))
if loops:
    print()
    print("| minimal C loop (create, header, fallocate, close) | processes | files | best files/s | each round (files/s) |")
    print("|---|---:|---:|---:|---|")
    for (schema, jobs), runs in loops.items():
        best = max(runs, key=lambda r: r["files_per_second"])
        each = " / ".join(n(r["files_per_second"]) for r in runs)
        print(f"| {schema} | {jobs} | {best['files']:,} | {n(best['files_per_second'])} | {each} |")
# New files per second, round by round: the C loop and the servers of the
# same round met the same filesystem state.
by_round = {}
for r in rows:
    if r["run"] == "loop" and r["schema"] == "60:1440":
        by_round.setdefault(r["round"], {})[f"C loop, {r['jobs']} proc."] = r["files_per_second"]
    if r["run"] == "write" and r["scenario"] == "s2" and r["check"]["complete"]:
        c = r["check"]
        by_round.setdefault(r["round"], {})[f"{r['server']} {r['protocol']}"] = c["files"] / c["last_create_seconds"]
if by_round:
    cols = sorted({k for v in by_round.values() for k in v}, key=lambda k: (not k.startswith("C"), k))
    print()
    print("| new files/s, 100,000 × 1 (60s:1d) | " + " | ".join(cols) + " | charcoal ÷ C loop (1 proc.), plaintext / pickle | charcoal ÷ carbon, plaintext / pickle |")
    print("|---|" + "---:|" * len(cols) + "---|---|")
    for rnd, v in sorted(by_round.items()):
        loop = v.get("C loop, 1 proc.")
        def ratio(a, b, fmt):
            return fmt.format(a / b) if a and b else "-"
        vs_loop = " / ".join(ratio(v.get(f"charcoal {p}"), loop, "{:.0%}") for p in ("plaintext", "pickle"))
        vs_carbon = " / ".join(ratio(v.get(f"charcoal {p}"), v.get(f"carbon {p}"), "{:.2f}×") for p in ("plaintext", "pickle"))
        print(f"| round {rnd} | " + " | ".join(n(v.get(k)) for k in cols) + f" | {vs_loop} | {vs_carbon} |")
caches = grouped("cache", lambda r: r["server"])
if caches:
    print()
    print("| RSS per cached point (1,000 × 1,000 plaintext) | points cached | RSS before (MiB) | RSS after (MiB) | bytes/point, each round |")
    print("|---|---:|---:|---:|---|")
    for server, runs in caches.items():
        r = runs[0]
        each = " / ".join(f"{x['bytes_per_cached_point']:.1f}" for x in runs)
        print(f"| {server} | {r['points_cached']:,} | {r['rss_before_kib'] / 1024:.1f} "
              f"| {r['rss_after_kib'] / 1024:.1f} | {each} |")
PY
