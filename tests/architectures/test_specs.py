"""The --arch grammar: the layers a spec builds, their shapes, and the one ConfigError a bad spec gets."""
import re

import pytest

from numnet.architectures import build
from numnet.errors import ConfigError
from numnet.layers import GRU, LSTM, RNN, PatchEmbedding, TokenPool, TransformerEncoderBlock


def test_spec_builds_the_layers():
    layers = build("conv(32,5)-relu-pool(2)-conv(64,5)-relu-pool(2)-flatten-dense(128)-relu-dropout(0.5)-dense(10)")
    names = [type(layer).__name__ for layer in layers]
    assert names == ["Reshape", "Conv2D", "ReLU", "MaxPool2D", "Conv2D", "ReLU", "MaxPool2D", "Flatten",
                     "Dense", "ReLU", "Dropout", "Dense"]
    assert layers[4].in_channels == 32 and layers[8].in_features == 64 * 4 * 4 and layers[10].p == 0.5
    conv = build("conv(8,3,2,1)-gap-dense(10)")[1]
    assert conv.stride == (2, 2) and conv.padding == (1, 1)


@pytest.mark.parametrize("spec, types, out", [
    ("rnn(8)-dense(10)", [RNN], (10,)),
    ("lstm(6,seq)-gru(5)-dense(10)", [LSTM, GRU], (10,)),
    ("gru(4,seq)-dense(10)", [GRU], (10,)),
    ("patch(7,16)-pos-block(2,32)-ln-cls-dense(10)", [PatchEmbedding, TransformerEncoderBlock, TokenPool], (10,)),
    ("patch(14,8,cls=0)-attn(2)-gelu-meantokens-dense(10)", [PatchEmbedding, TokenPool], (10,)),
])
def test_sequence_spellings(spec, types, out):
    layers = build(spec)
    for t in types:
        assert any(isinstance(layer, t) for layer in layers), (spec, t)
    shape = (28, 28)
    for layer in layers:
        shape = layer.output_shape(shape)
    assert tuple(shape) == out


def test_seq_and_sizes():
    rnn = build("lstm(6,seq)-dense(10)")[0]
    assert rnn.return_sequences and rnn.output_shape((28, 28)) == (28, 6)
    assert build("patch(7,16)-pos-cls-dense(10)")[1].num_tokens == 17          # 16 patches + the class token


@pytest.mark.parametrize("spec, problem", [
    ("conv(32)-flatten-dense(10)", "expected conv"),
    ("conv(32,5)-wiggle-dense(10)", "unknown layer"),
    ("conv(32,29)-flatten-dense(10)", "does not fit"),
    ("dense(128)-relu", "end with dense(10)"),
    ("dense[12]", "cannot read"),
    ("dense(x)", "not a number"),
    ("dropout(1.5)-dense(10)", "dropout probability"),
    ("", "empty"),
    ("lstm-dense(10)", "expected lstm"), ("conv(2,3)-attn(2)-dense(10)", "needs tokens"),
    ("patch(5,8)-cls-dense(10)", "divide"),
    ("patch(7,10)-attn(3)-cls-dense(10)", "multiple"), ("dense(10)-rnn(4)", "needs sequences"),
    ("gelu(2)-dense(10)", "expected gelu"), ("patch(7,8,seq)-cls-dense(10)", "seq"),
])
def test_bad_specs_raise_config_errors(spec, problem):
    with pytest.raises(ConfigError, match=re.escape(problem)):
        build(spec)
