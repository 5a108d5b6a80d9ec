#!/usr/bin/env bash
# Times whisper-dump and whisper-merge on a one-year, 1-minute file (525,600
# points): Charcoal's binaries against Debian's python3-whisper scripts, in the
# same run on the same files. Prints one line per tool and implementation with
# the best wall time of N runs. Used for docs/performance.md.
#
#   benches/whisper-tools.sh [runs]        (default 3)
#
# VALUES=fractions fills the file with i/7 instead of whole numbers (every value then
# needs the exact 35-digit expansion); TOOLS=dump skips whisper-merge (Python's takes
# about 27 s a run).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build -q --release -p charcoal-tools
bin=${CARGO_TARGET_DIR:-target}/release
py=${WHISPER_PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now=1700000000

"$py" - "$work" "$now" "${VALUES:-whole}" <<'PY'
import sys, whisper
work, now = sys.argv[1], int(sys.argv[2])
for name in ("src", "dst"):
    whisper.create("%s/%s.wsp" % (work, name), [(60, 525600)])
fractions = sys.argv[3] == "fractions"
whisper.update_many("%s/src.wsp" % work, [(now - i * 60, i / 7 if fractions else float(i)) for i in range(525600)], now=now)
PY

best() { # best wall seconds of $runs runs of "$@"
  local b=999999999999 s e t
  for _ in $(seq "$runs"); do
    s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
    t=$(( (e - s) / 1000 )); [ "$t" -lt "$b" ] && b=$t
  done
  printf '%d.%06d' $((b / 1000000)) $((b % 1000000))
}

fake_clock() { # run a Debian script with time.time() fixed at $now
  "$py" -c "import sys,time; N=float(sys.argv[1]); time.time=lambda: N; sys.argv=sys.argv[2:]; exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'), {'__name__': '__main__'})" "$now" "$@"
}

printf '%-14s %-8s %10s\n' tool impl seconds
printf '%-14s %-8s %10s\n' whisper-dump charcoal "$(best "$bin/whisper-dump" "$work/src.wsp")"
printf '%-14s %-8s %10s\n' whisper-dump python "$(best "$py" /usr/bin/whisper-dump "$work/src.wsp")"
[ "${TOOLS:-all}" = dump ] && exit 0
export CHARCOAL_NOW=$now
printf '%-14s %-8s %10s\n' whisper-merge charcoal "$(best "$bin/whisper-merge" "$work/src.wsp" "$work/dst.wsp")"
printf '%-14s %-8s %10s\n' whisper-merge python "$(best fake_clock /usr/bin/whisper-merge "$work/src.wsp" "$work/dst.wsp")"
