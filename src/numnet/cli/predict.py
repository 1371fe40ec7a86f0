"""numnet predict: classify your own digit images (PNG, JPEG, BMP, GIF)."""
from __future__ import annotations

from .common import Output, add_json_option


def add_parser(sub):
    p = sub.add_parser("predict", help="classify your own digit images (PNG, JPEG, BMP, GIF)",
                       description="Classify digit images: each is turned into an MNIST-style 28×28 input "
                                   "(grayscale, dark ink on light paper inverted, paper noise removed, cropped "
                                   "to the ink, longer side scaled to 20 px, centred by centre of mass) and "
                                   "the top 3 classes are printed. Exit status 2 if any file failed.")
    p.add_argument("model", metavar="MODEL", help="model file from `numnet train --save model.npz`")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    p.add_argument("--top", type=int, default=3, metavar="K", help="classes to show per image (default 3)")
    p.add_argument("--save-preprocessed", metavar="DIR",
                   help="write the 28×28 image the network saw for each file to DIR (PNG)")
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import os
    import sys

    import numpy as np

    import numnet
    from numnet.errors import ConfigError
    from numnet.preprocess import ImageError, load_digit

    out = Output(args.json)
    model = numnet.load(args.model)
    if args.save_preprocessed:
        if os.path.exists(args.save_preprocessed) and not os.path.isdir(args.save_preprocessed):
            raise ConfigError(f"--save-preprocessed {args.save_preprocessed}: not a directory")
        os.makedirs(args.save_preprocessed, exist_ok=True)
    shape = tuple(model.input_shape or (28, 28))
    if int(np.prod(shape)) != 28 * 28:
        raise ConfigError(f"{args.model}: the model takes inputs of shape {shape}, not 28×28 digit images")

    good, inputs, errors = [], [], []
    for path in args.images:
        try:
            inputs.append(load_digit(path))
            good.append(path)
        except ImageError as e:
            errors.append({"file": path, "error": str(e)})
    predictions = []
    if inputs:
        proba = model.predict_proba(np.stack(inputs).reshape((len(inputs),) + shape))
        k = max(1, min(args.top, proba.shape[1]))
        for path, p in zip(good, proba):
            order = np.argsort(-p, kind="stable")[:k]
            predictions.append({"file": path, "prediction": int(order[0]),
                                "top": [{"class": int(c), "probability": float(p[c])} for c in order]})
    if args.save_preprocessed and inputs:
        from PIL import Image

        used = set()
        for i, (path, img) in enumerate(zip(good, inputs)):
            name = os.path.splitext(os.path.basename(path))[0] + ".png"
            if name in used:
                name = f"{i:04d}_{name}"
            used.add(name)
            Image.fromarray(img).save(os.path.join(args.save_preprocessed, name))

    results = {p["file"]: p for p in predictions}
    failures = {e["file"]: e["error"] for e in errors}
    width = max(len(p) for p in args.images)
    for path in args.images:
        if path in results:
            top = "   ".join(f"{t['class']} {t['probability']:6.1%}" for t in results[path]["top"])
            out.say(f"{path:<{width}}  → {results[path]['prediction']}   ({top})")
    for path, problem in failures.items():
        print(f"numnet predict: error: {path}: {problem}", file=sys.stderr)
    out.emit({"predictions": predictions, "errors": errors})
    return 2 if errors else 0
