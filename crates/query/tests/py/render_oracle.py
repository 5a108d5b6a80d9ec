#!/usr/bin/python3
"""graphite-web's own evaluator and function library over an in-memory dataset.

Started by tests/render_differential.rs; reads one JSON request per line on stdin and
answers one JSON line:

  {"dataset": {NAME: [STEP, [[TS, VALUE], ...]], ...},
   "from": EPOCH, "until": EPOCH, "now": EPOCH, "xff": FLOAT|null,
   "maxDataPoints": INT|null, "targets": [TARGET, ...], "lenient": [BOOL, ...]}
  -> {"results": [{"ok": [SERIES, ...]} | {"error": "Type: message"}, ...]}

SERIES = {"name", "pathExpression", "tags", "start", "end", "step", "valuesPerPoint",
          "consolidationFunc", "xFilesFactor", "values": [VALUE, ...]}
VALUE  = null (None or NaN) | "inf" | "-inf" | a float's repr string

Fetching is replaced, not the functions: graphite-web's evaluateTarget calls prefetchData,
which here matches the dataset with graphite-web's own per-node brace expansion and
fnmatch (graphite.finders.match_entries) and cuts each metric like whisper's fetch
((from, until] on the step grid). Everything after that is graphite-web 1.1.8's code:
evaluator, parameter checks (with ENFORCE_INPUT_VALIDATION on, as Charcoal always
enforces; off, as graphite-web ships, for the targets marked in "lenient"), functions, and
the maxDataPoints consolidation of render/views.py.
"""

import collections
import datetime
import json
import math
import sys
import warnings

import pytz
from django.conf import settings

warnings.simplefilter('ignore')
import graphite.settings as graphite_defaults  # noqa: E402

_overrides = {k: getattr(graphite_defaults, k) for k in dir(graphite_defaults) if k.isupper()}
_overrides.update(TIME_ZONE='UTC', UTF8_METRICS=False, ENFORCE_INPUT_VALIDATION=True,
                  LOGGING_CONFIG=None, DATABASES={'default': {
                      'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}})
settings.configure(**_overrides)
import django  # noqa: E402
django.setup()

from graphite.finders import match_entries  # noqa: E402
from graphite.render import evaluator, datalib  # noqa: E402
from graphite.render import functions as _functions  # noqa: E402,F401

DATASET = {}


def matches(pattern, name):
    pparts = pattern.replace('\\', '').split('.')
    nparts = name.split('.')
    if len(pparts) != len(nparts):
        return False
    return all(match_entries([n], p) for p, n in zip(pparts, nparts))


def fetch_one(step, points, start_time, end_time):
    frm = start_time - (start_time % step) + step
    until = end_time - (end_time % step) + step
    if frm == until:
        until += step
    values = [points.get(t) for t in range(frm, until, step)]
    return (frm, until, step), values


def prefetch(request_context, path_expressions):
    if not path_expressions:
        return
    start = int(request_context['startTime'].timestamp())
    end = int(request_context['endTime'].timestamp())
    now = int(request_context['now'].timestamp())
    prefetched = collections.defaultdict(list)
    for expr in path_expressions:
        for name in sorted(DATASET):
            if matches(expr, name):
                step, points = DATASET[name]
                prefetched[expr].append((name, fetch_one(step, points, start, end)))
    request_context.setdefault('prefetched', {})[(start, end, now)] = prefetched


evaluator.prefetchData = prefetch


def value(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(float(v))


def dump(series):
    return {
        "name": series.name,
        "pathExpression": series.pathExpression,
        "tags": [[k, v] for k, v in series.tags.items()],
        "start": series.start,
        "end": series.end,
        "step": series.step,
        "valuesPerPoint": series.valuesPerPoint,
        "consolidationFunc": series.consolidationFunc,
        "xFilesFactor": series.xFilesFactor,
        "values": [value(v) for v in series],
    }


def consolidate(data, max_data_points):
    """render/views.py renderViewJson's maxDataPoints handling (1.1.8), line for line."""
    if not any(data):
        return
    start_time = min([series.start for series in data])
    end_time = max([series.end for series in data])
    time_range = end_time - start_time
    for series in data:
        if max_data_points == 1:
            series.consolidate(len(series))
        else:
            number_of_points = time_range / series.step
            if max_data_points < number_of_points:
                values_per_point = math.ceil(float(number_of_points) / float(max_data_points))
                seconds_per_point = int(values_per_point * series.step)
                nudge = seconds_per_point + (series.start % series.step) - (series.start % seconds_per_point)
                series.start = series.start + nudge
                values_to_lose = int(nudge / series.step)
                for r in range(1, values_to_lose):
                    del series[0]
                series.consolidate(values_per_point)


def answer(req):
    global DATASET
    DATASET = {
        name: (step, {int(t) - int(t) % step: v for t, v in points})
        for name, (step, points) in req["dataset"].items()
    }
    utc = pytz.utc
    ctx_base = {
        'startTime': datetime.datetime.fromtimestamp(req["from"], utc),
        'endTime': datetime.datetime.fromtimestamp(req["until"], utc),
        'now': datetime.datetime.fromtimestamp(req["now"], utc),
        'localOnly': False,
        'template': {},
        'tzinfo': utc,
        'forwardHeaders': {},
        'sourceIdHeaders': {},
        'xFilesFactor': req.get("xff") if req.get("xff") is not None else 0.0,
        'maxDataPoints': req.get("maxDataPoints"),
    }
    results = []
    lenient = req.get("lenient") or [False] * len(req["targets"])
    for target, loose in zip(req["targets"], lenient):
        # evaluator.py reads the setting at every call, so it can change per target.
        settings.ENFORCE_INPUT_VALIDATION = not loose
        ctx = dict(ctx_base, data=[], prefetched={}, targets=[target])
        try:
            series = evaluator.evaluateTarget(ctx, [target])
            mdp = req.get("maxDataPoints")
            if mdp:
                consolidate(series, mdp)
            results.append({"ok": [dump(s) for s in series]})
        except Exception as e:  # noqa: BLE001 - every failure is an answer
            results.append({"error": "%s: %s" % (type(e).__name__, e)})
    return {"results": results}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        print(json.dumps(answer(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
