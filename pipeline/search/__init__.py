"""The Optuna side of a sweep: search space, study, objective, progress, summary and report."""
