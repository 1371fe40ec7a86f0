"""The command-line cases of the probe (benchmarks/probe.py), by issue 26's numbered items, then the general
classes: each command × hostile inputs, each writer × hostile outputs, bad option values."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import probe_crafts as craft
from probe import Case, child_env, in_userns

FIFO_TIMEOUT = 20
FAST = ("--limit", "200", "--epochs", "1")
SWEEP = ("--trials", "1", "--limit", "300", "--epochs", "1", "--no-test", "--study", "s")


def model(name="m.npz", *more):
    """setup: copy model ``name`` into the case's folder (and run ``more(ctx)``)."""
    def setup(ctx):
        ctx.model(name)
        for step in more:
            step(ctx)
    return setup


def image(name="d.png"):
    return lambda ctx: craft.digit_png(ctx / name)


def mentions(*words):
    """check: exit 0 must say something about one of ``words`` on stderr (an ignored option is named)."""
    def check(r, ctx):
        if r.code == 0 and not any(w in r.err for w in words):
            return f"exit 0 without a word about {' / '.join(words)}"
    return check


def not_in_output(secret):
    return lambda r, ctx: f"the output shows {secret!r}" if secret in r.out + r.err else None


def negative_loss(r, ctx):
    for m in re.finditer(r"^L = .*?= ([−-]?\d+\.\d+)", r.out, re.M):
        if float(m.group(1).replace("−", "-")) < 0:
            return f"negative loss: {m.group(0)[:80]}"


ONNX_CHECK = """
import sys, numpy as np, numnet, onnxruntime as ort
m = numnet.load(sys.argv[1]); (_, _), (x, y) = numnet.load_mnist(); x = x[:300]
p = np.asarray(m.predict_proba(x), dtype=np.float64)
s = ort.InferenceSession(sys.argv[2])
outs = dict(zip([o.name for o in s.get_outputs()], s.run(None, {s.get_inputs()[0].name: x.astype(np.float32)})))
q = np.asarray(outs["probabilities"], dtype=np.float64)
p, q = p.reshape(len(x), -1), q.reshape(len(x), -1)
if p.shape[1] == 2 and q.shape[1] == 1:          # a binary model: P(yes) beside P(no)
    p = p[:, 1:]
if p.shape != q.shape:
    print(f"shapes differ: predict_proba {p.shape}, onnx {q.shape}"); sys.exit()
print(float(np.max(np.abs(p - q))))
"""


def onnx_agrees(model_name, onnx_name, tol=1e-4):
    def check(r, ctx):
        if r.code != 0:
            return None
        proc = subprocess.run([sys.executable, "-c", ONNX_CHECK, model_name, onnx_name], cwd=ctx.tmp,
                              capture_output=True, text=True, env=child_env(), timeout=120)
        text = proc.stdout.strip() or proc.stderr.strip().splitlines()[-1]
        try:
            gap = float(text)
        except ValueError:
            return f"ONNX against predict_proba: {text}"
        if not gap <= tol:
            return f"ONNX probabilities off from predict_proba by {gap:.3g}"
    return check


def fallback_named(r, ctx):
    """disk full at --save: the trained model must be kept somewhere the message names."""
    if r.code == 0:
        return "exit 0 although the disk was full"
    for token in re.findall(r"[\w./-]+\.npz", r.err):
        if (ctx.tmp / token).is_file() or (os.path.isabs(token) and os.path.isfile(token)):
            if not token.startswith("full/"):
                return None
    return "no kept model named on stderr"


def tmpfs_argv(folder, *args):
    """argv: mount a 64 KiB tmpfs on ``folder`` in a private namespace (a full disk), then numnet ARGS."""
    def argv(ctx):
        return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                'mount -t tmpfs -o size=64k tmpfs "$1" && shift && exec "$@"', "sh", folder,
                sys.executable, "-m", "numnet", *map(str, args)]
    return argv


def userns_argv(*args):
    return lambda ctx: in_userns([sys.executable, "-m", "numnet", *map(str, args)])


def mkdirs(*names):
    return lambda ctx: [(ctx / n).mkdir(parents=True, exist_ok=True) for n in names]


def write(name, data=b"old contents\n"):
    return lambda ctx: (ctx / name).write_bytes(data)


def edit(name, config=None, arrays=None, src="m.npz"):
    return lambda ctx: craft.edit_npz(ctx.models.path(src), ctx / name, config, arrays)


def ckpt_bad_rng(ctx):
    def bad(cfg):
        cfg["training_state"]["rng"]["state"] = "not a state"
    craft.edit_npz(ctx.models.path("m.npz"), ctx / "ck.npz", config=bad)


HUGE_CONFIG = lambda ctx: craft.npz_with_entry(ctx.models.path("m.npz"), ctx / "h.npz", "__config__.npy",
                                                craft.npy_header_entry((100_000_000_000,)))
HUGE_ARRAY = lambda ctx: craft.npz_with_entry(ctx.models.path("m.npz"), ctx / "h.npz", "2.W.npy",
                                               craft.npy_header_entry((100_000, 1_000_000), "<f4"))


def padding_3000(cfg):
    for layer in cfg["layers"]:
        if layer["type"] == "Conv2D":
            layer["padding"] = [3000, 3000]


# issue 26, items 1-9, 13-17 -------------------------------------------------------------------
ITEMS = [
    # 1: export over its input, a device, a FIFO, a link
    Case("export-over-input", "1", ("export", "m.npz", "m.npz"), model(), {2}, needs=("onnx",)),
    Case("export-to-device", "1", ("export", "m.npz", "full"), model("m.npz", lambda c: craft.full_device(c / "full")),
         {2}, needs=("onnx", "mknod")),
    Case("export-to-fifo", "1", ("export", "m.npz", "out.onnx"), model("m.npz", lambda c: craft.fifo(c / "out.onnx")),
         {2}, timeout=FIFO_TIMEOUT, needs=("onnx",)),
    Case("export-to-link", "1", ("export", "m.npz", "link.onnx"),
         model("m.npz", write("target.onnx"), lambda c: os.symlink("target.onnx", c / "link.onnx")), {0, 2},
         owns=("target.onnx",), needs=("onnx",)),
    Case("export-to-link-to-input", "1", ("export", "m.npz", "link.onnx"),
         model("m.npz", lambda c: os.symlink("m.npz", c / "link.onnx")), {2}, needs=("onnx",)),
    Case("export-over-existing", "1", ("export", "m.npz", "old.onnx"), model("m.npz", write("old.onnx")), {0},
         owns=("old.onnx",), promises=("old.onnx",), needs=("onnx",)),
    Case("export-missing-folder", "1", ("export", "m.npz", "nodir/m.onnx"), model(), {2}, needs=("onnx",)),
    # 2: --save-preprocessed over the inputs and a bystander
    Case("predict-save-preprocessed-over-inputs", "2",
         ("predict", "m.npz", "p/photo.png", "p/other.jpg", "--save-preprocessed", "p"),
         model("m.npz", mkdirs("p"), image("p/photo.png"), image("p/other.jpg"), image("p/other.png")), {0, 2},
         needs=("PIL",)),
    Case("predict-save-preprocessed-to-file", "2", ("predict", "m.npz", "d.png", "--save-preprocessed", "f.txt"),
         model("m.npz", image(), write("f.txt")), {2}, needs=("PIL",)),
    # 3: ONNX of a binary model against predict_proba (and the ten-class control)
    Case("export-binary-probabilities", "3", ("export", "bin7.npz", "b.onnx"), model("bin7.npz"), {0},
         promises=("b.onnx",), check=onnx_agrees("bin7.npz", "b.onnx"), needs=("onnx", "onnxruntime")),
    Case("export-tenclass-probabilities", "3", ("export", "m.npz", "m.onnx"), model(), {0}, promises=("m.onnx",),
         check=onnx_agrees("m.npz", "m.onnx"), needs=("onnx", "onnxruntime")),
    # 4: explain of a binary model
    Case("explain-binary", "4", ("explain", "bin7.npz"), model("bin7.npz"), {0}, check=negative_loss),
    Case("explain-binary-json", "4", ("explain", "bin7.npz", "--json", "--index", "3"), model("bin7.npz"), {0}),
    # 5: divergence passed off as success
    Case("perceptron-lr-inf", "5", ("train", "--model", "perceptron", "--binary", "7", "--lr", "inf", "--limit", "2000",
                                    "--epochs", "1"), None, {1, 2}),
    Case("evaluate-huge-weights", "5", ("evaluate", "huge.npz"),
         lambda c: craft.huge_weights(c.models.path("m.npz"), c / "huge.npz"), {1, 2}),
    Case("evaluate-huge-weights-json", "5", ("evaluate", "huge.npz", "--json"),
         lambda c: craft.huge_weights(c.models.path("m.npz"), c / "huge.npz"), {1, 2}),
    Case("predict-huge-weights", "5", ("predict", "huge.npz", "d.png"),
         lambda c: (craft.huge_weights(c.models.path("m.npz"), c / "huge.npz"), craft.digit_png(c / "d.png")), {1, 2}),
    # 6: sizes checked before allocation
    Case("arch-lstm-100000", "6", ("train", "--arch", "lstm(100000)-dense(10)", *FAST), None, {2}),
    Case("arch-gru-100000", "6", ("train", "--arch", "gru(100000)-dense(10)", *FAST), None, {2}),
    Case("arch-rnn-100000", "6", ("train", "--arch", "rnn(100000)-dense(10)", *FAST), None, {2}),
    Case("arch-patch-1e8", "6", ("train", "--arch", "patch(7,100000000)-cls-dense(10)", *FAST), None, {2}),
    Case("arch-block-1e8", "6", ("train", "--arch", "patch(7,64)-block(1,100000000)-cls-dense(10)", *FAST), None, {2}),
    Case("arch-lstm-6000", "6", ("train", "--arch", "lstm(6000)-dense(10)", "--limit", "100", "--epochs", "1"), None,
         {2}, timeout=90),
    Case("arch-attention-scores", "6", ("train", "--arch", "patch(1,256)-pos-block(8,256)-block(8,256)-cls-dense(10)",
                                        "--batch-size", "200", "--limit", "200", "--epochs", "1"), None, {0, 2},
         timeout=120),
    Case("arch-hidden-1e9", "6", ("train", "--hidden", "1000000000", *FAST), None, {2}),
    # 7: loaded models checked for what they will allocate
    *[Case(f"{cmd}-config-header-1e11", "7", (cmd, "h.npz", *extra), lambda c: (HUGE_CONFIG(c), craft.digit_png(c / "d.png")),
           {2}, timeout=30)
      for cmd, extra in [("summary", ()), ("evaluate", ()), ("predict", ("d.png",)), ("explain", ()),
                         ("report", ("--out", "r")), ("export", ("h.onnx",)), ("serve", ("--port", "0"))]],
    Case("evaluate-array-header-1e11", "7", ("evaluate", "h.npz"), HUGE_ARRAY, {2}),
    *[Case(f"{cmd}-conv-padding-3000", "7", (cmd, "pad.npz", *extra),
           lambda c: (edit("pad.npz", padding_3000, src="gapcnn.npz")(c), craft.digit_png(c / "d.png")), {2}, timeout=90)
      for cmd, extra in [("evaluate", ()), ("predict", ("d.png",)), ("explain", ())]],
    # 8: FIFOs
    Case("predict-fifo", "8", ("predict", "m.npz", "pipe.png"), model("m.npz", lambda c: craft.fifo(c / "pipe.png")),
         {2}, timeout=FIFO_TIMEOUT),
    Case("predict-fifo-among-good", "8", ("predict", "m.npz", "a.png", "pipe.png", "b.png"),
         model("m.npz", image("a.png"), image("b.png"), lambda c: craft.fifo(c / "pipe.png")), {2},
         check=lambda r, c: None if "b.png" in r.out + r.err else "the good images after the FIFO were not predicted",
         timeout=FIFO_TIMEOUT, needs=("PIL",)),
    Case("sweep-storage-fifo", "8", ("sweep", "--storage", "s.journal", *SWEEP), lambda c: craft.fifo(c / "s.journal"),
         {2}, timeout=FIFO_TIMEOUT, needs=("optuna",)),
    Case("evaluate-data-dir-fifo", "8", ("evaluate", "m.npz", "--data-dir", "d"),
         model("m.npz", lambda c: craft.bundled_train(c / "d"), lambda c: craft.fifo(c / "d/t10k-images-idx3-ubyte"),
               lambda c: craft.fifo(c / "d/t10k-labels-idx1-ubyte")), {2}, timeout=FIFO_TIMEOUT),
    # 9: data sets checked from their headers
    Case("evaluate-blank-2.6M", "9", ("evaluate", "m.npz", "--data-dir", "d"),
         model("m.npz", lambda c: craft.blank_gz_set(c / "d", cache=c.models.folder / "blank")), {0, 2}, timeout=180),
    Case("evaluate-idx-count-1e9", "9", ("evaluate", "m.npz", "--data-dir", "d"),
         model("m.npz", lambda c: craft.bundled_train(c / "d"), lambda c: craft.huge_count_idx(c / "d/t10k-images-idx3-ubyte"),
               lambda c: (c / "d/t10k-labels-idx1-ubyte").write_bytes(b"\0\0\x08\x01" + (10**9).to_bytes(4, "big"))),
         {2}),
    # 13: sweep
    Case("sweep-readonly-journal", "13", (), lambda c: (write("s.journal", b"")(c), craft.read_only(c / "s.journal")), {2},
         argv=userns_argv("sweep", "--storage", "s.journal", *SWEEP), needs=("optuna", "userns")),
    Case("sweep-storage-directory", "13", ("sweep", "--storage", "store", *SWEEP), mkdirs("store"), {2},
         needs=("optuna",)),
    Case("sweep-corrupt-journal", "13", ("sweep", "--storage", "s.journal", *SWEEP),
         write("s.journal", b"{not json\n\x00\xff garbage\n"), {2}, needs=("optuna",)),
    Case("sweep-seed-negative", "13", ("sweep", "--seed", "-1", *SWEEP), None, {2}, needs=("optuna",)),
    Case("sweep-postgres-password", "13", ("sweep", "--storage", "postgresql://probe:s3cretpw@127.0.0.1:9/db", *SWEEP),
         None, {2}, check=not_in_output("s3cretpw"), needs=("optuna",)),
    Case("sweep-ctrl-c", "13", ("sweep", "--trials", "40", "--limit", "3000", "--epochs", "2", "--study", "s",
                                "--no-test"), None, {0, 1, 2, 130, -2},
         driver=lambda proc, ctx, r: (__import__("time").sleep(8), os.killpg(proc.pid, 2)), timeout=60,
         needs=("optuna",)),
    # 14: report, plot, explain, resume
    Case("report-readonly-index", "14", (),
         model("m.npz", mkdirs("r"), write("r/index.html"), lambda c: craft.read_only(c / "r/index.html")), {0, 2},
         argv=userns_argv("report", "m.npz", "--out", "r"), owns=("r/index.html",), needs=("userns", "matplotlib")),
    Case("report-readonly-folder", "14", (), model("m.npz", mkdirs("r"), lambda c: craft.read_only(c / "r")), {2},
         argv=userns_argv("report", "m.npz", "--out", "r"), needs=("userns", "matplotlib")),
    Case("report-disk-full", "14", (), model("m.npz", mkdirs("r")), {1, 2},
         argv=tmpfs_argv("r", "report", "m.npz", "--out", "r"), needs=("tmpfs", "matplotlib")),
    Case("plot-out-file", "14", ("plot", "activations", "--out", "f.png"), write("f.png"), {2},
         needs=("matplotlib",)),
    Case("plot-vanishing-32px", "14", ("plot", "vanishing", "--limit", "50", "--data-dir", "d"),
         lambda c: craft.write_set(c / "d", size=32), {0, 2}, needs=("matplotlib",)),     # 32×32 digits: a 1024-input MLP
    Case("plot-vanishing-0px", "14", ("plot", "vanishing", "--limit", "50", "--data-dir", "d"),
         lambda c: craft.write_set(c / "d", size=0), {2}, needs=("matplotlib",)),
    Case("report-history-strings", "14", ("report", "s.npz", "--out", "r"),
         edit("s.npz", lambda cfg: [h.update(train_loss="abc", val_accuracy=[1]) for h in cfg["history"]]), {0, 2},
         needs=("matplotlib",)),
    Case("explain-info-run-not-dict", "14", ("explain", "s.npz"), edit("s.npz", lambda cfg: cfg["info"].update(run="x")),
         {0, 2}),
    Case("explain-info-optimizer-not-dict", "14", ("explain", "s.npz"),
         edit("s.npz", lambda cfg: cfg["info"].update(optimizer="adam")), {0, 2}),
    Case("explain-info-lr-not-number", "14", ("explain", "s.npz"),
         edit("s.npz", lambda cfg: cfg["info"]["optimizer"].update(lr="fast")), {0, 2}),
    Case("resume-bad-rng", "14", ("train", "--resume", "ck.npz", "--limit", "2000", "--epochs", "2", "--hidden", "16"),
         ckpt_bad_rng, {2}),
    # 15: a closed pipe (`| head -1`)
    *[Case(f"{cmd}-broken-pipe", "15", (cmd, *extra), model(), {0, 141, -13}, pipe_stdout=True,
           driver=lambda proc, ctx, r: (proc.stdout.readline(), proc.stdout.close()))
      for cmd, extra in [("evaluate", ("m.npz",)), ("explain", ("m.npz",)), ("gradcheck", ("--hidden", "4,4"))]],
    # 16: options ignored without a word
    Case("cnn-hidden-ignored", "16", ("train", "--model", "cnn", "--hidden", "64", *FAST), None, {0, 2},
         check=mentions("hidden"), timeout=120),
    Case("cnn-activation-ignored", "16", ("train", "--model", "cnn", "--activation", "tanh", *FAST), None, {0, 2},
         check=mentions("activation"), timeout=120),
    Case("arch-with-hidden", "16", ("train", "--arch", "dense(10)", "--hidden", "64", *FAST), None, {0, 2},
         check=mentions("hidden")),
    Case("perceptron-checkpoint", "16", ("train", "--model", "perceptron", "--binary", "7", "--checkpoint", "ck.npz",
                                         *FAST), None, {0, 2},
         check=lambda r, c: None if r.code != 0 or (c / "ck.npz").exists() or "checkpoint" in r.err
         else "--checkpoint ignored without a word"),
    Case("perceptron-init-from", "16", ("train", "--model", "perceptron", "--binary", "7", "--init-from", "m.npz", *FAST),
         model(), {0, 2}, check=mentions("init-from")),
    Case("resume-with-init-from", "16", ("train", "--resume", "ck.npz", "--init-from", "m.npz", "--limit", "2000",
                                         "--epochs", "2", "--hidden", "16"),
         model("m.npz", lambda c: c.model("m.npz", "ck.npz")), {0, 2}, check=mentions("init-from"), owns=("ck.npz",)),
    Case("hidden-empty", "16", ("train", "--hidden", "", *FAST), None, {2}),
    Case("hidden-double-comma", "16", ("train", "--hidden", "16,,16", *FAST), None, {2}),
    Case("binary-mse", "16", ("train", "--binary", "7", "--loss", "mse", *FAST), None, {0}),
    Case("binary-mae", "16", ("train", "--binary", "7", "--loss", "mae", *FAST), None, {0}),
    Case("cnn-binary", "16", ("train", "--model", "cnn", "--binary", "3", *FAST), None, {0}, timeout=120),
    Case("cnn-five-classes", "16", ("train", "--model", "cnn", "--data-dir", "d", "--epochs", "1"),
         lambda c: craft.write_set(c / "d", classes=5), {0}, timeout=120),
    Case("init-normal-nan", "16", ("train", "--init", "normal:nan", *FAST), None, {2},
         check=lambda r, c: "refused only after training ('diverged')" if "diverged" in r.err else None),
    Case("weight-decay-inf", "16", ("train", "--weight-decay", "inf", *FAST), None, {2},
         check=lambda r, c: "refused only after training ('diverged')" if "diverged" in r.err else None),
    Case("save-disk-full", "16", (), mkdirs("full"), {1, 2}, check=fallback_named,
         argv=tmpfs_argv("full", "train", "--limit", "2000", "--epochs", "1", "--hidden", "300", "--save", "full/m.npz"),
         needs=("tmpfs",)),
    # 17: binary models in evaluate and report
    Case("evaluate-binary", "17", ("evaluate", "bin7.npz"), model("bin7.npz"), {0}),
    Case("report-binary", "17", ("report", "bin7.npz", "--out", "r"), model("bin7.npz"), {0},
         promises=("r/index.html",), needs=("matplotlib",)),
]

# general: hostile inputs ----------------------------------------------------------------------
INPUT_KINDS = {
    "missing": lambda p: None,
    "empty": lambda p: p.write_bytes(b""),
    "corrupt": lambda p: p.write_bytes(os.urandom(3000)),
    "directory": lambda p: p.mkdir(),
    "fifo": craft.fifo,
    "devnull": lambda p: os.symlink("/dev/null", p),
    "loop": craft.symlink_loop,
    "unreadable": craft.unreadable,
}
MODEL_READERS = {
    "summary": ("summary", "X"), "evaluate": ("evaluate", "X"), "explain": ("explain", "X"),
    "export": ("export", "X", "o.onnx"), "predict": ("predict", "X", "d.png"), "report": ("report", "X", "--out", "r"),
    "init-from": ("train", "--init-from", "X", *FAST, "--hidden", "16"),
    "resume": ("train", "--resume", "X", *FAST),
    "serve": ("serve", "X", "--port", "0"),
}
NEEDS = {"export": ("onnx",), "report": ("matplotlib",)}


def _input_case(reader, kind, args, name):
    def setup(ctx):
        craft.digit_png(ctx / "d.png")
        ctx.model("m.npz")
        INPUT_KINDS[kind](ctx / name)
    needs = NEEDS.get(reader, ()) + (("userns",) if kind == "unreadable" else ())
    argv = userns_argv(*args) if kind == "unreadable" else None
    return Case(f"{reader}-input-{kind}", "general", args, setup, {2}, timeout=FIFO_TIMEOUT, argv=argv,
                needs=needs, group="inputs")


INPUTS = [_input_case(reader, kind, tuple("in.npz" if a == "X" else a for a in args), "in.npz")
          for reader, args in MODEL_READERS.items() for kind in INPUT_KINDS]
INPUTS += [_input_case("image", kind, ("predict", "m.npz", "in.png"), "in.png") for kind in INPUT_KINDS]
INPUTS += [
    Case("predict-png-header-100000x100000", "general", ("predict", "m.npz", "big.png"),
         model("m.npz", lambda c: craft.png_header_only(c / "big.png")), {2}, group="inputs"),
    Case("evaluate-data-dir-missing", "general", ("evaluate", "m.npz", "--data-dir", "nodir"), model(), {2},
         group="inputs"),
    Case("evaluate-data-dir-empty", "general", ("evaluate", "m.npz", "--data-dir", "d"), model("m.npz", mkdirs("d")),
         {2}, group="inputs"),
    Case("evaluate-data-dir-is-file", "general", ("evaluate", "m.npz", "--data-dir", "m.npz"), model(), {2},
         group="inputs"),
    Case("evaluate-data-dir-corrupt-gz", "general", ("evaluate", "m.npz", "--data-dir", "d"),
         model("m.npz", lambda c: craft.bundled_train(c / "d"),
               lambda c: (c / "d/t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00garbage" * 50),
               lambda c: (c / "d/t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00garbage" * 50)),
         {2}, group="inputs"),
    Case("evaluate-truncated-model", "general", ("evaluate", "t.npz"),
         lambda c: (c / "t.npz").write_bytes(c.models.path("m.npz").read_bytes()[:20000]), {2}, group="inputs"),
    Case("evaluate-crc-damaged-model", "general", ("evaluate", "t.npz"),
         lambda c: craft.flip_middle(c.models.path("m.npz"), c / "t.npz"), {2}, group="inputs"),
    Case("evaluate-non-ascii-name", "general", ("evaluate", "modèle ünï.npz"), model("m.npz", lambda c: c.model(
        "m.npz", "modèle ünï.npz")), {0}, group="inputs"),
    Case("summary-config-not-json", "general", ("summary", "c.npz"),
         lambda c: craft.npz_with_entry(c.models.path("m.npz"), c / "c.npz", "__config__.npy",
                                        craft.npy_header_entry((), "<U8")), {2}, group="inputs"),
]

# general: hostile outputs ---------------------------------------------------------------------
WRITERS = {   # name: (args with OUT, setup, what "same as input" is, needs)
    "save": (("train", *FAST, "--hidden", "16", "--init-from", "m.npz", "--save", "OUT"), ()),
    "checkpoint": (("train", *FAST, "--hidden", "16", "--init-from", "m.npz", "--checkpoint", "OUT"), ()),
    "report-out": (("report", "m.npz", "--out", "OUT"), ("matplotlib",)),
    "plot-out": (("plot", "activations", "--out", "OUT"), ("matplotlib",)),
    "save-preprocessed": (("predict", "m.npz", "d.png", "--save-preprocessed", "OUT"), ("PIL",)),
}


def _output_cases():
    cases = []
    for writer, (args, needs) in WRITERS.items():
        folder_out = writer in ("report-out", "plot-out", "save-preprocessed")
        kinds = {
            "same-as-input": ("m.npz", None, {2}, ()),
            "existing-file": ("old.bin", write("old.bin"), {2} if folder_out else {0}, () if folder_out else ("old.bin",)),
            "special-file": ("full", lambda c: craft.full_device(c / "full"), {2}, ()),
            "missing-folder": ("nodir/sub/out" + ("" if folder_out else ".npz"), None, {0, 2}, ()),
        }
        for kind, (out, extra, exits, owns) in kinds.items():
            def setup(ctx, extra=extra):
                ctx.model("m.npz")
                craft.digit_png(ctx / "d.png")
                if extra:
                    extra(ctx)
            cases.append(Case(f"{writer}-output-{kind}", "general", tuple(out if a == "OUT" else a for a in args), setup,
                              exits, owns=owns, needs=needs + (("mknod",) if kind == "special-file" else ()),
                              timeout=FIFO_TIMEOUT * 3, group="outputs"))
    return cases


# general: bad option values -------------------------------------------------------------------
BAD_OPTIONS = [   # (command args, exits)
    (("train", "--lr", "nan"), {2}), (("train", "--lr", "inf"), {1, 2}), (("train", "--lr", "-1"), {2}),
    (("train", "--lr", "0"), {0, 2}), (("train", "--lr", "1e308"), {1, 2}), (("train", "--lr", ""), {2}),
    (("train", "--lr", "é"), {2}), (("train", "--epochs", "-1"), {2}), (("train", "--epochs", "0"), {0, 2}),
    (("train", "--batch-size", "0"), {2}), (("train", "--batch-size", "-1"), {2}),
    (("train", "--batch-size", "1000000000000"), {0, 2}), (("train", "--limit", "0"), {2}),
    (("train", "--limit", "-1"), {2}), (("train", "--hidden", "0"), {2}), (("train", "--hidden", "-1"), {2}),
    (("train", "--seed", "-1"), {0, 2}), (("train", "--seed", str(2**70)), {0, 2}),
    (("train", "--val-split", "nan"), {2}), (("train", "--val-split", "1"), {2}),
    (("train", "--clip-norm", "nan"), {2}), (("train", "--workers", "-1"), {2}),
    (("train", "--min-accuracy", "nan"), {2}), (("train", "--log-every", "0"), {2}), (("train", "--freeze", "-1"), {2}),
    (("predict", "m.npz", "d.png", "--top", "0"), {0, 2}), (("predict", "m.npz", "d.png", "--top", "-1"), {2}),
    (("predict", "m.npz", "d.png", "--top", "1000000000"), {0, 2}),
    (("explain", "m.npz", "--index", "-1"), {0, 2}), (("explain", "m.npz", "--index", "1000000000000"), {2}),
    (("explain", "m.npz", "--index", "nan"), {2}),
    (("gradcheck", "--h", "0"), {2}), (("gradcheck", "--h", "nan"), {2}), (("gradcheck", "--tolerance", "nan"), {2}),
    (("gradcheck", "--batch", "0"), {2}), (("gradcheck", "--entries", "-1"), {2}),
    (("summary", "m.npz", "--input-shape", "0,0"), {2}), (("summary", "m.npz", "--input-shape", "-1"), {2}),
    (("summary", "m.npz", "--input-shape", "100000,100000"), {0, 2}), (("summary", "m.npz", "--input-shape", "é"), {2}),
    (("export", "m.npz", "o.onnx", "--opset", "0"), {2}), (("export", "m.npz", "o.onnx", "--opset", "999"), {2}),
    (("serve", "m.npz", "--port", "-1"), {2}), (("serve", "m.npz", "--port", "70000"), {2}),
    (("sweep", "--trials", "-1"), {2}), (("sweep", "--val-fraction", "nan"), {2}),
    (("sweep", "--val-fraction", "1"), {2}), (("sweep", "--jobs", "0"), {2}),
    (("plot", "vanishing", "--limit", "0"), {2}), (("plot", "vanishing", "--limit", "-1"), {2}),
]


def _option_case(args, exits):
    label = " ".join(args)
    name = re.sub(r"[^\w.+-]+", "-", label.replace("m.npz ", "").replace("d.png ", "")).strip("-") or "empty"
    if args[-1] == "":
        name += "-empty"
    extra = {"train": FAST + (("--hidden", "8") if "--hidden" not in args else ()), "sweep": SWEEP[2:],
             "gradcheck": ("--hidden", "4") if args[1] != "--hidden" else ()}.get(args[0], ())
    needs = {"sweep": ("optuna",), "plot": ("matplotlib",), "export": ("onnx",)}.get(args[0], ())
    return Case(f"option-{name}", "general", (args[0], *extra, *args[1:]), model("m.npz", image()), exits,
                needs=needs, timeout=60, group="options")


OPTIONS = [_option_case(args, exits) for args, exits in BAD_OPTIONS]

CASES = ITEMS + INPUTS + _output_cases() + OPTIONS
