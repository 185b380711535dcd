"""The course's third part at the end of a sweep: diagnose the best trial, analyse its mistakes, ask whether
more data would help, and record all of it on the runs.

``advise`` gathers what ``pipeline.search.diagnosis``, ``error_analysis`` and ``data_curve`` compute for the
chosen best trial; the parent run gets the diagnosis (tags ``diagnosis``, ``reference``) and the data curve
(metrics), the best trial's run its error analysis (``error_analysis/*.csv``); the report draws them all.
"""

import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from models import DeepNetwork
from pipeline.record_names import RUN_ID_ATTR
from pipeline.records.tracking import RunRecorder, Tracker, download_artifact
from pipeline.search.data_curve import DataCurve, data_curve
from pipeline.search.diagnosis import Diagnosis, diagnose, study_shares
from pipeline.search.error_analysis import ErrorAnalysis, analyse, confusion_csv, mistakes_csv
from pipeline.search.evidence import Confirmation
from pipeline.setup.config import Config
from pipeline.setup.data import Dataset
from pipeline.setup.reference import reference_for
from pipeline.setup.vocabulary import TASKS


@dataclass(frozen=True)
class Advice:
    """What the summary prints and the report shows about the best trial, the course's way."""

    reference: str  # where the reference error comes from, with its interval
    diagnosis: Diagnosis | None
    shares: dict[str, int]  # complete trials whose larger gap is bias / variance
    errors: ErrorAnalysis | None
    curve: DataCurve | None

    def lines(self) -> list[str]:
        """The console's lines (indented under the best trial)."""
        found = []
        if self.diagnosis is not None:
            found.append(f"diagnosis: {self.diagnosis.sentence()}")
            found += [f"  note: {note}" for note in self.diagnosis.notes()]
            found.append(f"  try next: {'; '.join(self.diagnosis.advice())}")
            found.append(f"  reference: {self.reference}")
        if self.errors is not None:
            found.append(f"error analysis: {self.errors.sentence()} (error_analysis/ in the best run)")
        percent = self.diagnosis.percent if self.diagnosis is not None else True
        if self.curve is not None and self.curve.sentence(percent):
            found.append(f"more data? {self.curve.sentence(percent)}")
        return found


def advise(
    study: optuna.Study,
    tracker: Tracker,
    parent: RunRecorder,
    config: Config,
    dataset: Dataset,
    best: FrozenTrial,
    confirmation: Confirmation | None,
) -> Advice:
    """Diagnose, analyse and record (see the module's docstring)."""
    reference = reference_for(config.dataset, dataset.task)
    kind = TASKS[dataset.task].kind
    # A seed sd is in the error's unit only when the metric is the error's score (val_accuracy, val_rmse).
    same_unit = config.search.metrics[0] == f"val_{TASKS[dataset.task].score}"
    sd = confirmation.sd if confirmation is not None and same_unit else math.nan
    diagnosis = diagnose(best, reference.describe(), kind, sd)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    errors = _error_analysis(tracker, dataset, best)
    curve = data_curve(config, dataset, best)
    tags = {"reference": reference.describe()}
    if diagnosis is not None:
        tags["diagnosis"] = diagnosis.sentence()
    parent.set_tags(tags)
    # A resumed command that summarises the same best again recomputes the same curve: logged once per best trial
    # (the tag data_curve_trial says whose curve the metrics hold; MLflow shows the last value at each step).
    logged = tracker.run(parent.run_id).data.tags.get("data_curve_trial") == str(best.number)
    if curve is not None and not logged:
        for size, train, val in zip(curve.sizes, curve.train_error, curve.val_error, strict=True):
            parent.add_metrics({"data_curve_train_error": train, "data_curve_val_error": val}, step=size)
        parent.add_tags({"data_curve_trial": str(best.number)})
        parent.flush()
    if errors is not None:
        _record_errors(tracker.recorder(best.user_attrs[RUN_ID_ATTR]), errors)
    return Advice(reference.describe(), diagnosis, study_shares(complete), errors, curve)


def _error_analysis(tracker: Tracker, dataset: Dataset, best: FrozenTrial) -> ErrorAnalysis | None:
    if TASKS[dataset.task].kind != "classification" or not dataset.has_validation:
        return None
    with tempfile.TemporaryDirectory() as folder:
        parameters = download_artifact(tracker.tracking_uri, best.user_attrs[RUN_ID_ATTR], "network.npz", Path(folder))
        network = DeepNetwork.load(parameters)
    return analyse(network, dataset, best.number)


def _record_errors(recorder: RunRecorder, errors: ErrorAnalysis) -> None:
    """The best run's ``error_analysis/``: the mistakes (with an empty category column), the confusion matrix
    and the per-class precision, recall and F1."""
    recorder.log_text(mistakes_csv(errors), "error_analysis/mistakes.csv")
    recorder.log_text(confusion_csv(errors), "error_analysis/confusion_matrix.csv")
    recorder.log_text(errors.per_class.to_csv(index=False), "error_analysis/per_class.csv")
    recorder.log_text(json.dumps({"val_accuracy": errors.accuracy, "mistakes": len(errors.mistakes)}),
                      "error_analysis/summary.json")  # fmt: skip
