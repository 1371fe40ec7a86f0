"""numnet predict: classify your own digit images (PNG, JPEG, BMP, GIF)."""
from __future__ import annotations

from .common import Output, add_json_option, check_output_folder, positive_int


def add_parser(sub):
    p = sub.add_parser("predict", help="classify your own digit images (PNG, JPEG, BMP, GIF)",
                       description="Classify digit images: each is turned into an MNIST-style 28×28 input "
                                   "(grayscale, dark ink on light paper inverted, paper noise removed, cropped "
                                   "to the ink, longer side scaled to 20 px, centred by centre of mass) and "
                                   "the top 3 classes are printed. Exit status 2 if any file failed.")
    p.add_argument("model", metavar="MODEL", help="model file from `numnet train --save model.npz`")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    p.add_argument("--top", type=positive_int, default=3, metavar="K", help="classes to show per image (default 3)")
    p.add_argument("--save-preprocessed", metavar="DIR",
                   help="write the 28×28 image the network saw for each file to DIR (PNG)")
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import numpy as np

    import numnet
    from numnet.data.preprocess import ImageError, load_digit
    from numnet.errors import ConfigError

    out = Output(args.json)
    model = numnet.load(args.model)
    if args.save_preprocessed is not None:
        check_output_folder(args.save_preprocessed, "--save-preprocessed")   # before any image is read
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
        except MemoryError:                                # one file never sinks the others
            errors.append({"file": path, "error": "out of memory while preprocessing the image"})
    predictions = []
    if inputs:
        proba = model.predict_proba(np.stack(inputs).reshape((len(inputs),) + shape))
        k = min(args.top, proba.shape[1])
        for path, p in zip(good, proba):
            order = np.argsort(-p, kind="stable")[:k]
            predictions.append({"file": path, "prediction": int(order[0]),
                                "top": [{"class": int(c), "probability": float(p[c])} for c in order]})
    if args.save_preprocessed is not None and inputs:
        errors += save_inputs(args.save_preprocessed, good, inputs)

    results = {p["file"]: p for p in predictions}
    failures = {e["file"]: e["error"] for e in errors}   # (a file's save error follows its prediction)
    width = max(len(p) for p in args.images)
    for path in args.images:
        if path in results:
            top = "   ".join(f"{t['class']} {t['probability']:6.1%}" for t in results[path]["top"])
            out.say(f"{path:<{width}}  → {results[path]['prediction']}   ({top})")
    for path, problem in failures.items():
        out.error(f"numnet predict: error: {path}: {problem}")
    out.emit({"predictions": predictions, "errors": errors})
    return 2 if errors else 0


def save_inputs(folder, files, images) -> list:
    """Write each 28×28 input as ``folder/<name>.png`` (atomically); the errors as predict's
    ``errors`` entries, so that a file that cannot be written loses nothing else."""
    import os

    from PIL import Image

    errors, used = [], set()
    for i, (path, img) in enumerate(zip(files, images)):
        name = os.path.splitext(os.path.basename(path))[0] + ".png"
        if name in used:
            name = f"{i:04d}_{name}"
        used.add(name)
        target = os.path.join(folder, name)
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.part")
        try:
            if os.path.isdir(target):
                raise IsADirectoryError(21, "is a directory")
            Image.fromarray(img).save(tmp, format="PNG")
            os.replace(tmp, target)
        except OSError as e:
            if os.path.exists(tmp):
                os.unlink(tmp)
            errors.append({"file": path, "error": f"--save-preprocessed: cannot write {target} ({e.strerror or e})"})
    return errors
