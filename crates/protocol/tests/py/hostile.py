"""Pickles that run code when Python unpickles them, made by Python's own pickler.

Output: [{"name", "pickle" (hex)}]. Every one must be refused by Charcoal.
"""
import builtins
import os
import pickle
import subprocess

from common import main


class System:
    def __reduce__(self):
        return (os.system, ("touch /tmp/charcoal-pwned",))


class Eval:
    def __reduce__(self):
        return (builtins.eval, ("__import__('os').system('id')",))


class Popen:
    def __reduce__(self):
        return (subprocess.Popen, (["id"],))


class Exec:
    def __reduce__(self):
        return (builtins.exec, ("import os",))


class WithState:
    def __init__(self):
        self.x = 1


class Slots:
    __slots__ = ("a",)

    def __init__(self):
        self.a = 1

    def __getstate__(self):
        return (None, {"a": self.a})


def handle(_req):
    out = []
    payloads = {
        "os.system": System(),
        "eval": Eval(),
        "subprocess.Popen": Popen(),
        "exec": Exec(),
        "object with __dict__": WithState(),
        "object with slots": Slots(),
        "a function": os.getcwd,
        "a class": System,
        "a module-level type": int,
        "a batch hiding os.system": [("a.b", (1, 2.0)), ("c", (System(), 1)), System()],
        "a carbonlink request hiding eval": {"type": "cache-query", "metric": Eval()},
    }
    for name, obj in payloads.items():
        for proto in range(6):
            out.append({"name": "%s, protocol %d" % (name, proto),
                        "pickle": pickle.dumps(obj, protocol=proto).hex()})
    return out


main(handle)
