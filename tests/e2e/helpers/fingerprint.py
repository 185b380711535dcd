"""Everything a small sweep stores, as one comparable JSON document: the efficiency work must keep it.

Run ``python tests/e2e/helpers/fingerprint.py --write`` to record the reference (tests/e2e/data/); the test in
test_records_unchanged.py runs the same sweep and compares. Only what differs between two honest runs
is left out: run ids (replaced by the trial they belong to), times, host names, pids, the git commit,
the third-party package versions, and the folder the sweep ran in.
"""

import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars from the downloads below

import optuna
from mlflow import MlflowClient

REFERENCE = Path(__file__).parents[1] / "data" / "small_sweep_records.json"
# Pruning on (median, reports every epoch, two startup trials), a retried-seed free single worker,
# every record kind: plots and the model of the best trial too.
OVERRIDES = (
    "dataset=iris",
    "study_name=records",
    "train.epochs=12",
    "search.n_trials=10",
    "pruner=median",
    "pruner.report_every=1",
    "pruner.options.n_startup_trials=2",
    "pruner.options.n_warmup_steps=1",
)
VARYING_TAGS = {"git_commit", "host", "pid", "pid_started", "train_seconds", "mlflow.parentRunId", "mlflow.user"}
VARYING_USER_ATTRS = {"worker", "worker_started", "mlflow_run_id"}
VARYING_COLUMNS = {"duration", "datetime_start", "datetime_complete", "worker", "worker_started"}
RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")


def run_sweep(folder: Path, env: dict[str, str]) -> None:
    """The reference sweep in ``folder`` (a fresh one), as a user runs it."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pipeline.sweep", *OVERRIDES], cwd=folder, env=env, check=True,
                   capture_output=True, text=True, timeout=600)  # fmt: skip


def fingerprint(folder: Path) -> dict[str, object]:
    """The stored records of the sweep run in ``folder``, without what varies between honest runs."""
    study = optuna.load_study(study_name="records", storage=f"sqlite:///{folder}/mlruns/optuna.db")
    client = MlflowClient(f"sqlite:///{folder}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("deepsweep-iris")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    names = {run.info.run_id: f"<run of trial {run.data.tags['trial_number']}>" for run in runs
             if "trial_number" in run.data.tags}  # fmt: skip
    names.update({run.info.run_id: "<study run>" for run in runs if run.data.tags.get("kind") == "study"})

    def plain(text: str) -> str:
        text = RUN_ID.sub(lambda match: names.get(match.group(0), "<run id>"), text)
        return text.replace(str(folder), "<folder>")

    trials = [
        {
            "number": trial.number,
            "state": trial.state.name,
            "params": trial.params,
            "values": trial.values,
            "intermediate_values": {str(step): value for step, value in sorted(trial.intermediate_values.items())},
            "user_attrs": {k: v for k, v in sorted(trial.user_attrs.items()) if k not in VARYING_USER_ATTRS},
        }
        for trial in study.trials
    ]
    recorded = []
    for run in sorted(runs, key=lambda run: names.get(run.info.run_id, run.info.run_name)):
        run_id = run.info.run_id
        tags = {key: plain(value) for key, value in sorted(run.data.tags.items()) if _stable_tag(key)}
        history = {key: [(m.step, m.value) for m in client.get_metric_history(run_id, key)]
                   for key in sorted(run.data.metrics)}  # fmt: skip
        recorded.append(
            {
                "run": names.get(run_id, run.info.run_name),
                "status": run.info.status,
                "name": run.info.run_name,
                "params": {key: plain(value) for key, value in sorted(run.data.params.items())},
                "tags": tags,
                "metrics": history,
                "artifacts": _artifacts(client, run_id, folder, plain),
            }
        )
    versions = client.search_model_versions("name = 'deepsweep-iris'")
    models = [{"version": v.version, "run": names.get(v.run_id, "<run id>")} for v in versions]
    return {"trials": trials, "runs": recorded, "models": sorted(models, key=lambda v: int(v["version"]))}


def _stable_tag(key: str) -> bool:
    return (
        key not in VARYING_TAGS
        and not key.startswith("mlflow.source")
        and (key == "deepsweep_version" or not key.endswith("_version"))
    )


def sweep_env() -> dict[str, str]:
    """The user's environment without a tracking URI, one BLAS thread, no progress bars."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    return {**environment, "OPENBLAS_NUM_THREADS": "1", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}


def _artifacts(client: MlflowClient, run_id: str, folder: Path, plain) -> dict[str, object]:
    """Artifact path -> what it holds: a YAML or CSV's text, a summary of a network's arrays; other files
    (figures, the HTML report, the pyfunc model's files) only by their presence."""
    listed, found = [""], {}
    while listed:
        for entry in client.list_artifacts(run_id, listed.pop() or None):
            if entry.is_dir:
                listed.append(entry.path)
            else:
                found[entry.path] = ""
    with tempfile.TemporaryDirectory() as scratch:
        for path in list(found):
            if path.endswith((".yaml", ".csv", ".json")) and not path.startswith("model/"):
                text = Path(client.download_artifacts(run_id, path, scratch)).read_text()
                found[path] = plain(_without_columns(text, VARYING_COLUMNS) if path.endswith(".csv") else text)
            elif path.endswith(".npz"):
                # Each array's shape, sum and sum of squares: compared to 1e-9, not bit for bit, because the
                # last bit of a trained weight depends on the CPU's BLAS kernel (tests/e2e/test_records_unchanged.py).
                local = Path(client.download_artifacts(run_id, path, scratch))
                with np.load(local) as arrays:
                    found[path] = {key: _summary(arrays[key]) for key in sorted(arrays.files)}
    return dict(sorted(found.items()))


def _summary(array: np.ndarray) -> object:
    """A numeric array's shape, sum and sum of squares; anything else (the network's metadata) as it is."""
    if np.issubdtype(array.dtype, np.number):
        return [list(array.shape), float(array.sum()), float((array.astype(np.float64) ** 2).sum())]
    return array.tolist()


def _without_columns(text: str, dropped: set[str]) -> str:
    rows = list(csv.DictReader(io.StringIO(text)))
    kept = [key for key in (rows[0] if rows else {}) if key not in dropped]
    out = io.StringIO()
    writer = csv.DictWriter(out, kept, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/e2e/helpers/fingerprint.py --write   (records the reference)")
    with tempfile.TemporaryDirectory() as work:
        run_sweep(Path(work) / "sweep", sweep_env())
        REFERENCE.parent.mkdir(exist_ok=True)
        REFERENCE.write_text(json.dumps(fingerprint(Path(work) / "sweep"), indent=1) + "\n")
    print(f"wrote {REFERENCE}")
