"""What a run logs as parameters: every value that shaped it, and nothing that did not apply to it."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from pipeline.preflight import load_config
from pipeline.run_record import run_params
from pipeline.setup.config import register_schemas
from pipeline.setup.data import load

CONF = Path(__file__).resolve().parents[2] / "conf"
DATASET_ONLY = {"dataset_path", "target", "test_fraction", "n_samples", "noise"}
OPTIMIZER_ONLY = {"momentum", "beta1", "beta2", "epsilon"}

register_schemas()


def params(*overrides: str) -> dict[str, object]:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        config = load_config(compose("config", overrides=list(overrides)))
    return run_params(config, load(config.dataset, config.seed))


@pytest.mark.parametrize("name", ["digits", "iris", "breast_cancer"])
def test_a_bundled_dataset_logs_no_path_target_or_generator_settings(name: str) -> None:
    logged = params(f"dataset={name}")
    assert not (DATASET_ONLY - {"test_fraction"}) & set(logged), sorted(logged)
    assert logged["test_fraction"] is not None and logged["val_fraction"] is not None


def test_a_generated_dataset_logs_its_size_and_noise() -> None:
    logged = params("dataset=moons", "dataset.n_samples=123", "dataset.noise=0.3")
    assert (logged["n_samples"], logged["noise"]) == (123, 0.3)
    assert "dataset_path" not in logged and "target" not in logged


def test_a_csv_logs_its_path_and_target(tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    rows = [f"{i % 7},{(i * 3) % 5},{'ab'[i % 2]}" for i in range(60)]
    table.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    logged = params("dataset=csv", f"dataset.path={table}", "dataset.target=label")
    assert (logged["dataset_path"], logged["target"]) == (str(table), "label")
    assert "n_samples" not in logged and "noise" not in logged


@pytest.mark.parametrize(
    ("optimizer", "expected"),
    [
        ("gd", set()),
        ("momentum", {"momentum"}),
        ("rmsprop", {"beta2", "epsilon"}),
        ("adam", {"beta1", "beta2", "epsilon"}),
    ],
)
def test_only_the_chosen_optimizers_settings_are_logged(optimizer: str, expected: set[str]) -> None:
    logged = params("dataset=iris", f"train.optimizer={optimizer}")
    assert OPTIMIZER_ONLY & set(logged) == expected


def test_the_config_written_with_a_run_reads_back_as_the_config() -> None:
    """config.yaml (PyYAML's C writer where it exists) holds the config's values exactly, unusual strings too."""
    import dataclasses

    import yaml

    from pipeline.run_record import config_yaml

    name = "étude-" + "x" * 150 + ": #1 'quoted' \"twice\""  # non-ASCII, longer than a line, YAML's own marks
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        config = load_config(compose("config"))
    config.study_name = name
    assert yaml.safe_load(config_yaml(config)) == dataclasses.asdict(config)
