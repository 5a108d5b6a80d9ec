#!/usr/bin/env bash
# Times whisper-dump and whisper-merge on one-year, 1-minute files (525,600
# points): Charcoal's binaries against Debian's python3-whisper scripts, in the
# same run on the same files. Prints one line per tool, case and implementation
# with the median and the range of N wall times. Used for docs/performance.md.
#
#   benches/whisper-tools.sh [runs]        (default 3)
#
# whisper-dump reads a file whose every slot is known. whisper-merge copies a
# source into a fresh copy of a destination before each run (the copy is not
# timed), both files with every slot known:
#   merge-full    every slot of the source known: one run of 525,600 points
#                 (the script's merge is quadratic in a run's length: ~27 s)
#   merge-sparse  every other slot of the source stale: 262,800 runs of one
#                 point, where the script is fastest and the ratio lowest
#
# VALUES=fractions fills the files with i/7 instead of whole numbers (every value then
# needs the exact 35-digit expansion); TOOLS=dump skips whisper-merge, TOOLS=merge
# skips whisper-dump; ARCHIVES=60:525600,3600:43800 adds coarser archives (as
# seconds:points, all filled; the default is the one 1-minute archive);
# BASELINE=path/to/whisper-merge adds a row for another build of ours (an older commit);
# MERGES=sparse runs only that merge case.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build -q --release -p charcoal-tools
bin=${CARGO_TARGET_DIR:-target}/release
py=${WHISPER_PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now=1700000000

# Slots are written directly: whisper.update_many of 525,600 points takes minutes.
"$py" - "$work" "$now" "${VALUES:-whole}" "${ARCHIVES:-60:525600}" <<'PY'
import struct, sys, whisper
work, now, fractions = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "fractions"
archives = [tuple(map(int, a.split(":"))) for a in sys.argv[4].split(",")]
def make(name, scale, stale):
    path = "%s/%s.wsp" % (work, name)
    whisper.create(path, archives)
    with open(path, "r+b") as f:
        for a in whisper.info(path)["archives"]:
            step, n = a["secondsPerPoint"], a["points"]
            newest = now - now % step
            data = bytearray(n * 12)
            for i in range(n):  # slot i: the i-th oldest interval
                t = newest - (n - 1 - i) * step
                k = (now - t) // 60
                v = (k / 7 if fractions else float(k)) * scale
                struct.pack_into("!Ld", data, i * 12, t - n * step if stale(i) else t, v)
            f.seek(a["offset"])
            f.write(data)
make("src", 1.0, lambda i: False)
make("dst", 3.0, lambda i: False)
make("sparse", 1.0, lambda i: i % 2 == 1)
PY

stats() { # median and range of the microsecond times on stdin, as seconds
  sort -n | awk '{ t[NR] = $1 } END {
    m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
    printf "%10.4f %10.4f-%.4f", m / 1e6, t[1] / 1e6, t[NR] / 1e6 }'
}

timed() { # wall microseconds of "$@" with stdout to /dev/null
  local s e
  s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
  echo $(((e - s) / 1000))
}

fake_clock() { # run a Debian script with time.time() fixed at $now
  "$py" -c "import sys,time; N=float(sys.argv[1]); time.time=lambda: N; sys.argv=sys.argv[2:]; exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'), {'__name__': '__main__'})" "$now" "$@"
}

merge() { # merge source $2 into a fresh copy of dst.wsp, $runs times, with $3..; keep the result as $2-$1.out
  local impl=$1 src=$2; shift 2
  for _ in $(seq "$runs"); do
    cp "$work/dst.wsp" "$work/to.wsp"
    timed "$@" "$work/$src.wsp" "$work/to.wsp"
  done | stats
  cp "$work/to.wsp" "$work/$src-$impl.out"
}

printf '%-14s %-8s %10s %s\n' case impl median range
if [ "${TOOLS:-all}" != merge ]; then
  for impl in charcoal python; do
    case $impl in
      charcoal) cmd=("$bin/whisper-dump") ;;
      python) cmd=("$py" /usr/bin/whisper-dump) ;;
    esac
    printf '%-14s %-8s %s\n' whisper-dump $impl \
      "$(for _ in $(seq "$runs"); do timed "${cmd[@]}" "$work/src.wsp"; done | stats)"
  done
fi
[ "${TOOLS:-all}" = dump ] && exit 0
export CHARCOAL_NOW=$now
for case in ${MERGES:-sparse full}; do
  name=merge-$case
  src=$([ "$case" = full ] && echo src || echo sparse)
  printf '%-14s %-8s %s\n' $name charcoal "$(merge charcoal $src "$bin/whisper-merge")"
  [ -n "${BASELINE:-}" ] && printf '%-14s %-8s %s\n' $name baseline "$(merge baseline $src "$BASELINE")"
  printf '%-14s %-8s %s\n' $name python "$(merge python $src fake_clock /usr/bin/whisper-merge)"
  # Same bytes as the script, or the figures mean nothing.
  cmp -s "$work/$src-charcoal.out" "$work/$src-python.out" \
    || { echo "$name: the merged files differ" >&2; exit 1; }
done
