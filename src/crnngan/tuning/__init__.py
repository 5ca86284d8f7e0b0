"""Optuna searches whose trials are MLflow runs (``make tune``, ``tune-apply``, ``tune-ui``).

Modules, in the order a study uses them: ``space`` (the ``tune`` section's schema and the
search space), ``storage`` (where the study lives; failing trials whose worker died),
``runs`` (the study's and the trials' MLflow runs), ``objective`` (one trial: train, score,
report, maybe prune), ``study`` (run a study in one or several worker processes),
``outputs`` (the best trial and the plots in ``tune/``) and ``apply`` (the best values
written into ``params.yaml``).
"""
