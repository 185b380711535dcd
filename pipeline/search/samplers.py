"""Name -> factory tables for Optuna's samplers and pruners; the keys are the allowed config values.

Optuna is imported when a factory runs, not when this module is imported, so the pre-flight check
can read the tables' keys cheaply.
"""

import contextlib
import importlib.util
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from pipeline.errors import ConfigError
from pipeline.search.space import grid, parameter_names
from pipeline.setup.config import Config
from pipeline.setup.vocabulary import BINARY_MEASURES


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

    # It warns after every trial that records search.constraints; the sweep says so once, at its start.
    warnings.filterwarnings("ignore", message="Constraints have been set, but CmaEsSampler", category=UserWarning)
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


def _auto(config: Config, seed: int, options: dict[str, Any]) -> Any:
    name, _ = choose_sampler(config)
    return SAMPLERS[name](config, seed, {**AUTO_OPTIONS.get(name, {}), **options})


# name -> factory(config, seed, options) -> optuna sampler
SAMPLERS: dict[str, Callable[[Config, int, dict[str, Any]], Any]] = {
    "auto": _auto,
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

# sampler=auto: the choice for each shape of study. The single-objective rows are the winners of
# benchmarks/bench_search.py by its stated rule (docs/BENCHMARKS.md, "Search quality on eight problems");
# the multi-objective rows follow Optuna's AutoSampler (TPE for small budgets, NSGA-II for large ones,
# NSGA-III for many objectives), which the benchmark does not cover.
AUTO_CHOICES = {
    "mixed": "tpe",  # categorical or conditional parameters (the default space: activation, depth)
    "numeric": "tpe",  # numbers only, unconditional
    "numeric_gp": "gp",  # numbers only, PyTorch installed and a small budget
    "several": "tpe",  # two or three objectives, up to MANY_TRIALS trials
    "several_long": "nsgaii",  # two or three objectives, more trials
    "many": "nsgaiii",  # four or more objectives
}
# The options conf/sampler/tpe.yaml gives sampler=tpe (tests/pipeline/search/test_auto_choice.py holds the two equal).
AUTO_OPTIONS = {"tpe": {"multivariate": True, "group": True, "n_startup_trials": 8}}
MANY_TRIALS = 250  # where Optuna's AutoSampler moves from TPE to NSGA-II
SMALL_BUDGET = 200  # GP's cost per trial grows with the trials (0.4 s a trial at 40 here): no GP beyond this


def choose_sampler(config: Config) -> tuple[str, str]:
    """The sampler ``sampler=auto`` uses for this study, and why in a few words.

    Named samplers are used as named; ``auto`` looks at the number of objectives, whether the space has
    categorical or conditional parameters (``depth`` with per-layer ``hidden_units``), and the budget.
    """
    name = config.sampler.name
    if name != "auto":
        return name, "named by sampler="
    search = config.search
    if len(search.metrics) >= 4:
        return AUTO_CHOICES["many"], f"{len(search.metrics)} objectives"
    if search.multi_objective:
        key = "several_long" if search.n_trials > MANY_TRIALS else "several"
        return AUTO_CHOICES[key], f"{len(search.metrics)} objectives, {search.n_trials} trials"
    names = parameter_names(search.space, default_depth=len(config.model.hidden_units))
    categorical = sorted(name for name, param in names.items() if param.type == "categorical")
    conditional = "depth" in search.space and "hidden_units" in search.space
    if categorical or conditional:
        shape = ", ".join([*(["categorical " + "/".join(categorical)] if categorical else []),
                           *(["conditional on depth"] if conditional else [])])  # fmt: skip
        return AUTO_CHOICES["mixed"], f"one objective; {shape}"
    if importlib.util.find_spec("torch") is not None and search.n_trials <= SMALL_BUDGET:
        return AUTO_CHOICES["numeric_gp"], f"one objective, numbers only, {search.n_trials} trials"
    return AUTO_CHOICES["numeric"], "one objective, numbers only"


def _median(config: Config, options: dict[str, Any]) -> Any:
    import optuna

    return optuna.pruners.MedianPruner(**options)


def _hyperband(config: Config, options: dict[str, Any]) -> Any:
    import optuna

    return optuna.pruners.HyperbandPruner(**{"max_resource": config.train.epochs, **options})


def _none(config: Config, options: dict[str, Any]) -> Any:
    import optuna

    return optuna.pruners.NopPruner(**options)


def _percentile(config: Config, options: dict[str, Any]) -> Any:
    import optuna

    # conf/pruner/percentile.yaml holds the settings; a warm-up of null is a quarter of the epochs, because early
    # accuracy ranks configurations badly (docs/BENCHMARKS.md, "Pruning").
    warmup = options.get("n_warmup_steps")
    return optuna.pruners.PercentilePruner(
        **{**options, "n_warmup_steps": config.train.epochs // 4 if warmup is None else warmup}
    )


def _auto_pruner(config: Config, options: dict[str, Any]) -> Any:
    name, _ = choose_pruner(config)
    # With several objectives nothing is pruned, and the chosen pruner's options do not apply.
    return PRUNERS[name](config, options if name == AUTO_PRUNER else {})


# name -> factory(config, options) -> optuna pruner
PRUNERS: dict[str, Callable[[Config, dict[str, Any]], Any]] = {
    "auto": _auto_pruner,
    "percentile": _percentile,
    "median": _median,
    "hyperband": _hyperband,
    "none": _none,
}


AUTO_PRUNER = "percentile"  # the benchmark's choice for one objective (docs/BENCHMARKS.md)


def choose_pruner(config: Config) -> tuple[str, str]:
    """The pruner ``pruner=auto`` uses: none for several objectives (Optuna prunes on one value), else
    the one that kept the best value at equal cost in benchmarks/bench_search.py."""
    name = config.pruner.name
    if name != "auto":
        return name, "named by pruner="
    if config.search.multi_objective:
        return "none", "several objectives cannot be pruned"
    if config.search.metrics[0] in BINARY_MEASURES:
        return "none", f"{config.search.metrics[0]} is measured once, after training: nothing to prune on"
    return AUTO_PRUNER, "one objective"


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


def lie_only_beside_others(sampler: Any, config: Config, trials: Sequence[Any]) -> None:
    """Turn TPE's constant liar (Optuna's default) on for the next trial only while another trial runs.

    ``trials``: the study's trials as read just before the next trial is asked for (none of them is that trial).
    The liar counts the other workers' running trials as bad, so that parallel workers do not all sample
    near one configuration; to do so it reads the study afresh at each sampling and writes each trial's
    sampled values for the others to see (about 2.4 reads and writes a trial, 12-17 ms, a tenth of a trial's
    bookkeeping: docs/BENCHMARKS.md). With no other trial running it has nothing to lie about and samples
    the same values from the same trials (the trial being sampled is left out either way), so it is spared.
    A trial left RUNNING by a dead worker keeps it on, as Optuna intends, until that trial is failed.
    A value the user gave (``sampler.options.constant_liar``) is never changed. Checked against Optuna
    5.1's ``TPESampler._constant_liar``; if the private name moves, the liar simply stays as configured.
    """
    import optuna

    if not isinstance(sampler, optuna.samplers.TPESampler) or "constant_liar" in config.sampler.options:
        return
    if hasattr(sampler, "_constant_liar"):
        sampler._constant_liar = any(trial.state == optuna.trial.TrialState.RUNNING for trial in trials)
