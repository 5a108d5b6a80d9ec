"""Carbonlink both ways.

Input: {"responses": [{"pickle": hex, "repr": str}], "seed": int}.
Output: {"responses": [bool or message], "requests": [{"pickle": hex, "request": {...}}]}.
Responses are loaded with the standard pickle.loads, as graphite-web does, and compared with
the repr Charcoal expects; requests are built as graphite-web's CarbonLinkPool does
(pickle.dumps(request, protocol=CARBONLINK_PICKLE_PROTOCOL)) at every protocol.
"""
import pickle
import random

from common import main


def handle(req):
    responses = []
    for case in req["responses"]:
        try:
            got = repr(pickle.loads(bytes.fromhex(case["pickle"])))
        except Exception as e:  # noqa: BLE001
            got = "error: %s" % e
        responses.append(True if got == case["repr"] else "got %s want %s" % (got, case["repr"]))
    r = random.Random(req["seed"])
    names = ["a.b.c", "\u00e9.x", "disk.used;dc=x;host=a", "x" * 300]
    requests = []
    for proto in range(6):
        for name in names:
            for request in [
                {"type": "cache-query", "metric": name},
                {"type": "cache-query-bulk", "metrics": [name, r.choice(names)]},
                {"type": "get-metadata", "metric": name, "key": "aggregationMethod"},
                {"type": "set-metadata", "metric": name, "key": "aggregationMethod",
                 "value": "max"},
                {"type": "flush"},
                {"type": 7},
            ]:
                requests.append({"pickle": pickle.dumps(request, protocol=proto).hex(),
                                 "request": {k: v for k, v in request.items()}})
    return {"responses": responses, "requests": requests}


main(handle)
