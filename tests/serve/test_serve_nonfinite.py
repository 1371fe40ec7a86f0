"""Item 10 of issue 26: an answer holding NaN or ±∞ is a 500 whose JSON body names the number
(the server used to drop the connection with no answer, so the page could not load)."""
import http.client
import warnings

import numpy as np
import pytest

import numnet

from .servemodel import request, running_server


def huge_weights_model():
    """An MLP whose weights are scaled by 1e30: its float32 logits overflow, its probabilities are NaN."""
    model = numnet.Sequential(numnet.mlp(hidden=(16,)), seed=0)
    for layer in model.layers:
        for value in layer.params.values():
            value *= 1e30
    return model


def test_nan_probabilities_get_a_500_naming_them():
    with warnings.catch_warnings(), running_server(huge_weights_model()) as server:
        warnings.simplefilter("ignore", RuntimeWarning)                 # the overflow itself
        digit = np.full((28, 28), 200).tolist()
        status, body, headers = request(server.url + "api/predict", {"pixels": digit, "preprocess": False})
        assert status == 500 and headers["Content-Type"] == "application/json"
        assert set(body) == {"error"} and "probabilities" in body["error"] and "nan" in body["error"]
        status, info, _ = request(server.url + "api/model")             # the server goes on
        assert status == 200 and info["num_parameters"] == 784 * 16 + 16 + 16 * 10 + 10


def test_infinity_in_the_history_is_reported_as_null_and_elsewhere_as_a_500():
    model = numnet.Sequential(numnet.mlp(hidden=(16,)), seed=0)
    model.history = [{"epoch": 1, "train_loss": float("inf"), "val_accuracy": float("nan")}]
    with running_server(model) as server:
        status, info, _ = request(server.url + "api/model")
        assert status == 200                                            # the page loads: a diverged epoch says null
        assert info["history"] == [{"epoch": 1, "train_loss": None, "val_accuracy": None}]
        assert info["test_accuracy"] is None
    model.info["lr"] = float("inf")                                     # not known non-finite on purpose: refused
    with running_server(model) as server:
        status, body, _ = request(server.url + "api/model")
        assert status == 500 and set(body) == {"error"} and "info.lr" in body["error"] and "inf" in body["error"]
        status, page, _ = request(server.url)
        assert status == 200 and b"<canvas" in page


@pytest.mark.parametrize("path", ["/api/model", "/"])
def test_head_of_a_failing_answer_is_a_500_too(path):
    model = numnet.Sequential(numnet.mlp(hidden=(16,)), seed=0)
    model.info["lr"] = float("nan")
    with running_server(model) as server:
        conn = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
        conn.request("HEAD", path)
        r = conn.getresponse()
        assert r.status == (500 if path == "/api/model" else 200)
        assert r.read() == b"" and int(r.headers["Content-Length"]) > 0
        conn.close()
