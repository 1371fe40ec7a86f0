"""A small MLP trained in about a second, shared by the evaluate/report/predict/explain tests."""
import functools

import numpy as np

import numnet


@functools.lru_cache(maxsize=2)
def _trained(hidden, activation):
    (x, y), (xt, yt) = numnet.load_mnist()
    model = numnet.Sequential(numnet.mlp(hidden=hidden, activation=activation), seed=0)
    model.fit(x[:4000], y[:4000], epochs=2, batch_size=50, optimizer=numnet.Adam(2e-3),
              validation_data=(xt[:1000], yt[:1000]), seed=0)
    return model


def tiny_model(hidden=(32, 16), activation="relu"):
    """A trained model (cached; callers must not train it further)."""
    return _trained(tuple(hidden), activation)


def saved_tiny_model(tmp_path_factory, hidden=(32, 16), activation="relu"):
    path = tmp_path_factory.mktemp("model") / "model.npz"
    tiny_model(hidden, activation).save(path)
    return str(path)


def page_from_digit(digit, rng, size=120, page=(200, 260), offset=(30, 90), paper=0.92, ink=0.15, noise=0.03):
    """An MNIST digit (28×28 uint8) drawn as dark ink on light paper: upscaled to ``size`` px,
    placed at ``offset`` on a page of shape ``page``, with Gaussian paper noise. Float in [0, 1]."""
    from numnet.data.preprocess import resize

    d = resize(np.asarray(digit, dtype=np.float64) / 255, size, size)
    out = np.full(page, paper)
    y0, x0 = offset
    out[y0:y0 + size, x0:x0 + size] = paper + (ink - paper) * d
    out += rng.normal(0, noise, page)
    return np.clip(out, 0, 1)
