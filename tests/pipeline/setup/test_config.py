"""Tests of pipeline.setup.config on the real ``conf/``: every option of every group composes into a validated
``Config``, and every kind of bad value is refused with a message naming the key.

Configs are composed exactly as the entry points compose them (Hydra compose over ``conf/`` with the
schemas registered), then converted once with ``to_config``.
"""

import dataclasses
import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pipeline.errors import ConfigError
from pipeline.preflight import load_config as to_config
from pipeline.setup.config import (
    Config,
    DatasetConfig,
    ModelConfig,
    SearchParam,
    TrainConfig,
    register_schemas,
)

CONF = Path(__file__).resolve().parents[3] / "conf"
GROUPS = ("dataset", "model", "train", "search", "sampler", "pruner", "tracking", "experiment")
# Options that cannot compose without a value the user must give.
REQUIRED = {
    ("dataset", "csv"): ["dataset.path=/data/table.csv", "dataset.target=label"],
    ("dataset", "catvnoncat"): ["dataset.path=/data/course"],
    ("dataset", "football"): ["dataset.path=/data/course"],
}
COMPOSE_ERRORS = (HydraException, OmegaConfBaseException)  # what Hydra raises while composing

register_schemas()


def compose_config(*overrides: str, conf: Path = CONF) -> DictConfig:
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def load(*overrides: str) -> Config:
    return to_config(compose_config(*overrides))


def refusal(*overrides: str) -> str:
    """The message with which composing or converting ``overrides`` is refused; fails if it is accepted."""
    with pytest.raises((ConfigError, *COMPOSE_ERRORS)) as caught:
        load(*overrides)
    return str(caught.value)


def options(group: str) -> list[str]:
    return sorted(path.stem for path in (CONF / group).glob("*.yaml"))


def required_overrides(group: str, option: str) -> list[str]:
    if group == "experiment":  # the course's experiments; some read the course's files
        return ["dataset.path=/data/course"]
    return REQUIRED.get((group, option), [])


def assert_subset(expected: object, actual: object, where: str) -> None:
    """Every value the YAML file sets is the value the composed config holds (interpolations and ??? aside)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected a mapping, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} is missing from the composed config"
            assert_subset(value, actual[key], f"{where}.{key}")
    elif not (isinstance(expected, str) and ("${" in expected or expected == "???")):
        assert actual == expected, f"{where}: the file says {expected!r}, the composed config holds {actual!r}"


# ----- the real config composes ---------------------------------------------------------------------
def test_default_config_converts_once_into_plain_dataclasses() -> None:
    config = load()
    assert isinstance(config, Config)
    assert isinstance(config.dataset, DatasetConfig) and isinstance(config.model, ModelConfig)
    assert isinstance(config.train, TrainConfig)
    assert all(isinstance(param, SearchParam) for param in config.search.space.values()) and config.search.space
    assert type(config.model.hidden_units) is list and type(config.sampler.options) is dict  # no OmegaConf nodes
    assert config.dataset.name == "digits" and config.model.hidden_units == [64, 32]


def test_interpolations_follow_the_chosen_dataset() -> None:
    config = load("dataset=iris")
    assert config.study_name == "iris-sweep"
    assert config.tracking.experiment_name == "deepsweep-iris"


@pytest.mark.parametrize(("group", "option"), [(group, option) for group in GROUPS for option in options(group)])
def test_every_option_of_every_group_composes_with_the_values_of_its_file(group: str, option: str) -> None:
    config = load(f"{group}={option}", *required_overrides(group, option))
    written = OmegaConf.to_container(OmegaConf.load(CONF / group / f"{option}.yaml"), resolve=False)
    written.pop("defaults", None)
    composed = dataclasses.asdict(config)
    # Experiment files are "# @package _global_"; the others land under their group's key.
    assert_subset(written, composed if group == "experiment" else composed[group], option)


def test_every_group_has_options_to_choose_from() -> None:
    assert {group: options(group) for group in GROUPS if not options(group)} == {}


def test_experiment_course_cat_4layer_pins_the_course_setup() -> None:
    config = load("experiment=course_cat_4layer", "dataset.path=/data/course")
    assert (config.dataset.name, config.dataset.path, config.dataset.val_fraction) == ("catvnoncat", "/data/course", 0)
    assert config.model.hidden_units == [20, 7, 5]
    assert (config.model.hidden_activation, config.model.output, config.model.init) == ("relu", "sigmoid", "course")
    assert (config.train.optimizer, config.train.learning_rate, config.train.batch_size) == ("gd", 0.0075, None)
    assert (config.train.epochs, config.train.seed) == (2500, 1)


def test_command_line_overrides_win_over_an_experiment() -> None:
    config = load("experiment=course_cat_4layer", "dataset.path=/data/course", "train.epochs=3", "model.init=he")
    assert (config.train.epochs, config.model.init) == (3, "he")
    assert config.model.hidden_units == [20, 7, 5]


def test_experiment_without_dataset_path_is_refused() -> None:
    message = refusal("experiment=course_cat_4layer")
    assert "dataset.path" in message and "catvnoncat" in message


def test_new_search_space_entry_can_be_added_with_plus() -> None:
    config = load("+search.space.l2={type:float,low:1e-6,high:1.0,log:true}")
    assert config.search.space["l2"] == SearchParam(type="float", low=1e-6, high=1.0, log=True)


# ----- refusals ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (["model.foo=1"], "model.foo"),
        (["+model.foo=1"], "model.foo"),
        (["+foo=1"], "foo"),
        (["+train.momentum=0.9"], "train.momentum"),
        (["+dataset.colour=red"], "dataset.colour"),
        (["+search.space.depth.foo=1"], "search.space.depth"),
    ],
    ids=["model.foo", "+model.foo", "+foo", "+train.momentum", "+dataset.colour", "+search.space.depth.foo"],
)
def test_unknown_key_is_refused_naming_it(overrides: list[str], named: str) -> None:
    assert named in refusal(*overrides)


@pytest.mark.parametrize(
    "override",
    [
        "train.epochs=abc",
        "train.epochs=2.5",
        "train.learning_rate=fast",
        "train.learning_rate=true",
        "seed=1.5",
        "model.hidden_units=[a,b]",
        "model.hidden_units=3",
        "tracking.tracking_uri=[1,2]",
    ],
)
def test_wrong_type_fails_at_compose_time_naming_the_key(override: str) -> None:
    key = override.split("=")[0]
    with pytest.raises(COMPOSE_ERRORS) as caught:
        compose_config(override)
    assert key in str(caught.value)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("+search.space.depth.step=-1", "search.space.depth.step=-1.0 must be a positive whole number"),
        ("+search.space.depth.step=0.5", "search.space.depth.step=0.5 must be a positive whole number"),
        ("+search.space.learning_rate.step=0.01", "step and log=true cannot be combined"),
    ],
)
def test_a_bad_search_step_is_refused_before_optuna_sees_it(override: str, expected: str) -> None:
    assert expected in refusal(override)


def test_wrong_type_in_a_search_space_entry_is_refused() -> None:
    message = refusal("search.space.depth.low=abc")
    assert "search.space.depth" in message and "abc" in message


@pytest.mark.parametrize(
    ("override", "value"),
    [
        ("train.learning_rate=0", "0"),
        ("train.learning_rate=-1", "-1"),
        ("train.learning_rate=1e7", "10000000"),
        ("train.epochs=0", "0"),
        ("train.epochs=-3", "-3"),
        ("train.batch_size=0", "0"),
        ("train.l2=-0.1", "-0.1"),
        ("train.log_every=0", "0"),
        ("dataset.val_fraction=0.95", "0.95"),
        ("dataset.test_fraction=-0.1", "-0.1"),
        ("dataset.n_samples=5", "5"),
        ("search.n_trials=0", "0"),
        ("search.workers=0", "0"),
        ("search.timeout=0", "0"),
        ("seed=-1", "-1"),
        ("seed=4294967296", "4294967296"),
        ("train.seed=-5", "-5"),
        ("sampler.seed=-1", "-1"),
    ],
)
def test_out_of_range_value_is_refused_naming_key_value_and_range(override: str, value: str) -> None:
    message = refusal(override)
    key = override.split("=")[0]
    assert key in message and value in message and "allowed" in message


def test_fractions_leaving_no_training_data_are_refused() -> None:
    message = refusal("dataset.val_fraction=0.5", "dataset.test_fraction=0.5")
    assert "dataset.val_fraction" in message and "dataset.test_fraction" in message


def test_zero_hidden_units_are_refused() -> None:
    assert "model.hidden_units[1]" in refusal("model.hidden_units=[4,0]")


@pytest.mark.parametrize(
    "override", ["train.learning_rate=nan", "train.learning_rate=inf", "train.l2=nan", "dataset.noise=nan"]
)
def test_non_finite_value_is_refused(override: str) -> None:
    key, _, value = override.partition("=")
    message = refusal(override)
    assert key in message and value in message


@pytest.mark.parametrize(
    "override",
    [
        "model.hidden_activation=swish",
        "model.output=relu",
        "model.init=ones",
        "model.dtype=float16",
        "train.optimizer=lbfgs",
        "dataset.name=nope",
        "dataset.scaling=log",
        "dataset.task=clustering",
        "search.direction=up",
        "search.space.depth.type=integer",
        "sampler.name=bayes",
        "pruner.name=patience",
        "tracking.log_model=sometimes",
    ],
)
def test_unknown_name_is_refused_listing_the_allowed_ones(override: str) -> None:
    key, _, value = override.partition("=")
    message = refusal(override)
    assert key in message and value in message and "choose one of" in message


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        (["dataset=csv"], "dataset.path"),
        (["dataset=csv", "dataset.path=/data/table.csv"], "dataset.target"),
        (["dataset=catvnoncat"], "dataset.path"),
    ],
)
def test_missing_required_value_is_refused(overrides: list[str], missing: str) -> None:
    message = refusal(*overrides)
    assert f"{missing} is missing" in message


@pytest.mark.parametrize("override", ["tracking.tracking_uri=''", "tracking.storage=' '", "study_name=''"])
def test_empty_store_or_study_name_is_refused(override: str) -> None:
    assert override.split("=")[0] in refusal(override)


@pytest.mark.parametrize(
    "override", ["dataset=nope", "model=huge", "train=fast", "experiment=nope", "dataset=base_dataset"]
)
def test_unknown_group_option_is_refused_naming_group_and_option(override: str) -> None:
    group, _, option = override.partition("=")
    with pytest.raises(COMPOSE_ERRORS) as caught:
        compose_config(override)
    assert f"{group}/{option}" in str(caught.value)


def test_typo_in_a_group_file_fails_at_compose_time(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    (conf / "train" / "typo.yaml").write_text("optimizer: adam\nlearning_rte: 0.1\n", encoding="utf-8")
    with pytest.raises(COMPOSE_ERRORS) as caught:
        compose_config("train=typo", conf=conf)
    assert "learning_rte" in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["model.keep_prob=0"], "model.keep_prob=0 is not allowed; expected a number in (0, 1]"),
        (["model.keep_prob=1.5"], "model.keep_prob=1.5 is not allowed"),
        (["model.keep_prob=[0.5,0.9,0.9]"], "has 3 entries for 2 hidden layers"),
        (["model=logistic", "model.keep_prob=0.5"], "needs a hidden layer"),
        (["model=logistic", "model.batch_norm=true"], "model.batch_norm=true needs a hidden layer"),
        (["model.batch_norm_momentum=1"], "model.batch_norm_momentum=1.0 is not allowed; expected a number in [0, 1)"),
        (["train.decay=cosine"], "train.decay='cosine' is not allowed; choose one of ['none', 'inverse_time'"),
        (["train.decay_rate=-0.5"], "train.decay_rate=-0.5 is not allowed"),
        (["train.time_interval=0"], "train.time_interval=0 is not allowed"),
        (["train.momentum=1.0"], "train.momentum=1.0 is not allowed; expected a number in [0, 1)"),
        (["train.beta2=-0.1"], "train.beta2=-0.1 is not allowed"),
        (["train.epsilon=0"], "train.epsilon=0.0 is not allowed"),
        (["model.init_generator=numpy"], "model.init_generator='numpy' is not allowed; choose one of"),
        (["train.batch_order=sorted"], "train.batch_order='sorted' is not allowed"),
    ],
)
def test_the_second_courses_settings_are_refused_out_of_range(overrides: list[str], expected: str) -> None:
    assert expected in refusal(*overrides)


def test_the_second_courses_settings_compose_and_reach_the_config() -> None:
    config = load(
        "model.keep_prob=[0.8,0.9]",
        "model.batch_norm=true",
        "train.optimizer=rmsprop",
        "train.beta2=0.99",
        "train.decay=inverse_time_staircase",
        "train.time_interval=10",
        "model.init=zeros",
    )
    assert (config.model.keep_prob, config.model.batch_norm, config.train.optimizer) == ([0.8, 0.9], True, "rmsprop")
    assert (config.train.beta2, config.train.decay, config.train.time_interval) == (0.99, "inverse_time_staircase", 10)


def test_a_value_the_default_group_files_set_is_the_schemas_default_too() -> None:
    """One source of defaults: what `python -m pipeline.sweep` runs with nothing named is what the dataclasses say
    (a schema default that disagreed with its YAML once made a resumed study fill in the wrong value). The search
    space and the sampler's and pruner's options are data, declared only in conf/; the schema only types them."""
    from pipeline.setup import config as schemas

    composed = load()  # every group at its default option, nothing overridden
    for section, schema in (("dataset", schemas.DatasetConfig), ("model", schemas.ModelConfig),
                            ("train", schemas.TrainConfig), ("search", schemas.SearchConfig),
                            ("sampler", schemas.SamplerConfig), ("pruner", schemas.PrunerConfig),
                            ("tracking", schemas.TrackingConfig)):  # fmt: skip
        for field in dataclasses.fields(schema):
            if field.name in ("space", "options") or field.name.endswith("_uri") or field.name == "storage":
                continue  # data; store URIs are made absolute when loaded
            default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
            if section == "tracking" and field.name == "experiment_name":
                default = default.replace("${dataset.name}", composed.dataset.name)
            value = getattr(getattr(composed, section), field.name)
            assert value == default, f"{section}.{field.name}: conf/ gives {value!r}, the schema {default!r}"


def test_the_default_stores_are_declared_once_and_local_yaml_agrees() -> None:
    from pipeline.record_names import DEFAULT_STORAGE, DEFAULT_TRACKING_URI
    from pipeline.setup.config import TrackingConfig

    local = OmegaConf.load(CONF / "tracking" / "local.yaml")
    assert (TrackingConfig().tracking_uri, TrackingConfig().storage) == (DEFAULT_TRACKING_URI, DEFAULT_STORAGE)
    assert (local.tracking_uri, local.storage) == (DEFAULT_TRACKING_URI, DEFAULT_STORAGE)
