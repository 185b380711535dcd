"""TPE's constant liar only while another trial runs (``samplers.lie_only_beside_others``): the same samples
alone, the liar's writes where another worker's trial runs, and the user's own choice kept."""

from pathlib import Path

import optuna
from hydra import compose, initialize_config_dir
from optuna.trial import TrialState

from pipeline.preflight import load_config
from pipeline.search import samplers
from pipeline.setup.config import Config, register_schemas

CONF = Path(__file__).resolve().parents[3] / "conf"
LIAR_ATTR = "tpe:relative_params:0"  # where Optuna 5's liar writes a trial's sampled values for the others

register_schemas()
optuna.logging.set_verbosity(optuna.logging.WARNING)


def load(*overrides: str) -> Config:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return load_config(compose("config", overrides=list(overrides)))


def objective(trial: optuna.Trial) -> float:
    """The default space's shape: a depth, a width per layer under it, a rate and a categorical."""
    depth = trial.suggest_int("depth", 1, 3)
    widths = [trial.suggest_int(f"hidden_units_l{i}", 16, 128, log=True) for i in range(1, depth + 1)]
    rate = trial.suggest_float("learning_rate", 1e-4, 1.0, log=True)
    relu = trial.suggest_categorical("hidden_activation", ["relu", "tanh"]) == "relu"
    return abs(rate - 0.05) + sum(widths) / 1000 + 0.1 * depth + 0.05 * relu


def run(storage: str, config: Config, trials: int, *, toggle: bool) -> optuna.Study:
    """``trials`` trials one after another, the liar decided before each as the worker loop decides it."""
    study = optuna.create_study(storage=storage, sampler=samplers.sampler(config))
    for _ in range(trials):
        if toggle:
            samplers.lie_only_beside_others(study.sampler, config, study.get_trials(deepcopy=False))
        study.optimize(objective, n_trials=1)
    return study


def test_alone_the_samples_are_those_of_the_liar_and_nothing_is_written_for_others(tmp_path: Path) -> None:
    config = load()
    assert isinstance(samplers.sampler(config), optuna.samplers.TPESampler)
    liar = run(f"sqlite:///{tmp_path / 'liar.db'}", config, 14, toggle=False)  # Optuna's default: always on
    spared = run(f"sqlite:///{tmp_path / 'spared.db'}", config, 14, toggle=True)
    assert [t.params for t in spared.trials] == [t.params for t in liar.trials]
    assert any(LIAR_ATTR in t.system_attrs for t in liar.trials), "past the start-up trials the liar writes"
    assert not any(LIAR_ATTR in t.system_attrs for t in spared.trials)


def test_another_running_trial_turns_the_liar_on_and_its_end_turns_it_off(tmp_path: Path) -> None:
    config = load()
    study = run(f"sqlite:///{tmp_path / 'study.db'}", config, 9, toggle=True)
    other = study.ask()  # another worker's trial, RUNNING
    samplers.lie_only_beside_others(study.sampler, config, study.get_trials(deepcopy=False))
    study.optimize(objective, n_trials=1)
    assert LIAR_ATTR in study.trials[-1].system_attrs, "sampled beside a running trial: the liar told the others"
    study.tell(other, state=TrialState.FAIL)
    samplers.lie_only_beside_others(study.sampler, config, study.get_trials(deepcopy=False))
    study.optimize(objective, n_trials=1)
    assert LIAR_ATTR not in study.trials[-1].system_attrs


def test_the_users_choice_and_other_samplers_are_left_alone(tmp_path: Path) -> None:
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}")
    study.ask()  # a running trial: the liar would be turned on
    trials = study.get_trials(deepcopy=False)
    for value in (True, False):
        config = load(f"+sampler.options.constant_liar={str(value).lower()}")
        sampler = samplers.sampler(config)
        samplers.lie_only_beside_others(sampler, config, [] if value else trials)
        assert sampler._constant_liar is value
    random = samplers.sampler(load("sampler=random"))
    samplers.lie_only_beside_others(random, load("sampler=random"), trials)
    assert "_constant_liar" not in vars(random), "only TPE has a liar to turn on"
