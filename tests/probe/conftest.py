"""The probe's quick cases as tests (benchmarks/probe.py holds the runner and every case)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def pytest_configure(config):
    config.addinivalue_line("markers", "probe: a hostile-user case of benchmarks/probe.py (issue 26); "
                                       "run them alone with `pytest tests/probe -q` or `-m probe`")


@pytest.fixture(scope="session")
def probe_models(tmp_path_factory):
    """The models the cases copy (m.npz, bin7.npz...), trained once per session, on demand."""
    import probe

    return probe.Models(tmp_path_factory.mktemp("probe-models"))
