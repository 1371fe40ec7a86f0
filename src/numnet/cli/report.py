"""numnet report: PNG figures and an index.html that shows them with captions."""
from __future__ import annotations

from .common import Output, add_data_option, add_json_option, check_model_data, data_name, load_data


def add_parser(sub):
    p = sub.add_parser("report", help="figures and an index.html: learning curves, confusion matrix, digits, weights",
                       description="Write an evaluation report into DIR: learning curves, a confusion-matrix "
                                   "heatmap, test digits titled with their predictions, the most confident "
                                   "mistakes and the first layer's weights as 28×28 images (PNG), and an "
                                   "index.html showing them. Needs matplotlib: pip install 'numnet[plot]'.")
    p.add_argument("model", metavar="MODEL", help="model file from `numnet train --save model.npz`")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the figures and index.html")
    add_data_option(p)
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import os

    import numnet
    from numnet.files import check_folder
    from numnet.views.evaluation import labels_for
    from numnet.views.report import FILES, make_report, pyplot_or_explain

    out = Output(args.json)
    pyplot_or_explain()                                  # say how to install matplotlib before any work
    check_folder(args.out, "--out", FILES, inputs=[args.model])
    model = numnet.load(args.model)
    (_, _), (x_test, y_test) = load_data(args.data_dir, need_train=False)
    check_model_data(model, x_test, y_test, f"{data_name(args.data_dir)} (test set)")
    result = make_report(model, x_test, labels_for(model, y_test), args.out,
                         title=f"numnet report: {os.path.basename(args.model)}", what="--out", inputs=[args.model])
    ev = result["evaluation"]
    out.say(f"test accuracy {ev['accuracy']:.4f} (loss {ev['loss']:.4f})")
    for f in result["figures"]:
        out.say(f"wrote {f['file']}")
    out.say(f"wrote {result['index']}")
    out.emit({"index": result["index"], "figures": result["figures"], "accuracy": ev["accuracy"], "loss": ev["loss"]})
    return 0
