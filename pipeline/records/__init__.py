"""The MLflow side and the stores: runs, models, locks, store locations, figures."""
