"""Registry aliases, the way MLflow intends them: ``@champion`` names the best version, ``@<study>`` each study's.

Every sweep registers its best trial as a new version of ``deepsweep-<dataset>``; the newest version is not
the best one (a later study may optimize something else, or do worse). Each version registered by a sweep
carries tags saying what it was chosen by (``metric``, ``direction``, ``metric_value``, ``study``); the
alias ``@<study>`` points at that study's version, and ``@champion`` moves to a new version only when it
beats the current champion on the same metric in the same direction. ``pipeline.serve`` serves
``@champion`` by default.
"""

import math
import re
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

CHAMPION = "champion"
METRIC_TAG, DIRECTION_TAG, VALUE_TAG, STUDY_TAG = "metric", "direction", "metric_value", "study"


def study_alias(study: str) -> str:
    """A study's alias: its name with anything MLflow refuses in an alias replaced by ``-`` (``v<digits>`` and
    ``latest`` are MLflow's own and get a ``study-`` prefix)."""
    alias = re.sub(r"[^A-Za-z0-9_-]", "-", study).strip("-") or "study"
    return f"study-{alias}" if re.fullmatch(r"v\d+|latest|champion", alias, re.IGNORECASE) else alias


@dataclass(frozen=True)
class Crowning:
    """What happened to ``@champion`` when a version was registered."""

    champion: str  # the version @champion points at now
    moved: bool
    reason: str

    def sentence(self, name: str) -> str:
        return f"{name}@{CHAMPION} is version {self.champion} ({self.reason})"


def crown(
    client: MlflowClient, name: str, version: str, metric: str, direction: str, value: float, study: str
) -> Crowning:
    """Tag ``version`` with what chose it, point ``@<study>`` at it, and move ``@champion`` to it when it beats the
    current champion on the same metric (or there is none)."""
    for key, text in ((METRIC_TAG, metric), (DIRECTION_TAG, direction), (VALUE_TAG, repr(value)), (STUDY_TAG, study)):
        client.set_model_version_tag(name, version, key, text)
    client.set_registered_model_alias(name, study_alias(study), version)
    try:
        current = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:  # no champion yet
        current = None
    shown = f"{metric} {value:.4g}"
    if current is None:
        client.set_registered_model_alias(name, CHAMPION, version)
        return Crowning(version, True, f"the first champion: {shown}, study {study}")
    if str(current.version) == str(version):  # MLflow returns versions as int here, str elsewhere
        return Crowning(version, False, f"{shown}, study {study}")
    tags = current.tags or {}
    old = float(tags.get(VALUE_TAG, "nan"))
    if tags.get(METRIC_TAG) != metric or tags.get(DIRECTION_TAG) != direction or not math.isfinite(old):
        reason = (
            f"kept: it was chosen by {tags.get(METRIC_TAG, 'an unrecorded metric')}, this study by {metric}; to serve "
            f"this one, python -m pipeline.serve --model {name}@{study_alias(study)}"
        )
        return Crowning(str(current.version), False, reason)
    better = value > old if direction == "maximize" else value < old
    if better:
        client.set_registered_model_alias(name, CHAMPION, version)
        return Crowning(version, True, f"{shown} beats version {current.version}'s {old:.4g}")
    return Crowning(
        str(current.version), False, f"kept: its {metric} {old:.4g} is not beaten by this study's {value:.4g}"
    )
