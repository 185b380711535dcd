"""Prepared datasets kept on disk (``pipeline.setup.data_cache``): a kept dataset is the same dataset, a
command that finds one does not import scikit-learn, a damaged or altered entry is rebuilt, a user's files
are never kept, and a cache that cannot be written changes nothing but speed."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.setup import data_cache
from pipeline.setup.data import load_dataset

ARRAYS = data_cache.ARRAYS


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("DEEPSWEEP_CACHE_DIR", str(folder))
    return folder


def same(a, b) -> bool:
    fields = ("name", "task", "class_names", "feature_names", "fingerprint", "input_multiplier", "input_shift")
    return all(getattr(a, f) == getattr(b, f) for f in fields) and all(
        np.array_equal(getattr(a, n), getattr(b, n)) and getattr(a, n).dtype == getattr(b, n).dtype for n in ARRAYS
    )


def test_a_kept_dataset_is_the_same_dataset_and_read_only(cache: Path) -> None:
    built = load_dataset("iris", seed=3)
    assert len(list(cache.glob("iris-*.npz"))) == 1
    kept = load_dataset("iris", seed=3)
    assert same(built, kept)
    assert all(not getattr(kept, n).flags.writeable and getattr(kept, n).flags.c_contiguous for n in ARRAYS)
    load_dataset("iris", seed=4)
    load_dataset("moons", n_samples=100, noise=0.1)
    assert len(list(cache.glob("*.npz"))) == 3, "another seed or another dataset is another entry"


def test_a_command_that_finds_its_dataset_kept_does_not_import_scikit_learn(cache: Path) -> None:
    code = (
        "import sys; from pipeline.setup.data import load_dataset; d = load_dataset('digits', seed=0); "
        "print(d.fingerprint, 'sklearn' in sys.modules)"
    )
    env = {**os.environ, "DEEPSWEEP_CACHE_DIR": str(cache)}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.split() == [load_dataset("digits", seed=0).fingerprint, "True"]
    assert second.stdout.split() == [first.stdout.split()[0], "False"]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "alter"])
def test_a_damaged_or_altered_entry_is_rebuilt(cache: Path, damage: str) -> None:
    built = load_dataset("wine", seed=0)
    (entry,) = cache.glob("wine-*.npz")
    if damage == "truncate":
        entry.write_bytes(entry.read_bytes()[:200])
    elif damage == "garbage":
        entry.write_bytes(b"not a numpy file")
    else:  # a valid file whose arrays no longer match the recorded fingerprint
        with np.load(entry) as kept:
            arrays = {name: kept[name] for name in kept.files}
        arrays["X_train"] = arrays["X_train"] + 1.0
        np.savez(entry, **arrays)
    assert same(load_dataset("wine", seed=0), built)
    assert same(load_dataset("wine", seed=0), built), "the rebuilt entry was written back and reads"


def test_a_users_file_is_never_kept(cache: Path, tmp_path: Path) -> None:
    file = tmp_path / "table.csv"
    pd.DataFrame({"a": np.arange(20.0), "label": [0, 1] * 10}).to_csv(file, index=False)
    load_dataset("csv", path=str(file), target="label")
    assert not cache.exists() or not list(cache.iterdir())


def test_the_cache_can_be_turned_off_and_a_read_only_one_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DEEPSWEEP_CACHE_DIR", "off")
    assert data_cache.folder() is None
    plain = load_dataset("iris", seed=0)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    monkeypatch.setenv("DEEPSWEEP_CACHE_DIR", str(locked / "inner"))
    try:
        assert same(load_dataset("iris", seed=0), plain)
    finally:
        locked.chmod(0o700)
    if os.geteuid() != 0:  # root writes anywhere
        assert not (locked / "inner").exists()
