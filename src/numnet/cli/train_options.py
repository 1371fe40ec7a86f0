"""What ``numnet train`` refuses before any work: an option that the chosen kind of run would ignore
(one line naming the conflict, exit 2), and a validation split that cannot hold out anything.

A run takes the options of its kind only: ``--model perceptron`` those in :data:`PERCEPTRON_TAKES`,
``--resume`` those in :data:`RESUME_TAKES` (the checkpoint decides every other setting); a preset or
``--arch`` refuses the network options it does not take (``train.recipe.Recipe.from_preset``).
"""
from __future__ import annotations

#: what a perceptron run takes (one neuron, the perceptron rule: no network, optimizer or loss)
PERCEPTRON_TAKES = frozenset({"model", "binary", "activation", "lr", "epochs", "limit", "seed", "data_dir",
                              "min_accuracy", "json", "engine", "save"})
#: what a resumed run takes: how far to go and where to write; the checkpoint decides the rest
RESUME_TAKES = frozenset({"resume", "epochs", "checkpoint", "save", "min_accuracy", "json", "engine"})
#: attributes of the parsed arguments that are not options of a run (--lang: numnet's, for every command)
NOT_OPTIONS = frozenset({"command", "run", "default", "lang"})


def given(args) -> list:
    """The options given with another value than their default, as their flags ('--init-from')."""
    return [f"--{key.replace('_', '-')}" for key, value in vars(args).items()
            if key not in NOT_OPTIONS and value != args.default(key)]


def refuse_others(args, takes, what: str) -> None:
    """ConfigError naming the given options that a run of ``what`` does not take."""
    from numnet.errors import ConfigError

    extra = [flag for flag in given(args) if flag[2:].replace("-", "_") not in takes]
    if extra:
        raise ConfigError(f"{', '.join(extra)} {'does' if len(extra) == 1 else 'do'} not apply to {what}")


def check(args) -> None:
    """Refuse, before any file is read, the options this run would ignore; with --patience, validate
    on a 0.1 split unless --val-split is given; the split must lie strictly between 0 and 1."""
    from numnet.errors import ConfigError

    if args.model == "perceptron":
        refuse_others(args, PERCEPTRON_TAKES, "--model perceptron (one neuron and the perceptron rule)")
    if args.resume is not None:
        refuse_others(args, RESUME_TAKES, "--resume (the checkpoint's settings continue; give --epochs)")
    if args.new_head and args.init_from is None:
        raise ConfigError("--new-head applies to --init-from MODEL only")
    if args.patience is not None and args.val_split is None:
        args.val_split = 0.1
    if args.val_split is not None and not 0 < args.val_split < 1:
        raise ConfigError(f"--val-split must lie strictly between 0 and 1, got {args.val_split}")
