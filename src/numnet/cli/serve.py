"""numnet serve: a local web page to draw a digit and watch the network, plus its HTTP API."""
from __future__ import annotations

from .common import Output

#: `numnet serve` without a model trains `numnet train`'s default network first
DEFAULT_EPOCHS = 5


def port_number(text):
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0..65535, got {text!r}")
    return value


def add_parser(sub):
    p = sub.add_parser("serve", help="a local web page: draw a digit, see the prediction and every layer",
                       description="Serve a page where you draw a digit (or upload a photo) and see the prediction, "
                                   "the ten probabilities, the 28×28 input and each layer's activations; "
                                   "and its HTTP API (POST /api/predict, GET /api/model, GET /api/strings). The page speaks English "
                                   "or Chinese (a switch on it; default: --lang, else the browser's language). Without MODEL it first "
                                   "trains `numnet train`'s default network (784-25-25-10, about 10 s). "
                                   "Ctrl-C stops it.")
    p.add_argument("model", metavar="MODEL", nargs="?", help="model file from `numnet train --save model.npz`")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    p.add_argument("--port", type=port_number, default=8000, help="port (default 8000; 0: any free port)")
    p.add_argument("--log", action="store_true", help="print one line per request on stderr")
    p.set_defaults(run=run)


def _train_default(out: Output):
    """`numnet train` with no options, in memory: tutorial 1's 784-25-25-10 ReLU network."""
    import numnet
    from numnet.architectures import mlp

    from .progress import EpochBar

    (x, y), (xt, yt) = numnet.load_mnist()
    model = numnet.Sequential(mlp(), seed=0)
    out.say(f"no model given: training the default network (784-25-25-10, Adam 1e-3, {DEFAULT_EPOCHS} epochs); "
             "`numnet train --model cnn --save cnn.npz` then `numnet serve cnn.npz` reads drawings better")

    def on_epoch(e):
        out.say(f"epoch {e['epoch']}: test accuracy {e['val_accuracy']:.4f} ({e['seconds']:.1f} s)")

    with EpochBar(out.show_progress, DEFAULT_EPOCHS, on_epoch) as bar:
        model.fit(x, y, epochs=DEFAULT_EPOCHS, batch_size=100, optimizer=numnet.Adam(1e-3),
                  validation_data=(xt, yt), seed=0, progress=bar)
    model.info.update({"model": "mlp", "hidden": "25,25", "activation": "relu", "epochs": DEFAULT_EPOCHS, "seed": 0})
    return model


def run(args) -> int:
    """Train or load, serve until Ctrl-C (at any point: exit status 0)."""
    import sys

    out = Output(False)
    out.human = sys.stderr                       # stdout holds only the URL line
    try:
        _serve(args, out)
    except KeyboardInterrupt:
        out.say("stopped")
    return 0


def _serve(args, out: Output):
    import os
    import sys

    import numnet
    from numnet.inference.predictor import Predictor
    from numnet.serve.server import make_server

    if args.model:
        model, name = numnet.load(args.model), args.model
    else:
        model, name = _train_default(out), "default network (trained at start)"
    predictor = Predictor(model, name=name)

    def on_event(kind, text):
        if kind == "error" or args.log:
            print(f"{kind}: {text}", file=sys.stderr, flush=True)

    # the page's default language: --lang or NUMNET_LANG if given, else the browser's
    language = getattr(args, "lang", None) or os.environ.get("NUMNET_LANG") or None
    server = make_server(predictor, args.host, args.port, on_event=on_event, language=language)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        out.warn(f"listening on {args.host}: anyone who can reach this machine can use the page")
    print(f"numnet serve: {server.url}  (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
