"""numnet ensemble: members' and the ensemble's test accuracy, the ensemble saved as one model file that
evaluate, predict, explain and report accept; bad input refused in one line."""
import json

import pytest

from ..helpers import assert_one_line, run_cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ensemble")
    paths = []
    for seed in (0, 1):
        path = folder / f"m{seed}.npz"
        code, _, err = run_cli("train", "--limit", 3000, "--epochs", 1, "--hidden", 16, "--seed", seed, "--save", path)
        assert code == 0, err
        paths.append(path)
    return folder, paths


def test_ensemble_reports_each_member_and_saves_one_model(trained):
    folder, paths = trained
    code, out, err = run_cli("ensemble", *paths, "--save", folder / "ens.npz", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert [m["model"] for m in r["members"]] == [str(p) for p in paths]
    assert r["model_path"] == str(folder / "ens.npz")
    for path, member in zip(paths, r["members"]):
        code, out, err = run_cli("evaluate", path, "--json")
        assert json.loads(out)["accuracy"] == pytest.approx(member["test_accuracy"])
    code, out, err = run_cli("evaluate", folder / "ens.npz", "--json")
    assert code == 0, err
    assert json.loads(out)["accuracy"] == pytest.approx(r["test_accuracy"])
    assert r["test_accuracy"] > min(m["test_accuracy"] for m in r["members"])


@pytest.mark.parametrize("view, key, value", [(["--mirror"], "mirror", True), (["--shift", "2"], "shift", 2)])
def test_one_model_and_its_mirror_images_or_moves(trained, view, key, value):
    folder, paths = trained
    code, out, err = run_cli("ensemble", paths[0], *view, "--save", folder / f"{key}.npz", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r[key] == value and [m["model"] for m in r["members"]] == [str(paths[0])]
    code, out, err = run_cli("evaluate", folder / f"{key}.npz", "--json")
    assert code == 0, err
    assert json.loads(out)["accuracy"] == pytest.approx(r["test_accuracy"])


@pytest.mark.parametrize("command", [("explain", "--index", "3"), ("report", "--out", "{folder}/report")])
def test_other_commands_take_the_ensemble(trained, command):
    folder, paths = trained
    if not (folder / "ens.npz").exists():
        assert run_cli("ensemble", *paths, "--save", folder / "ens.npz")[0] == 0
    args = [a.format(folder=folder) for a in command]
    code, out, err = run_cli(args[0], folder / "ens.npz", *args[1:], "--json")
    assert code == 0, err
    assert json.loads(out)


@pytest.mark.parametrize("case, needle", [("one", "at least two"), ("over-input", "is the input"),
                                          ("missing", "no such model file"), ("shift-back", "shift"),
                                          ("shift-out", "smaller than")])
def test_bad_input_is_one_line(trained, case, needle):
    folder, paths = trained
    args = {"one": [paths[0]], "over-input": [*paths, "--save", paths[1]],
            "missing": [paths[0], folder / "nope.npz"], "shift-back": [paths[0], "--shift", "-1"],
            "shift-out": [paths[0], "--shift", "28"]}[case]
    code, out, err = run_cli("ensemble", *args)
    assert_one_line(code, err, needle)
    assert paths[1].stat().st_size > 0
