"""Learning-rate decay per epoch (``LR_DECAYS``), as in the *Improving Deep Neural Networks* week-2 assignment.

Each schedule is ``schedule(learning_rate0, epoch_num, decay_rate, time_interval) -> learning_rate``:

| name | formula | course |
|---|---|---|
| ``none`` | ``α0`` | |
| ``inverse_time`` | ``α0 / (1 + decay_rate · epoch_num)`` | ``update_lr`` |
| ``inverse_time_staircase`` | ``α0 / (1 + decay_rate · floor(epoch_num / time_interval))`` | ``schedule_lr_decay`` |
| ``exponential`` | ``α0 · exp(−decay_rate · epoch_num)`` | lectures: ``0.95^epoch_num · α0``, i.e. ``−ln 0.95`` |

When the rate changes (``learning_rate_for_epoch``): the course's ``model`` trains epoch ``i`` and then
sets ``learning_rate = decay(learning_rate0, i, decay_rate)`` for the next one. So epoch ``e`` trains
at ``schedule(α0, e − 1)`` and epochs 0 and 1 both train at ``α0``; ``DeepNetwork.fit`` does the same.
"""

import math
from collections.abc import Callable

Schedule = Callable[[float, int, float, int], float]


def _none(learning_rate0: float, epoch_num: int, decay_rate: float, time_interval: int) -> float:
    return learning_rate0


def _inverse_time(learning_rate0: float, epoch_num: int, decay_rate: float, time_interval: int) -> float:
    return learning_rate0 / (1.0 + decay_rate * epoch_num)


def _inverse_time_staircase(learning_rate0: float, epoch_num: int, decay_rate: float, time_interval: int) -> float:
    return learning_rate0 / (1.0 + decay_rate * (epoch_num // time_interval))


def _exponential(learning_rate0: float, epoch_num: int, decay_rate: float, time_interval: int) -> float:
    return learning_rate0 * math.exp(-decay_rate * epoch_num)


# name -> schedule; the keys are the allowed values of DeepNetwork.fit(decay=...).
LR_DECAYS: dict[str, Schedule] = {
    "none": _none,
    "inverse_time": _inverse_time,
    "inverse_time_staircase": _inverse_time_staircase,
    "exponential": _exponential,
}


def learning_rate_for_epoch(
    decay: str, learning_rate0: float, epoch: int, decay_rate: float = 1.0, time_interval: int = 1000
) -> float:
    """The rate epoch ``epoch`` (0-based) trains at: ``LR_DECAYS[decay](learning_rate0, max(epoch − 1, 0), ...)``,
    the course's timing (the rate is updated after each epoch from the index of the epoch just finished)."""
    return LR_DECAYS[decay](learning_rate0, max(epoch - 1, 0), decay_rate, time_interval)


def check_decay(decay: str, decay_rate: float, time_interval: int) -> None:
    """Raise ``ValueError`` naming the argument, its value and what is allowed."""
    if decay not in LR_DECAYS:
        raise ValueError(f"unknown decay {decay!r}; allowed: {list(LR_DECAYS)}")
    if isinstance(decay_rate, bool) or not isinstance(decay_rate, int | float) or not math.isfinite(decay_rate):
        raise ValueError(f"decay_rate={decay_rate!r} must be a finite number >= 0")
    if decay_rate < 0:
        raise ValueError(f"decay_rate={decay_rate!r} must be >= 0 (0 keeps the learning rate constant)")
    if isinstance(time_interval, bool) or not isinstance(time_interval, int) or time_interval < 1:
        raise ValueError(f"time_interval={time_interval!r} must be an integer >= 1 (epochs per step of the staircase)")
