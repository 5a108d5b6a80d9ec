"""Writes the fuzzing seeds in this folder with the reference, python3-whisper.

Run with Debian's python: /usr/bin/python3 make_seeds.py
Seeds: small valid files with data (one, two and three archives, wrapped
rings) and a few corrupt variants of them. Fuzzer findings are added beside
them as crash-*.bin by hand.
"""
import os
import struct
import whisper

NOW = 1700000000
HERE = os.path.dirname(os.path.abspath(__file__))


def make(name, archives, points, agg="average", xff=0.5):
    path = os.path.join(HERE, name)
    if os.path.exists(path):
        os.unlink(path)
    whisper.create(path, archives, xFilesFactor=xff, aggregationMethod=agg)
    if points:
        whisper.update_many(path, points, now=NOW)
    with open(path, "rb") as f:
        return f.read()


one = make("seed-one-archive.bin", [(60, 10)], [(NOW - i * 60, i) for i in range(25)])
two = make("seed-two-archives.bin", [(10, 12), (60, 10)],
           [(NOW - i * 7, i * 1.5) for i in range(80)], agg="sum", xff=0.1)
make("seed-three-archives.bin", [(1, 20), (5, 12), (60, 5)],
     [(NOW - i, -i) for i in range(100)], agg="absmax", xff=0.0)
make("seed-empty-archives.bin", [(10, 6), (60, 4)], [])
with open(os.path.join(HERE, "corrupt-truncated.bin"), "wb") as f:
    f.write(two[: len(two) - 5])
with open(os.path.join(HERE, "corrupt-archive-past-end.bin"), "wb") as f:
    f.write(two[:16] + struct.pack("!3L", 40, 10, 1000) + two[28:])
with open(os.path.join(HERE, "corrupt-huge-count.bin"), "wb") as f:
    f.write(one[:12] + struct.pack("!L", 0xFFFFFFFF) + one[16:])
