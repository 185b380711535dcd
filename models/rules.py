"""What a setting may be: a numeric ``Range`` or a name table, and the one check that applies either.

The settings classes (``models.settings``) carry these rules in their fields' metadata; the network checks
its settings with ``problem`` here, and the pipeline's pre-flight reads the same rules for its config.
"""

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """``low <= value <= high`` (``low < value`` when ``low_open``, ``value < high`` when ``high_open``);
    whole numbers when ``integer``. Every value must be finite, so ``high=inf`` means "no upper bound"."""

    low: float
    high: float = math.inf
    integer: bool = False
    low_open: bool = False
    high_open: bool = False

    def text(self) -> str:
        """The interval as written in messages: ``[0, 1)``, ``(0, 1000000]``."""
        low, high = _number_text(self.low), _number_text(self.high)
        return f"{'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"

    def phrase(self) -> str:
        """What the value must be, in words: ``a number in [0, 1)``, ``a finite number > 0``, ``an integer >= 1``."""
        kind = "an integer" if self.integer else "a number"
        if math.isfinite(self.high):
            return f"{kind} in {self.text()}"
        bound = f"{'>' if self.low_open else '>='} {_number_text(self.low)}"
        return f"{kind} {bound}" if self.integer else f"a finite number {bound}"

    def contains(self, value: object) -> bool:
        """Whether ``value`` is a (whole, for integer ranges) finite number inside the range; ``bool`` is not."""
        kind = numbers.Integral if self.integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        return above and (value < self.high if self.high_open else value <= self.high)


def _number_text(value: float) -> str:
    """Whole numbers as integers (``4294967295``, not ``4.29497e+09``), others as ``%g``."""
    return str(int(value)) if math.isfinite(value) and float(value).is_integer() else f"{value:g}"


Rule = Range | Mapping | type
"""A ``Range``; a name table whose keys are the allowed values; or ``bool`` (``True`` or ``False``)."""


def problem(name: str, value: object, rule: Rule, *, optional: bool = False) -> str | None:
    """Why ``value`` breaks ``rule``, as one sentence naming ``name`` and what is allowed; ``None`` when it keeps
    it. ``optional``: ``None`` is allowed too (a full batch, the initializer's own generator)."""
    if value is None and optional:
        return None
    if isinstance(rule, Range):
        return None if rule.contains(value) else f"{name}={value!r} must be {rule.phrase()}"
    if rule is bool:
        return None if isinstance(value, bool) else f"{name}={value!r} must be True or False"
    allowed = list(rule)
    if value in allowed:
        return None
    return f"unknown {name} {value!r}; allowed: {allowed}{' or None' if optional else ''}"


@functools.cache  # read once per function: the decay schedule's is asked at every epoch
def keyword_settings(function: Callable) -> tuple[str, ...]:
    """The keyword-only parameters of ``function``: the settings an optimizer or a decay schedule declares it
    takes (``Adam(parameters, *, beta1, beta2, epsilon)``), so that which setting applies is written once."""
    parameters = inspect.signature(function).parameters.values()
    return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)
