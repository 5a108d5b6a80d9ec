"""Carbon's own name handling: TaggedSeries.parse(name).path and the whisper path
carbon's WhisperDatabase.getFilesystemPath builds (TAG_HASH_FILENAMES = True), from the
installed graphite-carbon package.

Input: [name, ...]. Output: [{"path": str or null, "error": str or null, "file": str}].
"""
import os
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
try:
    from carbon.util import TaggedSeries
except ImportError as e:
    sys.stderr.write("graphite-carbon is not installed (apt-get install graphite-carbon): %s\n" % e)
    sys.exit(3)

from common import main  # noqa: E402


def handle(names):
    out = []
    for name in names:
        try:
            path = TaggedSeries.parse(name).path
            error = None
        except Exception as e:  # noqa: BLE001 - carbon logs and keeps the raw name
            path, error = None, str(e)
        stored = path if path is not None else name
        rel = TaggedSeries.encode(stored, os.sep, hash_only=True) + ".wsp"
        out.append({"path": path, "error": error, "file": rel})
    return out


main(handle)
