"""numnet gradcheck: compare backpropagation with numerical gradients on real MNIST samples."""
from __future__ import annotations

from .common import (
    Output,
    add_data_option,
    add_json_option,
    add_network_options,
    data_name,
    layer_sizes,
    load_data,
    positive_float,
    positive_int,
    seed_int,
)

ADAPT_SAMPLES = 10000   # Standardize's μ and σ from the first 10,000 training images (train uses all)


def add_parser(sub):
    p = sub.add_parser("gradcheck", help="check backprop's gradients against numerical differentiation",
                       description="Build the network of `numnet train` (same --hidden/--activation) in float64, "
                                   "compute every parameter gradient on a few real MNIST training samples by "
                                   "backpropagation and by central differences (L(θ+h) − L(θ−h)) / 2h, and "
                                   "compare. Exit status 1 if any parameter fails.")
    add_network_options(p)
    p.add_argument("--init", metavar="NAME", help="weight initialisation, as in numnet train")
    p.add_argument("--loss", default="cross_entropy", choices=["cross_entropy", "nll", "mse", "mae", "bce"],
                   help="loss on top of the network, with numnet train's output for it (mse, mae: a sigmoid "
                        "output; default cross_entropy)")
    p.add_argument("--method", default="central", choices=["central", "forward"],
                   help="central: (L(θ+h) − L(θ−h)) / 2h, error O(h²) (default); forward: (L(θ+h) − L(θ)) / h, "
                        "tutorial 2's other formula, error O(h)")
    p.add_argument("--batch", type=positive_int, default=10, metavar="N",
                   help="MNIST training samples in the batch (default 10)")
    p.add_argument("--entries", type=positive_int, metavar="K",
                   help="check K random entries per parameter instead of all (for big networks)")
    p.add_argument("--tolerance", type=positive_float, default=None, metavar="T",
                   help="largest max relative error that passes (default 1e-6)")
    p.add_argument("--h", "--step", dest="step", type=positive_float, default=None, metavar="H",
                   help="finite-difference step h (default 1e-5)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed for the weights, the samples and the entries (default 0)")
    add_data_option(p)
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import math
    import time

    import numpy as np

    import numnet
    from numnet.architectures import mlp, parse_sizes
    from numnet.data.datasets import check_labels, num_classes
    from numnet.views import gradcheck

    out = Output(args.json)
    tolerance = args.tolerance if args.tolerance is not None else gradcheck.CHECK_TOLERANCE
    h = args.step if args.step is not None else gradcheck.CHECK_H
    hidden = parse_sizes(args.hidden)
    (x_train, y_train), _ = load_data(args.data_dir)
    check_labels(y_train, np.iinfo(np.int32).max, f"{data_name(args.data_dir)} (training labels)")
    classes = max(2, num_classes(y_train))
    layers = mlp(hidden, args.activation, in_features=math.prod(x_train.shape[1:]), num_classes=classes,
                 init=args.init)
    if args.loss in ("mse", "mae"):
        layers.append(numnet.Sigmoid())
    if args.batch > len(x_train):
        raise numnet.ConfigError(f"--batch {args.batch}: only {len(x_train)} training samples")
    model = numnet.Sequential(layers, loss=args.loss, dtype=np.float64, seed=args.seed)
    model.adapt(x_train[:ADAPT_SAMPLES])
    rng = np.random.default_rng(args.seed)
    idx = np.sort(rng.choice(len(x_train), size=args.batch, replace=False))
    sizes = layer_sizes(layers, classes)
    out.say(f"gradcheck {sizes} {args.activation}, loss {args.loss}, float64, {args.batch} MNIST training "
            f"samples, {model.num_parameters} parameters, {args.method} differences, h={h:g}")
    start = time.perf_counter()
    report = gradcheck.check_gradients(model, x_train[idx], y_train[idx], h=h, tolerance=tolerance,
                                       entries=args.entries, seed=args.seed, method=args.method)
    seconds = time.perf_counter() - start

    from rich.table import Table

    table = Table(title=None, show_edge=False)
    for col, justify in (("parameter", "left"), ("shape", "left"), ("entries", "right"),
                         ("max abs error", "right"), ("max rel error", "right"), ("result", "left")):
        table.add_column(col, justify=justify)
    for p in report.parameters:
        size = int(np.prod(p.shape))
        checked = f"{p.checked}" if p.checked == size else f"{p.checked} of {size}"
        table.add_row(p.name, "×".join(map(str, p.shape)), checked, f"{p.max_abs_error:.2e}",
                      f"{p.max_rel_error:.2e}", "[green]PASS[/]" if p.passed else "[bold red]FAIL[/]")
    console = out.console()
    console.print(table)
    subset = (f"; {args.entries} random entries per parameter (seed {args.seed})"
              if any(p.checked < int(np.prod(p.shape)) for p in report.parameters) else "")
    out.say(f"rel error = |a − n| / max(|a|, |n|, {report.tiny:g}): a by backprop, n by {args.method} differences"
            f"{subset}; {seconds:.1f} s")
    failed = [p.name for p in report.parameters if not p.passed]
    if failed:
        out.say(f"FAIL: {', '.join(failed)} above tolerance {tolerance:g}")
    else:
        out.say(f"PASS: all {len(report.parameters)} parameters within tolerance {tolerance:g}")
    out.emit({"passed": report.passed, "tolerance": tolerance, "method": args.method, "h": h,
              "parameters": [{"name": p.name, "shape": list(p.shape), "max_abs_error": p.max_abs_error,
                              "max_rel_error": p.max_rel_error, "passed": p.passed}
                             for p in report.parameters]})
    return 0 if report.passed else 1
