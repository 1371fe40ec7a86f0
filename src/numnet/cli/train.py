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
    p.add_argument("--model", default="mlp", choices=["mlp", "lenet5", "cnn", "cnn-best", "perceptron"],
                   help="preset network and training recipe (default mlp: --hidden/--activation); cnn: a fast "
                        "conv net; cnn-best: batch norm, dropout, augmentation, AdamW, one-cycle; perceptron: "
                        "one neuron trained by the perceptron rule (seed 003; needs --binary)")
    p.add_argument("--loss", choices=["cross_entropy", "nll", "mse", "mae", "bce"],
                   help="cross_entropy (softmax on the logits, default), nll (log-softmax then NLL), mse/mae "
                        "(a sigmoid output against one-hot targets; RMSE reported), bce (one sigmoid per output)")
    p.add_argument("--binary", type=int, metavar="D", choices=range(10),
                   help="a yes/no task, 'is it the digit D?': one output (sigmoid, bce by default), labels y == D")
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
    p.add_argument("--iterations", type=positive_int, metavar="N",
                   help="train for N mini-batch steps instead of --epochs (seed 001's iters_num)")
    p.add_argument("--sample", default="shuffle", choices=["shuffle", "with-replacement"],
                   help="shuffle: each epoch a permutation (default); with-replacement: each step a fresh random "
                        "batch, as seed 001's np.random.choice(train_size, batch_size)")
    p.add_argument("--log-every", type=positive_int, metavar="K", help="print the batch loss every K steps (1: seed 001)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights and batch order (default 0)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--limit", type=positive_int, metavar="N", help="train on the first N training samples only")
    p.add_argument("--gradient", default="backprop", choices=["backprop", "numerical"],
                   help="backprop (default) or numerical: central differences, seed 001's way, two forward "
                        "passes per parameter per batch (slow: small networks and --limit only)")
    p.add_argument("--workers", type=positive_int, metavar="N",
                   help="threads sharing each batch (data parallelism; default: one per BLAS thread for "
                        "convolutional networks, 1 for MLPs)")
    add_data_option(p)
    p.add_argument("--save", metavar="PATH", help="save the trained model to PATH (.npz)")
    p.add_argument("--min-accuracy", type=float, metavar="A",
                   help="accuracy gate: exit status 1 if the final test accuracy is below A (e.g. 0.95)")
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import time

    import numpy as np

    import numnet
    from numnet.architectures import ZERO_GRADIENT, build, mlp, parse_sizes, preset

    from .progress import EpochBar

    out = Output(args.json)
    if args.save:
        check_writable(args.save)
    if args.model == "perceptron":
        return run_perceptron(args, out)
    loss = args.loss or ("bce" if args.binary is not None else "cross_entropy")
    if args.binary is not None and loss in ("cross_entropy", "nll"):
        raise numnet.ConfigError(f"--binary has one output: use --loss bce, mse or mae, not {loss}")
    outputs = 1 if args.binary is not None else 10
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
        layers = mlp(parse_sizes(args.hidden), args.activation, init=args.init, num_classes=outputs)
    else:
        build(spec, num_classes=outputs)                   # a bad spec fails before the data is read
    (x_train, y_train), (x_test, y_test) = numnet.load_mnist(args.data_dir)
    if spec is not None:
        layers = build(spec, input_shape=x_train.shape[1:], init=args.init,
                       num_classes=1 if args.binary is not None else int(y_train.max()) + 1)
    if args.binary is not None:
        y_train, y_test = (y_train == args.binary).astype(np.int64), (y_test == args.binary).astype(np.int64)
    if loss in ("mse", "mae"):
        layers.append(numnet.Sigmoid())                    # outputs in (0, 1) against 0/1 targets
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    model = numnet.Sequential(layers, loss=loss, dtype=np.dtype(args.dtype), seed=args.seed)
    optimizer = numnet.optim.get(args.optimizer, recipe.get("lr"),
                                 **({"weight_decay": recipe["weight_decay"]} if recipe.get("weight_decay") else {}))
    schedule = numnet.schedules.get(recipe.get("schedule"), optimizer.lr)
    augment = numnet.augment.get(recipe.get("augment"))
    workers = numnet.parallel.check_workers(model, args.workers, args.batch_size, args.gradient)
    sizes = "-".join(str(l.in_features) for l in layers if hasattr(l, "in_features")) + f"-{outputs}"
    sizes = (f"{sizes} {args.activation}" if spec is None else spec) + (f", loss {loss}" if args.loss else "")
    sizes += f", 'is it a {args.binary}?'" if args.binary is not None else ""
    length = f"{args.iterations} iterations" if args.iterations else f"{args.epochs} epochs"
    length += ", batches drawn with replacement" if args.sample == "with-replacement" else ""
    extras = "".join(f", {k} {recipe[k]}" for k in ("weight_decay", "schedule", "augment") if recipe.get(k))
    out.say(f"training {sizes} with {args.optimizer} (lr {optimizer.lr:g}{extras}), "
            f"batch {args.batch_size}, {length}, {len(x_train)} samples, {args.dtype}, seed {args.seed}"
            + (f", {workers} worker threads" if workers > 1 else ""))

    if args.gradient == "numerical":
        out.warn(f"--gradient numerical: {2 * model.num_parameters:,} forward passes per batch (two per parameter) "
                 "instead of one backward pass, thousands of times slower than backprop; use a small network "
                 "(--hidden) and --limit")

    if args.activation in ZERO_GRADIENT and spec is None or spec and any(t in spec for t in ZERO_GRADIENT):
        out.warn("step and sign have a zero derivative almost everywhere: backprop gets no gradient through "
                 "them, so the layers below do not learn (use --model perceptron for the perceptron rule)")

    def on_epoch(e):
        if e["epoch"] == 0:
            out.say(f"epoch   0: train loss {e['train_loss']:.4f}  train acc {e['train_accuracy']:.4f}  "
                    f"test loss {e['val_loss']:.4f}  test acc {e['val_accuracy']:.4f}  (before training)")
            return
        out.say(f"epoch {e['epoch']:>3}: train loss {e['train_loss']:.4f}  train acc {e['train_accuracy']:.4f}  "
                f"test loss {e['val_loss']:.4f}  test acc {e['val_accuracy']:.4f}  ({e['seconds']:.1f} s)")

    start = time.perf_counter()
    def log(event, **info):
        if event == "batch" and args.log_every:
            out.say(f"iteration {info['step']:>5}: loss {info['loss']:.4f}")

    bar_epochs = -(-args.iterations // -(-len(x_train) // args.batch_size)) if args.iterations else args.epochs
    with EpochBar(out.show_progress and not args.log_every, bar_epochs, on_epoch) as bar:
        model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, optimizer=optimizer,
                  validation_data=(x_test, y_test), seed=args.seed, progress=bar, callbacks=[log],
                  gradient=args.gradient, schedule=schedule, augment=augment, workers=workers,
                  iterations=args.iterations, sample=args.sample, log_every=args.log_every)
    train_seconds = time.perf_counter() - start
    test_loss, test_accuracy = model.evaluate(x_test, y_test)
    model.info.update({"model": args.model, "arch": spec, "recipe": recipe,
                       "hidden": args.hidden, "activation": args.activation, "epochs": args.epochs,
                       "loss": loss, "binary": args.binary, "iterations": args.iterations, "sample": args.sample,
                       "seed": args.seed, "data_dir": args.data_dir, "limit": args.limit,
                       "train_seconds": train_seconds})
    test_rmse = None
    if loss in ("mse", "mae"):                             # RMSE of the outputs against the 0/1 targets
        from numnet.losses import _target_like, rmse
        outs = np.concatenate([model.forward(model.prepare(x_test[i:i + 2000])) for i in range(0, len(x_test), 2000)])
        test_rmse = rmse(outs, _target_like(y_test, outs))
    out.say(f"test accuracy {test_accuracy:.4f} (loss {test_loss:.4f}" + (f", RMSE {test_rmse:.4f}" if test_rmse else "")
            + f") after {train_seconds:.1f} s")
    if args.save:
        model.save(args.save)
        out.say(f"saved {args.save}")
    out.emit({"test_accuracy": test_accuracy, "test_loss": test_loss, "train_seconds": train_seconds, "loss": loss,
              **({"test_rmse": test_rmse} if test_rmse is not None else {}), "iterations": args.iterations,
              "epochs": model.history[-1]["epoch"] if args.iterations else args.epochs, "workers": workers, "model_path": args.save,
              "history": [{"epoch": e["epoch"], "train_loss": e["train_loss"], "train_accuracy": e["train_accuracy"],
                           "test_loss": e["val_loss"], "test_accuracy": e["val_accuracy"]} for e in model.history]})
    if args.min_accuracy is not None and test_accuracy < args.min_accuracy:
        out.warn(f"test accuracy {test_accuracy:.4f} is below the gate {args.min_accuracy}")
        return 1
    return 0


def run_perceptron(args, out) -> int:
    """--model perceptron --binary D: Rosenblatt's rule on 'is it a D?' (step output, labels 0/1)."""
    import time

    import numnet

    if args.binary is None:
        raise numnet.ConfigError("--model perceptron needs --binary D (a yes/no task: 'is it the digit D?')")
    if args.save or args.arch or args.loss or args.iterations:
        raise numnet.ConfigError("--model perceptron takes none of --save, --arch, --loss, --iterations")
    activation = args.activation if args.activation in ("step", "sign") else "step"
    (x_train, y_train), (x_test, y_test) = numnet.load_mnist(args.data_dir)
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    low = 0 if activation == "step" else -1
    y_train, y_test = [(y == args.binary) * (1 - low) + low for y in (y_train, y_test)]
    epochs, lr = args.epochs or 10, args.lr or 1.0
    p = numnet.Perceptron(x_train[0].size, lr=lr, activation=activation)
    out.say(f"training a perceptron ({activation} output, lr {lr:g}) on 'is it a {args.binary}?', {epochs} epochs, "
            f"{len(x_train)} samples, seed {args.seed}")
    history = [{"epoch": 0, "train_loss": None, "train_accuracy": p.score(x_train, y_train), "test_loss": None,
                "test_accuracy": p.score(x_test, y_test)}]
    out.say(f"epoch   0: train acc {history[0]['train_accuracy']:.4f}  test acc {history[0]['test_accuracy']:.4f}"
            "  (before training: w = 0, b = 0)")
    def on_epoch(e):
        history.append({"epoch": e["epoch"], "train_loss": None, "train_accuracy": e["train_accuracy"],
                        "test_loss": None, "test_accuracy": p.score(x_test, y_test)})
        out.say(f"epoch {e['epoch']:>3}: {e['mistakes']} mistakes (updates)  train acc {e['train_accuracy']:.4f}"
                f"  test acc {history[-1]['test_accuracy']:.4f}")

    start = time.perf_counter()
    p.fit(x_train, y_train, epochs=epochs, seed=args.seed, pocket=True, progress=on_epoch)
    out.say("converged: an epoch without a mistake" if p.converged else
            "not converged: kept the weights of the epoch with the best training accuracy (pocket)")
    train_seconds = time.perf_counter() - start
    test_accuracy = p.score(x_test, y_test)
    out.say(f"test accuracy {test_accuracy:.4f} after {train_seconds:.1f} s")
    out.emit({"test_accuracy": test_accuracy, "test_loss": None, "train_seconds": train_seconds, "loss": None,
              "epochs": len(history) - 1, "converged": p.converged, "model_path": None, "history": history})
    if args.min_accuracy is not None and test_accuracy < args.min_accuracy:
        out.warn(f"test accuracy {test_accuracy:.4f} is below the gate {args.min_accuracy}")
        return 1
    return 0
