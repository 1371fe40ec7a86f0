"""Latency of `numnet serve`'s API under load: N requests from T client threads, p50/p95/max.

Two kinds of request, each its own run:

* ``mnist``: an MNIST test digit as a 28×28 pixel array, ``"preprocess": false``, no activations
  (the smallest request: JSON in and out, one forward pass);
* ``canvas``: what the page sends while you draw: its 280×280 pad reduced to 84×84 (a thick 7), which goes through
  MNIST's preparation (:func:`numnet.data.preprocess.to_mnist`), with every layer's activations in
  the answer; once from T threads, once from one thread (``canvas_alone``: one person drawing).

The server runs in this process (``numnet.serve.make_server`` on a free port of 127.0.0.1, a thread
per connection); the clients are ``urllib`` in a thread pool, one connection per request.

    python benchmarks/serve.py                        # trains `numnet train`'s default network (1 epoch)
    python benchmarks/serve.py --model cnn.npz --requests 500 --threads 8 --json
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def one(url, body):
    import urllib.request

    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        data = r.read()
        status = r.status
    return time.perf_counter() - start, status, json.loads(data)["prediction"]


def run(server, bodies, requests, threads):
    url = server.url + "api/predict"
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(lambda i: one(url, bodies[i % len(bodies)]), range(requests)))
    wall = time.perf_counter() - start
    ms = np.array([r[0] for r in results]) * 1000
    return {"requests": requests, "threads": threads, "answered_200": sum(r[1] == 200 for r in results),
            "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "max_ms": float(ms.max()), "requests_per_s": requests / wall, "wall_s": wall}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model file (default: train the default 784-25-25-10 for one epoch)")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)

    from tests.serve.servemodel import SEVEN, raster

    import numnet
    from numnet.inference.predictor import Predictor
    from numnet.serve import make_server, start_in_thread

    (x, y), (xt, _) = numnet.load_mnist()
    if args.model:
        model = numnet.load(args.model)
    else:
        model = numnet.Sequential(numnet.mlp(), seed=0)
        model.fit(x, y, epochs=1, batch_size=100, optimizer=numnet.Adam(1e-3), seed=0)
    mnist = [json.dumps({"pixels": d.tolist(), "preprocess": False, "activations": False}).encode() for d in xt[:100]]
    from numnet.data.preprocess import resize

    pad = np.rint(resize(raster(SEVEN) / 255, 84, 84) * 255).astype(np.uint8)   # as the page sends it
    canvas = [json.dumps({"pixels": pad.tolist()}).encode()]
    server = make_server(Predictor(model, name=args.model or "default"), "127.0.0.1", 0)
    thread = start_in_thread(server)
    try:
        results = {"model": args.model or "784-25-25-10 (1 epoch)", "cpus": os.cpu_count(),
                   "canvas_request_bytes": len(canvas[0])}
        for name, bodies, requests, threads in (("mnist", mnist, args.requests, args.threads),
                                                ("canvas", canvas, args.requests, args.threads),
                                                ("canvas_alone", canvas, 100, 1)):
            run(server, bodies, min(40, requests), threads)              # warm-up
            results[name] = run(server, bodies, requests, threads)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    if args.json:
        print(json.dumps(results))
    else:
        print(f"model {results['model']}, {os.cpu_count()} CPUs")
        for name in ("mnist", "canvas", "canvas_alone"):
            r = results[name]
            print(f"  {name:12} {r['requests']} requests from {r['threads']} threads: p50 {r['p50_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms   max {r['max_ms']:7.1f} ms   "
                  f"{r['requests_per_s']:6.0f} requests/s   answered {r['answered_200']}/{r['requests']}")


if __name__ == "__main__":
    main()
