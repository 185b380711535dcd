"""A progress bar for a sweep: trials done out of the budget, best value so far, time left.

It polls the study's storage from a background thread, so it counts the trials of every worker
process alike.
"""

import sys
import threading
from types import TracebackType

import optuna
from optuna.trial import TrialState
from tqdm import tqdm

from pipeline.search import study as studies
from pipeline.search.outcomes import uses_budget
from pipeline.setup.config import Config

POLL_SECONDS = 1.0
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class Progress:
    """``with Progress(config, study): ...`` shows the bar while the block runs."""

    def __init__(self, config: Config, study: optuna.Study) -> None:
        self.config = config
        self.study_name = study.study_name
        self.metric = config.search.metrics[0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="sweep-progress", daemon=True)
        self._bar: tqdm | None = None

    def __enter__(self) -> "Progress":
        self._bar = tqdm(
            total=self.config.search.n_trials,
            desc=f"sweep {self.study_name}",
            unit="trial",
            file=sys.stderr,
            dynamic_ncols=True,
            disable=None,  # no bar when stderr is not a terminal (CI logs, pipes)
        )
        if not self._bar.disable:  # no bar (stderr not a terminal): no thread reading every trial of the study
            self._thread.start()
        return self

    def _poll(self) -> None:
        # Its own storage connection: the workers' sessions are not shared across threads.
        try:
            study = optuna.load_study(study_name=self.study_name, storage=studies.storage(self.config.tracking.storage))
            while True:
                self._update(study)
                if self._stop.wait(POLL_SECONDS):
                    self._update(study)
                    return
        except Exception:  # the bar only shows; the storage's trouble is the trials' to report
            return

    def _update(self, study: optuna.Study) -> None:
        trials = study.get_trials(deepcopy=False)
        done = sum(1 for trial in trials if trial.state in FINISHED and uses_budget(trial))
        complete = [trial.values[0] for trial in trials if trial.state == TrialState.COMPLETE]
        if self._bar is None:
            return
        if complete:
            best = max(complete) if self.config.search.directions[0] == "maximize" else min(complete)
            self._bar.set_postfix_str(f"best {self.metric}={best:.4f}", refresh=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            if self._thread.is_alive():
                self._thread.join()
            if self._bar is not None:
                self._bar.close()

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()
