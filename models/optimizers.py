"""Parameter updates: plain gradient descent, momentum and Adam, updating parameters in place.

Each optimizer is ``update(parameters, grads, learning_rate)``; it may overwrite ``grads``
(they are not used after the step), which saves one temporary array per parameter.
"""

import numpy as np

OPTIMIZERS = ("gd", "momentum", "adam")


class GradientDescent:
    """``θ ← θ − α·dθ``."""

    def update(self, parameters: dict[str, np.ndarray], grads: dict[str, np.ndarray], learning_rate: float) -> None:
        for key, value in parameters.items():
            step = grads["d" + key]
            step *= learning_rate
            value -= step


class Momentum:
    """``v ← β·v + (1−β)·dθ; θ ← θ − α·v`` (the course's form, ``β = 0.9``)."""

    def __init__(self, parameters: dict[str, np.ndarray], beta: float = 0.9) -> None:
        self.beta = beta
        self.velocity = {key: np.zeros_like(value) for key, value in parameters.items()}

    def update(self, parameters: dict[str, np.ndarray], grads: dict[str, np.ndarray], learning_rate: float) -> None:
        for key, value in parameters.items():
            v = self.velocity[key]
            v *= self.beta
            v += (1.0 - self.beta) * grads["d" + key]
            value -= learning_rate * v


class Adam:
    """Adam with bias correction: ``m ← β1·m + (1−β1)·dθ``, ``v ← β2·v + (1−β2)·dθ²``,
    ``θ ← θ − α·m̂ / (√v̂ + ε)``."""

    def __init__(
        self, parameters: dict[str, np.ndarray], beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8
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


def make_optimizer(name: str, parameters: dict[str, np.ndarray]) -> GradientDescent | Momentum | Adam:
    """The optimizer called ``name`` (one of ``OPTIMIZERS``), with state shaped like ``parameters``."""
    if name == "gd":
        return GradientDescent()
    if name == "momentum":
        return Momentum(parameters)
    if name == "adam":
        return Adam(parameters)
    raise ValueError(f"unknown optimizer {name!r}; allowed: {list(OPTIMIZERS)}")
