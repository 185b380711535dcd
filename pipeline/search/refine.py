"""Coarse to fine (the course's tuning process): a new study searches a space shrunk around the best trials of
a finished one.

``search.refine_from=<study>`` reads that study from the same storage, takes its best complete trials that
met their limits (the top ``REFINE_SHARE`` of them, at least ``REFINE_MIN``), and shrinks every numeric entry
of this sweep's space to the range those trials span, widened by ``MARGIN`` of the coarse range on each side
(on the log scale where the entry is searched on one) and clipped to the coarse bounds; a categorical entry
keeps the choices the best trials used. The new study's parent run links to the coarse study's
(``refined_from``, ``coarse_parent_run_id``), and its report shows both ranges.
"""

import json
import math
from dataclasses import replace
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState

from pipeline.errors import ConfigError
from pipeline.record_names import PARENT_ATTR
from pipeline.search.constraints import feasible
from pipeline.search.study import other_study
from pipeline.setup.config import Config, SearchParam

REFINE_SHARE = 0.2  # the best fifth of the coarse study's complete trials ...
REFINE_MIN = 3  # ... and never fewer than three
MARGIN = 0.1  # each side widened by a tenth of the coarse range (transformed scale)
LAYERS = ("hidden_units", "width")  # one space entry, one Optuna parameter per layer (hidden_units_l1, ...)
COARSE_SPACE_TAG = "coarse_search_space"  # on the refined study's parent run: the space it was shrunk from


def best_of(source: optuna.Study) -> list[FrozenTrial]:
    """The coarse study's best complete trials that met their limits, by its first objective."""
    maximize = source.directions[0] == optuna.study.StudyDirection.MAXIMIZE
    complete = [t for t in source.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if feasible(t)]
    ranked = sorted(complete, key=lambda t: t.values[0], reverse=maximize)
    return ranked[: max(REFINE_MIN, math.ceil(REFINE_SHARE * len(ranked)))]


def _values(name: str, trials: list[FrozenTrial]) -> list[Any]:
    """The values the trials gave ``name``'s parameter (every layer's for ``hidden_units``)."""
    if name in LAYERS:
        return [v for t in trials for key, v in t.params.items() if key.startswith(f"{name}_l") or key == name]
    return [t.params[name] for t in trials if name in t.params]


def narrowed(param: SearchParam, values: list[Any]) -> SearchParam:
    """``param`` shrunk to the span of ``values`` plus the margin, inside its own bounds."""
    if not values:
        return param
    if param.type == "categorical":
        kept = [choice for choice in param.choices if choice in values]
        return replace(param, choices=kept or list(param.choices))
    forward, back = (math.log, math.exp) if param.log else (float, float)
    low, high = forward(param.low), forward(param.high)
    span = (high - low) * MARGIN
    new_low = back(max(low, forward(min(values)) - span))
    new_high = back(min(high, forward(max(values)) + span))
    if param.type == "int":
        new_low, new_high = math.floor(new_low), math.ceil(new_high)
    new_low, new_high = max(param.low, new_low), min(param.high, new_high)
    if param.step is not None:  # keep the grid of the coarse space: low + k * step
        new_low = param.low + math.floor((new_low - param.low) / param.step) * param.step
        new_high = new_low + math.ceil((new_high - new_low) / param.step) * param.step
        new_high = min(new_high, param.high)
    return replace(param, low=new_low, high=new_high)


def refined(config: Config, rdb: RDBStorage) -> tuple[Config, dict[str, str]]:
    """``config`` with its space shrunk around the best trials of ``search.refine_from``, and the tags that link
    the new study's parent run to the coarse one."""
    name = config.search.refine_from
    source = other_study(rdb, "search.refine_from", name)
    best = best_of(source)
    if not best:
        raise ConfigError(f"search.refine_from={name!r}: the study has no complete trial to refine around")
    space = {key: narrowed(param, _values(key, best)) for key, param in config.search.space.items()}
    shown = [f"{key} {describe(config.search.space[key])} -> {describe(p)}" for key, p in space.items()]
    print(f"coarse to fine: the space around the best {len(best)} trials of study {name!r}: " + "; ".join(shown))
    new = replace(config, search=replace(config.search, space=space))
    coarse = json.dumps({key: vars(param) for key, param in config.search.space.items()})
    links = {"refined_from": name, "coarse_parent_run_id": str(source.user_attrs.get(PARENT_ATTR, ""))}
    return new, {**links, COARSE_SPACE_TAG: coarse}


def ranges(coarse_json: str, space: dict[str, SearchParam]) -> dict[str, tuple[str, str]]:
    """Each entry's coarse and refined range as text, from the parent run's ``coarse_search_space`` tag."""
    coarse = {key: SearchParam(**value) for key, value in json.loads(coarse_json or "{}").items()}
    return {key: (describe(coarse[key]), describe(param)) for key, param in space.items() if key in coarse}


def describe(param: SearchParam) -> str:
    """``[0.001, 0.1] log`` or ``{relu, tanh}``."""
    if param.type == "categorical":
        return "{" + ", ".join(map(str, param.choices)) + "}"
    return f"[{param.low:.4g}, {param.high:.4g}]" + (" log" if param.log else "")
