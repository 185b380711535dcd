"""RMSprop, momentum's beta and the learning-rate decays, each against steps worked by hand."""

import math

import numpy as np
import pytest

from models import LR_DECAYS, OPTIMIZERS, DeepNetwork
from models.optimizers import make_optimizer
from models.schedules import decay_takes, learning_rate_for_epoch


def test_tables_name_the_allowed_values() -> None:
    assert list(OPTIMIZERS) == ["gd", "momentum", "rmsprop", "adam"]
    assert list(LR_DECAYS) == ["none", "inverse_time", "inverse_time_staircase", "exponential"]


def test_rmsprop_two_steps_by_hand() -> None:
    """s ← β2·s + (1−β2)·g²; θ ← θ − α·g/(√s + ε), with β2 = 0.9, α = 0.01, ε = 1e-8."""
    parameters = {"W1": np.array([[1.0, -2.0]])}
    step = make_optimizer("rmsprop", parameters, beta2=0.9, epsilon=1e-8)
    g = np.array([[0.5, -0.1]])
    step.update(parameters, {"dW1": g.copy()}, 0.01)
    # s = 0.1·(0.25, 0.01) = (0.025, 0.001); steps 0.01·0.5/√0.025 and 0.01·(−0.1)/√0.001, both ±0.0316227766...
    expected = np.array([[1.0 - 0.005 / (math.sqrt(0.025) + 1e-8), -2.0 + 0.001 / (math.sqrt(0.001) + 1e-8)]])
    assert parameters["W1"] == pytest.approx(expected, abs=1e-15)
    step.update(parameters, {"dW1": g.copy()}, 0.01)
    # s = 0.9·0.025 + 0.1·0.25 = 0.0475 and 0.9·0.001 + 0.1·0.01 = 0.0019
    expected -= np.array([[0.005 / (math.sqrt(0.0475) + 1e-8), -0.001 / (math.sqrt(0.0019) + 1e-8)]])
    assert parameters["W1"] == pytest.approx(expected, abs=1e-15)


def test_momentum_beta_is_an_argument() -> None:
    """v ← β·v + (1−β)·g; θ ← θ − α·v, with β = 0.5."""
    parameters = {"b1": np.array([[0.0]])}
    step = make_optimizer("momentum", parameters, momentum=0.5)
    for _ in range(2):
        step.update(parameters, {"db1": np.array([[1.0]])}, 0.1)
    # v = 0.5, then 0.75: θ = −0.05 − 0.075
    assert parameters["b1"][0, 0] == pytest.approx(-0.125, abs=1e-16)


def test_adam_settings_reach_the_optimizer() -> None:
    step = make_optimizer("adam", {"W1": np.zeros((1, 1))}, beta1=0.5, beta2=0.75, epsilon=1e-3)
    assert (step.beta1, step.beta2, step.epsilon) == (0.5, 0.75, 1e-3)


@pytest.mark.parametrize(
    ("decay", "learning_rate0", "epoch_num", "decay_rate", "time_interval", "expected"),
    [
        # the course's own checks (update_lr_test, schedule_lr_decay_test in the week-2 public tests)
        ("inverse_time", 0.5, 2, 1.0, 1000, 0.16666666666666666),
        ("inverse_time_staircase", 0.5, 100, 1.0, 100, 0.25),
        ("inverse_time_staircase", 0.5, 10, 1.0, 100, 0.5),
        ("inverse_time_staircase", 0.3, 1000, 0.25, 100, 0.3 / 3.5),
        ("inverse_time_staircase", 0.3, 100, 0.25, 100, 0.24),
        ("exponential", 0.5, 3, 0.1, 1000, 0.5 * math.exp(-0.3)),
        ("none", 0.5, 3, 0.1, 1000, 0.5),
    ],
)
def test_decay_formulas(
    decay: str, learning_rate0: float, epoch_num: int, decay_rate: float, time_interval: int, expected: float
) -> None:
    given = {"decay_rate": decay_rate, "time_interval": time_interval}
    takes = {key: given[key] for key in decay_takes(decay)}  # each schedule takes only the settings it uses
    assert LR_DECAYS[decay](learning_rate0, epoch_num, **takes) == pytest.approx(expected, rel=1e-15)


def test_the_rate_changes_after_each_epoch_as_in_the_course() -> None:
    """The course's model sets learning_rate = decay(lr0, i, rate) after epoch i: epochs 0 and 1 use lr0."""
    rates = [learning_rate_for_epoch("inverse_time", 0.6, epoch, 1.0) for epoch in range(4)]
    assert rates == [0.6, 0.6, 0.3, 0.6 / 3]


def test_fit_trains_each_epoch_at_its_scheduled_rate() -> None:
    """Full-batch logistic regression: a decayed run equals one-epoch runs at the recorded rates."""
    X = np.array([[1.0, -1.0], [2.0, 0.0]])
    Y = np.array([[1, 0]])
    decayed = DeepNetwork([2, 1], init="zeros", seed=0)
    history = decayed.fit(X, Y, learning_rate=0.6, epochs=4, decay="inverse_time_staircase", time_interval=2)
    assert history["learning_rate"] == [0.6, 0.6, 0.6, 0.3]  # floor(e−1 / 2): 0, 0, 0, 1
    # the same steps taken one epoch at a time with those rates give the same parameters
    stepped = DeepNetwork([2, 1], init="zeros", seed=0)
    for rate in history["learning_rate"]:
        stepped.fit(X, Y, learning_rate=rate, epochs=1)
    assert all(np.array_equal(decayed.parameters[k], stepped.parameters[k]) for k in decayed.parameters)
    assert "learning_rate" not in DeepNetwork([2, 1], seed=0).fit(X, Y, learning_rate=0.1, epochs=1)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(3, 20)), (rng.random((1, 20)) > 0.5).astype(int)


@pytest.mark.parametrize(
    ("fit_kwargs", "message"),
    [
        ({"decay": "cosine"}, r"unknown decay 'cosine'; allowed: \['none', 'inverse_time'"),
        ({"decay": "inverse_time", "decay_rate": -1.0}, "decay_rate=-1.0 must be a finite number >= 0"),
        ({"decay": "inverse_time", "decay_rate": float("inf")}, "decay_rate=inf must be a finite number"),
        ({"decay": "inverse_time_staircase", "time_interval": 0}, "time_interval=0 must be an integer >= 1"),
        ({"optimizer": "momentum", "momentum": 1.0}, r"momentum=1.0 must be a number in \[0, 1\)"),
        ({"optimizer": "adam", "beta1": -0.1}, r"beta1=-0.1 must be a number in \[0, 1\)"),
        ({"optimizer": "rmsprop", "beta2": 1}, r"beta2=1 must be a number in \[0, 1\)"),
        ({"optimizer": "adam", "epsilon": 0.0}, "epsilon=0.0 must be a finite number > 0"),
        ({"batch_order": "sorted"}, r"unknown batch_order 'sorted'; allowed: \['default', 'course'\]"),
    ],
)
def test_bad_fit_arguments_are_refused(fit_kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeepNetwork([3, 4, 1]).fit(*_data(), learning_rate=0.1, epochs=1, **fit_kwargs)


def test_course_batch_order_is_random_mini_batches() -> None:
    """random_mini_batches(X, Y, 64, seed): np.random.seed(seed); permutation(m); slices of 64, the last smaller.
    The course's model starts from seed = 10 and adds 1 before each epoch."""
    from models import BATCH_ORDERS

    batches = BATCH_ORDERS["course"](np.random.default_rng(0))
    for epoch in range(3):
        permutation = np.random.RandomState(11 + epoch).permutation(300)
        got = list(batches(300, 64, epoch))
        assert [len(b) for b in got] == [64, 64, 64, 64, 44]
        assert np.array_equal(np.concatenate(got), permutation)
    assert list(batches(300, None, 0)) == [slice(None)]
