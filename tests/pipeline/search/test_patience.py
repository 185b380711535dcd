"""``search.patience`` (``study.stop_if_stalled``, ``study.forget_an_old_stop``): the stop is recorded once the
search stalls, and forgotten when it no longer holds (another worker's trial improved on the best after it)."""

import dataclasses
from pathlib import Path

import optuna
from hydra import compose, initialize_config_dir

from pipeline.preflight import load_config
from pipeline.record_names import STOPPED_ATTR
from pipeline.search import study as studies
from pipeline.setup.config import Config, register_schemas

CONF = Path(__file__).resolve().parents[3] / "conf"
X = {"x": optuna.distributions.FloatDistribution(0, 1)}

register_schemas()
optuna.logging.set_verbosity(optuna.logging.WARNING)


def load(*overrides: str) -> Config:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return load_config(compose("config", overrides=list(overrides)))


def test_a_stop_is_forgotten_once_a_trial_ending_after_it_improves_on_the_best() -> None:
    config = load("search.patience=2")  # val_accuracy, maximized
    study = optuna.create_study(direction="maximize")
    study.tell(study.ask(X), 0.9)
    study.tell(study.ask(X), 0.5)
    late = study.ask(X)  # trial 2: another worker's, still running when this one stops
    study.tell(study.ask(X), 0.6)  # trial 3: the second in a row without improving on 0.9
    trials = study.get_trials(deepcopy=False)
    assert studies.stop_if_stalled(study, config, trials) is True
    assert study.user_attrs[STOPPED_ATTR].startswith("search.patience=2: 2 trials in a row")
    studies.forget_an_old_stop(study, config, study.user_attrs)
    assert study.user_attrs[STOPPED_ATTR], "still stalled: the stop holds"
    study.tell(late, 0.95)  # trial 2 ends as the new best: only trial 3 came after it, the search is not stalled
    assert studies.stop_if_stalled(study, config) is False
    studies.forget_an_old_stop(study, config, study.user_attrs)
    assert study.user_attrs[STOPPED_ATTR] == ""


def test_a_resume_with_more_patience_or_none_forgets_the_stop_and_one_with_less_keeps_it() -> None:
    config = load("search.patience=2")
    study = optuna.create_study(direction="maximize")
    for value in (0.9, 0.5, 0.6):
        study.tell(study.ask(X), value)
    assert studies.stop_if_stalled(study, config) is True
    for patience, kept in ((1, True), (2, True), (3, False), (None, False)):
        study.set_user_attr(STOPPED_ATTR, "search.patience=2: 2 trials in a row did not improve val_accuracy")
        resumed = dataclasses.replace(config, search=dataclasses.replace(config.search, patience=patience))
        studies.forget_an_old_stop(study, resumed, study.user_attrs)
        assert bool(study.user_attrs[STOPPED_ATTR]) is kept, patience
