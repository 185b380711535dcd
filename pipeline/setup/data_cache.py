"""Prepared datasets kept on disk, so that a command on a bundled or generated dataset does not import
scikit-learn (about a second; a third of the time to the first trial) to rebuild the same arrays.

What is kept is the finished ``Dataset``: the six split and scaled arrays (``.npy`` inside one ``.npz``)
and its names, scaling and fingerprint. It is keyed by everything the arrays depend on: the dataset request
(every ``dataset.*`` value and the root seed), the versions of scikit-learn and NumPy (their loaders,
generators and splitting make the arrays) and this file's ``FORMAT``. Datasets read from a user's files
(CSV, the course's files) are never kept: the file may change under the same path.

A kept entry is used only when its arrays still hash to its recorded fingerprint; anything else (a
truncated or foreign file, an unreadable folder) is rebuilt as if nothing were kept. The cache is written
to a temporary name and renamed, so concurrent workers never read half a file. Where it lives:
``$DEEPSWEEP_CACHE_DIR``, else ``$XDG_CACHE_HOME/deepsweep/datasets``, else ``~/.cache/deepsweep/datasets``;
``DEEPSWEEP_CACHE_DIR=off`` turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pipeline.setup.data import Dataset

FORMAT = 1  # raise when what is kept, or how the arrays are made, changes
ARRAYS = ("X_train", "Y_train", "X_val", "Y_val", "X_test", "Y_test")


def folder() -> Path | None:
    """Where prepared datasets are kept, or None when caching is off."""
    chosen = os.environ.get("DEEPSWEEP_CACHE_DIR")
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deepsweep" / "datasets"


def key(request: dict[str, Any]) -> str:
    """A name for one request's arrays: a digest of the request and of what makes the arrays."""
    made_by = {"format": FORMAT, "numpy": np.__version__, "scikit-learn": _version("scikit-learn")}
    text = json.dumps({"request": request, "made_by": made_by}, sort_keys=True, default=str)
    return f"{request.get('name', 'data')}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def cached(request: dict[str, Any], build: Callable[[], Dataset], make: Callable[..., Dataset]) -> Dataset:
    """The dataset of ``request`` from the cache, or ``build()`` kept for next time.

    ``make`` is the ``Dataset`` class (passed in: this module is imported by ``pipeline.setup.data``); a kept
    entry's fingerprint is recomputed from its arrays before it is trusted.
    """
    where = folder()
    if where is None:
        return build()
    file = where / f"{key(request)}.npz"
    found = _read(file, make)
    if found is not None:
        return found
    dataset = build()
    _write(file, dataset)
    return dataset


def _read(file: Path, make: Callable[..., Dataset]) -> Dataset | None:
    from pipeline.setup.data import fingerprint_of  # the one definition of a dataset's fingerprint

    try:
        with np.load(file, allow_pickle=False) as kept:
            arrays = {name: kept[name] for name in ARRAYS}
            fields = json.loads(str(kept["fields"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # absent, truncated, foreign: rebuild
        return None
    for array in arrays.values():
        array.setflags(write=False)
    class_names = tuple(fields["class_names"])
    if fingerprint_of(list(arrays.values()), class_names) != fields["fingerprint"]:
        return None
    return make(
        fields["name"],
        fields["task"],
        **arrays,
        class_names=class_names,
        feature_names=tuple(fields["feature_names"]),
        fingerprint=fields["fingerprint"],
        input_multiplier=tuple(fields["input_multiplier"]),
        input_shift=tuple(fields["input_shift"]),
    )


def _write(file: Path, dataset: Dataset) -> None:
    fields = {
        "name": dataset.name,
        "task": dataset.task,
        "class_names": list(dataset.class_names),
        "feature_names": list(dataset.feature_names),
        "fingerprint": dataset.fingerprint,
        "input_multiplier": list(dataset.input_multiplier),
        "input_shift": list(dataset.input_shift),
    }
    temporary = None
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=file.parent, prefix=f".{file.stem}-", suffix=".npz", delete=False) as out:
            temporary = out.name
            np.savez(out, **{name: getattr(dataset, name) for name in ARRAYS}, fields=np.array(json.dumps(fields)))
        os.replace(temporary, file)
    except OSError:  # a read-only or full home: the command goes on without a cache
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"
