"""``python -m pipeline.compare``: a leaderboard across MLflow runs, printed and saved as CSV.

Sweep trials and single training runs (reruns among them) are printed as two tables that fit a
120-column terminal; the CSV (``mlruns/leaderboard.csv`` beside the store unless ``--output``) keeps
every column and the full run ids.

Examples::

    python -m pipeline.compare                          # every trial and training run, best first
    python -m pipeline.compare --experiment deepsweep-digits --metric test_accuracy --top 20
    python -m pipeline.compare --study digits-sweep --output leaderboard.csv
    python -m pipeline.compare --studies digits-sweep digits-random   # two studies overlaid, one HTML page
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

from pipeline.console import mask_output
from pipeline.record_names import DEFAULT_STORAGE, DEFAULT_TRACKING_URI, KIND_TAG, STUDY_TAG, TRIAL_NUMBER_TAG
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
    "tags.kind",
    "tags.rerun_of",
    "tags.trial_state",
)
WIDTH = 120  # an ordinary terminal
# Printed column -> its CSV column; the printed tables are narrowed in this order of importance.
SHORT = {"hidden_activation": "activation", "learning_rate": "lr", TRIAL_NUMBER_TAG: "trial", STUDY_TAG: "study"}


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
    mask_output()
    parser = argparse.ArgumentParser(prog="python -m pipeline.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", default=DEFAULT_TRACKING_URI)
    parser.add_argument("--experiment", action="append", help="experiment name (repeatable); default: all")
    parser.add_argument("--study", help="only the trials of this study")
    parser.add_argument("--metric", default="test_accuracy", help="metric to rank by (default test_accuracy)")
    parser.add_argument("--minimize", action="store_true", help="lower is better (costs, rmse)")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--all-statuses", action="store_true", help="include FAILED and KILLED runs")
    parser.add_argument("--output", type=Path, help="CSV file to write (default: leaderboard.csv beside the store)")
    parser.add_argument(
        "--studies", nargs="+", help="overlay these studies (best so far, importances) in one HTML page instead"
    )
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help="the Optuna storage of --studies")
    args = parser.parse_args(argv)
    if args.studies:
        return compare_studies_command(args.storage, args.studies, args.output)
    store = sqlite_file(args.tracking_uri)
    if store is not None and not store.is_file():  # opening it would create an empty store
        print(f"error: no MLflow store at {store}; give the one holding the runs with --tracking-uri", file=sys.stderr)
        return 1
    filters = [] if args.all_statuses else ["attributes.status = 'FINISHED'"]
    filters.append("tags.kind != 'study'")
    if args.study:
        filters.append(f"tags.study_name = '{args.study}'")
    runs = search_runs(args.tracking_uri, args.experiment, " and ".join(filters))
    ranked = leaderboard(runs, args.metric, args.minimize, len(runs))
    # --top per section: the best sweep trials and the best training runs.
    kinds = ranked[KIND_TAG].fillna("train") if KIND_TAG in ranked.columns else pd.Series("train", index=ranked.index)
    table = ranked.groupby(kinds, sort=False, group_keys=False).head(args.top)
    if table.empty:
        print(f"no runs with metric {args.metric!r} in {args.tracking_uri}", file=sys.stderr)
        return 1
    print(render(table, args.metric))
    output = args.output or default_output(args.tracking_uri)
    output.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(output, index=False)
    print(f"saved {output}")
    return 0


def compare_studies_command(storage: str, names: list[str], output: Path | None) -> int:
    """``--studies``: write the comparison page, print one line per study and where the page is."""
    from pipeline.errors import ConfigError
    from pipeline.search.comparison import compare_studies

    database = sqlite_file(storage)
    if database is not None and not database.is_file():  # opening it would create an empty storage
        print(
            f"error: no Optuna storage at {database}; give the one holding the studies with --storage", file=sys.stderr
        )
        return 1
    if len(names) < 2:
        print("error: --studies needs two or more study names", file=sys.stderr)
        return 1
    try:
        page, lines = compare_studies(storage, names)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    folder = (database.parent if database is not None else Path("mlruns")) / "reports"
    target = output or folder / f"compare-{'-vs-'.join(names)}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    print("\n".join(lines))
    print(f"comparison: {target}")
    return 0


def default_output(tracking_uri: str) -> Path:
    """``leaderboard.csv`` beside a SQLite store (``mlruns/``), else in ``mlruns/`` of this folder."""
    store = sqlite_file(tracking_uri)
    return (store.parent if store is not None else Path("mlruns")) / "leaderboard.csv"


def render(table: pd.DataFrame, metric: str, width: int = WIDTH) -> str:
    """The leaderboard as text: sweep trials, then training runs, each at most ``width`` columns wide."""
    kinds = table[KIND_TAG] if KIND_TAG in table.columns else pd.Series(["train"] * len(table), index=table.index)
    trials, runs = table[kinds == "trial"], table[kinds != "trial"]
    parts = []
    if not trials.empty:
        parts.append(
            f"sweep trials, best {metric} first:\n" + _text(trials, metric, [STUDY_TAG, TRIAL_NUMBER_TAG], width)
        )
    if not runs.empty:
        parts.append(f"training runs (pipeline.train, reruns), best {metric} first:\n" + _text(runs, metric, [], width))
    return "\n\n".join(parts)


def _text(rows: pd.DataFrame, metric: str, leading: list[str], width: int) -> str:
    metrics = [c for c in dict.fromkeys([metric, *(c for c in rows.columns if c.startswith("test_"))]) if c in rows]
    params = [c for c in ("depth", "hidden_units", "hidden_activation", "learning_rate", "optimizer") if c in rows]
    shown = rows[[*leading, *metrics, *params]].copy()
    shown.insert(len(leading), "run", rows["run_id"].str[:8])
    if "rerun_of" in rows and rows["rerun_of"].notna().any():
        shown["rerun_of"] = rows["rerun_of"].fillna("").str[:8]
    if TRIAL_NUMBER_TAG in shown:
        shown[TRIAL_NUMBER_TAG] = shown[TRIAL_NUMBER_TAG].astype(str)
    if "learning_rate" in shown:
        shown["learning_rate"] = pd.to_numeric(shown["learning_rate"], errors="coerce").map(lambda v: f"{v:.3g}")
    shown = shown.rename(columns=SHORT).fillna("")
    text = shown.to_string(index=False, float_format=lambda v: f"{v:.4f}")
    while max(map(len, text.splitlines())) > width and shown.shape[1] > 2:
        shown = shown.iloc[:, :-1]  # the least important column goes first
        text = shown.to_string(index=False, float_format=lambda v: f"{v:.4f}")
    return text


if __name__ == "__main__":
    sys.exit(main())
