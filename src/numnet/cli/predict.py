"""numnet predict: classify your own digit images (PNG, JPEG, BMP, GIF)."""
from __future__ import annotations

from .common import Output, add_json_option, positive_int


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
                   help="write the 28×28 image the network saw for each file to DIR as NAME.png (NAME.preprocessed.png "
                        "if NAME.png is another file: nothing is overwritten but earlier --save-preprocessed output)")
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import os

    import numpy as np

    import numnet
    from numnet.data.preprocess import ImageError, load_digit
    from numnet.errors import ConfigError
    from numnet.files import check_folder
    from numnet.views.evaluation import class_names, decides_only

    out = Output(args.json)
    model = numnet.load(args.model)
    if args.save_preprocessed is not None:
        check_folder(args.save_preprocessed, "--save-preprocessed")   # before any image is read
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
        written, failed = save_inputs(args.save_preprocessed, good, inputs, [args.model, *args.images])
        errors += failed
        for p in predictions:
            p["preprocessed"] = written.get(p["file"])

    names = class_names(model, len(proba[0])) if inputs else []   # for --binary 7: "7" and "not 7"
    results = {p["file"]: p for p in predictions}
    failures = {e["file"]: e["error"] for e in errors}   # (a file's save error follows its prediction)
    width = max(len(p) for p in args.images)
    for path in args.images:
        if path in results:
            top = ("a step output: the class, no probability" if decides_only(model) else
                   "   ".join(f"{names[t['class']]} {t['probability']:6.1%}" for t in results[path]["top"]))
            out.say(f"{path:<{width}}  → {names[results[path]['prediction']]}   ({top})")
            saved = results[path].get("preprocessed")
            if saved and os.path.basename(saved) != os.path.splitext(os.path.basename(path))[0] + ".png":
                out.say(f"{'':<{width}}    saved as {saved} (the usual name is taken by another file)")
    for path, problem in failures.items():
        out.error(f"numnet predict: error: {path}: {problem}")
    out.emit({"predictions": predictions, "errors": errors})
    return 2 if errors else 0


#: the PNG text chunk (Software) that marks a file written by --save-preprocessed: only such a file is replaced
MARK = "numnet predict --save-preprocessed"


def _ours(path) -> bool:
    """Whether ``path`` is a PNG that --save-preprocessed wrote (its first text chunk says so)."""
    import os
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return False
    return head.startswith(b"\x89PNG\r\n\x1a\n") and b"tEXtSoftware\x00" + MARK.encode() in head


def _target(folder, path, taken, inputs):
    """Where the input of ``path`` goes in ``folder``: ``<name>.png``, else ``<name>.preprocessed.png``,
    ``<name>.preprocessed-2.png``..., the first that is new or was written by --save-preprocessed and
    passes the output-file policy (never an input, a user's file, a folder or a special file)."""
    import os

    from numnet.errors import OutputError
    from numnet.files import check_target

    stem = os.path.splitext(os.path.basename(path))[0]
    for name in [f"{stem}.png", f"{stem}.preprocessed.png", *(f"{stem}.preprocessed-{k}.png" for k in range(2, 100))]:
        target = os.path.join(folder, name)
        if target in taken or (os.path.lexists(target) and not _ours(target)):
            continue
        try:
            check_target(target, "--save-preprocessed", inputs=inputs)
        except OutputError:
            continue
        return target
    return None


def save_inputs(folder, files, images, inputs) -> tuple[dict, list]:
    """Write each 28×28 input into ``folder`` (:func:`_target` picks the name; the file is written
    by the output-file policy, marked as --save-preprocessed's). Returns ({file: path written},
    predict's ``errors`` entries), so that a file that cannot be written loses nothing else."""

    from PIL import Image, PngImagePlugin

    from numnet.errors import OutputError
    from numnet.files import write_file

    info = PngImagePlugin.PngInfo()
    info.add_text("Software", MARK)
    written, errors = {}, []
    for path, img in zip(files, images):
        target = _target(folder, path, set(written.values()), inputs)
        if target is None:
            errors.append({"file": path, "error": f"--save-preprocessed: no free name for it in {folder}"})
            continue
        try:
            write_file(target, lambda f: Image.fromarray(img).save(f, format="PNG", pnginfo=info),
                       "--save-preprocessed", inputs=inputs)
            written[path] = target
        except OutputError as e:
            errors.append({"file": path, "error": str(e)})
    return written, errors
