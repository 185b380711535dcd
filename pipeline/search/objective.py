"""One Optuna trial = one nested MLflow run: suggest, train with pruning, record, map the outcome.

How each ending maps to a trial state and a run status is the table in ``pipeline.search.outcomes``;
the reason is the run's ``failure_reason`` tag and the trial's ``failure_reason`` user attribute.
"""

import contextlib
import json
import math
import os
import socket
import sys
from collections.abc import Callable

import numpy as np
import optuna

from models import DivergenceError
from pipeline.console import brief
from pipeline.errors import write_failed
from pipeline.interrupts import critical, interruptible
from pipeline.record_names import (
    BIAS_VARIANCE_ATTR,
    FAILURE_ATTR,
    KIND_TAG,
    OUTCOME_ATTR,
    OUTCOME_TAG,
    RETRY_OF_ATTR,
    RETRY_OF_TAG,
    RUN_ID_ATTR,
    SEED_ATTR,
    SEED_VALUES_ATTR,
    STUDY_TAG,
    TRIAL_NUMBER_TAG,
    TRIAL_STATE_TAG,
    WORKER_ATTR,
    WORKER_STARTED_ATTR,
)
from pipeline.records.locks import process_started
from pipeline.records.tracking import RunRecorder, Tracker
from pipeline.run_record import close_run, run_tags, start_record
from pipeline.search.confirm import repeat_metrics, repeat_seeds
from pipeline.search.constraints import limits_of
from pipeline.search.outcomes import Outcome
from pipeline.search.pruning import TrialPruning
from pipeline.search.space import apply, suggest
from pipeline.setup.config import Config, network_seed
from pipeline.setup.data import Dataset
from pipeline.setup.reference import BIAS_VARIANCE
from pipeline.training import RunResult, train_and_record


class NonFiniteMetricError(ArithmeticError):
    """The metric a trial returns is NaN or infinite."""


# Outcomes that fail the trial but let the sweep go on; anything else is a bug and stops it.
EXPECTED_FAILURES = (DivergenceError, NonFiniteMetricError, FloatingPointError, MemoryError)


def trial_seed(root_seed: int, trial_number: int) -> int:
    """An independent seed per trial, so trial *k* reproduces alone whatever order trials ran in."""
    return int(np.random.SeedSequence([root_seed, trial_number]).generate_state(1)[0])


def trial_name(number: int, values: dict[str, object]) -> str:
    """A run name that says what the trial tried: ``trial-7 relu 64x32 lr=0.0032``."""
    parts = [f"trial-{number}"]
    if "hidden_activation" in values:
        parts.append(str(values["hidden_activation"]))
    if "hidden_units" in values:
        parts.append("x".join(map(str, values["hidden_units"])) or "logistic")
    if "learning_rate" in values:
        parts.append(f"lr={values['learning_rate']:.2g}")
    shown = {"hidden_activation", "hidden_units", "learning_rate"}
    parts += [f"{key}={brief(value, 2)}" for key, value in values.items() if key not in shown][:3]
    return " ".join(parts)


def _marked(name: str, marker: str) -> str:
    """``trial-7 relu 64x32 lr=0.0032`` -> ``trial-7 relu 64x32 lr=0.0032 [pruned@15]``: what the trial tried stays
    in the part of the name MLflow's runs list shows (it cut ``trial-39 [pruned…`` before it); the state is also
    the run's status and its ``trial_state`` tag, which the list can show as a column."""
    return f"{name} [{marker}]"


def objective_value(metric: str, result: RunResult, last: dict[str, float]) -> float:
    """One objective's value for a trained run: a training-split metric is the trained model's
    (``final_train_*``, as the course reports it), a validation metric its last epoch (measured after the
    last update); ``n_parameters`` the network's size; ``train_seconds`` the training time per epoch."""
    if metric == "n_parameters":
        return result.final_metrics["n_parameters"]
    if metric == "train_seconds":
        return result.train_seconds / max(result.epochs_trained, 1)
    final = result.final_metrics
    return final.get(f"final_{metric}", final.get(metric, last.get(metric, math.nan)))


def measure_value(measure: str, result: RunResult, last: dict[str, float]) -> float:
    """A satisficing measure (``search.constraints``): read as an objective is (anything the run recorded once
    after training, ``final_val_error``, ``variance``, ... included); NaN when the run has no such value."""
    return objective_value(measure, result, last)


class Objective:
    """Callable for ``study.optimize``: trains one network per trial and records it under the parent run.

    ``on_start()`` runs as each trial starts, once the trial exists in the storage (the sweep
    releases its budget lock there, so that other workers count the trial).
    """

    def __init__(
        self,
        config: Config,
        dataset: Dataset,
        tracker: Tracker,
        parent_run_id: str,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.dataset = dataset
        self.tracker = tracker
        self.parent_run_id = parent_run_id
        self.host = socket.gethostname()
        self.started = process_started(os.getpid()) or ""  # "": /proc cannot say; the pid alone decides
        self.on_start = on_start
        self.run_tags = run_tags(dataset)  # once: the git commit is a subprocess, not to be run inside a trial

    def trial_values(self, trial: optuna.Trial) -> dict[str, object]:
        return suggest(trial, self.config.search.space, default_depth=len(self.config.model.hidden_units))

    def trial_config(self, trial: optuna.Trial, values: dict[str, object] | None = None) -> Config:
        """The config this trial trains: the sweep's, with the suggested values and its own seed."""
        config = apply(self.config, self.trial_values(trial) if values is None else values)
        # A retried trial (its first worker died) inherits the user attributes, hence the seed, of the
        # trial it repeats.
        seed = trial.user_attrs.get(SEED_ATTR)
        if seed is None:
            per_trial = self.config.search.seed_per_trial
            seed = trial_seed(self.config.seed, trial.number) if per_trial else network_seed(self.config)
            with critical():
                trial.set_user_attr(SEED_ATTR, seed)
        config.train.seed = seed
        return config

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        # Optuna's bookkeeping around this call is critical (search/workers.py): only the trial itself is not.
        with interruptible():
            return self.run_trial(trial)

    def run_trial(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        if self.on_start is not None:
            self.on_start()
        # Who runs the trial: lets the next start on this machine fail it at once if this process dies.
        with critical():
            trial.set_user_attr(WORKER_ATTR, f"{self.host}:{os.getpid()}")
            trial.set_user_attr(WORKER_STARTED_ATTR, self.started)
        values = self.trial_values(trial)
        config = self.trial_config(trial, values)
        name = trial_name(trial.number, values)
        recorder = self.start_run(trial, name)
        metric, report_every = self.config.search.metrics[0], self.config.pruner.report_every
        multi = self.config.search.multi_objective
        last: dict[str, float] = {}
        pruning: TrialPruning | None = None  # set inside the try below: its storage read may fail

        def report(epoch: int, metrics: dict[str, float]) -> None:
            last.update(metrics)
            last["epoch"] = epoch
            if pruning is not None and epoch % report_every == 0 and metric in metrics:
                with critical():  # may write to the study: a signal waits until it is done
                    prune = pruning.report(metrics[metric], epoch)
                if prune:
                    raise optuna.TrialPruned(f"pruned at epoch {epoch}: {metric}={metrics[metric]:.6g}")

        try:  # from here on, whatever happens closes the run with the trial's outcome
            with critical():
                trial.set_user_attr(RUN_ID_ATTR, recorder.run_id)
            # Several objectives cannot be pruned (the pre-flight refuses a pruner): nothing to report.
            pruning = None if multi else TrialPruning(trial, last_step=config.train.epochs - 1)
            result = self.train(config, recorder, report, pruning)
            values = self.objective_values(trial, config, recorder, result, last)
            self.record_diagnosis(trial, result, last)
        except optuna.TrialPruned as pruned:
            epoch = int(last.get("epoch", 0))
            marked = _marked(name, f"pruned@{epoch}")
            self._end(trial, recorder, Outcome.PRUNED, pruned, marked, {"pruned_at_epoch": epoch})
            raise
        except EXPECTED_FAILURES as error:
            reason = self._end(trial, recorder, Outcome.FAILED, error, _marked(name, "failed"), pruning=pruning)
            print(f"trial {trial.number} failed, the sweep goes on: {reason}", file=sys.stderr)
            raise
        except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM turned into an interrupt by the sweep
            self._end(trial, recorder, Outcome.INTERRUPTED, interrupt, _marked(name, "interrupted"), pruning=pruning)
            raise
        except BaseException as error:
            outcome = Outcome.WRITE_FAILED if write_failed(error) else Outcome.ERROR
            self._end(trial, recorder, outcome, error, _marked(name, "error"), pruning=pruning)
            raise
        self._end(trial, recorder, Outcome.COMPLETE, None, name)
        return tuple(values) if multi else values[0]

    def train(
        self,
        config: Config,
        recorder: RunRecorder,
        on_epoch: Callable[[int, dict[str, float]], None],
        pruning: TrialPruning | None,
    ) -> RunResult:
        """Record the run's parameters and config, train ``config``, and write the reported values ``pruning`` still
        keeps (before the trial is told: a complete trial's values are all in the study)."""
        start_record(recorder, config, self.dataset)
        tracking = self.config.tracking
        result = train_and_record(
            config,
            self.dataset,
            recorder,
            on_epoch=on_epoch,
            log_model=tracking.log_model == "all",
            log_plot=tracking.log_plots == "all",
        )
        if pruning is not None:
            with critical():
                pruning.flush()
        return result

    def start_run(self, trial: optuna.Trial, name: str) -> RunRecorder:
        """The trial's run, a child of the study's parent run (tagged with what it retries, if it does)."""
        retry = {RETRY_OF_TAG: str(trial.user_attrs[RETRY_OF_ATTR])} if RETRY_OF_ATTR in trial.user_attrs else {}
        tags = {KIND_TAG: "trial", STUDY_TAG: self.config.study_name, TRIAL_NUMBER_TAG: str(trial.number), **retry}
        tags.update(self.run_tags)  # versions, data fingerprint, commit: with the run, not after it
        return self.tracker.start_run(name, tags, parent_run_id=self.parent_run_id)

    def objective_values(
        self, trial: optuna.Trial, config: Config, recorder: RunRecorder, result: RunResult, last: dict[str, float]
    ) -> list[float]:
        """The trial's value per objective: over ``search.repeats`` seeds when asked; refused when not finite.

        A training-split metric is the trained model's (final_train_*), as the course reports it; a validation
        metric's last epoch is measured after the last update already."""
        values = [objective_value(objective, result, last) for objective in self.config.search.metrics]
        if self.config.search.repeats > 1:
            values = self.repeat(trial, config, recorder, values, {**last, **result.final_metrics})
        for objective, value in zip(self.config.search.metrics, values, strict=True):
            if not math.isfinite(value):
                raise NonFiniteMetricError(f"{objective}={value} after the last epoch")
        return values

    def repeat(
        self, trial: optuna.Trial, config: Config, recorder: RunRecorder, first: list[float], metrics: dict[str, float]
    ) -> list[float]:
        """``search.repeats`` = k: train k - 1 more seeds of this configuration (the first was recorded in full),
        log every seed's final metrics and each objective's mean and sd on the run (``repeat_metrics``), and
        return each objective's mean over the seeds, which is the trial's value."""
        seeds = repeat_seeds(self.config, trial.number)
        first_metrics = {**metrics, **dict(zip(self.config.search.metrics, first, strict=True))}
        logged, means, per_seed = repeat_metrics(config, self.dataset, first_metrics, seeds)
        recorder.add_metrics(logged, step=0)
        recorder.add_tags({"repeat_seeds": json.dumps(seeds)})
        with critical():
            trial.set_user_attr(SEED_VALUES_ATTR, per_seed)
        return means

    def record_diagnosis(self, trial: optuna.Trial, result: RunResult, last: dict[str, float]) -> None:
        """On the trial, for the summary and the report: its bias and variance (one attribute, one write) and
        one Optuna constraint value per ``search.constraints`` limit (at most 0: met)."""
        found = {key: result.final_metrics[key] for key in BIAS_VARIANCE if key in result.final_metrics}
        with critical():
            if found:
                trial.set_user_attr(BIAS_VARIANCE_ATTR, found)
            for limit in limits_of(self.config.search.constraints):
                trial.set_constraint(limit.key, limit.violation(measure_value(limit.measure, result, last)))

    @staticmethod
    def _end(
        trial: optuna.Trial,
        recorder: RunRecorder,
        outcome: Outcome,
        error: BaseException | None,
        run_name: str,
        tags: dict[str, object] | None = None,
        pruning: TrialPruning | None = None,
    ) -> str | None:
        """Close the run as ``outcome`` says, then record the outcome on the trial (only once the run is
        closed: a trial that says ``complete`` always has a FINISHED run). Returns the failure reason.
        ``pruning``: a trial that failed or was interrupted keeps the values it reported, if they can still be
        written (a full disk or a bug may be why it ended): written once the run is closed, or failed to close.

        A Ctrl-C or SIGTERM held back during these writes arrives at their end; Optuna then fails a
        trial that was ending well, so it was interrupted, not complete or pruned."""
        try:
            names = {"mlflow.runName": run_name, TRIAL_STATE_TAG: outcome.state.name, OUTCOME_TAG: outcome.label}
            recorder.add_tags({**names, **(tags or {})})
            try:
                reason = close_run(recorder, outcome.run_status, error, expected=outcome is Outcome.PRUNED)
            finally:  # a run that cannot be closed (a full disk, a store down) does not cost the values too
                if pruning is not None:
                    with contextlib.suppress(Exception), critical():
                        pruning.flush()
            if reason is not None and outcome is not Outcome.PRUNED:
                with critical():
                    trial.set_user_attr(FAILURE_ATTR, reason)
            with critical():
                trial.set_user_attr(OUTCOME_ATTR, outcome.label)
        except KeyboardInterrupt:
            if outcome.state != optuna.trial.TrialState.FAIL:
                trial.set_user_attr(OUTCOME_ATTR, Outcome.INTERRUPTED.label)  # later signals are ignored now
            raise
        return reason
