"""Resuming a study recorded by an earlier version: the settings added since are filled in from an explicit
table of what runs did before they existed, never from today's dataclass defaults."""

import dataclasses

import pytest

from pipeline.search.study import ADDED_SETTINGS, DISPLAY_ONLY, FIRST_SETTINGS, _differences, _settled
from pipeline.setup.config import ModelConfig, TrainConfig


def test_every_model_and_train_setting_is_in_the_first_version_or_in_the_table_of_added_ones() -> None:
    """A new setting must say what studies made before it trained with: this fails until it is in the table."""
    for section, schema in (("model", ModelConfig), ("train", TrainConfig)):
        declared = {field.name for field in dataclasses.fields(schema)} - set(DISPLAY_ONLY)
        known = set(FIRST_SETTINGS[section]) | {key for added in ADDED_SETTINGS.values() for key in added[section]}
        assert declared == known, (
            f"{section}: add {sorted(declared - known)} to ADDED_SETTINGS (or drop {known - declared})"
        )


def first_version_record() -> dict:
    """The fixed settings a version-1 study recorded (no dropout, batch norm, optimizer betas, decay...)."""
    return {
        "fixed": {
            "model": {"hidden_units": [64, 32], "hidden_activation": "relu", "output": "auto", "init": "he",
                      "dtype": "float64"},
            "train": {"optimizer": "adam", "learning_rate": 0.01, "epochs": 50, "batch_size": 64, "l2": 0.0,
                      "log_every": 1, "seed": None},
        }
    }  # fmt: skip


def wanted_today(**changes: object) -> dict:
    record = first_version_record()
    for added in ADDED_SETTINGS.values():
        for section, values in added.items():
            record["fixed"][section].update(values)
    for key, value in changes.items():
        section, name = key.split("__")
        record["fixed"][section][name] = value
    return record


def test_a_first_version_study_resumes_when_the_new_settings_are_left_alone() -> None:
    assert _settled(first_version_record(), wanted_today()) == wanted_today()


@pytest.mark.parametrize(
    ("key", "value"), [("model__batch_norm", True), ("train__beta1", 0.8), ("model__keep_prob", 0.9)]
)
def test_a_first_version_study_is_refused_when_a_new_setting_is_changed(key: str, value: object) -> None:
    wanted = wanted_today(**{key: value})
    differences = _differences(_settled(first_version_record(), wanted), wanted)
    assert differences == [f"fixed.{key.replace('__', '.')}: None -> {value!r}"]
