"""Times Python whisper (the reference) on the scenarios of
whisper-format/benches/whisper.rs, so docs/performance.md can put the two
side by side from the same run on the same machine.

Run with Debian's python: /usr/bin/python3 benches/whisper_python.py
"""
import os
import shutil
import tempfile
import time

import whisper

NOW = 1700000000


def best_of(fn, repeat, number=1):
    """Best per-call time in seconds over `repeat` rounds of `number` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def specs(defs):
    return [whisper.parseRetentionDef(d) for d in defs.split(",")]


def report(name, seconds, elements):
    print("%-40s %12.3f us/iter %14.0f elements/s" % (name, seconds * 1e6, elements / seconds))


def main():
    d = tempfile.mkdtemp()
    try:
        path = os.path.join(d, "three.wsp")
        whisper.create(path, specs("10s:6h,1m:7d,10m:5y"))
        points = [(NOW - i * 10, float(i)) for i in range(1000)]
        report("update_many_1000_points_3_archives", best_of(
            lambda: whisper.update_many(path, points, now=NOW), 5, 10), 1000)

        paths = [os.path.join(d, "m%d.wsp" % i) for i in range(10000)]
        for p in paths:
            whisper.create(p, specs("10s:6h,1m:7d,10m:5y"), sparse=True)
        t = [NOW]

        def one_each():
            t[0] += 10
            for p in paths:
                whisper.update(p, 1.0, t[0], now=t[0])
        report("one_point_into_10000_files", best_of(one_each, 3), 10000)

        day = os.path.join(d, "day.wsp")
        whisper.create(day, specs("10s:1d,1m:7d"))
        whisper.update_many(day, [(NOW - i * 10, float(i)) for i in range(8640)], now=NOW)
        report("fetch_one_day_at_10s", best_of(
            lambda: whisper.fetch(day, NOW - 86400, NOW, now=NOW), 5, 20), 8640)

        a = os.path.join(d, "a.wsp")
        b = os.path.join(d, "b.wsp")
        whisper.create(a, specs("1m:365d"))
        whisper.create(b, specs("1m:365d"))
        whisper.update_many(a, [(NOW - i * 60, float(i)) for i in range(525600)], now=NOW)
        report("merge_one_year_1m", best_of(
            lambda: whisper.merge(a, b, now=NOW), 1), 525600)
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
