"""Random Python objects at every protocol, and given raw pickles, as carbon's unpickler
loads them.

Input: {"seed", "cases", "raw": [hex, ...]}. Output: {"random": [{"pickle", "expect"}],
"raw": [expect, ...]} where expect is loads_result().
"""
import random

from common import loads_result, main, pickle


def rand_scalar(r):
    return r.choice([
        None, True, False, 0, 1, -1, 255, 256, 65535, 65536, 2**31, -2**31 - 1, 2**63,
        -2**64, 2**200, -(2**1000), r.randint(-2**70, 2**70), 0.0, -0.0, 1.5, 1e300,
        float("inf"), float("-inf"), float("nan"), r.random(), "", "abc", "\u00e9\u00e8",
        "\U0001F600", "a\\b\nc\x00", "x" * 300, b"", b"\x00\xff", b"y" * 300,
        bytearray(b"ba"), r.randint(-10, 10), 1.0, 2.0,
    ])


def rand_hashable(r, depth):
    if depth > 2 or r.random() < 0.6:
        v = rand_scalar(r)
        return v if not isinstance(v, bytearray) else bytes(v)
    k = r.random()
    if k < 0.7:
        return tuple(rand_hashable(r, depth + 1) for _ in range(r.randint(0, 4)))
    return frozenset(rand_hashable(r, depth + 1) for _ in range(r.randint(0, 4)))


def rand_obj(r, depth=0):
    if depth > 4 or r.random() < 0.35:
        return rand_scalar(r)
    k = r.random()
    n = r.randint(0, 6)
    if k < 0.3:
        return [rand_obj(r, depth + 1) for _ in range(n)]
    if k < 0.55:
        return tuple(rand_obj(r, depth + 1) for _ in range(n))
    if k < 0.8:
        return {rand_hashable(r, depth + 1): rand_obj(r, depth + 1) for _ in range(n)}
    if k < 0.9:
        return {rand_hashable(r, depth + 1) for _ in range(n)}
    return frozenset(rand_hashable(r, depth + 1) for _ in range(n))


def shared(r):
    """Objects that the pickler memoises: the same list twice, a tuple reused."""
    inner = [1, 2, "x"]
    t = (3.5, "y")
    d = {"k": inner}
    return [inner, inner, t, t, d, [d, t], (inner, inner)]


def handle(req):
    r = random.Random(req["seed"])
    out = {"random": [], "raw": [loads_result(bytes.fromhex(h)) for h in req["raw"]]}
    objs = [rand_obj(r) for _ in range(req["cases"])] + [shared(r)]
    for obj in objs:
        for proto in range(6):
            data = pickle.dumps(obj, protocol=proto)
            out["random"].append({"pickle": data.hex(), "expect": loads_result(data)})
    return out


main(handle)
