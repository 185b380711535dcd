"""Each setting is declared once (models/settings.py) and every place that needs it reads that declaration.

The first test walks every declared setting through the places a new knob must reach — the config schema, the
pre-flight, the search space, the run's parameters — so a knob added to a settings class with a place missed
fails here. The second proves records made before the settings were declared this way (a run of
``pipeline.train`` by the code of 1a6810f, kept in tests/pipeline/data/records_before_settings/) still rebuild
exactly: its config.yaml gives the same parameters and training, its model file the same network.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from models import Architecture, DeepNetwork, FitSettings
from models.rules import Range
from models.settings import applied
from pipeline.errors import ConfigError
from pipeline.preflight import load_config, validate
from pipeline.rerun import read_logged
from pipeline.run_record import run_params
from pipeline.search.space import PLAIN_NAMES, config_path
from pipeline.setup.config import Config, ModelConfig, TrainConfig
from pipeline.setup.data import load
from pipeline.training import build_network

OLD = Path(__file__).parent / "data" / "records_before_settings"
SECTIONS = (("model", Architecture, ModelConfig), ("train", FitSettings, TrainConfig))


def _config(tmp_path: Path) -> Config:
    node = OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.load(OLD / "config.yaml"))
    node.tracking.tracking_uri = f"sqlite:///{tmp_path}/mlflow.db"
    node.tracking.storage = f"sqlite:///{tmp_path}/optuna.db"
    return load_config(node)


def _bad_value(rule: object) -> object:
    if isinstance(rule, Range):
        return rule.low - 1 if rule.integer else float("nan")
    return "no-such-name"


@pytest.mark.parametrize(
    ("section", "declared", "schema", "name"),
    [(s, d, c, f.name) for s, d, c in SECTIONS for f in dataclasses.fields(d)],
)
def test_every_declared_setting_reaches_every_place(
    tmp_path: Path, section: str, declared: type, schema: type, name: str
) -> None:
    spec = next(f for f in dataclasses.fields(declared) if f.name == name)
    # the config schema has it, with the same rule
    ours = next(f for f in dataclasses.fields(schema) if f.name == name)
    assert ours.metadata["rule"] is spec.metadata["rule"]
    # the search space knows it by its plain name
    assert PLAIN_NAMES[name] == config_path(name) == f"{section}.{name}"
    config = _config(tmp_path)
    # the pre-flight refuses a value its rule refuses, naming the key
    rule = spec.metadata["rule"]
    if rule is not None and rule is not bool:
        setattr(getattr(config, section), name, _bad_value(rule))
        with pytest.raises(ConfigError, match=rf"^{section}\.{name}(\[0\])?="):
            validate(config)
    # the run logs it whenever it applies
    config = _config(tmp_path)
    settings = getattr(config, section)
    params = run_params(config, load(config.dataset, config.seed))
    if name in applied(settings) and name != "output":  # the run logs the output layer the task chose
        assert params[name] == getattr(settings, name)


def test_records_made_before_the_settings_were_declared_once_rebuild_exactly(tmp_path: Path) -> None:
    stored = json.loads((OLD / "run.json").read_text())
    config = load_config(
        OmegaConf.merge(
            read_logged(OLD / "config.yaml"),
            {"tracking": {"tracking_uri": f"sqlite:///{tmp_path}/mlflow.db", "storage": f"sqlite:///{tmp_path}/o.db"}},
        )
    )
    dataset = load(config.dataset, config.seed)
    assert {key: str(value) for key, value in run_params(config, dataset).items()} == stored["params"]
    network = build_network(config, dataset)
    history = network.fit(dataset.X_train, dataset.Y_train, config.train, validation=(dataset.X_val, dataset.Y_val))
    assert history["cost"] == stored["history"]["train_cost"]
    assert history["val_accuracy"] == stored["history"]["val_accuracy"]
    test = network.evaluate(dataset.X_test, dataset.Y_test)
    assert {"test_cost": test["cost"], "test_accuracy": test["accuracy"]} == {
        key: stored["final"][key] for key in ("test_cost", "test_accuracy")
    }
    old = DeepNetwork.load(OLD / "network.npz")
    assert old.spec == network.spec
    for key, value in (network.parameters | network.running).items():
        assert np.array_equal(value, (old.parameters | old.running)[key]), key
