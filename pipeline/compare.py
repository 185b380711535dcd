"""``python -m pipeline.compare``: a leaderboard across MLflow runs, printed and saved as CSV.

Examples::

    python -m pipeline.compare                          # every trial and training run, best first
    python -m pipeline.compare --experiment deepsweep-digits --metric test_accuracy --top 20
    python -m pipeline.compare --study digits-sweep --output leaderboard.csv
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

from pipeline.records.tracking import search_runs
from pipeline.records.uris import sqlite_file

COLUMNS = (
    "params.dataset",
    "params.depth",
    "params.hidden_units",
    "params.hidden_activation",
    "params.learning_rate",
    "params.optimizer",
    "params.l2",
    "params.epochs",
    "tags.study_name",
    "tags.trial_number",
)


def leaderboard(runs: pd.DataFrame, metric: str, ascending: bool, top: int) -> pd.DataFrame:
    """The ``top`` runs by ``metrics.<metric>`` with their hyperparameters, best first."""
    key = f"metrics.{metric}"
    if runs.empty or key not in runs.columns:
        return pd.DataFrame()
    ranked = runs.dropna(subset=[key]).sort_values(key, ascending=ascending).head(top)
    metrics = [c for c in ranked.columns if c.startswith("metrics.test_") or c == key]
    shown = ["run_id", "status", *dict.fromkeys(metrics), *(c for c in COLUMNS if c in ranked.columns)]
    return ranked[shown].rename(columns=lambda c: c.split(".", 1)[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", default="sqlite:///mlruns/mlflow.db")
    parser.add_argument("--experiment", action="append", help="experiment name (repeatable); default: all")
    parser.add_argument("--study", help="only the trials of this study")
    parser.add_argument("--metric", default="test_accuracy", help="metric to rank by (default test_accuracy)")
    parser.add_argument("--minimize", action="store_true", help="lower is better (costs, rmse)")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--all-statuses", action="store_true", help="include FAILED and KILLED runs")
    parser.add_argument("--output", type=Path, default=Path("leaderboard.csv"))
    args = parser.parse_args(argv)
    store = sqlite_file(args.tracking_uri)
    if store is not None and not store.is_file():  # opening it would create an empty store
        print(f"error: no MLflow store at {store}; give the one holding the runs with --tracking-uri", file=sys.stderr)
        return 1
    filters = [] if args.all_statuses else ["attributes.status = 'FINISHED'"]
    filters.append("tags.kind != 'study'")
    if args.study:
        filters.append(f"tags.study_name = '{args.study}'")
    runs = search_runs(args.tracking_uri, args.experiment, " and ".join(filters))
    table = leaderboard(runs, args.metric, args.minimize, args.top)
    if table.empty:
        print(f"no runs with metric {args.metric!r} in {args.tracking_uri}", file=sys.stderr)
        return 1
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    table.to_csv(args.output, index=False)
    print(f"saved {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
