"""save/load round trips exactly and refuses corrupt, truncated or incompatible files."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from models import DeepNetwork, ModelFileError


@pytest.fixture
def saved(tmp_path: Path) -> tuple[DeepNetwork, Path]:
    network = DeepNetwork([4, 6, 3], hidden_activation="tanh", output="softmax", seed=3, dtype="float32")
    return network, network.save(tmp_path / "model")


def test_round_trip_is_exact(saved: tuple[DeepNetwork, Path]) -> None:
    network, path = saved
    assert path.suffix == ".npz"
    loaded = DeepNetwork.load(path)
    assert (loaded.layer_dims, loaded.activations, loaded.dtype) == (network.layer_dims, network.activations, "float32")
    X = np.random.default_rng(0).normal(size=(4, 10))
    assert np.array_equal(loaded.predict_proba(X), network.predict_proba(X))
    assert not list(path.parent.glob("*.tmp")), "the temporary file was left behind"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such model file"):
        DeepNetwork.load(tmp_path / "absent.npz")


def test_truncated_file(saved: tuple[DeepNetwork, Path]) -> None:
    _, path = saved
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="corrupt or truncated"):
        DeepNetwork.load(path)


def test_flipped_bytes_are_caught(saved: tuple[DeepNetwork, Path]) -> None:
    _, path = saved
    data = bytearray(path.read_bytes())
    start = data.index(b"W1.npy") + 200  # inside W1's stored values
    data[start : start + 8] = bytes(8)
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        DeepNetwork.load(path)


def test_not_a_model_file(tmp_path: Path) -> None:
    path = tmp_path / "plain.npz"
    np.savez(path, W1=np.zeros((2, 2)))
    with pytest.raises(ModelFileError, match="no metadata"):
        DeepNetwork.load(path)


def _rewrite(path: Path, change) -> None:
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    change(arrays)
    with zipfile.ZipFile(path, "w"):
        pass
    np.savez(path, **arrays)


def test_incompatible_version(saved: tuple[DeepNetwork, Path]) -> None:
    _, path = saved

    def bump(arrays: dict) -> None:
        header = json.loads(str(arrays["__metadata__"]))
        header["format_version"] = 99
        arrays["__metadata__"] = np.array(json.dumps(header))

    _rewrite(path, bump)
    with pytest.raises(ModelFileError, match="version 99"):
        DeepNetwork.load(path)


def test_parameters_that_do_not_fit_the_architecture(saved: tuple[DeepNetwork, Path]) -> None:
    _, path = saved
    _rewrite(path, lambda arrays: arrays.update(W2=np.zeros((3, 5), dtype=np.float32)))
    with pytest.raises(ModelFileError, match=r"W2 is float32\(3, 5\), expected float32\(3, 6\)"):
        DeepNetwork.load(path)


def test_non_finite_parameters(saved: tuple[DeepNetwork, Path]) -> None:
    _, path = saved
    _rewrite(path, lambda arrays: arrays["b1"].__setitem__((0, 0), np.nan))
    with pytest.raises(ModelFileError, match="b1 contains NaN"):
        DeepNetwork.load(path)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"keep_prob": [0.9, 0.6], "dropout_masks": "course"},
        {"batch_norm": True, "batch_norm_momentum": 0.7, "batch_norm_epsilon": 1e-3},
        {"keep_prob": 0.8, "batch_norm": True, "dtype": "float32"},
        {"init": "large_random", "init_generator": "legacy", "seed": 3},
        {"init": "course", "init_generator": "default"},
        {"init": "zeros"},
    ],
)
def test_round_trip_of_the_new_settings(tmp_path: Path, kwargs: dict) -> None:
    rng = np.random.default_rng(0)
    X, labels = rng.normal(size=(4, 40)), rng.integers(0, 3, (1, 40))
    network = DeepNetwork([4, 6, 5, 3], hidden_activation="tanh", output="softmax", **kwargs)
    network.fit(X, labels, learning_rate=0.05, epochs=3, batch_size=16)  # running statistics move away from 0 and 1
    loaded = DeepNetwork.load(network.save(tmp_path / "model"))
    assert loaded._metadata() == network._metadata()
    assert (loaded.keep_prob, loaded.init_generator, loaded.batch_norm) == (
        network.keep_prob,
        network.init_generator,
        network.batch_norm,
    )
    for mine, theirs in ((network.parameters, loaded.parameters), (network.running, loaded.running)):
        assert sorted(mine) == sorted(theirs)
        assert all(np.array_equal(mine[key], theirs[key]) and mine[key].dtype == theirs[key].dtype for key in mine)
    assert np.array_equal(loaded.predict_proba(X), network.predict_proba(X))


def test_version_1_files_still_load(saved: tuple[DeepNetwork, Path]) -> None:
    """A file as version 1 wrote it: format_version 1 and only the six original metadata keys."""
    network, path = saved

    def as_version_1(arrays: dict) -> None:
        header = json.loads(str(arrays["__metadata__"]))
        header = {key: header[key] for key in ("format", "layer_dims", "hidden_activation", "output", "init", "seed")}
        header.update(format_version=1, dtype="float32")
        arrays["__metadata__"] = np.array(json.dumps(header))

    _rewrite(path, as_version_1)
    loaded = DeepNetwork.load(path)
    assert (loaded.keep_prob, loaded.batch_norm, loaded.init_generator) == ((1.0,), False, "default")
    X = np.random.default_rng(0).normal(size=(4, 10))
    assert np.array_equal(loaded.predict_proba(X), network.predict_proba(X))


def test_batch_norm_file_without_running_statistics_is_refused(tmp_path: Path) -> None:
    path = DeepNetwork([4, 6, 3], output="softmax", batch_norm=True).save(tmp_path / "model")
    _rewrite(path, lambda arrays: arrays.pop("running_var1"))
    with pytest.raises(ModelFileError, match="do not match the architecture"):
        DeepNetwork.load(path)
