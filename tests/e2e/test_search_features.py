"""Search as practitioners use it: several objectives (a Pareto front), known starting points, a warm
start from another study, GP and NSGA-II samplers, and a stop when nothing improves. Each runs the real
``python -m pipeline.sweep`` in a fresh folder and reads the real stores back.
"""

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
from optuna.trial import TrialState

pytestmark = pytest.mark.slow

ENV = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
ENV |= {"OPENBLAS_NUM_THREADS": "1"}
# No study report where it is not what a test is about (its figures cost more CPU than these trials); the
# tests that read the page ask for it (REPORT).
QUICK = ("dataset=iris", "train.epochs=8", "tracking.log_plots=none", "tracking.report=false")
REPORT = "tracking.report=true"
TWO = (
    "search.metric=[val_accuracy,n_parameters]",
    "search.direction=[maximize,minimize]",
    "pruner=none",
    "sampler=tpe",
)


def sweep(folder: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "pipeline.sweep", *QUICK, *overrides],
        cwd=folder,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


def study(folder: Path, name: str | None = None) -> optuna.Study:
    """The study ``name``, or the folder's only study (its default name follows the metrics: setup/names.py)."""
    return optuna.load_study(study_name=name, storage=f"sqlite:///{folder}/mlruns/optuna.db")


def test_two_objectives_record_the_pareto_set_and_register_by_the_stated_rule(tmp_path: Path) -> None:
    result = sweep(tmp_path, *TWO, "search.n_trials=8", REPORT)
    assert result.returncode == 0, result.stderr
    found = study(tmp_path)
    pareto = {t.number for t in found.best_trials}
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    parent = client.get_run(found.user_attrs["mlflow_parent_run_id"])
    assert {int(n) for n in parent.data.tags["pareto_trials"].split(",")} == pareto
    rows = json.loads(Path(client.download_artifacts(parent.info.run_id, "pareto.json", str(tmp_path))).read_text())
    assert {row["trial"] for row in rows} == pareto and all(row["run_id"] and "n_parameters" in row for row in rows)
    best = int(parent.data.tags["best_trial_number"])
    assert best in pareto and "best val_accuracy" in parent.data.tags["best_rule"]
    assert found.trials[best].values[0] == max(found.trials[n].values[0] for n in pareto)
    (version,) = client.search_model_versions("name = 'deepsweep-iris'")
    assert version.run_id == found.trials[best].user_attrs["mlflow_run_id"]
    assert "best (the Pareto trial with the best val_accuracy)" in result.stdout
    for trial in found.trials:  # n_parameters is the network's size, recorded in its run
        run = client.get_run(trial.user_attrs["mlflow_run_id"])
        assert run.data.metrics["n_parameters"] == trial.values[1]
    assert "pareto_front.png" in (tmp_path / "mlruns" / "reports" / f"{found.study_name}.html").read_text()


def test_the_balanced_rule_picks_a_pareto_trial_and_says_so(tmp_path: Path) -> None:
    result = sweep(tmp_path, *TWO, "search.n_trials=6", "search.best=balanced")
    assert result.returncode == 0, result.stderr
    assert "nearest the ideal point" in result.stdout
    found = study(tmp_path)
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    tags = client.get_run(found.user_attrs["mlflow_parent_run_id"]).data.tags
    assert int(tags["best_trial_number"]) in {t.number for t in found.best_trials}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ((*TWO[:2], "pruner=median"), "cannot prune a study of several objectives"),
        ((*TWO, "sampler=cmaes"), "sampler=cmaes optimizes one objective"),
        (("search.metric=[val_accuracy,n_parameters]", "search.direction=maximize", "pruner=none"), "one direction"),
        (
            ("search.enqueue=[{learning_rate:5.0}]",),
            "search.enqueue[0]={'learning_rate': 5.0}: learning_rate=5.0 is outside its bounds [0.0001, 0.1]",
        ),
        (("search.enqueue=[{lr:0.1}]",), "'lr' is not a parameter of the search space"),
        (("search.enqueue=[{hidden_activation:swish}]",), "hidden_activation='swish' is not one of its choices"),
        (("search.enqueue=[{depth:1,hidden_units_l2:32}]",), "depth=1 has no layer for ['hidden_units_l2']"),
        (("search.n_trials=1", "search.enqueue=[{depth:1},{depth:2}]"), "has 2 points but search.n_trials=1"),
        (("search.warm_start=no-such-study",), "no such study"),
    ],
)
def test_what_the_search_cannot_do_is_refused_before_any_store_exists(
    tmp_path: Path, overrides: tuple[str, ...], message: str
) -> None:
    result = sweep(tmp_path, *overrides)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    if "warm_start" not in overrides[0]:
        assert not (tmp_path / "mlruns").exists()


@pytest.mark.parametrize("kind", ["yaml", "csv"])
def test_enqueued_points_run_first_with_exactly_those_values_and_only_once(tmp_path: Path, kind: str) -> None:
    points = [
        {"learning_rate": 0.01, "depth": 1, "hidden_units_l1": 32, "hidden_activation": "tanh"},
        {"learning_rate": 0.05, "depth": 2, "hidden_units_l1": 16, "hidden_units_l2": 64, "hidden_activation": "relu"},
    ]
    file = tmp_path / f"points.{kind}"
    if kind == "yaml":
        file.write_text(json.dumps(points), encoding="utf-8")  # JSON is YAML
    else:  # a spreadsheet's export: one column per parameter, empty where a point has no such layer
        header = ["learning_rate", "depth", "hidden_units_l1", "hidden_units_l2", "hidden_activation"]
        rows = [",".join(str(point.get(name, "")) for name in header) for point in points]
        file.write_text("\n".join([",".join(header), *rows]) + "\n", encoding="utf-8")
    folder = tmp_path / "run"
    assert sweep(folder, f"search.enqueue={file}", "search.n_trials=3").returncode == 0
    assert sweep(folder, f"search.enqueue={file}", "search.n_trials=5").returncode == 0  # resumed: no second copy
    trials = study(folder).trials
    assert len(trials) == 5
    assert [trials[0].params, trials[1].params] == points
    assert sum(bool(t.user_attrs.get("enqueued")) for t in trials) == 2


def test_a_warm_start_runs_the_best_trials_of_another_study_first(tmp_path: Path) -> None:
    assert sweep(tmp_path, "search.n_trials=4", "study_name=first").returncode == 0
    result = sweep(
        tmp_path, "search.n_trials=3", "study_name=second", "search.warm_start=first", "search.warm_start_top=2"
    )
    assert result.returncode == 0, result.stderr
    source = sorted(study(tmp_path, "first").get_trials(states=(TrialState.COMPLETE,)), key=lambda t: -t.value)
    second = study(tmp_path, "second").trials
    assert [second[0].params, second[1].params] == [source[0].params, source[1].params]
    assert "warm start: the best 2 trials of study 'first' run first" in result.stdout


# Optuna's GP sampler takes categorical parameters and several objectives (checked with optuna 5.1),
# so only a missing PyTorch refuses it; the second gp case minimizes the seconds per epoch too.
SPEED = ("search.metric=[val_accuracy,train_seconds]", "search.direction=[maximize,minimize]", "pruner=none")


@pytest.mark.parametrize(
    ("sampler", "extra"),
    [("gp", ()), ("gp", SPEED), ("nsgaii", TWO[:3]), ("nsgaiii", SPEED)],
    ids=["gp", "gp-two-objectives", "nsgaii", "nsgaiii"],
)
def test_gp_and_nsga_sweeps_complete(tmp_path: Path, sampler: str, extra: tuple[str, ...]) -> None:
    result = sweep(tmp_path, f"sampler={sampler}", "search.n_trials=6", "tracking.log_model=none", *extra)
    assert result.returncode == 0, result.stderr
    found = study(tmp_path)
    assert len(found.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))) == 6
    if "search.metric=[val_accuracy,train_seconds]" in extra:  # seconds per epoch of the run's training time
        client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
        for trial in found.trials:
            total = float(client.get_run(trial.user_attrs["mlflow_run_id"]).data.tags["train_seconds"])
            assert trial.values[1] > 0 and trial.values[1] == pytest.approx(total / 8, abs=1e-4)  # 8 epochs


def test_patience_stops_a_sweep_whose_metric_cannot_improve(tmp_path: Path) -> None:
    # Every trial trains the same network (one fixed value searched, one seed for all): nothing improves.
    same = (
        "search.space.learning_rate.low=0.01",
        "search.space.learning_rate.high=0.01",
        "search.space.depth.high=1",
        "search.space.hidden_units.low=16",
        "search.space.hidden_units.high=16",
        "search.space.hidden_activation.choices=[relu]",
        "search.seed_per_trial=false",
    )
    overrides = (*same, "search.n_trials=20", "search.patience=3", "pruner=none", "tracking.log_model=none")
    result = sweep(tmp_path, *overrides)
    assert result.returncode == 0, result.stderr
    assert len(study(tmp_path).trials) == 4, "the first trial, then three that did not improve"
    assert "stopped early: search.patience=3: 3 trials in a row did not improve val_accuracy" in result.stdout
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    parent = client.get_run(study(tmp_path).user_attrs["mlflow_parent_run_id"])
    assert parent.data.tags["stopped_early"].startswith("search.patience=3")
    again = sweep(tmp_path, *overrides)  # a resume counts toward the same budget and stops at once
    assert again.returncode == 0 and len(study(tmp_path).trials) == 4
    # A resume with more patience runs on, and says (and stores) the new reason, not the old one
    patient = sweep(tmp_path, *overrides[:-4], "search.n_trials=20", "search.patience=5", "pruner=none",
                    "tracking.log_model=none")  # fmt: skip
    assert patient.returncode == 0 and len(study(tmp_path).trials) == 6
    assert "stopped early: search.patience=5: 5 trials" in patient.stdout and "patience=3" not in patient.stdout
    parent = client.get_run(study(tmp_path).user_attrs["mlflow_parent_run_id"])
    assert parent.data.tags["stopped_early"].startswith("search.patience=5")
    # ... and without patience it runs to its budget, with no stop reason left behind
    unlimited = sweep(tmp_path, *overrides[:-4], "search.n_trials=8", "pruner=none", "tracking.log_model=none")
    assert unlimited.returncode == 0 and len(study(tmp_path).trials) == 8 and "stopped early:" not in unlimited.stdout
    parent = client.get_run(study(tmp_path).user_attrs["mlflow_parent_run_id"])
    assert "stopped_early" not in parent.data.tags
    invariants.check(tmp_path, "iris-sweep", 8, experiment="deepsweep-iris", registered=False)


def test_two_objectives_with_nothing_else_named_run_and_record_the_pareto_set(tmp_path: Path) -> None:
    """`search.metric=[val_accuracy,n_parameters]` alone: the directions follow the metrics, sampler=auto and
    pruner=auto choose what several objectives need, and the report's best-trial heading is the chosen trial."""
    result = sweep(tmp_path, "search.metric=[val_accuracy,n_parameters]", "search.n_trials=6", REPORT)
    assert result.returncode == 0, result.stderr
    assert "search: sampler tpe (auto: 2 objectives, 6 trials), pruner none (auto: several objectives" in result.stdout
    found = study(tmp_path)
    assert [d.name for d in found.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert {t.state for t in found.trials} == {TrialState.COMPLETE}
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    parent = client.get_run(found.user_attrs["mlflow_parent_run_id"])
    assert {int(n) for n in parent.data.tags["pareto_trials"].split(",")} == {t.number for t in found.best_trials}
    assert (parent.data.params["sampler"], parent.data.params["pruner"]) == ("tpe", "none")
    assert found.study_name == "iris-sweep-val_accuracy-n_parameters", "the default name follows the metrics"
    page = (tmp_path / "mlruns" / "reports" / f"{found.study_name}.html").read_text()
    assert f"<p id='best-trial'>Trial {parent.data.tags['best_trial_number']}:" in page


def test_repeats_train_every_seed_into_one_run_per_trial_and_rerun_exactly(tmp_path: Path) -> None:
    result = sweep(tmp_path, "search.n_trials=3", "search.repeats=3", "pruner=none")
    assert result.returncode == 0, result.stderr
    found = study(tmp_path)
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("deepsweep-iris").experiment_id])
    trial_runs = [run for run in runs if run.data.tags.get("kind") == "trial"]
    assert len(trial_runs) == len(found.trials) == 3, "one run per trial, whatever the repeats"
    for trial in found.trials:
        run = client.get_run(trial.user_attrs["mlflow_run_id"])
        seeds = [run.data.metrics[f"seed{i}_val_accuracy"] for i in range(3)]
        assert len(trial.user_attrs["seed_values"]) == 3 and seeds == trial.user_attrs["seed_values"]
        assert trial.value == pytest.approx(sum(seeds) / 3, rel=1e-12), "the objective is the seeds' mean"
        assert run.data.metrics["val_accuracy_mean"] == pytest.approx(trial.value, rel=1e-12)
        assert run.data.metrics["val_accuracy_sd"] == pytest.approx(float(np.std(seeds, ddof=1)), rel=1e-9)
        assert run.data.metrics["seed0_val_accuracy"] == run.data.metrics["val_accuracy"], "seed 0 is recorded in full"
        assert all(f"seed{i}_final_train_accuracy" in run.data.metrics for i in range(3))
    assert "over 3 seeds of trial" in result.stdout and "its own repeats (search.repeats)" in result.stdout
    best_run = found.best_trial.user_attrs["mlflow_run_id"]
    rerun = subprocess.run(
        [sys.executable, "-m", "pipeline.rerun", best_run], cwd=tmp_path, env=ENV, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "metrics match exactly" in rerun.stdout


def test_without_repeats_the_best_is_retrained_with_other_seeds_and_stated_with_its_spread(tmp_path: Path) -> None:
    result = sweep(tmp_path, "search.n_trials=4", "search.confirm_seeds=2", "pruner=none", REPORT)
    assert result.returncode == 0, result.stderr
    found = study(tmp_path)
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    parent = client.get_run(found.user_attrs["mlflow_parent_run_id"])
    values = json.loads(parent.data.tags["best_seed_values"])
    assert len(values) == 3 and values[0] == found.best_value, "the search's own value, then two retrainings"
    assert parent.data.metrics["best_val_accuracy_mean"] == pytest.approx(float(np.mean(values)), rel=1e-12)
    assert parent.data.metrics["best_val_accuracy_sd"] == pytest.approx(float(np.std(values, ddof=1)), rel=1e-9)
    assert "with other seeds: val_accuracy" in result.stdout and "over 3 seeds" in result.stdout
    assert "mean ± sd over 3 seeds" in (tmp_path / "mlruns" / "reports" / "iris-sweep.html").read_text()


def test_more_starting_points_than_the_budget_are_refused_before_anything_is_archived(tmp_path: Path) -> None:
    assert sweep(tmp_path, "search.n_trials=4", "study_name=first", "pruner=none").returncode == 0
    too_many = sweep(tmp_path, "search.n_trials=2", "study_name=second", "search.warm_start=first")
    assert too_many.returncode == 1 and "Traceback" not in too_many.stderr
    assert "starting points" in too_many.stderr and "search.n_trials=2" in too_many.stderr
    names = {s.study_name for s in optuna.get_all_study_summaries(f"sqlite:///{tmp_path}/mlruns/optuna.db")}
    assert names == {"first"}, "nothing created, nothing left waiting"
    # new_study=true warm-starting from the study it replaces: refused with the old study untouched...
    again = sweep(tmp_path, "search.n_trials=2", "study_name=first", "new_study=true", "search.warm_start=first")
    assert again.returncode == 1 and len(study(tmp_path, "first").trials) == 4
    assert not [n for n in optuna.get_all_study_summaries(f"sqlite:///{tmp_path}/mlruns/optuna.db")
                if n.study_name.startswith("first-archived")]  # fmt: skip
    # ... and, within the budget, it reads the old study's best before archiving it
    fine = sweep(tmp_path, "search.n_trials=3", "study_name=first", "new_study=true", "search.warm_start=first",
                 "search.warm_start_top=2", "pruner=none")  # fmt: skip
    assert fine.returncode == 0, fine.stderr
    assert "warm start: the best 2 trials of study 'first' run first" in fine.stdout
    assert len(study(tmp_path, "first").trials) == 3
    invariants.check(tmp_path, "first", 3, experiment="deepsweep-iris")
