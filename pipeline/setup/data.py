"""Datasets for the search, returned in the network's layout.

``load_dataset(name, ...)`` returns a frozen ``Dataset``: train / validation / test arrays with
examples as COLUMNS (``X`` ``(n_x, m)`` float64; ``Y`` ``(1, m)`` int64 class indices, or ``(n_y, m)``
float64 targets for regression), class and feature names, and a fingerprint of the arrays.

Sources (``DATASETS``): scikit-learn's bundled sets (digits, breast_cancer, iris, wine, diabetes),
generated sets (the course's planar flower, moons, circles), the course's cat HDF5 files from a
folder, and any CSV with a named target column.

Every loader returns examples as ROWS (scikit-learn's layout) in a ``_Table``; one shared path then
splits (stratified for classification, seeded), scales (fit on the training split only) and
transposes. Bad arguments or bad data raise ``DataError`` naming the file or argument, what is wrong
and how to fix it, before anything is trained or logged.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.errors import ConfigError, DataError
from pipeline.setup import data_cache
from pipeline.setup.config import DatasetConfig
from pipeline.setup.rules import RANGES, check_dataset, check_range
from pipeline.setup.vocabulary import DATASETS, TASKS

if TYPE_CHECKING:  # imported where used: scikit-learn, pandas and h5py cost seconds to import
    import pandas as pd


def _scaler(name: str) -> Any:
    """A new scikit-learn scaler for ``name``, or None for ``none``."""
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    return {"standard": StandardScaler, "minmax": MinMaxScaler, "none": lambda: None}[name]()


MAX_AUTO_CLASSES = 20  # an integer-valued CSV target with more distinct values is treated as regression
CAT_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")


@dataclass(frozen=True, eq=False)  # eq=False: compare datasets by fingerprint, never array by array
class Dataset:
    """One dataset split three ways, in the network's layout (examples as columns).

    Attributes:
        name: the ``DATASETS`` entry it came from.
        task: ``binary``, ``multiclass`` or ``regression``.
        X_train, X_val, X_test: ``(n_x, m_split)`` float64, C-contiguous, read-only; ``m_val`` is 0
            when ``val_fraction == 0``.
        Y_train, Y_val, Y_test: ``(1, m_split)`` int64 class indices ``0..C-1`` for classification,
            ``(n_y, m_split)`` float64 targets (unscaled) for regression.
        class_names: ``C`` names, index ``i`` naming label ``i``; ``()`` for regression.
        feature_names: ``n_x`` names, one per row of ``X``.
        fingerprint: sha256 hex over the six arrays (bytes, shapes, dtypes) and the class names.
        input_multiplier, input_shift: ``(n_x,)`` each; a raw feature row ``x`` becomes the network's
            input ``x * input_multiplier + input_shift`` (the training split's scaling, and the cat
            images' division by 255).
    """

    name: str
    task: str
    X_train: np.ndarray
    Y_train: np.ndarray
    X_val: np.ndarray
    Y_val: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    fingerprint: str
    input_multiplier: tuple[float, ...] = ()  # raw feature row x -> network input x * multiplier + shift
    input_shift: tuple[float, ...] = ()

    def output_layer(self, output: str) -> tuple[str, int]:
        """The output activation (``model.output``; ``auto`` follows the task) and its number of units,
        checked against this dataset's task."""
        task = TASKS[self.task]
        chosen = task.output if output == "auto" else output
        if chosen not in task.outputs:
            raise ConfigError(
                f"model.output={chosen} does not fit dataset {self.name!r} ({self.task}); "
                f"allowed: {list(task.outputs)} or auto"
            )
        return chosen, task.output_units(chosen, self.Y_train.shape[0], len(self.class_names))

    def preprocessing(self) -> dict[str, object]:
        """What a deployed model needs to go from raw feature rows to predictions, as JSON-ready data."""
        return {
            "feature_names": list(self.feature_names),
            "class_names": list(self.class_names),
            "task": self.task,
            "input_multiplier": list(self.input_multiplier),
            "input_shift": list(self.input_shift),
        }

    def raw_rows(self, count: int) -> np.ndarray:
        """The first ``count`` training examples as raw feature rows ``(count, n_x)``, scaling undone."""
        return self.raw(self.X_train[:, :count])

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Network inputs ``(n_x, m)`` back as raw feature rows ``(m, n_x)``: the scaling undone."""
        return (X.T - np.asarray(self.input_shift)) / np.asarray(self.input_multiplier)

    @property
    def n_features(self) -> int:
        """``n_x``, the input layer's size."""
        return self.X_train.shape[0]

    @property
    def has_validation(self) -> bool:
        return self.X_val.shape[1] > 0

    @property
    def sizes(self) -> dict[str, int]:
        """Examples per split: ``{"train": m_train, "val": m_val, "test": m_test}``."""
        return {"train": self.X_train.shape[1], "val": self.X_val.shape[1], "test": self.X_test.shape[1]}


@dataclass
class _Request(DatasetConfig):
    """What every loader is handed: the config's ``dataset`` section itself, plus the root seed.

    A new ``dataset.*`` setting is one field in ``DatasetConfig`` and its use in a loader.
    """

    seed: int = 0


@dataclass(frozen=True)
class _Table:
    """One source's examples as ROWS (scikit-learn's layout), before splitting and scaling."""

    source: str  # file path or dataset name, to start every error message
    X: np.ndarray  # (m, n_x) float64
    y: np.ndarray  # (m,) int64 class indices, or (m, n_y) float64 regression targets
    task: str
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    test: tuple[np.ndarray, np.ndarray] | None = None  # a fixed test set (the cat files); else carved out
    scalable: bool = True  # False: features already have a fixed range (cat pixels / 255)
    raw_factor: float = 1.0  # what the loader already multiplied raw features by (cat pixels: 1/255)


def _stream(seed: int, key: str) -> np.random.Generator:
    """An independent generator per purpose; crc32 keeps the key stable across runs and machines."""
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def _int_seed(seed: int, key: str) -> int:
    """A ``random_state`` for scikit-learn functions, derived like every other stream."""
    return int(_stream(seed, key).integers(2**32 - 1))


# ----- bundled and generated data ------------------------------------------------------------------
def _load_bundled(loader: str, task: str, request: _Request) -> _Table:
    """scikit-learn's bundled sets (``sklearn.datasets.<loader>``): shipped with it, nothing is downloaded."""
    from sklearn import datasets

    bunch = getattr(datasets, loader)()
    X = np.asarray(bunch.data, dtype=np.float64)
    features = tuple(str(f) for f in bunch.feature_names)
    if task == "regression":
        y = np.asarray(bunch.target, dtype=np.float64).reshape(len(X), -1)
        return _Table(request.name, X, y, task, (), features)
    classes = tuple(str(c) for c in bunch.target_names)
    return _Table(request.name, X, np.asarray(bunch.target, dtype=np.int64), task, classes, features)


def _load_planar(request: _Request) -> _Table:
    """The course's flower, made exactly as ``planar_utils.load_planar_dataset`` makes it.

    The course seeds NumPy's legacy generator with 1 and draws with ``randn``: a local
    ``RandomState(1)`` gives the same points without touching the global state (400 points and noise
    0.2 are the course's; ``n_samples // 2`` points per class). The root seed does not move them:
    like the bundled sets, the flower is one fixed dataset.
    """
    rng = np.random.RandomState(1)
    N, a = request.n_samples // 2, 4  # points per class, petal length
    X = np.zeros((2 * N, 2))
    y = np.zeros(2 * N, dtype=np.int64)
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + rng.randn(N) * request.noise  # angle
        r = a * np.sin(4 * t) + rng.randn(N) * request.noise  # radius
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return _Table("planar", X, y, "binary", ("red", "blue"), ("x1", "x2"))


def _load_generated(maker: str, class_names: tuple[str, ...], request: _Request) -> _Table:
    """scikit-learn's two-class toy generators (``sklearn.datasets.<maker>``: moons, circles), seeded from ``seed``."""
    from sklearn import datasets

    make = getattr(datasets, maker)
    random_state = _int_seed(request.seed, request.name)
    X, y = make(n_samples=request.n_samples, noise=request.noise, random_state=random_state)
    return _Table(request.name, X.astype(np.float64), y.astype(np.int64), "binary", class_names, ("x1", "x2"))


# ----- the course's cat images -------------------------------------------------------------------
def _read_h5(file: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named datasets of one HDF5 file, or a DataError saying which file and what is missing."""
    if not file.is_file():
        raise DataError(f"{file}: file not found; the cat folder must hold {' and '.join(CAT_FILES)}")
    import h5py

    try:
        with h5py.File(file, "r") as h5:
            missing = [k for k in keys if not isinstance(h5.get(k), h5py.Dataset)]
            if missing:
                raise DataError(f"{file}: missing dataset(s) {missing}; found {sorted(h5)}; expected {list(keys)}")
            return {k: np.asarray(h5[k][()]) for k in keys}
    except OSError as err:  # h5py's error for anything that is not a readable HDF5 file
        raise DataError(f"{file}: not a readable HDF5 file ({err}); use the course's original file") from err


def _cat_rows(file: Path, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(m, h, w, 3)`` uint8 and labels ``(m,)`` -> X ``(m, h*w*3)`` in [0, 1], y ``(m,)`` int64."""
    if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != np.uint8:
        raise DataError(
            f"{file}: images have shape {x.shape} and dtype {x.dtype}; expected uint8 RGB images "
            "(m, height, width, 3) as in the course's files"
        )
    labels = y.reshape(-1)
    if labels.shape[0] != x.shape[0]:
        raise DataError(f"{file}: {x.shape[0]} images but {labels.shape[0]} labels; each image needs one label")
    if not np.isin(labels, (0, 1)).all():
        found = np.unique(labels)[:10].tolist()
        raise DataError(f"{file}: labels must be 0 (non-cat) or 1 (cat); found values {found}")
    # The course's flattening, x.reshape(m, -1).T / 255, kept as rows here; _columns transposes it.
    return x.reshape(x.shape[0], -1) / 255, labels.astype(np.int64)


def _load_cat(request: _Request) -> _Table:
    """The course's cat/non-cat images from a folder; the test file is the test set."""
    folder = Path(request.path)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder; path must be the folder holding {' and '.join(CAT_FILES)}")
    train_file, test_file = folder / CAT_FILES[0], folder / CAT_FILES[1]
    train = _read_h5(train_file, ("train_set_x", "train_set_y", "list_classes"))
    test = _read_h5(test_file, ("test_set_x", "test_set_y"))
    X, y = _cat_rows(train_file, train["train_set_x"], train["train_set_y"])
    X_test, y_test = _cat_rows(test_file, test["test_set_x"], test["test_set_y"])
    if X_test.shape[1] != X.shape[1]:
        raise DataError(
            f"{test_file}: images have shape {test['test_set_x'].shape[1:]} but the training images "
            f"{train['train_set_x'].shape[1:]}; both files must hold images of the same size"
        )
    classes = tuple(c.decode() if isinstance(c, bytes) else str(c) for c in train["list_classes"].reshape(-1))
    if len(classes) != 2:
        raise DataError(f"{train_file}: list_classes has {len(classes)} entries {classes}; expected 2 (non-cat, cat)")
    h, w, _ = train["train_set_x"].shape[1:]
    features = tuple(f"pixel_{i}_{j}_{c}" for i in range(h) for j in range(w) for c in "rgb")
    return _Table(
        str(train_file), X, y, "binary", classes, features, test=(X_test, y_test), scalable=False, raw_factor=1 / 255
    )


# ----- any CSV ----------------------------------------------------------------------------------------
def _read_csv(file: Path) -> pd.DataFrame:
    import pandas as pd

    if not file.is_file():
        raise DataError(f"{file}: file not found; set path to an existing CSV file")
    try:
        frame = pd.read_csv(file)
    except pd.errors.EmptyDataError as err:
        raise DataError(f"{file}: the file is empty; it needs a header row and data rows") from err
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"{file}: not a parseable CSV ({err}); check delimiters and encoding (UTF-8)") from err
    if frame.empty:
        raise DataError(f"{file}: no data rows (only a header); add rows")
    _check_header(file)
    return frame


DATA_SUFFIXES = (".csv", ".tsv", ".txt")  # files whose column names an error message may quote


def _names(file: Path, names: list[str]) -> str:
    """Column names for an error message, or only their number when ``file`` is not named as a data file: an
    error must not print the first line of whatever file the path named (``dataset.path=/etc/shadow``)."""
    if file.suffix.lower() in DATA_SUFFIXES:
        return str(names)
    return f"({len(names)} columns, not shown: {file.name} does not end in {', '.join(DATA_SUFFIXES)})"


def _check_header(file: Path) -> None:
    """Refuse repeated column names: pandas would rename a second ``label`` to ``label.1`` and a
    model would then learn from a copy of its own target."""
    import csv

    with open(file, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        shown = _names(file, [name if len(name) <= 60 else name[:60] + "…" for name in repeated[:10]])
        raise DataError(
            f"{file}: column name(s) {shown} appear more than once in the header; every column needs its own "
            "name (rename or drop the copies)"
        )


def _check_columns(file: Path, frame: pd.DataFrame, target: str) -> list[str]:
    """The feature columns: every column but the target, all numeric."""
    import pandas as pd

    if target not in frame.columns:
        raise DataError(
            f"{file}: target column {target!r} not found; available columns: {_names(file, list(frame.columns))}; "
            "set target to one of them"
        )
    features = [c for c in frame.columns if c != target]
    if not features:
        raise DataError(f"{file}: no feature columns besides the target {target!r}; add at least one feature column")
    bad = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise DataError(
            f"{file}: non-numeric feature column(s) {_names(file, bad)}; encode them as numbers first "
            "(e.g. one-hot with pandas.get_dummies) or drop them"
        )
    return features


def _check_finite(file: Path, frame: pd.DataFrame) -> None:
    """Refuse NaN (empty cells) and infinities anywhere, saying where and how many rows."""
    import pandas as pd

    bad = frame.isna()
    numeric = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    bad[numeric] |= np.isinf(frame[numeric].to_numpy(dtype=np.float64))
    counts = bad.sum()
    if counts.any():
        where = ", ".join(f"{c!r}: {n} rows" for c, n in counts[counts > 0].items())
        raise DataError(
            f"{file}: missing or infinite values in {where} ({int(bad.any(axis=1).sum())} affected rows in all); "
            "drop or impute those rows first"
        )


def _is_classification(target: pd.Series, task: str) -> bool:
    """task 'auto': non-numeric targets, and integer-valued ones with few distinct values, are classes."""
    import pandas as pd

    if task != "auto":
        return task == "classification"
    if pd.api.types.is_bool_dtype(target) or not pd.api.types.is_numeric_dtype(target):
        return True
    values = target.to_numpy(dtype=np.float64)
    return bool(np.all(values == np.round(values))) and target.nunique() <= MAX_AUTO_CLASSES


def _class_name(value: object) -> str:
    # A float column of whole numbers (1.0, 2.0) names its classes "1", "2", like an int column.
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _encode_classes(file: Path, target: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels 0..C-1 in the order of the sorted distinct values, and those values as class names."""
    import pandas as pd

    codes, uniques = pd.factorize(target, sort=True)
    if len(uniques) < 2:
        raise DataError(
            f"{file}: target column {target.name!r} has {len(uniques)} distinct value(s) {list(uniques)}; "
            "classification needs at least two classes"
        )
    return codes.astype(np.int64), tuple(_class_name(v) for v in uniques)


def _load_csv(request: _Request) -> _Table:
    """Any CSV: numeric feature columns plus the ``target`` column."""
    import pandas as pd

    file = Path(request.path)
    frame = _read_csv(file)
    features = _check_columns(file, frame, request.target)
    _check_finite(file, frame)
    X = frame[features].to_numpy(dtype=np.float64)
    target = frame[request.target]
    if _is_classification(target, request.task):
        y, classes = _encode_classes(file, target)
        task = "binary" if len(classes) == 2 else "multiclass"
        return _Table(str(file), X, y, task, classes, tuple(map(str, features)))
    if pd.api.types.is_bool_dtype(target) or not pd.api.types.is_numeric_dtype(target):
        raise DataError(
            f"{file}: target column {request.target!r} is not numeric ({target.dtype}); "
            "regression needs numbers; use task='classification' or 'auto'"
        )
    y = target.to_numpy(dtype=np.float64).reshape(-1, 1)
    return _Table(str(file), X, y, "regression", (), tuple(map(str, features)))


def _load_circles_course(request: _Request) -> _Table:
    """The initialization assignment's circles (``init_utils.load_dataset``): 300 training points after
    ``np.random.seed(1)`` and 100 test points after ``np.random.seed(2)``, noise 0.05; the test set is given."""
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=300, noise=0.05, random_state=np.random.RandomState(1))
    X_test, y_test = make_circles(n_samples=100, noise=0.05, random_state=np.random.RandomState(2))
    y_test = y_test.astype(np.int64)
    classes = ("outer", "inner")
    return _Table("circles_course", X, y.astype(np.int64), "binary", classes, ("x1", "x2"), test=(X_test, y_test))


def _load_moons_course(request: _Request) -> _Table:
    """The optimization assignment's moons (``opt_utils.load_dataset``): 300 points after
    ``np.random.seed(3)``, noise 0.2 (the assignment has no test set)."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=300, noise=0.2, random_state=np.random.RandomState(3))
    return _Table("moons_course", X, y.astype(np.int64), "binary", ("upper", "lower"), ("x1", "x2"))


def _load_football(request: _Request) -> _Table:
    """The regularization assignment's 2-D "football" data from ``data.mat`` (MATLAB v5: ``X``, ``y``,
    ``Xval``, ``yval``), as ``reg_utils.load_2D_dataset`` reads it; ``Xval``/``yval`` is the given test set.

    ``path`` is the file or the folder holding it. Label 1: a French player headed the ball there.
    """
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    file = Path(request.path)
    file = file / "data.mat" if file.is_dir() else file
    if not file.is_file():
        raise DataError(f"{file}: file not found; path must be data.mat or the folder holding it")
    try:
        data = loadmat(file)
    except (MatReadError, ValueError, OSError, TypeError) as err:
        raise DataError(f"{file}: not a readable MATLAB file ({err}); use the course's data.mat") from err
    missing = [key for key in ("X", "y", "Xval", "yval") if key not in data]
    if missing:
        raise DataError(f"{file}: missing variable(s) {missing}; the course's data.mat holds X, y, Xval, yval")
    X, y, X_test, y_test = (np.asarray(data[key], dtype=np.float64) for key in ("X", "y", "Xval", "yval"))
    for name, features, labels in (("X", X, y), ("Xval", X_test, y_test)):
        if features.ndim != 2 or features.shape[1] != 2 or labels.reshape(-1).shape[0] != features.shape[0]:
            raise DataError(f"{file}: {name} has shape {features.shape} with {labels.size} labels; expected (m, 2), m")
        if not np.isin(labels, (0, 1)).all():
            raise DataError(f"{file}: labels of {name} must be 0 or 1")
    y, y_test = y.reshape(-1).astype(np.int64), y_test.reshape(-1).astype(np.int64)
    return _Table(str(file), X, y, "binary", ("opponent", "france"), ("x1", "x2"), test=(X_test, y_test))


LOADERS: dict[str, Callable[[_Request], _Table]] = {
    "digits": partial(_load_bundled, "load_digits", "multiclass"),
    "breast_cancer": partial(_load_bundled, "load_breast_cancer", "binary"),
    "iris": partial(_load_bundled, "load_iris", "multiclass"),
    "wine": partial(_load_bundled, "load_wine", "multiclass"),
    "diabetes": partial(_load_bundled, "load_diabetes", "regression"),
    "planar": _load_planar,
    "moons": partial(_load_generated, "make_moons", ("upper", "lower")),
    "circles": partial(_load_generated, "make_circles", ("outer", "inner")),
    "circles_course": _load_circles_course,
    "moons_course": _load_moons_course,
    "football": _load_football,
    "catvnoncat": _load_cat,
    "csv": _load_csv,
}
assert set(LOADERS) == set(DATASETS), "every dataset in the vocabulary needs a loader, and only those"


# ----- splitting, scaling, layout ----------------------------------------------------------------
def _plan(table: _Table, request: _Request) -> None:
    """Refuse splits that cannot work, before scikit-learn says so in its own words."""
    m = len(table.y)
    test = 0 if table.test is not None else request.test_fraction
    n_test = math.ceil(test * m)  # scikit-learn's rounding
    val = request.val_fraction if table.test is not None else request.val_fraction / (1 - test)
    n_val = math.ceil(val * (m - n_test))
    if m - n_test - n_val < 2:
        raise DataError(
            f"{table.source}: too few rows ({m}) for the split: train would get {m - n_test - n_val}, "
            f"validation {n_val}, test {n_test}; add rows or lower val_fraction / test_fraction"
        )
    if table.task == "regression":
        return
    parts = 1 + (n_val > 0) + (n_test > 0)
    counts = np.bincount(table.y, minlength=len(table.class_names))
    for name, count in zip(table.class_names, counts, strict=True):
        if count < parts:
            raise DataError(
                f"{table.source}: class {name!r} has only {count} row(s); a stratified split into {parts} "
                f"parts needs at least {parts} of every class; add rows, merge rare classes, "
                "or lower val_fraction / test_fraction to 0"
            )


def _carve(table: _Table, X: np.ndarray, y: np.ndarray, fraction: float, what: str, seed: int) -> tuple:
    """Split ``fraction`` of the rows off as ``what``: returns ``(X_keep, y_keep, X_out, y_out)``."""
    if fraction == 0:
        return X, y, X[:0], y[:0]  # keep the original order: the course's cat numbers depend on it
    from sklearn.model_selection import train_test_split

    stratify = None if table.task == "regression" else y
    try:
        X_keep, X_out, y_keep, y_out = train_test_split(X, y, test_size=fraction, random_state=seed, stratify=stratify)
    except ValueError as err:  # e.g. fewer rows in a split than classes
        raise DataError(
            f"{table.source}: cannot split off the {what} set ({err}); add rows or lower {what}_fraction"
        ) from err
    return X_keep, y_keep, X_out, y_out


def _split(table: _Table, request: _Request) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Rows split into train / val / test; val is ``val_fraction`` of the whole (of the train file for cats)."""
    _plan(table, request)
    test_seed, val_seed = (int(s) for s in _stream(request.seed, "split").integers(2**32 - 1, size=2))
    if table.test is not None:
        X, y, (X_test, y_test), val = table.X, table.y, table.test, request.val_fraction
    else:
        X, y, X_test, y_test = _carve(table, table.X, table.y, request.test_fraction, "test", test_seed)
        val = request.val_fraction / (1 - request.test_fraction)  # of what is left, so of the whole
    X_train, y_train, X_val, y_val = _carve(table, X, y, val, "val", val_seed)
    return {"train": (X_train, y_train), "val": (X_val, y_val), "test": (X_test, y_test)}


def _scale(parts: dict[str, tuple[np.ndarray, np.ndarray]], scaling: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """Features scaled with statistics of the training split only, so val/test stay unseen; targets untouched.

    Also returns the scaling as ``x * multiplier + shift`` per feature (``(n_x,)`` each), so that a
    deployed model can apply it to raw rows.
    """
    n_x = parts["train"][0].shape[1]
    scaler = _scaler(scaling)
    if scaler is None:
        return parts, np.ones(n_x), np.zeros(n_x)
    scaler.fit(parts["train"][0])  # StandardScaler/MinMaxScaler map constant columns to 0, not NaN
    if scaling == "standard":
        multiplier, shift = 1.0 / scaler.scale_, -scaler.mean_ / scaler.scale_
    else:
        multiplier, shift = scaler.scale_, scaler.min_
    return {k: (scaler.transform(X) if len(X) else X, y) for k, (X, y) in parts.items()}, multiplier, shift


def _columns(a: np.ndarray, dtype: type) -> np.ndarray:
    """Rows-as-examples ``(m, n)`` (or ``(m,)``) -> read-only contiguous ``(n, m)`` (or ``(1, m)``)."""
    rows = a[:, None] if a.ndim == 1 else a
    out = np.ascontiguousarray(rows.T, dtype=dtype)
    out.setflags(write=False)  # the fingerprint must keep describing the arrays
    return out


def fingerprint_of(arrays: list[np.ndarray], class_names: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(f"{a.dtype.str}{a.shape};".encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    digest.update("\x1f".join(class_names).encode())
    return digest.hexdigest()


def _to_dataset(
    table: _Table, parts: dict[str, tuple[np.ndarray, np.ndarray]], name: str, scaling: tuple[np.ndarray, np.ndarray]
) -> Dataset:
    y_dtype = np.float64 if table.task == "regression" else np.int64
    arrays = {}
    for split, (X, y) in parts.items():
        arrays[f"X_{split}"] = _columns(X, np.float64)
        arrays[f"Y_{split}"] = _columns(y, y_dtype)
    fingerprint = fingerprint_of(list(arrays.values()), table.class_names)
    names = {"class_names": table.class_names, "feature_names": table.feature_names}
    multiplier, shift = scaling
    return Dataset(
        name,
        table.task,
        **arrays,
        **names,
        fingerprint=fingerprint,
        input_multiplier=tuple(float(v) for v in multiplier * table.raw_factor),
        input_shift=tuple(float(v) for v in shift),
    )


# ----- the entry point --------------------------------------------------------------------------
def _validate(request: _Request) -> None:
    """The dataset rules of ``pipeline.setup.rules`` (the pre-flight check's own), as a ``DataError``."""
    try:
        check_dataset(request, prefix="")
        check_range("seed", request.seed, RANGES["seed"])
    except ConfigError as error:
        raise DataError(str(error)) from None


def _check_task(table: _Table, request: _Request) -> None:
    """A forced task must match what the source holds (only a CSV's target can be read either way)."""
    kind = "regression" if table.task == "regression" else "classification"
    if request.task not in ("auto", kind):
        raise DataError(
            f"task={request.task!r} does not fit dataset {request.name!r}, which is {kind}; use task='auto' or {kind!r}"
        )


def load_dataset(
    name: str,
    *,
    path: str | None = None,
    target: str | None = None,
    task: str = "auto",
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    scaling: str = "standard",
    n_samples: int = 400,
    noise: float = 0.2,
    seed: int = 0,
) -> Dataset:
    """Load, split, scale and lay out one dataset for the network.

    Args:
        name: one of ``DATASETS``.
        path: the folder holding the cat files (``catvnoncat``) or the CSV file (``csv``).
        target: the CSV's label column (``csv`` only).
        task: ``auto``, ``classification`` or ``regression``; only a CSV's target can be forced either way.
        val_fraction: share of all examples used for validation (of the train file for ``catvnoncat``).
        test_fraction: share of all examples used for testing; ignored for ``catvnoncat``, whose test file is
            the test set.
        scaling: ``standard``, ``minmax`` or ``none``, fit on the training split (cat pixels are always just / 255).
        n_samples: examples generated for planar (``n_samples // 2`` per class), moons and circles.
        noise: noise of the generated sets (the course's planar uses 0.2).
        seed: root seed of the split and of generated data; same seed, same arrays.

    Returns:
        A ``Dataset`` with ``X`` ``(n_x, m)`` and ``Y`` ``(1, m)`` (or ``(n_y, m)``) per split.

    Raises:
        DataError: an argument is not allowed, or the data cannot be used (the message says why and what to do).
    """
    config = DatasetConfig(name, path, target, task, val_fraction, test_fraction, scaling, n_samples, noise)
    return load(config, seed)


def load(dataset: DatasetConfig, seed: int) -> Dataset:
    """``load_dataset`` for a config's ``dataset`` section and the root seed."""
    request = _Request(**vars(dataset), seed=seed)
    _validate(request)
    if DATASETS[request.name].needs:  # read from the user's files, which may change under the same path
        return _build(request)
    return data_cache.cached(vars(request), partial(_build, request), Dataset)


def _build(request: _Request) -> Dataset:
    table = LOADERS[request.name](request)
    _check_task(table, request)
    parts = _split(table, request)
    parts, multiplier, shift = _scale(parts, request.scaling if table.scalable else "none")
    return _to_dataset(table, parts, request.name, (multiplier, shift))
