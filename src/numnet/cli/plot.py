"""numnet plot: the tutorials' figures (activations, vanishing gradients, finite differences, perceptron)."""
from __future__ import annotations

from .common import Output, add_data_option, add_json_option, positive_int

FIGURES = ("activations", "vanishing", "differences", "perceptron")


def add_parser(sub):
    p = sub.add_parser("plot", help="the tutorials' figures: activations, vanishing gradients, finite differences, perceptron",
                       description="Draw one of the tutorials' figures as a PNG in DIR and print its numbers. "
                                   "activations: f(z) and f'(z) of sigmoid, tanh, ReLU, step, sign and softmax; "
                                   "vanishing: gradient norm per layer of a deep sigmoid MLP against ReLU, at "
                                   "initialisation and after one epoch; differences: error of forward and central "
                                   "differences against h; perceptron: decision boundaries on a separable set and "
                                   "on XOR. Needs matplotlib: pip install 'numnet[plot]'.")
    p.add_argument("figure", choices=FIGURES)
    p.add_argument("--out", default=".", metavar="DIR", help="folder for the PNG (default: here; created if missing)")
    p.add_argument("--limit", type=positive_int, default=10000, metavar="N",
                   help="vanishing: training images for the epoch (default 10000)")
    add_data_option(p)
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import numnet
    from numnet.files import check_folder
    from numnet.views import figures as seedplots
    from numnet.views.report import pyplot_or_explain

    out = Output(args.json)
    plt = pyplot_or_explain()
    check_folder(args.out, "--out", [seedplots.FILES[args.figure] + ".png"])     # before any work
    data = {}
    if args.figure == "activations":
        path = seedplots.draw_activations(plt, args.out)
        z, table = seedplots.activation_table(__import__("numpy").array([-2.0, 0.0, 2.0]))
        for name, (f, df) in table.items():
            data[name] = {"z": z.tolist(), "f": f.tolist(), "df": df.tolist()}
            out.say(f"{name:>8}: f(-2, 0, 2) = {', '.join(f'{v:.4f}' for v in f)}   "
                    f"f'(-2, 0, 2) = {', '.join(f'{v:.4f}' for v in df)}")
    elif args.figure == "vanishing":
        (x, y), _ = numnet.load_mnist(args.data_dir)
        data = seedplots.measure_vanishing(x, y, train_samples=max(100, args.limit))
        path = seedplots.draw_vanishing(plt, data, args.out)
        for act, n in data["norms"].items():
            for when in ("init", "after_one_epoch"):
                out.say(f"{act:>7} {when:>15}: ‖∂L/∂W‖ per layer " + " ".join(f"{v:.1e}" for v in n[when]))
    elif args.figure == "differences":
        (x, y), _ = numnet.load_mnist(args.data_dir)
        data = seedplots.measure_differences(x[:10], y[:10])
        path = seedplots.draw_differences(plt, data, args.out)
        out.say(f"{'h':>8} {'forward':>10} {'central':>10}   (max |backprop − estimate|, {data['parameters']} parameters)")
        for h, f, c in zip(data["h"], data["max_abs_error"]["forward"], data["max_abs_error"]["central"]):
            out.say(f"{h:8.0e} {f:10.2e} {c:10.2e}")
    else:
        data = seedplots.measure_perceptron()
        path = seedplots.draw_perceptron(plt, data, args.out)
        for name, d in data.items():
            out.say(f"{name:>9}: " + (f"converged after {d['epochs']} epochs (mistakes per epoch {d['mistakes']})"
                                      if d["converged"] else f"not converged after {d['epochs']} epochs, still "
                                      f"{d['mistakes'][-1]} mistakes an epoch, accuracy {d['accuracy']:.2f}"))
    out.say(f"wrote {path}")
    out.emit({"figure": path, "data": data})
    return 0
