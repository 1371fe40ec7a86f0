"""Attention layers and the Transformer block against PyTorch (float64): outputs, dL/dx and the
parameter gradients, weights copied both ways. Skipped without torch (pip install -e '.[oracle]')."""
import numpy as np
import pytest

from numnet.layers import (
    GELU,
    LayerNorm,
    MultiHeadSelfAttention,
    PatchEmbedding,
    PositionalEmbedding,
    TokenPool,
    TransformerEncoderBlock,
)

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the attention layers")
close = dict(rtol=1e-9, atol=1e-12)
N, L, D = 3, 5, 8


def T(a, grad=False):
    return torch.tensor(np.ascontiguousarray(a), dtype=torch.float64, requires_grad=grad)


def _compare(layer, ref_fn, pairs, x, rng):
    """layer vs a PyTorch function of the input: output, dL/dx and the parameter gradients
    (``pairs``: numnet parameter name -> the torch tensor it was copied into)."""
    y = layer.forward(x)
    G = rng.standard_normal(y.shape)
    dx = layer.backward(G.copy())
    xt = T(x, True)
    yt = ref_fn(xt)
    yt.backward(T(G))
    np.testing.assert_allclose(y, yt.detach().numpy(), **close)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **close)
    params, grads = layer.params, layer.grads          # dotted names: a block's children's too
    for name, tensor in pairs.items():
        np.testing.assert_allclose(grads[name], tensor.grad.numpy().reshape(params[name].shape), err_msg=name, **close)


@pytest.mark.parametrize("n, l, d, heads", [(3, 5, 8, 2), (1, 17, 16, 4), (4, 1, 6, 1), (2, 9, 12, 3)])
def test_multihead_attention(n, l, d, heads, rng):
    ref = torch.nn.MultiheadAttention(d, heads, batch_first=True).double()
    with torch.no_grad():                         # non-zero biases (PyTorch starts them at 0)
        ref.in_proj_bias.uniform_(-0.5, 0.5)
        ref.out_proj.bias.uniform_(-0.5, 0.5)
    attn = MultiHeadSelfAttention(d, heads, dtype=np.float64)
    tensors = {"in_proj_weight": ref.in_proj_weight, "in_proj_bias": ref.in_proj_bias,
               "out_proj_weight": ref.out_proj.weight, "out_proj_bias": ref.out_proj.bias}
    for name, tensor in tensors.items():          # weights from PyTorch
        getattr(attn, name)[...] = tensor.detach().numpy()
    _compare(attn, lambda xt: ref(xt, xt, xt, need_weights=False)[0], tensors, rng.standard_normal((n, l, d)), rng)
    # and the other way: numnet's initialisation into PyTorch
    attn.init_params(rng)
    with torch.no_grad():
        for name, tensor in tensors.items():
            tensor.copy_(T(getattr(attn, name)))
    x = rng.standard_normal((n, l, d))
    np.testing.assert_allclose(attn.forward(x), ref(T(x), T(x), T(x))[0].detach().numpy(), **close)


@pytest.mark.parametrize("shape", [(3, 5, 8), (4, 6), (2, 3, 4, 7)])
def test_layernorm(shape, rng):
    ref = torch.nn.LayerNorm(shape[-1]).double()
    ln = LayerNorm(shape[-1], dtype=np.float64)
    ln.gamma[...] = rng.uniform(0.5, 1.5, shape[-1])
    ln.beta[...] = rng.standard_normal(shape[-1])
    with torch.no_grad():
        ref.weight.copy_(T(ln.gamma))
        ref.bias.copy_(T(ln.beta))
    _compare(ln, ref, {"gamma": ref.weight, "beta": ref.bias}, rng.standard_normal(shape) * 3 + 1, rng)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(approximate, rng):
    _compare(GELU(approximate), torch.nn.GELU(approximate=approximate), {}, rng.standard_normal((4, 5, 6)) * 3, rng)


#: numnet's block parameter -> the PyTorch TransformerEncoderLayer parameter
BLOCK_NAMES = {"norm1.gamma": "norm1.weight", "norm1.beta": "norm1.bias", "norm2.gamma": "norm2.weight",
               "norm2.beta": "norm2.bias", "attn.in_proj_weight": "self_attn.in_proj_weight",
               "attn.in_proj_bias": "self_attn.in_proj_bias", "attn.out_proj_weight": "self_attn.out_proj.weight",
               "attn.out_proj_bias": "self_attn.out_proj.bias", "linear1.W": "linear1.weight",
               "linear1.b": "linear1.bias", "linear2.W": "linear2.weight", "linear2.b": "linear2.bias"}


@pytest.mark.parametrize("n, l, d, heads, mlp", [(3, 5, 8, 2, 16), (2, 17, 16, 4, 32), (1, 3, 6, 3, 5)])
def test_transformer_block(n, l, d, heads, mlp, rng):
    ref = torch.nn.TransformerEncoderLayer(d, heads, mlp, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True).double()
    block = TransformerEncoderBlock(d, heads, mlp, dtype=np.float64)
    assert set(block.params) == set(BLOCK_NAMES)
    tensors = dict(ref.named_parameters())
    with torch.no_grad():
        for tensor in tensors.values():
            tensor.add_(torch.empty_like(tensor).uniform_(-0.3, 0.3))
    params = block.params
    for ours, theirs in BLOCK_NAMES.items():
        params[ours][...] = tensors[theirs].detach().numpy()
    _compare(block, ref, {ours: tensors[theirs] for ours, theirs in BLOCK_NAMES.items()},
             rng.standard_normal((n, l, d)), rng)


@pytest.mark.parametrize("channels, cls_token", [(1, True), (3, False)])
def test_patch_embedding(channels, cls_token, rng):
    p, d = 7, 6
    pe = PatchEmbedding((channels, 28, 14), p, d, cls_token=cls_token, dtype=np.float64)
    pe.init_params(rng)
    pe.bias[...] = rng.standard_normal(d)
    W, b = T(pe.weight.reshape(d, channels, p, p), True), T(pe.bias, True)
    c = T(pe.cls, True) if cls_token else None                 # (no class token: no cls parameter)

    def ref(xt):
        tokens = torch.nn.functional.conv2d(xt, W, b, stride=p).flatten(2).transpose(1, 2)
        return torch.cat([c.expand(len(xt), 1, d), tokens], 1) if cls_token else tokens
    pairs = {"weight": W, "bias": b, **({"cls": c} if cls_token else {})}
    _compare(pe, ref, pairs, rng.standard_normal((3, channels, 28, 14)), rng)
    assert pe.output_shape((channels, 28, 14)) == (8 + cls_token, d)


def test_positional_embedding_and_pooling(rng):
    pos = PositionalEmbedding(L, D, dtype=np.float64)
    pos.init_params(rng)
    pt = T(pos.pos, True)
    _compare(pos, lambda xt: xt + pt, {"pos": pt}, rng.standard_normal((N, L, D)), rng)
    _compare(TokenPool("cls"), lambda xt: xt[:, 0], {}, rng.standard_normal((N, L, D)), rng)
    _compare(TokenPool("mean"), lambda xt: xt.mean(1), {}, rng.standard_normal((N, L, D)), rng)
