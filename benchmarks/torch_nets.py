"""The PyTorch twins of numnet's presets, and the inputs PyTorch gets, for the side-by-side benchmarks.

``network(name)``: the same layers as ``numnet train --model name`` (PyTorch's own initialisation):

* ``mlp``: 784-256-256-10 ReLU (the batch-128 MLP row of ``run.py``), on standardised pixels;
* ``cnn``: conv5×32-pool-relu-conv5×64-pool-relu-fc128-relu-fc10, on pixels / 255;
* ``rnn``, ``lstm``, ``gru``: one recurrent layer of 128 over the 28 rows of an image, then fc10 on
  its last state, on standardised pixels (``Standardize``: per-pixel μ, one σ);
* ``vit``: 7×7 patches embedded to 64 (a strided Conv2d, one GEMM), a class token, learned positions,
  3 pre-norm Transformer blocks (4 heads, MLP 128, GELU, no dropout), LayerNorm, fc10, on pixels / 255.

``inputs(name, x, x_train)``: float32 tensors preloaded in the shape and scale the network takes
(PyTorch's preprocessing stays outside its timer; numnet converts its uint8 pixels inside its own).
"""
from __future__ import annotations

import numpy as np
import torch

nn = torch.nn
#: hidden width of the recurrent presets
H = 128


class Recurrent(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn, self.head = cell(28, H, batch_first=True), nn.Linear(H, 10)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


class ViT(nn.Module):
    def __init__(self, d=64, heads=4, mlp=128, depth=3):
        super().__init__()
        self.patch = nn.Conv2d(1, d, 7, stride=7)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.zeros(1, 17, d))
        self.blocks = nn.Sequential(*[nn.TransformerEncoderLayer(d, heads, mlp, dropout=0.0, activation="gelu",
                                                                 batch_first=True, norm_first=True)
                                      for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, 10)

    def forward(self, x):
        t = self.patch(x[:, None]).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(len(x), -1, -1), t], 1) + self.pos
        return self.head(self.norm(self.blocks(t))[:, 0])


def network(name: str) -> nn.Module:
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 5), nn.MaxPool2d(2), nn.ReLU(), nn.Conv2d(32, 64, 5), nn.MaxPool2d(2),
                             nn.ReLU(), nn.Flatten(), nn.Linear(1024, 128), nn.ReLU(), nn.Linear(128, 10))
    if name == "vit":
        return ViT()
    return Recurrent({"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[name])


def inputs(name: str, x: np.ndarray, x_train: np.ndarray) -> torch.Tensor:
    """uint8 images x (N, 28, 28) as the float32 tensor ``network(name)`` takes; the standardisation
    statistics come from ``x_train`` as numnet's Standardize fits them (per-pixel μ, one σ)."""
    scaled = x.astype(np.float32) / np.float32(255)
    if name in ("mlp", "rnn", "lstm", "gru"):
        ref = x_train.astype(np.float32) / np.float32(255)
        mean = ref.mean(0)
        std = np.float32(np.sqrt((ref - mean).var(0).mean()))
        scaled = (scaled - mean) / std
    if name == "mlp":
        scaled = scaled.reshape(len(x), -1)
    if name == "cnn":
        scaled = scaled[:, None]
    return torch.from_numpy(np.ascontiguousarray(scaled, dtype=np.float32))


def optimizer(training: dict, net: nn.Module, total_steps: int):
    """(optimizer, scheduler or None) of a numnet recipe's training settings (``Recipe.training``):
    Adam/AdamW at its lr (weight decay), OneCycleLR when the recipe's schedule is onecycle."""
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[training["optimizer"]]
    opt = cls(net.parameters(), lr=training["lr"],
              **({"weight_decay": training["weight_decay"]} if training.get("weight_decay") else {}))
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=training["lr"], total_steps=total_steps,
                                                  cycle_momentum=False)      # numnet's: the learning rate only
             if training.get("schedule") == "onecycle" else None)
    return opt, sched


def train_step(net, opt, sched, xb, yb, clip_norm=None):
    """One step: forward, cross-entropy, backward, clipping (when the recipe clips), the update."""
    opt.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(net(xb), yb)
    loss.backward()
    if clip_norm:
        nn.utils.clip_grad_norm_(net.parameters(), clip_norm)
    opt.step()
    if sched is not None:
        sched.step()
    return loss


def predict(net, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """Class ids in evaluation mode under ``no_grad``, ``batch`` images at a time."""
    net.eval()
    with torch.no_grad():
        return torch.cat([net(x[s:s + batch]).argmax(1) for s in range(0, len(x), batch)])
