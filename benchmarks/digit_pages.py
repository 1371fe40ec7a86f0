"""What the outside-digit benchmarks share: pages (uint8 grey images of a digit on paper) written as
PNG or JPEG files, read back by the real command, ``numnet predict MODEL FILES... --json``, and
scored against their labels, overall and per class.

Used by ``predict_real_digits.py`` (UCI optdigits, rendered as scans) and ``pen_digits.py``
(synthetic pen strokes, photographed).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time


def default_model(work: str, model_path: str | None) -> str:
    """``model_path``, or a model trained now by ``numnet train --save`` (the default MLP) in ``work``."""
    if model_path is not None:
        return model_path
    model_path = os.path.join(work, "model.npz")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "numnet", "train", "--save", model_path], check=True, stdout=subprocess.DEVNULL)
    print(f"trained `numnet train --save {model_path}` in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return model_path


def write_page(page, path_stem: str, rng, jpeg_quality=(70, 96), jpeg_share: float = 0.5) -> str:
    """``page`` saved as ``path_stem``.png or, with probability ``jpeg_share``, .jpg of a random quality."""
    from PIL import Image

    if rng.random() < jpeg_share:
        path = path_stem + ".jpg"
        Image.fromarray(page).save(path, quality=int(rng.integers(*jpeg_quality)))
    else:
        path = path_stem + ".png"
        Image.fromarray(page).save(path)
    return path


def score(model_path: str, files: list, labels, keep: str | None = None) -> dict:
    """Run ``numnet predict`` on ``files`` and compare with ``labels``: accuracy, per-class accuracy,
    the count of files it refused, and the seconds the command took."""
    cmd = [sys.executable, "-m", "numnet", "predict", model_path, *files, "--json"]
    if keep:
        cmd += ["--save-preprocessed", os.path.join(keep, "seen")]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if not proc.stdout.strip():
        raise SystemExit(f"numnet predict failed: {proc.stderr.strip()}")
    result = json.loads(proc.stdout)
    truth = {p: int(label) for p, label in zip(files, labels)}
    predicted = {p["file"]: p["prediction"] for p in result["predictions"]}
    correct = sum(predicted.get(f) == truth[f] for f in files)
    per_class = {d: (sum(predicted.get(f) == d for f in files if truth[f] == d), sum(truth[f] == d for f in files))
                 for d in range(10)}
    return {"accuracy": correct / len(files), "correct": correct, "files": len(files), "errors": len(result["errors"]),
            "predict_seconds": seconds, "model": model_path,
            "per_class_accuracy": {str(d): c / n for d, (c, n) in per_class.items() if n}}


def work_folder(keep: str | None, prefix: str) -> str:
    """Where the pages go: ``keep`` (made if missing), else a new temporary folder."""
    work = keep or tempfile.mkdtemp(prefix=prefix)
    os.makedirs(work, exist_ok=True)
    return work


def report(summary: dict, as_json: bool, what: str, work: str, keep: str | None) -> None:
    """The summary as one JSON line, or as text (overall, per class, and where the pages are)."""
    if as_json:
        print(json.dumps(summary))
        return
    print(f"numnet predict on {summary['files']} {what}: accuracy {summary['accuracy']:.4f} "
          f"({summary['correct']}/{summary['files']}), {summary['errors']} errors, {summary['predict_seconds']:.1f} s")
    print("per class: " + "  ".join(f"{d}: {a:.3f}" for d, a in summary["per_class_accuracy"].items()))
    if not keep:
        print(f"(the images are in {work})", file=sys.stderr)
