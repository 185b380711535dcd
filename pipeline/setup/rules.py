"""The allowed range of every numeric config value, and the two checks every refusal goes through.

``RANGES`` is the one table: the pre-flight check reads it for the config, ``load_dataset`` for its
arguments, so the two can never disagree. Messages name the key, the value and what is allowed.
"""

import math
import numbers
from dataclasses import dataclass

from pipeline.errors import ConfigError
from pipeline.setup.config import DatasetConfig
from pipeline.setup.vocabulary import DATASETS, KINDS, SCALINGS

SEED_MAX = 2**32 - 1  # what NumPy's and Optuna's generators accept


@dataclass(frozen=True)
class Range:
    """``low <= value <= high`` (``low < value`` when ``low_open``); whole numbers when ``integer``."""

    low: float
    high: float = math.inf
    integer: bool = False
    low_open: bool = False
    high_open: bool = False

    def text(self) -> str:
        low, high = _number_text(self.low), _number_text(self.high)
        return f"{'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"


def _number_text(value: float) -> str:
    """Whole numbers as integers (``4294967295``, not ``4.29497e+09``), others as ``%g``."""
    return str(int(value)) if math.isfinite(value) and float(value).is_integer() else f"{value:g}"


RANGES: dict[str, Range] = {
    "seed": Range(0, SEED_MAX, integer=True),
    "dataset.val_fraction": Range(0.0, 0.9),
    "dataset.test_fraction": Range(0.0, 0.9),  # above 0 unless the dataset brings its own test split
    "dataset.n_samples": Range(10, 10**8, integer=True),
    "dataset.noise": Range(0.0, 1e6),
    "dataset.human_error": Range(0.0, 1e6),  # None: the generator's Bayes error, or 0
    "train.learning_rate": Range(0.0, 1e6, low_open=True),
    "train.epochs": Range(1, 10_000_000, integer=True),
    "train.batch_size": Range(1, 10**12, integer=True),  # None: full batch
    "train.l2": Range(0.0, 1e6),
    "train.log_every": Range(1, 10**9, integer=True),
    "train.seed": Range(0, SEED_MAX, integer=True),  # None: the root seed
    "train.momentum": Range(0.0, 1.0, high_open=True),
    "train.beta1": Range(0.0, 1.0, high_open=True),
    "train.beta2": Range(0.0, 1.0, high_open=True),
    "train.epsilon": Range(0.0, 1.0, low_open=True),
    "train.decay_rate": Range(0.0, 1e6),
    "train.time_interval": Range(1, 10**9, integer=True),
    "train.print_every": Range(1, 10**9, integer=True),  # None: silent
    "model.keep_prob": Range(0.0, 1.0, low_open=True),  # each entry; 1 keeps every unit (no dropout)
    "model.batch_norm_momentum": Range(0.0, 1.0, high_open=True),
    "model.batch_norm_epsilon": Range(0.0, 1.0, low_open=True),
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
    low_open = rule.low_open if low_open is None else low_open
    kind = numbers.Integral if rule.integer else numbers.Real
    number = isinstance(value, kind) and not isinstance(value, bool)
    above = number and (value > rule.low if low_open else value >= rule.low)
    ok = above and math.isfinite(value) and (value < rule.high if rule.high_open else value <= rule.high)
    if not ok:
        interval = Range(rule.low, rule.high, low_open=low_open, high_open=rule.high_open).text()
        raise ConfigError(
            f"{key}={value!r} is not allowed; expected {'an integer' if rule.integer else 'a number'} in {interval}"
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
