#!/bin/sh
# Regenerates the golden files of tests/golden.rs with Debian's
# python3-whisper scripts, so that test needs no Python.
#
# The clock is fixed by replacing time.time() before each script runs; TZ is
# UTC. `cases` lists one run per line: the expected-output file, the tool,
# then its arguments (no spaces inside an argument). golden.rs reads `cases`
# and MANIFEST (for the clock), runs our binaries the same way and compares.
#
# Usage: tests/golden/make.sh   (WHISPER_PYTHON overrides /usr/bin/python3)
set -eu
cd "$(dirname "$0")"

PYTHON=${WHISPER_PYTHON:-/usr/bin/python3}
NOW=1700000123
LAUNCHER="import sys,time; N=float(sys.argv[1]); time.time=lambda: N; sys.argv=sys.argv[2:]; exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'), {'__name__': '__main__'})"

# run TOOL ARGS...: the Debian script with the clock at $NOW.
run() {
    tool=$1
    shift
    TZ=UTC LC_ALL=C.UTF-8 "$PYTHON" -c "$LAUNCHER" "$NOW" "/usr/bin/$tool" "$@"
}

# points START STOP STEP SKIP: timestamp:value pairs every STEP seconds,
# leaving out every SKIP-th one, with a few special values.
points() {
    awk -v start="$1" -v stop="$2" -v step="$3" -v skip="$4" 'BEGIN {
        n = 0
        for (t = start; t <= stop; t += step) {
            n++
            if (n % skip == 0) continue
            v = (n * 37) % 101 - 50 + (n % 4) / 4
            if (n % 29 == 0) v = "nan"
            if (n % 31 == 0) v = "inf"
            if (n % 23 == 0) v = 0
            printf "%d:%s ", t, v
        }
    }'
}

rm -f ./*.wsp expected/*
mkdir -p expected
run whisper-create small-a.wsp 1m:1h 5m:6h --aggregationMethod=max >/dev/null
run whisper-create small-b.wsp 1m:1h 5m:6h --aggregationMethod=max >/dev/null
# shellcheck disable=SC2046 # one argument per point
run whisper-update small-a.wsp $(points $((NOW - 20000)) "$NOW" 60 7)
# shellcheck disable=SC2046
run whisper-update small-b.wsp $(points $((NOW - 20000)) "$NOW" 60 5)
run whisper-update small-b.wsp "$((NOW - 600)):0.1"

while read -r name tool args; do
    # shellcheck disable=SC2086 # arguments are space-separated
    run "$tool" $args >"expected/$name"
done <cases

{
    echo "Golden outputs made by tests/golden/make.sh with:"
    echo "python3-whisper: $(dpkg-query -W -f='${Version}' python3-whisper)"
    echo "python3: $("$PYTHON" -c 'import platform; print(platform.python_version())')"
    echo "clock: $NOW"
    echo "TZ: UTC"
} >MANIFEST
