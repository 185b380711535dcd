"""Name -> factory tables for Optuna's samplers and pruners; the keys are the allowed config values.

Optuna is imported when a factory runs, not when this module is imported, so the pre-flight check
can read the tables' keys cheaply.
"""

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from pipeline.errors import ConfigError
from pipeline.search.space import grid
from pipeline.setup.config import Config


@contextlib.contextmanager
def quiet_experimental() -> Iterator[None]:
    """Silence Optuna's ExperimentalWarning (heartbeats, some samplers) for what runs inside."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def _tpe(config: Config, seed: int, options: dict[str, Any]) -> Any:
    import optuna

    return optuna.samplers.TPESampler(seed=seed, **options)


def _random(config: Config, seed: int, options: dict[str, Any]) -> Any:
    import optuna

    return optuna.samplers.RandomSampler(seed=seed, **options)


def _cmaes(config: Config, seed: int, options: dict[str, Any]) -> Any:
    import optuna

    return optuna.samplers.CmaEsSampler(seed=seed, **options)


def _qmc(config: Config, seed: int, options: dict[str, Any]) -> Any:
    import optuna

    return optuna.samplers.QMCSampler(seed=seed, **options)


def _grid(config: Config, seed: int, options: dict[str, Any]) -> Any:
    import optuna

    space = grid(config.search.space, default_depth=len(config.model.hidden_units))
    return optuna.samplers.GridSampler(space, seed=seed, **options)


def _gp(config: Config, seed: int, options: dict[str, Any]) -> Any:
    import optuna

    try:
        import torch  # noqa: F401  (Optuna's GP sampler computes with PyTorch)
    except ImportError:
        raise ConfigError(
            'sampler=gp needs PyTorch, which is not installed: pip install -e ".[gp]" (a CPU build)'
        ) from None
    return optuna.samplers.GPSampler(seed=seed, **options)


def _nsgaii(config: Config, seed: int, options: dict[str, Any]) -> Any:
    import optuna

    return optuna.samplers.NSGAIISampler(seed=seed, **options)


def _nsgaiii(config: Config, seed: int, options: dict[str, Any]) -> Any:
    import optuna

    return optuna.samplers.NSGAIIISampler(seed=seed, **options)


# name -> factory(config, seed, options) -> optuna sampler
SAMPLERS: dict[str, Callable[[Config, int, dict[str, Any]], Any]] = {
    "tpe": _tpe,
    "random": _random,
    "cmaes": _cmaes,
    "qmc": _qmc,
    "grid": _grid,
    "gp": _gp,
    "nsgaii": _nsgaii,
    "nsgaiii": _nsgaiii,
}
SINGLE_OBJECTIVE_SAMPLERS = ("cmaes",)  # Optuna's CMA-ES cannot optimize several objectives


def _median(config: Config, options: dict[str, Any]) -> Any:
    import optuna

    return optuna.pruners.MedianPruner(**options)


def _hyperband(config: Config, options: dict[str, Any]) -> Any:
    import optuna

    return optuna.pruners.HyperbandPruner(**{"max_resource": config.train.epochs, **options})


def _none(config: Config, options: dict[str, Any]) -> Any:
    import optuna

    return optuna.pruners.NopPruner(**options)


# name -> factory(config, options) -> optuna pruner
PRUNERS: dict[str, Callable[[Config, dict[str, Any]], Any]] = {
    "median": _median,
    "hyperband": _hyperband,
    "none": _none,
}


def sampler(config: Config, stream: tuple[int, int] = (0, 0)) -> Any:
    """The configured sampler, seeded with ``sampler.seed`` (or the root seed).

    ``stream=(worker, trials_already_run)`` gives parallel workers and resumed sessions their own
    random streams; a fresh single-worker sweep, ``(0, 0)``, uses the seed itself.
    """
    seed = config.seed if config.sampler.seed is None else config.sampler.seed
    if stream != (0, 0):
        seed = int(np.random.SeedSequence([seed, *stream]).generate_state(1)[0])
    options = dict(config.sampler.options)
    try:
        with quiet_experimental():
            return SAMPLERS[config.sampler.name](config, seed, options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"sampler.options={options} for sampler={config.sampler.name}: {error}") from None


def pruner(config: Config) -> Any:
    """The configured pruner (hyperband's ``max_resource`` defaults to ``train.epochs``)."""
    options = dict(config.pruner.options)
    try:
        return PRUNERS[config.pruner.name](config, options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"pruner.options={options} for pruner={config.pruner.name}: {error}") from None
