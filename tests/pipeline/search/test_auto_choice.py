"""``sampler=auto``, ``pruner=auto`` and ``search.direction=auto`` on the real ``conf/``: what each study
shape gets, that the sampler built is the one chosen, and that two objectives need nothing else named."""

import importlib.util
from pathlib import Path

import optuna
import pytest
from hydra import compose, initialize_config_dir

from pipeline.preflight import load_config
from pipeline.search import samplers
from pipeline.search.samplers import AUTO_CHOICES, MANY_TRIALS, choose_pruner, choose_sampler
from pipeline.setup.config import Config, register_schemas

CONF = Path(__file__).resolve().parents[3] / "conf"
HAS_TORCH = importlib.util.find_spec("torch") is not None

register_schemas()


def load(*overrides: str) -> Config:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return load_config(compose("config", overrides=list(overrides)))


NUMERIC = ("~search.space.hidden_activation", "~search.space.depth")  # learning rate and widths only
TWO = ("search.metric=[val_accuracy,n_parameters]",)


@pytest.mark.parametrize(
    ("overrides", "sampler", "words"),
    [
        ((), AUTO_CHOICES["mixed"], "categorical hidden_activation, conditional on depth"),
        (("~search.space.hidden_activation",), AUTO_CHOICES["mixed"], "conditional on depth"),
        (("~search.space.depth",), AUTO_CHOICES["mixed"], "categorical hidden_activation"),
        (NUMERIC, AUTO_CHOICES["numeric_gp"] if HAS_TORCH else AUTO_CHOICES["numeric"], "numbers only"),
        ((*NUMERIC, f"search.n_trials={samplers.SMALL_BUDGET + 1}"), AUTO_CHOICES["numeric"], "numbers only"),
        (TWO, AUTO_CHOICES["several"], "2 objectives, 40 trials"),
        ((*TWO, f"search.n_trials={MANY_TRIALS + 1}"), AUTO_CHOICES["several_long"], "2 objectives"),
        (("search.metric=[val_accuracy,n_parameters,train_seconds,val_cost]",), AUTO_CHOICES["many"], "4 objectives"),
        (("sampler=cmaes",), "cmaes", "named"),
    ],
)
def test_auto_sampler_choice_for_each_study_shape(overrides: tuple[str, ...], sampler: str, words: str) -> None:
    config = load(*overrides)
    name, why = choose_sampler(config)
    assert (name, words in why) == (sampler, True), why
    built = samplers.sampler(config)
    with samplers.quiet_experimental():
        expected = type(samplers.SAMPLERS[name](config, 0, {}))
    assert type(built) is expected, "sampler=auto builds the sampler it names"


def test_auto_tpe_is_the_multivariate_grouped_tpe_of_sampler_tpe() -> None:
    """sampler=auto on the default space builds the same TPE as sampler=tpe with its conf file's options."""
    auto, named = samplers.sampler(load()), samplers.sampler(load("sampler=tpe"))
    keys = ("_multivariate", "_group", "_n_startup_trials")
    assert [getattr(auto, key) for key in keys] == [getattr(named, key) for key in keys] == [True, True, 8]


def test_auto_pruner_prunes_one_objective_and_never_several() -> None:
    one, two = load(), load(*TWO)
    assert choose_pruner(one)[0] == samplers.AUTO_PRUNER
    assert isinstance(samplers.pruner(one), optuna.pruners.PercentilePruner)
    assert choose_pruner(two) == ("none", "several objectives cannot be pruned")
    assert isinstance(samplers.pruner(two), optuna.pruners.NopPruner)
    assert choose_pruner(load("pruner=hyperband"))[0] == "hyperband"


def test_the_percentile_pruner_warms_up_for_a_quarter_of_the_epochs() -> None:
    pruner = samplers.pruner(load("pruner=percentile", "train.epochs=40"))
    assert (pruner._percentile, pruner._n_warmup_steps, pruner._n_startup_trials) == (75.0, 10, 5)
    assert samplers.pruner(load("pruner=percentile", "pruner.options.n_warmup_steps=3"))._n_warmup_steps == 3


@pytest.mark.parametrize(
    ("metric", "directions"),
    [
        ("val_accuracy", ["maximize"]),
        ("val_cost", ["minimize"]),
        ("[val_accuracy,n_parameters]", ["maximize", "minimize"]),
        ("[val_cost,train_seconds,val_accuracy]", ["minimize", "minimize", "maximize"]),
    ],
)
def test_auto_direction_is_the_way_each_metric_improves(metric: str, directions: list[str]) -> None:
    assert load(f"search.metric={metric}").search.directions == directions


def test_an_explicit_direction_still_wins_and_a_short_list_is_still_refused() -> None:
    assert load("search.direction=[maximize,minimize]", *TWO).search.directions == ["maximize", "minimize"]
    with pytest.raises(Exception, match="one direction per metric"):
        load("search.direction=maximize", *TWO)


def test_an_empty_objective_list_is_refused_in_one_line() -> None:
    with pytest.raises(Exception, match=r"search.metric=\[\] names no objective"):
        load("search.metric=[]")
