"""Ways to leave numnet: a scikit-learn estimator (:mod:`.sklearn`, extra ``sklearn``) and
hyper-parameter sweeps on Optuna (:mod:`.sweep`, its storage in :mod:`.sweep_storage`, extra
``sweep``). Each imports its library only when it is imported itself.

May import: api and everything beneath it.
"""
