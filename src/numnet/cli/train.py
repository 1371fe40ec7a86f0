"""numnet train: train a network on MNIST (bundled) or an MNIST-style folder."""
from __future__ import annotations

from .common import (Output, add_data_option, add_json_option, add_network_options, check_writable,
                     positive_float, positive_int)


def add_parser(sub):
    p = sub.add_parser("train", help="train a network (default: seed 000's 784-25-25-10 on bundled MNIST)",
                       description="Train a network. With no options: seed 000's 784-25-25-10 ReLU network, "
                                   "softmax cross-entropy, Adam lr 1e-3, on the bundled MNIST.")
    add_network_options(p)
    p.add_argument("--init", metavar="NAME",
                   help="weight initialisation: he, lecun, xavier or normal:STD (default: lecun for relu, "
                        "xavier for sigmoid/tanh)")
    p.add_argument("--model", default="mlp", choices=["mlp", "lenet5", "cnn", "cnn-best"],
                   help="preset network and training recipe (default mlp: --hidden/--activation); cnn: a fast "
                        "conv net; cnn-best: batch norm, dropout, augmentation, AdamW, one-cycle")
    p.add_argument("--arch", metavar="SPEC", help='layers as text, e.g. "conv(32,5)-relu-pool(2)-conv(64,5)-relu-pool(2)-'
                                                  'flatten-dense(128)-relu-dropout(0.5)-dense(10)"')
    p.add_argument("--optimizer", choices=["sgd", "momentum", "adam", "adamw"], help="default: the preset's (adam)")
    p.add_argument("--lr", type=positive_float, help="learning rate (default: the preset's; adam 1e-3, momentum 0.01, sgd 0.1)")
    p.add_argument("--weight-decay", type=float, metavar="L", help="L2 weight decay (decoupled for adamw)")
    p.add_argument("--schedule", choices=["none", "step", "cosine", "onecycle"], help="learning-rate schedule")
    p.add_argument("--augment", choices=["none", "shift", "affine", "shift-flip"],
                   help="random shifts; affine: and rotations, scaling; shift-flip: and left-right mirrors")
    p.add_argument("--epochs", type=positive_int, help="passes over the training set (default 5, or the preset's)")
    p.add_argument("--batch-size", type=positive_int, help="mini-batch size (default 100, or the preset's)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights and batch order (default 0)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--limit", type=positive_int, metavar="N", help="train on the first N training samples only")
    p.add_argument("--gradient", default="backprop", choices=["backprop", "numerical"],
                   help="backprop (default) or numerical: central differences, seed 001's way, two forward "
                        "passes per parameter per batch (slow: small networks and --limit only)")
    p.add_argument("--workers", type=positive_int, metavar="N",
                   help="threads sharing each batch (data parallelism; default: one per BLAS thread for "
                        "convolutional networks, 1 for MLPs)")
    p.add_argument("--engine", choices=["numpy", "numba"],
                   help="numba: fused compiled kernels (default when numba imports); numpy: NumPy only "
                        "(default: $NUMNET_ENGINE, else numba)")
    add_data_option(p)
    p.add_argument("--save", metavar="PATH", help="save the trained model to PATH (.npz)")
    p.add_argument("--min-accuracy", type=float, metavar="A",
                   help="accuracy gate: exit status 1 if the final test accuracy is below A (e.g. 0.95)")
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import time
    import warnings

    import numpy as np

    import numnet
    from numnet.architectures import build, mlp, parse_sizes, preset
    from numnet.kernels import engine

    from .progress import EpochBar

    out = Output(args.json)
    with warnings.catch_warnings():                  # the fallback to NumPy is said in one line below
        warnings.simplefilter("ignore", engine.EngineWarning)
        engine.use(args.engine)
    if engine.note:
        out.warn(engine.note)
    if args.save:
        check_writable(args.save)
    spec, recipe = preset(args.model)
    if args.arch and args.model != "mlp":
        raise numnet.ConfigError("give --model or --arch, not both")
    spec = args.arch or spec
    if args.optimizer not in (None, recipe["optimizer"]):
        recipe["lr"] = None                                # another optimizer: its own default rate
    recipe.update({k: v for k in ("optimizer", "lr", "weight_decay", "schedule", "augment", "epochs", "batch_size")
                   if (v := getattr(args, k)) is not None})
    args.optimizer, args.epochs, args.batch_size = recipe["optimizer"], recipe["epochs"], recipe["batch_size"]
    if spec is None:
        layers = mlp(parse_sizes(args.hidden), args.activation, init=args.init)
    else:
        build(spec)                                        # a bad spec fails before the data is read
    (x_train, y_train), (x_test, y_test) = numnet.load_mnist(args.data_dir)
    if spec is not None:
        layers = build(spec, input_shape=x_train.shape[1:], num_classes=int(y_train.max()) + 1)
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    model = numnet.Sequential(layers, dtype=np.dtype(args.dtype), seed=args.seed)
    optimizer = numnet.optim.get(args.optimizer, recipe.get("lr"),
                                 **({"weight_decay": recipe["weight_decay"]} if recipe.get("weight_decay") else {}))
    schedule = numnet.schedules.get(recipe.get("schedule"), optimizer.lr)
    augment = numnet.augment.get(recipe.get("augment"))
    workers = numnet.parallel.check_workers(model, args.workers, args.batch_size, args.gradient)
    sizes = "-".join(str(l.in_features) for l in layers if hasattr(l, "in_features")) + "-10"
    sizes = f"{sizes} {args.activation}" if spec is None else spec
    extras = "".join(f", {k} {recipe[k]}" for k in ("weight_decay", "schedule", "augment") if recipe.get(k))
    out.say(f"training {sizes} with {args.optimizer} (lr {optimizer.lr:g}{extras}), "
            f"batch {args.batch_size}, {args.epochs} epochs, {len(x_train)} samples, {args.dtype}, seed {args.seed}"
            + (f", {workers} worker threads" if workers > 1 else ""))

    if args.gradient == "numerical":
        out.warn(f"--gradient numerical: {2 * model.num_parameters:,} forward passes per batch (two per parameter) "
                 "instead of one backward pass, thousands of times slower than backprop; use a small network "
                 "(--hidden) and --limit")

    def on_epoch(e):
        out.say(f"epoch {e['epoch']:>3}: train loss {e['train_loss']:.4f}  train acc {e['train_accuracy']:.4f}  "
                f"test loss {e['val_loss']:.4f}  test acc {e['val_accuracy']:.4f}  ({e['seconds']:.1f} s)")

    start = time.perf_counter()
    with EpochBar(out.show_progress, args.epochs, on_epoch) as bar:
        model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, optimizer=optimizer,
                  validation_data=(x_test, y_test), seed=args.seed, progress=bar,
                  gradient=args.gradient, schedule=schedule, augment=augment, workers=workers)
    train_seconds = time.perf_counter() - start
    test_loss, test_accuracy = model.evaluate(x_test, y_test)
    model.info.update({"model": args.model, "arch": spec, "recipe": recipe,
                       "hidden": args.hidden, "activation": args.activation, "epochs": args.epochs,
                       "seed": args.seed, "data_dir": args.data_dir, "limit": args.limit,
                       "train_seconds": train_seconds})
    out.say(f"test accuracy {test_accuracy:.4f} (loss {test_loss:.4f}) after {train_seconds:.1f} s")
    if args.save:
        model.save(args.save)
        out.say(f"saved {args.save}")
    out.emit({"test_accuracy": test_accuracy, "test_loss": test_loss, "train_seconds": train_seconds,
              "epochs": args.epochs, "workers": workers, "model_path": args.save,
              "history": [{"epoch": e["epoch"], "train_loss": e["train_loss"], "train_accuracy": e["train_accuracy"],
                           "test_loss": e["val_loss"], "test_accuracy": e["val_accuracy"]} for e in model.history]})
    if args.min_accuracy is not None and test_accuracy < args.min_accuracy:
        out.warn(f"test accuracy {test_accuracy:.4f} is below the gate {args.min_accuracy}")
        return 1
    return 0
