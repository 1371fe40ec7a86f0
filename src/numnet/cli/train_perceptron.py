"""numnet train --model perceptron: one neuron and the perceptron rule (tutorials 4 and 5)."""
from __future__ import annotations


def run_perceptron(args, out, save_path=None) -> int:
    """--model perceptron --binary D: Rosenblatt's rule on 'is it a D?' (step output, labels 0/1);
    ``save_path`` (checked --save): the neuron saved as layers (:func:`as_model`)."""
    import time

    import numnet
    from numnet.errors import NonFiniteError

    from .common import report_divergence

    if args.binary is None:
        raise numnet.ConfigError("--model perceptron needs --binary D (a yes/no task: 'is it the digit D?')")
    if args.activation not in (None, "step", "sign"):
        raise numnet.ConfigError(f"--model perceptron has a step or sign output, not --activation {args.activation}")
    activation = args.activation or "step"
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
    try:
        p.fit(x_train, y_train, epochs=epochs, seed=args.seed, pocket=True, progress=on_epoch)
    except NonFiniteError as e:                     # as the MLP's divergence: exit 1, valid JSON
        return report_divergence(out, str(e), history, time.perf_counter() - start, epochs)
    out.say("converged: an epoch without a mistake" if p.converged else
            "not converged: kept the weights of the epoch with the best training accuracy (pocket)")
    train_seconds = time.perf_counter() - start
    test_accuracy = p.score(x_test, y_test)
    if save_path is not None:
        from numnet.io.serialize import save

        save(as_model(p, args, history, train_seconds), save_path, what="--save", keep=True)
    out.say(f"test accuracy {test_accuracy:.4f} after {train_seconds:.1f} s")
    if save_path is not None:
        out.say(f"saved {args.save}")
    out.emit({"test_accuracy": test_accuracy, "test_loss": None, "train_seconds": train_seconds, "loss": None,
              "epochs": len(history) - 1, "converged": p.converged, "model_path": args.save, "history": history})
    if args.min_accuracy is not None and test_accuracy < args.min_accuracy:
        out.warn(f"test accuracy {test_accuracy:.4f} is below the gate {args.min_accuracy}")
        return 1
    return 0


def as_model(p, args, history, train_seconds):
    """The trained neuron as the one model format: Sequential([Flatten, Dense(784, 1), Step]) with its w, b
    (``Perceptron.layers``), float64 as it was trained. Its loss is the MSE of the 0/1 output against the
    0/1 target, which for a step output is the fraction of mistakes; ``info["binary"]`` keeps the digit D."""
    import numpy as np

    import numnet

    model = numnet.Sequential(p.layers(), loss="mse", dtype=np.float64, seed=None)
    model.input_shape = (28, 28)
    model.history = [{"epoch": row["epoch"],                 # MSE of a 0/1 output = 1 − accuracy; test set: val_
                      "train_loss": 1 - row["train_accuracy"], "train_accuracy": row["train_accuracy"],
                      "val_loss": 1 - row["test_accuracy"], "val_accuracy": row["test_accuracy"]} for row in history]
    model.info.update({"model": "perceptron", "binary": args.binary, "activation": args.activation or "step",
                       "lr": p.lr, "epochs": args.epochs, "converged": p.converged, "seed": args.seed,
                       "data_dir": args.data_dir, "limit": args.limit, "train_seconds": train_seconds})
    return model
