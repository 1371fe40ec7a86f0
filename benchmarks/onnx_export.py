"""ONNX export of the presets: export time, file size, and agreement of the exported graph with numnet.

    python benchmarks/onnx_export.py                          # every preset, trained 1 epoch on 6,000 images
    python benchmarks/onnx_export.py --presets cnn --train 60000 --reference 1000

For each preset: the model is trained for one epoch on the first --train MNIST training images (so
that every weight and statistic is non-trivial; accuracy is not the point), then exported with
``numnet.io.onnx_export.export`` (median of 3 exports), and the exported file is run on the 10,000 test
images with onnxruntime (if installed) and on the first --reference ones with onnx's reference
evaluator. Reported: file size, parameters, export seconds, the largest |probability difference| to
``model.predict_proba``, how many predicted classes agree, and the inference seconds of numnet and
onnxruntime on the 10,000 images (one thread each, median of 3). One JSON line per preset.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time


def median_time(fn, repeat=3):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def bench(name, x, y, xt, args):
    import numpy as np

    import numnet
    from numnet.io.onnx_export import export, run_reference
    from numnet.train.recipe import Recipe

    recipe = Recipe.from_preset(name, seed=0)
    model = recipe.network(x.shape[1:], 10, numnet.Sequential)
    model.fit(x[:args.train], y[:args.train], epochs=1, batch_size=recipe.batch_size,
              optimizer=numnet.Adam(recipe.lr), seed=0)
    row = {"preset": name, "train_images": min(args.train, len(x)), "parameters": model.num_parameters}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{name}.onnx")
        row["export_seconds"], info = median_time(lambda: export(model, path))
        row["onnx_bytes"] = info["bytes"]
        row["npz_bytes"] = os.path.getsize(model.save(os.path.join(tmp, f"{name}.npz")))
        import onnx
        proto = onnx.load(path)
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        row["numnet_predict_seconds"], proba = median_time(lambda: model.predict_proba(xt))
    n_ref = min(args.reference, len(xt))
    start = time.perf_counter()
    _, ref = run_reference(proto, xt[:n_ref].astype(np.float32))
    row["reference_images"], row["reference_seconds"] = n_ref, time.perf_counter() - start
    row["reference_max_abs_diff"] = float(np.abs(ref - proba[:n_ref]).max())
    row["reference_same_class"] = int((ref.argmax(1) == proba[:n_ref].argmax(1)).sum())
    try:
        import onnxruntime as ort
    except ImportError:
        return row
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feed = {"input": xt.astype(np.float32)}
    row["onnxruntime_seconds"], (_, p_ort) = median_time(lambda: session.run(None, feed))
    row["onnxruntime_images"] = len(xt)
    row["onnxruntime_max_abs_diff"] = float(np.abs(p_ort - proba).max())
    row["onnxruntime_same_class"] = int((p_ort.argmax(1) == proba.argmax(1)).sum())
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", default="mlp,cnn,cnn-best,lenet5")
    parser.add_argument("--train", type=int, default=6000, help="training images for the one epoch")
    parser.add_argument("--reference", type=int, default=500, help="test images for the reference evaluator")
    args = parser.parse_args(argv)
    import numnet

    (x, y), (xt, yt) = numnet.load_mnist()
    for name in args.presets.split(","):
        print(json.dumps(bench(name.strip(), x, y, xt, args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
