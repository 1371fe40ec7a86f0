# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A guided tour: the five tutorials in numnet
#
# numnet grew out of five tutorials, Chinese blog posts called tutorial 1 to 5 here (their titles:
# [The tutorials, as written](../tutorials.md)). This notebook follows them heading by heading and
# runs, for each, the network, formula, worked example or figure it describes, with numnet's real
# output. The same notebook in Chinese: [导览（中文）](tour.zh-CN.py); which heading of which tutorial
# is where: [the map](index.md).
#
# Every cell runs in the test suite (`tests/docs/test_tour_notebooks.py`), which checks the numbers
# it prints against expected values, so the tour cannot rot. To keep it fast the training runs here
# use a few thousand images (`--limit`) and one or two epochs; the full-length results are quoted
# with the command that measured them. Seed 0 everywhere.
#
# `numnet_cli(...)` below runs the `numnet` command exactly as you would type it in a terminal, prints
# its output, checks its exit status and, with `--json`, returns its JSON object.

# %%
import json
import os
import shlex
import subprocess
import sys
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

import numnet

os.chdir(tempfile.mkdtemp(prefix="numnet-tour-"))      # the files this tour writes go to a fresh folder
measured = {}                                           # the numbers the tests check


def numnet_cli(command, status=0):
    """Run `numnet COMMAND`, print its output, check its exit status; return the --json object."""
    argv = shlex.split(command)
    run = subprocess.run([sys.executable, "-m", "numnet", *argv], check=False, capture_output=True,
                         text=True, env=dict(os.environ, COLUMNS="100"))
    print(run.stderr if "--json" in argv else run.stdout + run.stderr, end="")
    assert run.returncode == status, f"exit status {run.returncode}, expected {status}:\n{run.stderr}"
    return json.loads(run.stdout) if "--json" in argv else None


(x_train, y_train), (x_test, y_test) = numnet.load_mnist()

# %% [markdown]
# ## Tutorial 1: how a neural network is built
#
# ### 1. Data preprocessing
#
# MNIST: 60,000 training and 10,000 test images of 28×28 pixels (0–255), labels 0–9. A pixel becomes
# x = pixel / 255, and the network's first layer standardises it (x̂ = (x − μ) / σ).

# %%
print("train", x_train.shape, x_train.dtype, " test", x_test.shape, " labels", np.unique(y_train))
x = x_train.reshape(len(x_train), -1) / 255.0
print(f"pixel / 255: mean {x.mean():.4f}, std {x.std():.4f}")
measured["pixel_mean"] = float(x.mean())

# %% [markdown]
# ### 2. Building the model, 3. the forward pass, 4. the loss
#
# Tutorial 1's network is 784-25-25-10: z1 = W1·x + b1 (W1 ∈ R^(25×784)) → ReLU → z2 = W2·h1 + b2 →
# ReLU → z3 = W3·h2 + b3 → softmax → cross-entropy. That is `numnet train` with no options. Epoch 0 is
# the untrained network (about 10%, chance). Here on 5,000 images for 2 epochs; on all 60,000 images
# for the default 5 epochs `numnet train` reaches 96.2% ([presets](../guides/presets.md)).

# %%
run = numnet_cli("train --limit 5000 --epochs 2 --save tour.npz --json")
measured["t1_epoch0_accuracy"] = run["history"][0]["test_accuracy"]
measured["t1_accuracy"] = run["test_accuracy"]

# %% [markdown]
# `numnet explain` runs one test digit through the saved network and prints every equation of the
# tutorial with its shapes and values: the forward pass, the loss, then the backward pass by the
# chain rule.

# %%
numnet_cli("explain tour.npz --index 0")

# %% [markdown]
# ### 5. Backpropagation (3.1–3.3: output layer → second hidden → first hidden → input)
#
# Every shape of the backward pass, read from the arrays after one forward and backward pass; each
# is set beside the shape the tutorial writes. A weight's gradient has the weight's shape: an outer
# product ∂L/∂z·hᵀ, (25×1)·(1×784) → (25×784).

# %%
example = numnet_cli("example backprop-shapes --json")
measured["backprop_shapes_agree"] = example["agrees"]

# %% [markdown]
# ### 6. The optimizer update: Adam (first moment, second moment, bias correction, the update)
#
# One Adam step written out: m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g², m̂ = m / (1 − β1ᵗ),
# v̂ = v / (1 − β2ᵗ), θ ← θ − η·m̂ / (√v̂ + ε), computed by numnet's `Adam`.

# %%
example = numnet_cli("example adam-step --json")
measured["adam_step_agrees"] = example["agrees"]

# %% [markdown]
# ### 7. Training iterations, 8. Evaluation and prediction
#
# The training log above is tutorial 1's loop (one line per epoch). `numnet evaluate` scores the
# saved model on the test set: accuracy, precision, recall and F1 per digit, the confusion matrix.

# %%
run = numnet_cli("evaluate tour.npz --json")
measured["t1_evaluate_accuracy"] = run["accuracy"]

# %% [markdown]
# ## Tutorial 2: backpropagation by numerical differentiation
#
# ### Activation functions: ReLU and softmax
#
# Tutorial 2's softmax subtracts the largest input before exponentiating (`np.exp(x - c)`), so that
# e^1000 never overflows; numnet's does the same.

# %%
example = numnet_cli("example softmax --json")
measured["softmax_agrees"] = example["agrees"]

# %% [markdown]
# ### The loss function and numerical differentiation
#
# Tutorial 2 computes gradients by central differences, (f(x + h) − f(x − h)) / 2h with h = 1e-4.
# Its loop `while not it.multi_index:` never runs (`multi_index` starts as `(0, 0)`, a non-empty
# tuple), so as printed it returns zeros; numnet's `numerical_gradient` visits every entry:

# %%
example = numnet_cli("example numerical-gradient --json")
measured["numerical_gradient_agrees"] = example["agrees"]

# %% [markdown]
# `numnet gradcheck` compares backprop's gradients with central differences on 10 real images
# (float64): they agree to about 1e-8 relative. Forward differences (f(x + h) − f(x)) / h are only
# first-order accurate, O(h); at the same h their error is about 10⁴ times larger, and the check
# fails (exit status 1):

# %%
central = numnet_cli("gradcheck --hidden 10 --json")
forward = numnet_cli("gradcheck --hidden 10 --method forward --json", status=1)
worst = {run["method"]: max(p["max_abs_error"] for p in run["parameters"]) for run in (central, forward)}
ratio = worst["forward"] / worst["central"]
print(f"largest error: central {worst['central']:.2e}, forward {worst['forward']:.2e}, ratio {ratio:.1e}")
measured["forward_over_central"] = ratio

# %% [markdown]
# The error against h, for both formulas: slopes 1 (forward) and 2 (central) until rounding, about
# ε/h, takes over below the best h.

# %%
numnet_cli("plot differences --out .")
display(Image("finite_differences.png"))

# %% [markdown]
# ### Defining the network (TwoLayerNet), the forward pass, optimisation, checking the model
#
# The tutorial's recipe as written: TwoLayerNet 784-50-10 with ReLU, weights N(0, 0.01²), plain SGD
# with lr 0.001, a batch of 100 drawn with replacement each iteration, the loss printed as it goes.
# (numnet trains it with backprop, which gives the gradient the numerical loop would.) It barely
# moves: 100 iterations here; after 1000 iterations it reaches 18.3% ([The tutorials, as
# written](../tutorials.md#tutorial-2s-recipe), `python benchmarks/seeds.py`).

# %%
recipe = '--arch "dense(50)-relu-dense(10)" --init normal:0.01 --optimizer sgd --batch-size 100 --sample with-replacement'
run = numnet_cli(f"train {recipe} --lr 0.001 --iterations 100 --log-every 20 --json")
measured["t2_lr0.001_accuracy"] = run["test_accuracy"]

# %% [markdown]
# The tutorial reports "67% after a few dozen iterations". One change does that: a larger learning
# rate (lr 0.5 crosses 67% at iteration 29 in the benchmark):

# %%
run = numnet_cli(f"train {recipe} --lr 0.5 --iterations 50 --log-every 10 --json")
measured["t2_lr0.5_accuracy"] = run["test_accuracy"]

# %% [markdown]
# ## Tutorial 3: backpropagation, the cornerstone of deep learning in practice
#
# ### 1. Neural networks: the neuron, activation functions, the network's parts, how it works
#
# A neuron computes a weighted sum plus a bias and passes it through an activation function. The
# activations of tutorials 3–5 and their derivatives (sigmoid′ = σ(1 − σ) ≤ 1/4, tanh′ = 1 − tanh²,
# ReLU′ ∈ {0, 1}, step′ = sign′ = 0):

# %%
numnet_cli("plot activations --out .")
display(Image("activations.png"))

# %% [markdown]
# ### 5. Normalisation
#
# Tutorial 3 normalises with `transforms.Normalize`; numnet's first layer, `Standardize`, learns μ
# (per pixel) and σ from the training set before training, so x̂ has mean 0 and standard deviation 1:

# %%
model = numnet.load("tour.npz")
standardize = model.layers[1]
x_hat = standardize.forward(model.prepare(x_test[:1000]).reshape(1000, -1))
print(type(standardize).__name__, f"x̂: mean {x_hat.mean():.3f}, std {x_hat.std():.3f}")
measured["standardized_std"] = float(x_hat.std())

# %% [markdown]
# ### 2. The MNIST data set, 3. the implementation: the model, the data, the evaluation, training
#
# MNIST ships with numnet (`numnet.load_mnist()`, checked against its published SHA-256 digests).
# Tutorial 3 (PyTorch) trains 784-64-64-64-10 with ReLU, `log_softmax` + `nll_loss`, Adam lr 0.001,
# batch 15, and prints the accuracy before training ("initial accuracy 0.0982"): numnet's epoch 0.
# Here on 3,000 images for one epoch; on all 60,000 for the tutorial's 2 epochs
# (`numnet train --hidden 64,64,64 --loss nll --batch-size 15 --epochs 2`) it reached 96.58% when the
# earlier command-by-command tour was run in full.

# %%
run = numnet_cli("train --hidden 64,64,64 --loss nll --batch-size 15 --limit 3000 --epochs 1 --save tutorial3.npz --json")
measured["t3_epoch0_accuracy"] = run["history"][0]["test_accuracy"]
measured["t3_accuracy"] = run["test_accuracy"]

# %% [markdown]
# ### 6. Inference: test digits with their predictions
#
# Tutorial 3 ends with a picture of test digits titled with the network's predictions.
# `numnet report` draws it (and learning curves, a confusion matrix, the most confident mistakes):

# %%
numnet_cli("report tutorial3.npz --out report")
display(Image(os.path.join("report", "predictions.png")))

# %% [markdown]
# ## Tutorial 4: an overview of neural networks
#
# ### 01.1 Types of neural networks
#
# The tutorial's table, with the numnet model for each type. Each network is built here (its layers
# and parameter count); the accuracies were measured on the full MNIST test set by the commands
# shown ([presets and measured accuracy](../guides/presets.md)):
#
# | type | the tutorial's applications | numnet model | measured test accuracy (command) |
# | --- | --- | --- | --- |
# | perceptron (one neuron) | yes/no decisions | `--model perceptron --binary 0` | 99.06% on "is it a 0?" (`numnet train --model perceptron --binary 0`) |
# | feed-forward (FNN) | handwritten digits (MNIST) | `--model mlp` | 96.2% (`numnet train`) |
# | convolutional (CNN) | image classification, object detection | `--model cnn`, `cnn-best` | 99.15% (`numnet train --model cnn`); 99.54% mean of 3 seeds (`python benchmarks/cnn.py train --preset cnn-best --seeds 0,1,2`) |
# | recurrent (RNN) | text generation, stock prediction | `--model rnn`, `lstm`, `gru` | 97.26%, 98.94%, 98.87% (`python benchmarks/sequence.py --threads 1`) |
# | Transformer | machine translation (BERT, GPT) | `--model vit` | 98.77% (`python benchmarks/sequence.py --threads 1`) |

# %%
from numnet.train.recipe import Recipe

for name in ("mlp", "cnn", "rnn", "lstm", "gru", "vit"):
    net = Recipe.from_preset(name).network((28, 28), 10, numnet.Sequential)
    layers = "-".join(type(layer).__name__ for layer in net.layers)
    print(f"{name:5} {net.num_parameters:7,} parameters  {layers}")
    measured[f"parameters_{name}"] = net.num_parameters

# %% [markdown]
# ### 01.2 Key techniques: dropout
#
# Dropout switches each unit off with probability p during training (here 50%, as in the tutorial)
# and scales the survivors by 1/(1 − p) so the expected value is unchanged; at test time it uses
# every unit and changes nothing:

# %%
dropout = numnet.Sequential([numnet.layers.Dropout(0.5)], loss="mse")
ones = np.ones((1, 10000), np.float32)
kept = dropout.train().forward(ones)
print(f"training: {np.mean(kept == 0):.1%} of units off, the rest × {kept.max():.1f}, mean {kept.mean():.3f}")
print(f"evaluation: output == input: {np.array_equal(dropout.eval().forward(ones), ones)}")
measured["dropout_off_fraction"] = float(np.mean(kept == 0))

# %% [markdown]
# ### 01.2 Key techniques: batch normalisation
#
# x′ = (x − μ) / σ · γ + β, with μ and σ of the batch during training (γ = 1 and β = 0 at the
# start, learnable), and the running averages at test time:

# %%
bn = numnet.Sequential([numnet.layers.BatchNorm(3)], loss="mse")
batch = np.random.default_rng(0).normal([5, -2, 100], [2, 0.5, 30], size=(256, 3)).astype(np.float32)
out = bn.train().forward(batch)
print("batch: mean", batch.mean(0).round(2), "std", batch.std(0).round(2))
print("after: mean", out.mean(0).round(4) + 0, "std", out.std(0).round(4))
measured["batchnorm_std"] = out.std(0).tolist()

# %% [markdown]
# ### 01.2 Key techniques: transfer learning
#
# Reuse a trained network and fine-tune it. Here the tutorial 1 network trained on digits
# (`tour.npz`) is the starting point for Fashion-MNIST (clothes; Debian's `dataset-fashion-mnist`),
# with 1,000 training images: from scratch, against `--init-from tour.npz --new-head` (every layer
# but the last copied, then all trained) and against the tutorial's "fine-tune the last layer"
# (`--freeze 2`: the two hidden layers kept fixed).

# %%
fashion = "/usr/share/datasets/fashion-mnist"
if os.path.isdir(fashion):
    small = f"--data-dir {fashion} --limit 1000 --epochs 5 --json"
    for name, options in [("scratch", ""), ("transfer", "--init-from tour.npz --new-head"),
                          ("last_layer", "--init-from tour.npz --new-head --freeze 2 --lr 0.01")]:
        run = numnet_cli(f"train {small} {options}")
        measured[f"fashion_{name}"] = run["test_accuracy"]
else:
    print(f"{fashion} is missing: apt-get install dataset-fashion-mnist")

# %% [markdown]
# Here transfer hurts: a 25-unit network's features of digits (strokes in the middle of the frame,
# standardised with the digits' pixel statistics) do not suit clothes, and frozen they are worse
# still. Transfer pays when the source network's features are general, as for the tutorial's CNNs
# trained on ImageNet; a small network and unrelated images give negative transfer.

# %% [markdown]
# ### 02.1 The network: input, hidden and output layers
#
# `numnet summary` prints the tutorial 1 network's layers with their output shapes and parameters:

# %%
numnet_cli("summary tour.npz")

# %% [markdown]
# ### 02.2 The perceptron: 1) the perceptron, 2) the activation function (step)
#
# The tutorial's worked perceptron: x = (3, 1), w = (0.5, 0.8), b = −1 gives z = 1.3 and step(1.3) = 1:

# %%
example = numnet_cli("example perceptron --json")
measured["perceptron_z"] = example["rows"][0]["value"]

# %% [markdown]
# The perceptron rule w ← w + η(y − ŷ)x, b ← b + η(y − ŷ) converges on linearly separable data and
# never on XOR:

# %%
numnet_cli("plot perceptron --out .")
display(Image("perceptron.png"))

# %% [markdown]
# One perceptron on MNIST, "is it a 0?" (always answering "no" would score 90.2%); on 10,000 images
# for 3 epochs here:

# %%
run = numnet_cli("train --model perceptron --binary 0 --limit 10000 --epochs 3 --json")
measured["perceptron_accuracy"] = run["test_accuracy"]

# %% [markdown]
# The step function has no useful derivative, so backpropagation cannot train through it: numnet
# accepts `--activation step` in a network but warns, and only the last layer (after the steps) learns:

# %%
run = numnet_cli("train --activation step --limit 5000 --epochs 2 --json")
measured["step_network_accuracy"] = run["test_accuracy"]

# %% [markdown]
# ### 02.3 The forward pass: linear transformation, activation, loss, the worked example
#
# The tutorial's worked example, "will the student pass?": x = (2, 3), w = (0.5, −0.2), b = 0.1,
# a sigmoid output and binary cross-entropy:

# %%
example = numnet_cli("example sigmoid-bce --json")
values = {row["quantity"]: row["value"] for row in example["rows"]}
measured.update(bce_a=values["a"], bce_L=values["L"], bce_dz=values["∂L/∂z"])

# %% [markdown]
# ### Cross-entropy against MSE, like for like
#
# Why cross-entropy learns faster than MSE: with a sigmoid output, MSE's gradient carries the factor
# σ′(z) = a(1 − a) ≤ 1/4, which is near 0 when the output is confidently wrong; cross-entropy's
# gradient is just a − y. The same network, the same sigmoid outputs, the same SGD; only the loss
# differs (`--loss bce`: one sigmoid per digit with binary cross-entropy; `--loss mse`: the same
# sigmoids with squared error):

# %%
compare = "--hidden 64 --optimizer sgd --lr 0.1 --limit 5000 --epochs 2 --json"
for loss in ("bce", "mse"):
    run = numnet_cli(f"train --loss {loss} {compare}")
    measured[f"sigmoid_{loss}_accuracy"] = run["test_accuracy"]

# %% [markdown]
# And with a softmax output (the usual classifier) the same holds: softmax + cross-entropy against
# softmax + MSE, written with the library (a `Softmax` layer in front of `MSE`):

# %%
from numnet.layers import Softmax

for loss in ("cross_entropy", "mse"):
    layers = numnet.mlp(hidden=(64,)) + ([Softmax()] if loss == "mse" else [])
    net = numnet.Sequential(layers, loss=loss)
    net.fit(x_train[:5000], y_train[:5000], epochs=2, batch_size=100, optimizer=numnet.SGD(0.1), epoch0=False)
    test_loss, accuracy = net.evaluate(x_test, y_test)
    print(f"softmax + {loss:13}: test accuracy {accuracy:.4f}")
    measured[f"softmax_{loss}_accuracy"] = accuracy

# %% [markdown]
# ### 02.4 Backpropagation: vanishing gradients
#
# In a deep sigmoid network each layer multiplies the gradient by σ′ ≤ 1/4, so it shrinks layer
# after layer towards the input; with ReLU it does not (a 9-layer MLP, 200 images here):

# %%
numnet_cli("plot vanishing --limit 200 --out .")
display(Image("vanishing_gradients.png"))

# %% [markdown]
# ### Dead ReLUs
#
# ReLU's gradient is 0 wherever z ≤ 0: a unit that is never active on any input never learns again.
# The fraction of hidden ReLUs that stay at 0 for every one of the 10,000 test images, in the
# tutorial 1 and tutorial 3 networks above and in the tutorial 1 network trained with a 50 times
# larger learning rate (Adam, lr 0.05):

# %%
from numnet.layers import ReLU


def dead_relus(model, images):
    """Fraction of each ReLU layer's units that are 0 for every image."""
    h = model.prepare(images)
    fractions = []
    for layer in model.eval().layers:
        h = layer.forward(h)
        if isinstance(layer, ReLU):
            fractions.append(float(np.mean(np.all(h.reshape(len(h), -1) <= 0, axis=0))))
    return fractions


numnet_cli("train --limit 5000 --epochs 2 --lr 0.05 --save hot.npz --json")
for name in ("tour.npz", "tutorial3.npz", "hot.npz"):
    fractions = dead_relus(numnet.load(name), x_test)
    print(f"{name:14} dead ReLUs per hidden layer:", ", ".join(f"{f:.0%}" for f in fractions))
    measured[f"dead_relus_{name}"] = fractions

# %% [markdown]
# ## Tutorial 5: how data passes through a neural network
#
# ### 1. Input, 2. the hidden layer, 3. activation, 4. the output, 7. the backward pass
#
# The forward pass, the activation and the backward pass of one image are `numnet explain` above
# (tutorial 1). Tutorial 5's table of activations has a slip: it writes "Sigmoid(x) = tanh(x)", but
# sigmoid(x) = 1 / (1 + e^(−x)) = (1 + tanh(x/2)) / 2, and tanh(x) = 2·sigmoid(2x) − 1:

# %%
example = numnet_cli("example activations --json")
measured["activations_agree"] = example["agrees"]

# %% [markdown]
# Tutorial 5 also names the perceptron's threshold "Sign" (its formula, 1 for x ≥ 0 and 0 otherwise,
# is the step; numnet's `Sign` is ±1). The perceptron with a sign output and labels ±1 makes exactly
# the mistakes of the step perceptron above: with labels ±1 the rule is the same.

# %%
run = numnet_cli("train --model perceptron --binary 0 --activation sign --limit 10000 --epochs 3 --json")
measured["sign_perceptron_accuracy"] = run["test_accuracy"]

# %% [markdown]
# ### 5. Output normalisation (softmax)
#
# Softmax turns the output scores into probabilities that sum to 1: `numnet example softmax` above
# (tutorial 2).
#
# ### 6. The loss: MSE, RMSE and MAE on a regression
#
# Tutorial 5's losses are regression losses. Their worked numbers first:

# %%
example = numnet_cli("example losses --json")
measured["losses_agree"] = example["agrees"]

# %% [markdown]
# A regression where they differ: y = sin(2x) + noise, with 10% of the points outliers shifted up by
# 4. A tiny numnet network (1-32-1, tanh) fitted twice: with MSE (its minimum is the conditional
# mean, pulled towards the outliers; minimising RMSE = √MSE gives the same fit) and with MAE (the
# conditional median, which ignores them). Each fit is scored on clean points by all three:

# %%
from numnet.layers import Dense, Tanh
from numnet.losses import rmse

rng = np.random.default_rng(0)
x_reg = np.sort(rng.uniform(-2, 2, 400))[:, None]
y_reg = np.sin(2 * x_reg) + rng.normal(0, 0.1, x_reg.shape)
outliers = rng.random(len(x_reg)) < 0.1
y_reg[outliers] += 4
x_clean = np.linspace(-2, 2, 200)[:, None]
y_clean = np.sin(2 * x_clean)

fits = {}
for loss in ("mse", "mae"):
    net = numnet.Sequential([Dense(1, 32, init="xavier"), Tanh(), Dense(32, 1, init="xavier")], loss=loss,
                            dtype=np.float64)
    net.fit(x_reg, y_reg, epochs=300, batch_size=50, optimizer=numnet.Adam(0.01), epoch0=False)
    fits[loss] = net.forward(x_clean)
    error = fits[loss] - y_clean
    scores = {"MSE": float(np.mean(error ** 2)), "RMSE": rmse(fits[loss], y_clean), "MAE": float(np.mean(abs(error)))}
    print(f"fitted with {loss.upper()}: on clean points", "  ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    measured[f"regression_{loss}"] = scores

plt.figure(figsize=(9, 4))
plt.scatter(x_reg[~outliers], y_reg[~outliers], s=6, c="0.6", label="data")
plt.scatter(x_reg[outliers], y_reg[outliers], s=12, c="tab:red", label="outliers (+4)")
plt.plot(x_clean, y_clean, "k--", label="sin(2x)")
plt.plot(x_clean, fits["mse"], label="fitted with MSE (= RMSE's fit)")
plt.plot(x_clean, fits["mae"], label="fitted with MAE")
plt.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### 8. Iterating
#
# Training repeats forward pass, loss, backward pass and update; the training logs above show the
# loss falling epoch by epoch (and `numnet report` draws it as learning curves).
