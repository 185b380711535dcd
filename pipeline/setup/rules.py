"""The allowed range of the numeric config values outside ``model`` and ``train``, and the two checks every
refusal goes through.

``RANGES`` is the one table for those: the pre-flight check reads it for the config, ``load_dataset`` for its
arguments, so the two can never disagree. The ``model`` and ``train`` settings carry their rules in their own
declaration (``models.settings``). Messages name the key, the value and what is allowed.
"""

import dataclasses

from models.rules import Range
from models.settings import SEED_MAX
from pipeline.errors import ConfigError
from pipeline.setup.config import DatasetConfig
from pipeline.setup.vocabulary import DATASETS, KINDS, SCALINGS

RANGES: dict[str, Range] = {
    "seed": Range(0, SEED_MAX, integer=True),
    "dataset.val_fraction": Range(0.0, 0.9),
    "dataset.test_fraction": Range(0.0, 0.9),  # above 0 unless the dataset brings its own test split
    "dataset.n_samples": Range(10, 10**8, integer=True),
    "dataset.noise": Range(0.0, 1e6),
    "dataset.human_error": Range(0.0, 1e6),  # None: the generator's Bayes error, or 0
    "search.n_trials": Range(1, 10**9, integer=True),
    "search.confirm_seeds": Range(0, 100, integer=True),
    "search.repeats": Range(1, 100, integer=True),
    "search.workers": Range(1, 256, integer=True),
    "search.timeout": Range(0.0, 10**9, low_open=True),  # None: no limit
    "sampler.seed": Range(0, SEED_MAX, integer=True),  # None: the root seed
    "pruner.report_every": Range(1, 10**9, integer=True),
}


def check_range(key: str, value: object, rule: Range, *, low_open: bool | None = None) -> None:
    """Refuse ``value`` unless it is a (whole, for integer rules) finite number within ``rule``."""
    if low_open is not None:
        rule = dataclasses.replace(rule, low_open=low_open)
    if not rule.contains(value):
        raise ConfigError(
            f"{key}={value!r} is not allowed; expected {'an integer' if rule.integer else 'a number'} in {rule.text()}"
        )


def check_choice(key: str, value: object, allowed: tuple[str, ...] | list[str] | dict) -> None:
    """Refuse ``value`` unless it is one of ``allowed`` (a table's keys)."""
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; choose one of {list(allowed)}")


def check_dataset(dataset: DatasetConfig, prefix: str = "dataset.") -> None:
    """Every rule of the ``dataset`` section; keys in messages are ``prefix`` + the field name."""
    check_choice(f"{prefix}name", dataset.name, DATASETS)
    check_choice(f"{prefix}task", dataset.task, KINDS)
    check_choice(f"{prefix}scaling", dataset.scaling, SCALINGS)
    for field in ("val_fraction", "test_fraction", "n_samples", "noise"):
        check_range(f"{prefix}{field}", getattr(dataset, field), RANGES[f"dataset.{field}"])
    if dataset.human_error is not None:
        check_range(f"{prefix}human_error", dataset.human_error, RANGES["dataset.human_error"])
    if dataset.val_fraction + dataset.test_fraction >= 1.0:
        raise ConfigError(
            f"{prefix}val_fraction + {prefix}test_fraction = {dataset.val_fraction} + {dataset.test_fraction} "
            ">= 1 leaves no training data; their sum must be below 1"
        )
    for field in DATASETS[dataset.name].needs:
        if not getattr(dataset, field):
            what = {"path": "the file or folder holding the data", "target": "the label column's name"}[field]
            raise ConfigError(f"{prefix}{field} is missing: dataset={dataset.name} needs {prefix}{field}=<{what}>")
