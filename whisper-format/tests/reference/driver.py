"""Applies whisper operations with Python whisper (the reference), one JSON
request per line on stdin, one JSON answer per line on stdout.

Used by the differential tests in whisper-format/tests: the Rust side applies
the same operations with whisper-format and compares files byte for byte and
fetch results value for value. Floats travel as 16 hex digits (IEEE-754 bits)
so NaN, infinities and every bit pattern survive.

Requests: {"op": "create", "path", "archives": [[step, points]...], "xff", "agg"}
          {"op": "update", "path", "ts", "value", "now"}
          {"op": "update_many", "path", "points": [[ts, value]...], "now"}
          {"op": "fetch", "path", "from", "until", "now"}
          {"op": "merge", "from_path", "to_path", "time_from", "time_to", "now"}
          {"op": "diff", "path_a", "path_b", "ignore_empty", "until", "now"}
          {"op": "resize", "path", "new_path", "archives", "xff", "agg", "now"}
          {"op": "set_order", "values": [int...]}
Answers:  {"ok": true, ...} or {"error": "<ExceptionClass>", "message": "..."}
"""
import json
import struct
import sys

import whisper


def unhex(h):
    return struct.unpack(">d", bytes.fromhex(h))[0]


def tohex(v):
    return None if v is None else struct.pack(">d", v).hex()


def handle(req):
    op = req["op"]
    if op == "create":
        whisper.create(req["path"], [tuple(a) for a in req["archives"]],
                       xFilesFactor=req["xff"], aggregationMethod=req["agg"])
        return {}
    if op == "update":
        whisper.update(req["path"], unhex(req["value"]), req["ts"], now=req["now"])
        return {}
    if op == "update_many":
        whisper.update_many(req["path"], [(t, unhex(v)) for t, v in req["points"]],
                            now=req["now"])
        return {}
    if op == "fetch":
        res = whisper.fetch(req["path"], req["from"], req["until"], now=req["now"])
        if res is None:
            return {"none": True}
        (start, end, step), values = res
        return {"from": start, "until": end, "step": step,
                "values": [tohex(v) for v in values]}
    if op == "merge":
        whisper.merge(req["from_path"], req["to_path"], req.get("time_from"),
                      req.get("time_to"), now=req["now"])
        return {}
    if op == "diff":
        res = whisper.diff(req["path_a"], req["path_b"], ignore_empty=req["ignore_empty"],
                           until_time=req.get("until"), now=req["now"])
        return {"archives": [[n, [[t, tohex(a), tohex(b)] for t, a, b in pts], total]
                             for n, pts, total in res]}
    if op == "resize":
        # whisper-resize without --aggregate, with an explicit clock.
        now = req["now"]
        old = whisper.info(req["path"])["archives"]
        old.sort(key=lambda a: a["secondsPerPoint"], reverse=True)
        data = [whisper.fetch(req["path"], now - a["retention"] + a["secondsPerPoint"], now,
                              now=now) for a in old]
        whisper.create(req["new_path"], [tuple(a) for a in req["archives"]],
                       xFilesFactor=req["xff"], aggregationMethod=req["agg"])
        for timeinfo, values in data:
            points = [p for p in zip(range(*timeinfo), values) if p[1] is not None]
            whisper.update_many(req["new_path"], points, now=now)
        return {}
    if op == "set_order":
        return {"values": list(set(req["values"]))}
    raise ValueError("unknown op %r" % op)


def main():
    for line in sys.stdin:
        req = json.loads(line)
        try:
            ans = handle(req)
            ans["ok"] = True
        except Exception as exc:  # every failure is data for the caller
            ans = {"error": type(exc).__name__, "message": str(exc)}
        sys.stdout.write(json.dumps(ans) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
