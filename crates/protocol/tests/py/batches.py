"""Carbon-shaped pickle batches at every protocol, with what carbon makes of them.

Input: {"seed": int, "cases": int}. Output: a list of {"name", "pickle" (hex), "expect"},
where expect is carbon_batch_model(loads(pickle)) or {"error": ...} when carbon's unpickler
refuses the bytes.
"""
import random

from common import carbon_batch_model, carbon_loads, main, pickle

NAMES = [
    "a.b.c", "servers.web01.cpu.user", "carbon.agents.host-a.cache.size", "x",
    "\u00e9t\u00e9.\u00fcber", "\u65e5\u672c.\u8a9e", "emoji.\U0001F600", "with space.x",
    "disk.used;host=a;dc=x", "a{b=\"c\"}", "a..b", "", "~tilde", "../../etc/passwd",
]

NUMBERS = [
    0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, 2**31, -2**31 - 1, 2**40, 1700000000,
    2**63, -2**63 - 1, 2**70, 10**30, 2**1100, 0.0, -0.0, 1.5, -2.25, 1e-300, 1e300,
    1700000000.5, float("inf"), float("-inf"), float("nan"), True, False,
]

NOT_NUMBERS = ["1.5", " 1_0 ", "x", "nan", "-inf", b"2", b"x", bytearray(b"3.5"), None,
               [1], (1,), {}, "\u0661\u0662"]


def rand_number(r):
    if r.random() < 0.1:
        return r.choice(NOT_NUMBERS)
    if r.random() < 0.4:
        return r.choice(NUMBERS)
    if r.random() < 0.5:
        return r.randint(-2**40, 2**40)
    return r.uniform(-1e10, 1e10)


def rand_name(r):
    if r.random() < 0.5:
        return r.choice(NAMES)
    parts = [r.choice(["a", "bb", "web-01", "\u00e9", "cpu", "x_y", "9"]) for _ in range(r.randint(1, 6))]
    return ".".join(parts)


def rand_item(r, shared_names, shared_points):
    k = r.random()
    name = r.choice(shared_names) if shared_names and r.random() < 0.5 else rand_name(r)
    if r.random() < 0.08:
        name = name.encode("utf-8")
    if r.random() < 0.01:
        name = b"\xff\xfe"
    if k < 0.55:
        point = (rand_number(r), rand_number(r))
        if shared_points and r.random() < 0.3:
            point = r.choice(shared_points)
        return (name, point)
    if k < 0.7:
        return [name, [rand_number(r), rand_number(r)]]
    if k < 0.75:
        return (name, [rand_number(r), rand_number(r)])
    return r.choice([
        (name,), (name, (1, 2), 3), None, 5, "ab", ("m", "12"), ("m", b"12"),
        {"a": 1, "b": 2}, (name, (1,)), (name, {1.0, 2.0}), (name, (1, 2, 3)),
        (name, None), (None, (1, 2)), (7, (1, 2)), ((name,), (1, 2)), ("", (1, 2)),
        (name, {"k": 1, "v": 2}), [name, (1700000000, float("nan"))],
        (name, (float("nan"), 1)), (name, (float("inf"), 1)),
    ])


def batch(r, n):
    shared_names = [rand_name(r) for _ in range(5)]
    shared_points = [(r.randint(0, 2**31), r.random()) for _ in range(5)]
    items = [rand_item(r, shared_names, shared_points) for _ in range(n)]
    if r.random() < 0.2:
        return tuple(items)
    return items


# --- Python 2's pickler, for the STRING/BINSTRING/LONG opcodes old clients send ---

def py2_repr_bytes(b):
    out = []
    for c in b:
        ch = chr(c)
        if ch == "\\" or ch == "'":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif 32 <= c < 127:
            out.append(ch)
        else:
            out.append("\\x%02x" % c)
    return "'" + "".join(out) + "'"


def py2_dumps(obj, proto):
    out = bytearray()
    memo = [0]

    def put():
        if proto == 0:
            out.extend(b"p%d\n" % memo[0])
        else:
            out.extend(b"q" + bytes([memo[0] % 256]))
        memo[0] += 1

    def save(o):
        if o is None:
            out.extend(b"N")
        elif o is True or o is False:
            if proto >= 2:
                out.extend(b"\x88" if o else b"\x89")
            else:
                out.extend(b"I01\n" if o else b"I00\n")
        elif isinstance(o, int):
            if proto >= 1 and 0 <= o < 256:
                out.extend(b"K" + bytes([o]))
            elif proto >= 1 and -2**31 <= o < 2**31:
                out.extend(b"J" + o.to_bytes(4, "little", signed=True))
            elif -2**63 <= o < 2**63 and proto == 0:
                out.extend(b"I%d\n" % o)
            elif proto >= 2:
                n = (o.bit_length() + 8) // 8
                out.extend(b"\x8a" + bytes([n]) + o.to_bytes(n, "little", signed=True))
            else:
                out.extend(b"L%dL\n" % o)
        elif isinstance(o, float):
            if proto >= 1:
                import struct
                out.extend(b"G" + struct.pack(">d", o))
            else:
                out.extend(b"F" + repr(o).encode() + b"\n")
        elif isinstance(o, bytes):  # a Python 2 str
            if proto == 0:
                out.extend(b"S" + py2_repr_bytes(o).encode() + b"\n")
            elif len(o) < 256:
                out.extend(b"U" + bytes([len(o)]) + o)
            else:
                out.extend(b"T" + len(o).to_bytes(4, "little") + o)
            put()
        elif isinstance(o, str):  # a Python 2 unicode
            if proto == 0:
                esc = o.replace("\\", "\\u005c").replace("\n", "\\u000a")
                out.extend(b"V" + esc.encode("raw-unicode-escape") + b"\n")
            else:
                e = o.encode("utf-8")
                out.extend(b"X" + len(e).to_bytes(4, "little") + e)
            put()
        elif isinstance(o, tuple):
            if proto >= 2 and 1 <= len(o) <= 3:
                for x in o:
                    save(x)
                out.extend(bytes([0x84 + len(o)]))
            else:
                out.extend(b"(")
                for x in o:
                    save(x)
                out.extend(b"t")
            put()
        elif isinstance(o, list):
            if proto == 0:
                out.extend(b"(l")
                put()
                for x in o:
                    save(x)
                    out.extend(b"a")
            else:
                out.extend(b"]")
                put()
                if o:
                    out.extend(b"(")
                    for x in o:
                        save(x)
                    out.extend(b"e")
        else:
            raise TypeError(type(o))

    if proto >= 2:
        out.extend(b"\x80\x02")
    save(obj)
    out.extend(b".")
    return bytes(out)


def py2_item(r):
    name = rand_name(r).encode("utf-8")
    ts = r.choice([r.randint(0, 2**31), r.randint(2**31, 2**40), r.random() * 2e9])
    value = r.choice([r.random(), r.randint(-1000, 1000), 2**70, 1.0e300])
    if r.random() < 0.3:
        return [name, [ts, value]]
    return (name, (ts, value))


def handle(req):
    r = random.Random(req["seed"])
    cases = []

    def add(name, data):
        try:
            expect = carbon_batch_model(carbon_loads(data))
        except Exception as e:  # noqa: BLE001
            expect = {"error": "%s: %s" % (type(e).__name__, e)}
        cases.append({"name": name, "pickle": data.hex(), "expect": expect})

    for i in range(req["cases"]):
        n = r.choice([0, 1, 2, 5, 20, 100])
        b = batch(r, n)
        for proto in range(6):
            add("random %d protocol %d" % (i, proto), pickle.dumps(b, protocol=proto))
    # Large batches: FRAMEs, memo of shared names and tuples, LONG_BINPUT past 256 entries.
    for proto in range(6):
        b = batch(r, 4000)
        add("large protocol %d" % proto, pickle.dumps(b, protocol=proto))
    # One name object for every point, as a client reusing its string would send.
    name = "shared.metric.name"
    same = [(name, (1700000000 + i, float(i))) for i in range(3000)]
    for proto in range(6):
        add("shared name protocol %d" % proto, pickle.dumps(same, protocol=proto))
    # bytes paths: protocols 0-2 pickle bytes through _codecs.encode (GLOBAL), which carbon
    # refuses; 3+ use BINBYTES.
    bytes_batch = [(b"a.b", (1, 2.0)), (bytearray(b"c.d"), (3, 4.0)), (b"\xff", (5, 6.0))]
    for proto in range(6):
        add("bytes paths protocol %d" % proto, pickle.dumps(bytes_batch, protocol=proto))
    # Python 2 clients.
    for i in range(max(1, req["cases"] // 2)):
        b = [py2_item(r) for _ in range(r.choice([1, 3, 50]))]
        b.append((b"esc'aped\\n\xc3\xa9", (1, 2.0)))
        b.append(("unicode.\u00e9\\x", (1, 2.0)))
        for proto in (0, 1, 2):
            add("py2 %d protocol %d" % (i, proto), py2_dumps(b, proto))
    # Payloads that are not lists.
    for obj in [{("a", (1, 2)): 1, "b": 2}, ("a", (1, 2)), "ab", 5, None, frozenset()]:
        for proto in (2, 5):
            add("payload %r protocol %d" % (obj, proto), pickle.dumps(obj, protocol=proto))
    return cases


main(handle)
