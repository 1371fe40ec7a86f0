"""numnet's tests, a folder per package of ``src/numnet`` (``layers/``, ``train/``, ``io/``, …; the model,
losses, optimizers, the seeds and the PyTorch oracle at the top). Every folder is a package, so two test
files may share a name, and the shared pieces are imported relatively: ``from ..helpers import run_cli``
(``helpers.py``: subprocesses, the gradient check, data folders), ``from ..tinymodel import tiny_model``;
the fixtures ``rng`` and ``mnist`` come from ``conftest.py``. Oracle tests against PyTorch live in files
of their own (``test_torch_oracle.py``, ``layers/test_*_torch.py``) and skip without torch."""
