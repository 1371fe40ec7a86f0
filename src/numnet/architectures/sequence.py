"""``--arch`` spellings and ``--model`` presets of the recurrent and attention layers.

Tokens (joined by '-' with the others of ``numnet.architectures.build``):

    rnn(H) lstm(H) gru(H)    a recurrent layer over samples (T, F), here an image's 28 rows of 28
                             pixels; output the last hidden state (H,), or with ``seq``
                             (e.g. ``lstm(64,seq)``) every step's (T, H)
    patch(p, D[, cls=0])     p×p patches of the image as tokens of D features, a class token in front
                             (cls=0: none)
    pos                      learned positional embedding of the tokens
    attn(h)                  multi-head self-attention with h heads (also mhsa)
    block(h, M)              pre-norm Transformer encoder block, h heads, MLP width M (also transformer)
    ln                       layer normalisation over the features (also layernorm)
    gelu                     GELU activation
    cls                      the class token's features, (L, D) → (D,); meantokens: their mean
"""
from __future__ import annotations

from ..errors import ConfigError
from ..layers import (
    GELU,
    GRU,
    LSTM,
    RNN,
    LayerNorm,
    MultiHeadSelfAttention,
    PatchEmbedding,
    PositionalEmbedding,
    Reshape,
    TokenPool,
    TransformerEncoderBlock,
)
from .parse import layer_args

#: presets of ``numnet train --model``, merged into ``architectures.PRESETS``
PRESETS = {
    "rnn": {"spec": "standardize-rnn(128)-dense(10)",
            "options": ("init",),
            "recipe": {"optimizer": "adam", "lr": 2e-3, "epochs": 6, "batch_size": 64, "schedule": "onecycle",
                       "clip_norm": 1.0}},
    "lstm": {"spec": "standardize-lstm(128)-dense(10)",
             "options": ("init",),
             "recipe": {"optimizer": "adam", "lr": 3e-3, "epochs": 4, "batch_size": 64, "schedule": "onecycle",
                        "clip_norm": 1.0}},
    "gru": {"spec": "standardize-gru(128)-dense(10)",
            "options": ("init",),
            "recipe": {"optimizer": "adam", "lr": 3e-3, "epochs": 4, "batch_size": 64, "schedule": "onecycle",
                       "clip_norm": 1.0}},
    "vit": {"spec": "patch(7,64)-pos-block(4,128)-block(4,128)-block(4,128)-ln-cls-dense(10)",
            "options": ("init",),
            "recipe": {"optimizer": "adamw", "lr": 2e-3, "weight_decay": 0.05, "epochs": 10, "batch_size": 128,
                       "schedule": "onecycle", "clip_norm": 1.0}},
}

RECURRENT = ("rnn", "lstm", "gru")
TOKENS = RECURRENT + ("patch", "patches", "pos", "posemb", "attn", "mhsa", "block", "transformer", "ln",
                      "layernorm", "gelu", "cls", "meantokens")


def sequence_layers(name: str, text: str, shape: tuple, token: str):
    """The layers for one spec token (a list), or None if ``name`` is not one of these tokens.
    ``text`` is what stands between the parentheses, ``shape`` one sample's input shape (``build``
    then walks the layers against its size limits: making them allocates nothing)."""
    if name not in TOKENS:
        return None

    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    seq = "seq" in parts
    pos, kw = layer_args(",".join(p for p in parts if p != "seq"), token)
    if seq and name not in RECURRENT:
        raise ConfigError(f"{token!r}: 'seq' belongs to rnn, lstm and gru only")

    def expect(n_pos, usage, keys=()):
        if len(pos) != n_pos or set(kw) - set(keys):
            raise ConfigError(f"{token!r}: expected {usage}")

    def tokens():
        if len(shape) != 2:
            raise ConfigError(f"{token!r} needs tokens (L, D), but the input here has shape {shape} "
                              "(start with patch(p, D))")
        return shape

    try:
        if name in RECURRENT:
            expect(1, f"{name}(hidden_size[, seq])")
            layers = []
            if len(shape) == 3 and shape[0] == 1:             # one-channel image: its rows are the steps
                layers.append(Reshape(shape[1:]))
                shape = shape[1:]
            if len(shape) != 2:
                raise ConfigError(f"{token!r} needs sequences (T, F), but the input here has shape {shape}")
            cls = {"rnn": RNN, "lstm": LSTM, "gru": GRU}[name]
            return layers + [cls(shape[1], pos[0], return_sequences=seq)]
        if name in ("patch", "patches"):
            expect(2, "patch(patch_size, dim[, cls=0|1])", ("cls",))
            return [PatchEmbedding(shape, pos[0], pos[1], cls_token=bool(kw.get("cls", 1)))]
        if name in ("pos", "posemb"):
            expect(0, "pos")
            return [PositionalEmbedding(*tokens())]
        if name in ("attn", "mhsa"):
            expect(1, f"{name}(num_heads)")
            return [MultiHeadSelfAttention(tokens()[1], pos[0])]
        if name in ("block", "transformer"):
            expect(2, f"{name}(num_heads, mlp_dim)")
            return [TransformerEncoderBlock(tokens()[1], pos[0], pos[1])]
        if name in ("ln", "layernorm"):
            expect(0, name)
            return [LayerNorm(shape[-1])]
        if name == "gelu":
            expect(0, "gelu")
            return [GELU()]
        expect(0, name)                                        # cls, meantokens
        tokens()
        return [TokenPool("cls" if name == "cls" else "mean")]
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{token!r}: bad arguments ({e})") from None
