"""The Bayes error of the generated datasets: the lowest error any classifier can reach on their generator.

The course's bias/variance diagnosis measures avoidable bias against "human-level" error, a proxy for the
Bayes error. For a dataset whose generator is known — the planar flower, scikit-learn's moons and circles
and their course versions — the Bayes error itself can be estimated: the generator defines each class's
density ``p(x | c)``, the Bayes classifier picks the class with the highest posterior, and its error is
``E[min_c p(c | x)]`` over the generator's points. This module estimates that expectation by Monte Carlo
(``SAMPLES`` points drawn from the generator, a fixed seed) with a 95 % confidence interval.

The densities follow each generator exactly, with its fixed grid of angles read as the continuous uniform
distribution it samples (the limit of many points):

- moons (``sklearn.datasets.make_moons``): class 0 on ``(cos t, sin t)``, class 1 on
  ``(1 - cos t, 1/2 - sin t)``, ``t`` uniform on ``[0, pi]``, isotropic Gaussian noise ``noise``;
- circles (``make_circles``, ``factor=0.8``): class 0 on the unit circle, class 1 on the circle of radius
  0.8, angle uniform, Gaussian noise ``noise``;
- planar (the course's ``load_planar_dataset``): class ``j`` draws ``t0`` uniform on
  ``[3.12 j, 3.12 (j + 1)]``, ``t = t0 + noise * e1`` and ``r = 4 sin 4t + noise * e2``, and puts the point at
  ``(r sin t, r cos t)``. A point ``x`` has the polar pre-images ``(|x|, theta + 2 pi k)`` and
  ``(-|x|, theta + pi + 2 pi k)``; their Jacobian ``|r|`` is the same for every pre-image, so it cancels in
  the posterior.

Both classes have prior 1/2 (the generators make ``n // 2`` and ``n - n // 2`` points). Scaling the
features is an invertible affine map and leaves the Bayes error unchanged.
"""

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, logsumexp

SAMPLES = 20_000  # Monte Carlo points: the 95 % interval is then about +-0.002 around errors near 0.1
Z95 = 1.959963984540054  # two-sided 95 % normal quantile
PLANAR_SPAN, PLANAR_PETAL = 3.12, 4.0  # the course's angle range per class and petal length

# (x (m, 2)) -> log p(x | class) (m,), up to a constant shared by both classes
LogDensity = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class BayesEstimate:
    """A Monte Carlo estimate of the Bayes error with its 95 % confidence interval."""

    error: float
    low: float
    high: float
    samples: int

    def describe(self) -> str:
        """``Bayes error 3.21 % (95 % interval 3.10-3.32 %, Monte Carlo over 20,000 generator points)``."""
        return (
            f"Bayes error {self.error:.2%} (95 % interval {self.low:.2%}–{self.high:.2%}, Monte Carlo over "
            f"{self.samples:,} points of the generator)"
        )


def monte_carlo(
    points: np.ndarray, log_densities: tuple[LogDensity, LogDensity], samples: int | None = None
) -> BayesEstimate:
    """The Bayes error of two equally likely classes from ``points`` ``(m, 2)`` drawn from their mixture:
    the mean of ``min(p(0 | x), p(1 | x))`` with its normal 95 % interval."""
    log0, log1 = (density(points) for density in log_densities)
    # p(0 | x) = 1 / (1 + exp(log1 - log0)); the smaller posterior, computed without overflow
    smaller = 1.0 / (1.0 + np.exp(np.abs(log0 - log1)))
    smaller = np.where(np.isfinite(log0) | np.isfinite(log1), smaller, 0.5)
    error = float(np.mean(smaller))
    half = Z95 * float(np.std(smaller, ddof=1)) / math.sqrt(len(smaller))
    return BayesEstimate(error, max(error - half, 0.0), error + half, samples or len(smaller))


def _curve_density(curve: Callable[[np.ndarray], np.ndarray], span: float, noise: float, length: float) -> LogDensity:
    """``log p(x)`` of a point uniform along ``curve(t)``, ``t`` in ``[0, span]``, plus isotropic Gaussian
    noise: the mean of the Gaussian kernels at a grid of ``t`` fine against the noise (midpoint rule)."""
    steps = max(128, math.ceil(4 * length / noise))
    centres = curve((np.arange(steps) + 0.5) * span / steps)  # (steps, 2)

    def log_density(x: np.ndarray) -> np.ndarray:
        out = np.empty(len(x))
        for start in range(0, len(x), 2048):  # (2048, steps) at a time: memory stays small
            block = x[start : start + 2048]
            squared = ((block[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
            out[start : start + 2048] = logsumexp(-squared / (2 * noise**2), axis=1)
        return out

    return log_density


def _moons(noise: float, rng: np.random.Generator, m: int) -> tuple[np.ndarray, tuple[LogDensity, LogDensity]]:
    def upper(t: np.ndarray) -> np.ndarray:
        return np.c_[np.cos(t), np.sin(t)]

    def lower(t: np.ndarray) -> np.ndarray:
        return np.c_[1 - np.cos(t), 0.5 - np.sin(t)]

    labels = rng.integers(0, 2, m)
    t = rng.uniform(0, math.pi, m)
    points = np.where(labels[:, None] == 0, upper(t), lower(t)) + rng.normal(0, noise, (m, 2))
    return points, (_curve_density(upper, math.pi, noise, math.pi), _curve_density(lower, math.pi, noise, math.pi))


def _circles(noise: float, rng: np.random.Generator, m: int, factor: float = 0.8) -> tuple:
    def outer(t: np.ndarray) -> np.ndarray:
        return np.c_[np.cos(t), np.sin(t)]

    def inner(t: np.ndarray) -> np.ndarray:
        return factor * outer(t)

    labels = rng.integers(0, 2, m)
    t = rng.uniform(0, 2 * math.pi, m)
    points = np.where(labels[:, None] == 0, outer(t), inner(t)) + rng.normal(0, noise, (m, 2))
    tau = 2 * math.pi
    return points, (_curve_density(outer, tau, noise, tau), _curve_density(inner, tau, noise, factor * tau))


def _planar_density(label: int, noise: float) -> LogDensity:
    """``log p(x | class)`` of the course's flower, summed over the polar pre-images of ``x``."""
    start, end = PLANAR_SPAN * label, PLANAR_SPAN * (label + 1)

    def log_density(x: np.ndarray) -> np.ndarray:
        radius = np.hypot(x[:, 0], x[:, 1])
        theta = np.arctan2(x[:, 0], x[:, 1])  # x = r (sin t, cos t)
        terms = []
        for sign, shift in ((1.0, 0.0), (-1.0, math.pi)):
            for turn in range(-2, 3):
                t = theta + shift + 2 * math.pi * turn
                # t = t0 + noise * e, t0 uniform on [start, end]: P(start <= t - noise e <= end) / span
                log_t = _log_diff(log_ndtr((t - start) / noise), log_ndtr((t - end) / noise)) - math.log(PLANAR_SPAN)
                r = sign * radius
                log_r = -0.5 * ((r - PLANAR_PETAL * np.sin(4 * t)) / noise) ** 2
                terms.append(log_t + log_r)
        return logsumexp(np.stack(terms), axis=0)

    return log_density


def _log_diff(log_a: np.ndarray, log_b: np.ndarray) -> np.ndarray:
    """``log(exp(a) - exp(b))`` for ``a >= b``, -inf where they are equal."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_a + np.log1p(-np.exp(np.minimum(log_b - log_a, 0.0)))


def _planar(noise: float, rng: np.random.Generator, m: int) -> tuple:
    labels = rng.integers(0, 2, m)
    t = PLANAR_SPAN * (labels + rng.uniform(0, 1, m)) + rng.normal(0, noise, m)
    r = PLANAR_PETAL * np.sin(4 * t) + rng.normal(0, noise, m)
    points = np.c_[r * np.sin(t), r * np.cos(t)]
    return points, (_planar_density(0, noise), _planar_density(1, noise))


# dataset name -> (generator, the noise it is made with; None: the config's dataset.noise)
GENERATORS: dict[str, tuple[Callable, float | None]] = {
    "planar": (_planar, None),
    "moons": (_moons, None),
    "circles": (_circles, None),
    "moons_course": (_moons, 0.2),  # make_moons(noise=0.2), the optimization assignment's
    "circles_course": (_circles, 0.05),  # make_circles(noise=0.05), the initialization assignment's
}


@functools.cache
def bayes_error(name: str, noise: float, samples: int = SAMPLES, seed: int = 0) -> BayesEstimate | None:
    """The Bayes error of dataset ``name``'s generator at ``noise`` (ignored for the course versions, whose
    noise is fixed), or None when the dataset has no known generator."""
    if name not in GENERATORS:
        return None
    make, fixed = GENERATORS[name]
    noise = fixed if fixed is not None else noise
    if noise <= 0:  # the classes' curves do not cross: a perfect classifier exists
        return BayesEstimate(0.0, 0.0, 0.0, 0)
    points, densities = make(noise, np.random.default_rng(seed), samples)
    return monte_carlo(points, densities)
