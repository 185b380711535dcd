"""The course's third part on in-memory trials: satisficing limits, the bias/variance verdict and its
tolerance, the importances for bias and for variance."""

import math

import optuna
import pytest
from optuna.distributions import FloatDistribution

from pipeline.errors import ConfigError
from pipeline.record_names import BIAS_VARIANCE_ATTR
from pipeline.search.constraints import Limit, describe_infeasible, feasible, limits_of
from pipeline.search.diagnosis import diagnose, orthogonal_importances, study_shares


def trial(number: int, value: float, train: float, val: float, reference: float = 0.0, **constraints: float):
    made = optuna.trial.create_trial(
        value=value,
        params={"l2": 0.01 * (number + 1), "width": float(number % 3)},
        distributions={"l2": FloatDistribution(0.001, 1.0, log=True), "width": FloatDistribution(0.0, 2.0)},
        user_attrs={
            BIAS_VARIANCE_ATTR: {
                "final_train_error": train,
                "final_val_error": val,
                "avoidable_bias": train - reference,
                "variance": val - train,
                "reference_error": reference,
            }
        },
        system_attrs={f"constraints:{key}": v for key, v in constraints.items()},
    )
    made.number = number
    return made


def test_limits_read_the_users_mapping_and_refuse_anything_else() -> None:
    found = limits_of({"n_parameters": {"max": 20000}, "val_cost": {"finite": True}, "train_seconds": {"min": 0}})
    assert [limit.key for limit in found] == ["n_parameters<=20000", "val_cost finite", "train_seconds>=0"]
    assert limits_of(None) == []
    for bad, said in [
        ({"test_accuracy": {"min": 0.9}}, "test split"),
        ({"n_parameters": 5}, "give a mapping"),
        ({"n_parameters": {"below": 5}}, "give a mapping"),
        ({"n_parameters": {"max": "many"}}, "finite number"),
        ({"val_cost": {"finite": False}}, "only true"),
    ]:
        with pytest.raises(ConfigError, match=said):
            limits_of(bad)


def test_a_violation_is_how_far_a_measure_misses_and_a_missing_measure_misses_everything() -> None:
    assert Limit("n_parameters", "max", 100).violation(80) == -20
    assert Limit("n_parameters", "max", 100).violation(130) == 30
    assert Limit("val_accuracy", "min", 0.9).violation(0.8) == pytest.approx(0.1)
    assert Limit("val_cost", "finite").violation(1.0) == 0.0
    assert Limit("val_cost", "finite").violation(math.nan) == math.inf


def test_feasibility_and_the_summary_of_who_missed_what() -> None:
    trials = [
        trial(0, 0.9, 0.05, 0.1, **{"n<=1": 2.0}),
        trial(1, 0.8, 0.05, 0.1, **{"n<=1": -1.0}),
        trial(2, 0.7, 0, 0),
    ]
    assert [feasible(t) for t in trials] == [False, True, True]
    assert describe_infeasible(trials) == "1 of 3 complete trials infeasible (1 missed n<=1)"


def test_the_verdict_is_the_larger_gap_and_a_gap_within_seed_noise_is_none() -> None:
    bias = diagnose(trial(0, 0.9, train=0.08, val=0.09, reference=0.01), "ref", "classification")
    assert (
        bias.focus == "bias"
        and "bigger network" in bias.advice()[0]
        and "avoidable bias +7.00 points" in bias.sentence()
    )
    variance = diagnose(trial(1, 0.9, train=0.0, val=0.05), "ref", "classification")
    assert variance.focus == "variance" and any("regularization" in line for line in variance.advice())
    # The same 1-point variance is a finding with no seed spread measured, and noise when seeds vary by 1 point.
    small = trial(2, 0.9, train=0.004, val=0.014)
    assert diagnose(small, "ref", "classification").focus == "variance"
    assert diagnose(small, "ref", "classification", seed_sd=0.01).focus == "neither"
    below = diagnose(trial(3, 0.9, train=0.0, val=0.06, reference=0.03), "ref", "classification")
    assert any("below the reference" in note for note in below.notes())
    assert diagnose(optuna.trial.create_trial(value=0.5), "ref", "classification") is None


def test_shares_and_the_two_importances_come_from_the_trials_numbers() -> None:
    study = optuna.create_study(direction="maximize")
    # The train error follows l2 (bias), the gap follows width (variance).
    study.add_trials([trial(n, 0.9, train=0.01 * (n + 1), val=0.01 * (n + 1) + 0.02 * (n % 3)) for n in range(24)])
    shares = study_shares(study.trials)
    assert shares["bias"] + shares["variance"] == 24
    found = orthogonal_importances(study)
    bias, variance = found["train error (bias)"], found["val - train error (variance)"]
    assert next(iter(bias)) == "l2" and next(iter(variance)) == "width"
