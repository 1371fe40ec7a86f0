"""``numnet report`` draws what explain sees inside attention and recurrent layers (issue 24)."""
import numpy as np

import numnet
from numnet.architectures.grammar import build
from numnet.views.report import make_report


def _trained(spec):
    (x, y), _ = numnet.load_mnist()
    model = numnet.Sequential(build(spec), seed=0)
    model.fit(x[:200], y[:200], epochs=1, batch_size=50)
    return model


def _figures(report):
    return {f["file"].rsplit("/", 1)[-1]: f["caption"] for f in report["figures"]}


def test_a_vit_report_draws_its_attention_maps(tmp_path):
    (_, _), (xt, yt) = numnet.load_mnist()
    report = make_report(_trained("patch(7,16)-pos-block(2,32)-ln-cls-dense(10)"), xt[:200], yt[:200], tmp_path)
    figures = _figures(report)
    assert "attention_map.png" in figures and "hidden_state_norms.png" not in figures
    assert (tmp_path / "attention_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "attention_map.png" in (tmp_path / "index.html").read_text()


def test_an_lstm_report_draws_the_norms_over_time_steps(tmp_path):
    (_, _), (xt, yt) = numnet.load_mnist()
    report = make_report(_trained("standardize-lstm(8)-dense(10)"), xt[:200], yt[:200], tmp_path)
    figures = _figures(report)
    assert "hidden_state_norms.png" in figures and "attention_map.png" not in figures
    assert "time step" in figures["hidden_state_norms.png"]


def test_an_mlp_report_has_neither(tmp_path):
    (_, _), (xt, yt) = numnet.load_mnist()
    report = make_report(_trained("flatten-dense(10)"), xt[:200], yt[:200], tmp_path)
    assert not {"attention_map.png", "hidden_state_norms.png"} & set(_figures(report))
    assert not (tmp_path / "attention_map.png").exists()
    assert np.isfinite(report["evaluation"]["accuracy"])
