#!/usr/bin/python3
"""Render and find latency: Charcoal against Debian's graphite-web, same files, same run.

The read-path benchmark of issue 4. It writes 1,000 metrics x 1,000 points
(bench.hostNNN.requests, 10 s steps ending now, schema 10s:1d, python3-whisper) into a
fresh storage directory, starts Charcoal (release build, --storage-dir, HTTP only) and
graphite-web (the reference kit's Django runserver) on that directory, and times the
same requests against both over one keep-alive connection each:

  one      /render?target=bench.host000.requests&from=-1h&format=json
  sum1h    /render?target=sumSeries(bench.*.requests)&from=-1h&format=json
  sum3h    /render?target=sumSeries(bench.*.requests)&from=-3h&format=json
  find     /metrics/find?query=bench.*.requests   (1,000 leaves, one per directory)

and, for the finds, 1,000 more files in ONE directory (lg/g000/m0000..m0999, the common
`servers.*` shape), timed with a raw-socket client (a request prepared once, written with
one send, the answer read to its Content-Length: less client time than http.client):

  version   /version                       (the client's and HTTP's own floor)
  find      /metrics/find?query=bench.*.requests
  find1dir  /metrics/find?query=lg.g000.*   (1,000 leaves in one directory)

Each request is sent WARMUP times first (warm: files in the page cache, Charcoal's
handle cache filled), then timed ROUNDS times; the table shows the median and the 90th
percentile of the client-side wall time (request written to last byte read, loopback; it
includes HTTP parsing on both sides, so it slightly overstates server time).

The raw-socket rows are the "(raw)" ones in the table.

Run from the repository root (about 2 minutes):

    python3 benches/render_latency.py

Knobs (environment): ROUNDS=30, WARMUP=3, SERVERS="charcoal graphite-web",
REFERENCE_KIT (default ../shared/reference/reference.py), WORK_DIR (default a new
temporary directory, removed at the end; a given one is kept and its files reused by the
next run), CHARCOAL (default target/release/charcoal).
"""

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KIT = os.environ.get("REFERENCE_KIT", os.path.join(ROOT, "..", "shared", "reference", "reference.py"))
ROUNDS = int(os.environ.get("ROUNDS", "30"))
WARMUP = int(os.environ.get("WARMUP", "3"))
SERVERS = os.environ.get("SERVERS", "charcoal graphite-web").split()
CHARCOAL = os.environ.get("CHARCOAL", os.path.join(ROOT, "target", "release", "charcoal"))
METRICS = 1000
POINTS = 1000
ONE_DIR = 1000

QUERIES = [
    ("one", "/render?target=bench.host000.requests&from=-1h&format=json"),
    ("sum1h", "/render?target=sumSeries(bench.*.requests)&from=-1h&format=json"),
    ("sum3h", "/render?target=sumSeries(bench.*.requests)&from=-3h&format=json"),
    ("find", "/metrics/find?query=bench.*.requests"),
]

RAW_QUERIES = [
    ("version", "/version"),
    ("find", "/metrics/find?query=bench.*.requests"),
    ("find1dir", "/metrics/find?query=lg.g000.*"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_data(whisper_dir):
    sys.path.insert(0, "/usr/lib/python3/dist-packages")
    import whisper  # noqa: E402  (Debian's python3-whisper)
    now = int(time.time())
    for i in range(METRICS):
        d = os.path.join(whisper_dir, "bench", "host%03d" % i)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "requests.wsp")
        whisper.create(path, [(10, 8640)], xFilesFactor=0.5, aggregationMethod="average")
        whisper.update_many(path, [(now - 10 * k, float((k * 7 + i) % 50)) for k in range(POINTS)])
    d = os.path.join(whisper_dir, "lg", "g000")
    os.makedirs(d, exist_ok=True)
    for i in range(ONE_DIR):
        whisper.create(os.path.join(d, "m%04d.wsp" % i), [(60, 60)])


def wait_http(port, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/metrics/find?query=bench")
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server on port %d did not answer" % port)


def raw_get(sock, request):
    """One request over a raw keep-alive socket; returns (status, body)."""
    sock.sendall(request)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("connection closed")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = None
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    if length is None:
        raise SystemExit("no Content-Length in %r" % head)
    while len(body) < length:
        chunk = sock.recv(max(65536, length - len(body)))
        if not chunk:
            raise SystemExit("connection closed")
        body += chunk
    return status, body


def measure_raw(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    results = {}
    try:
        for name, path in RAW_QUERIES:
            request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path, port)).encode()
            body = b""
            for _ in range(WARMUP):
                status, body = raw_get(sock, request)
                if status != 200:
                    raise SystemExit("%s %s: HTTP %d %r" % (port, path, status, body[:200]))
            times = []
            for _ in range(ROUNDS):
                t0 = time.perf_counter()
                raw_get(sock, request)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            results[name + " (raw)"] = {
                "median_ms": statistics.median(times),
                "p90_ms": times[int(len(times) * 0.9) - 1],
                "bytes": len(body),
            }
    finally:
        sock.close()
    return results


def measure(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    results = {}
    for name, path in QUERIES:
        body = b""
        for _ in range(WARMUP):
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise SystemExit("%s %s: HTTP %d %r" % (port, path, resp.status, body[:200]))
        times = []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        results[name] = {
            "median_ms": statistics.median(times),
            "p90_ms": times[int(len(times) * 0.9) - 1],
            "bytes": len(body),
        }
    results.update(measure_raw(port))
    return results


def main():
    work = os.environ.get("WORK_DIR") or tempfile.mkdtemp(prefix="charcoal-render-bench-")
    storage = os.path.join(work, "storage")
    whisper_dir = os.path.join(storage, "whisper")
    procs = []
    out = {}
    try:
        t0 = time.time()
        if os.path.isdir(os.path.join(whisper_dir, "lg")):
            # A kept WORK_DIR: the same files again (their points age: renders of them are
            # comparable within the hour they were written).
            print("data: reusing %s" % whisper_dir, file=sys.stderr)
        else:
            make_data(whisper_dir)
            print("data: %d files in %.1f s" % (METRICS + ONE_DIR, time.time() - t0),
                  file=sys.stderr)
        if "charcoal" in SERVERS:
            port = free_port()
            log = open(os.path.join(work, "charcoal.log"), "w")
            p = subprocess.Popen(
                [CHARCOAL, "serve", "--storage-dir", storage, "--http", "127.0.0.1:%d" % port,
                 "--line", "off", "--udp", "off", "--pickle", "off", "--carbonlink", "off"],
                stdout=log, stderr=log)
            procs.append(p)
            wait_http(port)
            out["charcoal"] = measure(port)
        if "graphite-web" in SERVERS:
            port = free_port()
            web = os.path.join(work, "web")
            subprocess.run([sys.executable, KIT, "graphite-web", "start", "--dir", web,
                            "--port", str(port), "--whisper-dir", whisper_dir],
                           check=True, stdout=subprocess.DEVNULL)
            try:
                wait_http(port)
                out["graphite-web"] = measure(port)
            finally:
                subprocess.run([sys.executable, KIT, "graphite-web", "stop", "--dir", web],
                               stdout=subprocess.DEVNULL)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
        if not os.environ.get("WORK_DIR"):
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out, indent=1))
    print()
    both = "charcoal" in out and "graphite-web" in out
    print("| request | " + " | ".join("%s median / p90 (ms)" % s for s in out)
          + (" | ratio of medians |" if both else " |"))
    print("|---|" + "---|" * (len(out) + both))
    names = [n for n, _ in QUERIES] + [n + " (raw)" for n, _ in RAW_QUERIES]
    for name in names:
        cells = ["%.2f / %.2f" % (out[s][name]["median_ms"], out[s][name]["p90_ms"]) for s in out]
        if both:
            cells.append("%.0f" % (out["graphite-web"][name]["median_ms"]
                                   / out["charcoal"][name]["median_ms"]))
        print("| %s | %s |" % (name, " | ".join(cells)))


if __name__ == "__main__":
    main()
