"""Helpers shared by the differential test scripts (run by /usr/bin/python3).

Each script reads one JSON document on stdin and writes one on stdout; the Rust tests in
crates/protocol/tests/ compare Charcoal's answers with these. Nothing here is Charcoal code:
it is CPython's pickle, float() and carbon's behaviour, observed.
"""
import io
import json
import math
import pickle
import struct
import sys


class SafeUnpickler(pickle.Unpickler):
    """What carbon's SafeUnpickler amounts to under Python 3: no global resolves.

    Carbon allows copy_reg._reconstructor and __builtin__.object, modules that do not exist
    in Python 3, so every find_class fails (ImportError or UnpicklingError); carbon creates
    the unpickler with encoding='utf-8'.
    """

    def find_class(self, module, name):
        raise pickle.UnpicklingError("global %s.%s refused" % (module, name))


def carbon_loads(data):
    return SafeUnpickler(io.BytesIO(data), encoding="utf-8").load()


def float_bits(f):
    if f != f:
        return "nan"
    return str(struct.unpack("<Q", struct.pack("<d", f))[0])


def canon(o):
    """A JSON form of a loaded object that the Rust side can build from a Value."""
    if o is None:
        return ["None"]
    if o is True or o is False:
        return ["bool", o]
    if isinstance(o, int):
        return ["int", str(o)]
    if isinstance(o, float):
        return ["float", float_bits(o)]
    if isinstance(o, str):
        try:
            o.encode("utf-8")
        except UnicodeEncodeError:
            return ["str_with_surrogate"]
        return ["str", o]
    if isinstance(o, bytes):
        return ["bytes", o.hex()]
    if isinstance(o, bytearray):
        return ["bytearray", o.hex()]
    if isinstance(o, list):
        return ["list", [canon(x) for x in o]]
    if isinstance(o, tuple):
        return ["tuple", [canon(x) for x in o]]
    if isinstance(o, dict):
        return ["dict", [[canon(k), canon(v)] for k, v in o.items()]]
    if isinstance(o, frozenset):
        return ["frozenset", [canon(x) for x in o]]
    if isinstance(o, set):
        return ["set", [canon(x) for x in o]]
    return ["other", type(o).__name__]


def has_surrogate(c):
    if c[0] == "str_with_surrogate":
        return True
    if c[0] in ("list", "tuple", "set", "frozenset"):
        return any(has_surrogate(x) for x in c[1])
    if c[0] == "dict":
        return any(has_surrogate(k) or has_surrogate(v) for k, v in c[1])
    return False


def loads_result(data):
    try:
        obj = carbon_loads(data)
    except RecursionError:
        return {"error": "RecursionError"}
    except Exception as e:  # noqa: BLE001 - any refusal is an error for the comparison
        return {"error": "%s: %s" % (type(e).__name__, e)}
    c = canon(obj)
    if has_surrogate(c):
        return {"surrogate": True}
    return {"value": c}


def carbon_batch_model(obj):
    """Carbon's MetricPickleReceiver loop, with Charcoal's documented choices where carbon
    would raise and drop the connection (see CarbonBatch's docs)."""
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = list(obj)
    elif isinstance(obj, dict):
        items = list(obj.keys())
    else:
        return {"error": "not a batch"}
    points, malformed, bad, nan = [], 0, 0, 0
    for raw in items:
        try:
            if isinstance(raw, (set, frozenset)):
                raise ValueError("set order")
            (metric, point) = raw
            if isinstance(point, (set, frozenset)):
                raise ValueError("set order")
            (value, timestamp) = point
        except Exception:  # noqa: BLE001 - carbon: except Exception
            malformed += 1
            continue
        try:
            datapoint = (float(value), float(timestamp))
        except (ValueError, TypeError, OverflowError):
            bad += 1
            continue
        if isinstance(metric, str):
            path = metric
        elif isinstance(metric, (bytes, bytearray)):
            try:
                path = bytes(metric).decode("utf-8")
            except UnicodeDecodeError:
                malformed += 1
                continue
        else:
            malformed += 1
            continue
        if datapoint[1] != datapoint[1]:
            nan += 1
            continue
        if not math.isfinite(datapoint[0]):
            bad += 1
            continue
        points.append([path, float_bits(datapoint[0]), float_bits(datapoint[1])])
    return {"points": points, "malformed": malformed, "bad_numbers": bad, "nan_values": nan}


def main(handler):
    request = json.load(sys.stdin)
    json.dump(handler(request), sys.stdout)
