"""`numnet serve` under hostile load: slow sockets, huge uploads, a crowd drawing at once.

Starts ``python -m numnet serve MODEL --port 0`` in a process of its own (so its memory is its own:
peak RSS is read from /proc/PID/status, VmHWM, and sampled as VmRSS every 10 ms), then:

1. ``slowloris``: opens ``--slow`` sockets (1,000) that send half a request and then drip one byte a
   second (one that the server closes at its deadline is opened again, so that many stay open);
   meanwhile 20 normal requests (the page's drawing, one at a time) must all be answered;
2. ``uploads``: 20 concurrent uploads of a 4900×4900 PNG of a digit (about 43 KB compressed, 24
   million pixels once decoded): each must get 200 or a clear 4xx/503, server RSS under 1 GB;
   ``uploads_1500``: the same with a 1500×1500 PNG, which the memory budget admits a few at a time,
   while one client draws (``drawings_during_uploads``: uploads have workers of their own);
3. ``drawings``: 20 concurrent drawings (the page's 84×84 pad as JSON, through MNIST's
   preparation, every layer's activations in the answer), ``--rounds`` times.

Prints p50/p95/max latency (ms), status counts, the server's peak RSS and its CPU time per drawing
(load-independent: one interpreter runs the preparation one request at a time, so 20 drawings at
once take about 20 times that on an idle core); ``--json`` prints one
JSON object instead. Acceptance (issue 26): slowloris p95 ≤ 200 ms with all 20 answered; uploads
under 1 GB; drawings p95 ≤ 150 ms.

    python benchmarks/serve_load.py                   # trains a 784-64-10 model first (~2 s)
    python benchmarks/serve_load.py --model m.npz --slow 1000 --json
"""
from __future__ import annotations

import argparse
import collections
import http.client
import io
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)


class RSSWatch(threading.Thread):
    """Samples a process's VmRSS every 10 ms; ``peak`` in bytes (also VmHWM at the end)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def field(self, name):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
        return 0

    def run(self):
        while not self.stop.wait(0.01):
            try:
                self.peak = max(self.peak, self.field("VmRSS"))
            except OSError:
                return


def cpu_seconds(pid) -> float:
    """User + system CPU seconds the process has used (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request(port, method, path, body=None, content_type="application/json", timeout=60):
    """(seconds, status) of one request on a fresh connection; status 0 if no answer came."""
    start = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request(method, path, body=body, headers={"Content-Type": content_type} if body is not None else {})
        r = conn.getresponse()
        r.read()
        status = r.status
        conn.close()
    except (OSError, http.client.HTTPException):
        status = 0
    return time.perf_counter() - start, status


def at_once(n, fn):
    """Run fn(i) for i < n in n threads released together; the results in order."""
    barrier, results = threading.Barrier(n), [None] * n

    def one(i):
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def summary(results):
    ms = np.array([r[0] for r in results]) * 1000
    return {"requests": len(results), "statuses": dict(collections.Counter(str(r[1]) for r in results)),
            "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "max_ms": round(float(ms.max()), 1)}


class Slowloris(threading.Thread):
    """``n`` sockets sending half a request, then a byte a second each; reopened when closed."""

    HEAD = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"

    def __init__(self, port, n):
        super().__init__(daemon=True)
        self.port, self.n, self.stop = port, n, threading.Event()
        self.open, self.reopened, self.refused = 0, 0, 0
        self.ready = threading.Event()

    def connect(self, sel):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            s.sendall(self.HEAD)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            self.open += 1
        except OSError:
            self.refused += 1

    def run(self):
        sel = selectors.DefaultSelector()
        for _ in range(self.n):
            self.connect(sel)
        self.ready.set()
        next_drip = time.monotonic() + 1
        while not self.stop.is_set():
            for key, _ in sel.select(timeout=0.05):          # the server answered (408/503) or closed
                try:
                    data = key.fileobj.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    self.open -= 1
                    self.reopened += 1
                    self.connect(sel)
            if time.monotonic() >= next_drip:
                next_drip += 1
                for key in list(sel.get_map().values()):
                    try:
                        key.fileobj.send(b"X")
                    except OSError:
                        pass
        for key in list(sel.get_map().values()):
            key.fileobj.close()


def big_png(side=4900):
    """A side×side grey PNG with a thick 7 drawn on it (mostly paper: compresses to ~43 KB)."""
    from PIL import Image, ImageDraw

    im = Image.new("L", (side, side), 255)
    d = ImageDraw.Draw(im)
    k = side / 280
    d.line([(80 * k, 70 * k), (200 * k, 70 * k), (130 * k, 220 * k)], fill=0, width=int(18 * k))
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model file (default: train 784-64-10 on 6,000 digits, 2 epochs)")
    parser.add_argument("--slow", type=int, default=1000, help="slowloris sockets (default 1000)")
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--drawers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of concurrent drawings (default 5)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)

    from tests.serve.servemodel import SEVEN, raster

    import numnet
    from numnet.data.preprocess import resize

    tmp = tempfile.mkdtemp(prefix="numnet-serve-load-")
    path = args.model
    if path is None:
        (x, y), _ = numnet.load_mnist()
        model = numnet.Sequential(numnet.mlp(hidden=(64,)), seed=0)
        model.fit(x[:6000], y[:6000], epochs=2, batch_size=50, optimizer=numnet.Adam(2e-3), seed=0)
        path = model.save(os.path.join(tmp, "m.npz"))
    pad = np.rint(resize(raster(SEVEN) / 255, 84, 84) * 255).astype(np.uint8)     # as the page sends it (app.js SENT)
    drawing = json.dumps({"pixels": pad.tolist()}).encode()
    png = big_png()

    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "src")}
    proc = subprocess.Popen([sys.executable, "-m", "numnet", "serve", str(path), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        port = int(proc.stdout.readline().split()[2].rstrip("/").rsplit(":", 1)[1])
        watch = RSSWatch(proc.pid)
        watch.start()
        for _ in range(5):                                          # warm-up
            request(port, "POST", "/api/predict", drawing)
        out = {"cpus": os.cpu_count(), "load_average": [round(v, 2) for v in os.getloadavg()],
               "drawing_bytes": len(drawing), "png_bytes": len(png),
               "baseline_rss_mb": round(watch.field("VmRSS") / 2**20)}

        alone = [request(port, "POST", "/api/predict", drawing) for _ in range(20)]
        out["drawing_alone"] = summary(alone)

        slow = Slowloris(port, args.slow)
        slow.start()
        slow.ready.wait()
        time.sleep(1.0)
        normal = []
        for _ in range(20):
            normal.append(request(port, "POST", "/api/predict", drawing, timeout=30))
            time.sleep(0.1)
        slow.stop.set()
        slow.join()
        out["slowloris"] = {**summary(normal), "slow_sockets_open": slow.open, "slow_refused": slow.refused,
                            "slow_closed_by_server": slow.reopened}

        time.sleep(0.5)
        out["uploads"] = summary(at_once(args.uploads, lambda i: request(port, "POST", "/api/predict", png, "image/png",
                                                                       timeout=120)))
        out["uploads"]["peak_rss_mb"] = round(watch.peak / 2**20)
        # a size the budget admits a few at a time (about 140 MiB each): 200s, and 503s for the rest
        mid = big_png(1500)
        during = []

        def drawings_meanwhile():
            time.sleep(0.5)
            for _ in range(10):
                during.append(request(port, "POST", "/api/predict", drawing))

        meanwhile = threading.Thread(target=drawings_meanwhile)
        meanwhile.start()
        out["uploads_1500"] = summary(at_once(args.uploads, lambda i: request(port, "POST", "/api/predict", mid,
                                                                            "image/png", timeout=120)))
        meanwhile.join()
        out["drawings_during_uploads"] = summary(during)
        out["uploads_1500"]["peak_rss_mb"] = round(watch.peak / 2**20)

        rounds, cpu = [], cpu_seconds(proc.pid)
        for _ in range(args.rounds):
            rounds += at_once(args.drawers, lambda i: request(port, "POST", "/api/predict", drawing))
        out["drawings"] = summary(rounds)
        # the server's CPU per drawing: on an idle core, 20 drawings at once take about 20 times this
        out["drawings"]["server_cpu_ms_per_request"] = round((cpu_seconds(proc.pid) - cpu) / len(rounds) * 1000, 1)
        watch.stop.set()
        out["peak_rss_mb"] = round(max(watch.peak, watch.field("VmHWM")) / 2**20)
        out["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    finally:
        proc.terminate()
        proc.wait(30)

    if args.json:
        print(json.dumps(out))
        return
    print(f"{out['cpus']} CPUs, load average {out['load_average']} before, {out['load_average_after']} after; "
          f"server baseline RSS {out['baseline_rss_mb']} MB, peak {out['peak_rss_mb']} MB")
    for name in ("drawing_alone", "slowloris", "uploads", "uploads_1500", "drawings_during_uploads", "drawings"):
        r = out[name]
        extra = {k: v for k, v in r.items() if k not in ("requests", "statuses", "p50_ms", "p95_ms", "max_ms")}
        print(f"  {name:14} {r['requests']:4} requests  p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  "
              f"max {r['max_ms']:7.1f} ms  statuses {r['statuses']}  {extra or ''}")


if __name__ == "__main__":
    main()
