"""The Bayes error of the generated datasets: the Monte Carlo estimate against analytic values, and each
generator's density against the real generator's points."""

import math

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.datasets import make_circles, make_moons

from pipeline.setup import bayes
from pipeline.setup.config import DatasetConfig
from pipeline.setup.reference import bias_variance, reference_for


def gaussian_pair(separation: float, sd: float, m: int, seed: int) -> tuple[np.ndarray, tuple]:
    """Two equally likely isotropic Gaussian classes, means ``separation`` apart: Bayes error
    ``Phi(-separation / (2 sd))``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, m)
    points = rng.normal(0, sd, (m, 2))
    points[:, 0] += labels * separation

    def log_density(centre: float):
        return lambda x: -((x[:, 0] - centre) ** 2 + x[:, 1] ** 2) / (2 * sd**2)

    return points, (log_density(0.0), log_density(separation))


@pytest.mark.parametrize(("separation", "sd"), [(2.0, 1.0), (1.0, 1.0), (3.0, 0.5)])
def test_monte_carlo_matches_the_analytic_bayes_error_within_its_interval(separation: float, sd: float) -> None:
    expected = norm.cdf(-separation / (2 * sd))
    estimate = bayes.monte_carlo(*gaussian_pair(separation, sd, 20_000, seed=3))
    assert estimate.low <= expected <= estimate.high, (estimate, expected)
    assert estimate.high - estimate.low < 0.01  # 20,000 points: an interval narrow enough to be worth stating


def bayes_classifier_error(name: str, noise: float, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The error of the Bayes classifier this module's densities define, on points of the real generator,
    with its 95 % half-width."""
    make, _ = bayes.GENERATORS[name]
    _, (log0, log1) = make(noise, np.random.default_rng(0), 2)
    wrong = float(np.mean((log1(X) > log0(X)).astype(int) != y))
    return wrong, 1.96 * math.sqrt(wrong * (1 - wrong) / len(y))


def planar_points(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The course's flower generator (``load_planar_dataset``) with another seed and more points."""
    rng = np.random.RandomState(seed)
    half = n // 2
    X, y = np.zeros((n, 2)), np.zeros(n, dtype=int)
    for j in range(2):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, half) + rng.randn(half) * noise
        r = 4 * np.sin(4 * t) + rng.randn(half) * noise
        X[half * j : half * (j + 1)] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[half * j : half * (j + 1)] = j
    return X, y


@pytest.mark.parametrize(
    ("name", "noise", "points"),
    [
        ("moons", 0.3, lambda: make_moons(30_000, noise=0.3, random_state=5)),
        ("circles", 0.1, lambda: make_circles(30_000, noise=0.1, random_state=5)),
        ("planar", 0.4, lambda: planar_points(30_000, 0.4, seed=7)),
    ],
)
def test_each_generators_density_gives_the_error_its_real_points_show(name: str, noise: float, points) -> None:
    """The estimate from this module's own sampler agrees with the Bayes classifier's error on the real
    generator's points (scikit-learn's, the course's): the densities describe those generators."""
    X, y = points()
    wrong, half = bayes_classifier_error(name, noise, X, y)
    estimate = bayes.bayes_error(name, noise)
    assert abs(estimate.error - wrong) <= half + (estimate.high - estimate.error), (estimate, wrong, half)


def test_without_noise_the_bayes_error_is_zero_and_unknown_generators_have_none() -> None:
    assert bayes.bayes_error("moons", 0.0).error == 0.0
    assert bayes.bayes_error("digits", 0.2) is None


def test_the_reference_is_the_users_then_the_generators_then_zero() -> None:
    assert reference_for(DatasetConfig(name="moons", human_error=0.01), "binary").source == "human_error"
    found = reference_for(DatasetConfig(name="moons_course"), "binary")
    assert found.source == "bayes" and 0.02 < found.error < 0.04 and "Monte Carlo" in found.describe()
    assumed = reference_for(DatasetConfig(name="digits"), "multiclass")
    assert assumed.error == 0.0 and "assumed" in assumed.describe()


def test_bias_and_variance_from_a_runs_final_metrics() -> None:
    reference = reference_for(DatasetConfig(name="digits", human_error=0.01), "multiclass")
    found = bias_variance("multiclass", {"final_train_accuracy": 0.95, "val_accuracy": 0.9}, reference)
    assert found["final_train_error"] == pytest.approx(0.05) and found["final_val_error"] == pytest.approx(0.1)
    assert found["avoidable_bias"] == pytest.approx(0.04) and found["variance"] == pytest.approx(0.05)
    regression = bias_variance("regression", {"final_train_rmse": 2.0, "val_rmse": 3.0}, reference)
    assert regression["variance"] == pytest.approx(1.0)
    assert bias_variance("multiclass", {"final_train_accuracy": 0.95}, reference) == {}  # no validation split
