"""numnet train: train a network on MNIST (bundled) or an MNIST-style folder."""
from __future__ import annotations

from numnet.files import check_target

from .common import (
    Output,
    add_data_option,
    add_json_option,
    add_network_options,
    data_name,
    fraction,
    init_name,
    layer_sizes,
    load_data,
    non_negative_float,
    open_fraction,
    positive_float,
    positive_int,
    report_divergence,
    seed_int,
)


def add_parser(sub):
    p = sub.add_parser("train", help="train a network (default: tutorial 1's 784-25-25-10 on bundled MNIST)",
                       description="Train a network. With no options: tutorial 1's 784-25-25-10 ReLU network, "
                                   "softmax cross-entropy, Adam lr 1e-3, on the bundled MNIST.")
    add_network_options(p)
    p.set_defaults(hidden=None, activation=None)       # None: not given (the preset's; refused where it does not apply)
    p.add_argument("--init", type=init_name, metavar="NAME",
                   help="weight initialisation: he, lecun, xavier or normal:STD (default: lecun for relu, "
                        "xavier for sigmoid/tanh)")
    p.add_argument("--model", default="mlp", choices=["mlp", "lenet5", "cnn", "cnn-best", "record", "record-fashion",
                                                         "rnn", "lstm", "gru", "vit", "perceptron"],
                   help="preset network and training recipe (default mlp: --hidden/--activation); cnn: a fast "
                        "conv net; cnn-best: batch norm, dropout, augmentation, AdamW, one-cycle; record: two 3x3 "
                        "convolutions per block, batch norm, augmentation, EMA of the weights (about 7 minutes); "
                        "record-fashion: the same network for clothes (mirrors, 32 epochs, about 18 minutes; "
                        "then numnet ensemble MODEL --mirror); "
                        "rnn, lstm, gru: the image's rows as 28 time steps; vit: a small vision Transformer on 7x7 patches; "
                        "perceptron: one neuron trained by the perceptron rule (tutorial 4; needs --binary)")
    p.add_argument("--loss", choices=["cross_entropy", "nll", "mse", "mae", "bce"],
                   help="cross_entropy (softmax on the logits, default), nll (log-softmax then NLL), mse/mae "
                        "(a sigmoid output against one-hot targets; RMSE reported), bce (one sigmoid per output)")
    p.add_argument("--binary", type=int, metavar="D", choices=range(10),
                   help="a yes/no task, 'is it the digit D?': one output (sigmoid, bce by default), labels y == D")
    p.add_argument("--arch", metavar="SPEC", help='layers as text, e.g. "conv(32,5)-relu-pool(2)-conv(64,5)-relu-pool(2)-'
                                                  'flatten-dense(128)-relu-dropout(0.5)-dense(10)"')
    p.add_argument("--optimizer", choices=["sgd", "momentum", "adam", "adamw"], help="default: the preset's (adam)")
    p.add_argument("--lr", type=positive_float, help="learning rate (default: the preset's; adam 1e-3, momentum 0.01, sgd 0.1)")
    p.add_argument("--weight-decay", type=non_negative_float, metavar="L", help="L2 weight decay (decoupled for adamw)")
    p.add_argument("--schedule", choices=["none", "step", "cosine", "onecycle"], help="learning-rate schedule")
    p.add_argument("--augment", choices=["none", "shift", "affine", "shift-flip", "shift-flip-erase", "robust"],
                   help="random shifts; affine: and rotations, scaling; shift-flip: and left-right mirrors; "
                        "shift-flip-erase: and a random rectangle of noise (random erasing); robust: "
                        "affine, then elastic wobble, stroke thickness, blur, faded ink and noise (photos and scans)")
    p.add_argument("--epochs", type=positive_int, help="passes over the training set (default 5, or the preset's)")
    p.add_argument("--batch-size", type=positive_int, help="mini-batch size (default 100, or the preset's)")
    p.add_argument("--iterations", type=positive_int, metavar="N",
                   help="train for N mini-batch steps instead of --epochs (tutorial 2's iters_num)")
    p.add_argument("--sample", default="shuffle", choices=["shuffle", "with-replacement"],
                   help="shuffle: each epoch a permutation (default); with-replacement: each step a fresh random "
                        "batch, as tutorial 2's np.random.choice(train_size, batch_size)")
    p.add_argument("--log-every", type=positive_int, metavar="K",
                   help="print the batch loss every K steps (1: tutorial 2)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed for weights and batch order (default 0)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--limit", type=positive_int, metavar="N", help="train on the first N training samples only")
    p.add_argument("--gradient", default="backprop", choices=["backprop", "numerical"],
                   help="backprop (default) or numerical: central differences, tutorial 2's way, two forward "
                        "passes per parameter per batch (slow: small networks and --limit only)")
    p.add_argument("--workers", type=positive_int, metavar="N",
                   help="threads sharing each batch (data parallelism; default: one per BLAS thread for "
                        "convolutional, recurrent and attention networks, 1 for MLPs)")
    p.add_argument("--clip-norm", type=positive_float, metavar="C",
                   help="clip the gradient to global norm C before each step (default: the preset's)")
    p.add_argument("--ema", type=open_fraction, metavar="DECAY",
                   help="end with the moving average of the weights, θ̄ ← θ̄ + (1 − DECAY)(θ − θ̄) after every step "
                        "(e.g. 0.999; each epoch's figures are the average's; default: the preset's, else none)")
    p.add_argument("--label-smoothing", type=open_fraction, metavar="EPS",
                   help="train on the targets (1 - EPS)·one-hot + EPS/K instead of one-hot (e.g. 0.1; cross-entropy "
                        "only; default: the preset's, else none)")
    p.add_argument("--init-from", metavar="MODEL", help="start from a saved model's weights (layers matched by "
                                                        "position and shape; a head of another shape is new)")
    p.add_argument("--new-head", action="store_true", help="with --init-from: do not copy the last layer's weights")
    p.add_argument("--freeze", type=int, default=0, metavar="K", help="the first K layers with parameters get no updates")
    p.add_argument("--engine", choices=["numpy", "numba"],
                   help="numba: fused compiled kernels (default when numba imports); numpy: NumPy only "
                        "(default: $NUMNET_ENGINE, else numba)")
    add_data_option(p)
    p.add_argument("--val-split", type=float, metavar="F",
                   help="hold out this fraction of the training set (seeded) and validate on it after every "
                        "epoch; the test set is then used once, at the end")
    p.add_argument("--patience", type=positive_int, metavar="N",
                   help="early stopping: stop when the validation loss has not improved for N epochs and keep "
                        "the best epoch's weights (validates on --val-split, 0.1 unless given; never the test set)")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="after every epoch, save the model, the optimizer state and the run's position to PATH")
    p.add_argument("--resume", metavar="PATH",
                   help="continue the run saved in a checkpoint up to --epochs in all (every other setting is "
                        "the checkpoint's); the result is the uninterrupted run's, bit for bit")
    p.add_argument("--save", metavar="PATH", help="save the trained model to PATH (.npz)")
    p.add_argument("--min-accuracy", type=fraction, metavar="A",
                   help="accuracy gate: exit status 1 if the final test accuracy is below A (e.g. 0.95)")
    add_json_option(p)
    p.set_defaults(run=run, default=p.get_default)       # default(key): what 'not given' looks like


def run(args) -> int:
    """parse → Recipe → train → report."""
    import numnet

    from .train_options import check

    check(args)                                            # options this run would ignore: refused first
    out = Output(args.json)
    use_engine(args.engine, out)
    inputs = [args.init_from, args.resume]                 # before any work; a checkpoint is its run's own file
    save_path = check_target(args.save, "--save", inputs=inputs) if args.save is not None else None
    checkpoint = args.checkpoint if args.checkpoint is not None else args.resume
    checkpoint_path = check_target(checkpoint, "--checkpoint", inputs=inputs[:1]) if checkpoint is not None else None
    resumed = load_checkpoint(args)
    if args.model == "perceptron":
        from .train_perceptron import run_perceptron
        return run_perceptron(args, out, save_path)
    recipe = make_recipe(args, resumed)
    train_set, test_set, outputs = training_data(args, recipe, out)
    if resumed is not None:
        model = recipe.restrict(resumed)
    else:
        model = recipe.network(train_set[0].shape[1:], outputs, numnet.Sequential)
    options = recipe.fit_options(model, resumed.optimizer if resumed is not None else None)
    announce(args, recipe, model, options, len(train_set[0]), outputs, out)
    model.info["run"] = {**{key: getattr(args, key) for key in RUN_KEYS}, "spec": recipe.arch,
                         "recipe": recipe.training}
    steps = []                                             # the logged iterations' losses, for --json
    train_seconds = train(args, model, options, train_set, test_set, (checkpoint, checkpoint_path), resumed, out,
                          steps)
    if train_seconds is None:                              # diverged: said, exit 1, nothing saved
        return 1
    return report(args, recipe, model, test_set, save_path, train_seconds, options["workers"], out, steps)


def train(args, model, options, train_set, test_set, checkpoint, resumed, out, steps):
    """``model.fit`` with the recipe's ``options`` and the run's own (validation, progress, early
    stopping, checkpoints, iterations): the seconds it took, or None after a divergence (reported).
    ``steps`` gets {"iteration", "loss"} of each iteration --log-every K prints (numerical training
    without it: every iteration, tutorial 2's log)."""
    import time

    import numnet

    from .progress import EpochBar

    (x_train, y_train), (checkpoint, checkpoint_path) = train_set, checkpoint
    stopper = numnet.EarlyStopping(args.patience) if args.patience else None
    held_out = "val" if args.val_split else "test"        # tutorial 3's habit: the test set each epoch, so labelled

    def on_epoch(e):
        def f(v):
            return "-" if v is None else f"{v:.4f}"
        when = "before training" if e["epoch"] == 0 else f"{e['seconds']:.1f} s"
        out.say(f"epoch {e['epoch']:>3}: train loss {f(e['train_loss'])}  train acc {f(e['train_accuracy'])}  "
                f"{held_out} loss {f(e.get('val_loss'))}  {held_out} acc {f(e.get('val_accuracy'))}  ({when})")

    log_every = args.log_every or (1 if options["gradient"] == "numerical" else None)

    def log(event, **info):
        if event == "batch" and log_every:
            steps.append({"iteration": info["step"], "loss": info["loss"]})
            if args.log_every:
                out.say(f"iteration {info['step']:>5}: loss {info['loss']:.4f}")

    start = time.perf_counter()
    bar_epochs = -(-args.iterations // -(-len(x_train) // args.batch_size)) if args.iterations else args.epochs
    try:
        with EpochBar(out.show_progress and not args.log_every, bar_epochs, on_epoch) as bar:
            model.fit(x_train, y_train, **options, validation_data=None if args.val_split else test_set,
                      validation_split=args.val_split or 0.0, progress=bar,
                      callbacks=[log] + ([stopper] if stopper else []), checkpoint=checkpoint_path,
                      resume=resumed is not None, iterations=args.iterations, sample=args.sample,
                      log_every=log_every)
    except numnet.Diverged as e:                           # exit 1, valid JSON, and nothing saved
        report_divergence(out, str(e), history_rows(model), time.perf_counter() - start, args.epochs)
        return None
    except KeyboardInterrupt:
        state = model.training_state
        if checkpoint_path is not None and state is not None:
            out.warn(f"interrupted after epoch {state['epoch']} of {args.epochs}; resume with: "
                     f"numnet train --resume {checkpoint} --epochs {args.epochs}")
        raise
    train_seconds = time.perf_counter() - start
    if stopper is not None and stopper.stopped_epoch is not None:
        out.say(f"early stop after epoch {stopper.stopped_epoch}: best val loss {stopper.best:.4f} at epoch "
                f"{stopper.best_epoch} (its weights kept)")
    return train_seconds


def use_engine(name, out):
    """Select the kernels' engine; the fallback to NumPy is said in one line."""
    import warnings

    from numnet.kernels import engine

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engine.EngineWarning)
        engine.use(name)
    if engine.note:
        out.warn(engine.note)


def load_checkpoint(args):
    """With --resume: the checkpoint's model, its run's settings copied onto ``args`` (its --epochs
    unless given); else None."""
    import numnet

    if args.resume is None:
        return None
    resumed = numnet.load(args.resume)
    run_info = resumed.info.get("run")
    if resumed.training_state is None or not isinstance(run_info, dict) or set(RUN_KEYS) - set(run_info):
        raise numnet.ConfigError(f"--resume {args.resume}: not a checkpoint (make one with --checkpoint)")
    total = args.epochs or run_info["epochs"]
    for key in RUN_KEYS:
        setattr(args, key, run_info[key])
    args.epochs, args.arch, args.model = total, run_info["spec"], "mlp"
    return resumed


def make_recipe(args, resumed):
    """The run's :class:`~numnet.train.recipe.Recipe`: the preset (or --arch) and the options given,
    or a resumed run's own. The settings it fixes are written back to ``args`` (recorded in checkpoints)."""
    import numnet
    from numnet.train.recipe import TRAINING_KEYS, Recipe

    loss = args.loss or ("bce" if args.binary is not None else "cross_entropy")       # args.loss: as given
    if args.binary is not None and loss in ("cross_entropy", "nll"):
        raise numnet.ConfigError(f"--binary has one output: use --loss bce, mse or mae, not {loss}")
    network = {"hidden": args.hidden, "activation": args.activation, "init": args.init}
    training = {key: getattr(args, key) for key in TRAINING_KEYS}
    transfer = {"init_from": args.init_from, "new_head": args.new_head, "freeze": args.freeze}
    if resumed is not None:                                # the checkpoint's recipe, up to --epochs in all
        network = network if args.arch is None else {"init": args.init}
        training = {**resumed.info["run"]["recipe"], "epochs": args.epochs}
        transfer = {"freeze": args.freeze}
    recipe = Recipe.from_preset(args.model, arch=args.arch, **network, **training, **transfer, loss=loss,
                                gradient=args.gradient, workers=args.workers, seed=args.seed, dtype=args.dtype)
    args.hidden, args.activation = ",".join(map(str, recipe.hidden)), recipe.activation
    args.optimizer, args.epochs, args.batch_size = recipe.optimizer, recipe.epochs, recipe.batch_size
    return recipe


def training_data(args, recipe, out):
    """((x_train, y_train), (x_test, y_test), outputs): the data set (a bad spec refused first), its
    labels checked, 'is it a D?' labels with --binary, the training set cut to --limit."""
    import numnet
    from numnet.data.datasets import binary_labels

    if args.data_dir is None:
        recipe.check()                                     # a bad spec fails before the data is read
    (x_train, y_train), (x_test, y_test) = load_data(args.data_dir)
    classes = check_classes(y_train, y_test, args.data_dir, out)
    if args.binary is not None:                            # "is it a D?": labels 1 and 0
        y_train, y_test = binary_labels(y_train, args.binary), binary_labels(y_test, args.binary)
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    if len(x_train) < 2:
        raise numnet.ConfigError(f"training needs at least 2 samples (the input standardisation measures their "
                                 f"spread), got {len(x_train)}")
    return (x_train, y_train), (x_test, y_test), 1 if args.binary is not None else classes


def announce(args, recipe, model, options, samples, outputs, out):
    """The 'training ...' line and the warnings about a run that will not learn well."""
    from numnet.architectures import ZERO_GRADIENT

    spec = recipe.arch
    sizes = layer_sizes(model.layers, outputs)
    sizes = (f"{sizes} {recipe.activation}" if spec is None else spec) + (f", loss {recipe.loss}" if args.loss else "")
    sizes += f", 'is it a {args.binary}?'" if args.binary is not None else ""
    length = f"{args.iterations} iterations" if args.iterations else f"{recipe.epochs} epochs"
    length += ", batches drawn with replacement" if args.sample == "with-replacement" else ""
    extras = "".join(f", {k} {v}" for k in ("weight_decay", "schedule", "augment", "ema", "label_smoothing")
                     if (v := getattr(recipe, k)))
    workers = options["workers"]
    out.say(f"training {sizes} with {recipe.optimizer} (lr {options['optimizer'].lr:g}{extras}), "
            f"batch {recipe.batch_size}, {length}, {samples} samples, {recipe.dtype}, seed {recipe.seed}"
            + (f", {workers} worker threads" if workers > 1 else ""))
    if recipe.gradient == "numerical":
        out.warn(f"--gradient numerical: {2 * model.num_parameters:,} forward passes per batch (two per parameter) "
                 "instead of one backward pass, thousands of times slower than backprop; use a small network "
                 "(--hidden) and --limit")
    if recipe.activation in ZERO_GRADIENT and spec is None or spec and any(t in spec for t in ZERO_GRADIENT):
        out.warn("step and sign have a zero derivative almost everywhere: backprop gets no gradient through "
                 "them, so the layers below do not learn (use --model perceptron for the perceptron rule)")


def report(args, recipe, model, test, save_path, train_seconds, workers, out, steps=()) -> int:
    """Measure on the test set, save, print and emit the JSON; exit 1 below --min-accuracy."""
    import numpy as np

    from numnet.io.serialize import save

    x_test, y_test = test
    last = model.history[-1] if model.history else {}
    if not args.val_split and not args.patience and last.get("val_loss") is not None:
        test_loss, test_accuracy = last["val_loss"], last["val_accuracy"]   # the last epoch measured these weights
    else:
        test_loss, test_accuracy = model.evaluate(x_test, y_test)
    model.info.update({"model": args.model, "arch": recipe.arch, "recipe": recipe.training,
                       "hidden": args.hidden, "activation": args.activation, "epochs": args.epochs,
                       "loss": recipe.loss, "binary": args.binary, "iterations": args.iterations, "sample": args.sample,
                       "seed": args.seed, "data_dir": args.data_dir, "limit": args.limit,
                       "train_seconds": train_seconds})
    test_rmse = None
    if recipe.loss in ("mse", "mae"):                      # RMSE of the outputs against the 0/1 targets
        from numnet.losses import _target_like, rmse
        outs = np.concatenate([model.forward(model.prepare(x_test[i:i + 2000])) for i in range(0, len(x_test), 2000)])
        test_rmse = rmse(outs, _target_like(y_test, outs))
    if save_path is not None:
        save(model, save_path, what="--save", keep=True)   # before anything more is printed; a failure keeps it elsewhere
    out.say(f"test accuracy {test_accuracy:.4f} (loss {test_loss:.4f}" + (f", RMSE {test_rmse:.4f}" if test_rmse else "")
            + f") after {train_seconds:.1f} s")
    if save_path is not None:
        out.say(f"saved {args.save}")
    out.emit({"test_accuracy": test_accuracy, "test_loss": test_loss, "train_seconds": train_seconds,
              "loss": recipe.loss, **({"test_rmse": test_rmse} if test_rmse is not None else {}),
              "iterations": args.iterations,
              "epochs": model.history[-1]["epoch"] if args.iterations else args.epochs, "workers": workers,
              "model_path": args.save, "history": history_rows(model),
              **({"iteration_losses": list(steps)} if steps else {})})
    if args.min_accuracy is not None and test_accuracy < args.min_accuracy:
        out.warn(f"test accuracy {test_accuracy:.4f} is below the gate {args.min_accuracy}")
        return 1
    return 0


#: the settings of a run, recorded in its checkpoints so that --resume continues the same run
RUN_KEYS = ("hidden", "activation", "init", "optimizer", "epochs", "batch_size", "seed", "dtype", "limit",
            "gradient", "workers", "data_dir", "val_split", "patience", "loss", "binary", "iterations", "sample",
            "log_every", "freeze")


def history_rows(model) -> list:
    """The --json history: per epoch, train_* and test_* (the held-out set each epoch: the test set,
    as tutorial 3 does), or val_* with --val-split; train_seconds (the training steps) and
    eval_seconds (the evaluations after them) apart."""
    rows = []
    for e in model.history:
        row = {"epoch": e["epoch"], "train_loss": e["train_loss"], "train_accuracy": e["train_accuracy"]}
        held = "val" if model.info.get("run", {}).get("val_split") else "test"
        row[f"{held}_loss"], row[f"{held}_accuracy"] = e.get("val_loss"), e.get("val_accuracy")
        row["train_seconds"], row["eval_seconds"] = e.get("seconds"), e.get("eval_seconds", 0.0)
        rows.append(row)
    return rows


def check_classes(y_train, y_test, data_dir, out) -> int:
    """The class count K of the training labels (largest + 1); every label must lie in 0..K−1.
    Refused before training: negative or non-integer labels, test labels beyond the training
    ones, a single class. A class with no training sample gets a warning."""
    import numpy as np

    from numnet.data.datasets import check_labels, num_classes
    from numnet.errors import DatasetError

    where = data_name(data_dir)
    check_labels(y_train, np.iinfo(np.int32).max, f"{where} (training labels)")
    classes = num_classes(y_train)
    if classes < 2:
        raise DatasetError(f"{where}: the training labels hold a single class, nothing to classify")
    check_labels(y_test, classes, f"{where} (test labels; the {classes} classes come from the training labels)")
    missing = np.flatnonzero(np.bincount(np.asarray(y_train, dtype=np.int64), minlength=classes) == 0)
    if len(missing):
        out.warn(f"{where}: no training sample of class {', '.join(map(str, missing[:10]))}"
                 f"{' ...' if len(missing) > 10 else ''} (of {classes} classes 0..{classes - 1})")
    return classes
