"""Learning-rate decay per epoch (``LR_DECAYS``), as in the *Improving Deep Neural Networks* week-2 assignment.

Each schedule is ``schedule(learning_rate0, epoch_num, *, <the settings it takes>) -> learning_rate``:

| name | formula | course |
|---|---|---|
| ``none`` | ``α0`` | |
| ``inverse_time`` | ``α0 / (1 + decay_rate · epoch_num)`` | ``update_lr`` |
| ``inverse_time_staircase`` | ``α0 / (1 + decay_rate · floor(epoch_num / time_interval))`` | ``schedule_lr_decay`` |
| ``exponential`` | ``α0 · exp(−decay_rate · epoch_num)`` | lectures: ``0.95^epoch_num · α0``, i.e. ``−ln 0.95`` |

When the rate changes (``learning_rate_for_epoch``): the course's ``model`` trains epoch ``i`` and then
sets ``learning_rate = decay(learning_rate0, i, decay_rate)`` for the next one. So epoch ``e`` trains
at ``schedule(α0, e − 1)`` and epochs 0 and 1 both train at ``α0``; ``DeepNetwork.fit`` does the same.

Each schedule declares the settings it takes as keyword-only parameters (``keyword_settings``): ``decay_rate``
applies to every decay but ``none``, ``time_interval`` to the staircase alone.
"""

import math
from collections.abc import Callable

from models.rules import keyword_settings

Schedule = Callable[..., float]


def _none(learning_rate0: float, epoch_num: int) -> float:
    return learning_rate0


def _inverse_time(learning_rate0: float, epoch_num: int, *, decay_rate: float) -> float:
    return learning_rate0 / (1.0 + decay_rate * epoch_num)


def _inverse_time_staircase(learning_rate0: float, epoch_num: int, *, decay_rate: float, time_interval: int) -> float:
    return learning_rate0 / (1.0 + decay_rate * (epoch_num // time_interval))


def _exponential(learning_rate0: float, epoch_num: int, *, decay_rate: float) -> float:
    return learning_rate0 * math.exp(-decay_rate * epoch_num)


# name -> schedule; the keys are the allowed values of FitSettings.decay.
LR_DECAYS: dict[str, Schedule] = {
    "none": _none,
    "inverse_time": _inverse_time,
    "inverse_time_staircase": _inverse_time_staircase,
    "exponential": _exponential,
}


def decay_takes(name: str) -> tuple[str, ...]:
    """The settings decay ``name`` takes (``("decay_rate", "time_interval")`` for the staircase)."""
    return keyword_settings(LR_DECAYS[name])


def learning_rate_for_epoch(
    decay: str, learning_rate0: float, epoch: int, decay_rate: float = 1.0, time_interval: int = 1000
) -> float:
    """The rate epoch ``epoch`` (0-based) trains at: ``LR_DECAYS[decay](learning_rate0, max(epoch − 1, 0), ...)``,
    the course's timing (the rate is updated after each epoch from the index of the epoch just finished)."""
    given = {"decay_rate": decay_rate, "time_interval": time_interval}
    return LR_DECAYS[decay](learning_rate0, max(epoch - 1, 0), **{key: given[key] for key in decay_takes(decay)})
