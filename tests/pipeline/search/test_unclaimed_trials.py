"""A trial whose worker was killed between Optuna creating it and its first heartbeat: Optuna never
finds it stale (it has no heartbeat), so the sweep fails and retries it once it is old enough."""

import datetime
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from pipeline.search import recovery
from pipeline.search import study as studies


def running_trial(started_seconds_ago: float, **user_attrs: object) -> FrozenTrial:
    return FrozenTrial(
        number=0,
        state=TrialState.RUNNING,
        value=None,
        datetime_start=datetime.datetime.now() - datetime.timedelta(seconds=started_seconds_ago),
        datetime_complete=None,
        params={},
        distributions={},
        user_attrs=user_attrs,
        system_attrs={},
        intermediate_values={},
        trial_id=0,
    )


def states(tmp_path: Path, *trials: FrozenTrial) -> list[str]:
    rdb = studies.storage(f"sqlite:///{tmp_path}/optuna.db")
    study = optuna.create_study(storage=rdb, study_name="s")
    for trial in trials:
        study.add_trial(trial)
    recovery.fail_stale_trials(study, rdb)
    return [t.state.name for t in study.get_trials()]


def test_an_old_trial_no_worker_claimed_is_failed_and_retried(tmp_path: Path) -> None:
    assert states(tmp_path, running_trial(recovery.UNCLAIMED_SECONDS + 60)) == ["FAIL", "WAITING"]


def test_a_young_unclaimed_trial_or_a_claimed_one_is_left_to_its_worker(tmp_path: Path) -> None:
    young = running_trial(5)
    claimed = running_trial(recovery.UNCLAIMED_SECONDS + 60, worker="elsewhere:12")  # the heartbeat decides
    assert states(tmp_path, young, claimed) == ["RUNNING", "RUNNING"]
