"""Tests of pipeline.setup.data on real data: layout, splits, scaling, the course's cat files, CSVs and refusals."""

import dataclasses
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from sklearn import datasets as sk_datasets

from pipeline.setup.data import DATASETS, DataError, Dataset, load_dataset

COURSE = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "course"
needs_course = pytest.mark.skipif(
    not (COURSE / "train_catvnoncat.h5").is_file() or not (COURSE / "test_catvnoncat.h5").is_file(),
    reason=f"the course's cat files are not in {COURSE.resolve()} (reference data is not part of the project)",
)

# name -> (task, examples in all, features, classes (0 for regression))
BUILTIN = {
    "digits": ("multiclass", 1797, 64, 10),
    "breast_cancer": ("binary", 569, 30, 2),
    "iris": ("multiclass", 150, 4, 3),
    "wine": ("multiclass", 178, 13, 3),
    "diabetes": ("regression", 442, 10, 0),
    "planar": ("binary", 400, 2, 2),
    "moons": ("binary", 400, 2, 2),
    "circles": ("binary", 400, 2, 2),
}
SPLITS = ("train", "val", "test")


def _xy(ds: Dataset, split: str) -> tuple[np.ndarray, np.ndarray]:
    return getattr(ds, f"X_{split}"), getattr(ds, f"Y_{split}")


def _write_csv(tmp_path: Path, frame: pd.DataFrame, name: str = "data.csv") -> str:
    file = tmp_path / name
    frame.to_csv(file, index=False)
    return str(file)


def _blobs(n_per_class: int = 20, labels: tuple[str, ...] = ("cat", "dog", "emu")) -> pd.DataFrame:
    """A small classification table with string labels and two informative numeric features."""
    rng = np.random.default_rng(7)
    y = np.repeat(np.arange(len(labels)), n_per_class)
    return pd.DataFrame(
        {"a": y + rng.normal(0, 0.1, y.size), "b": rng.normal(0, 1, y.size), "label": np.array(labels)[y]}
    )


# ----- every loader: shapes, layout, dtypes, task ------------------------------------------------
@pytest.mark.parametrize("name", list(BUILTIN))
def test_loader_layout(name: str) -> None:
    task, m, n_x, n_classes = BUILTIN[name]
    ds = load_dataset(name)
    assert ds.name == name and ds.task == task
    assert sum(ds.sizes.values()) == m
    assert ds.sizes["test"] == pytest.approx(0.2 * m, abs=1) and ds.sizes["val"] == pytest.approx(0.2 * m, abs=2)
    assert ds.n_features == n_x == len(ds.feature_names)
    assert ds.has_validation
    for split in SPLITS:
        X, Y = _xy(ds, split)
        assert X.shape == (n_x, ds.sizes[split]) and X.dtype == np.float64 and X.flags.c_contiguous
        assert Y.shape == (1, ds.sizes[split]) and Y.flags.c_contiguous
        assert np.isfinite(X).all()
    if task == "regression":
        assert ds.Y_train.dtype == np.float64 and ds.class_names == () and ds.output_layer("auto") == ("linear", 1)
    else:
        assert ds.Y_train.dtype == np.int64 and len(ds.class_names) == n_classes
        assert set(np.unique(ds.Y_train)) == set(range(n_classes))
        expected = ("sigmoid", 1) if task == "binary" else ("softmax", n_classes)
        assert ds.output_layer("auto") == expected


def test_datasets_lists_every_source() -> None:
    assert (*BUILTIN, "circles_course", "moons_course", "football", "catvnoncat", "csv") == tuple(DATASETS)


def test_dataset_is_frozen_and_read_only() -> None:
    ds = load_dataset("iris")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.task = "regression"
    with pytest.raises(ValueError, match="read-only"):
        ds.X_train[0, 0] = 1.0


def test_no_validation_split() -> None:
    ds = load_dataset("wine", val_fraction=0)
    assert not ds.has_validation
    assert ds.X_val.shape == (13, 0) and ds.Y_val.shape == (1, 0) and ds.Y_val.dtype == np.int64
    assert ds.sizes["train"] + ds.sizes["test"] == 178


def test_no_test_split() -> None:
    ds = load_dataset("diabetes", test_fraction=0, val_fraction=0.25)
    assert ds.sizes["test"] == 0 and ds.X_test.shape == (10, 0) and ds.Y_test.shape == (1, 0)
    assert ds.sizes["val"] == pytest.approx(0.25 * 442, abs=1)


# ----- splits: stratified and seeded -----------------------------------------------------------
@pytest.mark.parametrize("name", ["breast_cancer", "wine", "digits"])
def test_stratified_split_keeps_class_proportions(name: str) -> None:
    ds = load_dataset(name)
    labels = np.concatenate([ds.Y_train, ds.Y_val, ds.Y_test], axis=1).ravel()
    overall = np.bincount(labels) / labels.size
    for split in SPLITS:
        Y = _xy(ds, split)[1].ravel()
        share = np.bincount(Y, minlength=overall.size) / Y.size
        # stratification rounds each class to whole rows, so a share can miss by at most ~1 row per class
        assert np.abs(share - overall).max() <= 1.5 / Y.size + 1e-12, split


@pytest.mark.parametrize("name", ["iris", "diabetes", "planar", "moons"])
def test_same_seed_same_arrays_other_seed_other_split(name: str) -> None:
    first, again, other = load_dataset(name, seed=3), load_dataset(name, seed=3), load_dataset(name, seed=4)
    for split in SPLITS:
        for a, b in zip(_xy(first, split), _xy(again, split), strict=True):
            np.testing.assert_array_equal(a, b)
    assert first.fingerprint == again.fingerprint
    assert not np.array_equal(first.X_train, other.X_train)
    assert first.fingerprint != other.fingerprint


def test_split_partitions_the_data() -> None:
    """Train, val and test together are exactly the source's examples, each once."""
    ds = load_dataset("iris", scaling="none")
    rows = np.concatenate([ds.X_train, ds.X_val, ds.X_test], axis=1).T
    source = sk_datasets.load_iris().data
    np.testing.assert_array_equal(np.unique(rows, axis=0), np.unique(source, axis=0))
    assert len(rows) == len(source)


# ----- scaling: fit on the training split only -------------------------------------------------
def test_standard_scaling_uses_training_statistics_only() -> None:
    raw = load_dataset("wine", scaling="none", seed=5)
    ds = load_dataset("wine", scaling="standard", seed=5)
    mean, std = raw.X_train.mean(axis=1, keepdims=True), raw.X_train.std(axis=1, keepdims=True)
    np.testing.assert_allclose(ds.X_train.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(axis=1), 1, atol=1e-12)
    for split in ("val", "test"):
        np.testing.assert_allclose(_xy(ds, split)[0], (_xy(raw, split)[0] - mean) / std, atol=1e-12)
        assert np.abs(_xy(ds, split)[0].mean(axis=1)).max() > 1e-3  # not re-centred on its own statistics
    np.testing.assert_array_equal(ds.Y_train, raw.Y_train)  # scaling never changes the split


def test_minmax_scaling_uses_training_statistics_only() -> None:
    raw = load_dataset("breast_cancer", scaling="none")
    ds = load_dataset("breast_cancer", scaling="minmax")
    low, high = raw.X_train.min(axis=1, keepdims=True), raw.X_train.max(axis=1, keepdims=True)
    np.testing.assert_allclose(ds.X_train.min(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.max(axis=1), 1, atol=1e-12)
    np.testing.assert_allclose(ds.X_test, (raw.X_test - low) / (high - low), atol=1e-12)


def test_constant_features_do_not_become_nan() -> None:
    # digits has pixels that are 0 in every image
    for scaling in ("standard", "minmax"):
        ds = load_dataset("digits", scaling=scaling)
        assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
        assert (np.ptp(ds.X_train, axis=1) == 0).any()


def test_no_scaling_keeps_values() -> None:
    ds = load_dataset("iris", scaling="none", val_fraction=0, test_fraction=0)
    np.testing.assert_array_equal(np.unique(ds.X_train.T, axis=0), np.unique(sk_datasets.load_iris().data, axis=0))


def test_regression_targets_are_not_scaled() -> None:
    ds = load_dataset("diabetes")
    targets = np.concatenate([ds.Y_train, ds.Y_val, ds.Y_test], axis=1).ravel()
    np.testing.assert_array_equal(np.sort(targets), np.sort(sk_datasets.load_diabetes().target))
    np.testing.assert_allclose(ds.X_train.mean(axis=1), 0, atol=1e-12)  # features still standardized


# ----- generated data --------------------------------------------------------------------------
def test_planar_is_the_course_flower() -> None:
    state = np.random.get_state()
    ds = load_dataset("planar", val_fraction=0, test_fraction=0, scaling="none")
    assert ds.X_train.shape == (2, 400) and ds.Y_train.shape == (1, 400)
    np.testing.assert_array_equal(np.bincount(ds.Y_train.ravel()), [200, 200])
    # petals: radius |4 sin(4t)| plus noise 0.2 stays within 4 + a few sigma
    assert np.hypot(*ds.X_train).max() < 5.5
    assert ds.fingerprint == load_dataset("planar", val_fraction=0, test_fraction=0, scaling="none").fingerprint
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]


def test_planar_is_exactly_the_course_points() -> None:
    """planar_utils.load_planar_dataset: np.random.seed(1), then for each class randn(200) for the
    angle and randn(200) for the radius (made here with the course's own global calls)."""
    state = np.random.get_state()
    np.random.seed(1)
    X, Y = np.zeros((400, 2)), np.zeros((400, 1), dtype="uint8")
    for j in range(2):
        ix = range(200 * j, 200 * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, 200) + np.random.randn(200) * 0.2
        r = 4 * np.sin(4 * t) + np.random.randn(200) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    np.random.set_state(state)
    ds = load_dataset("planar", val_fraction=0, test_fraction=0, scaling="none")
    np.testing.assert_array_equal(ds.X_train, X.T)
    np.testing.assert_array_equal(ds.Y_train, Y.T)


def test_the_course_circles_and_moons_are_the_assignments_points_with_their_given_split() -> None:
    circles = load_dataset("circles_course", val_fraction=0, test_fraction=0, scaling="none")
    X, y = sk_datasets.make_circles(n_samples=300, noise=0.05, random_state=np.random.RandomState(1))
    X_test, y_test = sk_datasets.make_circles(n_samples=100, noise=0.05, random_state=np.random.RandomState(2))
    np.testing.assert_array_equal(circles.X_train, X.T)
    np.testing.assert_array_equal(circles.Y_train[0], y)
    np.testing.assert_array_equal(circles.X_test, X_test.T)
    np.testing.assert_array_equal(circles.Y_test[0], y_test)
    moons = load_dataset("moons_course", val_fraction=0, test_fraction=0, scaling="none")
    X, y = sk_datasets.make_moons(n_samples=300, noise=0.2, random_state=np.random.RandomState(3))
    np.testing.assert_array_equal(moons.X_train, X.T)
    assert moons.sizes == {"train": 300, "val": 0, "test": 0}


@pytest.mark.skipif(not (COURSE / "data.mat").is_file(), reason=f"the course's data.mat is not in {COURSE.resolve()}")
def test_football_uses_the_files_own_split() -> None:
    from scipy.io import loadmat

    ds = load_dataset("football", path=str(COURSE), val_fraction=0, scaling="none")
    data = loadmat(COURSE / "data.mat")
    np.testing.assert_array_equal(ds.X_train, data["X"].T)
    np.testing.assert_array_equal(ds.Y_train, data["y"].T)
    np.testing.assert_array_equal(ds.X_test, data["Xval"].T)
    assert ds.sizes == {"train": 211, "val": 0, "test": 200}
    assert load_dataset("football", path=str(COURSE / "data.mat"), val_fraction=0).sizes["test"] == 200


def test_football_refuses_a_missing_or_foreign_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"data\.mat: file not found"):
        load_dataset("football", path=str(tmp_path))
    (tmp_path / "data.mat").write_bytes(b"not matlab")
    with pytest.raises(DataError, match="not a readable MATLAB file"):
        load_dataset("football", path=str(tmp_path))


def test_generated_size_and_noise() -> None:
    small = load_dataset("circles", n_samples=100, noise=0.0, val_fraction=0, test_fraction=0, scaling="none")
    assert small.sizes["train"] == 100
    np.testing.assert_allclose(np.hypot(*small.X_train), np.where(small.Y_train[0] == 0, 1.0, 0.8))


# ----- the course's cat images -----------------------------------------------------------------
def _course_arrays() -> dict[str, np.ndarray]:
    with h5py.File(COURSE / "train_catvnoncat.h5", "r") as train, h5py.File(COURSE / "test_catvnoncat.h5", "r") as test:
        x_train, y_train = train["train_set_x"][()], train["train_set_y"][()]
        x_test, y_test = test["test_set_x"][()], test["test_set_y"][()]
    # the course's preprocessing, written out independently of the loader
    return {
        "X_train": x_train.reshape(x_train.shape[0], -1).T / 255.0,
        "Y_train": y_train.reshape(1, -1),
        "X_test": x_test.reshape(x_test.shape[0], -1).T / 255.0,
        "Y_test": y_test.reshape(1, -1),
    }


@pytest.mark.course_data
@needs_course
def test_cat_matches_the_course_in_original_order() -> None:
    ds = load_dataset("catvnoncat", path=str(COURSE), val_fraction=0)  # default scaling must not apply
    course = _course_arrays()
    for key, expected in course.items():
        np.testing.assert_array_equal(getattr(ds, key), expected, err_msg=key)
    assert ds.X_train.shape == (12288, 209) and ds.X_test.shape == (12288, 50)
    assert ds.Y_train.dtype == np.int64 and ds.class_names == ("non-cat", "cat")
    assert ds.task == "binary" and ds.n_features == 12288 == len(ds.feature_names) and not ds.has_validation


@pytest.mark.course_data
@needs_course
def test_cat_validation_is_carved_from_the_train_file() -> None:
    ds = load_dataset("catvnoncat", path=str(COURSE), val_fraction=0.2, test_fraction=0.3)
    course = _course_arrays()
    assert ds.sizes == {
        "train": 167,
        "val": 42,
        "test": 50,
    }  # test_fraction does not apply: the test file is the test set
    np.testing.assert_array_equal(ds.X_test, course["X_test"])
    columns = np.concatenate([ds.X_train, ds.X_val], axis=1)
    np.testing.assert_array_equal(np.unique(columns, axis=1), np.unique(course["X_train"], axis=1))
    cats = course["Y_train"].mean()
    assert ds.Y_val.mean() == pytest.approx(cats, abs=1 / 42)  # stratified


def _write_cat_files(
    folder: Path, *, train_x: np.ndarray | None = None, train_y: np.ndarray | None = None, drop: str = ""
) -> Path:
    """Small stand-ins for the course's files (8x8 images), optionally broken."""
    rng = np.random.default_rng(0)
    folder.mkdir(exist_ok=True)
    contents = {
        "train_catvnoncat.h5": {
            "train_set_x": rng.integers(0, 256, (12, 8, 8, 3), dtype=np.uint8) if train_x is None else train_x,
            "train_set_y": np.tile([0, 1], 6) if train_y is None else train_y,
            "list_classes": np.array([b"non-cat", b"cat"]),
        },
        "test_catvnoncat.h5": {
            "test_set_x": rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8),
            "test_set_y": np.array([0, 1, 1, 0]),
            "list_classes": np.array([b"non-cat", b"cat"]),
        },
    }
    for file, arrays in contents.items():
        with h5py.File(folder / file, "w") as h5:
            for key, value in arrays.items():
                if key != drop:
                    h5[key] = value
    return folder


def test_cat_loader_on_small_files(tmp_path: Path) -> None:
    folder = _write_cat_files(tmp_path / "cats")
    ds = load_dataset("catvnoncat", path=str(folder), val_fraction=0, scaling="minmax")
    with h5py.File(folder / "train_catvnoncat.h5", "r") as h5:
        expected = h5["train_set_x"][()].reshape(12, -1).T / 255
    np.testing.assert_array_equal(ds.X_train, expected)
    assert ds.X_test.shape == (192, 4) and ds.feature_names[:4] == (
        "pixel_0_0_r",
        "pixel_0_0_g",
        "pixel_0_0_b",
        "pixel_0_1_r",
    )


@pytest.mark.parametrize(
    ("broken", "match"),
    [
        ({"drop": "train_set_y"}, r"train_catvnoncat\.h5: missing dataset\(s\) \['train_set_y'\]"),
        ({"drop": "test_set_x"}, r"test_catvnoncat\.h5: missing dataset\(s\) \['test_set_x'\]"),
        ({"drop": "list_classes"}, r"train_catvnoncat\.h5: missing dataset\(s\) \['list_classes'\]"),
        ({"train_x": np.zeros((12, 8, 8), dtype=np.uint8)}, r"train_catvnoncat\.h5: images have shape \(12, 8, 8\)"),
        ({"train_x": np.zeros((12, 8, 8, 3))}, r"train_catvnoncat\.h5: .*dtype float64; expected uint8"),
        ({"train_x": np.zeros((12, 6, 6, 3), dtype=np.uint8)}, r"test_catvnoncat\.h5: images have shape \(8, 8, 3\)"),
        (
            {"train_y": np.tile([0, 2], 6)},
            r"train_catvnoncat\.h5: labels must be 0 \(non-cat\) or 1 \(cat\); .*\[0, 2\]",
        ),
        ({"train_y": np.zeros(11, dtype=int)}, r"train_catvnoncat\.h5: 12 images but 11 labels"),
    ],
)
def test_cat_refuses_broken_files(tmp_path: Path, broken: dict, match: str) -> None:
    folder = _write_cat_files(tmp_path / "cats", **broken)
    with pytest.raises(DataError, match=match):
        load_dataset("catvnoncat", path=str(folder))


def test_cat_refuses_missing_folder_file_and_non_hdf5(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere: not a folder"):
        load_dataset("catvnoncat", path=str(tmp_path / "nowhere"))
    folder = _write_cat_files(tmp_path / "cats")
    (folder / "test_catvnoncat.h5").unlink()
    with pytest.raises(DataError, match=r"test_catvnoncat\.h5: file not found"):
        load_dataset("catvnoncat", path=str(folder))
    (folder / "test_catvnoncat.h5").write_bytes(b"this is not HDF5")
    with pytest.raises(DataError, match=r"test_catvnoncat\.h5: not a readable HDF5 file"):
        load_dataset("catvnoncat", path=str(folder))


# ----- any CSV ---------------------------------------------------------------------------------
def test_csv_classification_with_string_labels(tmp_path: Path) -> None:
    frame = _blobs()
    file = _write_csv(tmp_path, frame[["label", "a", "b"]])  # the target need not be the last column
    ds = load_dataset("csv", path=file, target="label", val_fraction=0, test_fraction=0, scaling="none")
    assert (
        ds.task == "multiclass"
        and ds.class_names == ("cat", "dog", "emu")
        and ds.output_layer("auto") == ("softmax", 3)
    )
    assert ds.feature_names == ("a", "b") and ds.X_train.shape == (2, 60)
    np.testing.assert_array_equal(ds.X_train, frame[["a", "b"]].to_numpy().T)
    np.testing.assert_array_equal(np.array(ds.class_names)[ds.Y_train[0]], frame["label"])


def test_csv_binary_and_numeric_classes(tmp_path: Path) -> None:
    frame = _blobs(labels=("no", "yes"))
    ds = load_dataset("csv", path=_write_csv(tmp_path, frame), target="label")
    assert (
        ds.task == "binary"
        and ds.output_layer("auto") == ("sigmoid", 1)
        and ds.sizes == {"train": 24, "val": 8, "test": 8}
    )
    # whole-number floats with few values are classes, named like integers and sorted by value
    frame["label"] = np.resize([10.0, 2.0, 3.0], len(frame))
    ds = load_dataset("csv", path=_write_csv(tmp_path, frame, "f.csv"), target="label")
    assert ds.task == "multiclass" and ds.class_names == ("2", "3", "10")


def test_csv_regression(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x1": rng.normal(5, 2, 100), "x2": rng.normal(-1, 3, 100), "const": 1.0})
    frame["y"] = 3 * frame.x1 - frame.x2 + rng.normal(0, 0.1, 100)
    ds = load_dataset("csv", path=_write_csv(tmp_path, frame), target="y")
    assert ds.task == "regression" and ds.output_layer("auto")[0] == "linear" and ds.class_names == ()
    assert ds.Y_train.shape == (1, 60) and ds.Y_train.dtype == np.float64
    assert np.isin(ds.Y_test, frame["y"].to_numpy()).all()  # targets unscaled
    np.testing.assert_allclose(ds.X_train.mean(axis=1), 0, atol=1e-12)
    assert np.isfinite(ds.X_val).all()  # the constant column does not become NaN


def test_csv_task_can_be_forced(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": np.arange(60.0), "y": np.tile([1, 2, 3], 20)})
    file = _write_csv(tmp_path, frame)
    assert load_dataset("csv", path=file, target="y").task == "multiclass"
    assert load_dataset("csv", path=file, target="y", task="regression").task == "regression"
    frame["y"] = np.arange(60)  # many integer values: a quantity, not classes
    file = _write_csv(tmp_path, frame, "many.csv")
    assert load_dataset("csv", path=file, target="y").task == "regression"
    frame["y"] = np.tile([0.5, 1.5], 30)
    file = _write_csv(tmp_path, frame, "halves.csv")
    forced = load_dataset("csv", path=file, target="y", task="classification")
    assert forced.task == "binary" and forced.class_names == ("0.5", "1.5")


def _refuse(match: str, **kwargs: object) -> None:
    with pytest.raises(DataError, match=match):
        load_dataset("csv", **kwargs)


def test_csv_refuses_unreadable_files(tmp_path: Path) -> None:
    _refuse(r"missing\.csv: file not found", path=str(tmp_path / "missing.csv"), target="y")
    (tmp_path / "empty.csv").write_text("")
    _refuse(r"empty\.csv: the file is empty", path=str(tmp_path / "empty.csv"), target="y")
    (tmp_path / "header.csv").write_text("a,y\n")
    _refuse(r"header\.csv: no data rows", path=str(tmp_path / "header.csv"), target="y")
    (tmp_path / "ragged.csv").write_text("a,y\n1,2\n3,4,5,6\n")
    _refuse(r"ragged\.csv: not a parseable CSV", path=str(tmp_path / "ragged.csv"), target="y")


def test_csv_refuses_bad_columns(tmp_path: Path) -> None:
    file = _write_csv(tmp_path, _blobs())
    _refuse(
        r"data\.csv: target column 'kind' not found; available columns: \['a', 'b', 'label'\]", path=file, target="kind"
    )
    only = _write_csv(tmp_path, _blobs()[["label"]], "only.csv")
    _refuse(r"only\.csv: no feature columns besides the target 'label'", path=only, target="label")
    frame = _blobs().assign(colour="red", size="big")
    words = _write_csv(tmp_path, frame, "words.csv")
    _refuse(
        r"words\.csv: non-numeric feature column\(s\) \['colour', 'size'\]; encode them", path=words, target="label"
    )
    _refuse(
        r"data\.csv: target column 'label' is not numeric.*regression needs numbers",
        path=file,
        target="label",
        task="regression",
    )


def test_csv_refuses_missing_and_infinite_values(tmp_path: Path) -> None:
    frame = _blobs()
    frame.loc[[1, 4], "a"] = np.nan
    frame.loc[[4, 7], "b"] = np.inf
    frame.loc[9, "label"] = None
    file = _write_csv(tmp_path, frame, "holes.csv")
    _refuse(
        r"holes\.csv: missing or infinite values in 'a': 2 rows, 'b': 2 rows, 'label': 1 rows "
        r"\(4 affected rows in all\)",
        path=file,
        target="label",
    )


def test_csv_refuses_data_that_cannot_be_split(tmp_path: Path) -> None:
    one = _write_csv(tmp_path, _blobs(labels=("only",)), "one.csv")
    _refuse(
        r"one\.csv: target column 'label' has 1 distinct value\(s\) \['only'\]; .*at least two classes",
        path=one,
        target="label",
    )
    rare = pd.concat([_blobs(labels=("cat", "dog")), _blobs(n_per_class=2, labels=("emu",))])
    rare_file = _write_csv(tmp_path, rare, "rare.csv")
    _refuse(
        r"rare\.csv: class 'emu' has only 2 row\(s\); a stratified split into 3 parts", path=rare_file, target="label"
    )
    assert load_dataset("csv", path=rare_file, target="label", val_fraction=0).sizes["test"] == 9  # 2 parts: enough
    tiny = _write_csv(tmp_path, pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0.1, 0.7, 0.2]}), "tiny.csv")
    _refuse(r"tiny\.csv: too few rows \(3\) for the split: train would get 1", path=tiny, target="y")
    few = _write_csv(tmp_path, _blobs(n_per_class=3), "few.csv")  # 9 rows, 3 classes: 2 test rows cannot hold 3 classes
    _refuse(r"few\.csv: cannot split off the test set .*lower test_fraction", path=few, target="label", val_fraction=0)


# ----- argument validation ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "mnist"}, r"name='mnist' is not allowed; choose one of \['digits', 'breast_cancer', .*, 'csv'\]"),
        (
            {"name": "iris", "task": "clustering"},
            r"task='clustering' is not allowed; choose one of \['auto', 'classification', 'regression'\]",
        ),
        (
            {"name": "iris", "scaling": "robust"},
            r"scaling='robust' is not allowed; choose one of \['standard', 'minmax', 'none'\]",
        ),
        ({"name": "iris", "val_fraction": 1.0}, r"val_fraction=1.0 is not allowed; expected a number in \[0, 0.9\]"),
        ({"name": "iris", "test_fraction": -0.1}, r"test_fraction=-0.1 is not allowed"),
        ({"name": "iris", "test_fraction": "0.2"}, r"test_fraction='0.2' is not allowed"),
        (
            {"name": "iris", "val_fraction": 0.5, "test_fraction": 0.5},
            r"val_fraction \+ test_fraction = 0.5 \+ 0.5 >= 1",
        ),
        ({"name": "moons", "n_samples": 1}, r"n_samples=1 is not allowed; expected an integer in \[10, 100000000\]"),
        ({"name": "moons", "n_samples": 10.5}, r"n_samples=10.5 is not allowed"),
        ({"name": "moons", "noise": -1}, r"noise=-1 is not allowed; expected a number in \[0, 1000000\]"),
        ({"name": "moons", "seed": -3}, r"seed=-3 is not allowed; expected an integer in \[0, 4294967295\]"),
        ({"name": "moons", "seed": True}, r"seed=True is not allowed"),
        ({"name": "csv", "target": "y"}, r"path is missing: dataset=csv needs path="),
        ({"name": "csv", "path": "x.csv"}, r"target is missing: dataset=csv needs target="),
        ({"name": "catvnoncat"}, r"path is missing: dataset=catvnoncat needs path="),
        (
            {"name": "diabetes", "task": "classification"},
            r"task='classification' does not fit dataset 'diabetes', which is regression",
        ),
        (
            {"name": "iris", "task": "regression"},
            r"task='regression' does not fit dataset 'iris', which is classification",
        ),
    ],
)
def test_refuses_bad_arguments(kwargs: dict, match: str) -> None:
    name = kwargs.pop("name")
    with pytest.raises(DataError, match=match):
        load_dataset(name, **kwargs)


def test_data_error_is_a_value_error() -> None:
    assert issubclass(DataError, ValueError)


# ----- fingerprint -----------------------------------------------------------------------------
def test_fingerprint_is_stable_and_tracks_the_data(tmp_path: Path) -> None:
    frame = _blobs()
    file = _write_csv(tmp_path, frame)
    first = load_dataset("csv", path=file, target="label")
    assert len(first.fingerprint) == 64 and int(first.fingerprint, 16) >= 0
    assert load_dataset("csv", path=file, target="label").fingerprint == first.fingerprint
    frame.loc[0, "a"] += 1e-9
    changed = _write_csv(tmp_path, frame, "changed.csv")
    assert load_dataset("csv", path=changed, target="label").fingerprint != first.fingerprint
    assert load_dataset("csv", path=file, target="label", scaling="minmax").fingerprint != first.fingerprint
    renamed = _write_csv(tmp_path, frame.assign(label=frame.label.str.upper()), "renamed.csv")
    relabelled = load_dataset("csv", path=renamed, target="label")
    np.testing.assert_array_equal(relabelled.Y_train, load_dataset("csv", path=changed, target="label").Y_train)
    assert relabelled.fingerprint != load_dataset("csv", path=changed, target="label").fingerprint


def test_repeated_feature_names_are_refused_not_renamed(tmp_path: Path) -> None:
    """pandas would read a second ``a`` as ``a.1``: a feature the user never named."""
    file = tmp_path / "data.csv"
    rows = [f"{i},{i % 3},{i % 5},{'xy'[i % 2]}" for i in range(40)]
    file.write_text("a,b,a,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"column name\(s\) \['a'\] appear more than once"):
        load_dataset("csv", path=str(file), target="label", val_fraction=0, test_fraction=0, scaling="none")


def test_an_error_about_a_file_not_named_as_data_does_not_print_its_content(tmp_path: Path) -> None:
    """`dataset.path=/etc/shadow`: the refusal names the file and the problem, never its first line."""
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secrethash:19000:0:99999:7:::\nuser:$6$other:19000:0:99999:7:::\n")
    with pytest.raises(DataError) as caught:
        load_dataset("csv", path=secret, target="label")
    assert "secrethash" not in str(caught.value) and "$6$" not in str(caught.value)
    assert "target column 'label' not found" in str(caught.value) and "not shown" in str(caught.value)
    named = tmp_path / "table.csv"
    named.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(DataError, match=r"available columns: \['a', 'b'\]"):
        load_dataset("csv", path=named, target="label")
