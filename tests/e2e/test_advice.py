"""The course's third part through the real ``python -m pipeline.sweep``: satisficing limits that change the
registered model, bias and variance against the generator's Bayes error, the best model's error analysis, and
the data curve — each read back from the real stores."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from helpers import invariants
from mlflow import MlflowClient

from models import DeepNetwork
from pipeline.setup.config import DatasetConfig
from pipeline.setup.data import load

pytestmark = pytest.mark.slow

ENV = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
ENV |= {"OPENBLAS_NUM_THREADS": "1"}
COURSE = Path(__file__).resolve().parents[3] / "shared" / "data" / "course"


def sweep(folder: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "pipeline.sweep", "tracking.log_plots=none", *overrides],
        cwd=folder,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )


def stores(folder: Path, name: str) -> tuple[optuna.Study, MlflowClient]:
    found = optuna.load_study(study_name=name, storage=f"sqlite:///{folder}/mlruns/optuna.db")
    return found, MlflowClient(f"sqlite:///{folder}/mlruns/mlflow.db")


def artifact(client: MlflowClient, run_id: str, path: str, folder: Path) -> str:
    return Path(client.download_artifacts(run_id, path, str(folder))).read_text()


QUICK = ("dataset=iris", "train.epochs=8", "sampler=random", "pruner=none", "search.n_trials=6")
QUICK += ("search.confirm_seeds=0", "search.data_curve=[]")
# For the sweeps whose study report no test reads: its figures cost more CPU than these trials.
NO_REPORT = "tracking.report=false"


def test_a_limit_that_excludes_the_otherwise_best_trial_changes_the_registered_model(tmp_path: Path) -> None:
    free = sweep(tmp_path, *QUICK, "study_name=free", NO_REPORT)
    assert free.returncode == 0, free.stderr
    study, client = stores(tmp_path, "free")
    best = study.best_trial
    sizes = {t.number: client.get_run(t.user_attrs["mlflow_run_id"]).data.metrics["n_parameters"] for t in study.trials}
    smaller = [size for size in sizes.values() if size < sizes[best.number]]
    limit = f"{{max: {max(smaller)}}}" if smaller else f"{{min: {sizes[best.number] + 1}}}"
    limited = sweep(tmp_path, *QUICK, "study_name=limited", f"search.constraints={{n_parameters: {limit}}}", NO_REPORT)
    assert limited.returncode == 0, limited.stderr
    assert "does not read them when it samples" in limited.stdout  # random samples blind: said once
    assert limited.stdout.count("does not read them") == 1
    study2, _ = stores(tmp_path, "limited")
    # The same seed and a blind sampler: the same six networks, now judged by the limit too.
    assert [t.params for t in study2.trials] == [t.params for t in study.trials]
    assert not all(v <= 0 for v in study2.trials[best.number].constraints.values())
    chosen = study2.best_trial
    assert chosen.number != best.number and all(v <= 0 for v in chosen.constraints.values())
    versions = {str(v.version): v.run_id for v in client.search_model_versions("name='deepsweep-iris'")}
    assert versions == {"1": best.user_attrs["mlflow_run_id"], "2": chosen.user_attrs["mlflow_run_id"]}
    # The limited study's best is one of the same trials, never better: the champion stays version 1.
    assert str(client.get_model_version_by_alias("deepsweep-iris", "champion").version) == "1"
    assert str(client.get_model_version_by_alias("deepsweep-iris", "limited").version) == "2"
    assert "served by default: deepsweep-iris@champion is version 1 (kept:" in limited.stdout
    parent = client.get_run(study2.user_attrs["mlflow_parent_run_id"]).data.tags
    assert parent["best_trial_number"] == str(chosen.number) and int(parent["trials_infeasible"]) >= 1
    assert "complete trials infeasible" in limited.stdout and "limits" in limited.stdout  # the leaderboard's column
    assert str(chosen.user_attrs["mlflow_run_id"]) in limited.stdout.split("rerun it:")[1]
    invariants.check(tmp_path, "limited", 6, experiment="deepsweep-iris")


def test_no_trial_meeting_the_limits_ends_with_one_error_line(tmp_path: Path) -> None:
    result = sweep(tmp_path, *QUICK, "search.n_trials=2", "search.constraints={n_parameters: {max: 1}}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: no complete trial meets search.constraints")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ("search.constraints={test_accuracy: {min: 0.9}}", "test split never chooses"),
        ("search.constraints={val_f2: {max: 1}}", "records val_f2"),
        ("search.data_curve=[0,0.5]", "search.data_curve"),
        ("dataset.human_error=5", "below 1"),
        ("search.colour_by=l2", "search.colour_by='l2' is not a searched parameter"),
    ],
)
def test_bad_limits_and_references_are_refused_before_anything_is_created(
    tmp_path: Path, override: str, said: str
) -> None:
    result = sweep(tmp_path, *QUICK, override)
    assert result.returncode == 1 and said in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "mlruns").exists()


def test_the_diagnosis_measures_bias_from_the_generators_bayes_error(tmp_path: Path) -> None:
    result = sweep(tmp_path, "experiment=diagnosis_moons", "search.n_trials=4", "train.epochs=6",
                   "search.colour_by=learning_rate")  # fmt: skip
    assert result.returncode == 0, result.stderr
    study, client = stores(tmp_path, "moons-course-diagnosis")
    parent = client.get_run(study.user_attrs["mlflow_parent_run_id"])
    assert parent.data.tags["reference"].startswith("Bayes error") and "Monte Carlo" in parent.data.tags["reference"]
    assert parent.data.tags["diagnosis"].startswith(f"trial {study.best_trial.number}: train error")
    for trial in study.trials:
        metrics = client.get_run(trial.user_attrs["mlflow_run_id"]).data.metrics
        assert 0.02 < metrics["reference_error"] < 0.04  # make_moons(noise=0.2): about 2.9 %
        assert metrics["final_train_error"] == pytest.approx(1 - metrics["final_train_accuracy"])
        assert metrics["avoidable_bias"] == pytest.approx(metrics["final_train_error"] - metrics["reference_error"])
        assert metrics["variance"] == pytest.approx(metrics["final_val_error"] - metrics["final_train_error"])
    assert "diagnosis: trial" in result.stdout and "try next:" in result.stdout
    page = Path(parent.data.tags["report"]).read_text()
    assert "id='diagnosis'" in page and "id='bias_variance.png'" in page and "Bayes error" in page
    assert "Bias and variance per trial, coloured by learning_rate" in page
    # The data curve: the default shares of the training split, then the whole split (the best trial itself).
    sizes = [m.step for m in client.get_metric_history(parent.info.run_id, "data_curve_val_error")]
    assert sizes == sorted(sizes) and len(sizes) == 4 and "id='data_curve.png'" in page
    again = sweep(tmp_path, "experiment=diagnosis_moons", "search.n_trials=4", "train.epochs=6",
                  "search.colour_by=learning_rate")  # fmt: skip
    assert again.returncode == 0 and "nothing to run" in again.stdout, again.stderr
    # The summary repeated for the same best: its curve is not logged a second time.
    assert len(client.get_metric_history(parent.info.run_id, "data_curve_val_error")) == 4


def check_error_analysis(folder: Path, study_name: str, dataset: DatasetConfig, image: bool) -> str:
    """The best run's error analysis agrees with its own network's predictions on the val split."""
    study, client = stores(folder, study_name)
    best = study.best_trial
    run_id = best.user_attrs["mlflow_run_id"]
    network = DeepNetwork.load(Path(client.download_artifacts(run_id, "network.npz", str(folder))))
    data = load(dataset, 0)
    predicted = network.predict(data.X_val).reshape(-1)
    true = data.Y_val.reshape(-1)
    rows = list(csv.DictReader(io.StringIO(artifact(client, run_id, "error_analysis/mistakes.csv", folder))))
    assert {int(row["val_index"]) for row in rows} == set(np.flatnonzero(predicted != true))
    assert all(row["category"] == "" for row in rows)  # to fill in by hand
    assert all(row["true"] == data.class_names[true[int(row["val_index"])]] for row in rows)
    confidences = [float(row["confidence"]) for row in rows]
    assert confidences == sorted(confidences, reverse=True)  # most confident first
    matrix = list(csv.reader(io.StringIO(artifact(client, run_id, "error_analysis/confusion_matrix.csv", folder))))
    counts = np.array([[int(v) for v in row[1:]] for row in matrix[1:]])
    assert counts.sum() == len(true) and np.trace(counts) == int(np.sum(predicted == true))
    summary = json.loads(artifact(client, run_id, "error_analysis/summary.json", folder))
    assert summary["mistakes"] == len(rows)
    page = Path(client.get_run(study.user_attrs["mlflow_parent_run_id"]).data.tags["report"]).read_text()
    assert "id='confusion_matrix.png'" in page and ("id='mistakes.png'" in page) == (image and bool(rows))
    return page


def test_error_analysis_of_digits_agrees_with_the_best_models_predictions(tmp_path: Path) -> None:
    result = sweep(tmp_path, "search.n_trials=3", "train.epochs=4", "search.confirm_seeds=0", "study_name=digits-ea")
    assert result.returncode == 0, result.stderr
    check_error_analysis(tmp_path, "digits-ea", DatasetConfig(name="digits"), image=True)
    assert "error analysis:" in result.stdout


def test_error_analysis_of_tabular_data_lists_mistakes_as_rows(tmp_path: Path) -> None:
    result = sweep(tmp_path, "dataset=wine", "search.n_trials=3", "train.epochs=2", "search.confirm_seeds=0")
    assert result.returncode == 0, result.stderr
    page = check_error_analysis(tmp_path, "wine-sweep", DatasetConfig(name="wine"), image=False)
    assert "Most confident mistakes:" in page or "0 of" in result.stdout


def test_error_analysis_of_the_cat_pictures(tmp_path: Path) -> None:
    if not (COURSE / "train_catvnoncat.h5").is_file():
        pytest.skip(f"the course's train_catvnoncat.h5 is not in {COURSE}")
    result = sweep(
        tmp_path, "experiment=diagnosis_cat", f"dataset.path={COURSE}", "search.n_trials=2", "train.epochs=3",
        "search.confirm_seeds=0", "search.data_curve=[]",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    check_error_analysis(tmp_path, "cat-diagnosis", DatasetConfig(name="catvnoncat", path=str(COURSE)), image=True)


def test_a_refined_study_searches_inside_the_coarse_ones_bounds_and_links_to_it(tmp_path: Path) -> None:
    coarse = sweep(tmp_path, *QUICK, "search.n_trials=8", "study_name=coarse", NO_REPORT)
    assert coarse.returncode == 0, coarse.stderr
    fine = sweep(tmp_path, *QUICK, "study_name=fine", "search.refine_from=coarse")
    assert fine.returncode == 0, fine.stderr
    assert "coarse to fine: the space around the best 3 trials of study 'coarse'" in fine.stdout
    wide, client = stores(tmp_path, "coarse")
    narrow, _ = stores(tmp_path, "fine")
    for trial in narrow.trials:
        for name, distribution in trial.distributions.items():
            outer = wide.trials[0].distributions.get(name) or next(
                t.distributions[name] for t in wide.trials if name in t.distributions
            )
            if hasattr(distribution, "low"):
                assert outer.low <= distribution.low <= trial.params[name] <= distribution.high <= outer.high
            else:
                assert set(distribution.choices) <= set(outer.choices)
    parent = client.get_run(narrow.user_attrs["mlflow_parent_run_id"]).data.tags
    assert parent["refined_from"] == "coarse"
    assert parent["coarse_parent_run_id"] == wide.user_attrs["mlflow_parent_run_id"]
    page = Path(parent["report"]).read_text()
    assert "id='refined'" in page and "coarse range" in page
    missing = sweep(tmp_path / "other", *QUICK, "search.refine_from=nowhere")
    assert missing.returncode == 1 and "search.refine_from='nowhere': no such study" in missing.stderr


def test_a_binary_sweep_can_optimize_f1_measured_once_after_training(tmp_path: Path) -> None:
    quick = ("dataset=breast_cancer", "train.epochs=4", "search.n_trials=3", "search.confirm_seeds=0", NO_REPORT)
    result = sweep(tmp_path, *quick, "search.metric=val_f1", "search.data_curve=[]")
    assert result.returncode == 0, result.stderr
    assert "pruner none (auto: val_f1 is measured once, after training" in result.stdout
    study, client = stores(tmp_path, "breast_cancer-sweep-val_f1")
    for trial in study.trials:
        metrics = client.get_run(trial.user_attrs["mlflow_run_id"]).data.metrics
        assert trial.value == metrics["val_f1"] and {"val_precision", "val_recall"} <= set(metrics)
        p, r = metrics["val_precision"], metrics["val_recall"]
        assert metrics["val_f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)
    refused = sweep(tmp_path / "b", *quick, "search.metric=val_f1", "pruner=median")
    assert refused.returncode == 1 and "cannot prune on val_f1" in refused.stderr
    multiclass = sweep(tmp_path / "c", "dataset=iris", "search.metric=val_f1")
    assert multiclass.returncode == 1 and "search.metric=val_f1 is never logged" in multiclass.stderr
