"""Optuna's ``RDBStorage`` whose every call waits out a database server's restart (``records/outage.py``)."""

from collections.abc import Callable
from typing import Any

from optuna.storages import RDBStorage

from pipeline.records.outage import patiently

# The private calls Optuna's own code makes of an RDBStorage (its cache in front of it, the stale-trial check);
# checked against optuna 5.1 (grep "_backend._" optuna/storages/_cached_storage.py).
OPTUNA_PRIVATE_CALLS = (
    "_create_new_trial",
    "_get_best_trial_id",
    "_get_stale_trial_ids",
    "_get_trials",
    "_set_trial_param",
)
# Every public call and those.
PATIENT_CALLS = tuple(
    name
    for name in vars(RDBStorage)
    if callable(getattr(RDBStorage, name)) and (not name.startswith("_") or name in OPTUNA_PRIVATE_CALLS)
)


class PatientStorage(RDBStorage):
    """``RDBStorage`` that waits out a database server's restart (``pipeline.records.outage``)."""


def _patient(name: str) -> Callable[..., Any]:
    call = getattr(RDBStorage, name)

    def patient(self: PatientStorage, *args: Any, **kwargs: Any) -> Any:
        return patiently(str(self.url), call, self, *args, **kwargs)

    patient.__name__ = patient.__qualname__ = name
    patient.__doc__ = call.__doc__
    return patient


for _name in PATIENT_CALLS:
    setattr(PatientStorage, _name, _patient(_name))
