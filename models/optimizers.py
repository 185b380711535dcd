"""Parameter updates: gradient descent, momentum, RMSprop and Adam, updating parameters in place.

Each optimizer is ``update(parameters, grads, learning_rate)``; it may overwrite ``grads``
(they are not used after the step), which saves one temporary array per parameter. Every entry of
``parameters`` is updated the same way (``W``, ``b`` and batch norm's ``gamma`` and ``beta`` alike),
from ``grads["d" + key]``.
"""

from collections.abc import Callable

import numpy as np

# The course's defaults (Improving Deep Neural Networks, week 2).
DEFAULT_BETA = 0.9  # momentum
DEFAULT_BETA1 = 0.9  # Adam's first moment
DEFAULT_BETA2 = 0.999  # Adam's and RMSprop's second moment
DEFAULT_EPSILON = 1e-8


class GradientDescent:
    """``θ ← θ − α·dθ``."""

    def update(self, parameters: dict[str, np.ndarray], grads: dict[str, np.ndarray], learning_rate: float) -> None:
        for key, value in parameters.items():
            step = grads["d" + key]
            step *= learning_rate
            value -= step


class Momentum:
    """``v ← β·v + (1−β)·dθ; θ ← θ − α·v`` (the course's form, ``β = 0.9``)."""

    def __init__(self, parameters: dict[str, np.ndarray], beta: float = DEFAULT_BETA) -> None:
        self.beta = beta
        self.velocity = {key: np.zeros_like(value) for key, value in parameters.items()}

    def update(self, parameters: dict[str, np.ndarray], grads: dict[str, np.ndarray], learning_rate: float) -> None:
        for key, value in parameters.items():
            v = self.velocity[key]
            v *= self.beta
            v += (1.0 - self.beta) * grads["d" + key]
            value -= learning_rate * v


class RMSprop:
    """``s ← β2·s + (1−β2)·dθ²; θ ← θ − α·dθ / (√s + ε)`` (the lectures' form: no bias correction)."""

    def __init__(
        self, parameters: dict[str, np.ndarray], beta2: float = DEFAULT_BETA2, epsilon: float = DEFAULT_EPSILON
    ) -> None:
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

    def __init__(
        self,
        parameters: dict[str, np.ndarray],
        beta1: float = DEFAULT_BETA1,
        beta2: float = DEFAULT_BETA2,
        epsilon: float = DEFAULT_EPSILON,
    ) -> None:
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

# name -> factory(parameters, momentum=, beta1=, beta2=, epsilon=); each takes the settings it uses.
# The keys are the allowed values of DeepNetwork.fit(optimizer=...).
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "gd": lambda parameters, **_: GradientDescent(),
    "momentum": lambda parameters, *, momentum, **_: Momentum(parameters, momentum),
    "rmsprop": lambda parameters, *, beta2, epsilon, **_: RMSprop(parameters, beta2, epsilon),
    "adam": lambda parameters, *, beta1, beta2, epsilon, **_: Adam(parameters, beta1, beta2, epsilon),
}


def make_optimizer(
    name: str,
    parameters: dict[str, np.ndarray],
    *,
    momentum: float = DEFAULT_BETA,
    beta1: float = DEFAULT_BETA1,
    beta2: float = DEFAULT_BETA2,
    epsilon: float = DEFAULT_EPSILON,
) -> Optimizer:
    """The optimizer called ``name`` (a key of ``OPTIMIZERS``), with state shaped like ``parameters``."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; allowed: {list(OPTIMIZERS)}")
    # Python floats: a NumPy float64 scalar would promote float32 arrays to float64 in the update.
    settings = {"momentum": float(momentum), "beta1": float(beta1), "beta2": float(beta2), "epsilon": float(epsilon)}
    return OPTIMIZERS[name](parameters, **settings)


def check_optimizer_settings(optimizer: str, momentum: float, beta1: float, beta2: float, epsilon: float) -> None:
    """Raise ``ValueError`` naming the argument, its value and what is allowed."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; allowed: {list(OPTIMIZERS)}")
    for name, value in (("momentum", momentum), ("beta1", beta1), ("beta2", beta2)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating) or not 0.0 <= value < 1.0:
            raise ValueError(f"{name}={value!r} must be a number in [0, 1)")
    finite = isinstance(epsilon, int | float | np.floating) and not isinstance(epsilon, bool) and np.isfinite(epsilon)
    if not (finite and epsilon > 0):
        raise ValueError(f"epsilon={epsilon!r} must be a finite number > 0")
