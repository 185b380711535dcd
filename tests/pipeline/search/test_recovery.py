"""The dead-worker protocol (pipeline/search/recovery.py) in-process: a real study storage, a fake recorder.

The subprocess kills of tests/e2e (test_faults, test_hosts) remain the outer proof; these pin each rule down
in milliseconds: which trials are dead, how a retry is made, and how runs are made to mirror their trials.
"""

import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from pipeline.record_names import (
    PARENT_ATTR,
    RETRY_OF_ATTR,
    RUN_ID_ATTR,
    TRIAL_NUMBER_TAG,
    WORKER_ATTR,
    WORKER_STARTED_ATTR,
)
from pipeline.records.locks import process_started
from pipeline.records.tracking import STATUS_FINISHED, STATUS_KILLED
from pipeline.search import recovery
from pipeline.search import study as studies
from pipeline.search.outcomes import Outcome

HERE = f"{socket.gethostname()}:{os.getpid()}"
# The storage has heartbeats on (as every sweep's); these trials are made by hand, not by Study.optimize.
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")


def _study(tmp_path: Path) -> tuple[optuna.Study, optuna.storages.RDBStorage]:
    rdb = studies.storage(f"sqlite:///{tmp_path}/optuna.db")
    return optuna.create_study(storage=rdb, study_name="s"), rdb


def _running(study: optuna.Study, **attrs: object) -> None:
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    for key, value in attrs.items():
        trial.set_user_attr(key, value)


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


@pytest.mark.parametrize(
    ("attrs", "dead"),
    [
        ({WORKER_ATTR: HERE, WORKER_STARTED_ATTR: process_started(os.getpid())}, False),  # this very process
        ({WORKER_ATTR: HERE}, False),  # an older trial: the pid alone decides
        # the pid is alive, but it is another process than the one that started the trial (a restarted
        # container reusing pids): dead at once, not after the heartbeat grace
        ({WORKER_ATTR: HERE, WORKER_STARTED_ATTR: "another-boot/12"}, True),
        ({WORKER_ATTR: f"{socket.gethostname()}:{_dead_pid()}"}, True),
        ({WORKER_ATTR: "elsewhere:1"}, False),  # another machine: its heartbeat decides
    ],
)
def test_which_running_trials_are_dead(tmp_path: Path, attrs: dict, dead: bool) -> None:
    study, _ = _study(tmp_path)
    _running(study, **attrs)
    assert [t.number for t in recovery.dead_trials(study)] == ([0] if dead else [])


def test_a_dead_trial_is_failed_and_retried_with_its_parameters_at_most_twice(tmp_path: Path) -> None:
    study, rdb = _study(tmp_path)
    _running(study, **{WORKER_ATTR: "h:1", WORKER_STARTED_ATTR: "b/1", RUN_ID_ATTR: "r0", "train_seed": 7})
    for attempt in range(recovery.MAX_RETRIES + 1):
        recovery.fail_and_retry(study, rdb, [study.get_trials()[-1]])
        waiting = study.get_trials(states=(TrialState.WAITING,))
        if attempt == recovery.MAX_RETRIES:
            assert not waiting  # given up: the trial stays FAIL
            break
        (retry,) = waiting
        assert retry.params == study.trials[0].params
        assert retry.user_attrs == {"train_seed": 7, RETRY_OF_ATTR: study.trials[-2].number}  # no attempt attrs
        trial = study.ask()  # the retry starts
        assert trial.number == retry.number
    assert [t.state for t in study.trials].count(TrialState.FAIL) == recovery.MAX_RETRIES + 1


@dataclass
class FakeRun:
    run_id: str
    status: str
    trial: int

    @property
    def info(self) -> "FakeRun":
        return self

    @property
    def data(self) -> "FakeRun":
        return self

    @property
    def tags(self) -> dict[str, str]:
        return {TRIAL_NUMBER_TAG: str(self.trial)}


@dataclass
class FakeRecorder:
    run_id: str
    closed: dict[str, tuple[str, str | None]]
    tags: dict[str, str] = field(default_factory=dict)

    def add_tags(self, tags: dict[str, str]) -> None:
        self.tags.update(tags)

    def finish(self, status: str, reason: str | None = None) -> None:
        self.closed[self.run_id] = (status, reason)


@dataclass
class FakeTracker:
    """What ``reconcile`` asks of a ``Tracker``: the study's runs, and recorders to close them."""

    runs: list[FakeRun]
    closed: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)

    def search(self, filter_string: str) -> list[FakeRun]:
        """The two filters ``reconcile`` uses under the parent run: runs not FINISHED, or one trial's runs."""
        assert "parent-run" in filter_string
        if "attributes.status != 'FINISHED'" in filter_string:
            return [run for run in self.runs if run.status != STATUS_FINISHED]
        number = re.search(rf"tags.`{TRIAL_NUMBER_TAG}` = '(\d+)'", filter_string)
        assert number is not None, filter_string
        return [run for run in self.runs if run.trial == int(number.group(1))]

    def recorder(self, run_id: str) -> FakeRecorder:
        return FakeRecorder(run_id, self.closed)

    def start_run(self, name: str, tags: dict[str, str], parent_run_id: str) -> FakeRecorder:
        self.started.append(name)
        return FakeRecorder(f"new-{tags[TRIAL_NUMBER_TAG]}", self.closed)


def test_every_ended_trial_gets_exactly_one_run_with_its_status(tmp_path: Path) -> None:
    study, _ = _study(tmp_path)
    study.set_user_attr(PARENT_ATTR, "parent-run")
    distribution = {"x": optuna.distributions.FloatDistribution(0, 1)}
    complete = study.ask(distribution)
    study.tell(complete, 0.5)  # its worker died after telling Optuna, before closing its run
    failed = study.ask(distribution)
    study.tell(failed, state=TrialState.FAIL)  # its worker died before its run existed
    study.ask(distribution)  # still running: its worker owns the run
    tracker = FakeTracker([FakeRun("run-0", "RUNNING", 0), FakeRun("run-2", "RUNNING", 2)])
    recovery.reconcile(study, tracker)
    assert tracker.closed["run-0"] == (STATUS_FINISHED, None)
    # a FAIL without a recorded reason is a worker that died: KILLED, as MLflow draws a crash
    assert tracker.closed["new-1"] == (STATUS_KILLED, f"{recovery.REASONS[Outcome.DIED]} before its run existed")
    assert "run-2" not in tracker.closed and tracker.started == ["trial-1 [died]"]


def test_a_trial_that_starts_and_ends_while_the_runs_are_read_is_not_given_a_second_run(tmp_path: Path) -> None:
    """Another worker can start and end a short trial between ``reconcile``'s two reads. Read in the order runs,
    then trials, that trial looked ended and without a run, and was given a second, FINISHED one (CI: four sweeps
    at once recorded 104 trial runs for 100 trials). A trial's run exists before it ends, so trials are read first.
    """
    study, _ = _study(tmp_path)
    study.set_user_attr(PARENT_ATTR, "parent-run")
    distribution = {"x": optuna.distributions.FloatDistribution(0, 1)}

    class OtherWorkerRacing(FakeTracker):
        raced = False

        def search(self, filter_string: str) -> list[FakeRun]:
            seen = list(super().search(filter_string))
            if not self.raced:  # once, just after the first read of runs
                self.raced = True
                trial = study.ask(distribution)  # another worker's trial: run created, closed, then the trial told
                self.runs.append(FakeRun(f"run-{trial.number}", STATUS_FINISHED, trial.number))
                study.tell(trial, 0.5)
            return seen

    tracker = OtherWorkerRacing([])
    recovery.reconcile(study, tracker)
    recovery.reconcile(study, tracker)  # the next reconcile sees both the trial and its run
    assert tracker.started == [] and tracker.closed == {}
    assert [t.state for t in study.trials] == [TrialState.COMPLETE]


def test_only_the_runs_that_can_disagree_are_read_and_each_is_made_to_mirror_its_trial(tmp_path: Path) -> None:
    """Reading every run took 3 s at 1000 trials: ``reconcile`` reads the runs not FINISHED in one search, and one
    trial's runs only when its outcome is not FINISHED or it recorded no run id."""
    study, _ = _study(tmp_path)
    study.set_user_attr(PARENT_ATTR, "parent-run")
    distribution = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for number, state in enumerate([TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAIL]):
        trial = study.ask(distribution)
        trial.set_user_attr(RUN_ID_ATTR, f"run-{number}")
        study.tell(trial, 0.5 if state == TrialState.COMPLETE else None, state=state)
    searches: list[str] = []

    class Counting(FakeTracker):
        def search(self, filter_string: str) -> list[FakeRun]:
            searches.append(filter_string)
            return super().search(filter_string)

    # 0: complete, its run FINISHED; 1: complete, its worker died before closing the run; 2: failed, its run was
    # closed FINISHED before the failure was recorded
    runs = [FakeRun("run-0", STATUS_FINISHED, 0), FakeRun("run-1", "RUNNING", 1), FakeRun("run-2", STATUS_FINISHED, 2)]
    tracker = Counting(runs)
    recovery.reconcile(study, tracker)
    died = recovery.REASONS[Outcome.DIED]
    assert tracker.closed == {"run-1": (STATUS_FINISHED, None), "run-2": (STATUS_KILLED, died)}
    assert tracker.started == [] and len(searches) == 2  # the runs not FINISHED, then trial 2's


def test_the_stale_check_between_trials_runs_once_a_heartbeat_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study, rdb = _study(tmp_path)
    checked: list[float] = []
    now = [1000.0]
    monkeypatch.setattr(recovery, "fail_stale_trials", lambda s, r: checked.append(now[0]))
    monkeypatch.setattr(recovery.time, "monotonic", lambda: now[0])
    interval, _ = recovery.heartbeat_timing()
    check = recovery.StaleCheck(study, rdb)
    check()  # the first look always checks
    now[0] += interval - 0.01
    check()  # within the interval: Optuna's own check as the trial starts is enough
    now[0] += 0.01
    check()  # a worker that found the budget used slept one interval: its next look checks
    assert checked == [1000.0, 1000.0 + interval]


def test_the_dead_trials_are_found_among_trials_already_read(tmp_path: Path) -> None:
    study, _ = _study(tmp_path)
    _running(study, **{WORKER_ATTR: f"{socket.gethostname()}:{_dead_pid()}"})
    _running(study, **{WORKER_ATTR: HERE})
    trials = study.get_trials(deepcopy=False)
    assert [t.number for t in recovery.dead_trials(study, trials)] == [0]
    assert [t.number for t in recovery.dead_trials(study)] == [0]
    study.tell(0, 0.5)  # an ended trial among those given is never dead, whoever ran it
    assert recovery.dead_trials(study, study.get_trials(deepcopy=False)) == []


def test_a_dead_trial_holding_the_last_of_the_budget_is_retried_not_counted(tmp_path: Path) -> None:
    """The worker loop's budget check (``workers.budget_used_up``) fails and retries a dead worker's trial
    first, and counts what is left: the dead trial counted while RUNNING, its failed self and WAITING retry
    do not, so the budget is not used up and the retry runs."""
    from hydra import compose, initialize_config_dir

    from pipeline.search.workers import budget_used_up
    from pipeline.setup.config import register_schemas, to_config

    register_schemas()
    with initialize_config_dir(config_dir=str(Path(__file__).resolve().parents[3] / "conf"), version_base="1.3"):
        config = to_config(compose("config", overrides=["search.n_trials=3"]))
    study, rdb = _study(tmp_path)
    for value in (0.1, 0.2):
        trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
        study.tell(trial, value)
    _running(study, **{WORKER_ATTR: f"{socket.gethostname()}:{_dead_pid()}"})
    assert studies.used_budget(study) == 3  # as the budget stood before the check
    done, seen = budget_used_up(study, rdb, None, config)  # type: ignore[arg-type]  # no run to close
    assert done is False
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert states == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAIL, TrialState.WAITING]
    assert [t.state for t in seen] == states  # the trials as the retry left them, not as first read
    _running(study, **{WORKER_ATTR: HERE})  # a live trial uses the last of the budget
    assert budget_used_up(study, rdb, None, config)[0] is True  # type: ignore[arg-type]
