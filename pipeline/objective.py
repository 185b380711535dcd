"""One Optuna trial = one nested MLflow run: suggest, train with pruning, record, map the outcome.

Outcome mapping (trial state ↔ run status): COMPLETE ↔ FINISHED, PRUNED ↔ KILLED, FAIL ↔ FAILED
(the reason is the run's ``failure_reason`` tag and the trial's ``failure_reason`` user attribute).
Ctrl-C or SIGTERM fail the trial and leave its run KILLED.
"""

import math
import os
import socket
import sys

import numpy as np
import optuna

from models import DivergenceError
from pipeline.config import Config
from pipeline.console import write_failed
from pipeline.data import Dataset
from pipeline.runner import fail, start_record, succeed, train_and_record
from pipeline.search_space import apply, suggest
from pipeline.tracking import STATUS_FAILED, STATUS_KILLED, Tracker


class NonFiniteMetricError(ArithmeticError):
    """The metric a trial returns is NaN or infinite."""


# Outcomes that fail the trial but let the sweep go on; anything else is a bug and stops it.
EXPECTED_FAILURES = (DivergenceError, NonFiniteMetricError, MemoryError)


def trial_seed(root_seed: int, trial_number: int) -> int:
    """An independent seed per trial, so trial *k* reproduces alone whatever order trials ran in."""
    return int(np.random.SeedSequence([root_seed, trial_number]).generate_state(1)[0])


class Objective:
    """Callable for ``study.optimize``: trains one network per trial and records it under the parent run."""

    def __init__(self, config: Config, dataset: Dataset, tracker: Tracker, parent_run_id: str) -> None:
        self.config = config
        self.dataset = dataset
        self.tracker = tracker
        self.parent_run_id = parent_run_id
        self.host = socket.gethostname()
        self.before_trial: list = []  # hooks run as each trial starts (the sweep releases its budget lock)

    def trial_config(self, trial: optuna.Trial) -> Config:
        """The config this trial trains: the sweep's, with the suggested values and its own seed."""
        values = suggest(trial, self.config.search.space, default_depth=len(self.config.model.hidden_units))
        config = apply(self.config, values)
        # A retried trial (its first worker died) inherits the user attributes, hence the seed, of the
        # trial it repeats.
        seed = trial.user_attrs.get("train_seed")
        if seed is None:
            seed = trial_seed(self.config.seed, trial.number)
            trial.set_user_attr("train_seed", seed)
        config.train.seed = seed
        return config

    def __call__(self, trial: optuna.Trial) -> float:
        for hook in self.before_trial:
            hook()
        # Who runs the trial: lets the next start on this machine fail it at once if this process dies.
        trial.set_user_attr("worker", f"{self.host}:{os.getpid()}")
        config = self.trial_config(trial)
        recorder = self.tracker.start_run(
            f"trial-{trial.number}",
            {
                "kind": "trial",
                "study_name": self.config.study_name,
                "trial_number": str(trial.number),
                **({"retry_of_trial": str(trial.user_attrs["retry_of"])} if "retry_of" in trial.user_attrs else {}),
            },
            parent_run_id=self.parent_run_id,
        )
        metric, report_every = self.config.search.metric, self.config.pruner.report_every
        last: dict[str, float] = {}

        def report(epoch: int, metrics: dict[str, float]) -> None:
            last.update(metrics)
            if epoch % report_every == 0 and metric in metrics:
                trial.report(metrics[metric], epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at epoch {epoch}: {metric}={metrics[metric]:.6g}")

        try:  # from here on, whatever happens closes the run with the trial's outcome
            trial.set_user_attr("mlflow_run_id", recorder.run_id)
            start_record(recorder, config, self.dataset, {"trial_number": str(trial.number)})
            tracking = self.config.tracking
            train_and_record(
                config,
                self.dataset,
                recorder,
                on_epoch=report,
                log_model=tracking.log_model == "all",
                log_plot=tracking.log_plots == "all",
            )
            value = last.get(metric, math.nan)
            if not math.isfinite(value):
                raise NonFiniteMetricError(f"{metric}={value} after the last epoch")
            succeed(recorder)
        except optuna.TrialPruned as pruned:
            trial.set_user_attr("outcome", "pruned")
            fail(recorder, pruned, STATUS_KILLED, expected=True)
            raise
        except EXPECTED_FAILURES as error:
            trial.set_user_attr("outcome", "failed")
            reason = fail(recorder, error, STATUS_FAILED)
            trial.set_user_attr("failure_reason", reason)
            print(f"trial {trial.number} failed, the sweep goes on: {reason}", file=sys.stderr)
            raise
        except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM turned into an interrupt by the sweep
            fail(recorder, interrupt, STATUS_KILLED)
            raise
        except BaseException as error:
            if not write_failed(error):  # a full disk is not the trial's fault: it does not use budget
                trial.set_user_attr("outcome", "error")
            trial.set_user_attr("failure_reason", fail(recorder, error, STATUS_FAILED))
            raise
        trial.set_user_attr("outcome", "complete")  # only once the run is closed FINISHED
        return value
