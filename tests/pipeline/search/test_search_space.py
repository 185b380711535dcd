"""Tests of pipeline.search.space on the real ``conf/``: how ``search.space`` becomes define-by-run
``trial.suggest_*`` calls (checked with ``optuna.trial.FixedTrial``), how suggested values land in the
config, which spaces ``check_space`` refuses, the grid sampler's space, and inclusive bounds.
"""

import copy
import dataclasses
import warnings
from pathlib import Path

import optuna
import pytest
from hydra import compose, initialize_config_dir
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FixedTrial

from pipeline.errors import ConfigError
from pipeline.preflight import check_space
from pipeline.preflight import load_config as to_config
from pipeline.search import study as studies
from pipeline.search.space import apply, config_path, grid, suggest
from pipeline.setup.config import Config, SearchParam, register_schemas

CONF = Path(__file__).resolve().parents[3] / "conf"

register_schemas()


def load(*overrides: str) -> Config:
    """The validated config that ``python -m pipeline.sweep <overrides>`` would run."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return to_config(compose("config", overrides=list(overrides)))


def ask(config: Config, params: dict) -> tuple[dict, FixedTrial]:
    """The values ``suggest`` returns for a trial whose answers are ``params``, and the trial itself."""
    trial = FixedTrial(params)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an answer outside its distribution warns: make it fail the test
        values = suggest(trial, config.search.space, default_depth=len(config.model.hidden_units))
    return values, trial


def refusal(space: dict[str, SearchParam], config: Config) -> str:
    with pytest.raises(ConfigError) as caught:
        check_space(space, config)
    return str(caught.value)


def int_param(low: int, high: int, **options: object) -> SearchParam:
    return SearchParam(type="int", low=low, high=high, **options)


def categorical(*choices: object) -> SearchParam:
    return SearchParam(type="categorical", choices=list(choices))


# ----- translation: the default space -----------------------------------------------------------------
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_depth_is_asked_first_and_decides_how_many_layer_widths_are_asked(depth: int) -> None:
    config = load()
    widths = {f"hidden_units_l{layer}": 16 + layer for layer in range(1, 4)}
    params = {"depth": depth, **widths, "learning_rate": 0.01, "hidden_activation": "tanh"}

    values, trial = ask(config, params)

    assert values == {
        "hidden_units": [16 + layer for layer in range(1, depth + 1)],
        "learning_rate": 0.01,
        "hidden_activation": "tanh",
    }
    assert list(trial.params) == [
        "depth",
        *(f"hidden_units_l{layer}" for layer in range(1, depth + 1)),
        "learning_rate",
        "hidden_activation",
    ], "layers beyond the depth must not be asked (the space is conditional on depth)"


def test_default_space_asks_optuna_for_the_yaml_distributions() -> None:
    config = load()
    params = {"depth": 2, "hidden_units_l1": 16, "hidden_units_l2": 128, "learning_rate": 1e-3}
    _, trial = ask(config, {**params, "hidden_activation": "sigmoid"})

    assert trial.distributions == {
        "depth": IntDistribution(1, 3),
        "hidden_units_l1": IntDistribution(16, 128, log=True),
        "hidden_units_l2": IntDistribution(16, 128, log=True),
        "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
        "hidden_activation": CategoricalDistribution(["relu", "tanh", "leaky_relu", "sigmoid"]),
    }


def test_without_depth_in_the_space_the_configs_own_depth_sizes_the_layers() -> None:
    config = load("~search.space.depth", "model.hidden_units=[5,5,5]")
    params = {"hidden_units_l1": 16, "hidden_units_l2": 17, "hidden_units_l3": 18}

    values, trial = ask(config, {**params, "learning_rate": 0.01, "hidden_activation": "relu"})

    assert values["hidden_units"] == [16, 17, 18]
    assert "depth" not in trial.params


def test_shared_width_gives_every_hidden_layer_the_same_units() -> None:
    config = load("search=extended")
    params = {
        "depth": 3,
        "width": 50,
        "learning_rate": 0.02,
        "hidden_activation": "leaky_relu",
        "l2": 1e-3,
        "batch_size": 128,
        "optimizer": "momentum",
    }

    values, trial = ask(config, params)

    assert values["hidden_units"] == [50, 50, 50]
    assert set(trial.params) == set(params), "one shared width: no hidden_units_l{i} is asked"
    assert trial.distributions["width"] == IntDistribution(8, 256, log=True)
    assert trial.distributions["l2"] == FloatDistribution(1e-6, 1.0, log=True)
    assert trial.distributions["batch_size"] == CategoricalDistribution([32, 64, 128, 256])
    assert trial.distributions["optimizer"] == CategoricalDistribution(["gd", "momentum", "adam"])


def test_int_step_and_float_step_reach_optuna() -> None:
    config = load()
    space = {
        "depth": int_param(1, 2),
        "hidden_units": int_param(8, 64, step=8),
        "l2": SearchParam(type="float", low=0.0, high=0.5, step=0.1),
    }
    trial = FixedTrial({"depth": 1, "hidden_units_l1": 24, "l2": 0.3})

    values = suggest(trial, space, default_depth=len(config.model.hidden_units))

    assert values == {"hidden_units": [24], "l2": 0.3}
    assert trial.distributions["hidden_units_l1"] == IntDistribution(8, 64, step=8)
    assert trial.distributions["l2"] == FloatDistribution(0.0, 0.5, step=0.1)


# ----- names and apply --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("learning_rate", "train.learning_rate"),
        ("l2", "train.l2"),
        ("batch_size", "train.batch_size"),
        ("optimizer", "train.optimizer"),
        ("epochs", "train.epochs"),
        ("hidden_activation", "model.hidden_activation"),
        ("init", "model.init"),
        ("dtype", "model.dtype"),
        ("train.l2", "train.l2"),
        ("model.init", "model.init"),
    ],
)
def test_plain_names_and_dotted_paths_name_their_place_in_the_config(name: str, path: str) -> None:
    assert config_path(name) == path


def test_apply_writes_each_value_into_its_field_and_leaves_the_original_alone() -> None:
    config = load("search=extended")
    before = copy.deepcopy(config)
    values = {
        "hidden_units": [7, 3],
        "learning_rate": 0.5,
        "hidden_activation": "tanh",
        "l2": 0.25,
        "batch_size": 32,
        "optimizer": "gd",
        "epochs": 3,
        "model.init": "xavier",
        "train.log_every": 2,
    }

    trial_config = apply(config, values)

    assert trial_config.model.hidden_units == [7, 3]
    assert trial_config.model.hidden_activation == "tanh"
    assert trial_config.model.init == "xavier"
    assert (trial_config.train.learning_rate, trial_config.train.l2, trial_config.train.batch_size) == (0.5, 0.25, 32)
    assert (trial_config.train.optimizer, trial_config.train.epochs, trial_config.train.log_every) == ("gd", 3, 2)
    untouched = ("dataset", "search", "sampler", "pruner", "tracking", "seed", "study_name")
    for field in untouched:
        assert getattr(trial_config, field) == getattr(config, field)
    assert dataclasses.asdict(config) == dataclasses.asdict(before), "apply must not mutate the sweep's config"


def test_suggested_dotted_path_values_are_written_by_apply() -> None:
    config = load()
    space = {"train.l2": SearchParam(type="float", low=1e-5, high=1e-1, log=True), "model.init": categorical("xavier")}
    check_space(space, config)
    trial = FixedTrial({"train.l2": 0.01, "model.init": "xavier"})

    trial_config = apply(config, suggest(trial, space, default_depth=2))

    assert (trial_config.train.l2, trial_config.model.init) == (0.01, "xavier")
    assert trial_config.model.hidden_units == config.model.hidden_units, "no architecture searched: unchanged"


# ----- check_space ----------------------------------------------------------------------------------
@pytest.mark.parametrize("search", sorted(path.stem for path in (CONF / "search").glob("*.yaml")))
def test_every_shipped_search_space_passes_check_space(search: str) -> None:
    config = load(f"search={search}")
    check_space(config.search.space, config)


def test_check_space_refuses_both_per_layer_widths_and_a_shared_width() -> None:
    config = load("+search.space.width={type: int, low: 8, high: 16}")
    message = refusal(config.search.space, config)
    assert "hidden_units" in message and "width" in message and "keep one" in message


@pytest.mark.parametrize(
    "name",
    [
        "nesterov",
        "seed",
        "train.nesterov",
        "optimiser.name",
        "model",
        "train.seed",
        "dataset.noise",
        "pruner.report_every",
    ],
)
def test_check_space_refuses_a_name_that_is_not_a_searchable_value(name: str) -> None:
    """Only model.* and train.* values shape one training run (the data are loaded once per sweep,
    and every trial gets its own seed): anything else would be logged but never applied."""
    config = load()
    message = refusal({name: categorical(1, 2)}, config)
    assert f"search.space.{name} is not a searchable value" in message
    assert "learning_rate" in message, "the message lists the names that can be searched"


def test_check_space_refuses_depth_without_layer_widths() -> None:
    config = load("~search.space.hidden_units")
    message = refusal(config.search.space, config)
    assert "search.space.depth needs hidden_units or width" in message


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("search.space.hidden_activation.choices=[relu,swish]", "swish"),
        ("search.space.learning_rate={log: false, low: 0.0}", "train.learning_rate"),
        ("+search.space.optimizer={type: categorical, choices: [adam, lbfgs]}", "lbfgs"),
        ("+search.space.epochs={type: int, low: 0, high: 10}", "train.epochs"),
        ("search.space.hidden_units={log: false, low: 0}", "model.hidden_units"),
    ],
)
def test_check_space_refuses_bounds_or_choices_the_config_would_refuse(override: str, named: str) -> None:
    config = load(override)
    message = refusal(config.search.space, config)
    assert named in message


def test_check_space_refuses_an_empty_space() -> None:
    assert "search.space is empty" in refusal({}, load())


# ----- grid -------------------------------------------------------------------------------------------
def test_grid_lists_int_ranges_choices_and_one_entry_per_possible_layer() -> None:
    space = {
        "depth": int_param(1, 3),
        "hidden_units": categorical(8, 16),
        "learning_rate": SearchParam(type="float", low=1e-3, high=1e-1, choices=[0.001, 0.1]),
        "epochs": int_param(10, 30, step=10),
    }

    assert grid(space, default_depth=2) == {
        "depth": [1, 2, 3],
        "hidden_units_l1": [8, 16],
        "hidden_units_l2": [8, 16],
        "hidden_units_l3": [8, 16],
        "learning_rate": [0.001, 0.1],
        "epochs": [10, 20, 30],
    }


def test_grid_without_depth_has_a_width_for_each_of_the_configs_layers() -> None:
    assert grid({"hidden_units": int_param(4, 5)}, default_depth=3) == {
        "hidden_units_l1": [4, 5],
        "hidden_units_l2": [4, 5],
        "hidden_units_l3": [4, 5],
    }


def test_grid_refuses_a_float_range_without_choices_and_says_how_to_give_them() -> None:
    with pytest.raises(ConfigError, match=r"\+search\.space\.learning_rate\.choices"):
        grid({"learning_rate": SearchParam(type="float", low=1e-3, high=1e-1, log=True)}, default_depth=1)


def test_grid_takes_an_int_range_of_at_most_max_values_values() -> None:
    assert len(grid({"epochs": int_param(1, 64)}, default_depth=1, max_values=64)["epochs"]) == 64
    with pytest.raises(ConfigError, match=r"search\.space\.epochs"):
        grid({"epochs": int_param(1, 65)}, default_depth=1, max_values=64)


@pytest.mark.parametrize(
    ("overrides", "combinations"),
    [
        # depth searched: hidden_units_l1..l2 in the grid, only the ones depth needs asked
        (["search.space.depth={type: int, low: 1, high: 2}"], 2 * 2 * 2 * 2 * 2),
        # depth not searched: the config's two layers both get a width from the grid
        (["~search.space.depth"], 2 * 2 * 2 * 2),
    ],
)
def test_grid_sampler_runs_every_combination_of_a_conditional_space(overrides: list[str], combinations: int) -> None:
    config = load(
        "sampler=grid",
        "model.hidden_units=[9,9]",
        "+search.space.learning_rate.choices=[0.01,0.1]",
        "+search.space.hidden_units.choices=[16,32]",
        "search.space.hidden_activation.choices=[relu,tanh]",
        *overrides,
    )
    check_space(config.search.space, config)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=studies.sampler(config))

    study.optimize(lambda trial: len(suggest(trial, config.search.space, default_depth=2)), n_trials=100)

    states = {trial.state for trial in study.trials}
    assert states == {optuna.trial.TrialState.COMPLETE}, "a grid missing a suggested name fails trials"
    assert len(study.trials) == combinations


# ----- inclusive bounds -------------------------------------------------------------------------------
def test_both_bounds_are_inside_the_space_and_one_step_beyond_is_not() -> None:
    config = load()
    low = {"depth": 1, "hidden_units_l1": 16, "learning_rate": 1e-4, "hidden_activation": "relu"}
    high = {"depth": 3, **{f"hidden_units_l{i}": 128 for i in (1, 2, 3)}, "learning_rate": 1e-1}

    assert ask(config, low)[0]["hidden_units"] == [16]
    assert ask(config, {**high, "hidden_activation": "sigmoid"})[0]["hidden_units"] == [128, 128, 128]
    with pytest.raises(UserWarning, match="out of the range"):
        ask(config, {**low, "hidden_units_l1": 129})


def test_sampled_ints_reach_the_high_bound() -> None:
    space = {"depth": int_param(1, 3), "width": int_param(2, 4)}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))

    study.optimize(lambda trial: len(suggest(trial, space, default_depth=1)), n_trials=60)

    assert {trial.params["depth"] for trial in study.trials} == {1, 2, 3}
    assert {trial.params["width"] for trial in study.trials} == {2, 3, 4}


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("points.csv", "", "not a CSV of points (No columns to parse from file)"),
        ("points.csv", 'a,b\n1,"2\n', "not a CSV of points"),
        ("points.yaml", "- {a: 1\n", "not a YAML list of points"),
        ("points.yaml", "a: 1\n", "must hold a list of points"),
    ],
)
def test_a_file_of_points_that_cannot_be_read_is_refused_in_one_line(
    tmp_path: Path, name: str, content: str, words: str
) -> None:
    from pipeline.search.space import load_points

    file = tmp_path / name
    file.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_points(str(file))
    assert words in str(caught.value) and "\n" not in str(caught.value)
