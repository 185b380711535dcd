"""Parameter updates: gradient descent, momentum, RMSprop and Adam, updating parameters in place.

Each optimizer is ``update(parameters, grads, learning_rate)``; it may overwrite ``grads``
(they are not used after the step), which saves one temporary array per parameter. Every entry of
``parameters`` is updated the same way (``W``, ``b`` and batch norm's ``gamma`` and ``beta`` alike),
from ``grads["d" + key]``.

Each class declares the settings it takes as keyword-only constructor parameters, named as the fields of
``models.settings.FitSettings`` (which holds their defaults, the course's): ``keyword_settings`` reads them, so
"Adam uses beta1" is written once, here.
"""

import numpy as np

from models.rules import keyword_settings


class GradientDescent:
    """``θ ← θ − α·dθ``."""

    def __init__(self, parameters: dict[str, np.ndarray]) -> None:
        pass  # no state: every optimizer is built from the parameters it updates

    def update(self, parameters: dict[str, np.ndarray], grads: dict[str, np.ndarray], learning_rate: float) -> None:
        for key, value in parameters.items():
            step = grads["d" + key]
            step *= learning_rate
            value -= step


class Momentum:
    """``v ← β·v + (1−β)·dθ; θ ← θ − α·v`` (the course's form, ``β = 0.9``)."""

    def __init__(self, parameters: dict[str, np.ndarray], *, momentum: float) -> None:
        self.beta = momentum
        self.velocity = {key: np.zeros_like(value) for key, value in parameters.items()}

    def update(self, parameters: dict[str, np.ndarray], grads: dict[str, np.ndarray], learning_rate: float) -> None:
        for key, value in parameters.items():
            v = self.velocity[key]
            v *= self.beta
            v += (1.0 - self.beta) * grads["d" + key]
            value -= learning_rate * v


class RMSprop:
    """``s ← β2·s + (1−β2)·dθ²; θ ← θ − α·dθ / (√s + ε)`` (the lectures' form: no bias correction)."""

    def __init__(self, parameters: dict[str, np.ndarray], *, beta2: float, epsilon: float) -> None:
        self.beta2, self.epsilon = beta2, epsilon
        self.second = {key: np.zeros_like(value) for key, value in parameters.items()}

    def update(self, parameters: dict[str, np.ndarray], grads: dict[str, np.ndarray], learning_rate: float) -> None:
        for key, value in parameters.items():
            g = grads["d" + key]
            s = self.second[key]
            s *= self.beta2
            s += (1.0 - self.beta2) * (g * g)
            denominator = np.sqrt(s)
            denominator += self.epsilon
            g *= learning_rate
            g /= denominator
            value -= g


class Adam:
    """Adam with bias correction: ``m ← β1·m + (1−β1)·dθ``, ``v ← β2·v + (1−β2)·dθ²``,
    ``θ ← θ − α·m̂ / (√v̂ + ε)``."""

    def __init__(self, parameters: dict[str, np.ndarray], *, beta1: float, beta2: float, epsilon: float) -> None:
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.t = 0
        self.first = {key: np.zeros_like(value) for key, value in parameters.items()}
        self.second = {key: np.zeros_like(value) for key, value in parameters.items()}

    def update(self, parameters: dict[str, np.ndarray], grads: dict[str, np.ndarray], learning_rate: float) -> None:
        self.t += 1
        # Fold both bias corrections into one step size instead of building m̂ and v̂.
        # Python floats, not NumPy float64 scalars, so that float32 arrays stay float32 in the update.
        step_size = float(learning_rate * np.sqrt(1.0 - self.beta2**self.t) / (1.0 - self.beta1**self.t))
        eps_hat = float(self.epsilon * np.sqrt(1.0 - self.beta2**self.t))
        for key, value in parameters.items():
            g = grads["d" + key]
            m, v = self.first[key], self.second[key]
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            g *= g
            g *= 1.0 - self.beta2
            v += g
            denominator = np.sqrt(v)
            denominator += eps_hat
            value -= step_size * m / denominator


Optimizer = GradientDescent | Momentum | RMSprop | Adam

# name -> class; the keys are the allowed values of FitSettings.optimizer.
OPTIMIZERS: dict[str, type[Optimizer]] = {"gd": GradientDescent, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam}


def optimizer_takes(name: str) -> tuple[str, ...]:
    """The settings optimizer ``name`` takes (``("beta1", "beta2", "epsilon")`` for ``adam``)."""
    return keyword_settings(OPTIMIZERS[name])


def make_optimizer(name: str, parameters: dict[str, np.ndarray], **settings: float) -> Optimizer:
    """The optimizer called ``name`` (a key of ``OPTIMIZERS``), with state shaped like ``parameters``; ``settings``
    may hold more than it takes (``momentum=`` for ``adam`` is ignored)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; allowed: {list(OPTIMIZERS)}")
    # Python floats: a NumPy float64 scalar would promote float32 arrays to float64 in the update.
    return OPTIMIZERS[name](parameters, **{key: float(settings[key]) for key in optimizer_takes(name)})
