#!/usr/bin/python3
"""graphite-web's own target parser and time parser, as a line-oriented JSON service.

Started once by tests/graphite_differential.rs and fed batches on stdin, one JSON object per
line; answers one JSON object per line:

  {"op": "parse", "items": [target, ...]}
      -> {"results": [{"ok": TREE} | {"partial": MSG} | {"error": MSG}, ...]}
  {"op": "time", "items": [[string, now_epoch, tz_name], ...]}
      -> {"results": [{"ok": epoch} | {"error": MSG}, ...]}
  {"op": "expand", "items": [[target, [[name, value], ...]], ...]}
      -> {"results": [{"ok": VALUE} | {"error": MSG} | {"unparsed": MSG}, ...]}

VALUE is what graphite-web's evaluator (render/evaluator.py, evaluateTokens) builds for the
target with the request's template[name]=value pairs, with fetchData and every series
function replaced by recorders: {"fetch": path} | {"call": name, "args": [VALUE...],
"kwargs": [[name, VALUE]...]} | a scalar ARG as below. That pins template substitution.

TREE is the canonical JSON shape the Rust side also produces (see `dump_target` there):
  expression = {"head": HEAD, "pipes": [CALL, ...]}
  HEAD       = {"path": text} | {"call": CALL} | {"template": {"inner": {"call": CALL} |
               {"path": text}, "args": [ARG...], "kwargs": [[name, ARG]...]}}
  CALL       = {"name": n, "raw": source text, "args": [ARG...], "kwargs": [[name, ARG]...]}
  ARG        = {"expr": expression} | {"int": decimal} | {"float": bits} | {"str": text}
               | {"bool": b} | {"none": true} | {"inf": true}
The tree is read the way graphite-web's evaluator reads it (render/evaluator.py): named
results, checked in the evaluator's order, numbers converted with int()/float().

"partial" means graphite-web parses a prefix and ignores the rest (its grammar does not
require the end of the input); the test treats it as a refusal, which Charcoal reports.

Uses Debian's graphite-web 1.1.8 under /usr/lib/python3/dist-packages, configured with
graphite-web's own default settings module plus TIME_ZONE='UTC' and UTF8_METRICS=False.
"""

import calendar
import datetime
import json
import struct
import sys

import warnings

import pytz
from django.conf import settings

warnings.simplefilter('ignore')  # graphite.settings warns about its default SECRET_KEY
import graphite.settings as graphite_defaults  # noqa: E402

settings.configure(default_settings=graphite_defaults, TIME_ZONE='UTC', UTF8_METRICS=False)

from graphite.render import evaluator  # noqa: E402
from graphite.render.attime import parseATTime  # noqa: E402
from graphite.render.grammar_unsafe import grammar  # noqa: E402


def bits(f):
    return str(struct.unpack('<Q', struct.pack('<d', f))[0])


def d_call(c):
    return {
        "name": c.funcname,
        "raw": c.raw,
        "args": [d_arg(a) for a in c.args],
        "kwargs": [[k.argname, d_arg(k.args[0])] for k in c.kwargs],
    }


def d_expr(e):
    if e.template:
        t = e.template
        inner = {"call": d_call(t.call)} if t.call else {"path": t.pathExpression}
        head = {"template": {
            "inner": inner,
            "args": [d_arg(a) for a in t.args],
            "kwargs": [[k.argname, d_arg(k.args[0])] for k in t.kwargs],
        }}
    elif e.call:
        head = {"call": d_call(e.call)}
    else:
        head = {"path": e.pathExpression}
    return {"head": head, "pipes": [d_call(p.call) for p in e.pipedCalls]}


def d_arg(a):
    if a.expression:
        return {"expr": d_expr(a.expression)}
    n = a.number
    if n:
        if n.integer:
            return {"int": str(int(n.integer))}
        if n.float:
            return {"float": bits(float(n.float))}
        if n.scientific:
            return {"float": bits(float(n.scientific[0]))}
        raise AssertionError("unknown number %r" % n)
    if a.string:
        return {"str": a.string[1:-1]}
    if a.boolean:
        return {"bool": a.boolean[0] == 'true'}
    if a.none:
        return {"none": True}
    if a.infinity:
        return {"inf": True}
    raise AssertionError("unknown argument %r" % a)


def parse(target):
    try:
        r = grammar.parseString(target, parseAll=True)
        return {"ok": d_expr(r.expression)}
    except RecursionError as e:
        return {"error": "RecursionError: %s" % e}
    except Exception as e:
        try:
            grammar.parseString(target)
            return {"partial": str(e)}
        except Exception as e2:
            return {"error": "%s: %s" % (type(e2).__name__, e2)}


def record_fetch(request_context, path_expression):
    return {"fetch": path_expression}


def record_function(name):
    def call(request_context, *args, **kwargs):
        return {"call": name, "args": list(args), "kwargs": list(kwargs.items())}
    return call


evaluator.fetchData = record_fetch
evaluator.SeriesFunction = record_function


def canon(v):
    if isinstance(v, dict) and "fetch" in v:
        return v
    if isinstance(v, dict):
        return {"call": v["call"], "args": [canon(a) for a in v["args"]],
                "kwargs": [[k, canon(x)] for k, x in v["kwargs"]]}
    if v is None:
        return {"none": True}
    if isinstance(v, bool):
        return {"bool": v}
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, float):
        return {"float": bits(v)}
    if isinstance(v, str):
        return {"str": v}
    raise AssertionError("unexpected value %r" % (v,))


def expand(target, params):
    try:
        tokens = grammar.parseString(target, parseAll=True)
    except Exception as e:
        return {"unparsed": str(e)}
    try:
        value = evaluator.evaluateTokens({"template": dict(params)}, tokens)
        return {"ok": canon(value)}
    except Exception as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}


ZONES = {}


def at(s, now, tz_name):
    tz = ZONES.get(tz_name) or ZONES.setdefault(tz_name, pytz.timezone(tz_name))
    now_dt = datetime.datetime.fromtimestamp(now, tz)
    try:
        r = parseATTime(s, tz, now_dt)
        return {"ok": calendar.timegm(r.astimezone(pytz.utc).timetuple())}
    except Exception as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}


def main():
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "parse":
            results = [parse(t) for t in req["items"]]
        elif req["op"] == "expand":
            results = [expand(t, params) for t, params in req["items"]]
        elif req["op"] == "time":
            results = [at(s, now, tz) for s, now, tz in req["items"]]
        else:
            raise ValueError("unknown op %r" % req["op"])
        sys.stdout.write(json.dumps({"results": results}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
