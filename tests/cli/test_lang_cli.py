"""`--lang zh-CN` / `NUMNET_LANG=zh-CN`: example, explain and evaluate speak Chinese (formulas and
numbers unchanged); English by default, the same text as before; an unknown language is one line, exit 2."""
import os

import pytest

import numnet
from numnet.cli import main

from ..helpers import ENV, assert_one_line, run_cli


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("lang") / "m.npz")
    numnet.save(numnet.Sequential(numnet.mlp(hidden=(16,)), seed=0), path)
    return path


def env(**extra):
    clean = {k: v for k, v in ENV.items() if k != "NUMNET_LANG"}
    return {**clean, **extra}


def test_example_in_chinese_from_the_environment():
    code, out, err = run_cli("example", "sigmoid-bce", env=env(NUMNET_LANG="zh-CN"))
    assert code == 0, err
    assert "sigmoid-bce — 教程4：学生能及格吗？sigmoid 与二元交叉熵" in out
    assert "a = σ(z) = 1 / (1 + e^(−z))" in out and "0.6225" in out and "教程 0.622" in out   # formulas, numbers
    assert "numnet 的 Dense.backward" in out and "tutorial" not in out
    code, out, _ = run_cli("--lang", "zh-CN", "example", env=env())
    assert code == 0 and "教程4：感知机做出判断" in out and "运行其中一个" in out


def test_explain_in_chinese(model_file):
    for args in (["--lang", "zh-CN", "explain", model_file], ["explain", model_file, "--lang", "zh-CN"]):
        code, out, err = run_cli(*args, env=env())
        assert code == 0, err
        assert "测试数字 #0：标签 7" in out and "前向传播 (评估模式)" in out and "反向传播 (评估模式)" in out
        assert "z1 = W1·x̂ + b1" in out and "p = softmax(z2)" in out               # formulas as they are
        assert "一步 Adam 更新: W2" in out and "|梯度| 最大的元素" in out and "按公式计算" in out and "损失" in out
        assert "Forward pass" not in out and "Backward pass" not in out and "evaluation mode" not in out


def test_evaluate_in_chinese(model_file):
    code, out, err = run_cli("evaluate", model_file, env=env(NUMNET_LANG="zh-CN"))
    assert code == 0, err
    assert "测试准确率" in out and "混淆矩阵（行：真实类别，列：预测类别）" in out and "精确率" in out


def test_english_by_default_and_unchanged(model_file, capsys):
    code, out, _ = run_cli("explain", model_file, env=env())
    assert code == 0 and "test digit 0: label 7" in out and "Backward pass (evaluation mode)" in out
    assert "前向传播" not in out
    code, out, _ = run_cli("--lang", "en", "example", "sigmoid-bce", env=env(NUMNET_LANG="zh-CN"))   # --lang wins
    assert code == 0 and out.startswith("sigmoid-bce — tutorial 4: will the student pass?")
    assert "tutorial 0.622     ✓" in out and "教程" not in out
    # in one process, each main() speaks its own language: Chinese once does not stay
    saved = os.environ.pop("NUMNET_LANG", None)
    try:
        assert main(["--lang", "zh-CN", "example", "perceptron"]) == 0
        assert "感知机" in capsys.readouterr().out
        assert main(["example", "perceptron"]) == 0
        assert "a perceptron decides" in capsys.readouterr().out
    finally:
        if saved is not None:
            os.environ["NUMNET_LANG"] = saved


@pytest.mark.parametrize("args, extra", [(["--lang", "xx", "example"], {}), (["example", "--lang", "fr"], {}),
                                         (["example"], {"NUMNET_LANG": "klingon"})])
def test_unknown_language_is_one_line(args, extra):
    code, out, err = run_cli(*args, env=env(**extra))
    assert_one_line(code, err, "unknown language", "en, zh-CN")
    assert out == ""
