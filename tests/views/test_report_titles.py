"""The report names what the model is (issue 24): the learning-curve title names the loss actually used
(``Loss.title``), and an "is it a 7?" model's figures and per-class table name its classes "not 7" and "7"
(``views.evaluation.class_names``) rather than bare 0 and 1."""
import pytest

import numnet
from numnet.architectures import mlp
from numnet.views import report as report_module
from numnet.views.evaluation import labels_for


@pytest.fixture
def titles(monkeypatch):
    """Every title, suptitle and text of every figure the report saves, by figure name."""
    seen, save = {}, report_module.save_png

    def recording(fig, plt, folder, name, files=None):
        texts = [fig._suptitle.get_text()] if fig._suptitle else []
        for ax in fig.axes:
            texts += [ax.get_title()] + [t.get_text() for t in ax.texts]
            texts += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        seen[name] = texts
        return save(fig, plt, folder, name, files)
    monkeypatch.setattr(report_module, "save_png", recording)
    return seen


def binary_model(loss):
    (x, y), _ = numnet.load_mnist()
    model = numnet.Sequential(mlp(hidden=(8,), num_classes=1), loss=loss, seed=0)
    model.info["binary"] = 7
    model.fit(x[:300], labels_for(model, y[:300]), epochs=1, batch_size=50, optimizer=numnet.Adam(1e-2), seed=0)
    return model


@pytest.mark.parametrize("loss, title", [("mse", "mean squared error loss per epoch"),
                                         ("bce", "binary cross-entropy loss per epoch")])
def test_binary_report_names_its_loss_and_classes(tmp_path, mnist, titles, loss, title):
    pytest.importorskip("matplotlib")
    model = binary_model(loss)
    x, y = mnist[1]
    report_module.make_report(model, x[:300], labels_for(model, y[:300]), str(tmp_path))
    assert title in titles["learning_curves"]
    assert "cross-entropy loss per epoch" not in titles["learning_curves"]
    assert {"not 7", "7"} <= set(titles["confusion_matrix"])
    assert any(t.startswith("prediction: not 7") for t in titles["predictions"])
    assert any(t.startswith(("true 7, predicted not 7", "true not 7, predicted 7"))
               for t in titles["mistakes"])
    page = (tmp_path / "index.html").read_text()
    assert "<tr><td>not 7</td>" in page and "<tr><td>7</td>" in page
