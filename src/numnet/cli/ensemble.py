"""numnet ensemble: several trained models as one, their logits averaged (with --mirror, each also
on its input mirrored left-right; with --shift S, each also on its input moved S pixels four ways);
each member's test accuracy and the ensemble's, and the ensemble saved as one model file that
evaluate, predict, explain, report and serve load like any other."""
from __future__ import annotations

from .common import Output, add_data_option, add_json_option, check_model_data, data_name, load_data


def add_parser(sub):
    p = sub.add_parser("ensemble", help="average several trained models into one (test accuracy of each and of all)",
                       description="Average the logits of two or more trained models (same input, loss and "
                                   "classes; for example one recipe trained with different --seed values), "
                                   "report each member's test accuracy and the ensemble's, and save the "
                                   "ensemble as one model file.")
    p.add_argument("models", metavar="MODEL", nargs="+", help="model files from `numnet train --save model.npz`")
    p.add_argument("--mirror", action="store_true",
                   help="also show each model its input mirrored left-right and average that too (test-time "
                        "augmentation for clothes; not for digits); one model is then enough")
    p.add_argument("--shift", metavar="PX", type=int, default=0,
                   help="also show each model its input moved PX pixels up, down, left and right and average "
                        "those too (test-time augmentation for digits, for a network not trained on moved ones); "
                        "one model is then enough")
    p.add_argument("--save", metavar="PATH", help="save the ensemble to PATH (.npz)")
    add_data_option(p)
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import numnet
    from numnet.files import check_target
    from numnet.io.serialize import save

    out = Output(args.json)
    save_path = check_target(args.save, "--save", inputs=args.models) if args.save is not None else None
    models = [numnet.load(path) for path in args.models]
    model = numnet.ensemble(models, names=args.models, mirror=args.mirror, shift=args.shift)
    (_, _), (x_test, y_test) = load_data(args.data_dir, need_train=False)
    check_model_data(model, x_test, y_test, f"{data_name(args.data_dir)} (test set)")   # its members agree
    members = []
    for path, member in zip(args.models, models):
        loss, acc = member.evaluate(x_test, y_test)
        members.append({"model": path, "test_accuracy": acc, "test_loss": loss})
        out.say(f"{path}: test accuracy {acc:.4f}, loss {loss:.4f}")
    loss, acc = model.evaluate(x_test, y_test)
    for row, member in zip(model.info["ensemble"], members):
        row["test_accuracy"] = member["test_accuracy"]
    what = f"{len(models)} models" if len(models) > 1 else "1 model"
    what += (" and their mirror images" if len(models) > 1 else " and its mirror image") if args.mirror else ""
    what += f", {'each ' if len(models) > 1 else ''}also moved {args.shift} px four ways" if args.shift else ""
    out.say(f"ensemble of {what}: test accuracy {acc:.4f}, loss {loss:.4f}")
    if save_path is not None:
        save(model, save_path, what="--save", keep=True, inputs=args.models)
        out.say(f"saved {args.save}")
    out.emit({"test_accuracy": acc, "test_loss": loss, "members": members, "mirror": args.mirror, "shift": args.shift,
              "model_path": args.save})
    return 0
