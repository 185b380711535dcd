"""The names a sweep gives what it creates by default: its study and its registered model.

Two sweeps that differ in their data, their search preset or their objectives must not meet under one
study name by default: resuming would refuse the second (another space or metric), and the README's
examples, run one after the other in one folder, would collide. So the default study name is built from
what tells them apart, while the default sweep keeps the name it has always had (``digits-sweep``), so
that its studies resume:

    <data>-<search.name>[-<metric>-<metric>...]

``<data>`` is the dataset's name, or for a dataset named by its file (``csv``) ``csv-<file stem>``;
``search.name`` is the preset's (``sweep`` for the default, ``regularization``, ...); the metrics are
added when they are not the default ``val_accuracy``. An explicit ``study_name=`` always wins.
"""

from pathlib import Path

from pipeline.setup.vocabulary import DATASETS

AUTO = "auto"  # study_name's value when the user gave none (conf/config.yaml)
DEFAULT_METRICS = ["val_accuracy"]


def data_label(name: str, path: str | None) -> str:
    """The dataset as names show it: ``digits``; ``csv-sales`` for ``dataset=csv dataset.path=data/sales.csv``."""
    source = DATASETS.get(name)
    if source is None or not source.named_by_file or not path:
        return name
    return f"{name}-{safe_name(Path(path).stem[:40])}"


def default_study_name(data: str, search_name: str, metrics: list[str]) -> str:
    """``digits-sweep``, ``digits-regularization``, ``digits-sweep-val_accuracy-n_parameters``, ``csv-sales-sweep``."""
    parts = [data, search_name] + ([] if metrics == DEFAULT_METRICS else metrics)
    return "-".join(safe_name(part) for part in parts)


def registered_model_name(explicit: str | None, experiment: str, name: str, path: str | None) -> str:
    """``tracking.registered_model_name``, else the experiment's name, with the file's stem for a dataset named
    by its file (``deepsweep-csv-sales``): one model per table, not one for every CSV ever swept."""
    if explicit:
        return explicit
    label = data_label(name, path)
    return experiment + label[len(name) :] if label != name else experiment


def safe_name(text: str, empty: str = "data") -> str:
    """Letters, digits, ``-``, ``_`` and ``.`` only, no leading dot (``empty`` if nothing is left): usable as a
    study, model and file name, never a folder."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).lstrip(".") or empty
