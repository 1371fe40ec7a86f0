"""Every command of the guided tour (docs/tour.md, docs/tour.zh-CN.md) runs, so the tour cannot rot.

The commands are taken from the ```bash blocks of both files (they must be the same list), made
small (--limit, one epoch, a few iterations, a few gradcheck entries) and run in-process in a
temporary folder.
"""
import os
import re
import shlex

import pytest

from numnet.cli import main

from ..helpers import SRC

DOCS = os.path.join(os.path.dirname(SRC), "docs")


def tour_commands(name):
    with open(os.path.join(DOCS, name), encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip().startswith("numnet ")]


def small(argv):
    """The same command on less work: what it does, not how long it takes."""
    argv = list(argv)

    def setmin(option, value):
        if option in argv:
            i = argv.index(option) + 1
            argv[i] = str(min(int(argv[i]), value))
        else:
            argv.extend([option, str(value)])

    if argv[0] == "train":
        setmin("--limit", 300)
        if "--iterations" in argv:
            setmin("--iterations", 20)
        else:
            setmin("--epochs", 1)
    if argv[0] == "gradcheck":
        setmin("--entries", 20)
    if argv[:2] == ["plot", "vanishing"]:
        setmin("--limit", 200)
    return argv


def test_both_tours_show_the_same_commands():
    english, chinese = tour_commands("tour.md"), tour_commands("tour.zh-CN.md")
    assert len(english) >= 10 and english == chinese


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One folder for the whole tour, as a reader has: later commands read what earlier ones saved."""
    path = tmp_path_factory.mktemp("tour")
    os.makedirs(path / "docs")
    return path


@pytest.mark.parametrize("command", tour_commands("tour.md"))
def test_tour_command_runs(command, workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    argv = small(shlex.split(command)[1:])
    code = main(argv)
    out, err = capsys.readouterr()
    expected = 1 if "--method forward" in command else 0        # the tour shows forward differences FAIL
    assert code == expected, f"{command}\n{err}"
    assert out.strip()
    if argv[0] == "plot":
        assert f"wrote {os.path.join('docs', '')}" in out
