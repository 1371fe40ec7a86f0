"""numnet.integrations.sklearn.NumnetClassifier: scikit-learn's own estimator checks, labels of any kind,
Pipeline, GridSearchCV, partial_fit, image input, pickling."""
import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is the optional extra 'sklearn'")

from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from numnet.integrations.sklearn import NumnetClassifier, expected_failed_checks  # noqa: E402


@parametrize_with_checks([NumnetClassifier(), NumnetClassifier(dtype="float64")],
                         expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def blobs(n=300, classes=3, features=5, seed=0):
    X, y = make_blobs(n_samples=n, centers=classes, n_features=features, random_state=seed, cluster_std=1.5)
    return X, y


def test_string_labels_learn_blobs_and_map_back():
    X, y = blobs()
    names = np.array(["cat", "dog", "emu"])[y]
    clf = NumnetClassifier(hidden=(16,), epochs=20).fit(X[:240], names[:240])
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    assert clf.predict_proba(X[240:]).shape == (60, 3)
    assert set(clf.predict(X[240:])) <= {"cat", "dog", "emu"}
    assert clf.score(X[240:], names[240:]) > 0.9
    assert clf.n_features_in_ == 5 and [e["epoch"] for e in clf.history_] == list(range(21))   # 0: untrained


def test_same_as_numnet_sequential_trained_by_hand():
    """The estimator is numnet's own training: the same network, seed and recipe give the same weights."""
    import numnet

    X, y = blobs(n=200, classes=4, features=7)
    clf = NumnetClassifier(hidden=(8,), epochs=3, batch_size=16, lr=3e-3, seed=5, dtype="float64").fit(X, y + 10)
    model = numnet.Sequential(numnet.mlp((8,), in_features=7, num_classes=4), dtype=np.float64, seed=5)
    model.fit(X, y, epochs=3, batch_size=16, optimizer=numnet.Adam(3e-3), seed=5, workers=1)
    np.testing.assert_array_equal(clf.model_.flat_params, model.flat_params)
    np.testing.assert_array_equal(clf.predict(X), model.predict(X) + 10)


def test_pipeline_and_grid_search():
    X, y = blobs(n=240, features=4, seed=1)
    X = X * [1, 100, 0.01, 5]                              # scales that need the scaler
    pipe = make_pipeline(StandardScaler(), NumnetClassifier(epochs=5))
    grid = GridSearchCV(pipe, {"numnetclassifier__hidden": [(4,), (16, 16)],
                               "numnetclassifier__lr": [1e-3, 1e-2]}, cv=3)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_params_["numnetclassifier__lr"] in (1e-3, 1e-2)
    assert grid.best_score_ > 0.9 and grid.score(X, y) > 0.9


def test_partial_fit_continues_and_needs_classes_first():
    X, y = blobs(n=300)
    clf = NumnetClassifier(hidden=(16,))
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X[:50], y[:50])
    clf.partial_fit(X[:100], y[:100], classes=[0, 1, 2, 3])       # class 3 never appears: still a column
    first = clf.model_
    losses = []
    for _ in range(15):
        clf.partial_fit(X, y)
        losses.append(clf.history_[-1]["train_loss"])
    assert clf.model_ is first and len(clf.history_) == 17                # epoch 0, then 16 partial fits
    assert clf.predict_proba(X).shape == (300, 4)
    assert losses[-1] < losses[0] and clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[:5], np.array([0, 1, 2, 7, 1]))


def test_mnist_images_uint8_and_conv_arch(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    clf = NumnetClassifier(arch="conv(4,5)-pool(2)-relu-dense(32)-relu", epochs=3, batch_size=50, lr=2e-3)
    clf.fit(x_train[:2000], y_train[:2000])
    assert clf.n_features_in_ == 784 and clf.model_.input_shape == (28, 28)
    assert clf.score(x_test[:500], y_test[:500]) > 0.8
    with pytest.raises(ValueError, match="shape"):
        clf.predict(x_test[:3, :20, :20])
    flat = NumnetClassifier(hidden=(32,), epochs=2, batch_size=50).fit(x_train[:2000].reshape(2000, -1), y_train[:2000])
    assert flat.score(x_test[:500].reshape(500, -1), y_test[:500]) > 0.8   # 2-D uint8 pixels stay pixels


def test_pickle_round_trip_keeps_predictions_and_training():
    X, y = blobs()
    clf = NumnetClassifier(hidden=(8,), epochs=3).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    again.partial_fit(X, y)                    # the loaded network can keep training
    assert [e["epoch"] for e in again.history_] == [0, 1, 2, 3, 4]


def test_bad_parameters_fail_at_fit_not_init():
    X, y = blobs(n=30)
    clf = NumnetClassifier(activation="swish", optimizer="lion")       # stored verbatim, no error yet
    assert clf.get_params()["activation"] == "swish"
    import numnet

    with pytest.raises(numnet.ConfigError, match="activation"):
        clf.fit(X, y)
    with pytest.raises(numnet.ConfigError, match="optimizer"):
        NumnetClassifier(optimizer="lion").fit(X, y)
