"""The quick subset of the hostile-user probe (issue 26), one test per case: each must end with none of
traceback, hang, >2 GB, wrong result, lost file. A case this machine cannot run (as root, chmod stops
nothing and no user namespace is at hand; no tmpfs; an optional package missing) is skipped with its reason.
The full probe and its table: ``python benchmarks/probe.py``."""
import probe
import pytest

pytestmark = pytest.mark.probe

QUICK = [case for case in probe.all_cases() if case.quick]


@pytest.mark.parametrize("case", QUICK, ids=[case.name for case in QUICK])
def test_case(case, probe_models, tmp_path):
    outcome = probe.run_case(case, probe_models, tmp_path)
    if outcome.skipped:
        pytest.skip(f"{case.name}: {outcome.skipped}")
    first = (outcome.result.err.strip().splitlines() or [""])[0][:300]
    assert not outcome.faults, "\n".join(f"[{cls}] {message}" for cls, message in outcome.faults) + f"\nstderr: {first}"
