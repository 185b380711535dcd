"""What the report's conclusions rest on, from real in-memory Optuna studies: the thin-evidence warning,
importances with their spread, the best stated with its seed noise, and the page that says all three."""

import math

import matplotlib.pyplot as plt
import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from pipeline.search.drawing import snapshot
from pipeline.search.evidence import Confirmation, evidence_of, importances, observable, within_noise
from pipeline.search.report import build, pair_figure
from pipeline.search.report_input import ReportInput

SPACE = {
    "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
    "depth": IntDistribution(1, 3),
    "hidden_units_l1": IntDistribution(16, 128, log=True),
    "hidden_activation": CategoricalDistribution(["relu", "tanh", "sigmoid"]),
}


def study_of(n: int, pruned: int = 0, seed: int = 0) -> optuna.Study:
    """``n`` complete trials whose value is decided by the learning rate (best near 1e-2) plus a little
    noise, and ``pruned`` pruned ones."""
    rng = np.random.default_rng(seed)
    study = optuna.create_study(direction="maximize")
    for number in range(n + pruned):
        params = {
            "learning_rate": float(10 ** rng.uniform(-4, -1)),
            "depth": int(rng.integers(1, 4)),
            "hidden_units_l1": int(rng.integers(16, 129)),
            "hidden_activation": str(rng.choice(["relu", "tanh", "sigmoid"])),
        }
        value = 0.98 - 0.05 * (math.log10(params["learning_rate"]) + 2) ** 2 + rng.normal(0, 0.002)
        if number < n:
            trial = optuna.trial.create_trial(params=params, distributions=SPACE, value=value)
        else:
            trial = optuna.trial.create_trial(
                params=params, distributions=SPACE, state=optuna.trial.TrialState.PRUNED, intermediate_values={4: 0.5}
            )
        study.add_trial(trial)
    return study


def test_a_five_trial_study_is_thin_evidence_and_a_sixty_trial_one_is_not() -> None:
    thin, enough = evidence_of(study_of(5).trials), evidence_of(study_of(60).trials)
    assert thin.thin and "Thin evidence: only 5 complete trials for 4 searched parameters" in thin.warning()
    assert not enough.thin and enough.warning() == ""
    assert (enough.complete, enough.parameters, enough.needed) == (60, 4, 12)


def test_pruned_trials_do_not_count_as_evidence() -> None:
    evidence = evidence_of(study_of(6, pruned=34).trials)
    assert (evidence.total, evidence.complete, evidence.pruned) == (40, 6, 34) and evidence.thin


def test_importances_rank_the_parameter_that_decides_the_value_first_and_give_a_spread() -> None:
    found = importances(study_of(60))
    assert next(iter(found)) == "learning_rate" and found["learning_rate"].median > 0.6
    for importance in found.values():
        assert 0.0 <= importance.low <= importance.median <= importance.high <= 1.0
    assert found == importances(study_of(60)), "the same study gives the same report"


def test_importances_need_two_complete_trials() -> None:
    assert importances(study_of(1)) == {}


def test_within_noise_names_the_trials_a_seed_sd_cannot_tell_from_the_best() -> None:
    study = optuna.create_study(direction="maximize")
    for value in (0.98, 0.975, 0.96, 0.979):
        study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=value))
    trials = study.trials
    assert within_noise(trials, 0, mean=0.978, sd=0.002, maximize=True) == (1, 3)
    assert within_noise(trials, 0, mean=0.978, sd=math.nan, maximize=True) == ()
    assert within_noise(trials, 2, mean=0.976, sd=0.001, maximize=False) == (1,)  # minimize: no worse than mean + 2 sd
    sentence = Confirmation(0, (0.98, 0.976, 0.978), (1, 3)).sentence("val_accuracy")
    assert sentence.startswith("val_accuracy 0.9780 ± 0.0020 (mean ± sd over 3 seeds of trial 0")
    assert "2 other configurations within noise" in sentence


@pytest.mark.parametrize(("n", "warned"), [(5, True), (60, False)])
def test_the_report_warns_in_plain_words_only_when_the_evidence_is_thin(n: int, warned: bool) -> None:
    page = build(ReportInput(study_of(n), "val_accuracy", "maximize", {"learning_rate"}, {})).html
    assert ("Thin evidence" in page) is warned
    assert f"Evidence: {n} complete, 0 pruned, 0 failed of {n} trials" in page
    assert "f-ANOVA" in page


def test_the_report_states_the_best_with_its_noise_and_names_the_chosen_best() -> None:
    study = study_of(30)
    chosen = sorted(study.trials, key=lambda t: t.values[0])[-3]  # not the top value: a rule chose it
    confirmation = Confirmation(chosen.number, (chosen.values[0], chosen.values[0] - 0.004), (1, 2))
    data = ReportInput(
        study, "val_accuracy", "maximize", set(), {}, best_number=chosen.number, confirmation=confirmation
    )
    page = build(data).html
    assert f"<p id='best-trial'>Trial {chosen.number}:" in page
    assert "mean ± sd over 2 seeds" in page and "2 other configurations within noise" in page


@pytest.mark.parametrize(
    ("params", "trials", "surface"),
    [
        (["learning_rate", "depth"], 60, False),
        (["learning_rate", "hidden_activation"], 60, False),
        (["learning_rate", "learning_rate_2"], 60, True),
        (["learning_rate", "learning_rate_2"], 10, False),
    ],
)
def test_a_surface_is_drawn_only_over_two_continuous_axes_and_enough_trials(
    params: list[str], trials: int, surface: bool
) -> None:
    study = study_of(trials)
    if "learning_rate_2" in params:  # a second continuous parameter
        twin = optuna.create_study(direction="maximize")
        for trial in study.trials:
            extra = {"learning_rate_2": trial.params["learning_rate"] * 0.5}
            twin.add_trial(optuna.trial.create_trial(
                params={**trial.params, **extra}, value=trial.values[0],
                distributions={**SPACE, "learning_rate_2": FloatDistribution(5e-5, 5e-2, log=True)},
            ))  # fmt: skip
        study = twin
    figure = pair_figure(ReportInput(study, "val_accuracy", "maximize", {"learning_rate"}, {}), params)
    titles = " ".join(axes.get_title() for axes in figure.axes)
    assert ("interpolated from" in titles) is surface and ("no interpolation" in titles) is not surface
    plt.close(figure)


def test_a_trial_added_through_optunas_api_outside_the_space_is_kept_as_an_observation() -> None:
    """`study.enqueue_trial({"hidden_units_l1": 300})` with the space's bound at 128: the trial trains; the
    report's copy of the study and the importances must take it, not fail every later run of the command."""
    study = study_of(12)
    outside = {"learning_rate": 0.5, "depth": 1, "hidden_units_l1": 300, "hidden_activation": "relu"}
    study.enqueue_trial(outside)

    def objective(trial: optuna.Trial) -> float:  # suggests from the space, as a sweep does
        trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        trial.suggest_int("depth", 1, 3)
        trial.suggest_int("hidden_units_l1", 16, 128, log=True)
        trial.suggest_categorical("hidden_activation", ["relu", "tanh", "sigmoid"])
        return 0.7

    with pytest.warns(UserWarning, match="out of range"):
        study.optimize(objective, n_trials=1)
    added = study.trials[-1]
    assert added.params == outside
    frozen = observable(added)
    assert frozen.distributions["hidden_units_l1"].high == 300 and frozen.distributions["learning_rate"].high == 0.5
    inside = study.trials[0]
    assert observable(inside) is inside, "a trial inside its space is left as it is"
    copy = snapshot(study)
    assert len(copy.trials) == 13 and copy.trials[-1].params == outside
    assert "learning_rate" in importances(study)
