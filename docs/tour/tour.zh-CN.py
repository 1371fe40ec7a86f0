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
# # 导览：用 numnet 走一遍五篇教程
#
# numnet 源自五篇中文博客教程，本文称为教程1至教程5（标题见[教程原文](../tutorials.md)）。本笔记本按教程的
# 小标题逐节走下来：每一节都用 numnet 实际运行教程所讲的网络、公式、算例或图，并给出 numnet 的真实输出。
# 英文版：[A guided tour](tour.en.py)；教程的每个小标题对应本笔记本的哪一节，见[对照表](index.md)。
#
# 每个单元格都在测试中运行（`tests/docs/test_tour_notebooks.py`），测试会把打印出的数字与预期值比对，
# 所以导览不会过时。为了跑得快，这里的训练只用几千张图片（`--limit`）、一两轮；完整训练的结果连同测出它们的
# 命令一并引用。随机种子一律为 0。
#
# 下面的 `numnet_cli(...)` 运行 `numnet` 命令，与在终端里输入的完全一样：打印其输出，检查退出码；
# 带 `--json` 时返回其 JSON 对象。numnet 的输出是英文的。


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
# ## 教程1：神经网络构建原理（以 MNIST 为例）
#
# ### 1. 数据预处理
#
# MNIST：6 万张训练图片和 1 万张测试图片，每张 28×28 像素（取值 0–255），标签为 0–9。像素先变为
# x = 像素 / 255，网络的第一层再把它标准化（x̂ = (x − μ) / σ）。


# %%
print("train", x_train.shape, x_train.dtype, " test", x_test.shape, " labels", np.unique(y_train))
x = x_train.reshape(len(x_train), -1) / 255.0
print(f"pixel / 255: mean {x.mean():.4f}, std {x.std():.4f}")
measured["pixel_mean"] = float(x.mean())

# %% [markdown]
# ### 2. 模型构建，3. 前向传播，4. 损失函数计算
#
# 教程1的网络是 784-25-25-10：z1 = W1·x + b1（W1 ∈ R^(25×784)）→ ReLU → z2 = W2·h1 + b2 → ReLU →
# z3 = W3·h2 + b3 → softmax → 交叉熵。这就是不带任何选项的 `numnet train`。第 0 轮是未训练的网络（约 10%，
# 相当于随机猜）。这里用 5000 张图片训练 2 轮；用全部 6 万张、默认的 5 轮，`numnet train` 可达 96.2%
# （[预设与实测准确率](../guides/presets.md)）。


# %%
run = numnet_cli("train --limit 5000 --epochs 2 --save tour.npz --json")
measured["t1_epoch0_accuracy"] = run["history"][0]["test_accuracy"]
measured["t1_accuracy"] = run["test_accuracy"]

# %% [markdown]
# `numnet explain` 把一张测试图片送入保存的网络，打印教程中的每个公式及其形状和数值：前向传播、损失，
# 然后是按链式法则进行的反向传播。


# %%
numnet_cli("explain tour.npz --index 0")

# %% [markdown]
# ### 5. 反向传播（3.1–3.3：输出层 → 第二个隐藏层 → 第一个隐藏层 → 输入）
#
# 反向传播中的每个形状，都是在一次前向和反向传播之后从数组本身读出的，并与教程写出的形状并列。权重的梯度与
# 权重形状相同：它是外积 ∂L/∂z·hᵀ，(25×1)·(1×784) → (25×784)。


# %%
example = numnet_cli("example backprop-shapes --json")
measured["backprop_shapes_agree"] = example["agrees"]

# %% [markdown]
# ### 6. 优化器更新：Adam（一阶动量估计、二阶矩估计、偏差修正、参数更新）
#
# 逐项写出的一步 Adam：m ← β1·m + (1 − β1)·g，v ← β2·v + (1 − β2)·g²，m̂ = m / (1 − β1ᵗ)，
# v̂ = v / (1 − β2ᵗ)，θ ← θ − η·m̂ / (√v̂ + ε)，由 numnet 的 `Adam` 计算。


# %%
example = numnet_cli("example adam-step --json")
measured["adam_step_agrees"] = example["agrees"]

# %% [markdown]
# ### 7. 迭代训练，8. 模型评估与预测
#
# 上面的训练日志就是教程1的训练循环（每轮一行）。`numnet evaluate` 在测试集上评估保存的模型：准确率，
# 每个数字的精确率、召回率和 F1，以及混淆矩阵。


# %%
run = numnet_cli("evaluate tour.npz --json")
measured["t1_evaluate_accuracy"] = run["accuracy"]

# %% [markdown]
# ## 教程2：基于数值微分的反向传播
#
# ### 激活函数：ReLU 与 Softmax
#
# 教程2的 softmax 先减去最大的输入再取指数（`np.exp(x - c)`），这样 e^1000 也不会溢出；numnet 的做法相同。


# %%
example = numnet_cli("example softmax --json")
measured["softmax_agrees"] = example["agrees"]

# %% [markdown]
# ### 损失函数与数值微分
#
# 教程2用中心差分 (f(x + h) − f(x − h)) / 2h（h = 1e-4）计算梯度。它的循环 `while not it.multi_index:`
# 一次也不会执行（`multi_index` 初值为 `(0, 0)`，是非空元组），所以照原样运行只会返回全零；numnet 的
# `numerical_gradient` 会遍历每一个元素：


# %%
example = numnet_cli("example numerical-gradient --json")
measured["numerical_gradient_agrees"] = example["agrees"]

# %% [markdown]
# `numnet gradcheck` 在 10 张真实图片上（float64）把反向传播得到的梯度与中心差分比较：相对误差约为 1e-8。
# 前向差分 (f(x + h) − f(x)) / h 只有一阶精度 O(h)：在同样的 h 下，它的误差约大 10⁴ 倍，检查不通过
# （退出码 1）：


# %%
central = numnet_cli("gradcheck --hidden 10 --json")
forward = numnet_cli("gradcheck --hidden 10 --method forward --json", status=1)
worst = {run["method"]: max(p["max_abs_error"] for p in run["parameters"]) for run in (central, forward)}
ratio = worst["forward"] / worst["central"]
print(f"largest error: central {worst['central']:.2e}, forward {worst['forward']:.2e}, ratio {ratio:.1e}")
measured["forward_over_central"] = ratio

# %% [markdown]
# 两种公式的误差随 h 的变化：斜率分别为 1（前向）和 2（中心），直到 h 小于最佳值后，约为 ε/h 的舍入误差
# 占了上风。


# %%
numnet_cli("plot differences --out .")
display(Image("finite_differences.png"))

# %% [markdown]
# ### 定义神经网络（TwoLayerNet）、前向传播、最优化、模型检测
#
# 按教程原样的训练方法：TwoLayerNet 784-50-10，ReLU，权重取 N(0, 0.01²)，普通 SGD，学习率 0.001，每次迭代
# 有放回地抽取 100 张图片为一批，边训练边打印损失。（numnet 用反向传播训练它，得到的梯度与数值微分循环
# 本应得到的相同。）网络几乎学不到东西：这里迭代 100 次；迭代 1000 次后为 18.3%（[教程原文](../tutorials.md#tutorial-2s-recipe)，
# `python benchmarks/seeds.py`）。


# %%
recipe = '--arch "dense(50)-relu-dense(10)" --init normal:0.01 --optimizer sgd --batch-size 100 --sample with-replacement'
run = numnet_cli(f"train {recipe} --lr 0.001 --iterations 100 --log-every 20 --json")
measured["t2_lr0.001_accuracy"] = run["test_accuracy"]

# %% [markdown]
# 教程说“几十次迭代后达到 67%”。只改一处就能做到：调大学习率（在基准测试中，学习率 0.5 在第 29 次迭代
# 超过 67%）：


# %%
run = numnet_cli(f"train {recipe} --lr 0.5 --iterations 50 --log-every 10 --json")
measured["t2_lr0.5_accuracy"] = run["test_accuracy"]

# %% [markdown]
# ## 教程3：反向传播是深度学习商用的基石性突破
#
# ### 一、神经网络：神经元的工作方式、激活函数、网络基本组成、工作原理
#
# 神经元计算输入的加权和再加上偏置，然后通过激活函数输出。教程3至教程5中的激活函数及其导数
# （sigmoid′ = σ(1 − σ) ≤ 1/4，tanh′ = 1 − tanh²，ReLU′ ∈ {0, 1}，阶跃函数和符号函数的导数为 0）：


# %%
numnet_cli("plot activations --out .")
display(Image("activations.png"))

# %% [markdown]
# ### 5、归一化
#
# 教程3用 `transforms.Normalize` 做归一化；numnet 网络的第一层 `Standardize` 在训练前从训练集求出
# μ（逐像素）和 σ，使 x̂ 的均值为 0、标准差为 1：


# %%
model = numnet.load("tour.npz")
standardize = model.layers[1]
x_hat = standardize.forward(model.prepare(x_test[:1000]).reshape(1000, -1))
print(type(standardize).__name__, f"x̂: mean {x_hat.mean():.3f}, std {x_hat.std():.3f}")
measured["standardized_std"] = float(x_hat.std())

# %% [markdown]
# ### 二、MNIST 数据集，三、样例实现：模型、加载数据、评估函数、模型训练
#
# MNIST 随 numnet 一起提供（`numnet.load_mnist()`，并与官方公布的 SHA-256 摘要核对）。
# 教程3（PyTorch）训练 784-64-64-64-10，ReLU，`log_softmax` + `nll_loss`，Adam 学习率 0.001，批大小 15，
# 并在训练前打印准确率（“initial accuracy 0.0982”），即 numnet 的第 0 轮。这里用 3000 张图片训练 1 轮；
# 用全部 6 万张、按教程训练 2 轮（`numnet train --hidden 64,64,64 --loss nll --batch-size 15 --epochs 2`），
# 在先前逐条命令的导览完整运行时达到 96.58%。


# %%
run = numnet_cli("train --hidden 64,64,64 --loss nll --batch-size 15 --limit 3000 --epochs 1 --save tutorial3.npz --json")
measured["t3_epoch0_accuracy"] = run["history"][0]["test_accuracy"]
measured["t3_accuracy"] = run["test_accuracy"]

# %% [markdown]
# ### 6、推理运行结果：测试图片及其预测
#
# 教程3最后给出一幅图：一些测试图片，标题为网络的预测。`numnet report` 画出这幅图（还有学习曲线、混淆矩阵、
# 置信度最高的错误预测）：


# %%
numnet_cli("report tutorial3.npz --out report")
display(Image(os.path.join("report", "predictions.png")))

# %% [markdown]
# ## 教程4：神经网络概述
#
# ### 01.1 神经网络类型
#
# 教程中的表格，每种类型配上对应的 numnet 模型。下面逐一构建这些网络（列出其层和参数个数）；准确率是用
# 表中命令在完整 MNIST 测试集上测得的（[预设与实测准确率](../guides/presets.md)）：
#
# | 类型 | 教程所列应用 | numnet 模型 | 实测测试准确率（命令） |
# | --- | --- | --- | --- |
# | 感知器（一个神经元） | 是/否判断 | `--model perceptron --binary 0` | “是不是 0？”99.06%（`numnet train --model perceptron --binary 0`） |
# | 前馈神经网络（FNN） | 手写数字识别（MNIST） | `--model mlp` | 96.2%（`numnet train`） |
# | 卷积神经网络（CNN） | 图像分类、目标检测 | `--model cnn`、`cnn-best` | 99.15%（`numnet train --model cnn`）；3 个随机种子的平均 99.54%（`python benchmarks/cnn.py train --preset cnn-best --seeds 0,1,2`） |
# | 循环神经网络（RNN） | 文本生成、股票预测 | `--model rnn`、`lstm`、`gru` | 97.26%、98.94%、98.87%（`python benchmarks/sequence.py --threads 1`） |
# | Transformer | 机器翻译（BERT、GPT） | `--model vit` | 98.77%（`python benchmarks/sequence.py --threads 1`） |


# %%
from numnet.train.recipe import Recipe

for name in ("mlp", "cnn", "rnn", "lstm", "gru", "vit"):
    net = Recipe.from_preset(name).network((28, 28), 10, numnet.Sequential)
    layers = "-".join(type(layer).__name__ for layer in net.layers)
    print(f"{name:5} {net.num_parameters:7,} parameters  {layers}")
    measured[f"parameters_{name}"] = net.num_parameters

# %% [markdown]
# ### 01.2 深度学习关键技术：Dropout
#
# Dropout 在训练时以概率 p 关闭每个神经元（这里与教程一样取 50%），并把保留下来的输出乘以 1/(1 − p)，
# 使期望值不变；测试时使用全部神经元，输出不作任何改变：


# %%
dropout = numnet.Sequential([numnet.layers.Dropout(0.5)], loss="mse")
ones = np.ones((1, 10000), np.float32)
kept = dropout.train().forward(ones)
print(f"training: {np.mean(kept == 0):.1%} of units off, the rest × {kept.max():.1f}, mean {kept.mean():.3f}")
print(f"evaluation: output == input: {np.array_equal(dropout.eval().forward(ones), ones)}")
measured["dropout_off_fraction"] = float(np.mean(kept == 0))

# %% [markdown]
# ### 01.2 深度学习关键技术：批归一化
#
# x′ = (x − μ) / σ · γ + β：训练时 μ、σ 取自当前这一批（γ 初值为 1，β 初值为 0，均可学习），测试时使用
# 训练中累积的滑动平均：


# %%
bn = numnet.Sequential([numnet.layers.BatchNorm(3)], loss="mse")
batch = np.random.default_rng(0).normal([5, -2, 100], [2, 0.5, 30], size=(256, 3)).astype(np.float32)
out = bn.train().forward(batch)
print("batch: mean", batch.mean(0).round(2), "std", batch.std(0).round(2))
print("after: mean", out.mean(0).round(4) + 0, "std", out.std(0).round(4))
measured["batchnorm_std"] = out.std(0).tolist()

# %% [markdown]
# ### 01.2 深度学习关键技术：迁移学习
#
# 复用训练好的网络并加以微调。这里以在手写数字上训练的教程1网络（`tour.npz`）为起点，训练 Fashion-MNIST
# （服装图片；Debian 的 `dataset-fashion-mnist` 软件包），只用 1000 张训练图片：从头训练；
# `--init-from tour.npz --new-head`（除最后一层外全部复制，再整体训练）；以及教程说的“微调最后一层”
# （`--freeze 2`：两个隐藏层固定不动）。三者对比：


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
# 在这里迁移反而有害：只有 25 个单元的网络从数字中学到的特征（画面中部的笔画，并且按数字的像素统计量做了
# 标准化）不适合服装，冻结这些特征则更差。源网络的特征具有通用性时迁移才有回报，比如教程所说的在 ImageNet
# 上训练的 CNN；小网络加上不相关的图片，得到的是负迁移。


# %% [markdown]
# ### 02.1 神经网络：输入层、隐藏层、输出层
#
# `numnet summary` 列出教程1网络的各层及其输出形状和参数个数：


# %%
numnet_cli("summary tour.npz")

# %% [markdown]
# ### 02.2 感知器：1）感知器，2）激活函数（阶跃函数）
#
# 教程中的感知器算例：x = (3, 1)，w = (0.5, 0.8)，b = −1，得 z = 1.3，step(1.3) = 1：


# %%
example = numnet_cli("example perceptron --json")
measured["perceptron_z"] = example["rows"][0]["value"]

# %% [markdown]
# 感知器学习规则 w ← w + η(y − ŷ)x，b ← b + η(y − ŷ) 在线性可分的数据上收敛，在异或（XOR）上永不收敛：


# %%
numnet_cli("plot perceptron --out .")
display(Image("perceptron.png"))

# %% [markdown]
# 在 MNIST 上用一个感知器判断“是不是 0？”（一律回答“不是”也能得到 90.2%）；这里用 1 万张图片训练 3 轮：


# %%
run = numnet_cli("train --model perceptron --binary 0 --limit 10000 --epochs 3 --json")
measured["perceptron_accuracy"] = run["test_accuracy"]

# %% [markdown]
# 阶跃函数没有有用的导数，反向传播无法穿过它训练：numnet 允许在网络中使用 `--activation step`，但会给出
# 警告，而且只有最后一层（阶跃函数之后的那一层）能学到东西：

# %%
run = numnet_cli("train --activation step --limit 5000 --epochs 2 --json")
measured["step_network_accuracy"] = run["test_accuracy"]

# %% [markdown]
# ### 02.3 前向传播：线性变换、激活函数、损失函数、案例
#
# 教程的算例“学生能否通过考试？”：x = (2, 3)，w = (0.5, −0.2)，b = 0.1，sigmoid 输出，二元交叉熵：


# %%
example = numnet_cli("example sigmoid-bce --json")
values = {row["quantity"]: row["value"] for row in example["rows"]}
measured.update(bce_a=values["a"], bce_L=values["L"], bce_dz=values["∂L/∂z"])

# %% [markdown]
# ### 交叉熵与均方误差：同等条件下的比较
#
# 交叉熵为什么比均方误差（MSE）学得快：输出为 sigmoid 时，MSE 的梯度带有因子 σ′(z) = a(1 − a) ≤ 1/4，
# 当输出错得很有把握时它接近 0；交叉熵的梯度就是 a − y。同一个网络、同样的 sigmoid 输出、同样的 SGD，只有
# 损失函数不同（`--loss bce`：每个数字一个 sigmoid，配二元交叉熵；`--loss mse`：同样的 sigmoid，配平方误差）：


# %%
compare = "--hidden 64 --optimizer sgd --lr 0.1 --limit 5000 --epochs 2 --json"
for loss in ("bce", "mse"):
    run = numnet_cli(f"train --loss {loss} {compare}")
    measured[f"sigmoid_{loss}_accuracy"] = run["test_accuracy"]

# %% [markdown]
# 换成 softmax 输出（常用的分类器）结论相同：softmax + 交叉熵对比 softmax + MSE，用库直接写出
# （在 `MSE` 前加一层 `Softmax`）：


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
# ### 02.4 反向传播：梯度消失
#
# 在深层 sigmoid 网络中，每经过一层，梯度都要乘以 σ′ ≤ 1/4，因此越靠近输入越小；ReLU 则不会这样
# （9 层的多层感知器，这里用 200 张图片）：


# %%
numnet_cli("plot vanishing --limit 200 --out .")
display(Image("vanishing_gradients.png"))

# %% [markdown]
# ### 死亡 ReLU
#
# 在 z ≤ 0 处 ReLU 的梯度为 0：对任何输入都不激活的单元再也学不到东西。下面统计对 1 万张测试图片全部
# 输出 0 的隐藏层 ReLU 所占比例：上面教程1和教程3的网络，以及学习率大 50 倍（Adam，学习率 0.05）训练的
# 教程1网络：


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
# ## 教程5：深度学习之神经网络传递流程
#
# ### 1. 数据输入网络，2. 传递到隐藏层，3. 神经元激活，4. 从隐藏层输出，7. 进行后向传播
#
# 一张图片的前向传播、激活和反向传播，见上面教程1中的 `numnet explain`。教程5的激活函数表有一处笔误：
# 它写着“Sigmoid(x) = tanh(x)”，但 sigmoid(x) = 1 / (1 + e^(−x)) = (1 + tanh(x/2)) / 2，
# 而 tanh(x) = 2·sigmoid(2x) − 1：


# %%
example = numnet_cli("example activations --json")
measured["activations_agree"] = example["agrees"]

# %% [markdown]
# 教程5还把感知器的阈值函数称作“Sign”（它的公式对 x ≥ 0 取 1、否则取 0，其实是阶跃函数；numnet 的 `Sign`
# 取 ±1）。输出为符号函数、标签为 ±1 的感知器，犯的错误与上面用阶跃函数的感知器完全相同：标签取 ±1 时，
# 学习规则是一样的。


# %%
run = numnet_cli("train --model perceptron --binary 0 --activation sign --limit 10000 --epochs 3 --json")
measured["sign_perceptron_accuracy"] = run["test_accuracy"]

# %% [markdown]
# ### 5. 输出正规化（softmax）
#
# softmax 把输出得分变成和为 1 的概率：见上面的 `numnet example softmax`（教程2）。
#
# ### 6. 损失计算：回归问题上的 MSE、RMSE 和 MAE
#
# 教程5的损失函数是回归损失。先看它们的算例：


# %%
example = numnet_cli("example losses --json")
measured["losses_agree"] = example["agrees"]

# %% [markdown]
# 一个能看出它们差别的回归问题：y = sin(2x) + 噪声，其中 10% 的点是离群点，整体上移 4。用一个很小的
# numnet 网络（1-32-1，tanh）拟合两次：用 MSE（其最优解是条件均值，被离群点拉偏；最小化 RMSE = √MSE
# 得到同样的拟合）和用 MAE（条件中位数，不受离群点影响）。每个拟合都在无噪声的点上用三种指标评估：


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
# ### 8. 迭代
#
# 训练就是反复进行前向传播、损失计算、反向传播和参数更新；上面的训练日志显示损失逐轮下降
# （`numnet report` 把它画成学习曲线）。

