"""A scikit-learn classifier on top of numnet: ``numnet.integrations.sklearn.NumnetClassifier`` (extra ``sklearn``).

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from numnet.integrations.sklearn import NumnetClassifier

    clf = make_pipeline(StandardScaler(), NumnetClassifier(hidden=(64,), epochs=20))
    clf.fit(X_train, y_train).score(X_test, y_test)

Inputs: X (N, F) features as scikit-learn hands them (any F, floats or ints), or image arrays
(N, H, W) / (N, C, H, W) (uint8 pixels are scaled to [0, 1] by the model, as in ``numnet train``).
Labels: any values ``numpy.unique`` can sort (ints, strings...): ``classes_`` holds them sorted and
the network learns their indices 0..K−1 with softmax cross-entropy.

scikit-learn's estimator checks (``parametrize_with_checks``) all pass with ``dtype='float64'``;
with the default ``dtype='float32'`` one is an expected failure (``expected_failed_checks``):
  check_methods_sample_order_invariance: predict_proba of a permuted batch differs in the last
  float32 bit (about 6e-8; the check allows rtol 1e-7) because BLAS rounds a row's dot products
  differently depending on its position in the batch.
"""
from __future__ import annotations

import os
import re
import tempfile

import numpy as np

from ..api import Sequential, load
from ..architectures import PRESETS
from ..errors import ConfigError
from ..train.recipe import Recipe

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data
except ImportError as e:                  # scikit-learn missing or older than 1.6 (no validate_data)
    raise ImportError(f"numnet.integrations.sklearn needs scikit-learn >= 1.6: pip install 'numnet[sklearn]' "
                      f"({e})") from e

#: scikit-learn estimator checks a float32 estimator is known to fail, check name -> reason.
FLOAT32_FAILED_CHECKS = {
    "check_methods_sample_order_invariance":
        "float32 BLAS rounds a row's dot products differently depending on its position in the batch: "
        "predict_proba of a permuted batch differs by about 6e-8, the check allows rtol 1e-7; "
        "passes with dtype='float64'",
}


def expected_failed_checks(estimator) -> dict:
    """{check name: reason} of the scikit-learn checks ``estimator`` is known to fail (for
    ``parametrize_with_checks(expected_failed_checks=...)``)."""
    return dict(FLOAT32_FAILED_CHECKS) if np.dtype(estimator.dtype) == np.float32 else {}


def _dtype(X):
    """The dtype scikit-learn's validation should give X: uint8 pixels stay uint8, the rest floats."""
    return None if getattr(X, "dtype", None) == np.uint8 else [np.float64, np.float32]


class NumnetClassifier(ClassifierMixin, BaseEstimator):
    """A numnet network trained with softmax cross-entropy, as a scikit-learn classifier.

    Architecture (one of):
      hidden, activation: an MLP ``Flatten - Standardize - [Dense(h) - act] per h - Dense(K)``
        (``numnet.architectures.mlp``; the default (25, 25) ReLU is tutorial 1's network).
      arch: a layer spec for ``numnet.architectures.build`` (e.g. ``"conv(8,3)-relu-pool(2)-dense(32)-relu"``)
        or a preset name ('cnn', 'lenet5', 'cnn-best'). ``-dense(K)`` is appended for the K classes
        unless the spec already ends with ``dense(K)``.
    Recipe: epochs, batch_size, optimizer ('sgd', 'momentum', 'adam', 'adamw'), lr (None: the
    optimizer's default), weight_decay, schedule (None, 'step', 'cosine', 'onecycle'), seed (weights
    and batch order), dtype ('float32' or 'float64'), workers (threads sharing each batch).

    After ``fit``: ``classes_`` (K,), ``n_features_in_``, ``model_`` (the ``numnet.Sequential``),
    ``history_`` (one dict per epoch). Parameters are stored as given (scikit-learn convention);
    they are checked when ``fit`` runs.
    """

    def __init__(self, hidden=(25, 25), activation="relu", arch=None, epochs=10, batch_size=32,
                 optimizer="adam", lr=None, weight_decay=0.0, schedule=None, seed=0, dtype="float32",
                 workers=1):
        self.hidden = hidden
        self.activation = activation
        self.arch = arch
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.seed = seed
        self.dtype = dtype
        self.workers = workers

    # scikit-learn protocol ------------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False       # seeded: the same data and seed give the same network
        return tags

    def _check_X(self, X, reset):
        """2-D features through scikit-learn's validation (n_features_in_, NaN checks, messages);
        image arrays (3-D or 4-D) pass through ``check_array(allow_nd=True)``, uint8 kept as pixels."""
        if getattr(X, "ndim", None) in (3, 4):
            X = check_array(X, allow_nd=True, dtype=_dtype(X))
            if reset:
                self.n_features_in_ = int(np.prod(X.shape[1:]))
                self._input_shape = X.shape[1:]
            elif X.shape[1:] != self._input_shape:
                raise ValueError(f"X has samples of shape {X.shape[1:]}, but {type(self).__name__} was fitted "
                                 f"on {self._input_shape}")
            return X
        X = validate_data(self, X, reset=reset, dtype=_dtype(X))
        if reset:
            self._input_shape = X.shape[1:]
        return X

    def _recipe(self, n_classes: int) -> Recipe:
        """The estimator's parameters as a :class:`~numnet.train.recipe.Recipe` (the one ``numnet train``
        assembles from its options): the MLP of ``hidden``/``activation``, or ``arch`` ending in dense(K)."""
        options = {"optimizer": self.optimizer, "lr": self.lr, "weight_decay": float(self.weight_decay) or None,
                   "schedule": self.schedule, "epochs": self.epochs, "batch_size": self.batch_size,
                   "seed": self.seed, "dtype": np.dtype(self.dtype).name, "workers": self.workers}
        if self.arch is None:
            return Recipe(hidden=tuple(int(h) for h in self.hidden), activation=self.activation, **options)
        spec = PRESETS[self.arch]["spec"] if self.arch in PRESETS and PRESETS[self.arch]["spec"] else self.arch
        if not isinstance(spec, str):
            raise ConfigError(f"arch must be a layer spec string, not {spec!r}")
        last = re.search(r"(?:dense|fc|linear)\s*\(\s*(\d+)\s*\)\s*$", spec.lower())
        if not (last and int(last.group(1)) == n_classes):
            spec = f"{spec}-dense({n_classes})"
        return Recipe(arch=spec, **options)

    def _start(self, X, y, classes):
        """A fresh network and optimizer for the classes ``classes`` (sorted label values)."""
        self.classes_ = np.asarray(classes)
        recipe = self._recipe(len(self.classes_))
        self.model_ = recipe.network(self._input_shape, len(self.classes_), Sequential)
        self._optimizer = recipe.make_optimizer(self.model_)
        self._calls = 0

    def _encode(self, y):
        """Label values -> indices 0..K−1 into ``classes_``; ValueError for a value not in it."""
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        if not np.array_equal(self.classes_[idx], y):
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            raise ValueError(f"y contains labels not in classes_: {unknown[:5].tolist()}")
        return idx.astype(np.int64)

    def _train(self, X, y_idx, epochs):
        if X.dtype not in (np.uint8, np.float32, np.float64):
            X = X.astype(np.float64)
        options = self._recipe(len(self.classes_)).fit_options(self.model_, self._optimizer)
        self.model_.fit(X, y_idx, **{**options, "epochs": int(epochs), "batch_size": int(self.batch_size),
                                     "seed": int(self.seed or 0) + self._calls})
        self._calls += 1
        self.history_ = list(self.model_.history)

    def fit(self, X, y):
        """Train a new network for ``epochs`` passes over (X, y); returns self."""
        X, y = self._check_Xy(X, y, reset=True)
        classes = np.unique(y)
        self._start(X, y, classes)
        self._train(X, self._encode(y), self.epochs)
        return self

    def partial_fit(self, X, y, classes=None):
        """One pass over (X, y), continuing the current network and optimizer state.

        The first call needs ``classes`` (every label value that will ever appear); later calls
        may omit it. Returns self.
        """
        first = not hasattr(self, "model_")
        X, y = self._check_Xy(X, y, reset=first)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self._start(X, y, np.unique(np.asarray(classes)))
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(f"classes={classes!r} differs from the classes_ of the first call {self.classes_!r}")
        self._train(X, self._encode(y), 1)
        return self

    def _check_Xy(self, X, y, reset):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        if getattr(X, "ndim", None) in (3, 4):
            X = self._check_X(X, reset)
            y = column_or_1d(y, warn=True)
            if len(y) != len(X):
                raise ValueError(f"{len(X)} samples but {len(y)} labels")
        else:
            X, y = validate_data(self, X, y, reset=reset, dtype=_dtype(X))
            if reset:
                self._input_shape = X.shape[1:]
        check_classification_targets(y)
        return X, y

    def predict_proba(self, X):
        """Class probabilities (N, K) in the order of ``classes_``: softmax of the logits, in the model's
        dtype (float32 by default, so scikit-learn compares them with float32 tolerances)."""
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        if X.dtype not in (np.uint8, np.float32, np.float64):
            X = X.astype(np.float64)
        return np.asarray(self.model_.predict_proba(X))

    def predict(self, X):
        """Predicted labels (N,): ``classes_[argmax of the probabilities]``."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    # pickling (joblib, GridSearchCV(n_jobs>1)): the network travels as numnet's own .npz bytes ------
    def __getstate__(self):
        state = dict(self.__dict__)
        model = state.pop("model_", None)
        state.pop("_optimizer", None)       # optimizer moments are not carried: partial_fit restarts them
        if model is not None:
            with tempfile.TemporaryDirectory() as d:
                path = model.save(os.path.join(d, "model.npz"))
                with open(path, "rb") as f:
                    state["_model_npz"] = f.read()
        return state

    def __setstate__(self, state):
        state = dict(state)
        data = state.pop("_model_npz", None)
        self.__dict__.update(state)
        if data is not None:
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "model.npz")
                with open(path, "wb") as f:
                    f.write(data)
                self.model_ = load(path)
            self._optimizer = self._recipe(len(self.classes_)).make_optimizer(self.model_)
