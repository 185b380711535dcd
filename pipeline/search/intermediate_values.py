"""A trial's intermediate values written to the study in one transaction, not one each.

Optuna's ``trial.report`` is one transaction per value: on SQLite it reads the trial, checks that it can still
be updated, looks the step up and inserts it, about 1.4 ms each, and a default sweep reports some 760 times (a
value every two epochs). A pruner that decides in this process (``search/pruning.py``) needs none of this
trial's values in the storage before the trial ends, so they are kept and written together: the trial is read
and checked once, the steps already stored are read once, and the new rows are inserted in the same
transaction (25 values: about 3 ms instead of 30-55 ms; docs/BENCHMARKS.md, round 3, seventh pass).

The rows are Optuna's own (``optuna.storages._rdb.models``, the schema of optuna 5), built as Optuna builds
them (``intermediate_value_to_stored_repr``: infinities and NaN stored as Optuna stores them).
``tests/pipeline/search/test_intermediate_values.py`` checks that the stored values read back as those of
``trial.report``. Any other storage (in memory, a journal), or an Optuna without these private names, gets
Optuna's public call once per value. A database server's restart is waited out as for every other call
(``records/outage.py``); a retried write skips the steps an earlier attempt stored.
"""

from typing import Any

from optuna.storages import BaseStorage, RDBStorage

from pipeline.records.outage import patiently
from pipeline.search.patient_storage import PatientStorage

try:  # private: checked against optuna 5.1
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    _BATCHED = all(
        hasattr(models.TrialModel, "find_or_raise_by_id") and hasattr(models.TrialIntermediateValueModel, name)
        for name in ("intermediate_value_to_stored_repr", "trial_id", "step")
    )
except ImportError:  # a later Optuna moved them: one call per value, as Optuna's own report
    _BATCHED = False


def write_intermediate_values(storage: BaseStorage, trial_id: int, values: dict[int, float]) -> None:
    """Store ``values`` (step -> value) as the trial's intermediate values; a step stored already keeps its value
    (as ``trial.report`` keeps the first value reported at a step)."""
    if not values:
        return
    backend = getattr(storage, "_backend", storage)  # Optuna's cache in front of an RDB storage
    if not (_BATCHED and isinstance(backend, RDBStorage)):
        stored = storage.get_trial(trial_id).intermediate_values
        for step, value in values.items():
            if step not in stored:
                storage.set_trial_intermediate_value(trial_id, step, value)
        return
    if isinstance(backend, PatientStorage):
        patiently(str(backend.url), _insert, backend, trial_id, values)
    else:
        _insert(backend, trial_id, values)


def _insert(storage: RDBStorage, trial_id: int, values: dict[int, float]) -> None:
    rows: list[Any] = []
    with _create_scoped_session(storage.scoped_session) as session:
        trial = models.TrialModel.find_or_raise_by_id(trial_id, session)
        storage.check_trial_is_updatable(trial_id, trial.state)  # a finished trial takes no more values
        value_model = models.TrialIntermediateValueModel
        stored = {step for (step,) in session.query(value_model.step).filter(value_model.trial_id == trial_id)}
        for step, value in values.items():
            if step in stored:
                continue
            kept, kind = value_model.intermediate_value_to_stored_repr(value)
            rows.append(
                value_model(trial_id=trial_id, step=step, intermediate_value=kept, intermediate_value_type=kind)
            )
        session.add_all(rows)
