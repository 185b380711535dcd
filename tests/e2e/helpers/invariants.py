"""The invariants every fault test checks after the command (and after one resume where the promise
says so), read back from the real stores with Optuna's and MLflow's own APIs:

- every trial has exactly one MLflow run (a child of the study's parent run, tagged with its
  trial number), whose status mirrors the trial's state;
- nothing is RUNNING or WAITING once the budget is done, the parent run included;
- the budget is exact: as many trials used budget as ``search.n_trials``;
- no half-written file (``.partial``) is left anywhere under the project's ``mlruns/``;
- the best run has exactly one registered model version (when a model is registered);
- both SQLite databases pass ``PRAGMA integrity_check``;
- no secret is in any stored byte or printed line.
"""

import sqlite3
from pathlib import Path

import optuna
from mlflow import MlflowClient
from optuna.trial import FrozenTrial, TrialState

# The status each ending gives a run of a FAIL trial (docs/RELIABILITY.md): the trial says why in
# ``outcome``; none means its worker died, and so does ``complete``/``pruned`` on a FAIL trial (the
# worker was killed after recording it, before Optuna wrote the state).
RUN_STATUS = {"failed": "FAILED", "error": "FAILED", "write_failed": "FAILED", "interrupted": "KILLED"}
RUN_STATUS |= {None: "KILLED", "complete": "KILLED", "pruned": "KILLED"}
USES_BUDGET = {"failed", "error"}


def expected_status(trial: FrozenTrial) -> str:
    if trial.state == TrialState.COMPLETE:
        return "FINISHED"
    if trial.state == TrialState.PRUNED:
        return "FINISHED"
    return RUN_STATUS[trial.user_attrs.get("outcome")]


def uses_budget(trial: FrozenTrial) -> bool:
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state == TrialState.FAIL and trial.user_attrs.get("outcome") in USES_BUDGET


def check_records(study: optuna.Study, client: MlflowClient, n_trials: int | None, *, experiment: str) -> None:
    """The invariants of any pair of stores (SQLite files or servers): one run per trial mirroring its state,
    nothing left RUNNING or WAITING, the parent run closed, the budget exact."""
    parent_id = study.user_attrs["mlflow_parent_run_id"]
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    children: dict[str, list] = {}
    for run in client.search_runs([experiment_id], f"tags.`mlflow.parentRunId` = '{parent_id}'", max_results=10_000):
        children.setdefault(run.data.tags.get("trial_number"), []).append(run)
    trials = study.get_trials()
    assert not [t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)], "left running"
    for trial in trials:
        found = children.get(str(trial.number), [])
        assert len(found) == 1, f"trial {trial.number} ({trial.state.name}) has {len(found)} runs"
        status = found[0].info.status
        assert status == expected_status(trial), f"trial {trial.number} {trial.state.name}: run {status}"
    assert set(children) <= {str(t.number) for t in trials}, "a run belongs to no trial"
    assert client.get_run(parent_id).info.status != "RUNNING", "the parent run was left RUNNING"
    if n_trials is not None:
        used = sum(uses_budget(t) for t in trials)
        assert used == n_trials, f"{used} trials used budget, expected exactly {n_trials}"


def check(
    folder: Path,
    study_name: str,
    n_trials: int | None,
    *,
    experiment: str,
    registered: bool = True,
    secrets: tuple[str, ...] = (),
    printed: str = "",
) -> optuna.Study:
    """Assert every invariant for the stores under ``folder/mlruns``; returns the study."""
    mlruns = folder / "mlruns"
    for database in (mlruns / "optuna.db", mlruns / "mlflow.db"):
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok", database
    study = optuna.load_study(study_name=study_name, storage=f"sqlite:///{mlruns / 'optuna.db'}")
    client = MlflowClient(f"sqlite:///{mlruns / 'mlflow.db'}")
    check_records(study, client, n_trials, experiment=experiment)
    partial = [p for p in mlruns.rglob("*") if p.is_file() and (".partial" in p.parts or p.name.startswith(".partial"))]
    assert not partial, f"half-written files left: {partial}"
    complete = [t for t in study.get_trials() if t.state == TrialState.COMPLETE]
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    if registered and complete:
        best_run = study.best_trial.user_attrs["mlflow_run_id"]
        versions = client.search_model_versions(f"run_id = '{best_run}'")
        assert len(versions) == 1, f"the best run has {len(versions)} registered versions"
        for model in client.search_logged_models([experiment_id]):
            assert str(model.status) != "PENDING", f"logged model {model.model_id} stuck PENDING"
    for secret in secrets:
        assert secret not in printed, "a secret was printed"
        for file in folder.rglob("*"):
            if file.is_file():
                assert secret.encode() not in file.read_bytes(), f"a secret is stored in {file}"
    return study
